"""Whether NumPy's floating-point error modes ask for more than a warning: then a cached value must
not stand in for computing (``np.errstate(divide="raise")`` raises ``FloatingPointError`` only where
the division runs; a newcomer's cached ``1 / a`` returned ``[1, inf]`` instead)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["errors_checked"]

# NumPy 2 keeps the floating-point error modes in a context variable, read in 20 ns. Its value now
# stands for "NumPy's defaults" only if the modes now are NumPy's defaults: this module is imported at
# the first mc.reuse, after a program may have called np.seterr(divide="raise") (a reviewer's case).
_NUMPY_DEFAULT_MODES = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _ERROR_MODES  # type: ignore[attr-defined]
    _DEFAULT_MODES: Any = _ERROR_MODES.get() if np.geterr() == _NUMPY_DEFAULT_MODES else None
except (ImportError, AttributeError):  # (another layout: np.geterr on every hit)
    _ERROR_MODES, _DEFAULT_MODES = None, None
_CHECKED = frozenset({"raise", "call", "log"})


def errors_checked() -> bool:
    """Whether a floating-point error mode asks for more than a warning (``np.errstate(divide=
    "raise")``, ``np.seterr(all="call")``): then a cached value (an operation's, a step's, or the
    cached pieces a rewrite would add up) must not stand in for computing."""
    if _DEFAULT_MODES is not None and _ERROR_MODES.get() is _DEFAULT_MODES:
        return False
    return not _CHECKED.isdisjoint(np.geterr().values())
