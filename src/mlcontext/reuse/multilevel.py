"""Multi-level (function-level) reuse of ``@mc.step`` calls (LIMA §5.1, SystemDS function reuse).

A call is keyed by the step's qualified name, the complete identity of the function at the time of the
call (:func:`mlcontext.fingerprint.hash_function`: code, defaults, closure cells, the globals it reads,
transitively) and the lineage of its inputs: traced arrays by their lineage hash, plain arrays and
Python values by content hash. A call whose key
was seen returns the earlier outputs — all of them, with their lineage — without running the body.
A call is not reused (and not cached) when

* the function reads something without a deterministic fingerprint (an open file, a socket…): one
  :class:`~mlcontext.errors.UnidentifiedWarning` names it (``mc.reuse(strict=True)`` raises);
* an argument has no deterministic fingerprint (an open file, an arbitrary object…): the same;
* its body noted something its lineage does not determine (an unseeded ``mc.random`` generator, an
  opaque fallback: :mod:`mlcontext.lineage.nondeterminism`), or drew from NumPy's legacy global
  generator or Python's ``random`` module (their states are compared before and after the call), or
  read from outside: a file (``open``, ``np.load``, ``pd.read_csv``), a directory listing, the network,
  another program (Python's audit events: ``nondeterminism.watching_io``);
* an output cannot be frozen (see :class:`~.persistent.Frozen`);
* its body wrote into an argument — an array (or a view, or an array inside a list, tuple or dict),
  a list, a dict, a frame, a set, an object's attribute: anything whose fingerprint is part of the
  key; each argument that can be written is fingerprinted again after the body and compared with
  the fingerprint the key was made of — so a call served from the cache would skip that write
  (one :class:`~mlcontext.errors.StepSideEffectWarning` per step names the argument); or it changed
  something the function's identity reads (a global, a closure cell, a default, the object a method
  is bound to: compared the same way, not warned of);
* the step was declared ``@mc.step(reuse=False)``.
"""

from __future__ import annotations

import copy
import ctypes
import inspect
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
import xxhash

from ..errors import FingerprintError, MLContextWarning, StepSideEffectWarning
from ..fingerprint import hash_array, hash_function, hash_value, unidentified
from ..lineage import nondeterminism
from ..lineage.item import identity as object_key
from ..lineage.layout import layout_of
from ..lineage.step import StepInfo
from ..ops import views
from ..ops.pandas_frame import TracedFrame, TracedSeries, frame_nbytes
from ..ops.traced import TracedArray
from .cache import EXACT_PREFIX, MISS, LineageCache
from .errormodes import errors_checked
from .freeze import freeze_array
from .persistent import Frozen
from .state import STATE as REUSE

__all__ = ["StepReuse", "step_key"]


# Values a step cannot write into: not fingerprinted again after its body (see _Keyed.written).
_IMMUTABLE = int | float | complex | str | bytes | None

# An argument written (warned of) / changed only by reads filling in a defaultdict's missing keys.
_WRITTEN, _FILLED = "written", "filled"


class _Keyed:
    """A call's key and what it is made of: the bytes hashed per argument, so that a call that runs
    its body can tell whether the body wrote into an argument (the fingerprints of before are the
    ones the key was made of; only arguments that can be written are fingerprinted again after)."""

    __slots__ = ("key", "height", "arrays", "identity", "parts", "watched")

    def __init__(self, key: bytes, height: int, arrays: list, identity: str, parts: list[bytes],
                 watched: list[tuple[int | str, Any, int, int, dict | None]]) -> None:
        self.key = key
        self.height = height  # the maximum lineage height of the inputs
        self.arrays = arrays  # input arrays (outputs sharing memory with one are copied before caching)
        self.identity = identity  # the function's complete identity at the call
        self.parts = parts  # the bytes hashed into the key, in order
        # (position or keyword, argument, its first part, its end part, and for a defaultdict its
        # items before the call) of each argument that can be written
        self.watched = watched

    def written(self) -> tuple[int | str, str] | None:
        """``(position or keyword, _WRITTEN or _FILLED)`` of the first argument whose fingerprint
        differs from the one in the key, or None. An argument that lost its fingerprint counts as
        written; a fitted scikit-learn estimator is compared by its parameters (what identifies it)."""
        parts = self.parts
        for where, value, first, end, items in self.watched:
            after = _Parts(after=True)
            try:
                after.feed(value)
            except FingerprintError:
                return where, _WRITTEN
            if after.parts != parts[first:end]:
                return where, _FILLED if items is not None and _only_filled(value, items) else _WRITTEN
        return None


