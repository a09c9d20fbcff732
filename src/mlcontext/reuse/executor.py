"""The executor the reuse layer installs in the dispatcher: probe, rewrite, compute, admit.

``mlcontext.ops.dispatch`` runs every traced operation through one executor (``set_executor``); this
one probes the cache by the item's lineage hash, leaves stacks uncomputed (deferred) under partial
reuse, tries the partial-reuse rewrites on a miss, and otherwise computes the value, timing it, and
admits it if it is worth keeping: at once when it is expensive for its size, else when its lineage
hash comes round again (delayed admission). Calls on plain arrays that keep proving cheaper than a
probe stop being probed.

Mutation safety: a cached value is made read-only before anyone sees it (the array itself when it
owns its memory, else a read-only view), and a result that may share memory with an argument is
copied before it is cached, so writing into a plain array later can never change a cached value.
Traced arrays never write into their values (``__setitem__``, ``out=`` and in-place operations make
new versions), so the read-only flag is never in their way.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np

from ..lineage.item import DATA, Item
from ..lineage.operations import Operation
from ..ops.deferred import LIVE, Deferred, resolve_args
from ..ops.dispatch import execute
from .cache import MISS, LineageCache
from .rewrites import (
    GETITEM,
    STACK_OPCODES,
    TRANSPOSES,
    Rewritten,
    note_sliced,
    note_stack,
    stack_plan,
    try_rewrite,
)

__all__ = ["ReuseExecutor", "freeze_array", "NON_REUSABLE_PREFIXES", "FREEZERS", "register_freezer",
           "DEFERRABLE"]

# Operations whose result is not determined by their lineage (or that are never worth caching).
NON_REUSABLE_PREFIXES = ("numpy.random.", "lineage.opaque", "io.")

# Operations whose result may be left uncomputed (with partial reuse): stacks and their transposes.
DEFERRABLE = STACK_OPCODES | TRANSPOSES


def freeze_array(value: np.ndarray, args: tuple = (), *, copy_views: bool = True) -> np.ndarray | None:
    """A read-only version of ``value`` that nothing else can write through.

    A value that may share memory with an argument (a view: ``X.T``, ``B[:, :k]``) is copied, keeping
    its memory layout (``order="K"``: a BLAS call on a copy in another layout may round differently),
    or, with ``copy_views=False``, refused (``None``): views cost nothing to recompute.
    """
    if any(isinstance(a, np.ndarray) and (a is value or np.may_share_memory(value, a))
           for a in _flat(args)):
        if not copy_views:
            return None
        value = value.copy(order="K")
    if value.base is None:
        value.flags.writeable = False
        return value
    view = value.view()
    view.flags.writeable = False
    return view


def _flat(args: Any) -> list:
    out = []
    for a in args:
        if isinstance(a, list | tuple):
            out.extend(_flat(a))
        else:
            out.append(a)
    return out


# Other value types (pandas frames, fitted estimators) say how they are made safe to share and how
# big they are: ``fn(value) -> (frozen value, nbytes) | None`` (None: do not cache it). Looked up by
# the value's class and its bases; filled by the layer that makes such values (mlcontext.ops).
FREEZERS: dict[type, Callable[[Any], tuple[Any, int] | None]] = {}


def register_freezer(cls: type, fn: Callable[[Any], tuple[Any, int] | None]) -> None:
    """Let values of ``cls`` be cached: ``fn`` returns a read-only version and its size, or None."""
    FREEZERS[cls] = fn


def _freeze_other(value: Any) -> tuple[Any, int] | None:
    for cls in type(value).__mro__:
        fn = FREEZERS.get(cls)
        if fn is not None:
            return fn(value)
    return None


def _freeze(value: Any, args: tuple) -> Any:
    if type(value) is np.ndarray:
        return None if value.dtype.hasobject else freeze_array(value, args, copy_views=False)
    if isinstance(value, np.generic):
        return value
    if isinstance(value, tuple) and value and all(type(v) is np.ndarray for v in value):
        parts = [freeze_array(v, args, copy_views=False) for v in value]
        if any(p is None for p in parts):
            return None
        return type(value)(*parts) if hasattr(value, "_fields") else tuple(parts)
    return None


def _size(value: Any) -> int | None:
    """Bytes of an array, a NumPy scalar or a tuple of arrays (None: something else)."""
    if isinstance(value, tuple):
        if not value or not all(type(v) is np.ndarray for v in value):
            return None
        return sum(int(v.nbytes) for v in value)
    return int(value.nbytes)


class ReuseExecutor:
    """Full and partial reuse of traced operations through a :class:`LineageCache`."""

    def __init__(self, cache: LineageCache, partial: bool) -> None:
        self.cache = cache
        self.partial = partial
        self._reusable: dict[str, bool] = {}
        # call signature (opcode, argument shapes; see _signature) -> how many times it ran in under
        # half of min_compute_s since it last did not; from CHEAP_AFTER on it runs without a probe
        # (the probe would cost more than the operation), re-checked every RECHECK_EVERY calls.
        self._cheap: dict[tuple, int] = {}

    def __call__(self, op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
        opcode = op.opcode
        reusable = self._reusable.get(opcode)
        if reusable is None:
            reusable = self._reusable[opcode] = not opcode.startswith(NON_REUSABLE_PREFIXES)
        if not reusable:
            return execute(op, item, args, kwargs)
        sig = _signature(opcode, args, kwargs)
        if sig is not None:
            runs = self._cheap.get(sig, 0)
            if runs >= CHEAP_AFTER:
                self._cheap[sig] = runs = runs + 1
                if runs % RECHECK_EVERY:
                    return self._run_unprobed(op, item, args, kwargs)
        cache = self.cache
        key = item.digest
        value, placeholder = cache.reserve(key)
        if value is not MISS:
            cache.counters.hits += 1
            if cache.events.enabled:
                cache.events.add("reused", opcode, key)
            if opcode in STACK_OPCODES:
                plan = stack_plan(opcode, args, kwargs)
                if plan is not None:
                    note_stack(item, plan[0], args)
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
        if self.partial and op.opcode == GETITEM and len(args) == 2:
            note_sliced(item, args)
        return op.fn(*args, **kwargs)  # (only calls on plain arrays and scalars get here)

    def _admit_inputs(self, item: Item, args: tuple, cost: float) -> None:
        """Cache the inputs of a cached value that were computed once and left out as cheap, when
        the value cost more to compute than they did: when its lineage comes round again they are
        computed before the cached value can be found (NumPy evaluates eagerly), so keeping them
        saves that second computation (PCA's centred matrix feeding its covariance). A cheap
        consumer (a final ``sum``) is no sign that the pipeline will run again: its inputs stay out."""
        cache = self.cache
        lit = item.literals  # ("T", (("T", (node of each positional argument ...)), keywords))
        positional = lit[1][0] if lit[0] == "T" and len(lit[1]) == 2 else None
        refs = positional[1] if isinstance(positional, tuple) and positional[0] == "T" else ()
        for node, value in zip(refs, args, strict=False):
            if node[0] != "r" or type(value) is not np.ndarray or value.base is not None \
                    or value.dtype.hasobject:
                continue  # (views are never cached: they would pin their base)
            source = item.inputs[node[1]]
            own = cache.seen_once(source.digest, at_most=cost)
            if own is not None:
                value.flags.writeable = False  # a traced value: nothing writes into it
                cache.put(source.digest, value, own, int(value.nbytes), source.height)

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
        if opcode in STACK_OPCODES:
            plan = stack_plan(opcode, args, kwargs)
            if plan is None:
                return None
            note_stack(item, plan[0], args)
            return Deferred(op.fn, _owned_blocks(item, args), kwargs, plan[1], plan[2])
        if len(args) == 1 and not kwargs:
            inner = args[0]
            if type(inner) is Deferred and not inner.computed and inner.ndim == 2:
                return Deferred(np.transpose, (inner,), {}, inner.shape[::-1], inner.dtype)
        return None

    def _compute(self, op: Operation, item: Item, key: bytes, args: tuple, kwargs: dict,
                 sig: tuple | None) -> Any:
        cache = self.cache
        opcode = op.opcode
        if self.partial:
            if opcode in DEFERRABLE:
                deferred = self._defer(op, item, args, kwargs)
                if deferred is not None:
                    cache.counters.deferred += 1
                    if cache.events.enabled:
                        cache.events.add("deferred", opcode, key)
                    return deferred
            elif opcode == GETITEM and len(args) == 2:
                note_sliced(item, args)
        t0 = perf_counter()
        rewritten = try_rewrite(item, args, kwargs, cache) if self.partial else MISS
        keep = False
        if rewritten is MISS or rewritten.value is MISS:
            keep = rewritten is not MISS and rewritten.keep
            if LIVE[0]:
                args, kwargs = resolve_args(args), resolve_args(kwargs)
            value = op.fn(*args, **kwargs)
            kind = "computed"
        else:
            value, keep = rewritten.value, rewritten.keep
            kind = "partial" if rewritten.reused else "computed"
        cost = perf_counter() - t0
        if kind == "partial":
            cache.counters.partial_hits += 1
        else:
            cache.counters.misses += 1
        if cache.events.enabled:
            cache.events.add(kind, opcode, key)
        min_s = cache.config.min_compute_s
        if cost < min_s:
            if sig is not None and cost < min_s / 2 and rewritten is MISS:
                cheap = self._cheap
                if len(cheap) >= _CHEAP_MAX:
                    cheap.clear()
                cheap[sig] = cheap.get(sig, 0) + 1
            return value
        if sig is not None:
            self._cheap[sig] = 0  # expensive: probed again until it shows itself cheap again
        if rewritten is not MISS and not rewritten.cache:
            return value
        size = _size(value) if type(value) is np.ndarray or isinstance(value, np.generic | tuple) else None
        if size is not None:
            if not (keep or cache.worth_admitting(key, cost, size)):
                return value
            frozen = _freeze(value, args)
            if frozen is not None and cache.put(key, frozen, cost, size, item.height):
                self._admit_inputs(item, args, cost)
                return frozen
            return value
        # Frames and fitted estimators come from coarse operations (a pandas method, a fit) that
        # people re-run whole, in a notebook cell or a grid search: they are cached at once.
        other = _freeze_other(value) if FREEZERS else None
        if other is not None and cache.put(key, other[0], cost, other[1], item.height):
            return other[0]
        return value


CHEAP_AFTER = 16
RECHECK_EVERY = 256
_CHEAP_MAX = 20_000
_PLAIN_SCALARS = (int, float, bool, complex, type(None), slice, np.float64)


def _signature(opcode: str, args: tuple, kwargs: dict) -> tuple | None:
    """``(opcode, shape and dtype of each argument)``: what a NumPy operation's cost follows. None
    (always probed) for calls that also take anything else — frames, lists, deferred stacks (whose
    rewrites must run), keywords — and for the operations that are deferred."""
    if kwargs or opcode in DEFERRABLE:
        return None
    sig: list = [opcode]
    for a in args:
        t = type(a)
        if t is np.ndarray:
            sig.append((a.shape, a.dtype.char))
        elif t in _PLAIN_SCALARS:
            sig.append(t)
        elif t is tuple and all(type(k) in _PLAIN_SCALARS for k in a):  # an index such as [i, :k]
            sig.append(t)
        else:
            return None
    return tuple(sig)


def _owned_blocks(item: Item, args: tuple) -> tuple:
    """The stack's arguments with blocks that could still be written copied: a plain array passed
    straight into the call (a writable ``lineage.data`` leaf). Traced values are never written, and
    leaves made by ``mc.array``/``mc.asarray`` are read-only, so the large blocks are not copied."""
    refs = item.literals[1][0][1][0][1]
    blocks = list(args[0])
    for k, b in enumerate(blocks):
        if type(b) is np.ndarray and b.flags.writeable and refs[k][0] == "r" \
                and item.inputs[refs[k][1]].opcode == DATA:
            blocks[k] = b.copy(order="K")
    return (type(args[0])(blocks), *args[1:])


__all__ += ["Rewritten"]
