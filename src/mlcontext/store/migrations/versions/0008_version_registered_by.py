"""dataset versions: which run registered each content last (a newcomer's finding)

``dataset_versions.registered_by`` is the run that set ``registered_at``: ``versions`` listed the
creating run beside the time of the last registration, so a version a later run registered again
looked registered by the run that first made it. A run id without a foreign key (as an access's):
deleting that run keeps the version. Rows of older stores keep NULL: their creating run counts when
they were never registered again, else the run is unknown.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dataset_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registered_by', sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Not batch mode: recreating `dataset_versions` would break the foreign keys that point at it
    # (SQLite drops a column in place since 3.35).
    op.execute("ALTER TABLE dataset_versions DROP COLUMN registered_by")
