"""The tracking layer: runs, params, metrics, artifacts, code and environment capture."""

from __future__ import annotations

from . import persistent_cache  # noqa: F401  (issue 4: the default persistent tier of mc.reuse)
from .queries import get_run, load_artifact, metrics, runs
from .run import Run, active_run, artifact, log, param, reap_dead_runs, run
from .stores import get_store, set_store, use_store
from .uses import install as _install_uses

_install_uses()  # estimators tell tracking which data a run fit on and evaluated on

__all__ = [
    "Run",
    "run",
    "active_run",
    "log",
    "param",
    "artifact",
    "reap_dead_runs",
    "runs",
    "metrics",
    "get_run",
    "load_artifact",
    "get_store",
    "set_store",
    "use_store",
]
