"""Engines for the metadata store: every connection setting lives here.

SQLite is set up for many processes logging at once: WAL journal (readers never block the writer),
a busy timeout (writers wait instead of failing), foreign keys on, and ``BEGIN IMMEDIATE`` for write
transactions, because a deferred transaction that upgrades from read to write can fail with
``database is locked`` without the busy handler ever being consulted.

A forked child never uses a connection it inherited (issue 13, item 8): they are the parent's, maybe
in the middle of a transaction. After ``fork`` every engine gets a fresh pool in the child, and the
inherited pools are kept referenced for the life of the child, so their connections are never closed
there either (closing a SQLite connection may checkpoint the parent's WAL; a PostgreSQL one would end
the parent's session).
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ..errors import ConfigError

__all__ = ["make_engine", "WRITE"]

#: Execution option that marks a connection's transactions as writes (``BEGIN IMMEDIATE`` on SQLite).
WRITE = "mlcontext_write"

SQLITE_BUSY_TIMEOUT_MS = 60_000

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()
#: Pools inherited from the parent process: never used, never closed (see the module docstring).
_INHERITED: list[Any] = []


def make_engine(url: str) -> Engine:
    """Create the engine for ``url`` with mlcontext's settings for its dialect."""
    engine = _make_engine(url)
    _ENGINES.add(engine)
    return engine


def _forget_inherited_connections() -> None:
    for engine in list(_ENGINES):
        if isinstance(engine.pool, StaticPool):  # an in-memory database: the child's copy is all it has
            continue
        _INHERITED.append(engine.pool)
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_connections)


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":  # plain postgresql:// means psycopg2 to SQLAlchemy
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=8)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                "PostgreSQL support needs psycopg: pip install 'mlcontext[postgres]'"
            ) from exc
    return create_engine(parsed)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only place, a file in the way, /proc ...
            raise ConfigError(
                f"cannot create the store's folder {str(folder)!r}: {exc.strerror or exc}; point "
                "MLCONTEXT_HOME (or mc.set_store, or MLCONTEXT_STORE) at a folder you can write"
            ) from exc
    in_memory = not database or database == ":memory:"
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; survives process kills
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except Exception:  # noqa: BLE001 - a read-only database cannot switch modes; reads still work
            pass
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine
