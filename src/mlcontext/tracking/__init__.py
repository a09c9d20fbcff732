"""The tracking layer: runs, params, metrics, artifacts, code and environment capture.

The queries (``runs``, ``metrics``, ...) are imported when first used (PEP 562): a logging script must
not import pandas. ``run`` is imported here, eagerly, because it is also the name of a submodule: an
import of ``mlcontext.tracking.run`` would otherwise leave the package's ``run`` the module. The
default persistent tier of ``mc.reuse`` and the estimators' use hook are wired by ``mlcontext``
when the reuse layer or the traced estimators are first used (see ``mlcontext/__init__.py``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .run import Run, active_run, artifact, log, param, reap_dead_runs, run
from .stores import get_store, set_store, use_store

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

_HOME = dict.fromkeys(("get_run", "load_artifact", "metrics", "runs"), "queries")


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'mlcontext.tracking' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # the public names and dunders only, as mlcontext's own __dir__
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


if TYPE_CHECKING:
    from .queries import get_run, load_artifact, metrics, runs
