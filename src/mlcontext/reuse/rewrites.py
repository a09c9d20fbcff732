"""Partial reuse: compute a result cheaply from cached pieces (LIMA §5.2, SystemDS's
``LineageRewriteReuse``).

A rewrite never executes the hypothetical pieces it looks for: it computes their lineage hashes from
opcode + input hashes + literals (:func:`~mlcontext.lineage.digest.node_digest`) and probes the cache.
The values it needs of the *parts* of an input (``X`` in ``hstack([X, dX])``) are views of the input's
value, found from the block sizes the executor noted when the stack ran (:data:`STACK_META`).

Rewrites (``Z`` a stack of blocks, ``T`` a transpose, ``@`` ``matmul`` or ``dot``):

=================================  =============================================================
``T(hstack[X, R]) @ hstack[X, R]``  ``[[X'X, X'R], [R'X, R'R]]`` from a cached ``X'X`` (stepLM, HLM)
``T(hstack[X, R]) @ W``             ``vstack[X'W, R'W]`` from a cached ``X'W``
``T(vstack[B1..Bk]) @ vstack[C..]`` ``sum_j Bj'Cj``, each block product cached on its own (k-fold CV)
``vstack[X, R] @ Y``                ``vstack[X@Y, R@Y]`` from a cached ``X@Y``
``X @ hstack[Y, R]``                ``hstack[X@Y, X@R]`` from a cached ``X@Y``
``A @ B[:, :k]``                    a prefix of a cached ``A @ B[:, :k']`` (k' >= k) or of ``A @ B``,
                                    or the cached prefix plus ``A @ B[:, k':k]`` (PCA sweeps)
``f(stack[X, R])`` (elementwise)    ``stack[f(X), f(R)]`` from a cached ``f(X)``
=================================  =============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..lineage.digest import node_digest
from ..lineage.item import Item
from ..lineage.literals import EMPTY_KWARGS, ref
from .cache import MISS, LineageCache

__all__ = ["try_rewrite", "note_stack", "STACK_META", "STACK_OPCODES", "Rewritten"]

MATMULS = frozenset({"numpy.matmul", "numpy.dot", "numpy.ndarray.dot"})
TRANSPOSES = frozenset({"numpy.transpose", "numpy.ndarray.transpose"})
STACK_OPCODES = frozenset({"numpy.hstack", "numpy.vstack", "numpy.concatenate", "numpy.column_stack"})
GETITEM = "numpy.ndarray.__getitem__"

_LIT_R0 = ("T", (("T", (ref(0),)), EMPTY_KWARGS))
_LIT_R01 = ("T", (("T", (ref(0), ref(1))), EMPTY_KWARGS))
_LIT_R00 = ("T", (("T", (ref(0), ref(0))), EMPTY_KWARGS))

# digest of a stack item -> (axis, sizes of its blocks along the axis); bounded, oldest dropped first.
STACK_META: dict[bytes, tuple[int, tuple[int, ...]]] = {}
_META_MAX = 200_000
# (matmul opcode, digest of A, digest of B) -> {k: digest of A @ B[:, :k]}; k = -1 for A @ B itself.
_PREFIX: dict[tuple[str, bytes, bytes], dict[int, bytes]] = {}


class Rewritten:
    """A rewrite's result: the value, and whether any cached piece was actually reused."""

    __slots__ = ("value", "reused")

    def __init__(self, value: Any, reused: bool) -> None:
        self.value = value
        self.reused = reused


