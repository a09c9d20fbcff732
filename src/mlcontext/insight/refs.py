"""Naming things in questions: ``trips@2``, ``trips`` (latest), ``RUN:ARTIFACT``, or a content hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import NotFoundError
from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..tracking.refs import artifact_ref

__all__ = ["Resolved", "resolve_artifact", "describe_hashes"]

_HEX = set("0123456789abcdef")


@dataclass(frozen=True)
class Resolved:
    """An artifact a question is about: its hash and a human label."""

    hash: str
    label: str
    dataset: str | None = None
    version: int | None = None
    #: The run of a ``RUN:NAME`` reference: identical bytes saved by several runs are one artifact,
    #: but its derivation is the one this run recorded.
    run_id: str | None = None


def resolve_artifact(store: Store, ref: Any, project: str | None = None) -> Resolved:
    """Resolve ``ref``: a dataset (``trips``, ``trips@2``), ``RUN:NAME`` (an artifact of a run), a hash,
    a ``DatasetVersion`` or an ``ArtifactRef``."""
    ref, project = artifact_ref(ref, project)
    context = ContextStore(store.metadata)
    if len(ref) == 32 and set(ref) <= _HEX:
        return Resolved(ref, describe_hashes(store, [ref])[ref])
    if ":" in ref:
        run_ref, _, name = ref.partition(":")
        record = store.metadata.get_run(run_ref)
        for artifact in reversed(record.artifacts):
            if artifact.name == name:
                return Resolved(artifact.hash, f"{name} (run {record.id[:8]})", run_id=record.id)
        raise NotFoundError(f"run {record.id[:8]} has no artifact {name!r}")
    name, _, number = ref.partition("@")
    if number and not number.isdigit():
        raise NotFoundError(f"{ref!r}: a version is a number, as in trips@2")
    version = context.version(name, int(number) if number else None, project)
    return Resolved(version.artifact_hash, version.ref, version.name, version.version)


def describe_hashes(store: Store, hashes: list[str]) -> dict[str, str]:
    """A label for each hash: its dataset version, else the name a run gave it, else a short hash."""
    hashes = list(dict.fromkeys(hashes))
    labels = {h: h[:12] for h in hashes}
    if not hashes:
        return labels
    with store.metadata.read() as conn:
        rows = conn.execute(select(t.RunArtifact.artifact_hash, t.RunArtifact.name, t.RunArtifact.run_id)
                            .where(t.RunArtifact.artifact_hash.in_(hashes))
                            .order_by(t.RunArtifact.id)).all()
        files = conn.execute(select(t.Artifact.hash, t.Artifact.meta)
                             .where(t.Artifact.hash.in_(hashes), t.Artifact.kind == "file")).all()
    for digest, meta in files:
        source = (meta or {}).get("source")
        if source:
            labels[digest] = source.rsplit("/", 1)[-1]
    for digest, name, run_id in rows:
        if labels[digest] == digest[:12]:
            labels[digest] = f"{name} (run {run_id[:8]})"
    for digest, version in ContextStore(store.metadata).versions_by_hash(hashes).items():
        if digest in labels:
            labels[digest] = version.ref
    return labels