def _only_filled(value: dict, items: dict) -> bool:
    """Whether a defaultdict only gained keys since it held ``items`` (what reading a missing key
    does), the old keys still holding the same objects."""
    return len(value) > len(items) and all(k in value and value[k] is v for k, v in items.items())


def _unfitted(x: Any) -> Any:
    """A scikit-learn estimator as its parameters describe it (without what ``fit`` learned), or
    ``None`` for anything else."""
    base = sys.modules.get("sklearn.base")
    if base is None or not isinstance(x, base.BaseEstimator):
        return None
    try:
        return base.clone(x)
    except Exception:  # noqa: BLE001 - an estimator clone refuses: compared as written
        return None


class _Parts:
    """The bytes a step key hashes for a value, appended to ``parts`` (hashing their concatenation
    once gives the same digest as feeding them one by one). ``after``: fingerprinting an argument
    again after the body (a fitted estimator by its parameters, see :meth:`_Keyed.written`)."""

    __slots__ = ("parts", "height", "arrays", "mutable", "after")

    def __init__(self, after: bool = False) -> None:
        self.parts: list[bytes] = []
        self.height = 0
        self.arrays: list = []
        self.mutable = False  # whether what was fed since the flag was cleared can be written in place
        self.after = after

    def feed(self, x: Any) -> None:
        parts = self.parts
        t = type(x)
        if t is TracedArray:  # (never written in place, but ``t -= 1`` makes it a new version)
            parts.append(b"r" + x._item.digest)
            self.height = max(self.height, x._item.height)
            self.arrays.append(x._value)  # outputs sharing memory with an input are copied before caching
            self.mutable = True
        elif t is TracedFrame or t is TracedSeries:
            parts.append(b"f" + x._item.digest)
            self.height = max(self.height, x._item.height)
            self.mutable = True
        elif t is np.ndarray:
            parts.append(b"a" + hash_array(x).encode())
            layout = layout_of(x)  # a Fortran-ordered or strided input gives results laid out so
            if layout is not None:
                parts.append(b"@" + layout.encode() + b"\x00")
            self.arrays.append(x)
            self.mutable = True
        elif isinstance(x, np.ndarray):  # np.matrix, masked arrays: their class and mask count too
            parts.append(b"v" + hash_value(x).encode())
            self.arrays.append(x)
            self.mutable = True
        elif t is tuple or t is list:
            # (a tuple and a list of the same items are two arguments: A[(0, 1)] is one element,
            # A[[0, 1]] two rows; a newcomer's step served the first for the second)
            parts.append((b"(%d" if t is tuple else b"[%d") % len(x))
            for v in x:
                self.feed(v)
            parts.append(b")")
            if t is list:
                self.mutable = True
        elif t is dict and all(type(k) is str for k in x):
            parts.append(b"{%d" % len(x))
            for k in x:  # in order: dicts are ordered and a step may depend on it (list(w.values()))
                parts.append(k.encode() + b"\x00")
                self.feed(x[k])
            parts.append(b"}")
            self.mutable = True
        elif isinstance(x, _IMMUTABLE):
            parts.append(b"v" + hash_value(x).encode())
        else:
            try:
                digest = hash_value(x)
            except FingerprintError:
                # An estimator the step fitted (mlcontext's advice for one: fit it inside the step):
                # what ``fit`` learned is no part of its fingerprint, its parameters are.
                unfitted = _unfitted(x) if self.after else None
                if unfitted is None:
                    raise
                digest = hash_value(unfitted)
            parts.append(b"v" + digest.encode())
            self.mutable = True


