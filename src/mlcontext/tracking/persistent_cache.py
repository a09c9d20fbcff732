"""The persistent tier of the lineage cache on a store: values in the artifact store, indexed by
lineage hash in ``cache_entries`` (:mod:`mlcontext.store.cache_index`).

This is the :class:`~mlcontext.reuse.PersistentTier` that ``mc.reuse(persist=True)`` uses with the
default store: another process (another run, another person sharing the store) finds the entries by
the same lineage hashes. Reads are verified by the artifact store (xxh3-128 of the bytes): a corrupted
entry is deleted from the index and reported, and the reuse layer recomputes the value.
"""

from __future__ import annotations

from ..errors import ArtifactCorruptedError, NotFoundError
from ..reuse.api import set_tier_factory
from ..store import Store
from ..store import cache_index as index

__all__ = ["StoreTier", "cache_summary", "clear_cache"]


class StoreTier:
    """A :class:`~mlcontext.reuse.PersistentTier` on a :class:`~mlcontext.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def keys(self) -> set[str]:
        return index.all_keys(self.store.metadata)

    def get(self, key: str) -> tuple[bytes, float] | None:
        entry = index.get_entry(self.store.metadata, key)
        if entry is None:
            return None
        try:
            data = self.store.artifacts.get(entry.artifact_hash)
        except ArtifactCorruptedError:
            self.discard(key)
            raise
        except (NotFoundError, FileNotFoundError):
            self.discard(key)
            return None
        return data, entry.cost

    def put(self, key: str, data: bytes, cost_s: float, size: int) -> None:
        digest = self.store.artifacts.put(data)
        index.put_entry(self.store.metadata, key, digest, cost=cost_s, size=len(data))

    def hit(self, key: str, saved_s: float) -> None:
        index.record_hit(self.store.metadata, key, saved_s)

    def discard(self, key: str) -> None:
        index.delete_entry(self.store.metadata, key)


def cache_summary(store: Store | None = None) -> index.CacheSummary:
    """Entries, bytes, hits and saved compute time of the persistent tier of ``store`` (the default
    store when omitted)."""
    from .stores import get_store

    return index.summary((store or get_store()).metadata)


def clear_cache(store: Store | None = None) -> int:
    """Delete every persistent cache entry; return how many. The artifact bytes stay: the same
    content may be an artifact of a run too."""
    from .stores import get_store

    return len(index.clear((store or get_store()).metadata))


def _default_tier() -> StoreTier:
    from .stores import get_store

    return StoreTier(get_store())


set_tier_factory(_default_tier)
