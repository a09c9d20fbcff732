"""Schema versions of the metadata store, managed by Alembic.

A new, empty store is created from the models and stamped with the head revision (one round trip
instead of replaying history). An existing store must be at the head revision: an older one raises
:class:`~mlcontext.errors.SchemaOutdatedError` naming ``mlcontext db upgrade``; ``upgrade()`` runs the
migrations.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from ..errors import SchemaOutdatedError
from .engine import WRITE
from .schema import Base

__all__ = ["head_revision", "current_revision", "ensure_schema", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The schema revision this version of mlcontext expects."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's revision, or ``None`` for a store without mlcontext tables."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty store; check the revision of an existing one."""
    current = current_revision(engine)
    if current is None:
        if inspect(engine).has_table("runs"):
            raise SchemaOutdatedError(
                f"the store at {engine.url!r} has mlcontext tables but no schema revision; "
                "run `mlcontext db upgrade` to bring it under migration control"
            )
        _create(engine)
        return
    head = head_revision()
    if current != head:
        known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
        hint = ("run `mlcontext db upgrade`" if current in known
                else "it was written by a newer mlcontext: upgrade the mlcontext package")
        raise SchemaOutdatedError(
            f"the store at {engine.url!r} has schema revision {current}, this mlcontext expects {head}: "
            + hint
        )


def _create(engine: Engine) -> None:
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        # Another process may create the store at the same moment: create_all checks first.
        Base.metadata.create_all(conn)
        if MigrationContext.configure(conn).get_current_revision() is None:
            command.stamp(_config(conn), "head")


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the store to ``revision``; returns (revision before, revision after)."""
    before = current_revision(engine)
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        command.upgrade(_config(conn), revision)
    return before, current_revision(engine) or ""
