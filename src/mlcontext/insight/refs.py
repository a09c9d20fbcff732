"""Naming things in questions: ``trips@2``, ``trips`` (latest), ``RUN:ARTIFACT``, or a content hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import NotFoundError
from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..tracking.dataset_refs import in_other_projects, version_of_run_artifact, version_row
from ..tracking.refs import artifact_ref, is_hash
from ..tracking.run_refs import no_artifact, run_artifact

__all__ = ["Resolved", "resolve_artifact", "describe_hashes"]


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
    #: The project the reference is in (a dataset version's, a run's), when it names one: bytes that
    #: other projects registered too are followed through this project's runs only.
    project: str | None = None


def resolve_artifact(store: Store, ref: Any, project: str | None = None) -> Resolved:
    """Resolve ``ref``: a dataset (``trips``, ``trips@2``), ``RUN:NAME`` (an artifact of a run), a hash,
    a ``DatasetVersion`` or an ``ArtifactRef``."""
    ref, project = artifact_ref(ref, project)
    if is_hash(ref):
        return _resolve_hash(store, ref, project)
    if ":" in ref:
        record, artifact = run_artifact(store, ref, project)
        if artifact is not None:
            version = version_of_run_artifact(store, record, artifact)
            if version is not None and version.name == artifact.name:  # a dataset version it made or read
                return Resolved(artifact.hash, version.ref, version.name, version.version, run_id=record.id,
                                project=record.project)
            if artifact.direction == "input" and artifact.meta.get("loaded"):
                return _loaded_by(store, record, artifact)
            return Resolved(artifact.hash, f"{artifact.name} (run {record.id[:8]})", run_id=record.id,
                            project=record.project)
        wanted = ref.partition(':')[2]
        raise no_artifact(store, record, wanted, lambda run: f"{run}:{wanted}",
                          f" (`mlcontext show {record.id[:8]}`)")
    # NAME, NAME@VERSION: one resolution for every question, with its errors (a prefix of a hash,
    # a version that does not exist, a name nothing has: each said as such).
    version = version_row(store, ref, project)
    return Resolved(version.artifact_hash, version.ref, version.name, version.version,
                    project=version.project)


def _loaded_by(store: Store, record: Any, artifact: Any) -> Resolved:
    """``RUN:NAME`` of an artifact the run loaded (``mc.load_artifact``): the artifact the run that
    saved it saved, labelled and followed as that run's. The loading run did not make it: its
    lineage, code and metrics are no model's history (a newcomer's scoring run was shown as the run
    of the model it loaded). Identical bytes saved by several runs: no run is picked."""
    savers = [r for r in artifact.meta.get("runs") or [] if isinstance(r, str)]
    if len(savers) == 1:
        try:
            saver = store.metadata.get_run(savers[0])
        except NotFoundError:
            saver = None
        if saver is not None:
            return Resolved(artifact.hash, f"{artifact.name} (run {saver.id[:8]})", run_id=saver.id,
                            project=saver.project)
    return Resolved(artifact.hash, f"{artifact.name} (loaded by run {record.id[:8]})")


def _resolve_hash(store: Store, digest: str, project: str | None) -> Resolved:
    """The node a content hash names. The graph keys a thing by the hash of its stored bytes; a dataset
    version (``versions`` shows its content hash) or an artifact whose lineage identity differs from
    its bytes (an array stored as ``.npy``) is found by either hash. A hash nothing has is an error:
    a graph of a node nobody recorded would be empty, and say nothing about why. Bytes that versions
    of several datasets hold are one node whichever name it is asked by (its lineage does not depend
    on the name), labelled with every one of them (in ``project``, when given): one picked silently
    would say the bytes are only that dataset."""
    context = ContextStore(store.metadata)
    held = [v for v in context.all_versions_by_hash([digest]).get(digest, [])
            if project is None or v.project == project]
    if len(held) == 1:
        version = held[0]
        return Resolved(version.artifact_hash, version.ref, version.name, version.version,
                        project=version.project)
    if held:
        qualify = len({v.project for v in held}) > 1
        label = " = ".join(f"{v.project}/{v.ref}" if qualify else v.ref for v in held)
        return Resolved(held[0].artifact_hash, label)
    beside = in_other_projects(context, digest, project)
    if beside:  # another project's version: said as such, as every other question does
        raise NotFoundError(f"no dataset version has hash {digest} in project {project}{beside}")
    node = _stored_node(store, digest)
    if node is None:
        raise NotFoundError(
            f"no dataset version or artifact has hash {digest}: pass NAME@VERSION or RUN:NAME instead "
            "(`mlcontext versions NAME` shows each version's content_hash, `mlcontext show RUN` the "
            "hash of each artifact of a run)")
    return Resolved(node, describe_hashes(store, [node])[node])


def _stored_node(store: Store, digest: str) -> str | None:
    """The graph node of ``digest``: an artifact by its own hash or its lineage identity, or any
    edge's end (a node recorded without bytes of its own); ``None`` when nothing is known of it."""
    with store.metadata.read() as conn:
        stored = conn.execute(select(t.Artifact.hash).where(
            (t.Artifact.hash == digest) | (t.Artifact.content_hash == digest))
            .order_by(t.Artifact.hash != digest)).scalars().first()
        if stored is not None:
            return stored
        edge = conn.execute(select(t.Edge.id).where(
            (t.Edge.src_hash == digest) | (t.Edge.dst_hash == digest)).limit(1)).first()
    return digest if edge is not None else None


def describe_hashes(store: Store, hashes: list[str],
                    made_by: dict[str, str | None] | None = None) -> dict[str, str]:
    """A label for each hash: its dataset version, else the name a run gave it (the run ``made_by``
    names for it, else the first that stored it), else a short hash."""
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
    preferred = made_by or {}
    for digest, name, run_id in rows:
        named_first = labels[digest] == digest[:12]
        if named_first or (run_id == preferred.get(digest) and run_id[:8] not in labels[digest]):
            labels[digest] = f"{name} (run {run_id[:8]})"
    for digest, version in ContextStore(store.metadata).versions_by_hash(hashes).items():
        if digest in labels:
            labels[digest] = version.ref
    return labels