def note_stack(item: Item, opcode: str, args: tuple, kwargs: dict, value: Any) -> None:
    """Remember the block sizes of a stack (called by the executor, on hits too)."""
    if not isinstance(value, np.ndarray) or value.ndim not in (1, 2) or not args:
        return
    blocks = args[0]
    if not isinstance(blocks, list | tuple) or not all(isinstance(b, np.ndarray) for b in blocks):
        return
    if opcode == "numpy.vstack":
        axis = 0
    elif opcode in ("numpy.hstack", "numpy.column_stack"):
        axis = 1
    else:
        axis = kwargs.get("axis", args[1] if len(args) > 1 else 0)
        if not isinstance(axis, int):
            return
        axis %= 2
    if any(b.ndim != value.ndim for b in blocks) or (value.ndim == 1 and axis != 0):
        return  # 1-D blocks in a 2-D stack change shape: keep to blocks of the result's rank
    if value.ndim == 1:
        axis = 0
    if len(STACK_META) >= _META_MAX:
        for k in list(STACK_META)[: _META_MAX // 4]:
            del STACK_META[k]
    STACK_META[item.digest] = (axis, tuple(int(b.shape[axis]) for b in blocks))


def _stack(item: Item) -> tuple[int, tuple[int, ...], list[Item]] | None:
    """``(axis, sizes, block items)`` if ``item`` is a recorded 2-D stack of traced blocks."""
    if item.opcode not in STACK_OPCODES:
        return None
    meta = STACK_META.get(item.digest)
    if meta is None:
        return None
    seq = item.literals[1][0][1][0]
    if seq[0] not in ("L", "T") or any(c[0] != "r" for c in seq[1]):
        return None
    blocks = [item.inputs[c[1]] for c in seq[1]]
    if len(blocks) != len(meta[1]):
        return None
    return meta[0], meta[1], blocks


def _transposed(item: Item) -> Item | None:
    if item.opcode in TRANSPOSES and item.literals == _LIT_R0:
        return item.inputs[0]
    return None


def _col_prefix(item: Item) -> tuple[Item, int] | None:
    """``(B, k)`` if ``item`` is ``B[:, :k]``."""
    if item.opcode != GETITEM:
        return None
    pos = item.literals[1][0][1]
    if len(pos) != 2 or pos[0] != ("r", 0) or item.literals[1][1] != EMPTY_KWARGS:
        return None
    key = pos[1]
    if key[0] != "T" or len(key[1]) != 2:
        return None
    full, cols = key[1]
    if full != ("S", (("n", None), ("n", None), ("n", None))) or cols[0] != "S":
        return None
    start, stop, step = cols[1]
    if start not in (("n", None), ("i", 0)) or step != ("n", None) or stop[0] != "i" or stop[1] <= 0:
        return None
    return item.inputs[0], stop[1]


def _mm(opcode: str, a: bytes, b: bytes) -> bytes:
    if a == b:
        return node_digest(opcode, [a], _LIT_R00)
    return node_digest(opcode, [a, b], _LIT_R01)


def _t(opcode: str, a: bytes) -> bytes:
    return node_digest(opcode, [a], _LIT_R0)


def _slices(sizes: tuple[int, ...]) -> list[slice]:
    out, start = [], 0
    for n in sizes:
        out.append(slice(start, start + n))
        start += n
    return out


# -- matmul rewrites ---------------------------------------------------------------------------------

def _matmul(item: Item, args: tuple, kwargs: dict, cache: LineageCache) -> Any:
    if kwargs or len(args) != 2:
        return MISS
    a, b = args
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == 2
            and b.ndim in (1, 2)):
        return MISS
    ia, ib = (item.inputs[0], item.inputs[0]) if len(item.inputs) == 1 else item.inputs
    op = item.opcode
    inner = _transposed(ia)
    if inner is not None:
        z = _stack(inner)
        if z is not None and z[0] == 1:
            return _tcols_matmul(op, ia.opcode, z, ib, a, b, inner.digest == ib.digest, cache)
        if z is not None and z[0] == 0:
            w = z if inner.digest == ib.digest else _stack(ib)
            if w is not None and w[0] == 0 and w[1] == z[1]:
                return _trows_matmul(op, ia.opcode, z, w, a, b, cache)
    z = _stack(ia)
    if z is not None and z[0] == 0:
        first = cache.peek(_mm(op, z[2][0].digest, ib.digest))
        if first is not MISS:
            rest = a[z[1][0]:]
            return Rewritten(np.concatenate([first, rest @ b], axis=0), True)
    z = _stack(ib) if b.ndim == 2 else None
    if z is not None and z[0] == 1:
        first = cache.peek(_mm(op, ia.digest, z[2][0].digest))
        if first is not MISS:
            return Rewritten(np.hstack([first, a @ b[:, z[1][0]:]]), True)
    pre = _col_prefix(ib) if b.ndim == 2 else None
    if pre is not None:
        return _prefix_matmul(op, item, ia, pre, a, b, cache)
    return MISS


