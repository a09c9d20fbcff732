"""The executor the reuse layer installs in the dispatcher: probe, rewrite, compute, admit.

``mlcontext.ops.dispatch`` runs every traced operation through one executor (``set_executor``); this
one probes the cache by the item's lineage hash, leaves stacks uncomputed (deferred) under partial
reuse, tries the partial-reuse rewrites on a miss, and otherwise computes the value, timing it, and
admits it if it is worth keeping: at once when its operation's cost class says so
(:data:`~mlcontext.lineage.operations.AT_ONCE`: factorisations and solves, pandas operations) or it
is expensive for its size, else when its lineage hash comes round again (delayed admission). Calls
on plain arrays that keep proving cheaper than a probe stop being probed. What it does with an
operation follows the traits the operation was registered with
(:class:`~mlcontext.lineage.operations.Traits`: non-deterministic ones are never probed, stacks and
transposes are deferred, slices are noted for the rewrites), and costs are read from an injected
clock (``clock=``; tests pass a fake one).

Mutation safety (:mod:`.freeze`): a cached value is made read-only before anyone sees it (the array
itself when it owns its memory, else a read-only view), and a result that may share memory with an
argument is copied before it is cached, so writing into a plain array later can never change a cached value.
Traced arrays never write into their values (``__setitem__``, ``out=`` and in-place operations make
new versions), so the read-only flag is never in their way.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np

from ..lineage import nondeterminism
from ..lineage.item import DATA, Item
from ..lineage.leaves import build as build_constant
from ..lineage.literals import Literals
from ..lineage.operations import AT_ONCE, PRODUCT, SLICE, STACK, TRANSPOSE, Operation
from ..ops.deferred import LIVE, Deferred, resolve_args
from ..ops.dispatch import execute, is_held, verified_recipe
from .aliasing import blas_product, hand_out, hand_out_parts, held_elsewhere, one_evaluation, unaliased
from .cache import MISS, LineageCache, exact_key
from .errormodes import errors_checked
from .freeze import FREEZERS, freeze, freeze_array, freeze_other, register_freezer, value_size
from .rewrites import STATE, RewriteState, Rewritten, rewrite_family, stack_plan

__all__ = ["ReuseExecutor", "freeze_array", "FREEZERS", "register_freezer", "Rewritten", "Clock"]

Clock = Callable[[], float]


class ReuseExecutor:
    """Full and partial reuse of traced operations through a :class:`LineageCache`."""

    def __init__(self, cache: LineageCache, partial: bool, *, clock: Clock = perf_counter,
                 state: RewriteState = STATE, exact: bool = False) -> None:
        if exact and partial:
            raise ValueError("the exact policy runs no partial-reuse rewrites")
        self.cache = cache
        self.partial = partial
        # Keys in the exact policy's namespace (cache.exact_key): entries made under another
        # policy may come from the rewrites, which round differently, and are never served here.
        self.key_of = exact_key if exact else _same
        # The cost model's clock: what an operation cost decides admission and cheapness. Tests
        # inject a fake clock so what is cached does not depend on the machine's speed.
        self.clock = clock
        self.state = state
        # call signature (opcode, argument shapes; see _signature) -> how many times in a row it ran
        # in under min_compute_s (never admitted: its probe can only miss); from CHEAP_AFTER on it
        # runs without a probe, re-checked every RECHECK_EVERY calls. One slower run resets it.
        self._cheap: dict[tuple, int] = {}

    def __call__(self, op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
        traits = op.traits
        if not traits.deterministic:
            return execute(op, item, args, kwargs)
        family = traits.family
        if family == TRANSPOSE:
            return self._transpose(op, item, args, kwargs)
        if family == STACK and self.partial:
            # Left deferred without a probe: under partial reuse a stack's value is never cached
            # (what reads it is rewritten block by block, or computes it), so a probe could only
            # miss; a stack that cannot be deferred goes on as any other operation.
            deferred = self._defer(op, item, args, kwargs)
            if deferred is not None:
                return self._counted_deferral(op, item, deferred)
        opcode = op.opcode
        sig = _signature(opcode, family, args, kwargs)
        if sig is not None:
            runs = self._cheap.get(sig, 0)
            if runs >= CHEAP_AFTER:
                self._cheap[sig] = runs = runs + 1
                if runs % RECHECK_EVERY:
                    return self._run_unprobed(op, item, args, kwargs)
        cache = self.cache
        key = self.key_of(item.digest)
        if not self.partial and blas_product(op) and one_evaluation(args):
            # A product of one evaluation with itself (NumPy's syrk for A.T @ A) rounds otherwise than
            # the same lineage on two buffers: bit-exact reuse keeps the two apart (see .aliasing).
            key += _ONE_EVALUATION
        value, placeholder = cache.reserve(key)
        if value is not MISS and errors_checked():
            # Under np.errstate(..., "raise"/"call"/"log") the computation itself is what the code
            # asks for (a FloatingPointError, a callback): a cached value would skip it.
            return execute(op, item, args, kwargs)
        if value is not MISS:
            cache.counters.hits += 1
            if cache.events.enabled:
                cache.events.add("reused", opcode, key)
            if traits.family == STACK:
                plan = stack_plan(opcode, args, kwargs)
                if plan is not None:
                    self.state.note_stack(item, plan[0], args)
            if type(value) is np.ndarray and held_elsewhere(value):
                return hand_out(value)  # a second evaluation: a buffer of its own to NumPy (.aliasing)
            if isinstance(value, tuple):
                return hand_out_parts(value)  # (eigh's, svd's outputs: each the same way)
            return value
        try:
            value = self._compute(op, item, key, args, kwargs, sig)
        except BaseException:
            cache.abandon(key, placeholder)
            raise
        cache.fulfil(key, placeholder)
        return value

    def _run_unprobed(self, op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
        # A cheap operation: computed as usual, not looked up or cached (its item's hash is not even
        # computed unless the event log needs it).
        cache = self.cache
        cache.counters.misses += 1
        if cache.events.enabled:
            cache.events.add("computed", op.opcode, item.digest)
        if self.partial and op.traits.family == SLICE:
            self.state.note_sliced(item, args)
        # (only calls on plain arrays and scalars get here: nothing deferred to compute first)
        if blas_product(op):
            args = unaliased(args)
        return op.fn(*args, **kwargs) if kwargs else op.fn(*args)

    def _transpose(self, op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
        """A transpose, never probed: it is a view of its argument (or, of a deferred one, left
        deferred), and views are never cached (they would pin their base's memory), so a probe
        could only miss."""
        if self.partial:
            deferred = self._defer(op, item, args, kwargs)
            if deferred is not None:
                return self._counted_deferral(op, item, deferred)
        return self.uncached(op, item, args, kwargs)

    def _counted_deferral(self, op: Operation, item: Item, deferred: Deferred) -> Deferred:
        cache = self.cache
        cache.counters.deferred += 1
        if cache.events.enabled:
            cache.events.add("deferred", op.opcode, item.digest)
        return deferred

    def _admit_inputs(self, item: Item, args: tuple, cost: float) -> None:
        """Cache the inputs of a cached value that were computed once and left out as cheap, when
        the value cost more to compute than they did: when its lineage comes round again they are
        computed before the cached value can be found (NumPy evaluates eagerly), so keeping them
        saves that second computation (PCA's centred matrix feeding its covariance). A cheap
        consumer (a final ``sum``) is no sign that the pipeline will run again: its inputs stay out."""
        cache = self.cache
        call = Literals(item.literals)
        refs = call.args if call.is_call else ()
        for node, value in zip(refs, args, strict=False):
            if node[0] != "r" or type(value) is not np.ndarray or value.base is not None \
                    or value.dtype.hasobject:
                continue  # (views are never cached: they would pin their base)
            source = item.inputs[node[1]]
            key = self.key_of(source.digest)
            own = cache.seen_once(key, at_most=cost)
            if own is not None:
                value.flags.writeable = False  # a traced value: nothing writes into it
                cache.put(key, value, own, int(value.nbytes), source.height)

    def uncached(self, op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
        """Run an operation that must not be reused (its lineage does not determine its result):
        counted and logged as computed, never probed or admitted."""
        cache = self.cache
        cache.counters.misses += 1
        if cache.events.enabled:
            cache.events.add("computed", op.opcode, item.digest)
        return execute(op, item, args, kwargs)

    def _defer(self, op: Operation, item: Item, args: tuple, kwargs: dict) -> Deferred | None:
        """A stack, or the transpose of a deferred value, left uncomputed (see ``ops.deferred``)."""
        opcode = op.opcode
        if op.traits.family == STACK:
            plan = stack_plan(opcode, args, kwargs)
            if plan is None:
                return None
            self.state.note_stack(item, plan[0], args)
            return Deferred(op.fn, _owned_blocks(item, args), kwargs, plan[1], plan[2], stack=True)
        if len(args) == 1 and not kwargs:
            inner = args[0]
            if type(inner) is Deferred and not inner.computed and inner.ndim == 2:
                return Deferred(np.transpose, (inner,), {}, inner.shape[::-1], inner.dtype)
        return None

    def _compute(self, op: Operation, item: Item, key: bytes, args: tuple, kwargs: dict,
                 sig: tuple | None) -> Any:
        cache, clock = self.cache, self.clock
        opcode = op.opcode
        family = op.traits.family
        if self.partial and family == SLICE:  # (stacks to defer and transposes never get here)
            self.state.note_sliced(item, args)
        t0 = clock()
        rewritten = rewrite_family(family, item, args, kwargs, cache, clock, self.state) \
            if self.partial and not errors_checked() else MISS  # (cached pieces would skip the errors)
        keep, determined = False, True
        if rewritten is MISS or rewritten.value is MISS:
            keep = rewritten is not MISS and rewritten.keep
            if LIVE[0]:
                args, kwargs = resolve_args(args), resolve_args(kwargs)
            if blas_product(op):
                args = unaliased(args)  # two evaluations of one cached value: two buffers, as plain
            if _calls_user_code(args, kwargs):
                # apply/map/agg/pipe with a Python function: its code may draw from the global
                # random generators or read a file, which no key describes (as for @mc.step).
                value, determined = nondeterminism.run_watched(op.fn, *args, **kwargs)
            else:
                value = op.fn(*args, **kwargs)
            kind = "computed"
        else:
            value, keep = rewritten.value, rewritten.keep
            kind = "partial" if rewritten.reused else "computed"
            if family == PRODUCT and not rewritten.cache and type(value) is np.ndarray \
                    and value.strides != _c_strides(value):
                # A view of a wider cached product (a column prefix, the corner of a Gram): NumPy's
                # product is C-ordered, and code may rely on it (ctypes, sums that round by layout).
                # Its elements are copied into C order when first read; the rewrites that consume it
                # (P.T @ P from its lineage) never read them.
                value = Deferred(_c_copy, (value,), {}, value.shape, value.dtype)
        cost = clock() - t0
        if kind == "partial":
            cache.counters.partial_hits += 1
        else:
            cache.counters.misses += 1
        if cache.events.enabled:
            cache.events.add(kind, opcode, key)
        if not determined:
            return value  # never admitted: the next call draws (or reads) again
        min_s = cache.config.min_compute_s
        if cost < min_s:
            if sig is not None and rewritten is MISS:
                cheap = self._cheap
                if len(cheap) >= _CHEAP_MAX:
                    cheap.clear()
                cheap[sig] = cheap.get(sig, 0) + 1
            return value
        if sig is not None:
            self._cheap[sig] = 0  # expensive: probed again until it shows itself cheap again
        if rewritten is not MISS and not rewritten.cache:
            return value
        size = value_size(value) if type(value) is np.ndarray or isinstance(value, np.generic | tuple) \
            else None
        if size is not None:
            # A factorisation or solve is kept at once: its cost per byte of output cannot tell it
            # from an elementwise map (an SVD of 10,000 x 100 costs ~5 ns/byte, tanh ~1 ns/byte),
            # and computing it twice before delayed admission keeps it costs the most of all. So is
            # the array a pandas operation gives (a frame's to_numpy), as its frames are.
            if not (keep or op.traits.cost in AT_ONCE or cache.worth_admitting(key, cost, size)):
                return value
            frozen = freeze(value, args)
            if frozen is not None and cache.put(key, frozen, cost, size, item.height):
                self._admit_inputs(item, args, cost)
                return frozen
            return value
        # Frames and fitted estimators come from coarse operations (a pandas method, a fit) that
        # people re-run whole, in a notebook cell or a grid search: they are cached at once.
        other = freeze_other(value)
        if other is not None and cache.put(key, other[0], cost, other[1], item.height):
            return other[0]
        return value


def _same(digest: bytes) -> bytes:
    return digest


def _c_strides(value: np.ndarray) -> tuple[int, ...]:
    """The strides of a C-ordered array of ``value``'s shape, as NumPy gives its new arrays (a view
    with a dimension of one may be flagged C-contiguous with other strides)."""
    strides, step = [], value.itemsize
    for n in reversed(value.shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _c_copy(value: np.ndarray) -> np.ndarray:
    return np.array(value, order="C")  # (always a new array: ascontiguousarray may return the view)


CHEAP_AFTER = 4
RECHECK_EVERY = 256
_ONE_EVALUATION = b"=1"  # the suffix of a product's key when both arguments are one evaluation
_CHEAP_MAX = 20_000
_PLAIN_SCALARS = frozenset((int, float, bool, complex, type(None), slice, np.float64))


def _signature(opcode: str, family: str | None, args: tuple, kwargs: dict) -> tuple | None:
    """``(opcode, shape and dtype of each array argument, type of each other one, name and type of
    each keyword)``: what a NumPy operation's cost follows. None (always probed) for calls that also
    take anything else — frames, lists, deferred stacks (whose rewrites must run), keywords that are
    not plain scalars — and for the operations that are deferred."""
    if family == STACK:
        return None
    sig: list = [opcode]
    plain = _PLAIN_SCALARS
    for a in args:
        t = type(a)
        if t is np.ndarray:
            sig.append((a.shape, a.dtype.char))
        elif t in plain:
            sig.append(t)
        elif t is tuple:  # an index such as [i, :k]
            for k in a:
                if type(k) not in plain:
                    return None
            sig.append(t)
        else:
            return None
    if kwargs:
        for k, v in kwargs.items():  # axis=0, keepdims=True ...
            t = type(v)
            if t is tuple:
                for e in v:
                    if type(e) not in plain:
                        return None
            elif t not in plain:
                return None
            sig.append((k, t))
    return tuple(sig)


def _owned_blocks(item: Item, args: tuple) -> tuple:
    """The stack's arguments with blocks that could still be written replaced: a plain array passed
    straight into the call (a ``lineage.data`` leaf whose memory may change, see
    :func:`_may_change`) is copied, or, when its leaf has a recipe (``np.ones``, ``lam * np.eye(d)``,
    ``np.arange``: see ``lineage.leaves``), rebuilt from the recipe if its elements are ever needed
    (an intercept column's products are column sums: its elements usually never are). Traced values
    are never written, and leaves made by ``mc.array``/``mc.asarray`` are read-only, so the large
    blocks are not copied."""
    refs = Literals(item.literals).arg(0)[1]  # the nodes of the sequence of blocks
    blocks = list(args[0])
    for k, b in enumerate(blocks):
        if type(b) is np.ndarray and refs[k][0] == "r":
            leaf = item.inputs[refs[k][1]]
            if leaf.opcode == DATA and _may_change(b):
                blocks[k] = _from_recipe(leaf, b)
    return (type(args[0])(blocks), *args[1:])


def _from_recipe(leaf: Item, block: np.ndarray) -> np.ndarray | Deferred:
    """``block``'s elements as its leaf's recipe builds them, when they are needed; else a copy.

    The recipe is the one this process matched against these very bytes when it hashed them for
    this call (``verified_recipe``; never a recipe a lineage log claims), and it builds a C-ordered
    array, so only a C-contiguous block is rebuilt (a stack follows its blocks' layout, and BLAS
    may round differently on another)."""
    recipe = verified_recipe(leaf)
    if recipe is None or not block.flags.c_contiguous:
        return block.copy(order="K")
    build = functools.partial(build_constant, recipe, block.dtype, block.shape, block.nbytes)
    return Deferred(build, (), {}, block.shape, block.dtype)


def _may_change(array: np.ndarray) -> bool:
    """Whether the memory ``array`` reads can still be written: it is writable, or it is a read-only
    view (``np.broadcast_to``, ``v.flags.writeable = False``) of memory that is writable through its
    base (NumPy copies a stack's blocks at once; a deferred stack reads them later), or it is memory
    its owner made read-only and may make writable again (NumPy lets an array that owns its memory
    set the flag back: a newcomer's frozen column was written after the stack and read stale). Only
    the memory of a traced leaf mlcontext holds (``ops.dispatch.hold``) and memory held by an
    immutable ``bytes`` object cannot change; any other buffer might."""
    while True:
        if array.flags.writeable:
            return True
        base = array.base
        if base is None:
            return not is_held(array)
        if type(base) is bytes:
            return False
        if not isinstance(base, np.ndarray):
            return True
        array = base


_USER_CODE = (types.FunctionType, types.MethodType, functools.partial)


def _calls_user_code(args: tuple, kwargs: dict) -> bool:
    """Whether a Python function is among the arguments (the operation will run user code)."""
    for a in args:
        if isinstance(a, _USER_CODE):
            return True
    if kwargs:
        for a in kwargs.values():
            if isinstance(a, _USER_CODE):
                return True
    return False
