"""Writes into a view of a traced array reach the array it views, as in NumPy.

A traced array is a sequence of versions: a write makes a new version of the array written
(``a[1:] += 1`` rebinds ``a``). A *view* (``a[0]``, ``a.T``, ``a.reshape(-1)``, ``a[:, 0]``) is a traced
array of its own, so ``a[0][1] = 5``, ``np.add(x, 1, out=a[2:])`` or ``for row in a: row[:] = 0`` made a
new version of the view and left ``a`` as it was: NumPy's ``a`` changes, mlcontext's did not, silently
(a newcomer's finding, fourteenth session).

So a traced array made by an operation that gives a view in NumPy remembers its base and how it was
taken (:func:`note`). After a write into it, the base gets a new version with the view's new values
written back (``base[key] = view`` for an index; the inverse reshaping for the others), and so on up a
chain of views; the lineage is the same as if the user had written into the base. A view whose base was
written after the view was taken is first taken again from the base's new version (:func:`refresh`),
so the write starts from what NumPy's view would hold. Reads of such a stale view still see the old
values (lineage.md, "Views taken earlier keep the old values").

Not written back: ``a.real`` / ``a.imag`` of a complex ``a`` (refused with :class:`UsageError`:
a complex array rebuilt from its parts would turn ``inf`` parts into ``nan``), and reshapes that NumPy
computes as a copy (a write into the copy does not reach the base in NumPy either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import UsageError

__all__ = ["note", "note_call", "refresh", "write_back", "is_basic_index"]

# How a view was taken, and how its values go back: (take(base) -> view, put(base, view) -> None,
# whether NumPy's result for this base is a view at all (checked at write time)).
Take = Callable[[Any], Any]
Put = Callable[[Any, Any], None]


class How:
    """How a view was taken from its base, and how a new version of it is written back."""

    __slots__ = ("take", "put", "shares")

    def __init__(self, take: Take, put: Put, shares: Callable[[np.ndarray], bool] | None = None) -> None:
        self.take = take
        self.put = put
        self.shares = shares  # None: always a view in NumPy; else asked of the base's value


def is_basic_index(key: Any) -> bool:
    """Whether ``x[key]`` is basic indexing (ints, slices, ``None``, ``...``): a view in NumPy."""
    if type(key) is not tuple:
        key = (key,)
    for k in key:
        if k is None or k is Ellipsis or type(k) is slice:
            continue
        if isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_):
            continue
        return False
    return True


def note(view: Any, base: Any, how: How) -> Any:
    """Remember that ``view`` (a traced array) was taken from ``base`` as ``how`` says; ``view``."""
    value = view._data
    if isinstance(value, np.generic):  # x[i, j] of a 2-D x: a scalar, not a view in NumPy
        return view
    view._view = (base, base._item, how)
    return view


def index(key: Any) -> How:
    """``base[key]`` for a basic index ``key``."""
    def put(base: Any, view: Any) -> None:
        base[key] = view

    return How(lambda base: base[key], put)


def _whole(take: Take, back: Callable[[Any, Any], Any],
           shares: Callable[[np.ndarray], bool] | None = None) -> How:
    """A view covering every element of its base: written back as ``base[...] = back(view)``."""
    def put(base: Any, view: Any) -> None:
        base[...] = back(view, base)

    return How(take, put, shares)


def _reshaped(shape: tuple[int, ...]) -> Callable[[np.ndarray], bool]:
    def shares(value: np.ndarray) -> bool:  # NumPy gives a view only when no copy is needed
        try:
            return np.shares_memory(np.reshape(value, shape), value)
        except ValueError:
            return False
    return shares


def note_call(name: str, result: Any, args: tuple, kwargs: dict) -> Any:
    """``result`` of NumPy's function or method ``name`` on ``args[0]``, noted as a view of it when
    NumPy would give a view (the kinds below); ``result`` unchanged otherwise."""
    from .traced import TracedArray

    if type(result) is not TracedArray or not args or type(args[0]) is not TracedArray:
        return result
    base = args[0]
    how = _HOWS.get(name)
    if how is None:
        return result
    made = how(base, result, args[1:], kwargs)
    return result if made is None else note(result, base, made)


def _transpose(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    axes = rest[0] if rest else kwargs.get("axes")
    if len(rest) > 1:  # a.transpose(1, 0)
        axes = rest
    if axes is None:
        perm = tuple(reversed(range(base.ndim)))
    else:
        try:
            perm = tuple(int(a) % base.ndim for a in axes)
        except (TypeError, ValueError):
            return None
    inverse = tuple(int(i) for i in np.argsort(perm))
    return _whole(lambda b: np.transpose(b, perm), lambda v, b: np.transpose(v, inverse))


def _swapaxes(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    try:
        pair = rest if len(rest) >= 2 else (kwargs["axis1"], kwargs["axis2"])
        i, j = int(pair[0]), int(pair[1])
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return _whole(lambda b: np.swapaxes(b, i, j), lambda v, b: np.swapaxes(v, i, j))


def _moveaxis(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    try:
        src = rest[0] if rest else kwargs["source"]
        dst = rest[1] if len(rest) > 1 else kwargs["destination"]
    except (KeyError, IndexError):
        return None
    return _whole(lambda b: np.moveaxis(b, src, dst), lambda v, b: np.moveaxis(v, dst, src))


def _reshape(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    if kwargs.get("order", "C") != "C" or any(k not in ("order", "shape", "newshape") for k in kwargs):
        return None
    shape = tuple(view.shape)
    return _whole(lambda b: np.reshape(b, shape), lambda v, b: np.reshape(v, b.shape), _reshaped(shape))


def _same_elements(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    """ravel, squeeze, expand_dims, atleast_*d: the base's elements in C order, another shape."""
    if kwargs.get("order", "C") != "C":
        return None
    shape = tuple(view.shape)
    return _whole(lambda b: np.reshape(b, shape), lambda v, b: np.reshape(v, b.shape), _reshaped(shape))