def step_key(info: StepInfo, args: tuple, kwargs: dict, exact: bool = False) -> _Keyed | None:
    """The key of a call (with what it is made of: :class:`_Keyed`), or ``None`` if an argument
    cannot be fingerprinted. ``exact``: the key in the ``exact`` policy's namespace
    (``cache.EXACT_PREFIX``)."""
    h = xxhash.xxh3_128(EXACT_PREFIX if exact else b"")
    try:
        identity = info.code_hash if info.function is None else hash_function(info.function)
    except FingerprintError as exc:
        unidentified(f"step {info.qualname}", exc)
        return None
    # ("v2": keys of steps that write into their arguments were cached before such calls were
    # detected; entries a persistent tier still holds from then are never found)
    h.update(b"lineage.step.v2\x00%s\x00%s\x00" % (info.qualname.encode(), identity.encode()))
    fed = _Parts()
    parts = fed.parts
    watched: list[tuple[int | str, Any, int, int, dict | None]] = []

    def feed_argument(where: int | str, v: Any) -> None:
        first, fed.mutable = len(parts), False
        fed.feed(v)
        if fed.mutable:
            watched.append((where, v, first, len(parts), dict(v) if isinstance(v, defaultdict) else None))

    try:  # (the bytes of feeding ``args`` then ``kwargs`` whole, argument by argument)
        parts.append(b"(%d" % len(args))
        for k, v in enumerate(args):
            feed_argument(k, v)
        parts.append(b")")
        parts.append(b"{%d" % len(kwargs))
        for name, v in kwargs.items():
            parts.append(name.encode() + b"\x00")
            feed_argument(name, v)
        parts.append(b"}")
    except FingerprintError as exc:
        unidentified(f"a call of step {info.qualname}", exc)
        return None
    h.update(b"".join(parts))
    return _Keyed(h.digest(), fed.height, fed.arrays, identity, parts, watched)


def _freeze_tree(x: Any, inputs: list, shared: dict[int, tuple] | None = None) -> tuple | None:
    """The frozen node of an output (None: it cannot be kept); ``shared``: the nodes of outputs met
    more than once or aliasing one another, by :func:`~mlcontext.lineage.item.identity` (``id``
    without the audit event that costs a call per audit hook): :func:`_shared_nodes`."""
    if shared is not None:
        node = shared.get(object_key(x))
        if node is not None:
            return node
    t = type(x)
    if t is TracedArray:
        return _traced_node(x, inputs)
    if isinstance(x, np.ndarray):
        # (an object array's cells may be written in place; StringDType's are str, copied with it)
        mutable_cells = x.dtype.hasobject and x.dtype.kind != "T"
        return None if mutable_cells else ("array", freeze_array(x.copy(order="K")))
    if isinstance(x, np.generic):
        return ("scalar", x)
    if t is TracedFrame or t is TracedSeries:
        # (deep copies both ways, as for plain arrays: a plain frame the caller gets back, or one
        # taken out of a traced frame, may be written in place when pandas' copy-on-write is off)
        value = x._value
        return ("traced_frame", (t, value.copy(deep=True), x._item)) if _immutable_cells(value) else None
    if isinstance(x, pd.DataFrame | pd.Series):
        return ("frame", x.copy(deep=True)) if _immutable_cells(x) else None
    if x is None or t in (int, float, str, bool, complex):
        return ("py", x)
    if t is bytes:
        return ("py", x, len(x))
    if _is_fitted_estimator(x):
        # kept as a deep copy and handed out as one (in this process only: the persistent tier
        # never unpickles), so fitting what a call returned never changes what the next one gets;
        # one that does not copy (it holds a lock) is not kept
        try:
            return ("estimator", copy.deepcopy(x), _object_nbytes(x))
        except Exception:  # noqa: BLE001 - any failure to copy: the call is simply not kept
            return None
    if t is tuple or t is list:
        parts = [_freeze_tree(v, inputs, shared) for v in x]
        return None if any(p is None for p in parts) else (t.__name__, parts)
    if t is dict and all(type(k) is str for k in x):
        pairs = [(k, _freeze_tree(v, inputs, shared)) for k, v in x.items()]
        return None if any(p is None for _, p in pairs) else ("dict", pairs)
    return None


