"""mlcontext: the context layer of the machine-learning lifecycle."""

from __future__ import annotations

from .errors import *  # noqa: F403
from .errors import __all__ as _error_names
from .loops import current_loops, loop

# --- runs, params, metrics, artifacts, stores (issue 2) ---
from .store import ArtifactRef, RunRecord, RunStatus, Store
from .tracking import (
    Run,
    active_run,
    artifact,
    get_run,
    get_store,
    load_artifact,
    log,
    metrics,
    param,
    run,
    runs,
    set_store,
    use_store,
)

_tracking_names = [
    "Store", "ArtifactRef", "RunRecord", "RunStatus", "Run", "run", "active_run", "log", "param",
    "artifact", "runs", "metrics", "get_run", "load_artifact", "get_store", "set_store", "use_store",
]
# --- end runs ---

__version__ = "0.1.0"

__all__ = [*_error_names, "__version__", "loop", "current_loops", *_tracking_names]

# --- lineage and traced NumPy (issue 3) ---
from . import lineage  # noqa: E402
from .lineage import step  # noqa: E402
from .tracking.recompute import recompute  # noqa: E402  (the store finds leaves)
from .ops import TracedArray, array, random  # noqa: E402  (importing ops registers NumPy operations)

__all__ += ["lineage", "array", "recompute", "step", "random", "TracedArray"]
# --- end lineage ---

# --- reuse (issue 4) ---
from .reuse import ReuseConfig, ReuseStats, reuse, reuse_clear, reuse_events, reuse_stats  # noqa: E402

__all__ += ["reuse", "reuse_stats", "reuse_events", "reuse_clear", "ReuseConfig", "ReuseStats"]
# --- end reuse ---

# --- pandas and scikit-learn (issue 5) ---
from .ops import pandas_api as pd  # noqa: E402  (traced pandas functions: mc.pd.concat, mc.pd.merge ...)
from .ops.pandas_api import frame, read_csv, read_parquet  # noqa: E402
from .ops.pandas_frame import TracedFrame, TracedSeries  # noqa: E402
from .ops.sklearn_steps import model_info, traced  # noqa: E402  (scikit-learn is imported on use)


def _cache_frames_and_fits() -> None:
    # The reuse layer sits above ops: it is told here how frames and fitted estimators are cached.
    import pandas

    from .ops.pandas_frame import freeze_frame
    from .ops.sklearn_steps import Fitted, freeze_estimator
    from .reuse.executor import register_freezer

    register_freezer(pandas.DataFrame, freeze_frame)
    register_freezer(pandas.Series, freeze_frame)
    register_freezer(Fitted, freeze_estimator)


_cache_frames_and_fits()
__all__ += ["pd", "frame", "read_csv", "read_parquet", "TracedFrame", "TracedSeries", "traced", "model_info"]
# --- end pandas ---

# --- datasets and the context questions (issue 6) ---
from .insight.diff import DatasetDiff, ModelDiff, diff  # noqa: E402
from .insight.diff import drift_of as drift  # noqa: E402  (accepts dataset refs too)
from .insight.drift import DriftReport  # noqa: E402
from .insight.find import find  # noqa: E402
from .insight.graph import Graph, consumers, derivation  # noqa: E402
from .insight.history import history  # noqa: E402
from .insight.profile import Profile, profile  # noqa: E402
from .insight.usage import testuse, tried  # noqa: E402
from .tracking.datasets import DatasetVersion, dataset, dataset_version, versions  # noqa: E402

__all__ += ["dataset", "dataset_version", "versions", "DatasetVersion", "profile", "Profile", "drift",
            "DriftReport", "diff", "DatasetDiff", "ModelDiff", "find", "derivation", "consumers", "Graph",
            "history", "tried", "testuse"]
# --- end context ---
