"""artifact occurrences: loop context per run artifact, lineage identity per artifact (issue 11, 13)

``run_artifacts.context`` holds the loop indices an artifact was written at, and joins the unique key
(one name saved in each epoch is one row per epoch). ``artifacts.content_hash`` is the lineage identity
of a value stored in a data format (an ``.npy`` array's :func:`hash_array`). Written by hand: the
unnamed unique key of ``run_artifacts`` is found by its columns on each dialect.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_OLD_KEY = ['run_id', 'name', 'direction', 'artifact_hash']
# SQLite reflects the old key without a name; batch mode names it by this convention to drop it.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_key_name() -> str:
    if op.get_bind().dialect.name == 'sqlite':
        return 'uq_run_artifacts_run_id'
    for found in sa.inspect(op.get_bind()).get_unique_constraints('run_artifacts'):
        if found['column_names'] == _OLD_KEY and found['name']:
            return found['name']
    raise RuntimeError("run_artifacts has no unique key on (run_id, name, direction, artifact_hash)")


def upgrade() -> None:
    with op.batch_alter_table('artifacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_artifacts_content_hash'), ['content_hash'], unique=False)
    old = _old_key_name()
    with op.batch_alter_table('run_artifacts', schema=None, naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column('context', sa.Text(), server_default='{}', nullable=False))
        batch_op.drop_constraint(old, type_='unique')
        batch_op.create_unique_constraint('uq_run_artifacts_occurrence', [*_OLD_KEY, 'context'])


def downgrade() -> None:
    with op.batch_alter_table('run_artifacts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_run_artifacts_occurrence', type_='unique')
    # Several occurrences of one (run, name, direction, hash) become one again.
    op.execute("DELETE FROM run_artifacts WHERE id NOT IN (SELECT MIN(id) FROM run_artifacts "
               "GROUP BY run_id, name, direction, artifact_hash)")
    # The name each dialect gave the unnamed key of revision 0001 (SQLite: as batch mode names it).
    old = ('uq_run_artifacts_run_id' if op.get_bind().dialect.name == 'sqlite'
           else 'run_artifacts_run_id_name_direction_artifact_hash_key')
    with op.batch_alter_table('run_artifacts', schema=None) as batch_op:
        batch_op.drop_column('context')
        batch_op.create_unique_constraint(old, _OLD_KEY)
    op.drop_index('ix_artifacts_content_hash', table_name='artifacts')
    # Not batch mode: recreating `artifacts` would break the foreign keys that point at it (SQLite
    # drops a column in place since 3.35).
    op.execute("ALTER TABLE artifacts DROP COLUMN content_hash")
