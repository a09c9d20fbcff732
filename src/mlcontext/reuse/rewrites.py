"""Partial reuse: compute a result cheaply from cached pieces (LIMA §5.2, SystemDS's
``LineageRewriteReuse``).

A rewrite never executes the hypothetical pieces it looks for: it computes their lineage hashes from
opcode + input hashes + literals (:func:`~mlcontext.lineage.digest.node_digest`) and probes the cache.
The values it needs of the *parts* of a stack (``X`` in ``hstack([X, dX])``) are the blocks the
stack was called with when it is deferred (:mod:`mlcontext.ops.deferred`: with partial reuse on, a
stack is not copied until something needs its elements), else views of its value, found from the
block sizes noted when the stack ran (:data:`STACK_META`).

Rewrites (``Z`` a stack of blocks, ``T`` a transpose, ``@`` ``matmul`` or ``dot``):

=================================  =============================================================
``T(hstack[X, R]) @ hstack[X, R]``  ``[[X'X, X'R], [R'X, R'R]]``, each block cached on its own and
                                    found recursively when ``X`` is a stack itself (stepLM, HLM)
``T(hstack[X, R]) @ W``             ``vstack[X'W, R'W]`` (and ``T(X) @ hstack[W1, W2]`` by columns)
``T(vstack[B1..Bk]) @ vstack[C..]`` ``sum_j Bj'Cj``, each block product cached on its own (k-fold CV)
``vstack[X, R] @ Y``                ``vstack[X@Y, R@Y]``
``X @ hstack[Y, R]``                ``hstack[X@Y, X@R]``
``hstack[X, R] @ W``, ``T(vstack[X, R]) @ W``  ``X @ W1 + R @ W2`` (deferred stacks only: no copy)
``A @ B[:, :k]``                    a prefix of a cached ``A @ B[:, :k']`` (k' >= k) or of ``A @ B``,
                                    or the cached prefix extended: a sweep of k (PCA) grows the
                                    cached product geometrically, so it reads ``A`` O(log k) times
``T(P) @ P``, ``T(P) @ y``          for ``P = A @ B[:, :k]``: the corner of the Gram (or the head of
                                    ``T(P') @ y``) of a larger cached ``P'`` of the same family
``f(stack[X, R])`` (elementwise)    ``stack[f(X), f(R)]`` from a cached ``f(X)``
=================================  =============================================================

On deferred stacks the block forms are used even when no piece is cached yet: computing by blocks
costs the same flops as computing on the stack, without its copy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any

import numpy as np

from ..lineage.digest import node_digest
from ..lineage.item import Item
from ..lineage.literals import EMPTY_KWARGS, ref
from ..ops.deferred import Deferred, resolve
from .cache import MISS, LineageCache

__all__ = ["try_rewrite", "note_stack", "stack_plan", "note_sliced", "STACK_META", "STACK_OPCODES",
           "MATMULS", "TRANSPOSES", "GETITEM", "Rewritten"]

MATMULS = frozenset({"numpy.matmul", "numpy.dot", "numpy.ndarray.dot"})
TRANSPOSES = frozenset({"numpy.transpose", "numpy.ndarray.transpose"})
STACK_OPCODES = frozenset({"numpy.hstack", "numpy.vstack", "numpy.concatenate", "numpy.column_stack"})
GETITEM = "numpy.ndarray.__getitem__"

_LIT_R0 = ("T", (("T", (ref(0),)), EMPTY_KWARGS))
_LIT_R01 = ("T", (("T", (ref(0), ref(1))), EMPTY_KWARGS))
_LIT_R00 = ("T", (("T", (ref(0), ref(0))), EMPTY_KWARGS))
_NONE = ("n", None)
_ALL = ("S", (_NONE, _NONE, _NONE))
_MAX_DEPTH = 32  # nested stacks followed by the block rewrites (one level per appended column)

# digest of a stack item -> (axis, sizes of its blocks along the axis); bounded, oldest dropped first.
STACK_META: dict[bytes, tuple[int, tuple[int, ...]]] = {}
_META_MAX = 200_000
# (matmul opcode, digest of A, digest of B) -> {k: digest of A @ B[:, :k]}; k = -1 for A @ B itself.
_PREFIX: dict[tuple[str, bytes, bytes], dict[int, bytes]] = {}
_PREFIX_MAX = 10_000
# digest of B -> B's value, for the B[:, :k] slices taken (a prefix family computes ahead from it).
_SLICED: dict[bytes, weakref.ref] = {}
_SLICED_MAX = 10_000


class Rewritten:
    """A rewrite's result: the value (``MISS``: compute it as usual), whether any cached piece was
    reused, whether the value should be cached at once (a piece later calls are computed from), and
    whether it may be cached at all (not a view of a cached value: it would pin that value's memory
    after its eviction, and the rewrite derives it again in microseconds)."""

    __slots__ = ("value", "reused", "keep", "cache")

    def __init__(self, value: Any, reused: bool, keep: bool = False, cache: bool = True) -> None:
        self.value = value
        self.reused = reused
        self.keep = keep
        self.cache = cache


# -- stacks ------------------------------------------------------------------------------------------

def stack_plan(opcode: str, args: tuple, kwargs: dict) -> tuple[int, tuple[int, ...], np.dtype] | None:
    """``(axis, shape, dtype)`` of a stack of 1-D or 2-D array blocks of the result's rank and of
    one dtype, else None (such stacks are neither deferred nor rewritten)."""
    if not args or (kwargs and set(kwargs) - {"axis"}):
        return None
    blocks = args[0]
    if type(blocks) not in (list, tuple) or not blocks:
        return None
    for b in blocks:
        if type(b) is not np.ndarray and type(b) is not Deferred:
            return None
    ndim, dtype = blocks[0].ndim, blocks[0].dtype
    if ndim not in (1, 2) or any(b.ndim != ndim for b in blocks):
        return None  # 1-D blocks in a 2-D stack change shape: keep to blocks of the result's rank
    if any(b.dtype != dtype for b in blocks):
        return None  # block products must be in the stack's own dtype (bool, int8 + float ...)
    if opcode == "numpy.vstack":
        if ndim == 1:
            return None
        axis = 0
    elif opcode in ("numpy.hstack", "numpy.column_stack"):
        if opcode == "numpy.column_stack" and ndim == 1:
            return None
        axis = 1 if ndim == 2 else 0
    else:
        axis = kwargs.get("axis", args[1] if len(args) > 1 else 0)
        if type(axis) is not int or not -ndim <= axis < ndim or len(args) > 2:
            return None
        axis %= ndim
    other = [b.shape[:axis] + b.shape[axis + 1:] for b in blocks]
    if any(o != other[0] for o in other):
        return None
    shape = list(blocks[0].shape)
    shape[axis] = sum(int(b.shape[axis]) for b in blocks)
    return axis, tuple(shape), dtype


def note_stack(item: Item, axis: int, args: tuple) -> None:
    """Remember the block sizes of a stack (called by the executor, on hits too)."""
    if len(STACK_META) >= _META_MAX:
        for k in list(STACK_META)[: _META_MAX // 4]:
            STACK_META.pop(k, None)
    STACK_META[item.digest] = (axis, tuple(int(b.shape[axis]) for b in args[0]))


def _stack(item: Item) -> tuple[int, tuple[int, ...], list[Item]] | None:
    """``(axis, sizes, block items)`` if ``item`` is a recorded stack of traced blocks."""
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


def _block_values(z: tuple, value: Any) -> list[Any]:
    """The values of a stack's blocks: as given to a deferred stack, else views of the value."""
    call = value.call if type(value) is Deferred else None
    if call is not None:
        return list(call[1][0])
    v = resolve(value)
    axis = z[0]
    return [v[s] if axis == 0 else v[:, s] for s in _slices(z[1])]


