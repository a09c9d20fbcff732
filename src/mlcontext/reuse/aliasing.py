"""Two evaluations of one lineage never share memory that plain NumPy would not have shared.

Without reuse, ``center(X).T @ center(X)`` computes the centred matrix twice, into two buffers, and
NumPy multiplies them with a general product (BLAS ``gemm``). With reuse, the second ``center(X)`` is a
cache hit: the same buffer as the first. ``A.T @ A`` on one buffer is what NumPy recognises as a Gram
and computes with ``syrk``, which rounds differently, so the result would differ from the run without
reuse in the last bits (a newcomer measured 1.4e-13) under ``mc.reuse("exact")``, which promises bit
for bit.

So a cache hit whose value is still held by an earlier evaluation (a traced array, a view of it, a
deferred value made from it) is handed out as an *alias*: an array over the same memory whose base is a
:class:`HandOut`, so that NumPy's views of it stop there and tell the two evaluations apart. A product
whose arguments are different evaluations of the same memory (:func:`unaliased`) multiplies a copy of
the second, as plain NumPy would have multiplied a second buffer. A hit that nothing else holds is
handed out as it is (the usual case: a loop meets a cached value once per iteration), so aliases cost
only where two evaluations meet. Products of one evaluation with itself (``Z = center(X); Z.T @ Z``)
keep NumPy's ``syrk``, as without reuse.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..lineage.item import identity
from ..lineage.operations import PRODUCT, Operation

__all__ = ["HandOut", "hand_out", "hand_out_parts", "held_elsewhere", "unaliased", "one_evaluation",
           "blas_product", "BLAS_ALIASING"]

# The operations that call BLAS on two arguments and take another path when the two are one buffer
# (NumPy's cblas_matrixproduct: ``syrk`` for A.T @ A and A @ A.T); the product family (matmul, dot,
# ndarray.dot) is recognised by its traits.
BLAS_ALIASING = frozenset({"numpy.inner", "numpy.tensordot", "numpy.linalg.tensordot",
                           "numpy.linalg.multi_dot", "numpy.einsum"})

def blas_product(op: Operation) -> bool:
    """Whether ``op`` is one of the products whose BLAS path depends on whether two arguments share
    a buffer: the product family (matmul, dot, ndarray.dot) or an opcode of :data:`BLAS_ALIASING`."""
    return op.traits.family == PRODUCT or op.opcode in BLAS_ALIASING


# References to a cached array that owns its memory while the executor asks about a hit: the cache
# entry's, the executor's variable, held_elsewhere's argument and getrefcount's. Any more is an
# evaluation holding it (tests/reuse/test_aliasing.py checks the count).
_CACHE_REFERENCES = 4


class HandOut:
    """The base of an alias of a cached array: exposes the cached array's memory (``cached``)."""

    __slots__ = ("__array_interface__", "cached")

    def __init__(self, cached: np.ndarray) -> None:
        self.__array_interface__ = cached.__array_interface__
        self.cached = cached


def held_elsewhere(value: np.ndarray) -> bool:
    """Whether a cached array the executor just found (held by the cache and one variable) is also
    held by an earlier evaluation. A cached view (of memory its base owns) is always taken as held:
    its base's holders cannot be counted."""
    return value.base is not None or sys.getrefcount(value) > _CACHE_REFERENCES


# References to an array inside a cached tuple (a multi-output call: eigh, svd, qr) while
# hand_out_parts asks: the tuple's, the loop's variable, _held_part's argument and getrefcount's.
_PART_REFERENCES = 4


def _held_part(part: np.ndarray) -> bool:
    return part.base is not None or sys.getrefcount(part) > _PART_REFERENCES


def hand_out_parts(value: tuple) -> tuple:
    """A cached tuple of outputs (``np.linalg.eigh``'s) with each array an earlier evaluation still
    holds handed out as an alias (:func:`hand_out`); ``value`` itself when none is held."""
    if not any(type(part) is np.ndarray and _held_part(part) for part in value):
        return value
    parts = [hand_out(part) if type(part) is np.ndarray and _held_part(part) else part for part in value]
    return type(value)(*parts) if hasattr(value, "_fields") else type(value)(parts)


def hand_out(value: np.ndarray) -> np.ndarray:
    """An array over ``value``'s memory (read-only, as ``value`` is) whose views have a root of their
    own: a second evaluation of the same lineage."""
    return np.asarray(HandOut(value))


def _evaluation(array: np.ndarray) -> np.ndarray:
    """The array an evaluation made that ``array`` views (NumPy collapses chains of views to it)."""
    base = array.base
    while isinstance(base, np.ndarray):
        array, base = base, base.base
    return array


def _memory(root: np.ndarray) -> np.ndarray:
    base = root.base
    return _evaluation(base.cached) if type(base) is HandOut else root


def _arrays(args: tuple) -> list[tuple[int, int | None, np.ndarray]]:
    """The array arguments, ``(position, place in a list argument or None, array)``: lists and tuples
    of arrays (``multi_dot``'s) followed one level; other arguments (``einsum``'s subscripts) skipped."""
    arrays: list[tuple[int, int | None, np.ndarray]] = [
        (k, None, a) for k, a in enumerate(args) if type(a) is np.ndarray]
    for k, a in enumerate(args):
        if type(a) is list or type(a) is tuple:
            arrays += [(k, j, e) for j, e in enumerate(a) if type(e) is np.ndarray]
    return arrays


def _copy_keeping_layout(array: np.ndarray, root: np.ndarray) -> np.ndarray:
    """``array`` (a view of ``root``) on a copy of ``root``: the same shape, strides and offset, so
    that NumPy takes the same kernel on it (a strided row copied contiguously took the unit-stride
    ``ddot``, which rounds otherwise: a reviewer's finding). A plain copy when ``root`` is not one
    block of memory."""
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return np.array(array, order="K", copy=True)
    copy = root.copy(order="K")
    offset = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    view = np.ndarray(array.shape, array.dtype, buffer=copy, offset=offset, strides=array.strides)
    view.flags.writeable = False
    return view


def unaliased(args: tuple) -> tuple:
    """``args`` with a copy (same layout, see :func:`_copy_keeping_layout`) of each array argument
    that is another evaluation of the memory of an earlier one; ``args`` itself when there is none
    (lists of arrays, as ``multi_dot`` takes, followed one level)."""
    arrays = _arrays(args)
    if len(arrays) < 2:
        return args
    roots = [_evaluation(a) for _, _, a in arrays]
    if all(r is roots[0] for r in roots):
        return args
    seen: dict[int, np.ndarray] = {}  # identity of memory -> the first evaluation met of it
    out: list[Any] | None = None
    for (k, j, a), root in zip(arrays, roots, strict=True):
        memory = _memory(root)
        first = seen.setdefault(identity(memory), root)
        if first is root:
            continue
        if out is None:
            out = list(args)
        copy = _copy_keeping_layout(a, root)
        if j is None:
            out[k] = copy
        else:
            seq = list(out[k])
            seq[j] = copy
            out[k] = type(args[k])(seq)
    return args if out is None else tuple(out)


def one_evaluation(args: tuple) -> bool:
    """Whether two array arguments are of one evaluation (``Z.T @ Z``, ``X.T @ X``, ``multi_dot([Z.T,
    Z])``, ``einsum("ij,ik", Z, Z)``): NumPy may take its ``syrk`` path for them, which rounds otherwise
    than the general product of two buffers of equal content. Exact reuse keeps the two kinds of
    product apart in the cache."""
    roots = [_evaluation(a) for _, _, a in _arrays(args)]
    return len(roots) > len({identity(r) for r in roots})
