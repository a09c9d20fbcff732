"""The metadata store: runs, params, metrics and artifact links in a SQL database.

All statements are SQLAlchemy Core on the tables of :mod:`.schema` (the ORM's unit of work would cost
more than the logging it records). Writes go through :meth:`MetadataStore.write`, one transaction each;
errors of the database are translated into the :mod:`mlcontext.errors` hierarchy in one place.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
import operator
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from ..checks import did_you_mean
from ..errors import (
    AmbiguousReferenceError,
    NotFoundError,
    QueryError,
    ReadOnlyStoreError,
    RunError,
    StoreError,
)
from . import schema as t
from .chunks import CHUNK_COLUMNS, Chunk, pack_rows, unpack
from .engine import WRITE, make_engine
from .frames import METRICS, RUNS, typed_empty
from .migrate import ensure_schema
from .records import ArtifactRef, MetricPoint, RunRecord, RunStatus

if TYPE_CHECKING:  # imported where frames are built: a process that only logs never imports pandas
    import pandas as pd

__all__ = ["MetadataStore", "MetricRow", "ParamRow", "check_limit", "NO_HEARTBEAT", "settle_background"]

# (run_id, name, seq, value, time, context_json)
MetricRow = tuple[str, str, int, float, float, str]
# (run_id, name, value_json, type_name, overridden)
ParamRow = tuple[str, str, str, str, bool]

_RUN_COLUMNS = [c for c in t.Run.__table__.columns if c.name != "project_id"]


#: The largest row limit a query takes (the databases' 64-bit integers; larger ones overflow there).
MAX_LIMIT = 2**62
#: ``error_type`` of a run a reader marked killed because its heartbeat stopped (not the run itself):
#: the only kind of ended run a later heartbeat of the same run may revive.
NO_HEARTBEAT = "NoHeartbeat"


def check_limit(limit: int) -> int:
    """``limit`` if it is a positive int a database can take.

    Raises
    ------
    QueryError
        ``limit`` is not an int between 1 and 2**62.
    """
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or not 0 < limit <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return int(limit)


class MetadataStore:
    """Runs, params, metrics and artifact links in a SQL database (SQLite or PostgreSQL)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self._projects: dict[str, int] = {}
        with _translated(self.url):
            ensure_schema(self.engine)

    def __repr__(self) -> str:
        return f"MetadataStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        settle_background()
        self.engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on error."""
        with _translated(self.url), self.engine.connect().execution_options(**{WRITE: True}) as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction; it first waits for this process's background writes (see
        :meth:`in_background`), so that what the process wrote is what it reads."""
        if _IN_FLIGHT:
            settle_background(READ_WAIT_S)
        with _translated(self.url), self.engine.connect() as conn, conn.begin():
            yield conn

    # -- background writes ----------------------------------------------------------------------

    @staticmethod
    def in_background(work: Callable[[], None], name: str) -> threading.Thread:
        """Run ``work`` (writes to a store) in a thread of its own, and make every read in this
        process wait for it (:func:`settle_background`).

        The thread is not a daemon: the interpreter waits for it before exiting. A failure is
        logged (nobody waits for the result to raise it to).
        """
        thread = threading.Thread(target=_run_logged, args=(work,), name=name)
        _IN_FLIGHT.add(thread)
        thread.start()
        return thread

    # -- runs -----------------------------------------------------------------------------------

    def project_id(self, conn: Connection, name: str) -> int:
        if name in self._projects:
            return self._projects[name]
        found = conn.execute(select(t.Project.id).where(t.Project.name == name)).scalar()
        if found is None:
            stmt = self._insert(t.Project).values(name=name, created_at=time.time())
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
            found = conn.execute(select(t.Project.id).where(t.Project.name == name)).scalar_one()
        self._projects[name] = found
        return found

    def create_run(self, project: str, **fields: Any) -> float:
        """Insert a new run row; ``fields`` are columns of ``runs``. Returns the recorded start time.

        Start times are made strictly increasing in the order runs are inserted: a run started in the
        same clock tick as the newest one (or while the clock stepped back) is recorded 1 µs after it.
        Listings are newest first by start time, so ties would come back in an arbitrary order (MLflow
        #25858, #6227 break theirs by id); this way they come back in insertion order on every backend.
        """
        with self.write() as conn:
            latest = conn.execute(select(func.max(t.Run.started_at))).scalar()
            if latest is not None and fields["started_at"] <= latest:
                fields["started_at"] = _after(latest)
            # Values as parameters, not .values(): a constant statement is compiled once and its
            # cache key is cheap (with two dozen literal values it cost ~0.2 ms a run).
            conn.execute(insert(t.Run), dict(fields, project_id=self.project_id(conn, project)))
        return fields["started_at"]

    def end_run(self, run_id: str, status: str, *, ended_at: float | None = None,
                error_type: str | None = None, error_message: str | None = None,
                traceback: str | None = None) -> None:
        with self.write() as conn:
            now = ended_at or time.time()
            conn.execute(_UPDATE_RUN, dict(run_id_=run_id, status=status, ended_at=now, heartbeat_at=now,
                                           error_type=error_type, error_message=error_message,
                                           traceback=traceback))

    def heartbeat(self, conn: Connection, run_id: str, now: float) -> None:
        """Refresh a live run's heartbeat. A run a reader presumed dead (``killed`` for want of a
        heartbeat) is alive after all: it is put back to ``running``, so no reader's timeout, however
        short, leaves a live run marked killed. A run that ended itself (any other status) stays ended."""
        revivable = (t.Run.status == RunStatus.RUNNING) | (
            (t.Run.status == RunStatus.KILLED) & (t.Run.error_type == NO_HEARTBEAT))
        conn.execute(update(t.Run).where(t.Run.id == run_id, revivable).values(
            heartbeat_at=now, status=RunStatus.RUNNING, ended_at=None, error_type=None,
            error_message=None))

    def mark_dead_runs(self, timeout: float, *, now: float | None = None) -> int:
        """Mark ``running`` runs whose heartbeat, and last logged value, are older than ``timeout``
        seconds as killed (``error_type`` :data:`NO_HEARTBEAT`: its next heartbeat revives a run that
        was only slow)."""
        now = time.time() if now is None else now
        stale = (t.Run.status == RunStatus.RUNNING) & (t.Run.heartbeat_at < now - timeout)
        with self.read() as conn:
            if conn.execute(select(func.count()).select_from(t.Run).where(stale)).scalar_one() == 0:
                return 0
        with self.write() as conn:
            # The run ended no earlier than its last sign of life: the heartbeat (every few seconds)
            # or the last value it logged, whichever is later, so a killed run keeps its duration.
            last_value = (select(func.max(t.LatestMetric.time)).where(t.LatestMetric.run_id == t.Run.id)
                          .scalar_subquery())
            # (a run that logged a value recently is alive, between heartbeats)
            quiet = or_(last_value.is_(None), last_value < now - timeout)
            dead = conn.execute(select(t.Run.id, t.Run.heartbeat_at, last_value).where(stale, quiet)).all()
            for run_id, heartbeat_at, last in dead:
                conn.execute(update(t.Run).where(t.Run.id == run_id, stale).values(
                    status=RunStatus.KILLED, ended_at=max(heartbeat_at, last or heartbeat_at),
                    error_type=NO_HEARTBEAT,
                    error_message=f"no heartbeat for more than {timeout:g} s: the process died"))
            return len(dead)

    # -- params, metrics (batched by the writer) -------------------------------------------------

    def write_batch(self, conn: Connection, params: Sequence[ParamRow], metrics: Sequence[MetricRow]) -> None:
        """Insert params and metrics in the caller's transaction and refresh the latest values."""
        if params:
            stmt = self._insert(t.Param)
            stmt = stmt.on_conflict_do_update(index_elements=["run_id", "name"], set_={
                "value": stmt.excluded.value, "type": stmt.excluded.type,
                "overridden": stmt.excluded.overridden})
            conn.execute(stmt, [dict(run_id=r, name=n, value=v, type=ty, overridden=o)
                                for r, n, v, ty, o in params])
        if metrics:
            chunks, latest = pack_rows(metrics)
            self._insert_chunks(conn, chunks)
            stmt = self._insert(t.LatestMetric)
            stmt = stmt.on_conflict_do_update(
                index_elements=["run_id", "name"],
                set_={"value": stmt.excluded.value, "seq": stmt.excluded.seq, "time": stmt.excluded.time},
                where=stmt.excluded.seq > t.LatestMetric.seq,
            )
            conn.execute(stmt, [dict(run_id=r, name=n, value=v if v == v else None, seq=s, time=tm)
                                for r, n, s, v, tm in latest])  # NaN as NULL (see .schema)

    def delete_metric_chunks(self, conn: Connection, run_id: str, seqs: Iterable[int]) -> None:
        """Delete a run's metric chunks whose first ``seq`` is one of ``seqs`` (before a batch whose
        commit may have happened after all is written again: see the writer's retries)."""
        seqs = sorted(seqs)
        for start in range(0, len(seqs), 500):
            conn.execute(delete(t.MetricChunk).where(t.MetricChunk.run_id == run_id,
                                                     t.MetricChunk.seq.in_(seqs[start:start + 500])))

    @staticmethod
    def _insert_chunks(conn: Connection, chunks: list[Chunk]) -> None:
        """Insert chunks with a few multi-row ``INSERT ... VALUES`` statements.

        Not ``executemany``: the driver releases the GIL around every row, and while the training
        loop holds the GIL (pure-Python work), each release costs the writer thread a whole switch
        interval (5 ms) to get it back. A write is one row per metric, so usually one statement.
        """
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        for start in range(0, len(chunks), _ROWS_PER_INSERT):
            part = chunks[start:start + _ROWS_PER_INSERT]
            conn.exec_driver_sql(_chunk_values_sql(mark, len(part)),
                                 tuple(itertools.chain.from_iterable(part)))

    # -- artifacts --------------------------------------------------------------------------------

    def add_artifact(self, run_id: str | None, name: str, digest: str, *, size: int, kind: str,
                     meta: dict[str, Any] | None = None, direction: str = "output",
                     content_hash: str | None = None, context: Mapping[str, int] | None = None) -> None:
        """Record stored bytes (once per digest) and, with ``run_id``, the run's use of them.

        ``content_hash`` is the value's lineage identity when it is not ``digest`` (see
        :class:`~mlcontext.store.schema.Artifact`); ``context`` the loop indices at writing.
        """
        with self.write() as conn:
            self._add_artifact(conn, run_id, name, digest, size=size, kind=kind, meta=meta,
                               direction=direction, content_hash=content_hash, context=context)

    def _add_artifact(self, conn: Connection, run_id: str | None, name: str, digest: str, *, size: int,
                      kind: str, meta: dict[str, Any] | None = None, direction: str = "output",
                      content_hash: str | None = None, context: Mapping[str, int] | None = None) -> None:
        now = time.time()
        conn.execute(self._insert(t.Artifact).on_conflict_do_nothing(index_elements=["hash"]),
                     dict(hash=digest, size=size, kind=kind, created_at=now, meta=meta or {},
                          content_hash=content_hash))
        if run_id is not None:
            conn.execute(self._insert(t.RunArtifact).on_conflict_do_nothing(), dict(
                run_id=run_id, artifact_hash=digest, name=name, direction=direction, time=now,
                context=json.dumps(dict(context or {}), separators=(",", ":"))))

    def set_code(self, run_id: str, *, code_hash: str, size: int, meta: dict[str, Any],
                 **columns: Any) -> None:
        """Record a run's code snapshot: its ``code`` artifact and the run's ``columns``
        (``git_commit``, ``git_branch``, ``git_dirty``, ``environment``), in one transaction."""
        with self.write() as conn:
            self._add_artifact(conn, run_id, "code", code_hash, size=size, kind="code", meta=meta)
            conn.execute(_UPDATE_RUN, dict(columns, run_id_=run_id, code_hash=code_hash))

    def artifact_info(self, digest: str) -> tuple[str, int, dict[str, Any]] | None:
        """``(kind, size, meta)`` of a stored artifact, or ``None`` if the store never saw it."""
        with self.read() as conn:
            row = conn.execute(select(t.Artifact.kind, t.Artifact.size, t.Artifact.meta)
                               .where(t.Artifact.hash == digest)).first()
        return None if row is None else (row[0], row[1], dict(row[2] or {}))

    def lineage_logs_of(self, digest: str, project: str | None = None) -> list[str]:
        """The hashes of the lineage logs stored for artifact ``digest`` by the runs that wrote it
        (artifacts of kind ``lineage`` whose ``meta["of"]`` is ``digest``, or the log the artifact's
        own meta names, ``meta["lineage_log"]``; not the logs of what it was used on,
        ``meta["use"]``), oldest first; with ``project``, only its runs' (byte-identical data another
        project computed is not how this project's copy was made).

        A log is stored once per content: its ``meta`` is the first writer's. Two models that differ
        in bytes (a fit that draws, a timestamp) but not in lineage store one log, with ``of`` the
        first model's: the second model's own meta names it."""
        writers = select(t.RunArtifact.run_id).where(t.RunArtifact.artifact_hash == digest,
                                                      t.RunArtifact.direction == "output")
        if project is not None:  # (its runs, and a run of another project that created its version)
            creators = (select(t.DatasetVersion.run_id)
                        .join(t.Dataset, t.Dataset.id == t.DatasetVersion.dataset_id)
                        .join(t.Project, t.Project.id == t.Dataset.project_id)
                        .where(t.Project.name == project, (t.DatasetVersion.artifact_hash == digest)
                               | (t.DatasetVersion.content_hash == digest)))
            writers = writers.join(t.Run, t.Run.id == t.RunArtifact.run_id).join(
                t.Project, t.Project.id == t.Run.project_id).where(
                (t.Project.name == project) | t.RunArtifact.run_id.in_(creators))
        with self.read() as conn:
            own = conn.execute(select(t.Artifact.meta).where(t.Artifact.hash == digest)).scalar()
            rows = conn.execute(select(t.Artifact.hash, t.Artifact.meta)
                                .join(t.RunArtifact, t.RunArtifact.artifact_hash == t.Artifact.hash)
                                .where(t.RunArtifact.run_id.in_(writers), t.Artifact.kind == "lineage")
                                .order_by(t.RunArtifact.id)).all()
        named = (own or {}).get("lineage_log")
        return list(dict.fromkeys(h for h, meta in rows if "use" not in (meta or {})
                                  and ((meta or {}).get("of") == digest or h == named)))

    def artifacts_by_content(self, content_hashes: Iterable[str]) -> dict[str, str]:
        """``{content hash: artifact hash}`` of stored values whose lineage identity is one of
        ``content_hashes`` (an ``.npy`` array by its :func:`~mlcontext.fingerprint.hash_array`)."""
        wanted = list(dict.fromkeys(content_hashes))
        if not wanted:
            return {}
        with self.read() as conn:
            rows = conn.execute(select(t.Artifact.content_hash, t.Artifact.hash)
                                .where(t.Artifact.content_hash.in_(wanted))
                                .order_by(t.Artifact.created_at)).all()
        # the oldest one wins (the query selected rows with a content hash)
        return {content: digest for content, digest in reversed(rows) if content is not None}

    def artifacts_of(self, conn: Connection, run_ids: Iterable[str]) -> dict[str, list[tuple]]:
        query = (select(t.RunArtifact.run_id, t.RunArtifact.name, t.Artifact.hash, t.Artifact.size,
                        t.Artifact.kind, t.RunArtifact.direction, t.Artifact.meta, t.RunArtifact.context)
                 .join(t.Artifact, t.Artifact.hash == t.RunArtifact.artifact_hash)
                 .where(t.RunArtifact.run_id.in_(list(run_ids))).order_by(t.RunArtifact.id))
        found: dict[str, list[tuple]] = {}
        for run_id, *rest in conn.execute(query):
            found.setdefault(run_id, []).append(tuple(rest))
        return found

    # -- queries ----------------------------------------------------------------------------------

    def run_id_starting(self, prefix: str) -> str | None:
        """The id of a run whose id starts with the lower-case hex ``prefix``, or None (a range of
        the primary key: LIKE scanned the whole table on SQLite)."""
        with self.read() as conn:
            return conn.execute(select(t.Run.id).where(t.Run.id >= prefix, t.Run.id < prefix + "g")
                                .limit(1)).scalar()

    def resolve_run_id(self, conn: Connection, ref: str) -> str:
        """The full id of the run whose id starts with ``ref``, or of the newest run named ``ref``.

        A ``ref`` that is both an id prefix of one run and the name of another (``cafe``, ``add``) is
        ambiguous: it raises rather than silently taking the id reading.
        """
        by_prefix = select(t.Run.id).where(t.Run.id.startswith(ref, autoescape=True)).limit(6)
        ids = conn.execute(by_prefix).scalars().all()
        named = conn.execute(select(t.Run.id).where(t.Run.name == ref)
                             .order_by(t.Run.started_at.desc()).limit(1)).scalars().all()
        if ids and named and ids != named:
            raise AmbiguousReferenceError(
                f"{ref!r} is both the start of run id {ids[0][:12]}... and the name of run "
                f"{named[0][:8]}: give more characters of the id, or the full id of the named run")
        ids = ids or named
        if not ids:
            names = list(conn.execute(select(t.Run.name).distinct()).scalars())
            hint = f": {close}" if (close := did_you_mean(ref, names)) else ""
            raise NotFoundError(f"no run with an id starting with {ref!r} or named {ref!r}{hint}")
        if len(ids) > 1:
            shown = ", ".join(i[:8] for i in ids[:5]) + (" ..." if len(ids) > 5 else "")
            raise RunError(f"run id prefix {ref!r} is ambiguous ({shown}): give more characters")
        return ids[0]

    def get_run(self, ref: str) -> RunRecord:
        """One run with its params, latest metrics and artifacts; ``ref`` is an id, prefix or name."""
        with self.read() as conn:
            run_id = self.resolve_run_id(conn, ref)
            row = conn.execute(select(t.Project.name, *_RUN_COLUMNS)
                               .join(t.Project, t.Project.id == t.Run.project_id)
                               .where(t.Run.id == run_id)).one()
            params = {n: json.loads(v) for n, v in conn.execute(
                select(t.Param.name, t.Param.value).where(t.Param.run_id == run_id).order_by(t.Param.name))}
            metrics = {n: _null_to_nan(v) for n, v in conn.execute(
                select(t.LatestMetric.name, t.LatestMetric.value)
                .where(t.LatestMetric.run_id == run_id).order_by(t.LatestMetric.name))}
            artifacts = self.artifacts_of(conn, [run_id]).get(run_id, [])
            reads = self._dataset_reads(conn, run_id, row[0])
            loads = self._load_writers(conn, run_id)
            unnamed = self._unnamed_loads(conn, run_id, row[0])
            versions = self._frame_versions(conn, row[0], run_id, artifacts)
        fields = dict(zip(["project", *(c.name for c in _RUN_COLUMNS)], row, strict=True))
        fields["argv"] = tuple(fields["argv"] or ())
        refs = tuple(ArtifactRef(name=n, hash=h, size=s, kind=k, uri="", direction=d,
                                 meta=_loaded(m, loads.get((n, h), [])) if d == "input" else
                                 {**(m or {}), **versions[n, h]} if (n, h) in versions else m,
                                 context=_context(c))
                     for n, h, s, k, d, m, c in artifacts)
        # A dataset read is listed unless the run's own rows name it (a registered output read back);
        # a load of another artifact with the same bytes (features = clean@1's) does not hide it.
        listed = {(a.hash, a.direction) for a in refs
                  if not (a.direction == "input" and a.meta.get("loaded"))}
        refs += tuple(r for r in reads if (r.hash, "input") not in listed)
        loaded = {a.hash for a in refs if a.direction == "input"}
        refs += tuple(r for r in unnamed if r.hash not in loaded)
        return RunRecord(**fields, params=params, metrics=metrics, artifacts=refs)

    @staticmethod
    def _frame_versions(conn: Connection, project: str, run_id: str,
                        artifacts: list[tuple]) -> dict[tuple, dict]:
        """``(name, hash) -> {"dataset", "version", "role"}`` for a run's stored frames and files that
        are versions of the dataset of their own name (a dataset the run registered: the frame's artifact
        record is shared by every run that stored these bytes, so it cannot say the version; two
        datasets may hold the same bytes, so the name decides). The version this run created first;
        else the run's project's; else the one other project's that has it (``"project"`` added:
        registered there)."""
        names = {a[0] for a in artifacts if a[3] in _VERSION_KINDS and "version" not in (a[5] or {})}
        if not names:
            return {}
        query = (select(t.Project.name, t.Dataset.name, t.DatasetVersion.version, t.DatasetVersion.role,
                        t.DatasetVersion.artifact_hash, t.DatasetVersion.content_hash,
                        t.DatasetVersion.run_id)
                 .join(t.Dataset, t.Dataset.id == t.DatasetVersion.dataset_id)
                 .join(t.Project, t.Project.id == t.Dataset.project_id)
                 .where(t.Dataset.name.in_(sorted(names))))
        held: dict[tuple, dict[str, dict]] = {}
        created: dict[tuple, dict] = {}
        for where, name, version, role, artifact_hash, content_hash, creator in conn.execute(query):
            meta = {"dataset": name, "version": version, "role": role}
            if where != project:
                meta["project"] = where
            for digest in (artifact_hash, content_hash):
                held.setdefault((name, digest), {})[where] = meta
                if creator == run_id:
                    created[name, digest] = meta
        found: dict[tuple, dict] = {}
        for key, by_project in held.items():
            if key in created:
                found[key] = created[key]
            elif project in by_project:
                found[key] = by_project[project]
            elif len(by_project) == 1:  # (in several other projects: which one is not known)
                found[key] = next(iter(by_project.values()))
        return found

    @staticmethod
    def _dataset_reads(conn: Connection, run_id: str, project: str) -> list[ArtifactRef]:
        """The dataset versions a run read (its accesses), once per version and role, as inputs: a
        read is recorded as an access, not as a run artifact, and "what did this run read" must
        name it too. A version of another project than the run's has ``"project"`` in its meta
        (wine's raw@1, read by a run of analysis that has a raw@1 of its own)."""
        query = (select(t.Dataset.name, t.DatasetVersion.version, t.Access.role, t.Artifact.hash,
                        t.Artifact.size, t.Artifact.kind, t.Project.name, t.Artifact.meta)
                 .join(t.DatasetVersion, t.DatasetVersion.id == t.Access.version_id)
                 .join(t.Dataset, t.Dataset.id == t.DatasetVersion.dataset_id)
                 .join(t.Project, t.Project.id == t.Dataset.project_id)
                 .join(t.Artifact, t.Artifact.hash == t.Access.artifact_hash)
                 .where(t.Access.run_id == run_id).order_by(t.Access.id))
        reads: dict[tuple, ArtifactRef] = {}
        rows = conn.execute(query).all()
        # A read without a role (a crashed run's, a load) of a version also read with one is that read.
        with_role = {r[3] for r in rows if r[2] is not None}
        for name, version, role, digest, size, kind, where, stored in rows:
            if role is None and digest in with_role:
                continue
            # (the artifact's own meta, its format, first: load_artifact(RUN, NAME) of a version the
            # run read decodes it; without it the frame was taken for a legacy pickle and refused)
            meta = {**(stored or {}), "dataset": name, "version": version, "role": role}
            if where != project:
                meta["project"] = where
            reads.setdefault((digest, role), ArtifactRef(
                name=name, hash=digest, size=size, kind=kind, uri="", direction="input",
                meta=meta, context={}))
        return list(reads.values())

    @staticmethod
    def _unnamed_loads(conn: Connection, run_id: str, project: str) -> list[ArtifactRef]:
        """Loads recorded before loads were named (stores upgraded from revision 0006 or older: an
        access without a version and no input row), named as the runs that had saved those bytes
        when the run loaded them named them, those of the run's own project first, with
        ``meta["runs"]`` those runs. Without this an upgraded store's ``show`` and
        ``load_artifact(RUN, NAME)`` lost every load recorded before."""
        named = select(t.RunArtifact.artifact_hash).where(t.RunArtifact.run_id == run_id,
                                                         t.RunArtifact.direction == "input")
        loaded = (select(t.Access.artifact_hash, func.min(t.Access.time))
                  .where(t.Access.run_id == run_id, t.Access.version_id.is_(None),
                         t.Access.artifact_hash.not_in(named))
                  .group_by(t.Access.artifact_hash))
        when = dict(conn.execute(loaded).all())
        savers = _savers(conn, when)
        refs = []
        for digest in sorted(when, key=when.__getitem__):
            candidates = _sources(savers.get(digest, []), run_id, None, when[digest])
            if not candidates:
                continue
            found = [s for s in candidates if s.project == project] or candidates  # its own project's first
            first = found[0]
            refs.append(ArtifactRef(name=first.name, hash=digest, size=first.size, kind=first.kind, uri="",
                                    direction="input", meta=_loaded(first.meta, _runs_of(found)),
                                    context={}))
        return refs

    @staticmethod
    def _load_writers(conn: Connection, run_id: str) -> dict[tuple[str, str], list[str]]:
        """``(name, hash) -> runs`` for what run ``run_id`` loaded from other runs (its ``input``
        artifacts, ``mc.load_artifact``): the runs that saved those bytes under that name (under any
        name, when none did) before it loaded them (:func:`_sources`: when the clocks say none did,
        the first), oldest first. Identical bytes saved by several runs are one artifact: the load
        does not say which run's was asked for."""
        loads = conn.execute(select(t.RunArtifact.name, t.RunArtifact.artifact_hash, t.RunArtifact.time)
                             .where(t.RunArtifact.run_id == run_id,
                                    t.RunArtifact.direction == "input")).all()
        savers = _savers(conn, {digest for _, digest, _ in loads})
        found: dict[tuple[str, str], list[str]] = {}
        for name, digest, loaded_at in loads:
            sources = _sources(savers.get(digest, []), run_id, name, loaded_at)
            if sources:
                found.setdefault((name, digest), [])
                found[name, digest] = list(dict.fromkeys([*found[name, digest], *_runs_of(sources)]))
        return found

    def metric_points(self, run_id: str, name: str) -> list[MetricPoint]:
        """Every value of metric ``name`` of run ``run_id``, in the order they were logged."""
        mc = t.MetricChunk
        with self.read() as conn:
            rows = _driver_rows(conn, select(mc.seqs, mc.vals, mc.times, mc.contexts)
                                .where(mc.run_id == run_id, mc.name == name).order_by(mc.seq))
        points: list[MetricPoint] = []
        for packed_seqs, packed_vals, packed_times, contexts in rows:
            seqs, values, times = unpack(packed_seqs, packed_vals, packed_times)
            points += map(MetricPoint, itertools.repeat(name), values, seqs, times, json.loads(contexts))
        points.sort(key=_SEQ)  # chunks may overlap in seq (see mlcontext.store.chunks)
        return points

    def runs_frame(self, project: str | None = None, *, names: Sequence[str] | None = None,
                   status: str | None = None, user: str | None = None,
                   limit: int | None = None, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """One row per run, newest first: run columns, ``param.<name>`` and ``metric.<name>`` columns."""
        query = (select(t.Run.id, t.Project.name.label("project"), t.Run.name, t.Run.status, t.Run.user,
                        t.Run.host, t.Run.started_at, t.Run.ended_at, t.Run.git_commit, t.Run.git_dirty)
                 .join(t.Project, t.Project.id == t.Run.project_id)
                 .order_by(t.Run.started_at.desc(), t.Run.id.desc()))
        if project is not None:
            query = query.where(t.Project.name == project)
        if names:
            query = query.where(t.Run.name.in_(list(names)))
        if status is not None:
            query = query.where(t.Run.status == status)
        if user is not None:
            query = query.where(t.Run.user == user)
        if ids is not None:
            query = query.where(t.Run.id.in_(list(ids)))
        if limit is not None:
            query = query.limit(check_limit(limit))
        selected = select(query.subquery().c.id)
        with self.read() as conn:
            runs = _driver_rows(conn, query)  # (git_dirty is made a bool again when assembled)
            params = _driver_rows(conn, select(t.Param.run_id, t.Param.name, t.Param.value)
                                  .where(t.Param.run_id.in_(selected)))
            latest = _driver_rows(conn, select(t.LatestMetric.run_id, t.LatestMetric.name,
                                               t.LatestMetric.value)
                                  .where(t.LatestMetric.run_id.in_(selected)))
        return _assemble_runs(runs, params, latest)

    def metrics_frame(self, names: Sequence[str], project: str | None = None,
                      run_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Long format: run id, run name, one column per loop, metric name, value, time, seq."""
        mc = t.MetricChunk
        query = (select(mc.run_id, t.Run.name.label("run_name"), mc.name, mc.seqs, mc.vals, mc.times,
                        mc.contexts)
                 .join(t.Run, t.Run.id == mc.run_id)
                 .order_by(t.Run.started_at, mc.run_id, mc.seq))
        if names:
            query = query.where(mc.name.in_(list(names)))
        if project is not None:
            query = query.join(t.Project, t.Project.id == t.Run.project_id).where(t.Project.name == project)
        if run_ids is not None:
            query = query.where(mc.run_id.in_(list(run_ids)))
        with self.read() as conn:
            rows = _driver_rows(conn, query)
        return _assemble_metrics(rows)

    def delete_run(self, run_id: str) -> None:
        with self.write() as conn:
            for table in (t.MetricChunk, t.LatestMetric, t.Param, t.RunArtifact):
                conn.execute(delete(table).where(table.run_id == run_id))
            # (a version's creator is set to NULL by its foreign key; who registered it last has none)
            conn.execute(update(t.DatasetVersion).where(t.DatasetVersion.registered_by == run_id)
                         .values(registered_by=None))
            conn.execute(delete(t.Run).where(t.Run.id == run_id))

    def projects(self) -> list[str]:
        with self.read() as conn:
            return list(conn.execute(select(t.Project.name).order_by(t.Project.name)).scalars())

    def search_runs(self, text: str) -> list[str]:
        """Ids of runs whose name or project contains ``text``."""
        pattern = f"%{text}%"
        with self.read() as conn:
            return list(conn.execute(select(t.Run.id).join(t.Project, t.Project.id == t.Run.project_id)
                                     .where(or_(t.Run.name.like(pattern), t.Project.name.like(pattern)))
                                     ).scalars())

    def _insert(self, model: type) -> Any:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(model)


_log = logging.getLogger(__name__)

#: Background writes in flight in this process (see MetadataStore.in_background). No lock: set.add,
#: set.discard and list(set) are atomic under the GIL, and a lock held by another thread at a fork
#: would stay held for ever in the child.
_IN_FLIGHT: set[threading.Thread] = set()


def _run_logged(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - no caller to raise to: say so
        _log.warning("mlcontext: a background write failed: %s", exc)
    finally:
        _IN_FLIGHT.discard(threading.current_thread())


#: Seconds a read waits for each background write of this process (bounded: a background write that
#: waits for a lock the reading thread holds must not hang the reader for ever).
READ_WAIT_S = 30.0


def settle_background(timeout: float | None = None) -> None:
    """Wait for this process's background writes (all but the calling thread's own), at most
    ``timeout`` seconds each."""
    current = threading.current_thread()
    for thread in list(_IN_FLIGHT):
        if thread is not current:
            thread.join(timeout)


if hasattr(os, "register_at_fork"):  # a child has none of its parent's threads to wait for
    os.register_at_fork(after_in_child=_IN_FLIGHT.clear)


_SEQ = operator.attrgetter("seq")
#: An update of one run; the columns set are the parameters' other keys (run_id_ names the run).
_UPDATE_RUN = update(t.Run).where(t.Run.id == bindparam("run_id_"))

#: Chunk rows per INSERT: 8 parameters each stays under SQLite's 32,766 (and psycopg's 65,535).
_ROWS_PER_INSERT = 4000


@functools.lru_cache(maxsize=64)
def _chunk_values_sql(mark: str, n_rows: int) -> str:
    row = "(" + ", ".join([mark] * len(CHUNK_COLUMNS)) + ")"
    return (f"INSERT INTO {t.MetricChunk.__tablename__} ({', '.join(CHUNK_COLUMNS)}) "
            f"VALUES {', '.join([row] * n_rows)}")


def _after(moment: float) -> float:
    """A time 1 µs after ``moment`` (at least the next representable double)."""
    return max(moment + 1e-6, math.nextafter(moment, math.inf))


def _null_to_nan(value: float | None) -> float:
    return math.nan if value is None else value


def _driver_rows(conn: Connection, stmt: Any) -> list[tuple]:
    """All rows of ``stmt`` as the driver returns them (tuples), without SQLAlchemy's Row objects.

    For columns that need no result processing (strings, floats): building a Row costs about 2 µs,
    which was a third of ``mc.runs()`` on 10,000 runs × 30 values.
    """
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


_RUN_FRAME_COLUMNS = ["id", "project", "name", "status", "user", "host", "started_at", "ended_at",
                      "git_commit", "git_dirty"]


def _assemble_runs(runs: list[tuple], params: list[tuple], latest: list[tuple]) -> pd.DataFrame:
    """The run table: run columns, then ``param.<name>`` and ``metric.<name>`` columns (sorted).

    Speed (10,000 runs × 30 values went from 3.9 s to well under 1 s): rows are never handed to
    pandas as SQLAlchemy Rows (pandas probes each for ``_fields``, and each probe raises inside
    SQLAlchemy); the pivot is done by hand instead of ``DataFrame.pivot`` + ``join``; param values
    are decoded with one ``json.loads`` for all of them.
    """
    import pandas as pd

    if not runs:
        return typed_empty(RUNS)  # the dtypes of a non-empty result (see mlcontext.store.frames)
    data: dict[str, Any] = dict(zip(_RUN_FRAME_COLUMNS, _columns(runs, len(_RUN_FRAME_COLUMNS)), strict=True))
    # (the driver's own values: SQLite gives the flag as 0 or 1)
    data["git_dirty"] = [None if v is None else bool(v) for v in data["git_dirty"]]
    start = pd.to_datetime(pd.Series(data.pop("started_at"), dtype="float64"), unit="s", utc=True)
    end = pd.to_datetime(pd.Series(data.pop("ended_at"), dtype="float64"), unit="s", utc=True)
    data["start"], data["duration"] = start, (end - start).dt.total_seconds()
    position = pd.Index(data["id"])
    if params:
        run_ids, names, texts = _columns(params, 3)
        values = json.loads("[" + ",".join(texts) + "]")  # each text is one JSON value
        data |= _pivot(position, run_ids, names, values, "param.", object)
    if latest:
        run_ids, names, values = _columns(latest, 3)
        data |= _pivot(position, run_ids, names, values, "metric.", "float64")  # NULL (NaN) -> nan
    return pd.DataFrame(data)


def _columns(rows: list[tuple], n: int) -> list[list]:
    """The ``n`` columns of ``rows``. Not ``zip(*rows)``: that makes one iterator per row, hundreds of
    thousands of objects the garbage collector tracks and, as they survive, walks in full collections
    (two thirds of ``mc.runs()`` on 10,000 runs x 30 values)."""
    return [[row[j] for row in rows] for j in range(n)]


def _pivot(index: pd.Index, run_ids: Sequence[str], names: Sequence[str], values: Sequence[Any],
           prefix: str, dtype: Any) -> dict[str, np.ndarray]:
    """Long ``(run_id, name, value)`` rows as one column per name (sorted), aligned with ``index``."""
    import pandas as pd

    rows = index.get_indexer(list(run_ids))
    codes, uniques = pd.factorize(pd.Series(names, dtype=object))
    keep = rows >= 0
    # A Series, not np.asarray: a list value (a param may be a list) must stay one element.
    cells = pd.Series(values, dtype=dtype).to_numpy()
    table = np.full((len(index), len(uniques)), np.nan, dtype=dtype)
    table[rows[keep], codes[keep]] = cells[keep]
    return {prefix + uniques[j]: table[:, j] for j in np.argsort(np.asarray(uniques, dtype=str))}


def _assemble_metrics(chunks: list[tuple]) -> pd.DataFrame:
    """The long metrics frame from chunk rows ``(run_id, run_name, name, seqs, vals, times,
    contexts)`` ordered by run: values ordered by run, then ``seq`` (chunks of a run interleave)."""
    import pandas as pd

    if not chunks:
        return typed_empty(METRICS)
    columns: dict[str, list] = {c: [] for c in ("run_id", "run_name", "name", "value", "time", "seq")}
    contexts: list[dict[str, int]] = []
    rank: list[int] = []  # the run's position in the query's order
    previous, position = None, -1
    for run_id, run_name, name, packed_seqs, packed_vals, packed_times, text in chunks:
        seqs, values, times = unpack(packed_seqs, packed_vals, packed_times)
        n = len(seqs)
        if run_id != previous:
            previous, position = run_id, position + 1
        columns["run_id"] += [run_id] * n
        columns["run_name"] += [run_name] * n
        columns["name"] += [name] * n
        columns["value"] += values
        columns["time"] += times
        columns["seq"] += seqs
        rank += [position] * n
        contexts += json.loads(text)
    order = np.lexsort((np.asarray(columns["seq"], dtype=np.int64), np.asarray(rank)))
    data = {c: np.asarray(v, dtype=object if c in ("run_id", "run_name", "name") else None)[order].tolist()
            for c, v in columns.items()}
    frame = pd.DataFrame(data)
    frame["value"] = frame["value"].astype("float64")
    frame["seq"] = frame["seq"].astype("int64")
    contexts = [contexts[i] for i in order]
    loops = list(dict.fromkeys(k for c in contexts for k in c))
    for loop in loops:
        frame.insert(2 + loops.index(loop), loop, pd.array([c.get(loop) for c in contexts], dtype="Int64"))
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    return frame


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """Turn database errors into :mod:`mlcontext.errors` with a message that says what to do."""
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        message = str(exc.orig) if getattr(exc, "orig", None) is not None else str(exc)
        if "readonly" in message or "read-only" in message or "permission denied" in message.lower():
            raise ReadOnlyStoreError(
                f"the metadata store {url} is read-only ({message}); point MLCONTEXT_HOME or "
                "MLCONTEXT_STORE at a writable location") from exc
        raise StoreError(f"metadata store {url}: {message}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"metadata store {url}: {exc}") from exc


class _Saver(NamedTuple):
    """A run's output row of an artifact a run loaded: the name it saved it under, when (its host's
    clock), its project, and the artifact's size, kind and meta."""

    name: str
    run_id: str
    time: float
    project: str
    size: int
    kind: str
    meta: dict | None