def _untranspose(value: Any) -> Any:
    """The value ``T(value)`` was made from (a deferred transpose's input, else a view)."""
    call = value.call if type(value) is Deferred else None
    if call is not None and call[0] is np.transpose:
        return call[1][0]
    return resolve(value).T


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
    if full != _ALL or cols[0] != "S":
        return None
    start, stop, step = cols[1]
    if start not in (_NONE, ("i", 0)) or step != _NONE or stop[0] != "i" or stop[1] <= 0:
        return None
    return item.inputs[0], stop[1]


def note_sliced(item: Item, args: tuple) -> None:
    """Remember ``B``'s value when ``B[:, :k]`` is taken (called by the executor for getitems)."""
    b, key = args[0], args[1]
    if (type(b) is np.ndarray and b.ndim == 2 and type(key) is tuple and len(key) == 2
            and key[0] == slice(None) and type(key[1]) is slice and _col_prefix(item) is not None):
        if len(_SLICED) >= _SLICED_MAX:
            for k in list(_SLICED)[: _SLICED_MAX // 2]:
                _SLICED.pop(k, None)
        _SLICED[item.inputs[0].digest] = weakref.ref(b)


def _mm(opcode: str, a: bytes, b: bytes) -> bytes:
    if a == b:
        return node_digest(opcode, [a], _LIT_R00)
    return node_digest(opcode, [a, b], _LIT_R01)


def _t(opcode: str, a: bytes) -> bytes:
    return node_digest(opcode, [a], _LIT_R0)


def _prefix_digest(b: bytes, k: int) -> bytes:
    """The digest ``B[:, :k]`` has when a traced program takes it."""
    key = ("T", (_ALL, ("S", (_NONE, ("i", k), _NONE))))
    return node_digest(GETITEM, [b], ("T", (("T", (ref(0), key)), EMPTY_KWARGS)))


def _slices(sizes: tuple[int, ...]) -> list[slice]:
    out, start = [], 0
    for n in sizes:
        out.append(slice(start, start + n))
        start += n
    return out


def _keep(cache: LineageCache, key: bytes, value: np.ndarray, cost: float, height: int, *,
          force: bool = False) -> np.ndarray:
    """Cache a piece a rewrite computed under its own lineage hash (by the admission rule, or at once
    with ``force``: a piece that exists to be reused)."""
    if cost < cache.config.min_compute_s:
        return value
    if not (force or cache.worth_admitting(key, cost, int(value.nbytes))):
        return value
    from .executor import freeze_array

    frozen = freeze_array(np.ascontiguousarray(value))
    cache.put(key, frozen, cost, int(frozen.nbytes), height)
    return frozen


# -- matmul rewrites ---------------------------------------------------------------------------------

def _is_array(x: Any) -> bool:
    return type(x) is np.ndarray or type(x) is Deferred


def _matmul(item: Item, args: tuple, kwargs: dict, cache: LineageCache) -> Any:
    if kwargs or len(args) != 2:
        return MISS
    a, b = args
    if not (_is_array(a) and _is_array(b) and a.ndim == 2 and b.ndim in (1, 2)):
        return MISS
    if a.shape[1] != b.shape[0]:
        return MISS  # the plain path raises NumPy's own error (block slices would hide it)
    ia, ib = (item.inputs[0], item.inputs[0]) if len(item.inputs) == 1 else item.inputs
    op = item.opcode
    inner = _transposed(ia)
    if inner is not None:
        z = _stack(inner)
        if z is not None and z[0] == 1:
            value, reused = _tprod(op, ia.opcode, inner, _untranspose(a), ib, b, cache, 0)
            return Rewritten(value, reused)
        if z is not None and z[0] == 0:
            w = z if inner.digest == ib.digest else _stack(ib)
            if w is not None and w[0] == 0 and w[1] == z[1]:
                return _trows_matmul(op, ia.opcode, z, _untranspose(a), w, b, cache)
            zv = _untranspose(a)
            if _pending(zv):  # T(vstack[B1..Bk]) @ W = sum_j Bj' W[rows of j], without the stack
                return _block_sum(z, zv, b, transposed=True)
        found = _prefix_gram(op, ia.opcode, inner, ib, b, cache)
        if found is not MISS:
            return found
    z = _stack(ia)
    if z is not None and z[0] == 0 and (type(a) is Deferred or _cached(cache, op, z[2][0], ib)):
        parts, reused = _gather(_product(op, bi, bv, ib, b, cache)
                                for bi, bv in zip(z[2], _block_values(z, a), strict=True))
        return Rewritten(np.concatenate(parts, axis=0), reused)
    if z is not None and z[0] == 1 and _pending(a):  # hstack[X1..Xm] @ W = sum_j Xj @ W[rows of j]
        return _block_sum(z, a, b, transposed=False)
    z = _stack(ib) if b.ndim == 2 else None
    if z is not None and z[0] == 1 and (type(b) is Deferred or _cached(cache, op, ia, z[2][0])):
        parts, reused = _gather(_product(op, ia, a, bi, bv, cache)
                                for bi, bv in zip(z[2], _block_values(z, b), strict=True))
        return Rewritten(np.hstack(parts), reused)
    pre = _col_prefix(ib) if b.ndim == 2 else None
    if pre is not None:
        return _prefix_matmul(op, item, ia, pre, resolve(a), resolve(b), cache)
    return MISS


def _pending(value: Any) -> bool:
    return type(value) is Deferred and value.call is not None


def _block_sum(z: tuple, zv: Any, w: Any, transposed: bool) -> Rewritten:
    """``Z @ W`` for a column stack ``Z`` (or ``T(Z) @ W`` for a row stack) as a sum of block
    products, so the deferred stack is never copied (nothing cached is used: these pieces are rarely
    seen again)."""
    wv = resolve(w)
    total = None
    for s, xv in zip(_slices(z[1]), _block_values(z, zv), strict=True):
        x = resolve(xv)
        part = (x.T if transposed else x) @ wv[s]
        total = part if total is None else total.__iadd__(part)
    return Rewritten(total, False)


def _gather(results: Iterable[tuple[Any, bool]]) -> tuple[list[Any], bool]:
    """The block results of a rewrite, and whether any of them came from the cache."""
    parts, reused = [], False
    for part, hit in results:
        parts.append(part)
        reused |= hit
    return parts, reused


def _cached(cache: LineageCache, op: str, ia: Item, ib: Item) -> bool:
    return cache.peek(_mm(op, ia.digest, ib.digest)) is not MISS


def _product(op: str, ia: Item, a: Any, ib: Item, b: Any, cache: LineageCache) -> tuple[Any, bool]:
    """``A @ B`` from the cache, or computed and cached as a piece."""
    key = _mm(op, ia.digest, ib.digest)
    value = cache.peek(key)
    if value is not MISS:
        return value, True
    t0 = perf_counter()
    value = resolve(a) @ resolve(b)
    return _keep(cache, key, value, perf_counter() - t0, max(ia.height, ib.height) + 1), False


def _tprod(op: str, top: str, xi: Item, xv: Any, wi: Item, wv: Any, cache: LineageCache,
           depth: int) -> tuple[Any, bool]:
    """``T(X) @ W`` from cached pieces, splitting ``X`` (then ``W``) into its column blocks when it
    is a stack; pieces computed on the way are cached. ``depth`` 0 is the traced call itself (the
    executor caches its result)."""
    gram = xi.digest == wi.digest
    key = _mm(op, _t(top, xi.digest), wi.digest)
    if depth:
        found = cache.peek(key)
        if found is not MISS:
            return found, True
    z = _stack(xi) if depth < _MAX_DEPTH else None
    if z is not None and z[0] == 1:
        items, values = z[2], _block_values(z, xv)
        reused = False
        if gram:
            m = len(items)
            rows: list[list[Any]] = [[None] * m for _ in range(m)]
            for i in range(m):
                for j in range(i, m):
                    part, hit = _tprod(op, top, items[i], values[i], items[j], values[j], cache, depth + 1)
                    rows[i][j], rows[j][i] = part, (part.T if j != i else part)
                    reused |= hit
            return np.block(rows), reused
        parts, reused = _gather(_tprod(op, top, bi, bv, wi, wv, cache, depth + 1)
                                for bi, bv in zip(items, values, strict=True))
        return np.concatenate(parts, axis=0), reused
    zw = _stack(wi) if not gram and wv.ndim == 2 and depth < _MAX_DEPTH else None
    if zw is not None and zw[0] == 1:
        parts, reused = _gather(_tprod(op, top, xi, xv, bi, bv, cache, depth + 1)
                                for bi, bv in zip(zw[2], _block_values(zw, wv), strict=True))
        return np.hstack(parts), reused
    t0 = perf_counter()
    x = resolve(xv)
    value = x.T @ (x if gram else resolve(wv))
    if depth:
        value = _keep(cache, key, value, perf_counter() - t0, max(xi.height + 1, wi.height) + 1)
    return value, False


def _trows_matmul(op: str, top: str, z: tuple, zv: Any, w: tuple, wv: Any, cache: LineageCache) -> Any:
    # T(vstack[B1..Bk]) @ vstack[C1..Ck] = sum_j Bj' Cj; each product is cached on its own, so other
    # folds of a cross validation find them.
    total = None
    reused = False
    zblocks = _block_values(z, zv)
    wblocks = zblocks if w is z else _block_values(w, wv)
    for bj, cj, bv, cv in zip(z[2], w[2], zblocks, wblocks, strict=True):
        part, hit = _tprod(op, top, bj, bv, cj, cv, cache, 1)
        reused |= hit
        total = np.array(part, copy=True) if total is None else total.__iadd__(part)
    return Rewritten(total, reused)


def _prefix_matmul(op: str, item: Item, ia: Item, pre: tuple[Item, int], a: np.ndarray, s: np.ndarray,
                   cache: LineageCache) -> Any:
    bi, k = pre
    if len(_PREFIX) >= _PREFIX_MAX:
        for key in list(_PREFIX)[: _PREFIX_MAX // 2]:
            _PREFIX.pop(key, None)
    family = _PREFIX.setdefault((op, ia.digest, bi.digest), {})
    family[k] = item.digest
    full = cache.peek(_mm(op, ia.digest, bi.digest))
    if full is not MISS and full.ndim == 2 and full.shape[1] >= k:
        return Rewritten(full[:, :k], True, cache=False)
    best_above, best_below = None, None
    for kk, digest in list(family.items()):
        if kk == k:
            continue
        value = cache.peek(digest)
        if value is MISS:
            family.pop(kk, None)  # (another thread may have dropped it too)
            continue
        if kk > k and (best_above is None or kk < best_above[0]):
            best_above = (kk, value)
        elif kk < k and (best_below is None or kk > best_below[0]):
            best_below = (kk, value)
    if best_above is not None:
        return Rewritten(best_above[1][:, :k], True, cache=False)
    if best_below is None:
        return Rewritten(MISS, False, keep=True)  # the first of a sweep: cache it for the next k
    # A sweep of k upwards: extend the cached prefix, and compute ahead (twice the columns asked,
    # as far as B goes) so the next few k are prefixes: the sweep reads A O(log k) times, not once
    # per k. The wider product is cached under the lineage hash of A @ B[:, :ahead].
    kk, value = best_below
    ref_b = _SLICED.get(bi.digest)
    b = ref_b() if ref_b is not None else None
    ahead = min(2 * k, b.shape[1]) if b is not None else k
    if ahead > k:
        t0 = perf_counter()
        wide = np.hstack([value, a @ b[:, kk:ahead]])
        digest = _mm(op, ia.digest, _prefix_digest(bi.digest, ahead))
        wide = _keep(cache, digest, wide, perf_counter() - t0, item.height, force=True)
        family[ahead] = digest
        return Rewritten(wide[:, :k], True, cache=False)
    return Rewritten(np.hstack([value, a @ s[:, kk:]]), True, keep=True)


def _prefix_gram(op: str, top: str, pi: Item, ib: Item, b: Any, cache: LineageCache) -> Any:
    """``T(P) @ P`` or ``T(P) @ y`` for ``P = A @ B[:, :k]``: the corner (head) of the same product
    for the widest cached member of P's prefix family, computed and cached once for the family."""
    if pi.opcode not in MATMULS or len(pi.inputs) != 2:
        return MISS
    pre = _col_prefix(pi.inputs[1])
    if pre is None:
        return MISS
    family = _PREFIX.get((pi.opcode, pi.inputs[0].digest, pre[0].digest))
    k = pre[1]
    if not family:
        return MISS
    gram = ib.digest == pi.digest
    members = list(family.items())  # (other threads may add members meanwhile)
    wides = sorted(((kk, d) for kk, d in members if kk > k), reverse=True)
    for _kk, digest in wides:  # a cached product of a wider member?
        found = cache.peek(_mm(op, _t(top, digest), digest if gram else ib.digest))
        if found is not MISS:
            return Rewritten(found[:k, :k] if gram else found[:k], True, cache=False)
    for _kk, digest in wides:  # else compute it for the widest cached member
        wide = cache.peek(digest)
        if wide is MISS:
            continue
        key = _mm(op, _t(top, digest), digest if gram else ib.digest)
        t0 = perf_counter()
        value = wide.T @ (wide if gram else resolve(b))
        value = _keep(cache, key, value, perf_counter() - t0, max(pi.height, ib.height) + 2, force=True)
        return Rewritten(value[:k, :k] if gram else value[:k], False, cache=False)
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
    first = node_digest(item.opcode, [s[2][0].digest for s in stacks], item.literals)
    value = cache.peek(first)
    if value is MISS:
        return MISS
    args = tuple(resolve(x) for x in args)
    arrays = [x for x in args if isinstance(x, np.ndarray)]
    if not arrays or any(x.shape != arrays[0].shape or x.ndim != 2 for x in arrays):
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
