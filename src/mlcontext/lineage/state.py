"""The lineage layer's process state, in one object (``STATE``) whose lifetime the runtime
(:mod:`mlcontext.runtime`) owns: reset to a fresh process's by ``mc._reset_state()``.

What is per thread or per context stays where it is by nature: the innermost dedup scope
(``item.state``, a ``threading.local``), the per-context ``no_dedup()`` override
(:data:`DEDUP_OVERRIDE`, a ``ContextVar``), the recompute policy (``policy._current``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["LineageState", "STATE", "DEDUP_OVERRIDE"]

ArraySink = Callable[["np.ndarray", str], None]
StepHook = Callable[..., Any]

# ``no_dedup()`` in this thread or task (``None``: the process default holds). A ContextVar is made
# once per process: contexts keep references to it.
DEDUP_OVERRIDE: ContextVar[bool | None] = ContextVar("mlcontext_dedup", default=None)


class LineageState:
    """What the lineage layer keeps between calls.

    Attributes
    ----------
    sink : callable or None
        ``sink(array, content_hash)`` stores plain array leaves the log cannot hold; the tracking
        layer installs the artifact store here while a run is active.
    call_hook : callable or None
        ``hook(info, run, args, kwargs)`` around every ``@mc.step`` call; the reuse layer installs
        function-level reuse here.
    dedup : bool
        Whether loop and step bodies are deduplicated, for the process (``set_dedup``); a
        ``no_dedup()`` block overrides it in its own context.
    """

    __slots__ = ("sink", "call_hook", "dedup")

    def __init__(self) -> None:
        self.sink: ArraySink | None = None
        self.call_hook: StepHook | None = None
        self.dedup = True

    def reset(self) -> None:
        """As a fresh process has it: no sink, no step hook, deduplication on (and no override in the
        calling context)."""
        self.sink = None
        self.call_hook = None
        self.dedup = True
        DEDUP_OVERRIDE.set(None)


STATE = LineageState()
