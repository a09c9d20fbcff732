"""The index of the persistent lineage cache: ``cache_entries`` rows over a metadata store.

A row maps a lineage hash to the artifact holding its value, per writer (each writer's row is signed by
that writer, see :mod:`.identity`), with the measured compute cost, the size, the hits and the compute
time they saved. Kept out of :mod:`.metadata` so that the store's core stays
small; every function takes the :class:`~.metadata.MetadataStore` it works on.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from . import schema as t
from .metadata import MetadataStore

__all__ = ["CacheIndexEntry", "CacheSummary", "put_entry", "get_entries", "record_hit", "delete_entry",
           "all_keys", "summary", "clear"]


@dataclass(frozen=True, slots=True)
class CacheIndexEntry:
    lineage_hash: str
    writer_key: str
    writer: str
    signature: str
    artifact_hash: str
    cost: float
    size: int
    hits: int
    saved: float


@dataclass(frozen=True, slots=True)
class CacheSummary:
    """What the persistent tier holds: entries, bytes, hits and the compute time they saved."""

    entries: int
    bytes: int
    hits: int
    saved_s: float
    cost_s: float


def put_entry(store: MetadataStore, lineage_hash: str, artifact_hash: str, *, cost: float, size: int,
              writer_key: str, writer: str, signature: str, kind: str = "cache") -> None:
    """Insert the artifact row and the writer's entry (replacing this writer's earlier entry)."""
    now = time.time()
    with store.write() as conn:
        art = store._insert(t.Artifact).values(hash=artifact_hash, size=size, kind=kind, created_at=now,
                                                meta={})
        conn.execute(art.on_conflict_do_nothing(index_elements=["hash"]))
        row = store._insert(t.CacheEntry).values(
            lineage_hash=lineage_hash, writer_key=writer_key, writer=writer, signature=signature,
            artifact_hash=artifact_hash, cost=cost, size=size, hits=0, saved=0.0, created_at=now,
            last_hit_at=None)
        conn.execute(row.on_conflict_do_update(
            index_elements=["lineage_hash", "writer_key"],
            set_={"artifact_hash": artifact_hash, "signature": signature, "writer": writer, "cost": cost,
                  "size": size}))


def get_entries(store: MetadataStore, lineage_hash: str,
                writer_keys: Collection[str]) -> list[CacheIndexEntry]:
    """The entries for ``lineage_hash`` written by any of ``writer_keys``."""
    c = t.CacheEntry
    with store.read() as conn:
        rows = conn.execute(sa.select(c.lineage_hash, c.writer_key, c.writer, c.signature, c.artifact_hash,
                                      c.cost, c.size, c.hits, c.saved)
                            .where(c.lineage_hash == lineage_hash, c.writer_key.in_(list(writer_keys))))
        return [CacheIndexEntry(*row) for row in rows]


def record_hit(store: MetadataStore, lineage_hash: str, writer_key: str, saved: float) -> None:
    c = t.CacheEntry
    with store.write() as conn:
        conn.execute(sa.update(c).where(c.lineage_hash == lineage_hash, c.writer_key == writer_key)
                     .values(hits=c.hits + 1, saved=c.saved + saved, last_hit_at=time.time()))


def delete_entry(store: MetadataStore, lineage_hash: str, writer_key: str | None = None) -> None:
    """Delete ``writer_key``'s entry for ``lineage_hash`` (every writer's when ``None``)."""
    c = t.CacheEntry
    where = [c.lineage_hash == lineage_hash] + ([] if writer_key is None else [c.writer_key == writer_key])
    with store.write() as conn:
        conn.execute(sa.delete(c).where(*where))


def all_keys(store: MetadataStore, writer_keys: Collection[str] | None = None) -> set[str]:
    """Lineage hashes with an entry by any of ``writer_keys`` (by anyone when ``None``)."""
    c = t.CacheEntry
    query = sa.select(c.lineage_hash).distinct()
    if writer_keys is not None:
        query = query.where(c.writer_key.in_(list(writer_keys)))
    with store.read() as conn:
        return set(conn.execute(query).scalars())


def summary(store: MetadataStore) -> CacheSummary:
    c = t.CacheEntry
    with store.read() as conn:
        n, size, hits, saved, cost = conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(c.size), 0),
            sa.func.coalesce(sa.func.sum(c.hits), 0), sa.func.coalesce(sa.func.sum(c.saved), 0.0),
            sa.func.coalesce(sa.func.sum(c.cost), 0.0))).one()
    return CacheSummary(int(n), int(size), int(hits), float(saved), float(cost))


def clear(store: MetadataStore) -> list[str]:
    """Delete every entry; return the artifact hashes they pointed to (the caller may delete them)."""
    with store.write() as conn:
        hashes = list(conn.execute(sa.select(t.CacheEntry.artifact_hash)).scalars())
        conn.execute(sa.delete(t.CacheEntry))
    return hashes