def _traced_node(x: TracedArray, inputs: list) -> tuple:
    v = x._value
    if isinstance(v, np.ndarray):
        return ("traced", freeze_array(v, tuple(inputs)), x._item)
    return ("traced", v, x._item)


# -- outputs that are one object, or views of one another ---------------------------------------
# ``return y, y[:2]``: plain Python hands back an array and a view of it, so a write into the first
# shows in the second; independent copies would not (a newcomer's finding, fifteenth session). Such
# outputs get nodes of their own, each met wherever its output was, and handed out once per call:
# plain arrays as views of one copy of the memory they span (their offsets and strides kept), traced
# ones as a traced view (``ops.views``) of the output they were a view of.

# Outputs whose memory overlaps in more than this many are not compared pair by pair: they are
# handed out as views of one copy of all the memory they span (a list of a matrix's columns).
_PAIRWISE_MAX = 64
_ALIGN = 64


class _Unkept(Exception):  # noqa: N818 - a signal inside this module
    """Outputs that alias one another in a way no node here rebuilds."""


def _shared_nodes(result: Any, inputs: list) -> dict[int, tuple] | None:
    """The nodes of the outputs met twice or aliasing one another, by identity (None: there are none).

    Raises
    ------
    _Unkept
        An ndarray subclass (a masked array's mask, a matrix) or an array of strings of NumPy's
        StringDType (its bytes point into memory of its own) is one of them.
    """
    seen: dict[int, list] = {}  # identity -> [object, how many times met]
    _collect(result, seen, 0)
    if len(seen) < 2 and not any(n > 1 for _, n in seen.values()):
        return None  # (the common case: one array, or arrays that are not views of one another)
    plain = [x for x, _ in seen.values() if type(x) is not TracedArray]
    shared: dict[int, tuple] = {}
    for group in _memory_groups(plain, seen):
        if any(type(a) is not np.ndarray or a.dtype.kind == "T" for a in group):
            raise _Unkept
        if any(a.dtype.hasobject for a in group):
            continue  # (never kept: _freeze_tree refuses object arrays)
        shared.update(_alias_nodes(group))
    traced = {object_key(x): x for x, _ in seen.values() if type(x) is TracedArray}
    parents = {key: object_key(p) for key, x in traced.items()
               if (p := _parent(x)) is not None and object_key(p) in traced}
    for key, x in traced.items():
        if seen[key][1] > 1 or key in parents or key in parents.values():
            _traced_shared(x, inputs, traced, shared)
    return shared or None


def _parent(x: TracedArray) -> TracedArray | None:
    """The traced array ``x`` is a view of (``ops.views``), or None."""
    view: Any = x._view
    return None if view is None else view[0]


def _collect(x: Any, seen: dict[int, list], depth: int) -> None:
    """The arrays and traced arrays among the outputs (as _freeze_tree walks them), counted."""
    t = type(x)
    if t is TracedArray or isinstance(x, np.ndarray):
        met = seen.get(object_key(x))
        if met is None:
            seen[object_key(x)] = [x, 1]
        else:
            met[1] += 1
    elif (t is tuple or t is list) and depth < 64:
        for v in x:
            _collect(v, seen, depth + 1)
    elif t is dict and depth < 64:
        for v in x.values():
            _collect(v, seen, depth + 1)


def _span(a: np.ndarray) -> tuple[int, int]:
    """The bytes ``[lo, hi)`` an array's elements lie in."""
    lo = hi = a.__array_interface__["data"][0]
    for n, stride in zip(a.shape, a.strides, strict=True):
        if stride < 0:
            lo += stride * (n - 1)
        else:
            hi += stride * (n - 1)
    return lo, hi + a.itemsize