def _savers(conn: Connection, digests: Iterable[str]) -> dict[str, list[_Saver]]:
    """``hash -> savers``: every run that saved each artifact (its ``output`` rows), oldest run
    first."""
    digests = sorted(set(digests))
    if not digests:
        return {}
    query = (select(t.RunArtifact.artifact_hash, t.RunArtifact.name, t.RunArtifact.run_id,
                    t.RunArtifact.time, t.Project.name, t.Artifact.size, t.Artifact.kind, t.Artifact.meta)
             .join(t.Artifact, t.Artifact.hash == t.RunArtifact.artifact_hash)
             .join(t.Run, t.Run.id == t.RunArtifact.run_id)
             .join(t.Project, t.Project.id == t.Run.project_id)
             .where(t.RunArtifact.artifact_hash.in_(digests), t.RunArtifact.direction == "output")
             .order_by(t.Run.started_at, t.RunArtifact.id))
    savers: dict[str, list[_Saver]] = {}
    for digest, *row in conn.execute(query):
        savers.setdefault(digest, []).append(_Saver(*row))
    return savers


def _sources(savers: list[_Saver], loader: str, name: str | None, loaded_at: float) -> list[_Saver]:
    """The runs run ``loader`` loaded an artifact from: of the other runs that saved it (under
    ``name``, the name asked for, when any did: ``load_artifact(RUN, NAME)`` names the artifact as
    its run saved it), those whose row is no later than the load. When none is by the clocks, the
    bytes were in the store all the same: the loader's own save, if it saved them before (a round
    trip: no other run's), else the earliest other saver (the loading host's clock is behind; a
    later saver of the same bytes could not have made what was loaded)."""
    named = [s for s in savers if s.name == name] if name is not None else []
    pool = named or savers
    others = [s for s in pool if s.run_id != loader]
    before = [s for s in others if s.time <= loaded_at]
    if before:
        return before
    if not others or any(s.run_id == loader and s.time <= loaded_at for s in pool):
        return []
    first = min(s.time for s in others)
    return [s for s in others if s.time == first]


def _runs_of(savers: list[_Saver]) -> list[str]:
    return list(dict.fromkeys(s.run_id for s in savers))


#: The kinds of artifact a dataset version is stored as: a frame, a file registered by path, or a
#: derived dataset's record.
_VERSION_KINDS = frozenset({"frame", "dataset", "file"})


def _loaded(meta: dict | None, runs: list[str]) -> dict[str, Any]:
    """The meta of an artifact a run loaded: the artifact's own (its format) and ``loaded``, ``runs``."""
    return {**(meta or {}), "loaded": True, "runs": runs}


def _context(text: str | None) -> dict[str, int]:
    """Loop context JSON as recorded (``{}`` for rows from before loop contexts were kept)."""
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): v for k, v in found.items() if type(v) is int} if isinstance(found, dict) else {}
