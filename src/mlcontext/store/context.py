"""Context records in the metadata store: dataset versions, accesses (reads) and derivation edges.

Kept apart from :mod:`.metadata` (runs, params, metrics) so that each module has one job; both use the
same :class:`~.metadata.MetadataStore` transactions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update

from ..errors import AmbiguousReferenceError, NotFoundError
from . import schema as t
from .metadata import MetadataStore

__all__ = ["VersionRow", "ContextStore", "ROLES", "one_project"]

ROLES = ("train", "validation", "test", "live")


@dataclass(frozen=True)
class VersionRow:
    """A stored dataset version (see :class:`~.schema.DatasetVersion`)."""

    id: int
    project: str
    name: str
    version: int
    content_hash: str
    artifact_hash: str
    role: str | None
    rows: int | None
    profile: dict[str, Any]
    run_id: str | None
    user: str
    created_at: float
    registered_at: float  # when this content was last registered (created_at before revision 0007)
    # the run that registered it last (run_id when never registered again; None when no run did,
    # or when it was registered again before revision 0008)
    registered_by: str | None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


_VERSION_COLUMNS = (t.DatasetVersion.id, t.Project.name, t.Dataset.name, t.DatasetVersion.version,
                    t.DatasetVersion.content_hash, t.DatasetVersion.artifact_hash, t.DatasetVersion.role,
                    t.DatasetVersion.rows, t.DatasetVersion.profile, t.DatasetVersion.run_id,
                    t.DatasetVersion.user, t.DatasetVersion.created_at,
                    func.coalesce(t.DatasetVersion.registered_at, t.DatasetVersion.created_at),
                    # (recorded since 0008; else never registered again: the creating run; registered
                    # again before 0008: unknown)
                    case((t.DatasetVersion.registered_by.is_not(None), t.DatasetVersion.registered_by),
                         (t.DatasetVersion.registered_at.is_(None), t.DatasetVersion.run_id),
                         (t.DatasetVersion.registered_at == t.DatasetVersion.created_at,
                          t.DatasetVersion.run_id),
                         else_=None))


def _versions_query() -> Any:
    return (select(*_VERSION_COLUMNS)
            .join(t.Dataset, t.Dataset.id == t.DatasetVersion.dataset_id)
            .join(t.Project, t.Project.id == t.Dataset.project_id))


def latest_first_key(version: VersionRow) -> tuple[float, int]:
    """What orders versions by how recently their content was registered (ties: the newer version)."""
    return version.registered_at, version.version


def one_project(found: Sequence[VersionRow]) -> None:
    """Versions of one dataset name in several projects are two datasets: an answer about the name
    alone would merge them (``docs/references.md``, "Ambiguity is an error").

    Raises
    ------
    AmbiguousReferenceError
        ``found`` spans several projects.
    """
    projects = sorted({v.project for v in found})
    if len(projects) > 1:
        raise AmbiguousReferenceError(
            f"dataset {found[0].name!r} exists in projects {projects}: say which with project= "
            "(-p/--project on the command line)")


class ContextStore:
    """Dataset versions, accesses and edges over a :class:`MetadataStore`."""

    def __init__(self, metadata: MetadataStore) -> None:
        self.metadata = metadata

    # -- dataset versions -----------------------------------------------------------------------

    def add_version(self, project: str, name: str, *, content_hash: str, artifact_hash: str,
                    role: str | None, rows: int | None, profile: dict[str, Any], run_id: str | None,
                    user: str, made: bool = True) -> tuple[VersionRow, bool]:
        """Record a version of ``name``; returns it and whether it is new (same content: not new).

        ``made``: the content is registered now, so an existing version becomes the latest again; a
        run that says it only reads existing content (``made`` false) changes nothing: re-reading an
        old snapshot does not change what the name means."""
        meta = self.metadata
        with meta.write() as conn:
            project_id = meta.project_id(conn, project)
            dataset_id = self._dataset_id(conn, project_id, name)
            now = time.time()
            existing = conn.execute(_versions_query().where(
                t.DatasetVersion.dataset_id == dataset_id,
                t.DatasetVersion.content_hash == content_hash)).first()
            if existing is not None:
                if not made:
                    return VersionRow(*existing), False
                # registered again (a step re-run with its old parameters): the latest once more
                conn.execute(update(t.DatasetVersion).where(t.DatasetVersion.id == existing[0])
                             .values(registered_at=now, registered_by=run_id))
                return dataclasses.replace(VersionRow(*existing), registered_at=now,
                                           registered_by=run_id), False
            number = (conn.execute(select(func.max(t.DatasetVersion.version))
                                   .where(t.DatasetVersion.dataset_id == dataset_id)).scalar() or 0) + 1
            conn.execute(insert(t.DatasetVersion).values(
                dataset_id=dataset_id, version=number, content_hash=content_hash,
                artifact_hash=artifact_hash, role=role, rows=rows, profile=profile, run_id=run_id,
                user=user, created_at=now, registered_at=now, registered_by=run_id))
            row = conn.execute(_versions_query().where(t.DatasetVersion.dataset_id == dataset_id,
                                                       t.DatasetVersion.version == number)).one()
        return VersionRow(*row), True

    def _dataset_id(self, conn: Connection, project_id: int, name: str) -> int:
        query = select(t.Dataset.id).where(t.Dataset.project_id == project_id, t.Dataset.name == name)
        found = conn.execute(query).scalar()
        if found is None:
            stmt = self.metadata._insert(t.Dataset).values(project_id=project_id, name=name,
                                                           created_at=time.time())
            conn.execute(stmt.on_conflict_do_nothing())
            found = conn.execute(query).scalar_one()
        return found

    def versions(self, name: str, project: str | None = None) -> list[VersionRow]:
        query = _versions_query().where(t.Dataset.name == name)
        if project is not None:
            query = query.where(t.Project.name == project)
        with self.metadata.read() as conn:
            rows = conn.execute(query.order_by(t.Project.name, t.DatasetVersion.version)).all()
        return [VersionRow(*r) for r in rows]

    def dataset_names(self, project: str | None = None) -> list[str]:
        """The names of the datasets recorded (in ``project``), sorted."""
        query = select(t.Dataset.name).join(t.Project, t.Project.id == t.Dataset.project_id).distinct()
        if project is not None:
            query = query.where(t.Project.name == project)
        with self.metadata.read() as conn:
            return sorted(conn.execute(query).scalars())

    def versions_by_prefix(self, prefix: str, project: str | None = None, limit: int = 5) -> list[VersionRow]:
        """Versions whose content or artifact hash starts with ``prefix``: never a reading of a
        reference (a hash is taken whole), only what an error suggests passing instead."""
        query = _versions_query().where(t.DatasetVersion.content_hash.startswith(prefix, autoescape=True)
                                        | t.DatasetVersion.artifact_hash.startswith(prefix, autoescape=True))
        if project is not None:
            query = query.where(t.Project.name == project)
        with self.metadata.read() as conn:
            return [VersionRow(*r) for r in conn.execute(query.order_by(t.DatasetVersion.id).limit(limit))]

    def version(self, name: str, number: int | None = None, project: str | None = None) -> VersionRow:
        """Version ``number`` of ``name``; when ``None``, the latest: the version registered last
        (content registered again is the latest again, whatever its number)."""
        found = self.versions(name, project)
        if number is not None:
            found = [v for v in found if v.version == number]
        if not found:
            which = f"{name}@{number}" if number is not None else name
            raise NotFoundError(f"no dataset version {which}" + (f" in project {project}" if project else "")
                                + "; `mlcontext versions NAME` lists them")
        one_project(found)
        return max(found, key=latest_first_key)

    def version_by_hash(self, digest: str, project: str | None = None) -> VersionRow | None:
        """The dataset version ``digest`` names, by its content hash *or* its artifact hash.

        Both name the same version: ``versions`` shows the content hash (the data's identity), while
        the lineage graph, reads and ``show`` key a version by its artifact hash (where its bytes
        are stored). ``None`` when no version has either hash.

        Raises
        ------
        AmbiguousReferenceError
            The same content was registered as versions of several datasets.
        """
        query = _versions_query().where((t.DatasetVersion.artifact_hash == digest)
                                        | (t.DatasetVersion.content_hash == digest))
        if project is not None:
            query = query.where(t.Project.name == project)
        with self.metadata.read() as conn:
            found = [VersionRow(*r) for r in conn.execute(query.order_by(t.DatasetVersion.id))]
        if len(found) > 1:
            named = ", ".join(f"{v.ref} (project {v.project})" for v in found)
            raise AmbiguousReferenceError(f"hash {digest} is the content of several dataset versions: "
                                          f"{named}; pass NAME@VERSION (and -p/--project) instead")
        return found[0] if found else None

    def versions_by_hash(self, hashes: Iterable[str]) -> dict[str, VersionRow]:
        """Dataset versions whose artifact or content hash is in ``hashes`` (one per hash: where
        several datasets hold the same bytes, see :meth:`all_versions_by_hash`)."""
        return {h: rows[-1] for h, rows in self.all_versions_by_hash(hashes).items()}

    def all_versions_by_hash(self, hashes: Iterable[str]) -> dict[str, list[VersionRow]]:
        """Every dataset version whose artifact or content hash is in ``hashes``, by project, name
        and version: the same bytes may be a version of datasets in several projects."""
        hashes = list(set(hashes))
        if not hashes:
            return {}
        query = _versions_query().where(t.DatasetVersion.artifact_hash.in_(hashes)
                                        | t.DatasetVersion.content_hash.in_(hashes))
        with self.metadata.read() as conn:
            rows = [VersionRow(*r) for r in conn.execute(
                query.order_by(t.Project.name, t.Dataset.name, t.DatasetVersion.version))]
        found: dict[str, list[VersionRow]] = {}
        for row in rows:
            for digest in dict.fromkeys((row.artifact_hash, row.content_hash)):
                found.setdefault(digest, []).append(row)
        return found

    # -- accesses and edges ---------------------------------------------------------------------

    def record_access(self, run_id: str, artifact_hash: str, *, role: str | None, user: str,
                      version_id: int | None = None) -> None:
        with self.metadata.write() as conn:
            conn.execute(insert(t.Access).values(
                run_id=run_id, artifact_hash=artifact_hash, version_id=version_id, role=role, user=user,
                time=time.time()))

    def accesses(self, *, version_id: int | None = None, role: str | None = None) -> list[tuple]:
        """``(run_id, user, time, role, version_id)`` of reads, oldest first."""
        query = select(t.Access.run_id, t.Access.user, t.Access.time, t.Access.role, t.Access.version_id)
        if version_id is not None:
            query = query.where(t.Access.version_id == version_id)
        if role is not None:
            query = query.where(t.Access.role == role)
        with self.metadata.read() as conn:
            return [tuple(r) for r in conn.execute(query.order_by(t.Access.time, t.Access.id))]

    def inputs_of(self, run_id: str) -> list[str]:
        with self.metadata.read() as conn:
            return list(conn.execute(select(t.Access.artifact_hash).where(t.Access.run_id == run_id)
                                     .distinct()).scalars())

    def add_edges(self, pairs: Sequence[tuple[str, str]], *, run_id: str | None, kind: str,
                  log_hash: str | None = None) -> None:
        if not pairs:
            return
        now = time.time()
        stmt = self.metadata._insert(t.Edge).on_conflict_do_nothing()
        with self.metadata.write() as conn:
            conn.execute(stmt, [dict(src_hash=s, dst_hash=d, run_id=run_id, kind=kind, log_hash=log_hash,
                                     time=now)
                                for s, d in dict.fromkeys(pairs)])

    def edges_of_log(self, log_hash: str) -> set[tuple[str, str, str | None]]:
        """``(src, dst, run_id)`` of the edges that lineage log ``log_hash`` explains."""
        with self.metadata.read() as conn:
            return {(src, dst, run) for src, dst, run in conn.execute(
                select(t.Edge.src_hash, t.Edge.dst_hash, t.Edge.run_id).where(t.Edge.log_hash == log_hash))}

    def neighbours(self, hashes: Iterable[str], *, upstream: bool, with_order: bool = False) -> list[tuple]:
        """Edges ``(src, dst, run_id, kind, log_hash)`` into (``upstream``) or out of ``hashes``, in
        the order they were recorded; ``with_order``: each with its place in that order (a sixth
        element, increasing with the time an edge was recorded)."""
        hashes = list(hashes)
        if not hashes:
            return []
        column = t.Edge.dst_hash if upstream else t.Edge.src_hash
        columns = [t.Edge.src_hash, t.Edge.dst_hash, t.Edge.run_id, t.Edge.kind, t.Edge.log_hash]
        with self.metadata.read() as conn:
            return [tuple(r) for r in conn.execute(
                select(*columns, *([t.Edge.id] if with_order else [])).where(column.in_(hashes))
                .order_by(t.Edge.id))]

    def run_projects(self, run_ids: Iterable[str]) -> dict[str, str]:
        """The project of each run."""
        ids = [r for r in set(run_ids) if r]
        if not ids:
            return {}
        with self.metadata.read() as conn:
            return dict(conn.execute(select(t.Run.id, t.Project.name)
                                     .join(t.Project, t.Project.id == t.Run.project_id)
                                     .where(t.Run.id.in_(ids))).all())

    def touching_runs(self, version_ids: Iterable[int]) -> dict[str, set[int]]:
        """The runs that read (accessed) or created each of ``version_ids``: run -> those versions."""
        ids = sorted(set(version_ids))
        found: dict[str, set[int]] = {}
        if not ids:
            return found
        for run, version in self._touches(t.Access.version_id.in_(ids), t.DatasetVersion.id.in_(ids)):
            found.setdefault(run, set()).add(version)
        return found

    def touched_versions(self, run_ids: Iterable[str]) -> dict[str, set[int]]:
        """The dataset versions each run read (its accesses) or created (the run a version records)."""
        ids = sorted(r for r in set(run_ids) if r)
        found: dict[str, set[int]] = {r: set() for r in ids}
        if not ids:
            return found
        for run, version in self._touches(t.Access.run_id.in_(ids), t.DatasetVersion.run_id.in_(ids)):
            found[run].add(version)
        return found

    def _touches(self, read: Any, created: Any) -> list[tuple[str, int]]:
        """``(run, version)`` of the accesses matching ``read`` and the versions matching ``created``
        with the run that created them: who read or made which dataset version."""
        with self.metadata.read() as conn:
            rows = [*conn.execute(select(t.Access.run_id, t.Access.version_id).where(read).distinct()),
                    *conn.execute(select(t.DatasetVersion.run_id, t.DatasetVersion.id).where(created))]
        return [(run, version) for run, version in rows if run is not None and version is not None]

    def closure(self, start: str, *, upstream: bool, max_depth: int = 100) -> list[tuple]:
        """Every edge reachable from ``start`` (breadth first, one indexed query per level)."""
        seen, frontier, edges = {start}, [start], []
        for _ in range(max_depth):
            found = self.neighbours(frontier, upstream=upstream)
            edges.extend(found)
            nxt = [(edge[0] if upstream else edge[1]) for edge in found]
            frontier = [h for h in dict.fromkeys(nxt) if h not in seen]
            seen.update(frontier)
            if not frontier:
                break
        return edges