def _memory_groups(arrays: list, seen: dict[int, list]) -> list[list]:
    """The plain arrays that share memory, in groups (an array met twice is a group of its own)."""
    spans = sorted(((_span(a), a) for a in arrays if a.size), key=lambda s: s[0][0])
    clusters: list[list] = []  # arrays whose spans overlap, one after another
    end = -1
    for (lo, hi), a in spans:
        if lo < end:
            clusters[-1].append(a)
            end = max(end, hi)
        else:
            clusters.append([a])
            end = hi
    groups: list[list] = []
    for cluster in clusters:
        if len(cluster) > _PAIRWISE_MAX:
            groups.append(cluster)
            continue
        parent = list(range(len(cluster)))  # (union-find over the pairs that share memory)
        for i in range(len(cluster)):
            for j in range(i):
                if _root(parent, i) != _root(parent, j) and _share(cluster[i], cluster[j]):
                    parent[_root(parent, i)] = _root(parent, j)
        found: dict[int, list] = {}
        for i, a in enumerate(cluster):
            found.setdefault(_root(parent, i), []).append(a)
        groups.extend(g for g in found.values() if len(g) > 1 or seen[object_key(g[0])][1] > 1)
    return groups


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return i


def _share(a: np.ndarray, b: np.ndarray) -> bool:
    try:  # (NumPy's stubs allow only max_work=-1 or 0; any bound works)
        return bool(np.shares_memory(a, b, max_work=100_000))  # type: ignore[arg-type]
    except np.exceptions.TooHardError:
        return True  # (handed out as views of one copy: always right, at the cost of its memory)


def _alias_nodes(group: list) -> dict[int, tuple]:
    """``("alias", buffer node, dtype, shape, strides, offset)`` for each array of a group: a view
    of one read-only copy of the bytes the group spans, as each array was of its memory."""
    spans = [_span(a) for a in group]
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    raw = (ctypes.c_ubyte * (hi - lo)).from_address(lo)  # (memory the arrays of the group keep alive)
    buffer = np.frombuffer(memoryview(raw), np.uint8).copy()
    buffer.flags.writeable = False
    node = ("buffer", buffer, lo % _ALIGN)
    return {object_key(a): ("alias", node, a.dtype, a.shape, a.strides, s[0] - lo + _start(a))
            for a, s in zip(group, spans, strict=True)}


def _start(a: np.ndarray) -> int:
    """Bytes from the lowest byte of ``a`` to its first element (negative strides run back)."""
    return sum(-stride * (n - 1) for n, stride in zip(a.shape, a.strides, strict=True) if stride < 0)


def _traced_shared(x: TracedArray, inputs: list, traced: dict[int, TracedArray],
                   shared: dict[int, tuple]) -> tuple:
    """The node of a traced output met twice, viewed by another output, or a view of one: a view
    of another output is ``("traced_view", value, item, node of that output, kind, params)``."""
    node = shared.get(object_key(x))
    if node is not None:
        return node
    base: Any = x._view
    if base is not None and object_key(base[0]) in traced:
        parent = _traced_shared(base[0], inputs, traced, shared)
        node = ("traced_view", *_traced_node(x, inputs)[1:], parent, base[1], base[2])
    else:
        node = _traced_node(x, inputs)
    shared[object_key(x)] = node
    return node


# What pandas' infer_dtype says of an object column whose cells cannot be written in place (a deep
# copy of a frame copies its object arrays but not the objects in them: a list in a cell would be
# shared by the cache and every caller, as object arrays would, which are never frozen either).
_IMMUTABLE_KINDS = frozenset(("empty", "string", "bytes", "integer", "floating", "mixed-integer-float",
                              "decimal", "complex", "boolean", "datetime64", "datetime", "date",
                              "timedelta64", "timedelta", "time", "period", "interval"))


def _immutable_cells(frame: pd.DataFrame | pd.Series) -> bool:
    """Whether every object column (and an object index) of ``frame`` holds only immutable values."""
    if isinstance(frame, pd.Series):
        parts = [frame] if _is_object(frame.dtype) else []
    else:  # (only the object columns are taken out: a wide numeric frame is not split up)
        parts = [frame.iloc[:, k] for k, dtype in enumerate(frame.dtypes) if _is_object(dtype)]
    if _is_object(frame.index.dtype):
        parts.append(frame.index)
    return all(pd.api.types.infer_dtype(part, skipna=True) in _IMMUTABLE_KINDS for part in parts)