def _refuse(what: str) -> How:
    def put(base: Any, view: Any) -> None:
        raise UsageError(what)

    return How(lambda b: b, put)


def _real(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    if not np.issubdtype(base.dtype, np.complexfloating):
        return _whole(lambda b: b, lambda v, b: v)  # np.real of a real array: the array itself
    return _refuse(_PARTS)


def _imag(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    if not np.issubdtype(base.dtype, np.complexfloating):  # as NumPy: zeros, read-only
        return _refuse("the imaginary part of a real array is read-only (as in NumPy)")
    return _refuse(_PARTS)


_PARTS = ("a write into the real or imaginary part of a traced complex array is not traced: build the "
          "new array from its parts (a = re + 1j * im), or write into a plain copy (np.array(a))")


def _identity(base: Any, view: Any, rest: tuple, kwargs: dict) -> How | None:
    if rest or kwargs:  # a.view(dtype): another reading of the bytes, not written back
        return None
    return _whole(lambda b: b, lambda v, b: v)


_HOWS: dict[str, Callable[[Any, Any, tuple, dict], How | None]] = {
    "transpose": _transpose, "swapaxes": _swapaxes, "moveaxis": _moveaxis,
    "reshape": _reshape, "ravel": _same_elements, "squeeze": _same_elements,
    "expand_dims": _same_elements, "atleast_1d": _same_elements, "atleast_2d": _same_elements,
    "atleast_3d": _same_elements, "real": _real, "imag": _imag, "view": _identity,
}


def refresh(target: Any) -> None:
    """Take ``target`` (a traced view) again from its base if the base was written after it was
    taken: a write into it then starts from what NumPy's view holds."""
    view = getattr(target, "_view", None)
    if view is None:
        return
    base, seen, how = view
    refresh(base)
    if base._item is seen:
        return
    fresh = how.take(base)
    target._data = fresh._data
    target._item = fresh._item
    target._view = (base, base._item, how)


def write_back(target: Any) -> None:
    """After a write into ``target``: its base gets the view's new values (and its base, up the
    chain), as NumPy's base would hold them."""
    view = getattr(target, "_view", None)
    if view is None:
        return
    base, _seen, how = view
    if how.shares is not None and not how.shares(np.asarray(base._value)):
        target._view = None  # NumPy computed a copy: a write into it never reaches the base
        return
    how.put(base, target)
    target._view = (base, base._item, how)
