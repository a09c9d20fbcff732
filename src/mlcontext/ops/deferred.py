"""Deferred values: a traced result that is not computed until someone needs its elements.

With partial reuse on, a stack (``np.hstack([X, dX])``, ``np.vstack(folds)``) and the transpose of
a deferred value are not computed when they are called: the reuse layer's rewrites compute what is
asked of them (``Z.T @ Z``, ``Z.T @ y``, ``Z @ w``) block by block from cached pieces, so the copy
a stack makes is avoided entirely (LIMA's stepLM "append avoided", 41x). Anything else that needs
the elements (another operation, ``np.asarray``, printing) computes the value once, on first use.

A :class:`Deferred` knows its shape and dtype without computing. Its inputs are plain arrays or
other deferred values that nothing writes into (traced values are never mutated), so computing
later gives what computing now would have.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Deferred", "resolve", "resolve_args", "LIVE"]

_SET = threading.Lock()
LIVE = [False]  # set once the first deferred value exists: until then executors skip the scan


class Deferred:
    """``fn(*args, **kwargs)``, computed on first :meth:`get`; shape and dtype known before."""

    __slots__ = ("_call", "shape", "dtype", "_value", "stack")

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict, shape: tuple[int, ...],
                 dtype: np.dtype, *, stack: bool = False) -> None:
        self._call: tuple | None = (fn, args, kwargs)  # one attribute: threads read it atomically
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self._value: np.ndarray | None = None
        # A stack of blocks (``fn(blocks, *rest, **kwargs)``): a block that is itself a pending stack
        # made the same way is spliced in when computing, so stacks appended one block at a time
        # (a forward selection) are copied once, not once per level.
        self.stack = stack
        LIVE[0] = True

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    @property
    def computed(self) -> bool:
        return self._value is not None

    @property
    def call(self) -> tuple[Callable[..., Any], tuple, dict] | None:
        """``(fn, args, kwargs)`` that will compute the value; None once it is computed."""
        return self._call

    def get(self) -> np.ndarray:
        """The value (computed once; read-only, like every traced value handed out)."""
        value = self._value
        if value is None:
            call = self._call
            if call is None:  # another thread computed it in between
                return self._value  # type: ignore[return-value]
            fn, args, kwargs = call
            if self.stack:
                args = (_spliced(fn, args, kwargs), *args[1:])
            value = np.asarray(fn(*resolve_args(args), **resolve_args(kwargs)))
            if value.base is None:
                value.flags.writeable = False
            with _SET:  # threads that computed it at the same time all return the first value
                if self._value is None:
                    self._value = value
                    self._call = None  # let the inputs go
                value = self._value
        return value

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        value = self.get()
        return np.array(value, dtype=dtype, copy=True) if copy else np.asarray(value, dtype=dtype)

    def __repr__(self) -> str:
        call = self._call
        state = "computed" if call is None else getattr(call[0], "__name__", "deferred")
        return f"Deferred({state}, shape={self.shape}, dtype={self.dtype})"


def _spliced(fn: Callable[..., Any], args: tuple, kwargs: dict) -> list:
    """The blocks of a stack with pending stacks of the same kind (same function, axis arguments
    and keywords) replaced by their own blocks, recursively: ``hstack([hstack([A, B]), C])`` is
    ``hstack([A, B, C])``."""
    out: list = []
    todo = list(reversed(args[0]))
    while todo:
        b = todo.pop()
        call = b._call if type(b) is Deferred and b.stack else None
        if call is not None and call[0] is fn and call[1][1:] == args[1:] and call[2] == kwargs:
            todo.extend(reversed(call[1][0]))
        else:
            out.append(b)
    return out


def resolve(x: Any) -> Any:
    """``x`` with deferred values computed, inside lists and tuples too (``np.block`` nests them)."""
    t = type(x)
    if t is Deferred:
        return x.get()
    if t is list or t is tuple:
        if any(type(v) is Deferred or type(v) is list or type(v) is tuple for v in x):
            return t(resolve(v) for v in x)
    return x


def resolve_args(args: Any) -> Any:
    """An argument tuple or keyword dict with every deferred value computed."""
    if type(args) is dict:
        return {k: resolve(v) for k, v in args.items()} if args else args
    if any(type(a) is Deferred or type(a) in (list, tuple) for a in args):
        return tuple(resolve(a) for a in args)
    return args
