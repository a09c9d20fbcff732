"""Table definitions of the metadata store (SQLAlchemy 2 declarative models).

Rows here are private to the store: the public objects users see are the frozen dataclasses in
:mod:`mlcontext.store.records`. Every change to these models needs an Alembic migration in
``migrations/versions``; ``tests/store/test_migrations.py`` fails when models and migrations disagree.

Times are stored as UNIX seconds (double precision): exact enough, cheap to compare, and identical on
SQLite and PostgreSQL. Latest metric values that are NaN are stored as NULL because SQLite cannot store
NaN (it silently turns it into NULL); ``value IS NULL`` therefore means NaN, never "missing". Metric
histories are packed arrays (:class:`MetricChunk`), where NaN is NaN.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(32)
HASH = String(64)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[float] = mapped_column(Double)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[float] = mapped_column(Double, index=True)
    ended_at: Mapped[float | None] = mapped_column(Double)
    heartbeat_at: Mapped[float] = mapped_column(Double)
    entry_point: Mapped[str | None] = mapped_column(Text)
    argv: Mapped[list] = mapped_column(JSON)
    cwd: Mapped[str] = mapped_column(Text)
    python: Mapped[str] = mapped_column(String(64))
    git_commit: Mapped[str | None] = mapped_column(String(64), index=True)
    git_branch: Mapped[str | None] = mapped_column(String(255))
    git_dirty: Mapped[bool | None] = mapped_column(Boolean)
    code_hash: Mapped[str | None] = mapped_column(HASH)
    environment: Mapped[dict] = mapped_column(JSON)
    durability: Mapped[str] = mapped_column(String(16))
    error_type: Mapped[str | None] = mapped_column(String(255))
    error_message: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)


class Param(Base):
    __tablename__ = "params"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON text of the value
    type: Mapped[str] = mapped_column(String(32))
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)


class MetricChunk(Base):
    """Consecutive values of one metric of one run, written together (:mod:`.chunks`).

    ``seqs``, ``vals`` and ``times`` are little-endian arrays of ``n`` int64, float64 and float64
    (NaN stored as NaN); ``contexts`` is the JSON array of the values' loop contexts
    (``[{"epoch":3,"step":0}, ...]``); ``seq`` is the smallest of ``seqs`` (order of logging in the run).
    """

    __tablename__ = "metric_chunks"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    seq: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)
    seqs: Mapped[bytes] = mapped_column(LargeBinary)
    vals: Mapped[bytes] = mapped_column(LargeBinary)
    times: Mapped[bytes] = mapped_column(LargeBinary)
    contexts: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_metric_chunks_run_name_seq", "run_id", "name", "seq"),
        # mc.metrics("loss") across runs; one entry per chunk, not per value, so it costs the writer
        # next to nothing.
        Index("ix_metric_chunks_name", "name"),
    )


class LatestMetric(Base):
    """The last value of each metric of each run, kept by the writer so run listings stay O(runs)."""

    __tablename__ = "latest_metrics"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[float | None] = mapped_column(Double)
    seq: Mapped[int] = mapped_column(BigInteger)
    time: Mapped[float] = mapped_column(Double)


class Artifact(Base):
    """Content-addressed bytes in the artifact store (one row per distinct content).

    ``content_hash`` is the value's identity in lineage when it differs from the hash of the stored
    bytes: an array stored as ``.npy`` is a lineage leaf by :func:`~mlcontext.fingerprint.hash_array`,
    a frame stored as Arrow by :func:`~mlcontext.fingerprint.hash_frame`.
    """

    __tablename__ = "artifacts"
    hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[float] = mapped_column(Double)
    meta: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str | None] = mapped_column(HASH, index=True)


class RunArtifact(Base):
    """An artifact written (``output``) or read (``input``) by a run under a name.

    ``context`` is the JSON object of the loop indices when it was written (``{"epoch": 2}``), as for
    metrics: one name saved in every epoch is one row per epoch.
    """

    __tablename__ = "run_artifacts"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    artifact_hash: Mapped[str] = mapped_column(ForeignKey("artifacts.hash"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(8))
    time: Mapped[float] = mapped_column(Double)
    context: Mapped[str] = mapped_column(Text, server_default="{}")

    __table_args__ = (UniqueConstraint("run_id", "name", "direction", "artifact_hash", "context",
                                       name="uq_run_artifacts_occurrence"),)


class CacheEntry(Base):
    """The persistent tier of the lineage cache: a lineage hash → the artifact holding its value.

    One row per lineage hash *and writer*: ``writer_key`` is the writer's Ed25519 public key (hex),
    ``writer`` its name, ``signature`` its signature of the claim (:mod:`.identity`); readers use rows
    of writers they trust only. ``cost`` is the measured compute time (seconds), ``saved`` the compute
    time its hits saved.
    """

    __tablename__ = "cache_entries"
    lineage_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    writer_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    writer: Mapped[str] = mapped_column(String(255))
    signature: Mapped[str] = mapped_column(String(128))
    artifact_hash: Mapped[str] = mapped_column(ForeignKey("artifacts.hash"), index=True)
    cost: Mapped[float] = mapped_column(Double)
    size: Mapped[int] = mapped_column(BigInteger)
    hits: Mapped[int] = mapped_column(BigInteger)
    saved: Mapped[float] = mapped_column(Double)
    created_at: Mapped[float] = mapped_column(Double)
    last_hit_at: Mapped[float | None] = mapped_column(Double)


class Dataset(Base):
    """A named dataset of a project ("trips"); its contents live in versions."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (UniqueConstraint("project_id", "name"),)


