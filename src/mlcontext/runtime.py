"""The runtime: the process state of every layer, in one object with one lifetime, and the one place
where layers are wired together.

Each layer keeps what it must remember between calls in a small state object of its own, with a
``reset()`` (``fingerprint/state.py``, ``lineage/state.py``, ``ops/state.py``, ``reuse/state.py``,
``tracking/state.py``); the lower layers never import this module (imports point down). The
:class:`Runtime` composes them:

- **lifetime**: the runtime is the process's (:data:`RUNTIME`); :meth:`Runtime.reset` puts every
  layer already imported back as a fresh process has it (``mc._reset_state()``; the tests' autouse
  fixture calls it before each test), and wires them again as they were;
- **wiring**: what a lower layer needs from a higher one (the reuse layer's default persistent tier is
  the tracking layer's store; estimators tell tracking which data a run fit and evaluated on; ``mc.pd``
  offers the insight layer's reading of pandas lineage) is plugged in by :meth:`Runtime.wire`, once,
  when first needed. No module fills another module's tables as a side effect of being imported.

Importing this module imports no layer: a layer's state is built when the layer is first imported.
What stays module-level by nature (locks, ``ContextVar``\\ s, ``threading.local``\\ s, the fork and
signal handling of ``tracking/run.py``, the interpreter-wide audit hook) is listed in docs/state.md.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["Runtime", "RUNTIME", "LAYERS"]

#: Layer -> the module holding its state object (as ``STATE``), bottom up.
LAYERS: dict[str, str] = {
    "fingerprint": "mlcontext.fingerprint.state",
    "lineage": "mlcontext.lineage.state",
    "ops": "mlcontext.ops.dispatch",
    "reuse": "mlcontext.reuse.state",
    "tracking": "mlcontext.tracking.state",
}


def _wire_estimators() -> None:
    """Estimators tell the tracking layer which data a run fit on and evaluated on."""
    importlib.import_module("mlcontext.tracking.uses").install()


def _wire_pandas_rendering() -> None:
    """``mc.pd.transformations``: the insight layer reads pandas lineage back as English; ``mc.pd``
    (the ops layer's traced pandas) offers it without importing upwards."""
    from .insight.transformations import transformations
    from .ops import pandas_api

    pandas_api.transformations = transformations


def _wire_reuse() -> None:
    """The tracking layer provides the reuse layer's default persistent tier (the default store's),
    and the reuse settings install their executor and step hook (see also
    :mod:`mlcontext.reuse.freeze`, which learns how frames and fitted estimators are cached when it
    first meets one)."""
    from .reuse.api import install, set_tier_factory
    from .tracking.persistent_cache import default_tier

    set_tier_factory(default_tier)
    install()


#: Name -> how it is wired; each is idempotent (a reset wires again what was wired).
WIRING: dict[str, Callable[[], None]] = {
    "reuse": _wire_reuse,
    "estimators": _wire_estimators,
    "pandas": _wire_pandas_rendering,
}


class Runtime:
    """mlcontext's process state, composed of each layer's state object, and the wiring between layers.

    Attributes
    ----------
    wired : set of str
        The connections of :data:`WIRING` made so far.

    Examples
    --------
    >>> from mlcontext.reuse import get_cache
    >>> from mlcontext.runtime import RUNTIME
    >>> RUNTIME.layer("reuse").cache is get_cache()
    True
    """

    def __init__(self) -> None:
        self.wired: set[str] = set()

    def layer(self, name: str) -> Any:
        """The state object of layer ``name`` (importing that layer if needed)."""
        return importlib.import_module(LAYERS[name]).STATE

    def loaded(self) -> dict[str, Any]:
        """The state objects of the layers already imported, bottom up."""
        return {name: sys.modules[module].STATE for name, module in LAYERS.items()
                if module in sys.modules and hasattr(sys.modules[module], "STATE")}

    def wire(self, name: str) -> None:
        """Make the connection ``name`` of :data:`WIRING`, once."""
        if name not in self.wired:
            WIRING[name]()
            self.wired.add(name)

    def reset(self) -> None:
        """Put every layer already imported back as a fresh process has it, then wire again what was
        wired.

        An active run is ended first, as at the process's exit; stores opened from configuration are
        closed. Runs and stores a caller made itself are the caller's business.
        """
        states = self.loaded()
        tracking = states.get("tracking")
        if tracking is not None and tracking.active is not None:
            tracking.active.end()
        for state in states.values():
            state.reset()
        item = sys.modules.get("mlcontext.lineage.item")
        if item is not None:
            item.sweep()  # unheld items out of the hash-consing table (a cache, not state)
        api = sys.modules.get("mlcontext.reuse.api")
        if api is not None:
            api.install()  # the default settings' executor and step hook, as at the import of reuse
        for name in [n for n in WIRING if n in self.wired]:
            WIRING[name]()


#: The process's runtime.
RUNTIME = Runtime()
