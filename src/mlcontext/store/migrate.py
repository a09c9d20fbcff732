"""Schema versions of the metadata store, managed by Alembic.

A new, empty store is created from the models and stamped with the head revision (one round trip
instead of replaying history). Opening a store at the head revision reads ``alembic_version`` with
SQLAlchemy alone: Alembic (and Mako with it) is imported only to upgrade, or to explain a mismatch, so
a process that only logs does not carry it (issue 15: memory and start-up). An existing store must be
at the head revision: an older one raises :class:`~mlcontext.errors.SchemaOutdatedError` naming
``mlcontext db upgrade``; ``upgrade()`` runs the migrations.

Creating and upgrading happen under a store-wide lock, and what to do is decided again once the lock
is held: many processes start on a new store at once (a team's first sweep), and without the lock
concurrent ``CREATE TABLE`` statements fail on PostgreSQL with a duplicate key in ``pg_type``, and a
SQLite process can see another's tables before their revision is stamped. The lock is a transaction
advisory lock on PostgreSQL (released at commit, also when the process dies) and the database's write
lock (``BEGIN IMMEDIATE``) on SQLite; DDL is transactional on both, so the schema and its stamp appear
together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

from ..errors import ConfigError, SchemaOutdatedError
from .engine import WRITE
from .schema import Base

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "head_revision", "current_revision", "ensure_schema", "upgrade"]

#: The newest revision in ``migrations/versions`` (``tests/store/test_migrations.py`` checks it).
HEAD_REVISION = "0008"

_MIGRATIONS = Path(__file__).with_name("migrations")

#: The key of PostgreSQL's advisory lock that guards schema changes (any fixed 64-bit number that other
#: applications on the same database are unlikely to use: the first bytes of "mlcontxt").
_PG_LOCK_KEY = int.from_bytes(b"mlcontxt", "big") >> 1


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The schema revision this version of mlcontext expects."""
    return HEAD_REVISION


def _known_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    return [rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()]


def current_revision(engine: Engine) -> str | None:
    """The store's revision, or ``None`` for a store without mlcontext tables."""
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    """What Alembic's ``MigrationContext.get_current_revision`` reads, without importing Alembic."""
    if not inspect(conn).has_table(_VERSION.name):
        return None
    return conn.execute(text(f"SELECT version_num FROM {_VERSION.name}")).scalar()


#: Alembic's version table, as ``alembic stamp`` creates it.
_VERSION = Table("alembic_version", MetaData(),
                 Column("version_num", String(32), nullable=False),
                 PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty store; check the revision of an existing one.

    Raises
    ------
    SchemaOutdatedError
        The store has an older (or newer) revision, or mlcontext tables without a revision.
    """
    current = current_revision(engine)
    if current is None:
        with _schema_lock(engine) as conn:
            current = _revision(conn)
            if current is None:  # still none with the lock held: this process creates the schema
                _create(conn, engine)
                return
    _check_revision(engine, current)


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A write transaction holding the store-wide schema lock until it ends."""
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield conn


def _create(conn: Connection, engine: Engine) -> None:
    if inspect(conn).has_table("runs"):
        raise SchemaOutdatedError(
            f"the store at {engine.url!r} has mlcontext tables but no schema revision; "
            "run `mlcontext db upgrade` to bring it under migration control"
        )
    Base.metadata.create_all(conn)
    _VERSION.create(conn)  # what ``alembic stamp head`` does, without importing Alembic
    conn.execute(_VERSION.insert().values(version_num=HEAD_REVISION))


def _check_revision(engine: Engine, current: str) -> None:
    head = head_revision()
    if current != head:
        known = set(_known_revisions())
        hint = ("run `mlcontext db upgrade`" if current in known
                else "it was written by a newer mlcontext: upgrade the mlcontext package")
        raise SchemaOutdatedError(
            f"the store at {engine.url!r} has schema revision {current}, this mlcontext expects {head}: "
            + hint
        )


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the store to ``revision``; returns (revision before, revision after).

    Two processes upgrading at once take turns: the second finds the store upgraded already.

    Raises
    ------
    ConfigError
        ``revision`` is not one of this mlcontext's revisions (nor ``"head"``).
    """
    from alembic import command

    known = _known_revisions()
    if revision != "head" and revision not in known:
        raise ConfigError(f"no schema revision {revision!r}; this mlcontext knows "
                          f"{', '.join(sorted(known))} and head")
    before = current_revision(engine)
    with _schema_lock(engine) as conn:
        command.upgrade(_config(conn), revision)
    return before, current_revision(engine) or ""
