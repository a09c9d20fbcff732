"""The persistent tier of the lineage cache on a store: values in the artifact store, indexed by
lineage hash in ``cache_entries`` (:mod:`mlcontext.store.cache_index`).

This is the :class:`~mlcontext.reuse.PersistentTier` that ``mc.reuse(persist=True)`` uses with the
default store: another process (another run, another person sharing the store) finds the entries by
the same lineage hashes.

Entries are signed by their writer (:mod:`mlcontext.store.identity`) and a reader uses only entries of
writers it trusts, whose signature verifies: itself, plus the team keys in ``MLCONTEXT_TRUST`` or
``trust=``. Anyone else who can write to the store (or a wrong row written by hand) cannot make this
process reuse their bytes. Reads are verified by the artifact store (xxh3-128 of the bytes): a damaged
entry is deleted from the index and reported, and the reuse layer recomputes the value (and persists it
again, which rewrites the damaged bytes).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from ..errors import ArtifactCorruptedError, NotFoundError
from ..store import Store
from ..store import cache_index as index
from ..store.identity import WriterKey, entry_message, load_writer_key, parse_trust, verify
from .environment import current_user

__all__ = ["StoreTier", "cache_summary", "clear_cache", "default_tier", "writer_key"]


def writer_key() -> WriterKey:
    """This user's signing key for the shared reuse cache (created on first use)."""
    return load_writer_key(current_user())


class StoreTier:
    """A :class:`~mlcontext.reuse.PersistentTier` on a :class:`~mlcontext.store.Store`.

    Parameters
    ----------
    store
        The store holding the entries.
    trust
        Writers whose entries are reused besides this process's own: ``"name:key,..."``, ``{name: key}``
        or ``["name:key", ...]``; default ``MLCONTEXT_TRUST``.
    key
        The signing key of this process (default :func:`writer_key`).

    Raises
    ------
    ConfigError
        ``trust`` is malformed, or the signing key cannot be read or created.
    """

    def __init__(self, store: Store, *, trust: str | Mapping[str, str] | Iterable[str] | None = None,
                 key: WriterKey | None = None) -> None:
        self.store = store
        self.key = key or writer_key()
        self.trusted = parse_trust(os.environ.get("MLCONTEXT_TRUST") if trust is None else trust)
        self.trusted[self.key.public] = self.key.name
        self._served: dict[str, str] = {}  # lineage hash -> writer key of the entry last read

    def keys(self) -> set[str]:
        return index.all_keys(self.store.metadata, self.trusted)

    def get(self, key: str) -> tuple[bytes, float] | None:
        entry = self._trusted_entry(key)
        if entry is None:
            return None
        self._served[key] = entry.writer_key
        try:
            data = self.store.artifacts.get(entry.artifact_hash)
        except ArtifactCorruptedError:
            self.discard(key)
            raise
        except (NotFoundError, FileNotFoundError):
            self.discard(key)
            return None
        return data, entry.cost

    def _trusted_entry(self, key: str) -> index.CacheIndexEntry | None:
        """This writer's own entry first, else a trusted writer's, whose signature verifies."""
        entries = index.get_entries(self.store.metadata, key, self.trusted)
        entries.sort(key=lambda e: e.writer_key != self.key.public)
        for entry in entries:
            message = entry_message(entry.lineage_hash, entry.artifact_hash, entry.writer)
            if verify(entry.writer_key, message, entry.signature):
                return entry
        return None

    def put(self, key: str, data: bytes, cost_s: float, size: int) -> None:
        digest = self.store.artifacts.put(data)
        signature = self.key.sign(entry_message(key, digest, self.key.name))
        index.put_entry(self.store.metadata, key, digest, cost=cost_s, size=len(data),
                        writer_key=self.key.public, writer=self.key.name, signature=signature)

    def hit(self, key: str, saved_s: float) -> None:
        index.record_hit(self.store.metadata, key, self._served.get(key, self.key.public), saved_s)

    def discard(self, key: str) -> None:
        """Delete the entry last read for ``key`` (its bytes are damaged or cannot be decoded)."""
        index.delete_entry(self.store.metadata, key, self._served.pop(key, self.key.public))


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


def default_tier() -> StoreTier:
    """The default store's tier: what ``mc.reuse(persist=True)`` uses when no ``tier=`` is given
    (``mlcontext``'s package wires it into the reuse layer)."""
    from .stores import get_store

    return StoreTier(get_store())
