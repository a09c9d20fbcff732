"""The memory layout of an array leaf: part of its identity when it is not C order.

NumPy's results depend on more than an array's elements: a ufunc keeps its input's layout
(``order="K"``), so ``(f * 2).flags.f_contiguous`` follows ``f``; ``ravel(order="K")`` and
``tobytes(order="A")`` read memory order; reductions and BLAS calls may add up in another order on
a strided or Fortran-ordered input and round differently. Two arrays with the same elements in
different layouts are therefore different leaves (a cached result computed from one would hand back
the other's layout). A C-contiguous array, the common case, records nothing: its leaf stays what it
always was. Any other array records its layout — ``"F"`` for Fortran order, else its strides in
bytes (a view, a transposed copy of a 3-d array, negative steps, a broadcast) — and recompute gives
back an array laid out the same way.
"""

from __future__ import annotations

import numpy as np

from ..errors import LineageError
from .leaves import check_size

__all__ = ["layout_of", "with_layout"]

_STRIDES = "strides:"


def layout_of(array: np.ndarray) -> str | None:
    """``None`` for a C-contiguous array, ``"F"`` for a Fortran-ordered one, else ``"strides:a,b"``.

    Examples
    --------
    >>> a = np.zeros((2, 3))
    >>> layout_of(a), layout_of(np.asfortranarray(a)), layout_of(a[:, ::2])
    (None, 'F', 'strides:24,16')
    """
    flags = array.flags
    if flags.c_contiguous:
        return None
    if flags.f_contiguous:
        return "F"
    return _STRIDES + ",".join(str(s) for s in array.strides)


def with_layout(array: np.ndarray, layout: str | None, max_bytes: int | None = None) -> np.ndarray:
    """``array`` (with the same elements) laid out as ``layout`` says (see :func:`layout_of`).

    ``max_bytes`` bounds the memory a strided layout may span (a log from elsewhere chooses it).

    Raises
    ------
    LineageError
        ``layout`` is malformed, does not fit the array's shape and dtype, or spans more than
        ``max_bytes``.
    """
    if layout == layout_of(array):
        return array
    if layout is None:
        return np.ascontiguousarray(array)
    if layout == "F":
        return np.asfortranarray(array)
    strides = _parse(layout, array.ndim)
    shape, itemsize = array.shape, array.dtype.itemsize
    low = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0)
    high = sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0)
    if max_bytes is not None:
        check_size(high - low + itemsize, f"an array laid out as {layout!r}", max_bytes)
    buffer = np.zeros(high - low + itemsize, np.uint8)
    try:
        out = np.ndarray(shape, array.dtype, buffer=buffer, offset=-low, strides=strides)
    except (TypeError, ValueError) as exc:
        raise LineageError(f"array layout {layout!r} does not fit shape {shape}: {exc}") from None
    out[...] = array  # (overlapping strides, as in a broadcast, get the same value more than once)
    return out


def _parse(layout: str, ndim: int) -> tuple[int, ...]:
    try:
        if not layout.startswith(_STRIDES):
            raise ValueError(layout)
        strides = tuple(int(s) for s in layout[len(_STRIDES):].split(",")) if ndim else ()
    except (AttributeError, ValueError):
        raise LineageError(f"malformed array layout {layout!r} in a data leaf") from None
    if len(strides) != ndim:
        raise LineageError(f"array layout {layout!r} has {len(strides)} strides for {ndim} dimensions")
    return strides
