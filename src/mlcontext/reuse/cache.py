"""The lineage cache: values by lineage hash, with placeholders, cost-based eviction, spill and a
persistent tier behind it (LIMA §5, after Apache SystemDS's ``LineageCache``).

An entry is keyed by the 16-byte digest of a lineage item (or of a step call). It remembers the
measured compute time, the size, the height of the item in the DAG, its hits and when it was last
used. Three tiers, probed in order: memory, the spill folder, the persistent tier.

Threads: :meth:`LineageCache.reserve` either returns a value, or makes the caller the producer of the
key (a placeholder); other threads asking for that key wait until the producer :meth:`fulfil`\\ s it,
or, if the producer :meth:`abandon`\\ s it (it failed), compute it themselves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from ..errors import ArtifactCorruptedError
from ..fingerprint import persistent_key
from ..lineage.nondeterminism import not_watching
from .config import ReuseConfig
from .eviction import score_function
from .persistent import PersistentTier, decode_value, encode_value
from .spill import SpillFolder, npy_keeps_layout
from .stats import Counters, EventLog, ReuseStats

__all__ = ["LineageCache", "Entry", "MISS", "Placeholder"]


class _Miss:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISS"


MISS: Any = _Miss()

_SEEN_MAX = 200_000  # keys remembered for delayed admission (16 bytes each)

# The ``exact`` policy keeps its entries apart from the other policies' (in memory and in the
# persistent tier): an entry does not record how it was made, and a product the partial rewrites
# computed block by block (or a step whose body used one) rounds differently from NumPy's own.
EXACT_PREFIX = b"mlcontext.reuse.exact\x00"


def exact_key(digest: bytes) -> bytes:
    """The key of lineage hash ``digest`` in the ``exact`` policy's namespace (16 bytes)."""
    return xxhash.xxh3_128_digest(EXACT_PREFIX + digest)


@dataclass(slots=True, eq=False)
class Entry:
    """One cached value (``value`` is ``None`` while it is spilled to disk)."""

    key: bytes
    value: Any
    cost: float
    size: int
    height: int
    last: int
    hits: int = 0
    spilled: tuple[str, str] | None = None  # (file name, digest of its bytes)


class Placeholder:
    """A key being computed by one thread; waiters block on ``event`` (made by the first waiter:
    most keys are never waited for, and an Event costs more than the probe)."""

    __slots__ = ("event", "failed")

    def __init__(self) -> None:
        self.event: threading.Event | None = None
        self.failed = False