class DatasetVersion(Base):
    """One content of a named dataset: v1, v2, ... A new version only when the content changes.

    ``content_hash`` identifies the data (a file's bytes, or a frame's columnwise fingerprint);
    ``artifact_hash`` is where its bytes are stored. ``profile`` is the application context (schema
    and per-column statistics, :mod:`mlcontext.tracking.profile`).
    """

    __tablename__ = "dataset_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(HASH, index=True)
    artifact_hash: Mapped[str] = mapped_column(ForeignKey("artifacts.hash"), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    rows: Mapped[int | None] = mapped_column(BigInteger)
    profile: Mapped[dict] = mapped_column(JSON)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    user: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Double, index=True)
    # When this content was last registered (``mc.dataset``), by any run: the latest version of a
    # dataset is the one registered last, so content that comes back (a step re-run with its old
    # parameters) is the latest again. NULL in stores from before revision 0007: created_at then.
    registered_at: Mapped[float | None] = mapped_column(Double)
    # The run that registered it then (NULL when no run did, and in stores from before revision
    # 0008): a run id without a foreign key, as an access's, so deleting the run keeps the version.
    registered_by: Mapped[str | None] = mapped_column(ID)

    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        UniqueConstraint("dataset_id", "content_hash"),
    )


class Access(Base):
    """A run read an artifact (behavioural context): for which role, by whom, when."""

    __tablename__ = "accesses"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    artifact_hash: Mapped[str] = mapped_column(ForeignKey("artifacts.hash"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="SET NULL"),
                                                   index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(255))
    time: Mapped[float] = mapped_column(Double)


class Edge(Base):
    """``src`` was used to derive ``dst``: by a run (``kind="run"``) or per its lineage (``"lineage"``)."""

    __tablename__ = "edges"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    src_hash: Mapped[str] = mapped_column(HASH, index=True)
    dst_hash: Mapped[str] = mapped_column(HASH, index=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    log_hash: Mapped[str | None] = mapped_column(HASH)  # the lineage log that explains a lineage edge
    time: Mapped[float] = mapped_column(Double)

    __table_args__ = (UniqueConstraint("src_hash", "dst_hash", "run_id", "kind"),)
