"""Counters of the reuse layer (:func:`mlcontext.reuse_stats`) and the optional event log.

The event log records, per traced operation or step call, whether it was computed or reused; tests
assert on it hamilton-style (``did=[...], did_not=[...]``) instead of timing anything.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import NamedTuple

__all__ = ["ReuseStats", "Counters", "Event"]


@dataclass(frozen=True, slots=True)
class ReuseStats:
    """A snapshot of the reuse counters.

    Attributes
    ----------
    hits, partial_hits, misses : int
        Operations served from the cache, computed from cached pieces by a rewrite, or computed.
    deferred : int
        Stacks (and their transposes) left uncomputed until something needs their elements: the
        partial rewrites compute products of them block by block instead.
    step_hits, step_misses : int
        ``@mc.step`` calls reused as a whole, or run.
    persistent_hits, persistent_writes, corrupted : int
        Entries read from / written to the persistent tier; persisted entries found corrupted
        (discarded and recomputed).
    evictions, spills, spill_reads : int
        Entries dropped from memory, written to disk on eviction, read back from disk.
    waits : int
        Times a thread waited for a value another thread was computing (placeholders).
    saved_s : float
        Measured compute time of the reused entries (full and step hits; partial hits not counted).
    entries, bytes : int
        What the in-memory tier holds now.

    Examples
    --------
    >>> import numpy as np
    >>> X = mc.array(np.ones((40, 40)))
    >>> mc.reuse_clear()
    >>> with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0):
    ...     _ = X @ X
    ...     _ = X @ X
    >>> stats = mc.reuse_stats()
    >>> stats.hits, stats.misses
    (1, 1)
    """

    hits: int = 0
    partial_hits: int = 0
    misses: int = 0
    deferred: int = 0
    step_hits: int = 0
    step_misses: int = 0
    persistent_hits: int = 0
    persistent_writes: int = 0
    corrupted: int = 0
    evictions: int = 0
    spills: int = 0
    spill_reads: int = 0
    waits: int = 0
    saved_s: float = 0.0
    entries: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Counters:
    """Mutable counters; increments happen under the cache lock or are plain int adds (GIL-atomic
    enough for statistics). The fields are :class:`ReuseStats`'s but ``entries`` and ``bytes``, which
    the cache itself knows."""

    hits: int
    partial_hits: int
    misses: int
    deferred: int
    step_hits: int
    step_misses: int
    persistent_hits: int
    persistent_writes: int
    corrupted: int
    evictions: int
    spills: int
    spill_reads: int
    waits: int
    saved_s: float

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        for f in fields(ReuseStats):
            if f.name not in ("entries", "bytes"):
                setattr(self, f.name, 0.0 if f.name == "saved_s" else 0)

    def snapshot(self, entries: int, nbytes: int) -> ReuseStats:
        values = {f.name: getattr(self, f.name) for f in fields(ReuseStats)
                  if f.name not in ("entries", "bytes")}
        return ReuseStats(**values, entries=entries, bytes=nbytes)


class Event(NamedTuple):
    """One entry of the event log: ``kind`` is ``computed``, ``reused``, ``partial``, ``deferred``,
    ``step_computed`` or ``step_reused``; ``name`` the opcode or step name; ``key`` the lineage hash."""

    kind: str
    name: str
    key: str


class EventLog:
    """A bounded, thread-safe list of events, recorded only while enabled."""

    def __init__(self) -> None:
        self.enabled = False
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def add(self, kind: str, name: str, key: bytes) -> None:
        with self._lock:
            if len(self._events) < 1_000_000:
                self._events.append(Event(kind, name, key.hex()))

    def take(self) -> list[Event]:
        with self._lock:
            events, self._events = self._events, []
        return events
