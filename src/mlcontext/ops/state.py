"""The ops layer's process state, in one object (``dispatch.STATE``) whose lifetime the runtime
(:mod:`mlcontext.runtime`) owns: reset to a fresh process's by ``mc._reset_state()``.

``deferred.LIVE`` is not here by nature: it is a one-way latch (once a deferred value exists it may
outlive any reset, and executors must then resolve arguments), never put back.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["OpsState"]

Executor = Callable[..., Any]
UseHook = Callable[..., None]


class OpsState:
    """What the ops layer keeps between calls.

    Parameters
    ----------
    plain : callable
        The executor of a fresh process: ``plain(op, item, args, kwargs)`` runs the operation on
        plain values.

    Attributes
    ----------
    executor : callable
        Runs every traced operation (the reuse layer's cache installs its own; read on every call).
    warned : set of str
        Unhandled functions already warned about (each is warned once).
    use_hook : callable or None
        ``hook(use, estimator, items)`` told of every fit and evaluation (the tracking layer's).
    held : dict of int to weakref
        ``id(array)`` -> a weak reference to it, for the arrays of traced leaves whose memory
        mlcontext made read-only (``mc.array``'s copies, ``mc.asarray``'s inputs): see
        :func:`mlcontext.ops.dispatch.hold`. An entry goes when its array does.
    """

    __slots__ = ("executor", "warned", "use_hook", "plain", "held")
    #: Slots a reset keeps: the plain executor is a constant of the process.
    KEPT = ("plain",)

    def __init__(self, plain: Executor) -> None:
        self.plain = plain
        self.executor: Executor = plain
        self.warned: set[str] = set()
        self.use_hook: UseHook | None = None
        self.held: dict[int, weakref.ReferenceType[Any]] = {}

    def reset(self) -> None:
        """As a fresh process has it: plain execution, nothing warned about, no use hook, no array
        known as held (the leaves made before are then treated as any read-only array: copied
        where a deferred stack would read them later)."""
        self.executor = self.plain
        self.warned = set()
        self.use_hook = None
        self.held = {}
