"""Output-size estimates recompute checks before it runs an operation read from a log.

A log declares shapes (its leaves') and literals (``reps=2**32``): from those, the operations whose
output can be much larger than their inputs get an upper bound of the bytes they would allocate, and
recompute refuses them beyond its limit before NumPy or pandas allocates anything
(:data:`~mlcontext.lineage.operations.SIZES`, :mod:`mlcontext.lineage.policy`). Operations whose
output is no larger than their inputs (reductions, slices, elementwise on equal shapes, sorting,
linear algebra on square inputs ...) need no estimate: their inputs were bounded already. An output
that no estimate covers and still exceeds the limit stops recompute right after the operation.

Estimates are upper bounds computed from shapes, never from touching the data, except where the
size depends on values (``bincount``'s largest element, a datetime index's span for ``resample``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..lineage.operations import OPERATIONS, register_size
from . import pandas_registry as _pandas_registry  # noqa: F401  (registers the operations estimated here)
from . import random as _random  # noqa: F401
from .dispatch import UFUNC_OPS

__all__ = ["estimate_getitem"]

Estimate = Callable[[tuple, dict], "int | None"]


def _shape(x: Any) -> tuple[int, ...]:
    shape = getattr(x, "shape", None)
    if isinstance(shape, tuple):
        return shape
    if isinstance(x, list | tuple):
        return np.shape(np.asarray(x, dtype=object)) if len(x) < 10_000 else (len(x),)
    return ()


def _count(shape: Any) -> int:
    if isinstance(shape, int | np.integer):
        return abs(int(shape))
    return math.prod(abs(int(n)) for n in shape)


def _itemsize(*xs: Any) -> int:
    sizes = [x.dtype.itemsize for x in xs if hasattr(x, "dtype") and hasattr(x.dtype, "itemsize")]
    return max([8, *sizes])


def _arrays(args: tuple, kwargs: dict) -> list[Any]:
    return [x for x in (*args, *kwargs.values()) if hasattr(x, "shape")]


def _broadcast(args: tuple, kwargs: dict) -> int:
    shapes = [_shape(x) for x in _arrays(args, kwargs)]
    return _count(np.broadcast_shapes(*shapes)) * _itemsize(*_arrays(args, kwargs)) if shapes else 0


def _outer(args: tuple, kwargs: dict) -> int:
    return _count(_shape(args[0])) * _count(_shape(args[1])) * _itemsize(*args[:2])


def _tile(args: tuple, kwargs: dict) -> int:
    reps = kwargs.get("reps", args[1] if len(args) > 1 else 1)
    return _count(_shape(args[0])) * _count(np.atleast_1d(reps).tolist()) * _itemsize(args[0])


def _repeat(args: tuple, kwargs: dict) -> int:
    repeats = kwargs.get("repeats", args[1] if len(args) > 1 else 1)
    most = int(np.max(repeats)) if np.size(repeats) else 0
    return _count(_shape(args[0])) * max(most, 1) * _itemsize(args[0])


def _new_shape(position: int, key: str) -> Estimate:
    def estimate(args: tuple, kwargs: dict) -> int:
        shape = kwargs.get(key, args[position] if len(args) > position else None)
        if shape is None:
            return _count(_shape(args[0])) * _itemsize(args[0])
        return _count(np.atleast_1d(shape).tolist()) * _itemsize(args[0])
    return estimate


def _like(args: tuple, kwargs: dict) -> int:
    shape = kwargs.get("shape") or _shape(args[0])
    dtype = kwargs.get("dtype")
    itemsize = np.dtype(dtype).itemsize if dtype is not None else _itemsize(args[0])
    return _count(np.atleast_1d(shape).tolist()) * max(itemsize, 1)


def _pad(args: tuple, kwargs: dict) -> int:
    shape = _shape(args[0])
    width = np.asarray(kwargs.get("pad_width", args[1] if len(args) > 1 else 0), dtype=object)
    widths = np.broadcast_to(width, (len(shape), 2)) if shape else np.zeros((0, 2), dtype=object)
    return _count([n + int(a) + int(b) for n, (a, b) in zip(shape, widths, strict=True)]) \
        * _itemsize(args[0])


def _meshgrid(args: tuple, kwargs: dict) -> int:
    return _count([_count(_shape(x)) for x in args]) * max(len(args), 1) * _itemsize(*args)


def _diag(args: tuple, kwargs: dict) -> int:
    k = abs(int(kwargs.get("k", args[1] if len(args) > 1 else 0)))
    shape = _shape(args[0])
    n = _count(shape) if len(shape) != 2 else min(shape)
    return (n + k) ** 2 * _itemsize(args[0])


def _bincount(args: tuple, kwargs: dict) -> int:
    x = np.asarray(args[0])
    minlength = int(kwargs.get("minlength", args[2] if len(args) > 2 else 0) or 0)
    top = int(x.max()) + 1 if x.size and x.dtype.kind in "iu" else 0
    return max(top, minlength) * 8


def _bins(args: tuple, kwargs: dict) -> int:
    bins = kwargs.get("bins", args[1] if len(args) > 1 else 10)
    count = sum(_count(np.atleast_1d(b).tolist()) if not isinstance(b, int | np.integer) else int(b)
                for b in (bins if isinstance(bins, list | tuple) and len(bins) == 2 else [bins]))
    return (count + 1) * 8 + _count(_shape(args[0])) * 8


def _astype(args: tuple, kwargs: dict) -> int:
    dtype = kwargs.get("dtype", args[1] if len(args) > 1 else None)
    itemsize = np.dtype(dtype).itemsize if dtype is not None else _itemsize(args[0])
    return _count(_shape(args[0])) * max(itemsize, 8)


def _einsum(args: tuple, kwargs: dict) -> int | None:
    if not args or not isinstance(args[0], str) or "->" not in args[0] or "." in args[0]:
        return None
    inputs, output = args[0].replace(" ", "").split("->")
    dims: dict[str, int] = {}
    for labels, operand in zip(inputs.split(","), args[1:], strict=False):
        dims.update(zip(labels, _shape(operand), strict=False))
    return _count([dims.get(c, 1) for c in output]) * _itemsize(*args[1:])


def estimate_getitem(args: tuple, kwargs: dict) -> int:
    """An upper bound of ``a[key]``: index arrays broadcast together, sliced axes kept whole."""
    a, key = args[0], args[1]
    shape = _shape(a)
    keys = [np.asarray(k) if isinstance(k, list) else k
            for k in (list(key) if isinstance(key, tuple) else [key])]

    def width(k: Any) -> int:  # axes of ``a`` an index stands for
        if k is None or k is Ellipsis:
            return 0
        return max(k.ndim, 1) if isinstance(k, np.ndarray) and k.dtype == bool else 1

    if any(k is Ellipsis for k in keys):  # spell the ellipsis out as whole slices
        at = next(i for i, k in enumerate(keys) if k is Ellipsis)
        fill = max(len(shape) - sum(width(k) for k in keys), 0)
        keys = keys[:at] + [slice(None)] * fill + [k for k in keys[at + 1:] if k is not Ellipsis]
    fancy, kept, axis = [], 1, 0
    for k in keys:
        if isinstance(k, slice):
            kept *= shape[axis] if axis < len(shape) else 1
        elif isinstance(k, np.ndarray):
            fancy.append((int(k.sum()),) if k.dtype == bool else k.shape)
        axis += width(k)
    rest = _count(shape[axis:]) if axis < len(shape) else 1
    return (_count(np.broadcast_shapes(*fancy)) if fancy else 1) * kept * rest * _itemsize(a)


# -- pandas -----------------------------------------------------------------------------------------

def _rows(x: Any) -> int:
    return len(x) if isinstance(x, pd.DataFrame | pd.Series) else _count(_shape(x))


def _row_bytes(x: Any) -> int:
    return max(8, 8 * (x.shape[1] if isinstance(x, pd.DataFrame) else 1))


def _frame_repeat(args: tuple, kwargs: dict) -> int:
    return _repeat((np.empty(_rows(args[0]), dtype=np.int8), *args[1:]), kwargs) * _row_bytes(args[0])


def _sample(args: tuple, kwargs: dict) -> int:
    n = kwargs.get("n", args[1] if len(args) > 1 else None)
    frac = kwargs.get("frac", args[2] if len(args) > 2 else None)
    rows = int(n) if n is not None else math.ceil(float(frac or 1) * _rows(args[0]))
    return abs(rows) * _row_bytes(args[0])


def _str_width(position: int, key: str) -> Estimate:
    def estimate(args: tuple, kwargs: dict) -> int:
        width = kwargs.get(key, args[position] if len(args) > position else 1)
        most = int(np.max(width)) if np.size(width) else 1
        return _rows(args[0]) * max(most, 1) * 4
    return estimate


def _cross_merge(args: tuple, kwargs: dict) -> int:
    right = kwargs.get("right", args[1] if len(args) > 1 else None)
    if kwargs.get("how") != "cross" or right is None:
        return (_rows(args[0]) + _rows(right)) * _row_bytes(args[0]) if right is not None else 0
    return _rows(args[0]) * _rows(right) * (_row_bytes(args[0]) + _row_bytes(right))


def _cut(args: tuple, kwargs: dict) -> int:
    bins = kwargs.get("bins", kwargs.get("q", args[1] if len(args) > 1 else 1))
    count = int(bins) if isinstance(bins, int | np.integer) else _count(_shape(bins))
    return (count + _rows(args[0])) * 8


def _resample(args: tuple, kwargs: dict) -> int | None:
    obj, f_args, f_kwargs = args[0], args[1], args[2]
    rule = f_kwargs.get("rule", f_args[0] if f_args else None)
    index = obj.index if isinstance(obj, pd.DataFrame | pd.Series) else None
    if rule is None or not isinstance(index, pd.DatetimeIndex) or len(index) == 0:
        return None
    step = pd.tseries.frequencies.to_offset(rule)
    nanos = getattr(step, "nanos", None)
    if not nanos:
        return None
    span = int((index.max() - index.min()).value)
    return (span // nanos + 1) * _row_bytes(obj)


def _draw(method: str) -> Estimate:
    signature = inspect.signature(getattr(np.random.Generator, method))

    def estimate(args: tuple, kwargs: dict) -> int | None:
        try:
            bound = signature.bind(None, *args[1:], **kwargs).arguments  # args[0] is the state
        except TypeError:
            return None
        size = bound.get("size")
        if method == "permutation" and isinstance(bound.get("x"), int | np.integer):
            size = bound["x"]
        if method == "bytes":
            size = bound.get("length")
        if size is None:
            return None
        return _count(np.atleast_1d(size).tolist()) * 8 * (len(bound.get("pvals", [0])) or 1)

    return estimate


# -- registration --------------------------------------------------------------------------------

_NUMPY: dict[str, Estimate] = {
    "numpy.tile": _tile, "numpy.repeat": _repeat, "numpy.ndarray.repeat": _repeat,
    "numpy.resize": _new_shape(1, "new_shape"), "numpy.broadcast_to": _new_shape(1, "shape"),
    "numpy.outer": _outer, "numpy.kron": _outer, "numpy.pad": _pad, "numpy.meshgrid": _meshgrid,
    "numpy.zeros_like": _like, "numpy.ones_like": _like, "numpy.empty_like": _like,
    "numpy.full_like": _like, "numpy.diag": _diag, "numpy.diagflat": _diag,
    "numpy.bincount": _bincount, "numpy.histogram": _bins, "numpy.histogram2d": _bins,
    "numpy.ndarray.astype": _astype, "numpy.einsum": _einsum,
    "numpy.ndarray.__getitem__": estimate_getitem, "numpy.where": _broadcast,
    "numpy.select": _broadcast, "numpy.choose": _broadcast, "numpy.tensordot": _outer,
}
_PANDAS: dict[str, Estimate] = {
    "pandas.Series.repeat": _frame_repeat, "pandas.DataFrame.sample": _sample,
    "pandas.Series.sample": _sample, "pandas.merge": _cross_merge, "pandas.DataFrame.merge": _cross_merge,
    "pandas.DataFrame.join": _cross_merge, "pandas.cut": _cut, "pandas.qcut": _cut,
    "pandas.Series.str.pad": _str_width(1, "width"), "pandas.Series.str.center": _str_width(1, "width"),
    "pandas.Series.str.ljust": _str_width(1, "width"), "pandas.Series.str.rjust": _str_width(1, "width"),
    "pandas.Series.str.zfill": _str_width(1, "width"), "pandas.Series.str.repeat": _str_width(1, "repeats"),
}


def _register() -> None:
    for (_ufunc, method), op in UFUNC_OPS.items():
        register_size(op.opcode, _outer if method == "outer" else _broadcast)
    for opcode, estimate in {**_NUMPY, **_PANDAS}.items():
        if opcode in OPERATIONS:
            register_size(opcode, estimate)
    for opcode in OPERATIONS:
        if ".resample." in opcode:
            register_size(opcode, _resample)
        elif opcode.startswith("numpy.random.Generator."):
            method = opcode.rsplit(".", 1)[1]
            if hasattr(np.random.Generator, method):
                register_size(opcode, _draw(method))


_register()