class LineageCache:
    """Values by lineage digest in memory, on local disk and in an optional persistent tier."""

    def __init__(self, config: ReuseConfig | None = None, tier: PersistentTier | None = None) -> None:
        self.config = config or ReuseConfig()
        self.tier = tier
        self._tier_keys: set[str] = set()
        self.entries: dict[bytes, Entry] = {}
        self._pending: dict[bytes, Placeholder] = {}
        # keys computed once and not admitted (delayed admission) -> their compute time
        self._seen: dict[bytes, float] = {}
        self._lock = threading.RLock()
        self._bytes = 0
        self._tick = 0
        self.counters = Counters()
        self.events = EventLog()
        self.spill_folder = SpillFolder(self.config.spill_dir)
        self._score = score_function(self.config.eviction)
        if tier is not None:
            self.refresh_tier()

    # -- configuration ---------------------------------------------------------------------------
    def configure(self, config: ReuseConfig) -> None:
        with self._lock:
            self.config = config
            self._score = score_function(config.eviction)
            if config.spill_dir != self.spill_folder._given:
                self.spill_folder = SpillFolder(config.spill_dir)
            self._evict()

    def attach_tier(self, tier: PersistentTier | None) -> None:
        """Use ``tier`` as the persistent tier (``None``: none)."""
        with self._lock:
            self.tier = tier
            self._tier_keys = set()
        if tier is not None:
            self.refresh_tier()

    def refresh_tier(self) -> None:
        """Re-read the keys the persistent tier holds (entries written by other processes)."""
        if self.tier is not None:
            keys = self.tier.keys()
            with self._lock:
                self._tier_keys = set(keys)

    # -- lookups ---------------------------------------------------------------------------------
    def get(self, key: bytes) -> Any:
        """The value of ``key`` from any tier, or :data:`MISS`; counts a hit."""
        with self._lock:
            e = self.entries.get(key)
            if e is not None:
                return self._hit(e)
        return self._from_tier(key)

    def peek(self, key: bytes) -> Any:
        """The in-memory value of ``key`` or :data:`MISS`, counting nothing (rewrites probe pieces)."""
        e = self.entries.get(key)
        if e is None or e.value is None:
            return MISS
        return e.value

    def reserve(self, key: bytes) -> tuple[Any, Placeholder | None]:
        """``(value, None)`` on a hit; ``(MISS, placeholder)`` when the caller must compute ``key``
        and then :meth:`fulfil` or :meth:`abandon` the placeholder."""
        while True:
            with self._lock:
                e = self.entries.get(key)
                if e is not None:
                    value = self._hit(e)
                    if value is not MISS:
                        return value, None
                waiting = self._pending.get(key)
                if waiting is None:
                    if not self._tier_keys or persistent_key(key) not in self._tier_keys:
                        p = self._pending[key] = Placeholder()
                        return MISS, p
                elif waiting.event is None:
                    waiting.event = threading.Event()
                event = waiting.event if waiting is not None else None
            if waiting is None:  # only the persistent tier may have it: read outside the lock
                value = self._from_tier(key)
                if value is not MISS:
                    return value, None
                with self._lock:
                    self._tier_keys.discard(persistent_key(key))
                continue
            self.counters.waits += 1
            event.wait()  # type: ignore[union-attr]
            if not waiting.failed:
                continue  # the value is in the cache now (unless it was not worth caching)
            # The producer failed: loop, and one of the waiters becomes the new producer.

    def fulfil(self, key: bytes, placeholder: Placeholder | None) -> None:
        """Release the waiters of ``key`` (call after :meth:`put`, or when the value is not cached)."""
        if placeholder is None:
            return
        with self._lock:
            if self._pending.get(key) is placeholder:
                del self._pending[key]
            event = placeholder.event
        if event is not None:
            event.set()

    def abandon(self, key: bytes, placeholder: Placeholder | None) -> None:
        """The producer failed: waiters compute the value themselves."""
        if placeholder is None:
            return
        placeholder.failed = True
        self.fulfil(key, placeholder)

    # -- admission -------------------------------------------------------------------------------
    def worth_admitting(self, key: bytes, cost: float, size: int) -> bool:
        """Cache a value expensive for its size at once; a cheap one the second time its key comes
        round (LIMA's delayed caching: a pipeline without redundancy then keeps nothing)."""
        if cost >= size * self.config.eager_s_per_byte:
            return True
        with self._lock:
            waiting = self._pending.get(key)
            if waiting is not None and waiting.event is not None:
                return True  # another thread is waiting for this very value: reuse already
            seen = self._seen
            if key in seen:
                del seen[key]
                return True
            if len(seen) >= _SEEN_MAX:
                for k in list(seen)[: _SEEN_MAX // 2]:  # oldest first (dicts keep insertion order)
                    seen.pop(k, None)
            seen[key] = cost
            return False

    def seen_once(self, key: bytes, at_most: float = float("inf")) -> float | None:
        """The compute time of ``key`` if it was computed once, not admitted, and took at most
        ``at_most`` seconds (then it is forgotten as seen), else None."""
        if key not in self._seen:  # (the common answer, without the lock: a miss only skips a put)
            return None
        with self._lock:
            cost = self._seen.get(key)
            if cost is None or cost > at_most:
                return None
            del self._seen[key]
            return cost

    def put(self, key: bytes, value: Any, cost: float, size: int, height: int = 0, *,
            persist: bool = True) -> bool:
        """Admit ``value`` (read-only already) if it fits the budget; maybe persist it."""
        config = self.config
        if size > config.budget:
            return False
        with self._lock:
            old = self.entries.get(key)
            if old is not None:
                return True
            self._tick += 1
            self.entries[key] = Entry(key, value, cost, size, height, self._tick)
            self._bytes += size
            if self._bytes > config.budget:
                self._evict()
        if persist and config.persist and self.tier is not None and cost >= config.persist_min_s:
            self._persist(key, value, cost, size)
        return True

    def _persist(self, key: bytes, value: Any, cost: float, size: int) -> None:
        if persistent_key(key) in self._tier_keys:
            return
        # Worth it only when reading back beats recomputing.
        if cost < size / self.config.disk_bytes_per_s:
            return
        data = encode_value(value)
        if data is None:
            return
        with not_watching():  # the cache's own reads (a put verifies a stored copy)
            self.tier.put(persistent_key(key), data, cost, size)  # type: ignore[union-attr]
        with self._lock:
            self._tier_keys.add(persistent_key(key))
        self.counters.persistent_writes += 1

    # -- internals -------------------------------------------------------------------------------
    def _hit(self, e: Entry) -> Any:
        # Called under the lock.
        value = e.value
        if value is None:
            value = self._unspill(e)
            if value is MISS:
                return MISS
        e.hits += 1
        self._tick += 1
        e.last = self._tick
        self.counters.saved_s += e.cost
        return value

    def _unspill(self, e: Entry) -> Any:
        name, digest = e.spilled  # type: ignore[misc]
        with not_watching():  # the cache's own read: not one a step body made
            value = self.spill_folder.read(name, digest)
        if value is None:
            del self.entries[e.key]
            return MISS
        self.counters.spill_reads += 1
        e.value, e.spilled = value, None
        self.spill_folder.delete(name)
        self._bytes += e.size
        if self._bytes > self.config.budget:
            self._evict(keep=e.key)
        return value

    def _from_tier(self, key: bytes) -> Any:
        tier = self.tier
        if tier is None or persistent_key(key) not in self._tier_keys:
            return MISS
        hexkey = persistent_key(key)
        cost = 0.0
        try:
            with not_watching():  # the cache's own read: not one a step body made
                got = tier.get(hexkey)
            value = MISS if got is None else decode_value(got[0])
            cost = 0.0 if got is None else got[1]
        except ArtifactCorruptedError:
            value = MISS
            self.counters.corrupted += 1
        except ValueError:
            tier.discard(hexkey)
            value = MISS
            self.counters.corrupted += 1
        if value is MISS:
            with self._lock:
                self._tier_keys.discard(hexkey)
            return MISS
        size = _nbytes(value)
        tier.hit(hexkey, cost)
        self.counters.persistent_hits += 1
        self.counters.saved_s += cost
        self.put(key, value, cost, size, persist=False)
        return value

    def _evict(self, keep: bytes | None = None) -> None:
        # Called under the lock: drop (or spill) the lowest-scored in-memory entries until the
        # resident bytes are back under 90 % of the budget (batching keeps sorting rare).
        config = self.config
        target = int(config.budget * 0.9)
        if self._bytes <= config.budget:
            return
        resident = [e for e in self.entries.values() if e.value is not None and e.key != keep]
        resident.sort(key=self._score)
        for e in resident:
            if self._bytes <= target:
                break
            self._bytes -= e.size
            self.counters.evictions += 1
            if config.spill and self._worth_spilling(e):
                try:
                    e.spilled = self.spill_folder.write(e.key, e.value)
                except OSError:
                    del self.entries[e.key]
                    continue
                e.value = None
                self.counters.spills += 1
            else:
                del self.entries[e.key]

    def _worth_spilling(self, e: Entry) -> bool:
        # Spill when recomputing costs more than reading back; only plain arrays are spilled.
        if not isinstance(e.value, np.ndarray) or e.value.dtype.hasobject or not npy_keeps_layout(e.value):
            return False
        return e.cost > 2e-4 + e.size / self.config.disk_bytes_per_s

    # -- maintenance -----------------------------------------------------------------------------
    def clear(self) -> None:
        """Drop every in-memory and spilled entry (the persistent tier is left alone)."""
        with self._lock:
            for e in self.entries.values():
                if e.spilled is not None:
                    self.spill_folder.delete(e.spilled[0])
            self.entries.clear()
            self._seen.clear()
            self._bytes = 0

    def stats(self) -> ReuseStats:
        with self._lock:
            return self.counters.snapshot(len(self.entries), self._bytes)

    @property
    def nbytes(self) -> int:
        return self._bytes


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray | np.generic):
        return int(value.nbytes)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return 64

