"""A per-thread count of events that make a computation not determined by its lineage.

Traced code notes them (an unseeded generator, an opaque fallback, I/O); the reuse layer reads the
count before and after a ``@mc.step`` call and never reuses a call during which it changed. Kept in
the lineage layer so that both :mod:`mlcontext.ops` (which notes) and :mod:`mlcontext.reuse` (which
reads) can import it.
"""

from __future__ import annotations

import threading

__all__ = ["note", "count"]


class _Count(threading.local):
    value = 0
    last_reason = ""


_state = _Count()


def note(reason: str) -> None:
    """Record that the running code did something its lineage does not determine."""
    _state.value += 1
    _state.last_reason = reason


def count() -> int:
    """How many such events this thread has noted so far."""
    return _state.value
