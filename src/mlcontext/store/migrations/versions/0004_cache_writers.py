"""cache entries record their writer: one row per (lineage hash, writer key), signed (issue 13 item 4)

Entries from before this revision have no writer: they are kept with an empty key and signature, so
no reader trusts them (``mlcontext cache --clear`` removes them). Written by hand: SQLite cannot change
a primary key in place, so the table is copied (on both dialects, for one code path).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_COMMON = "artifact_hash, cost, size, hits, saved, created_at, last_hit_at"


def _table(name: str, *, with_writer: bool) -> None:
    writer = [sa.Column('writer_key', sa.String(length=64), nullable=False),
              sa.Column('writer', sa.String(length=255), nullable=False),
              sa.Column('signature', sa.String(length=128), nullable=False)] if with_writer else []
    key = ['lineage_hash', 'writer_key'] if with_writer else ['lineage_hash']
    op.create_table(name,
    sa.Column('lineage_hash', sa.String(length=64), nullable=False),
    *writer,
    sa.Column('artifact_hash', sa.String(length=64), nullable=False),
    sa.Column('cost', sa.Double(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.BigInteger(), nullable=False),
    sa.Column('saved', sa.Double(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('last_hit_at', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['artifact_hash'], ['artifacts.hash'], ),
    sa.PrimaryKeyConstraint(*key)
    )


def _swap(select: str, *, with_writer: bool) -> None:
    """Copy ``cache_entries`` into a new table through ``select``, then put the new one in its place."""
    _table('cache_entries_new', with_writer=with_writer)
    columns = f"lineage_hash, {'writer_key, writer, signature, ' if with_writer else ''}{_COMMON}"
    op.execute(f"INSERT INTO cache_entries_new ({columns}) {select}")
    with op.batch_alter_table('cache_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_cache_entries_artifact_hash')
    op.drop_table('cache_entries')
    op.rename_table('cache_entries_new', 'cache_entries')
    if op.get_bind().dialect.name == 'postgresql':  # the name a fresh store's key has
        op.execute("ALTER TABLE cache_entries RENAME CONSTRAINT cache_entries_new_pkey TO cache_entries_pkey")
    with op.batch_alter_table('cache_entries', schema=None) as batch_op:
        batch_op.create_index('ix_cache_entries_artifact_hash', ['artifact_hash'], unique=False)


def upgrade() -> None:
    _swap(f"SELECT lineage_hash, '', '', '', {_COMMON} FROM cache_entries", with_writer=True)


def downgrade() -> None:
    # One row per lineage hash again: keep the row of the smallest writer key.
    _swap(f"SELECT lineage_hash, {_COMMON} FROM cache_entries c WHERE writer_key = "
          "(SELECT MIN(writer_key) FROM cache_entries d WHERE d.lineage_hash = c.lineage_hash)",
          with_writer=False)