def _is_object(dtype: Any) -> bool:
    """NumPy's object dtype (not pandas' extension dtypes, whose ``kind`` may also be ``"O"``)."""
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _object_nbytes(x: Any, depth: int = 0) -> int:
    """About how many bytes an object holds (its arrays, bytes and strings, through its state,
    lists and dicts): what a kept estimator counts against the cache's budget (a random forest's
    trees are megabytes, not the 64 bytes an object was counted)."""
    if isinstance(x, np.ndarray):
        return int(x.nbytes)
    if isinstance(x, bytes | str):
        return len(x)
    if depth > 8:
        return 64
    if isinstance(x, list | tuple | set | frozenset):
        return 64 + sum(_object_nbytes(v, depth + 1) for v in x)
    if isinstance(x, dict):
        return 64 + sum(_object_nbytes(v, depth + 1) for v in x.values())
    state = getattr(x, "__dict__", None)
    if state is None and callable(getattr(x, "__getstate__", None)):
        try:
            state = x.__getstate__()  # (scikit-learn's trees keep their arrays there)
        except Exception:  # noqa: BLE001 - no state to read: counted as a small object
            state = None
    return 64 + (_object_nbytes(state, depth + 1) if isinstance(state, dict) else 0)


def _is_fitted_estimator(x: Any) -> bool:
    """A scikit-learn estimator (by its API, without importing scikit-learn)."""
    return callable(getattr(x, "get_params", None)) and callable(getattr(x, "fit", None))


def _thaw(node: tuple, memo: dict[int, Any] | None = None) -> Any:
    """The outputs as a call hands them out; ``memo`` (for a tree with shared nodes): what each
    shared node gave, so that it is handed out once per call."""
    kind = node[0]
    if kind == "estimator":
        return copy.deepcopy(node[1])
    if memo is not None and kind in _SHARED_KINDS:
        found = memo.get(object_key(node))
        if found is None:
            found = memo[object_key(node)] = _thaw_shared(node, memo)
        return found
    if kind == "traced":
        return TracedArray(node[1], node[2])
    if kind == "array":
        return node[1].copy(order="K")  # as it was: NumPy hands back its results in their layout
    if kind in ("scalar", "py"):
        return copy.copy(node[1])
    if kind == "frame":
        return node[1].copy(deep=True)
    if kind == "traced_frame":
        cls, value, item = node[1]
        return cls(value.copy(deep=True), item)
    if kind == "tuple":
        return tuple(_thaw(c, memo) for c in node[1])
    if kind == "list":
        return [_thaw(c, memo) for c in node[1]]
    return {k: _thaw(c, memo) for k, c in node[1]}


_SHARED_KINDS = frozenset(("traced", "traced_view", "alias", "buffer"))


def _thaw_shared(node: tuple, memo: dict[int, Any]) -> Any:
    kind = node[0]
    if kind == "traced":
        return TracedArray(node[1], node[2])
    if kind == "traced_view":
        _, value, item, parent, how, params = node
        return views.note(TracedArray(value, item), _thaw(parent, memo), how, params)
    if kind == "buffer":
        # (at the same address modulo 64 as the memory it copies: arrays aligned there stay aligned,
        # and a kernel reading them takes the same path)
        _, frozen, at = node
        raw = np.empty(frozen.nbytes + _ALIGN, np.uint8)
        shift = (at - raw.ctypes.data) % _ALIGN
        buffer = raw[shift:shift + frozen.nbytes]
        buffer[...] = frozen
        return buffer
    _, buffer, dtype, shape, strides, offset = node
    return np.ndarray(shape, dtype, buffer=_thaw(buffer, memo), offset=offset, strides=strides)


