"""mlcontext: the context layer of the machine-learning lifecycle.

Runs, params and metrics (``mc.run``, ``mc.log``); fine-grained lineage of NumPy and pandas code
(``mc.array``, ``mc.frame``); reuse of work already done (``mc.reuse``); datasets, models and the
questions about them (``mc.dataset``, ``mc.derivation``, ``mc.consumers``, ``mc.history`` ...).
Nothing is patched at import but ``sys.exit``, wrapped so that a run ended by a failing exit status
is recorded failed (``mlcontext.exits``); only values wrapped by mlcontext are traced.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from .errors import (
    AmbiguousReferenceError,
    ArtifactCorruptedError,
    ConfigError,
    DataFormatError,
    FingerprintError,
    InvalidArgumentError,
    InvalidNameError,
    LineageError,
    LineageLostWarning,
    MLContextError,
    MLContextWarning,
    NotFoundError,
    ParamError,
    QueryError,
    ReadOnlyStoreError,
    ReferenceTypeError,
    RunError,
    SchemaOutdatedError,
    StepSideEffectWarning,
    StoreError,
    TestSetOveruseWarning,
    UnhandledOperationWarning,
    UnidentifiedWarning,
    UnsafeArchiveError,
    UntracedAttributeError,
    UntrustedArtifactError,
    UsageError,
)
from .exits import install as _install_exit_hook
from .loops import current_loops, loop

_install_exit_hook()  # before a script's `sys.exit(main())` looks sys.exit up (mlcontext.exits)

__version__ = "0.1.0"

# Everything else is imported when first used (PEP 562): ``import mlcontext`` stays cheap (issue 15:
# ≤ 0.25 s), and a script that only logs metrics never imports pandas, pyarrow or the insight layer
# (≤ 120 MB of memory). The names, and what they are, do not change.
_LAZY: dict[str, tuple[str, str | None]] = {
    "lineage": ("mlcontext.lineage", None),
    "fingerprint": ("mlcontext.fingerprint", None),  # mc.fingerprint.hash_array in docs/lineage.md
    "step": ("mlcontext.lineage", "step"),
    "diff": ("mlcontext.insight.diff", "diff"),
    "DatasetDiff": ("mlcontext.insight.diff", "DatasetDiff"),
    "ModelDiff": ("mlcontext.insight.diff", "ModelDiff"),
    "drift": ("mlcontext.insight.diff", "drift_of"),  # accepts dataset refs as well as frames
    "DriftReport": ("mlcontext.insight.drift", "DriftReport"),
    "find": ("mlcontext.insight.find", "find"),
    "Graph": ("mlcontext.insight.graph", "Graph"),
    "consumers": ("mlcontext.insight.graph", "consumers"),
    "derivation": ("mlcontext.insight.graph", "derivation"),
    "history": ("mlcontext.insight.history", "history"),
    "testuse": ("mlcontext.insight.usage", "testuse"),
    "tried": ("mlcontext.insight.usage", "tried"),
    # importing ops registers the NumPy operations
    **{name: ("mlcontext.ops", name) for name in ("TracedArray", "array", "asarray", "load", "random")},
    "pd": ("mlcontext.ops.pandas_api", None),  # traced pandas functions: mc.pd.concat, mc.pd.merge, ...
    **{name: ("mlcontext.ops.pandas_api", name) for name in ("frame", "read_csv", "read_parquet")},
    "TracedFrame": ("mlcontext.ops.pandas_frame", "TracedFrame"),
    "TracedSeries": ("mlcontext.ops.pandas_frame", "TracedSeries"),
    "model_info": ("mlcontext.ops.sklearn_steps", "model_info"),  # scikit-learn is imported on use
    "traced": ("mlcontext.ops.sklearn_steps", "traced"),
    **{name: ("mlcontext.reuse", name) for name in (
        "ReuseConfig", "ReuseStats", "reuse_clear", "reuse_events", "reuse_stats")},
    **{name: ("mlcontext.store", name) for name in ("ArtifactRef", "RunRecord", "RunStatus", "Store")},
    **{name: ("mlcontext.tracking", name) for name in (
        "Run", "active_run", "artifact", "get_run", "get_store", "load_artifact", "log", "metrics",
        "param", "run", "runs", "set_store", "use_store")},
    **{name: ("mlcontext.tracking.datasets", name) for name in (
        "DatasetVersion", "dataset", "dataset_version", "versions")},
    "Profile": ("mlcontext.tracking.profile", "Profile"),
    "profile": ("mlcontext.tracking.profile", "profile"),
    "restore_code": ("mlcontext.tracking.restore", "restore_code"),
    # the lineage layer's recompute, with the store behind it
    "recompute": ("mlcontext.tracking.recompute", "recompute"),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'mlcontext' has no attribute {name!r}")
    module_name, attr = where
    if module_name in ("mlcontext.reuse", "mlcontext.ops", "mlcontext.ops.pandas_api",
                       "mlcontext.ops.sklearn_steps") or name == "step":
        # Reuse is on by default ("hybrid"): the first traced value or step installs it, not the
        # first call of the reuse API (a fresh process's @mc.step never reused until mc.reuse_stats()).
        _wire("reuse")
    if module_name == "mlcontext.ops.sklearn_steps":
        _wire("estimators")
    if name == "pd":
        _wire("pandas")
    if module_name in ("mlcontext.lineage", "mlcontext.tracking.recompute"):
        # recompute executes registered operations: importing ops registers them (NumPy's,
        # the random draws; pandas and scikit-learn ones register when those modules load)
        importlib.import_module("mlcontext.ops")
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value  # the next lookup is a plain attribute: no cost on the hot path
    return value


def __dir__() -> list[str]:
    """The public names and the module's own dunders: not the helpers this file imports
    (``annotations``, ``importlib``, ``sys``, ...) nor the subpackages an import has set."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


