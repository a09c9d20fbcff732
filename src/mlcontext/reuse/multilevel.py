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
* the step was declared ``@mc.step(reuse=False)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd
import xxhash

from ..errors import FingerprintError
from ..fingerprint import hash_array, hash_function, hash_value, unidentified
from ..lineage import nondeterminism
from ..lineage.layout import layout_of
from ..lineage.step import StepInfo
from ..ops.pandas_frame import TracedFrame, TracedSeries, frame_nbytes
from ..ops.traced import TracedArray
from .cache import EXACT_PREFIX, MISS, LineageCache
from .freeze import freeze_array
from .persistent import Frozen

__all__ = ["StepReuse", "step_key"]


def step_key(info: StepInfo, args: tuple, kwargs: dict,
             exact: bool = False) -> tuple[bytes, int, list] | None:
    """``(key, max input height, input arrays)`` of a call, or ``None`` if an argument cannot be
    fingerprinted. ``exact``: the key in the ``exact`` policy's namespace (``cache.EXACT_PREFIX``)."""
    h = xxhash.xxh3_128(EXACT_PREFIX if exact else b"")
    try:
        identity = info.code_hash if info.function is None else hash_function(info.function)
    except FingerprintError as exc:
        unidentified(f"step {info.qualname}", exc)
        return None
    h.update(b"lineage.step\x00%s\x00%s\x00" % (info.qualname.encode(), identity.encode()))
    height = 0
    arrays: list = []

    def feed(x: Any) -> None:
        nonlocal height
        t = type(x)
        if t is TracedArray:
            h.update(b"r" + x._item.digest)
            height = max(height, x._item.height)
            arrays.append(x._value)  # outputs sharing memory with an input are copied before caching
        elif t is TracedFrame or t is TracedSeries:
            h.update(b"f" + x._item.digest)
            height = max(height, x._item.height)
        elif t is np.ndarray:
            h.update(b"a" + hash_array(x).encode())
            layout = layout_of(x)  # a Fortran-ordered or strided input gives results laid out so
            if layout is not None:
                h.update(b"@" + layout.encode() + b"\x00")
            arrays.append(x)
        elif isinstance(x, np.ndarray):  # np.matrix, masked arrays: their class and mask count too
            h.update(b"v" + hash_value(x).encode())
            arrays.append(x)
        elif t is tuple or t is list:
            h.update(b"(%d" % len(x))
            for v in x:
                feed(v)
            h.update(b")")
        elif t is dict and all(type(k) is str for k in x):
            h.update(b"{%d" % len(x))
            for k in x:  # in order: dicts are ordered and a step may depend on it (list(w.values()))
                h.update(k.encode() + b"\x00")
                feed(x[k])
            h.update(b"}")
        else:
            h.update(b"v" + hash_value(x).encode())

    try:
        feed(args)
        feed(kwargs)
    except FingerprintError as exc:
        unidentified(f"a call of step {info.qualname}", exc)
        return None
    return h.digest(), height, arrays


def _freeze_tree(x: Any, inputs: list) -> tuple | None:
    t = type(x)
    if t is TracedArray:
        v = x._value
        if isinstance(v, np.ndarray):
            return ("traced", freeze_array(v, tuple(inputs)), x._item)
        return ("traced", v, x._item)
    if isinstance(x, np.ndarray):
        return None if x.dtype.hasobject else ("array", freeze_array(x.copy(order="K")))
    if isinstance(x, np.generic):
        return ("scalar", x)
    if t is TracedFrame or t is TracedSeries:
        # (deep copies both ways, as for plain arrays: a plain frame the caller gets back, or one
        # taken out of a traced frame, may be written in place when pandas' copy-on-write is off)
        value = x._value
        return ("traced_frame", (t, value.copy(deep=True), x._item)) if _immutable_cells(value) else None
    if isinstance(x, pd.DataFrame | pd.Series):
        return ("frame", x.copy(deep=True)) if _immutable_cells(x) else None
    if x is None or t in (int, float, str, bool):
        return ("py", x)
    if t is tuple or t is list:
        parts = [_freeze_tree(v, inputs) for v in x]
        return None if any(p is None for p in parts) else (t.__name__, parts)
    if t is dict and all(type(k) is str for k in x):
        pairs = [(k, _freeze_tree(v, inputs)) for k, v in x.items()]
        return None if any(p is None for _, p in pairs) else ("dict", pairs)
    return None


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


def _thaw(node: tuple) -> Any:
    kind = node[0]
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
        return tuple(_thaw(c) for c in node[1])
    if kind == "list":
        return [_thaw(c) for c in node[1]]
    return {k: _thaw(c) for k, c in node[1]}


def _nbytes(node: tuple) -> int:
    kind = node[0]
    if kind in ("traced", "array"):
        return int(getattr(node[1], "nbytes", 8))
    if kind == "frame":
        return frame_nbytes(node[1])
    if kind == "traced_frame":
        return frame_nbytes(node[1][1])
    if kind in ("tuple", "list"):
        return sum(_nbytes(c) for c in node[1])
    if kind == "dict":
        return sum(_nbytes(c) for _, c in node[1])
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
        key, height, inputs = keyed
        cache = self.cache
        value, placeholder = cache.reserve(key)
        if value is not MISS:
            cache.counters.step_hits += 1
            if cache.events.enabled:
                cache.events.add("step_reused", info.qualname, key)
            return _thaw(value.tree)
        try:
            result = self._run(info, run, args, kwargs, key, height, inputs)
        except BaseException:
            cache.abandon(key, placeholder)
            raise
        cache.fulfil(key, placeholder)
        return result

    def _run(self, info: StepInfo, run: Callable[..., Any], args: tuple, kwargs: dict, key: bytes,
             height: int, inputs: list) -> Any:
        cache = self.cache
        t0 = self.clock()
        result, determined = nondeterminism.run_watched(run, *args, **kwargs)
        cost = self.clock() - t0
        cache.counters.step_misses += 1
        if cache.events.enabled:
            cache.events.add("step_computed", info.qualname, key)
        if not determined:
            return result  # drew unseeded randomness, read a file, ran an opaque operation: never reused
        tree = _freeze_tree(result, inputs)
        if tree is None:
            return result
        frozen = Frozen(tree, _nbytes(tree))
        cache.put(key, frozen, cost, max(frozen.nbytes, 64), height + 1)
        return _thaw(tree)
