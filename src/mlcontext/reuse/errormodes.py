"""Whether the code asks to see the errors a computation raises: then a cached value must not stand in
for computing. NumPy's floating-point error modes beyond a warning (``np.errstate(divide="raise")``
raises ``FloatingPointError`` only where the division runs; a newcomer's cached ``1 / a`` returned
``[1, inf]`` instead), and warning filters that make a ``RuntimeWarning`` an error
(``warnings.simplefilter("error")``: ``np.log`` of zeros raises where it runs)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
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
    "raise")``, ``np.seterr(all="call")``), or a warning filter set after the program started makes a
    ``RuntimeWarning`` an error (``warnings.simplefilter("error")``): then a cached value (an
    operation's, a step's, or the cached pieces a rewrite would add up) must not stand in for
    computing."""
    if not _STARTED_STRICT and _warnings_raise():
        return True
    if _DEFAULT_MODES is not None and _ERROR_MODES.get() is _DEFAULT_MODES:
        return False
    return not _CHECKED.isdisjoint(np.geterr().values())


# A value computed where a RuntimeWarning raises was never cached (the computation raised). So a hit
# hides an error only when the value was computed under milder filters than the ones in force now.
# Entries do not say under which filters they were computed: the filters the program started with
# (in force when this module was imported: at the first traced operation or mc.reuse) stand for them.
# A program run with ``-W error``, or a test suite whose configuration makes warnings errors (pytest's
# ``filterwarnings = ["error"]``), computes under those filters from the start and keeps its hits; one
# that turns them on later recomputes meanwhile. (Not seen: a value computed inside a block that
# relaxes the filters of such a program, served after the block.)
def _decide(filters: Sequence[Any]) -> bool:
    """Whether ``filters`` may turn a ``RuntimeWarning`` (or a subclass: NumPy's ``ComplexWarning``)
    into an exception. As ``warnings.warn`` walks them, for a warning whose message and module are
    not known: an "error" filter that can match one decides yes; a filter that matches every
    RuntimeWarning ends the walk. ("always" and "default" do not count: a warning shown once anyway.)"""
    for action, message, category, module, lineno in filters:
        if not isinstance(category, type):
            continue
        catches_all = issubclass(RuntimeWarning, category)  # (Warning, RuntimeWarning)
        if action == "error" and (catches_all or issubclass(category, RuntimeWarning)):
            return True
        if catches_all and message is None and module is None and not lineno:
            return False
    return getattr(warnings, "defaultaction", "default") == "error"


_STARTED_STRICT = _decide(warnings.filters)
# The answer for the filters now, with what it was worked out from: the list object (``catch_warnings``
# installs a copy and puts the old one back), its length and its first entry (``simplefilter`` and
# ``filterwarnings`` insert a new tuple in front; ``append=True`` lengthens it). Compared by identity:
# about 0.2 µs a hit. (A filter written into the list by index is not seen.)
_FILTERS: list[Any] = [None, -1, None, False]


def _warnings_raise() -> bool:
    """``_decide(warnings.filters)``, worked out again only when the filters changed."""
    filters = warnings.filters
    first = filters[0] if filters else None
    seen = _FILTERS
    if seen[0] is filters and seen[1] == len(filters) and seen[2] is first:
        return bool(seen[3])
    answer = _decide(filters)
    seen[:] = [filters, len(filters), first, answer]
    return answer
