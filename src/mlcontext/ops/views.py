"""Writes into a view of a traced array reach the array it views, as in NumPy.

A traced array is a sequence of versions: a write makes a new version of the array written
(``a[1:] += 1`` rebinds ``a``). A *view* (``a[0]``, ``a.T``, ``a.reshape(-1)``, ``np.split(a, 2)[0]``) is a
traced array of its own, so ``a[0][1] = 5``, ``np.add(x, 1, out=a[2:])`` or ``for row in a: row[:] = 0``
made a new version of the view and left ``a`` as it was: NumPy's ``a`` changes, mlcontext's did not,
silently (a newcomer's finding, fourteenth session).

So a traced array made by an operation that gives a view in NumPy remembers its base and how it was
taken (:func:`note`: a tuple ``(base, the base's item then, kind, params)``, cheap, since taking a view is
a hot path and most views are only read). After a write into it, the base gets a new version with the
view's new values written back (``base[key] = view`` for an index; the inverse reordering for the
others), and so on up the chain; the lineage is that of a write into the base. A view of a view of the
same kind is noted against the first base (slices of slices, reshapes of reshapes, transposes of
transposes), so a loop such as ``w = w.reshape(-1, 1); w -= ...`` keeps one level, as NumPy keeps one
base.

A view whose base was written after the view was taken holds the old values (reading it is what its
lineage says, docs/lineage.md), where NumPy's would show the new ones: a write into it is refused
(:class:`UsageError`), since what it would write back could undo the base's newer values. So is a write
into a view this module cannot write back (a dtype reinterpretation ``a.view(np.int64)``, the parts of
a complex array, ``einsum``'s diagonal), rather than losing it. A reshape that NumPy computes as a copy
is no view: writes into it stay there, as in NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UsageError
from .traced import TracedArray

__all__ = ["note", "note_call", "check_writable", "write_back", "INDEX"]

# kinds of view (the third field of a note)
INDEX, PERM, SHAPE, SAME, REFUSE = "index", "perm", "shape", "same", "refuse"
# Deeper chains of views than this (of kinds that do not fold into one) are refused at the write:
# each level is a write of its own, and Python's recursion would end the program first.
MAX_DEPTH = 64


def note(view: Any, base: Any, kind: str, params: Any) -> Any:
    """Remember that ``view`` (a traced array) was taken from ``base`` (kind and its parameters);
    returns ``view``. A scalar result (``x[i, j]`` of a 2-D ``x``) is no view."""
    if isinstance(view._data, np.generic):
        return view
    inner = base._view
    if inner is not None and inner[0]._item is inner[1]:  # a view of a (fresh) view: fold when it can
        folded = _fold(inner, kind, params)
        if folded is not None:
            view._view = folded
            return view
    view._view = (base, base._item, kind, params)
    return view


def _fold(inner: tuple, kind: str, params: Any) -> tuple | None:
    root, seen, inner_kind, inner_params = inner
    if kind == SHAPE and inner_kind in (SHAPE, SAME) and params[1] == "C" and \
            (inner_kind == SAME or inner_params[1] == "C"):
        return (root, seen, SHAPE, params)  # a C-order reshape of a C-order reshape of root
    if kind == PERM and inner_kind == PERM:
        return (root, seen, PERM, tuple(inner_params[p] for p in params))
    if kind == SAME:
        return inner
    if kind == INDEX and inner_kind == INDEX:
        key = _fold_slices(inner_params, params, np.shape(root._data))
        if key is not None:
            return (root, seen, INDEX, key)
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
    axes = kwargs.get("axes", rest[0] if len(rest) == 1 else rest if rest else None) if rest or kwargs \
        else None
    ndim = base._data.ndim
    if axes is None:
        return PERM, tuple(range(ndim - 1, -1, -1))
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
    return _shape(base, view, _order((), {"order": order}, 0, base))


def _reshape_function(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return _shape(base, view, _order(rest, kwargs, 1, base))  # np.reshape(a, shape, order)


def _ravel(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    return _shape(base, view, _order(rest, kwargs, 0, base))  # a.ravel(order), np.ravel(a, order)


def _same_order(base: Any, view: Any, rest: tuple, kwargs: dict) -> tuple | None:
    """squeeze, expand_dims, atleast_*d: the elements in their order, another shape."""
    return _shape(base, view, "C")


def _shape(base: Any, view: Any, order: str | None) -> tuple | None:
    if order is None:
        return REFUSE, "a reshape in this memory order"
    return SHAPE, (tuple(np.shape(view._data)), order)


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
    """The index key of each part of a split: the parts are consecutive along the split axis."""
    ndim = np.ndim(base._data)
    try:
        axis = int(_SPLITS[name](ndim, rest, kwargs)) % ndim
    except (TypeError, ValueError, ZeroDivisionError):
        return []
    keys, start = [], 0
    for part in parts:
        size = np.shape(part._data)[axis] if hasattr(part, "_data") else 0
        keys.append((slice(None),) * axis + (slice(start, start + size),))
        start += size
    return keys


def check_writable(target: Any) -> None:
    """Refuse a write into ``target`` when it is a view that cannot take it: its base was written
    after it was taken (NumPy's view would show the base's new values, this one shows the old), it
    is of a kind that is not written back, or its chain of views is too deep."""
    depth = 0
    view = target._view
    while view is not None:
        base, seen, kind, params = view
        if kind == REFUSE:
            raise UsageError(f"a write into {params} of a traced array is not traced: write into a "
                             "plain copy (np.array(v)), or build the new array from its parts")
        if base._item is not seen:
            raise UsageError("this view was taken before the array it views was written: NumPy's view "
                             "would show the new values, this one holds the old ones (what its lineage "
                             "says), and writing it back could undo them; take the view again after "
                             "the write (v = a[...]), or copy it (np.array(v)) to write only the copy")
        depth += 1
        if depth > MAX_DEPTH:
            raise UsageError(f"a write through more than {MAX_DEPTH} views of views is not traced: "
                             "write into the array they view, or into a copy")
        view = base._view


def write_back(target: Any) -> None:
    """After a write into ``target``: its base gets the view's new values (and its base, up the
    chain), as NumPy's base would hold them."""
    view = target._view
    if view is None:
        return
    base, _seen, kind, params = view
    if kind == SHAPE:
        shape, order = params
        value = np.asarray(base._value)
        try:
            shared = np.shares_memory(np.reshape(value, shape, order=order), value)
        except ValueError:
            shared = False
        if not shared:  # NumPy computed a copy: a write into it never reaches the base
            target._view = None
            return
        base[...] = np.reshape(target, np.shape(value), order=order)
    elif kind == INDEX:
        base[params] = target
    elif kind == PERM:
        base[...] = np.transpose(target, tuple(int(i) for i in np.argsort(params)))
    elif kind == SAME:
        base[...] = target
    elif kind == "flip":
        base[...] = np.flip(target, params)
    elif kind == "rot90":
        k, axes = params
        base[...] = np.rot90(target, -k, axes)
    target._view = (base, base._item, kind, params)