def _nbytes(node: tuple, counted: set[int] | None = None) -> int:
    """The bytes a tree holds (a shared node counted once: ``counted`` holds their identities)."""
    kind = node[0]
    if kind in _SHARED_KINDS and counted is not None:
        if object_key(node) in counted:
            return 0
        counted.add(object_key(node))
    if kind == "alias":
        return _nbytes(node[1], counted) if counted is not None else int(node[1][1].nbytes)
    if kind in ("traced", "array", "traced_view", "buffer"):
        return int(getattr(node[1], "nbytes", 8))
    if kind == "frame":
        return frame_nbytes(node[1])
    if kind == "traced_frame":
        return frame_nbytes(node[1][1])
    if kind in ("tuple", "list"):
        return sum(_nbytes(c, counted) for c in node[1])
    if kind == "dict":
        return sum(_nbytes(c, counted) for _, c in node[1])
    if kind == "estimator" or (kind == "py" and len(node) > 2):
        return max(int(node[2]), 64)
    return 64


class StepReuse:
    """The step hook: reuse whole calls through ``cache``."""

    def __init__(self, cache: LineageCache, *, clock: Callable[[], float] = perf_counter,
                 exact: bool = False) -> None:
        self.cache = cache
        self.clock = clock  # what a step cost (injected: tests pass a fake clock)
        self.exact = exact  # keys in the exact policy's namespace (see exact_key)

    def __call__(self, info: StepInfo, run: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        keyed = step_key(info, args, kwargs, self.exact) if info.reuse else None
        if keyed is None:
            return run(*args, **kwargs)
        key = keyed.key
        cache = self.cache
        value, placeholder = cache.reserve(key)
        if value is not MISS and errors_checked():
            return run(*args, **kwargs)  # (np.errstate(..., "raise") asks for the body's errors)
        if value is not MISS:
            cache.counters.step_hits += 1
            if cache.events.enabled:
                cache.events.add("step_reused", info.qualname, key)
            return _thaw(value.tree, {} if value.shared else None)
        try:
            result = self._run(info, run, args, kwargs, keyed)
        except BaseException:
            cache.abandon(key, placeholder)
            raise
        cache.fulfil(key, placeholder)
        return result

    def _run(self, info: StepInfo, run: Callable[..., Any], args: tuple, kwargs: dict,
             keyed: _Keyed) -> Any:
        cache = self.cache
        key = keyed.key
        t0 = self.clock()
        result, determined = nondeterminism.run_watched(run, *args, **kwargs)
        cost = self.clock() - t0
        cache.counters.step_misses += 1
        if cache.events.enabled:
            cache.events.add("step_computed", info.qualname, key)
        if not determined:
            return result  # drew unseeded randomness, read a file, ran an opaque operation: never reused
        if self._wrote(info, keyed):
            return result  # a hit would skip a write the body made: never reused
        given = _argument_returned(result, args, kwargs)
        if given is not None:
            # ``model.fit(X, y); return model``: a hit would hand out a copy and leave the argument
            # as the call found it (unfitted), where the body returns the argument itself (a
            # reviewer's finding once fitted estimators were kept)
            self._warn_unkept(info, result, f"returned its argument {_argument_name(info, given)} itself "
                                            "(a cached call would hand out a copy and leave the argument as "
                                            "it found it)")
            return result
        try:
            shared = _shared_nodes(result, keyed.arrays)
        except _Unkept:
            self._warn_unkept(info, result, "returned arrays that are views of one another, of a kind "
                                            "(an ndarray subclass, StringDType) whose views a cached call "
                                            "cannot hand out again")
            return result
        tree = _freeze_tree(result, keyed.arrays, shared)
        if tree is None:
            self._warn_unkept(info, result)
            return result
        frozen = Frozen(tree, _nbytes(tree, set() if shared else None), shared is not None)
        cache.put(key, frozen, cost, max(frozen.nbytes, 64), keyed.height + 1)
        # (handed out as a hit is: views of one another rebuilt, each shared output once)
        return _thaw(tree, {} if shared else None)

    def _wrote(self, info: StepInfo, keyed: _Keyed) -> bool:
        """Whether the body wrote into an argument (warned of once per step) or changed what the
        function's identity reads: skipping it on a later call would change what the program computes."""
        written = keyed.written()
        if written is not None:
            where, how = written
            if how == _WRITTEN:
                self._warn(info, f"wrote into its argument {_argument_name(info, where)}")
            return True
        if info.function is None:
            return False
        try:
            # A global, a closure cell, a default or the object a method is bound to, changed: the
            # next call has another key anyway (no warning: a step logging to a closure list is
            # common, and a body's first import changes it too), but a call made after the value
            # went back to what it was (``log.clear()``) would find this one and skip the write.
            return hash_function(info.function) != keyed.identity
        except FingerprintError:
            return True  # it put something without a fingerprint where it reads

    @staticmethod
    def _warn_unkept(info: StepInfo, result: Any, why: str | None = None) -> None:
        """Once per step: its result holds something a call cannot be kept with (a newcomer's step
        returning a dict with int keys was never reused, and nothing said why)."""
        key = f"{info.qualname}:result"
        if key in REUSE.warned:
            return
        REUSE.warned.add(key)
        said = why or f"returned {_unkept(result)}, which a cached call cannot hold"
        warnings.warn(f"step {info.qualname} {said}: its calls run every time; return arrays, frames, "
                      "numbers, strings, fitted estimators it made, or tuples, lists and string-keyed "
                      "dicts of them (@mc.step(reuse=False) silences this)", MLContextWarning,
                      stacklevel=_user_stacklevel())

    @staticmethod
    def _warn(info: StepInfo, what: str) -> None:
        # Once per step for the process (mc._reset_state() forgets them).
        if info.qualname in REUSE.warned:
            return
        REUSE.warned.add(info.qualname)
        warnings.warn(f"step {info.qualname} {what} in place: a call that does is not reused, since "
                      "a call served from the cache would skip that write; return the new value "
                      "instead, or pass a copy (@mc.step(reuse=False) silences this)",
                      StepSideEffectWarning, stacklevel=_user_stacklevel())


def _argument_returned(result: Any, args: tuple, kwargs: dict) -> int | str | None:
    """The position or keyword of an argument the result is, or holds in a tuple, list or dict
    (an array is kept as a copy: only objects handed back whole matter), else None."""
    given = {id(v): k for k, v in [*enumerate(args), *kwargs.items()]
             if not isinstance(v, _IMMUTABLE | np.ndarray | np.generic | pd.DataFrame | pd.Series)
             and type(v) not in (TracedArray, TracedFrame, TracedSeries)}  # (values that never change)
    if not given:
        return None
    parts = list(result.values()) if type(result) is dict else list(result) \
        if type(result) in (tuple, list) else []
    for part in (result, *parts):
        if id(part) in given:
            return given[id(part)]
    return None


def _unkept(x: Any, depth: int = 0) -> str:
    """What in a step's result cannot be kept: ``a dict with int keys``, ``a set``, ``an object array``."""
    t = type(x)
    if depth < 8:
        if t is tuple or t is list:
            for v in x:
                if _freeze_tree(v, []) is None:
                    return _unkept(v, depth + 1)
        if t is dict:
            if not all(type(k) is str for k in x):
                bad = next(k for k in x if type(k) is not str)
                return f"a dict with {type(bad).__name__} keys"
            for v in x.values():
                if _freeze_tree(v, []) is None:
                    return _unkept(v, depth + 1)
    if isinstance(x, np.ndarray) and x.dtype.hasobject:
        return "an object array"
    if isinstance(x, pd.DataFrame | pd.Series | TracedFrame | TracedSeries):
        return "a frame holding mutable objects in its cells"
    name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _argument_name(info: StepInfo, where: int | str) -> str:
    """``'X'`` for the argument at position or keyword ``where``, by the function's signature."""
    if isinstance(where, str):
        return repr(where)
    try:
        params = list(inspect.signature(info.function).parameters.values()) \
            if info.function is not None else []
    except (TypeError, ValueError):
        params = []
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if where < len(positional):
        return repr(positional[where].name)
    star = next((p for p in params if p.kind is p.VAR_POSITIONAL), None)
    if star is not None:
        return f"{star.name}[{where - len(positional)}]"
    return f"at position {where}"


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside mlcontext (the line calling the step)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("mlcontext"):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
