"""mlcontext: the context layer of the machine-learning lifecycle.

Runs, params and metrics (``mc.run``, ``mc.log``); fine-grained lineage of NumPy and pandas code
(``mc.array``, ``mc.frame``); reuse of work already done (``mc.reuse``); datasets, models and the
questions about them (``mc.dataset``, ``mc.derivation``, ``mc.consumers``, ``mc.history`` ...).
Nothing is patched at import: only values wrapped by mlcontext are traced.
"""

from __future__ import annotations

from . import lineage
from .errors import (
    AmbiguousReferenceError,
    ArtifactCorruptedError,
    ConfigError,
    FingerprintError,
    InvalidNameError,
    LineageError,
    MLContextError,
    MLContextWarning,
    NotFoundError,
    ParamError,
    QueryError,
    ReadOnlyStoreError,
    ReferenceTypeError,
    RunError,
    SchemaOutdatedError,
    StoreError,
    TestSetOveruseWarning,
    UnhandledOperationWarning,
    UnidentifiedWarning,
    UnsafeArchiveError,
    UntrustedArtifactError,
    UsageError,
)
from .insight.diff import DatasetDiff, ModelDiff, diff
from .insight.diff import drift_of as drift  # accepts dataset refs as well as frames
from .insight.drift import DriftReport
from .insight.find import find
from .insight.graph import Graph, consumers, derivation
from .insight.history import history
from .insight.usage import testuse, tried
from .lineage import step
from .loops import current_loops, loop
from .ops import TracedArray, array, asarray, load, random  # importing ops registers the NumPy operations
from .ops import pandas_api as pd  # traced pandas functions: mc.pd.concat, mc.pd.merge, ...
from .ops.pandas_api import frame, read_csv, read_parquet
from .ops.pandas_frame import TracedFrame, TracedSeries
from .ops.sklearn_steps import model_info, traced  # scikit-learn is imported on use
from .reuse import ReuseConfig, ReuseStats, reuse, reuse_clear, reuse_events, reuse_stats
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
from .tracking.datasets import DatasetVersion, dataset, dataset_version, versions
from .tracking.profile import Profile, profile
from .tracking.recompute import recompute  # the lineage layer's recompute, with the store behind it

__version__ = "0.1.0"


def _cache_frames_and_fits() -> None:
    # The reuse layer sits above ops: it is told here how frames and fitted estimators are cached.
    import pandas

    from .ops.pandas_frame import freeze_frame
    from .ops.sklearn_steps import Fitted, freeze_estimator
    from .reuse.freeze import register_freezer

    register_freezer(pandas.DataFrame, freeze_frame)
    register_freezer(pandas.Series, freeze_frame)
    register_freezer(Fitted, freeze_estimator)


_cache_frames_and_fits()

__all__ = [
    # errors and warnings
    "MLContextError", "ConfigError", "ParamError", "InvalidNameError", "RunError", "StoreError",
    "SchemaOutdatedError", "ReadOnlyStoreError", "NotFoundError", "ArtifactCorruptedError",
    "LineageError", "FingerprintError", "UsageError", "QueryError", "MLContextWarning",
    "UnhandledOperationWarning",
    "UnidentifiedWarning", "TestSetOveruseWarning", "UnsafeArchiveError", "UntrustedArtifactError",
    "AmbiguousReferenceError", "ReferenceTypeError",
    # runs, params, metrics, artifacts, stores
    "run", "Run", "active_run", "log", "param", "artifact", "loop", "current_loops", "runs", "metrics",
    "get_run", "load_artifact", "get_store", "set_store", "use_store", "Store", "ArtifactRef",
    "RunRecord", "RunStatus",
    # lineage and traced NumPy
    "lineage", "array", "asarray", "load", "recompute", "step", "random", "TracedArray",
    # reuse
    "reuse", "reuse_stats", "reuse_events", "reuse_clear", "ReuseConfig", "ReuseStats",
    # pandas and scikit-learn
    "pd", "frame", "read_csv", "read_parquet", "TracedFrame", "TracedSeries", "traced", "model_info",
    # datasets and the context questions
    "dataset", "dataset_version", "versions", "DatasetVersion", "profile", "Profile", "drift",
    "DriftReport", "diff", "DatasetDiff", "ModelDiff", "find", "derivation", "consumers", "Graph",
    "history", "tried", "testuse",
    "__version__",
]