def _tcols_matmul(op: str, top: str, z: tuple, iw: Item, zt: np.ndarray, w: np.ndarray, gram: bool,
                  cache: LineageCache) -> Any:
    # T(hstack[X, R]) @ W: rows of the result are X'W then R'W.
    x = z[2][0]
    p = z[1][0]
    tx = _t(top, x.digest)
    # A missing X'X (or X'W) is computed as a block and cached under its own lineage hash: the next
    # hstack onto X (the next candidate column, the intercept variant) then reuses it.
    from .executor import admit_piece

    if gram:
        key = _mm(op, tx, x.digest)
        g = cache.peek(key)
        zv = w  # w is Z itself
        xv, rv = zv[:, :p], zv[:, p:]
        reused = g is not MISS
        if not reused:
            g = admit_piece(key, lambda: zt[:p] @ xv, x.height + 2)
        xr = xv.T @ rv
        return Rewritten(np.block([[g, xr], [xr.T, rv.T @ rv]]), reused)
    key = _mm(op, tx, iw.digest)
    first = cache.peek(key)
    reused = first is not MISS
    if not reused:
        first = admit_piece(key, lambda: zt[:p] @ w, max(x.height + 1, iw.height) + 1)
    return Rewritten(np.concatenate([first, zt[p:] @ w], axis=0), reused)


def _trows_matmul(op: str, top: str, z: tuple, w: tuple, zt: np.ndarray, wv: np.ndarray,
                  cache: LineageCache) -> Any:
    # T(vstack[B1..Bk]) @ vstack[C1..Ck] = sum_j Bj' Cj; each product is cached on its own, so other
    # folds of a cross validation find them.
    total = None
    reused = False
    zv = zt.T
    for s, bj, cj in zip(_slices(z[1]), z[2], w[2], strict=True):
        key = _mm(op, _t(top, bj.digest), cj.digest)
        part = cache.peek(key)
        if part is MISS:
            from .executor import admit_piece

            part = admit_piece(key, lambda s=s: zv[s].T @ wv[s], max(bj.height, cj.height) + 2)
        else:
            reused = True
        total = np.array(part, copy=True) if total is None else total.__iadd__(part)
    return Rewritten(total, reused)


def _prefix_matmul(op: str, item: Item, ia: Item, pre: tuple[Item, int], a: np.ndarray, s: np.ndarray,
                   cache: LineageCache) -> Any:
    bi, k = pre
    family_key = (op, ia.digest, bi.digest)
    family = _PREFIX.setdefault(family_key, {})
    family[k] = item.digest
    best_above, best_below = None, None
    full = cache.peek(_mm(op, ia.digest, bi.digest))
    if full is not MISS and full.ndim == 2 and full.shape[1] >= k:
        return Rewritten(np.ascontiguousarray(full[:, :k]), True)
    for kk, digest in list(family.items()):
        if kk == k:
            continue
        value = cache.peek(digest)
        if value is MISS:
            del family[kk]
            continue
        if kk > k and (best_above is None or kk < best_above[0]):
            best_above = (kk, value)
        elif kk < k and (best_below is None or kk > best_below[0]):
            best_below = (kk, value)
    if best_above is not None:
        return Rewritten(np.ascontiguousarray(best_above[1][:, :k]), True)
    if best_below is not None:
        kk, value = best_below
        return Rewritten(np.hstack([value, a @ s[:, kk:]]), True)
    return MISS


# -- elementwise over stacks -------------------------------------------------------------------------

def _elementwise(item: Item, args: tuple, kwargs: dict, cache: LineageCache) -> Any:
    if kwargs:
        return MISS
    stacks = [_stack(i) for i in item.inputs]
    if not stacks or any(s is None for s in stacks):
        return MISS
    axis, sizes = stacks[0][0], stacks[0][1]
    if any(s[0] != axis or s[1] != sizes for s in stacks):
        return MISS
    arrays = [x for x in args if isinstance(x, np.ndarray)]
    if not arrays or any(x.shape != arrays[0].shape or x.ndim != 2 for x in arrays):
        return MISS
    first = node_digest(item.opcode, [s[2][0].digest for s in stacks], item.literals)
    value = cache.peek(first)
    if value is MISS:
        return MISS
    p = sizes[0]
    cut = (slice(None), slice(p, None)) if axis == 1 else (slice(p, None),)
    rest_args = tuple(x[cut] if isinstance(x, np.ndarray) else x for x in args)
    return Rewritten(np.concatenate([value, _UFUNCS[item.opcode](*rest_args)], axis=axis), True)


_UFUNCS: dict[str, Callable[..., Any]] = {
    f"numpy.{u.__name__}": u for u in vars(np).values()
    if isinstance(u, np.ufunc) and u.nout == 1 and u.nin in (1, 2)
}


def try_rewrite(item: Item, args: tuple, kwargs: dict, cache: LineageCache) -> Any:
    """A :class:`Rewritten` result from cached pieces, or :data:`MISS`."""
    opcode = item.opcode
    if opcode in MATMULS:
        return _matmul(item, args, kwargs, cache)
    if opcode in _UFUNCS:
        return _elementwise(item, args, kwargs, cache)
    return MISS