class _Package(types.ModuleType):
    """``mlcontext``'s module type: ``mc.reuse`` is the function, although ``mlcontext.reuse`` is also
    a subpackage, whose import sets the package's attribute of that name to the subpackage."""

    @property
    def reuse(self) -> Any:
        _wire("reuse")
        from .reuse import reuse

        return reuse

    @reuse.setter
    def reuse(self, value: Any) -> None:
        pass  # the import system recording the subpackage: mc.reuse stays the function


sys.modules[__name__].__class__ = _Package


def _wire(name: str) -> None:
    """Make the connection ``name`` between layers (:data:`mlcontext.runtime.WIRING`), once: the
    runtime is the one place where layers are wired together, and owns every layer's state."""
    from .runtime import RUNTIME

    RUNTIME.wire(name)


def _reset_state() -> None:
    """Put the process state of the layers already imported back as a fresh process has it, wired
    as before (tests call it between tests: ``tests/conftest.py``); see docs/state.md."""
    from .runtime import RUNTIME

    RUNTIME.reset()


if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from . import lineage
    from .insight.diff import DatasetDiff, ModelDiff, diff
    from .insight.diff import drift_of as drift
    from .insight.drift import DriftReport
    from .insight.find import find
    from .insight.graph import Graph, consumers, derivation
    from .insight.history import history
    from .insight.usage import testuse, tried
    from .lineage import step
    from .ops import TracedArray, array, asarray, load, random
    from .ops import pandas_api as pd
    from .ops.pandas_api import frame, read_csv, read_parquet
    from .ops.pandas_frame import TracedFrame, TracedSeries
    from .ops.sklearn_steps import model_info, traced
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
        runs,
        set_store,
        use_store,
    )
    from .tracking.datasets import DatasetVersion, dataset, dataset_version, versions
    from .tracking.profile import Profile, profile
    from .tracking.recompute import recompute
    from .tracking.run import run  # the function (mlcontext.tracking.run is also a module)

__all__ = [
    # errors and warnings
    "MLContextError", "ConfigError", "ParamError", "InvalidNameError", "RunError", "StoreError",
    "SchemaOutdatedError", "ReadOnlyStoreError", "NotFoundError", "ArtifactCorruptedError",
    "LineageError", "FingerprintError", "UsageError", "QueryError", "MLContextWarning",
    "UnhandledOperationWarning", "UnidentifiedWarning", "StepSideEffectWarning", "TestSetOveruseWarning",
    "LineageLostWarning",
    "UnsafeArchiveError", "UntrustedArtifactError", "UntracedAttributeError",
    "AmbiguousReferenceError", "ReferenceTypeError",
    "DataFormatError", "InvalidArgumentError",
    # runs, params, metrics, artifacts, stores
    "run", "Run", "active_run", "log", "param", "artifact", "loop", "current_loops", "runs", "metrics",
    "get_run", "load_artifact", "get_store", "set_store", "use_store", "Store", "ArtifactRef", "restore_code",
    "RunRecord", "RunStatus",
    # lineage and traced NumPy
    "lineage", "fingerprint", "array", "asarray", "load", "recompute", "step", "random", "TracedArray",
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
