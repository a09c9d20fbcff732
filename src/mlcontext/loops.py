"""Named loops: the one ``mc.loop`` that run tracking and lineage deduplication share.

A loop pushes a frame ``(name, index)`` on a per-context stack while each iteration runs, so a metric
logged inside knows its loop context (``epoch=3, step=17``), and lineage tracing can record one patch
per distinct loop body instead of one item per operation per iteration.

Layers above subscribe through :func:`add_listener`; this module imports nothing from them, which keeps
the dependency arrows of ``docs/architecture.md`` pointing down.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .names import check_name

__all__ = ["LoopFrame", "LoopListener", "loop", "current_loops", "add_listener", "remove_listener"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoopFrame:
    """One level of loop context: the loop's name and the current iteration index."""

    name: str
    index: int


class LoopListener(Protocol):
    """Hooks called around every loop and iteration, in the thread that runs the loop."""

    def loop_started(self, name: str) -> None: ...

    def iteration_started(self, name: str, index: int) -> None: ...

    def iteration_ended(self, name: str, index: int) -> None: ...

    def loop_ended(self, name: str) -> None: ...


_stack: ContextVar[tuple[LoopFrame, ...]] = ContextVar("mlcontext_loops", default=())
_listeners: list[LoopListener] = []


def add_listener(listener: LoopListener) -> None:
    """Subscribe ``listener`` to loop events (idempotent)."""
    if listener not in _listeners:
        _listeners.append(listener)


def remove_listener(listener: LoopListener) -> None:
    """Unsubscribe ``listener``; unknown listeners are ignored."""
    if listener in _listeners:
        _listeners.remove(listener)


def current_loops() -> tuple[LoopFrame, ...]:
    """The loop frames enclosing the caller, outermost first."""
    return _stack.get()


def loop(name: str, iterable: Iterable[T]) -> Iterator[T]:
    """Iterate over ``iterable`` as the named loop ``name``.

    Metrics logged inside carry the iteration index; traced NumPy code inside is deduplicated.

    Examples
    --------
    >>> import mlcontext as mc
    >>> [(i, mc.current_loops()[-1].index) for i in mc.loop("epoch", "ab")]
    [('a', 0), ('b', 1)]
    """
    check_name(name, "loop")
    outer = _stack.get()
    for listener in tuple(_listeners):
        listener.loop_started(name)
    try:
        for index, item in enumerate(iterable):
            token = _stack.set(outer + (LoopFrame(name, index),))
            for listener in tuple(_listeners):
                listener.iteration_started(name, index)
            try:
                yield item
            finally:
                for listener in tuple(_listeners):
                    listener.iteration_ended(name, index)
                _stack.reset(token)
    finally:
        for listener in tuple(_listeners):
            listener.loop_ended(name)
