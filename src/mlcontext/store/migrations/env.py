"""Alembic environment: run with the connection mlcontext hands over (see ``store/migrate.py``)."""

from __future__ import annotations

from alembic import context

from mlcontext.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
