"""Writes into a view of a traced array reach the array it views, as in NumPy.

A traced array is a sequence of versions: a write makes a new version of the array written
(``a[1:] += 1`` rebinds ``a``). A *view* (``a[0]``, ``a.T``, ``a.reshape(-1)``, ``np.split(a, 2)[0]``) is a
traced array of its own, so ``a[0][1] = 5``, ``np.add(x, 1, out=a[2:])`` or ``for row in a: row[:] = 0``
made a new version of the view and left ``a`` as it was: NumPy's ``a`` changes, mlcontext's did not,
silently (a newcomer's finding, fourteenth session).

So a traced array made by an operation that gives a view in NumPy remembers its parent and how it
was taken (:func:`note`: ``(parent, kind, params)``), and the parent keeps weak references to its views.
After a write into a view, its parent gets a new version with the view's new values written back
(``parent[key] = view`` for an index; the inverse reordering for the others), and so on up; the lineage
is that of a write into the parent. After a write into any array, its live views are taken again from
its new version (:func:`after_write`), down their own views: a view always holds what NumPy's would,
so siblings (``tr, te = X[:3], X[3:]; tr -= mu; te -= mu``) and views taken before a write stay right.
A view of a view of the same kind is noted against the first parent (slices of slices, reshapes of
reshapes), as NumPy keeps one base: a loop ``w = w.reshape(-1, 1); w -= ...`` keeps one level.

Refused with :class:`UsageError` rather than lost: a write into a view this module cannot write back (a
dtype reinterpretation ``a.view(np.int64)``, the parts of a complex array, a diagonal), or through more
than :data:`MAX_DEPTH` views of views. A reshape that NumPy computes as a copy (or ``copy=True``) is no
view: writes into it stay there, as in NumPy. Cost: a tuple and a weak reference per view taken; a
write into an array with many live views takes each again (``rows = list(X)`` then a write per row is
quadratic in the rows).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from ..errors import UsageError
from .traced import TracedArray

__all__ = ["note", "note_call", "check_writable", "after_write", "reparent", "INDEX"]

# kinds of view (the second field of a note)
INDEX, PERM, SHAPE, SAME, REFUSE = "index", "perm", "shape", "same", "refuse"
_REVERSED = (PERM, None)  # a transpose reversing every axis (params None)
# Deeper chains of views than this (of kinds that do not fold into one) are refused at the write:
# each level is a write of its own, and Python's recursion would end the program first.
MAX_DEPTH = 64


# Per thread: ``retaking`` while views are taken again after a write (those takes are no new views);
# _RETAKES counts them in all threads, so that taking a view costs no thread-local read otherwise
_NOTING = threading.local()
_RETAKES = [0]


def note(view: Any, base: Any, kind: str, params: Any) -> Any:
    """Remember that ``view`` (a traced array) was taken from ``base`` (kind and its parameters);
    returns ``view``. A scalar result (``x[i, j]`` of a 2-D ``x``) is no view."""
    try:
        data = view._data
    except AttributeError:  # an element of an object array: the element itself, no traced array
        return view
    if (_RETAKES[0] and getattr(_NOTING, "retaking", False)) or type(data) is not np.ndarray \
            and isinstance(data, np.generic):
        return view
    parent = base
    inner = base._view
    if inner is not None:  # a view of a view: noted against the first parent when the kinds fold
        folded = _fold(inner, kind, params)
        if folded is not None:
            parent, kind, params = folded
    view._view = (parent, kind, params)
    viewers = parent._viewers
    if viewers is None:
        parent._viewers = [weakref.ref(view)]
        return view
    viewers.append(weakref.ref(view))
    count = len(viewers)
    if count >= 64 and not count & (count - 1):
        # (views taken and dropped, never written: their dead references are swept at each power
        # of two, so an array sliced a million times keeps only its live views)
        viewers[:] = [r for r in viewers if r() is not None]
    return view


def _fold(inner: tuple, kind: str, params: Any) -> tuple | None:
    root, inner_kind, inner_params = inner
    if kind == SHAPE and inner_kind in (SHAPE, SAME) and params[1] == "C" and \
            (inner_kind == SAME or inner_params[1] == "C"):
        return (root, SHAPE, params)  # a C-order reshape of a C-order reshape of root
    if kind == PERM and inner_kind == PERM:
        ndim = np.ndim(root._data)
        outer_perm = params if params is not None else tuple(range(ndim - 1, -1, -1))
        inner_perm = inner_params if inner_params is not None else tuple(range(ndim - 1, -1, -1))
        return (root, PERM, tuple(inner_perm[p] for p in outer_perm))
    if kind == SAME and inner_kind != REFUSE:
        return inner
    if kind == INDEX and inner_kind == INDEX:
        key = _fold_slices(inner_params, params, np.shape(root._data))
        if key is not None:
            return (root, INDEX, key)
    return None


def _fold_slices(first: Any, second: Any, shape: tuple[int, ...]) -> tuple | None:
    """``x[first][second]`` as ``x[key]`` when both are slices along leading axes (``y = y[1:]`` in a
    loop), else None."""
    a = first if type(first) is tuple else (first,)
    b = second if type(second) is tuple else (second,)
    if not all(type(k) is slice for k in a + b) or len(a) > len(shape) or len(b) > len(shape):
        return None
    key = []
    for axis, size in enumerate(shape):
        outer = a[axis] if axis < len(a) else slice(None)
        inner = b[axis] if axis < len(b) else slice(None)
        positions = range(size)[outer][inner]
        if not positions:
            return None  # (an empty view writes nothing; not worth a slice of its own)
        key.append(slice(positions.start, positions.stop if positions.stop >= 0 else None,
                         positions.step))
    return tuple(key)


def note_call(name: str, result: Any, args: tuple, kwargs: dict) -> Any:
    """``result`` of NumPy's function or method ``name`` on ``args[0]`` noted as a view of it when NumPy
    gives one (the kinds of :data:`_KINDS`); ``result`` unchanged otherwise."""
    if not args or type(args[0]) is not TracedArray:
        return result
    base = args[0]
    maker = _KINDS.get(name)
    if maker is not None:
        if type(result) is not TracedArray:
            return result
        made = maker(base, result, args[1:], kwargs)
        return result if made is None else note(result, base, *made)
    if name in _SPLITS:  # each part an index view of the base
        if isinstance(result, list | tuple) and all(type(p) is TracedArray for p in result):
            for part, key in zip(result, _split_keys(name, base, result, args[1:], kwargs), strict=False):
                note(part, base, INDEX, key)
    return result


def _order(rest: tuple, kwargs: dict, position: int, base: Any) -> str | None:
    """The memory order a ravel/reshape was asked for, as C or F (None: not one to write back)."""
    order = rest[position] if len(rest) > position else kwargs.get("order", "C")
    if order in ("A", "K"):
        flags = np.asarray(base._value).flags
        order = "F" if flags.f_contiguous and not flags.c_contiguous else "C"
    return order if order in ("C", "F") else None


def _transpose(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    if not rest and not kwargs:
        return _REVERSED  # (.T, the hot case: its permutation is worked out only if it is written)
    axes = kwargs.get("axes", rest[0] if len(rest) == 1 else rest if rest else None)
    ndim = base._data.ndim
    if axes is None:
        return PERM, None
    if isinstance(axes, int | np.integer):
        axes = (axes,)
    try:
        perm = tuple(int(a) % ndim for a in axes)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return PERM, perm


def _swapaxes(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    try:
        pair = rest if len(rest) >= 2 else (kwargs["axis1"], kwargs["axis2"])
        ndim = np.ndim(base._data)
        i, j = int(pair[0]) % ndim, int(pair[1]) % ndim
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return None
    perm = list(range(ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return PERM, tuple(perm)


def _moveaxis(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    from numpy.lib.array_utils import normalize_axis_tuple

    try:  # (NumPy's own construction of the permutation)
        ndim = np.ndim(base._data)
        src = normalize_axis_tuple(rest[0] if rest else kwargs["source"], ndim, "source")
        dst = normalize_axis_tuple(rest[1] if len(rest) > 1 else kwargs["destination"], ndim, "destination")
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    order = [n for n in range(ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return PERM, tuple(order)


def _reshape_method(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    order = kwargs.get("order", "C")  # (ndarray.reshape takes order by keyword only)
    return _shape(base, view, _order((), {"order": order}, 0, base), kwargs)


def _reshape_function(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return _shape(base, view, _order(rest, kwargs, 1, base), kwargs)  # np.reshape(a, shape, order)


def _ravel(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return _shape(base, view, _order(rest, kwargs, 0, base), kwargs)  # a.ravel(order), np.ravel(a, order)


def _same_order(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    """squeeze, expand_dims, atleast_*d: the elements in their order, another shape."""
    return _shape(base, view, "C", {})


def _shape(base: Any, view: Any, order: str | None, kwargs: dict) -> tuple | None:
    if kwargs.get("copy"):  # (copy=True: a copy, as NumPy makes it)
        return None
    if order is None:
        return REFUSE, "a reshape in this memory order"
    shape = tuple(np.shape(view._data))
    value = np.asarray(base._value)
    flags = value.flags
    if not (flags.c_contiguous if order == "C" else flags.f_contiguous):  # (else surely a view)
        try:  # a view only where NumPy makes one (a reshape of a transposed array is a copy)
            reshaped = np.reshape(value, shape, order=order)  # type: ignore[call-overload]
            if value.size and not np.shares_memory(reshaped, value):
                return None
        except ValueError:
            return None
    return SHAPE, (shape, order)


def _flip(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return "flip", (rest[0] if rest else kwargs.get("axis"))


def _fliplr(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return "flip", 1


def _flipud(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return "flip", 0


def _rot90(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    k = rest[0] if rest else kwargs.get("k", 1)
    axes = rest[1] if len(rest) > 1 else kwargs.get("axes", (0, 1))
    try:
        return "rot90", (int(k), tuple(int(a) for a in axes))
    except (TypeError, ValueError):
        return None


def _real(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    if not np.issubdtype(base.dtype, np.complexfloating):
        return SAME, None  # np.real of a real array: the array itself
    return REFUSE, "the real part of a complex array"


def _imag(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    if not np.issubdtype(base.dtype, np.complexfloating):
        return REFUSE, "the imaginary part of a real array (read-only, as in NumPy)"
    return REFUSE, "the imaginary part of a complex array"


def _view(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    if rest or kwargs:
        return REFUSE, "a view of the bytes as another dtype (a.view(dtype))"
    return SAME, None


def _diagonal(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return REFUSE, "a diagonal (read-only in NumPy)"


# How each view-making method (by name) or NumPy function (``np.<name>``) was asked: its kind and
# parameters, or None (not written back: a view NumPy may not make).
_KINDS: dict[str, Any] = {
    "transpose": _transpose, "swapaxes": _swapaxes, "reshape": _reshape_method, "ravel": _ravel,
    "squeeze": _same_order, "view": _view, "diagonal": _diagonal,
    "np.transpose": _transpose, "np.swapaxes": _swapaxes, "np.moveaxis": _moveaxis,
    "np.reshape": _reshape_function, "np.ravel": _ravel, "np.squeeze": _same_order,
    "np.expand_dims": _same_order, "np.atleast_1d": _same_order, "np.atleast_2d": _same_order,
    "np.atleast_3d": _same_order, "np.real": _real, "np.imag": _imag, "np.flip": _flip,
    "np.fliplr": _fliplr, "np.flipud": _flipud, "np.rot90": _rot90, "np.diagonal": _diagonal,
}
# The split family: the axis the parts are cut along, from the call (its parts are index views).
_SPLITS: dict[str, Any] = {
    "np.split": lambda ndim, rest, kwargs: rest[1] if len(rest) > 1 else kwargs.get("axis", 0),
    "np.array_split": lambda ndim, rest, kwargs: rest[1] if len(rest) > 1 else kwargs.get("axis", 0),
    "np.hsplit": lambda ndim, rest, kwargs: 1 if ndim > 1 else 0,
    "np.vsplit": lambda ndim, rest, kwargs: 0,
    "np.dsplit": lambda ndim, rest, kwargs: 2,
}


def _split_keys(name: str, base: Any, parts: Any, rest: tuple, kwargs: dict) -> list[Any]:
    """The index key of each part of a split: from the split indices when they are given (a part
    between decreasing indices is an empty slice, as Python's), else from the parts' sizes."""
    ndim = np.ndim(base._data)
    try:
        axis = int(_SPLITS[name](ndim, rest, kwargs)) % ndim
    except (TypeError, ValueError, ZeroDivisionError):
        return []
    lead = (slice(None),) * axis
    where = rest[0] if rest else kwargs.get("indices_or_sections")
    if name in ("np.split", "np.array_split") and where is not None and np.ndim(where) == 1:
        bounds = [None, *(int(i) for i in where), None]
        return [lead + (slice(bounds[k], bounds[k + 1]),) for k in range(len(bounds) - 1)]
    keys, start = [], 0
    for part in parts:
        size = np.shape(part._data)[axis]
        keys.append(lead + (slice(start, start + size),))
        start += size
    return keys


def check_writable(target: Any) -> None:
    """Refuse a write into ``target`` when it is a view that cannot take it: of a kind that is not
    written back, or through too deep a chain of views."""
    depth = 0
    view = target._view
    while view is not None:
        parent, kind, params = view
        if kind == REFUSE:
            raise UsageError(f"a write into {params} of a traced array is not traced: write into a "
                             "plain copy (np.array(v)), or build the new array from its parts")
        depth += 1
        if depth > MAX_DEPTH:
            raise UsageError(f"a write through more than {MAX_DEPTH} views of views is not traced: "
                             "write into the array they view, or into a copy")
        view = parent._view


def after_write(target: Any) -> None:
    """After a write into ``target``: a view's parent gets its new values (and the parent's parent,
    up the chain), and every live view of what was written is taken again, as NumPy's would show."""
    if target._view is not None:
        _write_back(target)  # (the parent's write takes target and its views again)
    elif target._viewers:
        _retake_views(target)


def _write_back(target: Any) -> None:
    parent, kind, params = target._view
    if kind == SHAPE:
        parent[...] = np.reshape(target, np.shape(parent._data), order=params[1])
    elif kind == INDEX:
        parent[params] = target
    elif kind == PERM:
        inverse = None if params is None else tuple(int(i) for i in np.argsort(params))
        parent[...] = np.transpose(target, inverse)
    elif kind == SAME:
        parent[...] = target
    elif kind == "flip":
        parent[...] = np.flip(target, params)
    elif kind == "rot90":
        k, axes = params
        parent[...] = np.rot90(target, -k, axes)


def _take(parent: Any, kind: str, params: Any) -> Any:
    if kind == SHAPE:
        return np.reshape(parent, params[0], order=params[1])
    if kind == INDEX:
        return parent[params]
    if kind == PERM:
        return np.transpose(parent, params)
    if kind == "flip":
        return np.flip(parent, params)
    if kind == "rot90":
        return np.rot90(parent, *params)
    return parent  # SAME (REFUSE views are never taken again: _retake_views skips them)


def _retake_views(parent: Any) -> None:
    """Take each live view of ``parent`` again from its current version, and theirs after them."""
    alive = []
    for ref in parent._viewers:
        view = ref()
        if view is None or view._view is None or view._view[0] is not parent:
            continue  # (gone, or re-parented since)
        alive.append(ref)
        _, kind, params = view._view
        if kind == REFUSE:
            continue  # (its values are a reading of the bytes this module does not redo)
        _NOTING.retaking = True
        _RETAKES[0] += 1
        try:
            fresh = _take(parent, kind, params)
        finally:
            _NOTING.retaking = False
            _RETAKES[0] -= 1
        if fresh is not parent:
            view._data, view._item = fresh._data, fresh._item
        if view._viewers:
            _retake_views(view)
    parent._viewers = alive or None


def reparent(old: Any, new: Any) -> None:
    """Make the views of ``old`` views of ``new`` (an array about to change its shape in place keeps
    its views through ``new``, a stand-in with its former shape)."""
    viewers = old._viewers
    if not viewers:
        return
    for ref in viewers:
        view = ref()
        if view is not None and view._view is not None and view._view[0] is old:
            view._view = (new,) + view._view[1:]
    new._viewers, old._viewers = viewers, None
