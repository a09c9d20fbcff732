"""cache entries: the persistent tier of the lineage cache (issue 4)

One row per lineage hash whose value is kept in the artifact store; reviewed by hand after
autogenerate.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:32:39.459496
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cache_entries',
    sa.Column('lineage_hash', sa.String(length=64), nullable=False),
    sa.Column('artifact_hash', sa.String(length=64), nullable=False),
    sa.Column('cost', sa.Double(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.BigInteger(), nullable=False),
    sa.Column('saved', sa.Double(), nullable=False),
    sa.Column('created_at', sa.Double(), nullable=False),
    sa.Column('last_hit_at', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['artifact_hash'], ['artifacts.hash'], ),
    sa.PrimaryKeyConstraint('lineage_hash')
    )
    with op.batch_alter_table('cache_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cache_entries_artifact_hash'), ['artifact_hash'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cache_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cache_entries_artifact_hash'))

    op.drop_table('cache_entries')
