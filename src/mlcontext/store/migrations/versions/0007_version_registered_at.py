"""dataset versions: when each content was last registered (a newcomer's finding)

``dataset_versions.registered_at`` is set when a version is made and again each time its content is
registered (``mc.dataset``): the latest version of a dataset is the one registered last, so a step
re-run with its old parameters makes its old content the latest again instead of leaving an older
run's newer-numbered version as "latest". Rows of older stores keep NULL: their creation time counts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_at', sa.Double(), nullable=True))


def downgrade() -> None:
    # Not batch mode: recreating `dataset_versions` would break the foreign keys that point at it
    # (SQLite drops a column in place since 3.35).
    op.execute("ALTER TABLE dataset_versions DROP COLUMN registered_at")
