"""Partial reuse: compute a result cheaply from cached pieces (LIMA §5.2, SystemDS's
``LineageRewriteReuse``), as a table of named rules.

A rewrite never executes the hypothetical pieces it looks for: it computes their lineage hashes from
opcode + input hashes + literals (:func:`~mlcontext.lineage.digest.node_digest`) and probes the cache.
The values it needs of the *parts* of a stack (``X`` in ``hstack([X, dX])``) are the blocks the
stack was called with when it is deferred (:mod:`mlcontext.ops.deferred`: with partial reuse on, a
stack is not copied until something needs its elements), else views of its value, found from the
block sizes noted when the stack ran (:class:`RewriteState`).

Which operation is a stack, a transpose, a product, a slice or elementwise is read from the traits
the operation was registered with (:class:`~mlcontext.lineage.operations.Traits`), never from its
name. The rules of a family are tried in order (:data:`RULES`); each has a ``match`` that says
whether it applies (None: it does not) and a ``compute`` that returns a :class:`Rewritten` or
:data:`MISS` (the next rule is tried). ``Z`` is a stack of blocks, ``T`` a transpose, ``@`` a
product:

=====================================  =========================================================
``T(hstack[X, R]) @ hstack[X, R]``      ``[[X'X, X'R], [R'X, R'R]]``, each block cached on its own
                                        and found recursively when ``X`` is a stack itself (stepLM,
                                        HLM); ``T(hstack[X, R]) @ W`` is ``vstack[X'W, R'W]``
``T(vstack[B1..Bk]) @ vstack[C..]``     ``sum_j Bj'Cj``, each block product cached on its own (CV)
``T(vstack[B1..Bk]) @ W`` (deferred)    ``sum_j Bj' W[rows of j]``, without the stack's copy
``T(P) @ P``, ``T(P) @ y``              for ``P = A @ B[:, :k]``: the corner of the Gram (or the
                                        head of ``T(P') @ y``) of a wider cached member ``P'``
``vstack[X, R] @ Y``                    ``vstack[X@Y, R@Y]``
``hstack[X, R] @ W`` (deferred)         ``X @ W1 + R @ W2`` (no copy)
``X @ hstack[Y, R]``                    ``hstack[X@Y, X@R]``
``A @ B[:, :k]``                        a prefix of a cached ``A @ B[:, :k']`` (k' >= k) or of
                                        ``A @ B``, or the cached prefix extended: a sweep of k (PCA)
                                        grows the cached product geometrically, so it reads ``A``
                                        O(log k) times
``f(stack[X, R])`` (elementwise)        ``stack[f(X), f(R)]`` from a cached ``f(X)``
=====================================  =========================================================

Inside the block products, ``T(A) @ X[:, j:j+1]`` for a sweep over the columns of one matrix
``X`` (a forward selection trying each candidate column) is computed for a block of upcoming
columns at once, growing geometrically, so ``A`` is read O(log n) times instead of once per column.

On deferred stacks the block forms are used even when no piece is cached yet: computing by blocks
costs the same flops as computing on the stack, without its copy.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Any, NamedTuple

import numpy as np

from ..lineage.digest import node_digest
from ..lineage.item import DATA, Item
from ..lineage.leaves import describe as describe_constant
from ..lineage.literals import EMPTY_KWARGS, Literals, ref
from ..lineage.operations import ELEMENTWISE, OPERATIONS, PRODUCT, SLICE, STACK, TRANSPOSE, traits_of
from ..ops.deferred import Deferred, resolve
from ..ops.dispatch import verified_recipe
from .cache import MISS, LineageCache
from .freeze import freeze_array

__all__ = ["try_rewrite", "rewrite_family", "stack_plan", "Rewritten", "Rule", "RULES", "RewriteState",
           "STATE", "Call", "family_of"]

Clock = Callable[[], float]
# A stack item's (axis, sizes of its blocks along the axis, the blocks' items)
Stack = tuple[int, tuple[int, ...], list[Item]]

_LIT_R0 = ("T", (("T", (ref(0),)), EMPTY_KWARGS))
_LIT_R01 = ("T", (("T", (ref(0), ref(1))), EMPTY_KWARGS))
_LIT_R00 = ("T", (("T", (ref(0), ref(0))), EMPTY_KWARGS))
_NONE = ("n", None)
_ALL = ("S", (_NONE, _NONE, _NONE))
_MAX_DEPTH = 32  # nested stacks followed by the block rewrites (one level per appended column)


def family_of(opcode: str) -> str | None:
    """The shape family ``opcode`` was registered with (stack, transpose, product, ...)."""
    return traits_of(opcode).family


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


# -- what the rewrites remember of the traced program -------------------------------------------------

class RewriteState:
    """What the rewrites remember of the program that ran: the block sizes of stacks, the families of
    column-prefix products, and the matrices column prefixes were taken of. Bounded (oldest dropped
    first) and cleared by ``mc.reuse_clear()``."""

    # (a noted stack holds its block items, and so their lineage: fewer are kept than when only
    # sizes were, oldest dropped first; a dropped stack is computed whole if it comes again)
    META_MAX, PREFIX_MAX, SLICED_MAX = 20_000, 10_000, 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # digest of a stack item -> (axis, block sizes, the item noted, its block items or None
        # when a block is not traced), the blocks read once when the stack is noted: the rewrites
        # ask for them several times per call (a Gram of a stack of stacks walks it at every level)
        self.stack_meta: dict[bytes, tuple[int, tuple[int, ...], Item, list[Item] | None]] = {}
        # (product opcode, digest of A, digest of B) -> {k: digest of A @ B[:, :k]}; k = -1: A @ B
        self.prefix: dict[tuple[str, bytes, bytes], dict[int, bytes]] = {}
        # digest of B -> B's value, for the B[:, a:b] slices taken (prefix families and column
        # sweeps compute ahead from it)
        self.sliced: dict[bytes, weakref.ref] = {}
        # (product opcode, transpose opcode, digest of A, digest of B) -> the sweep of T(A) @ B[:, j]
        self.sweeps: dict[tuple[str, str, str, bytes, bytes], Sweep] = {}

    def clear(self) -> None:
        with self._lock:
            self.stack_meta.clear()
            self.prefix.clear()
            self.sliced.clear()
            self.sweeps.clear()

    def could_rewrite(self, family: str) -> bool:
        """Whether a rule of ``family`` could apply to what the program has shown so far: every
        product rule needs a noted stack, a column slice or a prefix family, and the elementwise
        rule a noted stack. A program without them (a chain of products and maps on whole arrays)
        skips the rules, whose code and tables, cold after a large BLAS call, cost ~17 µs a call."""
        if family == ELEMENTWISE:
            return bool(self.stack_meta)
        return bool(self.stack_meta or self.sliced or self.prefix)

    def note_stack(self, item: Item, axis: int, args: tuple) -> None:
        """Remember the blocks of a stack (called by the executor, on hits too)."""
        meta = self.stack_meta
        if len(meta) >= self.META_MAX:
            _drop_oldest(meta, self.META_MAX // 4)
        sizes = tuple(int(b.shape[axis]) for b in args[0])
        meta[item.digest] = (axis, sizes, item, _stack_blocks(item, len(sizes)))

    def stack(self, item: Item) -> Stack | None:
        """``(axis, sizes, block items)`` if ``item`` is a recorded stack of traced blocks.

        Only an item that is itself a stack: an item that stands for one (a step's output, whose
        hash is that of the lineage it stands for) is opaque, as its value is (computed, cached).
        The blocks are the item's own (another item of the same hash may have a stand-in among
        its blocks), read again only for an item other than the one noted."""
        if family_of(item.opcode) != STACK:
            return None
        meta = self.stack_meta.get(item.digest)
        if meta is None:
            return None
        axis, sizes, noted, blocks = meta
        if noted is not item:
            blocks = _stack_blocks(item, len(sizes))
        return None if blocks is None else (axis, sizes, blocks)

    def note_sliced(self, item: Item, args: tuple) -> None:
        """Remember ``B``'s value when ``B[:, a:b]`` is taken (called by the executor for slices)."""
        if len(args) != 2:
            return
        b, key = args[0], args[1]
        if not (type(b) is np.ndarray and b.ndim == 2 and type(key) is tuple and len(key) == 2
                and type(key[0]) is slice and key[0] == slice(None)  # (may be an index array)
                and type(key[1]) in (slice, int)):
            return
        sliced = self.sliced
        digest = item.inputs[0].digest
        known = sliced.get(digest)
        if known is not None and known() is b:
            return  # noted already (a sweep slices the same B once per candidate)
        if _col_range(item) is not None or _col_index(item) is not None:
            if len(sliced) >= self.SLICED_MAX:
                _drop_oldest(sliced, self.SLICED_MAX // 2)
            sliced[digest] = weakref.ref(b)

    def family(self, op: str, a: bytes, b: bytes) -> dict[int, bytes]:
        prefix = self.prefix
        if len(prefix) >= self.PREFIX_MAX:
            _drop_oldest(prefix, self.PREFIX_MAX // 2)
        return prefix.setdefault((op, a, b), {})

    def sweep(self, key: tuple[str, str, str, bytes, bytes]) -> Sweep:
        sweeps = self.sweeps
        found = sweeps.get(key)
        if found is None:
            if len(sweeps) >= self.PREFIX_MAX:
                _drop_oldest(sweeps, self.PREFIX_MAX // 2)
            found = sweeps[key] = Sweep()
        return found


class Sweep:
    """The products ``T(A) @ B[:, a:b]`` computed ahead for a sweep over the columns of ``B``:
    ``(a, b, digest)`` of each cached block, the width of the last one, how many columns were asked."""

    __slots__ = ("blocks", "width", "asked", "off")

    def __init__(self) -> None:
        self.blocks: list[tuple[int, int, bytes]] = []
        self.width, self.asked, self.off = 1, 0, False


def _drop_oldest(table: dict, n: int) -> None:
    for k in list(table)[:n]:  # (dicts keep insertion order)
        table.pop(k, None)


def _stack_blocks(item: Item, count: int) -> list[Item] | None:
    """The block items of a stack item of ``count`` blocks (None: a block is not a traced value,
    so the rewrites have no item to key its pieces by)."""
    seq = Literals(item.literals).arg(0)
    if seq[0] not in ("L", "T") or any(c[0] != "r" for c in seq[1]) or len(seq[1]) != count:
        return None
    return [item.inputs[c[1]] for c in seq[1]]


STATE = RewriteState()


# -- stacks ------------------------------------------------------------------------------------------

def stack_plan(opcode: str, args: tuple, kwargs: dict) -> tuple[int, tuple[int, ...], np.dtype] | None:
    """``(axis, shape, dtype)`` of a stack of 1-D or 2-D array blocks of the result's rank and of
    one dtype, else None (such stacks are neither deferred nor rewritten)."""
    if not args or (kwargs and (len(kwargs) > 1 or "axis" not in kwargs)):
        return None
    blocks = args[0]
    if (type(blocks) is not list and type(blocks) is not tuple) or not blocks:
        return None
    first = blocks[0]
    if type(first) is not np.ndarray and type(first) is not Deferred:
        return None
    ndim, dtype, shape = first.ndim, first.dtype, first.shape
    if ndim != 1 and ndim != 2:
        return None
    axis = _stack_axis(opcode, args, kwargs, ndim)
    if axis is None:
        return None
    across = 1 - axis  # (2-D blocks: the other axis, whose length all blocks must share)
    total = 0
    for b in blocks:  # one pass, on the hot path of every deferred stack
        t = type(b)
        if t is not np.ndarray and t is not Deferred:
            return None
        if b.ndim != ndim:
            return None  # 1-D blocks in a 2-D stack change shape: keep to blocks of the result's rank
        bt = b.dtype
        if bt is not dtype and bt != dtype:
            return None  # block products must be in the stack's own dtype (bool, int8 + float ...)
        bs = b.shape
        if ndim == 2 and bs[across] != shape[across]:
            return None
        total += bs[axis]
    out = list(shape)
    out[axis] = int(total)
    return axis, tuple(out), dtype


def _stack_axis(opcode: str, args: tuple, kwargs: dict, ndim: int) -> int | None:
    if opcode == "numpy.vstack":
        return None if ndim == 1 else 0
    if opcode in ("numpy.hstack", "numpy.column_stack"):
        if opcode == "numpy.column_stack" and ndim == 1:
            return None
        return 1 if ndim == 2 else 0
    if opcode == "numpy.block":  # a flat list of blocks: joined along their last axis
        return ndim - 1 if len(args) == 1 and not kwargs else None
    if opcode != "numpy.concatenate":
        return None  # a stack the plan does not know (its axis rule is not written here)
    axis = kwargs.get("axis", args[1] if len(args) > 1 else 0)
    if type(axis) is not int or not -ndim <= axis < ndim or len(args) > 2:
        return None
    return axis % ndim


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
    if item.literals == _LIT_R0 and family_of(item.opcode) == TRANSPOSE:
        return item.inputs[0]
    return None


def _col_range(item: Item) -> tuple[Item, int, int] | None:
    """``(B, a, b)`` if ``item`` is ``B[:, a:b]`` (``0 <= a < b``, Python ints, no step)."""
    if family_of(item.opcode) != SLICE:
        return None
    call = Literals(item.literals)
    pos = call.args
    if len(pos) != 2 or pos[0] != ("r", 0) or call.kwargs != EMPTY_KWARGS:
        return None
    key = pos[1]
    if key[0] != "T" or len(key[1]) != 2:
        return None
    full, cols = key[1]
    if full != _ALL or cols[0] != "S":
        return None
    start, stop, step = cols[1]
    if step != _NONE or stop[0] != "i" or type(stop[1]) is not int:
        return None
    if start == _NONE:
        a = 0
    elif start[0] == "i" and type(start[1]) is int:
        a = start[1]
    else:
        return None
    if not 0 <= a < stop[1]:
        return None
    return item.inputs[0], a, stop[1]


def _index_key(item: Item) -> Any:
    """The key node of ``x[key]`` (None: not a plain one-argument index)."""
    if family_of(item.opcode) != SLICE:
        return None
    call = Literals(item.literals)
    pos = call.args
    if len(pos) != 2 or pos[0] != ("r", 0) or call.kwargs != EMPTY_KWARGS:
        return None
    return pos[1]


def _col_index(item: Item) -> tuple[Item, int] | None:
    """``(B, j)`` if ``item`` is ``B[:, j]`` (``j >= 0`` a Python int)."""
    key = _index_key(item)
    if key is None or key[0] != "T" or len(key[1]) != 2 or key[1][0] != _ALL:
        return None
    j = key[1][1]
    return (item.inputs[0], j[1]) if j[0] == "i" and type(j[1]) is int and j[1] >= 0 else None


def _column(item: Item) -> tuple[Item, int, int] | None:
    """``(B, a, b)`` if ``item`` is the columns ``B[:, a:b]``, or ``B[:, j][:, None]`` (the
    column ``np.c_`` makes of a 1-D item: ``a, b = j, j + 1``).

    Read from the item's literals once: a column sweep asks it of the same few items at every
    candidate. Remembered by digest with the item it was read from, and read again for another
    item of that hash (a step's output standing for a slice, or for the 1-D column inside one, has
    the slice's hash but is opaque, as :meth:`RewriteState.stack` treats stand-ins for stacks)."""
    if family_of(item.opcode) != SLICE:
        return None
    digest = item.digest
    known = _COLUMNS.get(digest)
    if known is not None and known[0] is item:
        return known[1]
    if len(_COLUMNS) >= _COLUMNS_MAX:
        _COLUMNS.clear()
    found = _parse_column(item)
    _COLUMNS[digest] = (item, found)
    return found


# digest -> (the slice item read, its (B, a, b) or None); holds items: bounded lower than _DIGESTS
_COLUMNS: dict[bytes, tuple[Item, tuple[Item, int, int] | None]] = {}
_COLUMNS_MAX = 10_000


def _parse_column(item: Item) -> tuple[Item, int, int] | None:
    found = _col_range(item)
    if found is not None:
        return found
    key = _index_key(item)
    if key is None or key != ("T", (_ALL, _NONE)):
        return None
    inner = _col_index(item.inputs[0])
    return None if inner is None else (inner[0], inner[1], inner[1] + 1)


def _col_prefix(item: Item) -> tuple[Item, int] | None:
    """``(B, k)`` if ``item`` is ``B[:, :k]``."""
    found = _col_range(item)
    if found is None or found[1] != 0:
        return None
    return found[0], found[2]


# (opcode, digest a, digest b or None) -> the digest of ``a @ b`` (``T(a)``): the rewrites ask for
# the same few keys once per candidate of a sweep, and a lookup costs a seventh of a hash.
_DIGESTS: dict[tuple[str, bytes, bytes | None], bytes] = {}
_DIGESTS_MAX = 100_000


def _memo(key: tuple[str, bytes, bytes | None], digest: bytes) -> bytes:
    if len(_DIGESTS) >= _DIGESTS_MAX:
        _DIGESTS.clear()
    _DIGESTS[key] = digest
    return digest


def _mm(opcode: str, a: bytes, b: bytes) -> bytes:
    key = (opcode, a, b)
    found = _DIGESTS.get(key)
    if found is not None:
        return found
    if a == b:
        return _memo(key, node_digest(opcode, [a], _LIT_R00))
    return _memo(key, node_digest(opcode, [a, b], _LIT_R01))


def _t(opcode: str, a: bytes) -> bytes:
    key = (opcode, a, None)
    found = _DIGESTS.get(key)
    return found if found is not None else _memo(key, node_digest(opcode, [a], _LIT_R0))


def _prefix_digest(slice_op: str, b: bytes, k: int) -> bytes:
    """The digest ``B[:, :k]`` has when a traced program takes it."""
    key = ("T", (_ALL, ("S", (_NONE, ("i", k), _NONE))))
    return node_digest(slice_op, [b], ("T", (("T", (ref(0), key)), EMPTY_KWARGS)))


def _range_digest(slice_op: str, b: bytes, start: int, stop: int) -> bytes:
    """The digest ``B[:, start:stop]`` has when a traced program takes it."""
    key = ("T", (_ALL, ("S", (("i", start), ("i", stop), _NONE))))
    return node_digest(slice_op, [b], ("T", (("T", (ref(0), key)), EMPTY_KWARGS)))


def _slices(sizes: tuple[int, ...]) -> list[slice]:
    out, start = [], 0
    for n in sizes:
        out.append(slice(start, start + n))
        start += n
    return out


# -- one call the rules are tried on ----------------------------------------------------------------

class Call:
    """A traced call the rules are tried on, with the cache, the clock and the state they use.

    For products the guard fills ``a``, ``b`` (the two operands' values), ``ia``, ``ib`` (their
    items), ``inner`` (``X`` when ``ia`` is ``T(X)``) and ``zi`` (``X``'s stack, if it is one)."""

    __slots__ = ("item", "args", "kwargs", "cache", "clock", "state", "a", "b", "ia", "ib", "inner",
                 "zi")
    a: Any  # an array, or a Deferred stack
    b: Any
    ia: Item
    ib: Item
    inner: Item | None
    zi: Stack | None

    def __init__(self, item: Item, args: tuple, kwargs: dict, cache: LineageCache, clock: Clock,
                 state: RewriteState) -> None:
        self.item, self.args, self.kwargs = item, args, kwargs
        self.cache, self.clock, self.state = cache, clock, state

    def keep(self, key: bytes, value: np.ndarray, cost: float, height: int, *,
             force: bool = False) -> np.ndarray:
        """Cache a piece a rewrite computed under its own lineage hash (by the admission rule, or
        at once with ``force``: a piece that exists to be reused)."""
        cache = self.cache
        if cost < cache.config.min_compute_s:
            return value
        if not (force or cache.worth_admitting(key, cost, int(value.nbytes))):
            return value
        frozen = freeze_array(np.ascontiguousarray(value))
        cache.put(key, frozen, cost, int(frozen.nbytes), height)
        return frozen

    def cached(self, op: str, ia: Item, ib: Item) -> bool:
        return self.cache.peek(_mm(op, ia.digest, ib.digest)) is not MISS

    def product(self, op: str, ia: Item, a: Any, ib: Item, b: Any) -> tuple[Any, bool]:
        """``A @ B`` from the cache, or computed and cached as a piece."""
        key = _mm(op, ia.digest, ib.digest)
        value = self.cache.peek(key)
        if value is not MISS:
            return value, True
        t0 = self.clock()
        value = resolve(a) @ resolve(b)
        return self.keep(key, value, self.clock() - t0, max(ia.height, ib.height) + 1), False


def _is_array(x: Any) -> bool:
    return type(x) is np.ndarray or type(x) is Deferred


def _pending(value: Any) -> bool:
    return type(value) is Deferred and value.call is not None


# The dtypes whose products are computed block by block (by type number: byte order aside). Those
# NumPy multiplies with BLAS (float32, float64, complex64, complex128), whose kernels sum in blocks of
# their own, so the block forms differ from NumPy's by a few units in the last place; and integers and
# bool, whose sums wrap (int64 overflow, int8 products) or saturate (bool) alike in any order and any
# grouping: exact. Not the dtypes NumPy multiplies with a loop of its own, where a block form would
# change how the sums accumulate: float16 (NumPy's matmul sums in float32, an einsum or a sum of
# float16 blocks in float16: a candidate's squared norm came out 2.9 % off, a newcomer's finding),
# longdouble and clongdouble (no BLAS: NumPy's own summation order is the result), object (Python
# arithmetic: a sum of floats in another order rounds otherwise, and elements may be anything), and
# other packages' dtypes (bfloat16). Their products are computed as NumPy computes them.
_BLOCKWISE = frozenset(np.dtype(c).num for c in "fdFD?bBhHiIlLqQ")


def _product_guard(c: Call) -> bool:
    """A product of a 2-D array by a 1-D or 2-D array of matching shapes (else NumPy's own path
    raises its own error: block slices would hide it), both of dtypes in :data:`_BLOCKWISE`."""
    if c.kwargs or len(c.args) != 2:
        return False
    a, b = c.args
    if not (_is_array(a) and _is_array(b) and a.ndim == 2 and b.ndim in (1, 2)):
        return False
    if a.shape[1] != b.shape[0] or a.dtype.num not in _BLOCKWISE or b.dtype.num not in _BLOCKWISE:
        return False
    item = c.item
    c.a, c.b = a, b
    c.ia, c.ib = (item.inputs[0], item.inputs[0]) if len(item.inputs) == 1 else item.inputs
    c.inner = _transposed(c.ia)
    c.zi = c.state.stack(c.inner) if c.inner is not None else None
    return True


def _elementwise_guard(c: Call) -> bool:
    return not c.kwargs


class Rule(NamedTuple):
    """A named rewrite: ``match(call)`` (None: does not apply), then ``compute(call, match)``
    (a :class:`Rewritten`, or :data:`MISS` to try the next rule)."""

    name: str
    match: Callable[[Call], Any]
    compute: Callable[[Call, Any], Any]


def _gather(results: Iterable[tuple[Any, bool]]) -> tuple[list[Any], bool]:
    """The block results of a rewrite, and whether any of them came from the cache."""
    parts, reused = [], False
    for part, hit in results:
        parts.append(part)
        reused |= hit
    return parts, reused


# -- product rules -----------------------------------------------------------------------------------

def _match_tcols(c: Call) -> Any:
    z, inner = c.zi, c.inner
    return inner if z is not None and inner is not None and z[0] == 1 else None


def _tcols(c: Call, inner: Item) -> Rewritten:
    value, reused = _tprod(c, c.item.opcode, c.ia.opcode, inner, _untranspose(c.a), c.ib, c.b, 0)
    return Rewritten(value, reused)


def _tprod(c: Call, op: str, top: str, xi: Item, xv: Any, wi: Item, wv: Any,
           depth: int) -> tuple[Any, bool]:
    """``T(X) @ W`` from cached pieces, splitting ``X`` (then ``W``) into its column blocks when it
    is a stack; pieces computed on the way are cached, the Gram of a nested stack too (the base of
    a forward selection after its first step: each candidate of the next step needs it). ``depth``
    0 is the traced call itself (the executor caches its result)."""
    gram = xi.digest == wi.digest
    key = b""
    if depth:
        key = _mm(op, _t(top, xi.digest), wi.digest)
        found = c.cache.peek(key)
        if found is not MISS:
            return found, True
    t0 = c.clock()
    split = _split(c, op, top, xi, xv, wi, wv, depth, gram) if depth < _MAX_DEPTH else None
    if split is not None:
        if depth:
            height = max(xi.height + 1, wi.height) + 1
            return c.keep(key, split[0], c.clock() - t0, height), split[1]
        return split
    if depth:
        swept = _swept(c, op, top, xi, xv, wi, wv)
        if swept is not None:
            return swept
        t0 = c.clock()
    value = _ones_product(xi, xv, wi, wv) if not gram else None
    if value is None:
        value = _t_times(resolve(xv), None if gram else resolve(wv))
    if depth:
        value = c.keep(key, value, c.clock() - t0, max(xi.height + 1, wi.height) + 1)
    return value, False


def _split(c: Call, op: str, top: str, xi: Item, xv: Any, wi: Item, wv: Any, depth: int,
           gram: bool) -> tuple[Any, bool] | None:
    """``T(X) @ W`` block by block when ``X`` (else ``W``) is a column stack; None otherwise."""
    z = c.state.stack(xi)
    if z is not None and z[0] == 1:
        items, values = z[2], _block_values(z, xv)
        if gram:
            return _block_gram(c, op, top, items, values, depth)
        parts, reused = _gather(_tprod(c, op, top, bi, bv, wi, wv, depth + 1)
                                for bi, bv in zip(items, values, strict=True))
        return np.concatenate(parts, axis=0), reused
    zw = c.state.stack(wi) if not gram and wv.ndim == 2 else None
    if zw is not None and zw[0] == 1:
        parts, reused = _gather(_tprod(c, op, top, xi, xv, bi, bv, depth + 1)
                                for bi, bv in zip(zw[2], _block_values(zw, wv), strict=True))
        return np.hstack(parts), reused
    return None


def _ones_product(xi: Item, xv: Any, wi: Item, wv: Any) -> np.ndarray | None:
    """``T(X) @ 1`` or ``T(1) @ W`` for a column of ones (an intercept, ``np.ones((n, 1))``
    stacked beside the data) as column sums: one pass over ``X`` where a product by a one-column
    matrix takes BLAS's transposed path at half the speed. Known by the recipe its leaf records,
    without reading the ones. None: not such a product."""
    if _is_ones_column(wi, wv) and xv.dtype == wv.dtype and xv.ndim == 2:
        return resolve(xv).sum(axis=0)[:, None]
    if _is_ones_column(xi, xv) and xv.dtype == wv.dtype:
        return resolve(wv).sum(axis=0, keepdims=True)
    return None


_ONES: dict[np.dtype, Any] = {}


def _is_ones_column(item: Item, value: Any) -> bool:
    if item.opcode != DATA or value.ndim != 2 or value.shape[1] != 1 or value.dtype.kind != "f":
        return False
    recipe = verified_recipe(item)  # (not a log's claim: one this process matched to the bytes)
    if recipe is None:
        return False
    ones = _ONES.get(value.dtype)
    if ones is None:
        ones = _ONES[value.dtype] = describe_constant(np.ones((2, 1), value.dtype))
    return recipe == ones


def _t_times(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """``x.T @ w`` (``x.T @ x`` for None). A tall ``x`` by a few columns ``w`` is computed as
    ``(w.T @ x).T``: OpenBLAS runs the transposed-A product of a tall matrix by a narrow one many
    times slower (k-fold for 2..16 columns, measured)."""
    if w is None:
        return x.T @ x
    if w.ndim == 2 and 1 < w.shape[1] and x.shape[0] > 4 * x.shape[1]:
        return (w.T @ x).T
    return x.T @ w


# The squares of the columns of B[:, a:b], summed (the diagonal of its Gram): a piece the column
# sweep caches under this opcode, which no traced operation has.
_COLUMN_SQUARES = "mlcontext.reuse.column_squares"
_SWEEP_FIRST, _SWEEP_GROWTH = 32, 4


def _swept(c: Call, op: str, top: str, xi: Item, xv: Any, wi: Item, wv: Any) -> tuple[Any, bool] | None:
    """``T(X) @ B[:, j:j+1]``, ``T(B[:, j:j+1]) @ B[:, j:j+1]`` or ``T(B[:, j:j+1]) @ W`` when the
    columns of one ``B`` are tried one after another (a forward selection appending each candidate):
    from the second column asked on, the product (the squared norms) is computed for a block of
    upcoming columns at once (32 wide, then 4 times wider each time, as far as ``B`` goes) and
    cached, so ``X`` (``W``) is read O(log n) times instead of once per candidate. None: not such a
    call."""
    found = _column(wi)
    if found is not None:
        mode = "gram" if xi.digest == wi.digest else "right"
        if mode == "gram" and found[2] - found[1] != 1:
            return None
        other, column = (b"" if mode == "gram" else xi.digest), wi
    else:
        found = _column(xi)
        if found is None:
            return None
        mode, other, column = "left", wi.digest, xi
    bi, a, b = found
    sweep = c.state.sweep((op, top, mode, other, bi.digest))
    if sweep.off:
        return None
    for start, stop, digest in reversed(sweep.blocks):
        if start <= a and b <= stop:
            value = c.cache.peek(digest)
            if value is not MISS:
                return _part(mode, value, a - start, b - start), True
    sweep.asked += 1
    ref_b = c.state.sliced.get(bi.digest) if sweep.asked > 1 else None
    whole = ref_b() if ref_b is not None else None
    if whole is None or b > whole.shape[1]:
        # The first column asked (or B's value unknown): computed on its own. So is a slice past
        # B's last column (``B[:, p:p+1]`` of a p-column B, an off-by-one candidate): it is empty,
        # and its Gram is 0 x 0, not the 1 x 0 row of squared norms a sweep block would give.
        return None
    width = _SWEEP_FIRST if not sweep.blocks else _SWEEP_GROWTH * sweep.width
    stop = min(a + max(width, b - a), whole.shape[1])
    sweep.width = stop - a
    block = whole[:, a:stop]
    t0 = c.clock()
    range_digest = _range_digest(column.opcode, bi.digest, a, stop)
    if mode == "gram":
        value = np.einsum("ij,ij->j", block, block)[None, :]
        digest = node_digest(_COLUMN_SQUARES, [range_digest], _LIT_R0)
    elif mode == "right":
        value = _t_times(resolve(xv), block)
        digest = _mm(op, _t(top, xi.digest), range_digest)
    else:
        value = block.T @ resolve(wv)
        digest = _mm(op, _t(top, range_digest), wi.digest)
    value = c.keep(digest, value, c.clock() - t0, max(xi.height, wi.height) + 2, force=True)
    if c.cache.peek(digest) is MISS:
        sweep.off = True  # too cheap to cache: computing ahead would only add work
    else:
        sweep.blocks.append((a, stop, digest))
    return _part(mode, value, 0, b - a), False


def _part(mode: str, value: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The columns (rows, for ``T(B[:, j]) @ W``) of a swept block that one call asked for."""
    return value[lo:hi] if mode == "left" else value[:, lo:hi]


def _block_gram(c: Call, op: str, top: str, items: list[Item], values: list[Any],
                depth: int) -> tuple[Any, bool]:
    """``T(Z) @ Z`` for a column stack ``Z``: the upper blocks, mirrored, written into one array
    (what ``np.block`` gives, without its Python-level shape analysis on every candidate)."""
    m = len(items)
    parts: dict[tuple[int, int], np.ndarray] = {}
    reused = False
    for i in range(m):
        for j in range(i, m):
            part, hit = _tprod(c, op, top, items[i], values[i], items[j], values[j], depth + 1)
            parts[i, j] = part
            reused |= hit
    cuts = _slices(tuple(int(parts[i, i].shape[0]) for i in range(m)))
    n = cuts[-1].stop
    out = np.empty((n, n), dtype=np.result_type(*parts.values()))
    for (i, j), part in parts.items():
        out[cuts[i], cuts[j]] = part
        if i != j:
            out[cuts[j], cuts[i]] = part.T
    return out, reused


def _match_trows(c: Call) -> Any:
    z, inner = c.zi, c.inner
    if z is None or inner is None or z[0] != 0:
        return None
    w = z if inner.digest == c.ib.digest else c.state.stack(c.ib)
    return (z, w) if w is not None and w[0] == 0 and w[1] == z[1] else None


def _trows(c: Call, found: tuple[Stack, Stack]) -> Rewritten:
    """T(vstack[B1..Bk]) @ vstack[C1..Ck] = sum_j Bj' Cj; each product is cached on its own, so
    other folds of a cross validation find them."""
    (z, w), op, top = found, c.item.opcode, c.ia.opcode
    total = None
    reused = False
    zblocks = _block_values(z, _untranspose(c.a))
    wblocks = zblocks if w is z else _block_values(w, c.b)
    for bj, cj, bv, cv in zip(z[2], w[2], zblocks, wblocks, strict=True):
        part, hit = _tprod(c, op, top, bj, bv, cj, cv, 1)
        reused |= hit
        total = np.array(part, copy=True) if total is None else total.__iadd__(part)
    return Rewritten(total, reused)


def _match_trows_pending(c: Call) -> Any:
    z = c.zi
    if z is None or z[0] != 0:
        return None
    zv = _untranspose(c.a)
    return (z, zv) if _pending(zv) else None


def _trows_pending(c: Call, found: tuple[Stack, Any]) -> Rewritten:
    z, zv = found
    return _block_sum(z, zv, c.b, transposed=True)


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


def _match_prefix_gram(c: Call) -> Any:
    pi = c.inner
    if pi is None or family_of(pi.opcode) != PRODUCT or len(pi.inputs) != 2:
        return None
    pre = _col_prefix(pi.inputs[1])
    if pre is None:
        return None
    family = c.state.prefix.get((pi.opcode, pi.inputs[0].digest, pre[0].digest))
    return (pi, family, pre[1]) if family else None


def _prefix_gram(c: Call, found: tuple[Item, dict[int, bytes], int]) -> Any:
    """``T(P) @ P`` or ``T(P) @ y`` for ``P = A @ B[:, :k]``: the corner (head) of the same product
    for the widest cached member of P's prefix family, computed and cached once for the family."""
    pi, family, k = found
    op, top, ib, cache = c.item.opcode, c.ia.opcode, c.ib, c.cache
    gram = ib.digest == pi.digest
    members = list(family.items())  # (other threads may add members meanwhile)
    wides = sorted(((kk, d) for kk, d in members if kk > k), reverse=True)
    for _kk, digest in wides:  # a cached product of a wider member?
        hit = cache.peek(_mm(op, _t(top, digest), digest if gram else ib.digest))
        if hit is not MISS:
            return Rewritten(hit[:k, :k] if gram else hit[:k], True, cache=False)
    for _kk, digest in wides:  # else compute it for the widest cached member
        wide = cache.peek(digest)
        if wide is MISS:
            continue
        key = _mm(op, _t(top, digest), digest if gram else ib.digest)
        t0 = c.clock()
        value = wide.T @ (wide if gram else resolve(c.b))
        value = c.keep(key, value, c.clock() - t0, max(pi.height, ib.height) + 2, force=True)
        return Rewritten(value[:k, :k] if gram else value[:k], False, cache=False)
    return MISS


def _match_rows(c: Call) -> Any:
    z = c.state.stack(c.ia)
    if z is None or z[0] != 0:
        return None
    return z if type(c.a) is Deferred or c.cached(c.item.opcode, z[2][0], c.ib) else None


def _rows(c: Call, z: tuple) -> Rewritten:
    op = c.item.opcode
    parts, reused = _gather(c.product(op, bi, bv, c.ib, c.b)
                            for bi, bv in zip(z[2], _block_values(z, c.a), strict=True))
    return Rewritten(np.concatenate(parts, axis=0), reused)


def _match_cols_pending(c: Call) -> Any:
    z = c.state.stack(c.ia)
    return z if z is not None and z[0] == 1 and _pending(c.a) else None


def _cols_pending(c: Call, z: tuple) -> Rewritten:
    return _block_sum(z, c.a, c.b, transposed=False)


def _match_right_cols(c: Call) -> Any:
    z = c.state.stack(c.ib) if c.b.ndim == 2 else None
    if z is None or z[0] != 1:
        return None
    return z if type(c.b) is Deferred or c.cached(c.item.opcode, c.ia, z[2][0]) else None


def _right_cols(c: Call, z: tuple) -> Rewritten:
    op = c.item.opcode
    parts, reused = _gather(c.product(op, c.ia, c.a, bi, bv)
                            for bi, bv in zip(z[2], _block_values(z, c.b), strict=True))
    return Rewritten(np.hstack(parts), reused)


def _match_col_prefix(c: Call) -> Any:
    return _col_prefix(c.ib) if c.b.ndim == 2 else None


def _prefix_matmul(c: Call, pre: tuple[Item, int]) -> Rewritten:
    """``A @ B[:, :k]`` from a cached member of its prefix family, or extended from a narrower one."""
    bi, k = pre
    op, ia, cache = c.item.opcode, c.ia, c.cache
    family = c.state.family(op, ia.digest, bi.digest)
    family[k] = c.item.digest
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
    return _extend_prefix(c, family, bi, k, best_below)


def _extend_prefix(c: Call, family: dict[int, bytes], bi: Item, k: int,
                   below: tuple[int, np.ndarray]) -> Rewritten:
    """A sweep of k upwards: extend the cached prefix, and compute ahead (twice the columns asked,
    as far as B goes) so the next few k are prefixes: the sweep reads A O(log k) times, not once
    per k. The wider product is cached under the lineage hash of A @ B[:, :ahead]."""
    kk, value = below
    a, s = resolve(c.a), resolve(c.b)
    ref_b = c.state.sliced.get(bi.digest)
    b = ref_b() if ref_b is not None else None
    if b is not None and (ahead := min(2 * k, b.shape[1])) > k:
        t0 = c.clock()
        wide = np.hstack([value, a @ b[:, kk:ahead]])
        op, slice_op = c.item.opcode, c.ib.opcode
        digest = _mm(op, c.ia.digest, _prefix_digest(slice_op, bi.digest, ahead))
        wide = c.keep(digest, wide, c.clock() - t0, c.item.height, force=True)
        family[ahead] = digest
        return Rewritten(wide[:, :k], True, cache=False)
    return Rewritten(np.hstack([value, a @ s[:, kk:]]), True, keep=True)


# -- elementwise over stacks -------------------------------------------------------------------------

def _match_stacked(c: Call) -> Any:
    found = [c.state.stack(i) for i in c.item.inputs]
    stacks = [s for s in found if s is not None]
    if not found or len(stacks) < len(found):
        return None
    axis, sizes = stacks[0][0], stacks[0][1]
    if any(s[0] != axis or s[1] != sizes for s in stacks):
        return None
    first = node_digest(c.item.opcode, [s[2][0].digest for s in stacks], c.item.literals)
    value = c.cache.peek(first)
    return None if value is MISS else (axis, sizes, value)


def _stacked(c: Call, found: tuple) -> Any:
    axis, sizes, value = found
    args = tuple(resolve(x) for x in c.args)
    arrays = [x for x in args if isinstance(x, np.ndarray)]
    if not arrays or any(x.shape != arrays[0].shape or x.ndim != 2 for x in arrays):
        return MISS
    p = sizes[0]
    cut = (slice(None), slice(p, None)) if axis == 1 else (slice(p, None),)
    rest_args = tuple(x[cut] if isinstance(x, np.ndarray) else x for x in args)
    fn = OPERATIONS[c.item.opcode].fn
    return Rewritten(np.concatenate([value, fn(*rest_args)], axis=axis), True)


# -- the table ---------------------------------------------------------------------------------------

PRODUCT_RULES = (
    Rule("T(column stack) @ W, block by block", _match_tcols, _tcols),
    Rule("T(row stack) @ row stack, fold by fold", _match_trows, _trows),
    Rule("T(deferred row stack) @ W, without the stack", _match_trows_pending, _trows_pending),
    Rule("T(P) @ P for a column prefix P, from a wider member", _match_prefix_gram, _prefix_gram),
    Rule("row stack @ W, block by block", _match_rows, _rows),
    Rule("deferred column stack @ W, without the stack", _match_cols_pending, _cols_pending),
    Rule("A @ column stack, block by block", _match_right_cols, _right_cols),
    Rule("A @ B[:, :k] from its prefix family", _match_col_prefix, _prefix_matmul),
)
ELEMENTWISE_RULES = (
    Rule("f(stack) from a cached f(first block)", _match_stacked, _stacked),
)
# family -> (guard every rule of the family needs, the rules in the order they are tried)
RULES: dict[str, tuple[Callable[[Call], bool], tuple[Rule, ...]]] = {
    PRODUCT: (_product_guard, PRODUCT_RULES),
    ELEMENTWISE: (_elementwise_guard, ELEMENTWISE_RULES),
}


def try_rewrite(item: Item, args: tuple, kwargs: dict, cache: LineageCache, *,
                clock: Clock = perf_counter, state: RewriteState = STATE) -> Any:
    """A :class:`Rewritten` result from the first rule of the call's family that gives one, or
    :data:`MISS`."""
    return rewrite_family(family_of(item.opcode), item, args, kwargs, cache, clock, state)


def rewrite_family(family: str | None, item: Item, args: tuple, kwargs: dict, cache: LineageCache,
                   clock: Clock, state: RewriteState) -> Any:
    """:func:`try_rewrite` for a caller that has the operation's registered family at hand (the
    executor: no lookup of the traits by opcode on every miss)."""
    if family is None:
        return MISS
    found_rules = RULES.get(family)
    if found_rules is None or not state.could_rewrite(family):
        return MISS
    guard, rules = found_rules
    call = Call(item, args, kwargs, cache, clock, state)
    if not guard(call):
        return MISS
    for rule in rules:
        found = rule.match(call)
        if found is not None:
            result = rule.compute(call, found)
            if result is not MISS:
                return result
    return MISS
