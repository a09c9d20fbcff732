"""Named loops: the one ``mc.loop`` that run tracking and lineage deduplication share.

A loop keeps ``(name, index)`` pairs on a per-context stack while each iteration runs, so a metric
logged inside knows its loop context (``epoch=3, step=17``), and lineage tracing can record one patch
per distinct loop body instead of one item per operation per iteration.

This is the training loop's hot path (issue 15: ≤ 0.5 µs per iteration), so an iteration does little:
format the loop context as the JSON text a metric stores (a prefix fixed per loop plus the index),
extend the tuple of ``(name, index)`` pairs, set the context variable, and call the listeners if there
are any. :func:`current_loops` turns the pairs into :class:`LoopFrame` objects for callers.

Layers above subscribe through :func:`add_listener`; this module imports nothing from them, which keeps
the dependency arrows of ``docs/architecture.md`` pointing down.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import NamedTuple, Protocol, TypeVar

from .errors import UsageError
from .names import ValidNames

__all__ = ["LoopFrame", "LoopListener", "loop", "current_loops", "context_json", "add_listener",
           "remove_listener"]

T = TypeVar("T")


class LoopFrame(NamedTuple):
    """One level of loop context: the loop's name and the current iteration index."""

    name: str
    # A field named like tuple.index (which it shadows): the public name since loops were added.
    index: int  # type: ignore[assignment]


class LoopListener(Protocol):
    """Hooks called around every loop and iteration, in the thread that runs the loop."""

    def loop_started(self, name: str) -> None: ...

    def iteration_started(self, name: str, index: int) -> None: ...

    def iteration_ended(self, name: str, index: int) -> None: ...

    def loop_ended(self, name: str) -> None: ...


#: The enclosing loops: their context as the JSON text stored with a metric (``{"epoch":3}``), the
#: ``(name, index)`` pairs of the loops around the innermost one (outermost first), and the innermost
#: loop's name and index (``None`` outside any loop). One tuple of atoms per iteration: the pairs of
#: the enclosing loops are built once per loop, not once per iteration.
_State = tuple[str, tuple[tuple[str, int], ...], str | None, int]
_stack: ContextVar[_State] = ContextVar("mlcontext_loops", default=("{}", (), None, 0))
#: ``state()[0]`` is :func:`context_json` without a Python call (``mc.log`` reads it for every value).
state = _stack.get
#: Rebound (never mutated) on every change, so a loop reads it once per iteration without a copy.
_listeners: tuple[LoopListener, ...] = ()
_LOOP_NAMES = ValidNames("loop")


def add_listener(listener: LoopListener) -> None:
    """Subscribe ``listener`` to loop events (idempotent).

    A listener added while loops are running sees the iterations that start from then on; the
    ``iteration_ended`` of an iteration it never saw start is still delivered (it must tolerate it).
    """
    global _listeners
    if listener not in _listeners:
        _listeners = (*_listeners, listener)


def remove_listener(listener: LoopListener) -> None:
    """Unsubscribe ``listener``; unknown listeners are ignored."""
    global _listeners
    _listeners = tuple(x for x in _listeners if x is not listener)


def current_loops() -> tuple[LoopFrame, ...]:
    """The loop frames enclosing the caller, outermost first.

    Returns
    -------
    tuple of LoopFrame
        One ``(name, index)`` per enclosing :func:`loop`; empty outside loops.

    Examples
    --------
    >>> for epoch in mc.loop("epoch", range(2)):
    ...     for step in mc.loop("step", range(1)):
    ...         print(mc.current_loops())
    (LoopFrame(name='epoch', index=0), LoopFrame(name='step', index=0))
    (LoopFrame(name='epoch', index=1), LoopFrame(name='step', index=0))
    >>> mc.current_loops()
    ()
    """
    return tuple(LoopFrame(name, index) for name, index in _frames(_stack.get()))


def _frames(current: _State) -> tuple[tuple[str, int], ...]:
    """Every ``(name, index)`` pair of ``current``, outermost first."""
    _, around, name, index = current
    return around if name is None else (*around, (name, index))


def context_json() -> str:
    """The enclosing loops as the JSON object stored with a metric: ``{"epoch":3,"step":17}``.

    Built once per iteration, so that ``mc.log`` only reads it: a string, which the garbage collector
    never tracks (a record holding a tuple of tuples stayed tracked until a full collection).
    """
    return _stack.get()[0]


def loop(name: str, iterable: Iterable[T]) -> Iterator[T]:
    """Iterate over ``iterable`` as the named loop ``name``.

    Metrics logged inside carry the iteration index; traced NumPy code inside is deduplicated.
    Loops nest to any depth; after the loop ends — exhausted, left with ``break``, or by an
    exception in its body — the loop context is the enclosing one again.

    Parameters
    ----------
    name : str
        The loop's name, recorded with every metric logged inside (``epoch``, ``step``).
    iterable : iterable
        What to iterate over (any iterable, generators included).

    Returns
    -------
    iterator
        The items of ``iterable``, each yielded inside its iteration's loop context.

    Raises
    ------
    InvalidNameError
        ``name`` is not a valid name.
    UsageError
        ``iterable`` is not iterable.

    Examples
    --------
    >>> import mlcontext as mc
    >>> [(i, mc.current_loops()[-1].index) for i in mc.loop("epoch", "ab")]
    [('a', 0), ('b', 1)]
    """
    if name.__class__ is not str or name not in _LOOP_NAMES:
        _LOOP_NAMES.check(name)
    try:
        iterator = iter(iterable)  # at the call (as a for statement does), not at the first step
    except TypeError:
        raise UsageError(f"mc.loop({name!r}, ...) needs an iterable (a range, a list, a generator, a "
                         f"DataLoader ...), got {type(iterable).__name__}: {iterable!r}") from None
    return _iterate(name, iterator)


def _iterate(name: str, iterable: Iterable[T]) -> Iterator[T]:
    # A generator runs in its caller's context, so ``_stack.set`` here is what the loop body sees.
    # The enclosing state is put back once, when the generator finishes or is closed (``break``
    # and exceptions close it: CPython drops the loop's iterator as the ``for`` unwinds), not
    # after each iteration: the next iteration's ``set`` replaces this one's anyway.
    stack = _stack
    outer = stack.get()
    outer_json, outer_frames = outer[0], _frames(outer)
    # '{"epoch":3,"step":' : the JSON up to this loop's index, fixed for the whole loop
    prefix = f"{outer_json[:-1]}{',' if outer_frames else ''}{json.dumps(name)}:"
    listeners = _listeners
    for listener in listeners:
        listener.loop_started(name)
    try:
        for index, item in enumerate(iterable):
            stack.set((f"{prefix}{index}}}", outer_frames, name, index))
            if listeners is not _listeners:
                listeners = _listeners
            if listeners:
                _started(listeners, name, index)
                try:
                    yield item
                finally:
                    _ended(listeners, name, index)
            else:
                yield item
    finally:
        stack.set(outer)
        for listener in listeners:
            listener.loop_ended(name)


def _started(listeners: tuple[LoopListener, ...], name: str, index: int) -> None:
    for listener in listeners:
        listener.iteration_started(name, index)


def _ended(listeners: tuple[LoopListener, ...], name: str, index: int) -> None:
    for listener in listeners:
        listener.iteration_ended(name, index)
