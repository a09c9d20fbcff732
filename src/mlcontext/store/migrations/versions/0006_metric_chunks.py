"""metric chunks: a metric's values written together are one row of packed arrays (issue 15)

``metrics`` (one row per value) becomes ``metric_chunks`` (one row per metric per write of the
writer, see :mod:`mlcontext.store.chunks`). Existing values are packed per run and metric, in ``seq``
order, at most :data:`CHUNK` values a row; NULL values (NaN, see ``schema``) become NaN. The downgrade
expands the chunks back into rows. Written by hand: the data moves.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from mlcontext.store.chunks import pack, unpack

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

#: Values per chunk when packing rows of an older store.
CHUNK = 10_000
#: Rows per INSERT while moving data.
BATCH = 500

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _chunks_table() -> sa.Table:
    return op.create_table(
        'metric_chunks',
        sa.Column('id', _ID, nullable=False),
        sa.Column('run_id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('seqs', sa.LargeBinary(), nullable=False),
        sa.Column('vals', sa.LargeBinary(), nullable=False),
        sa.Column('times', sa.LargeBinary(), nullable=False),
        sa.Column('contexts', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )


def _metrics_table() -> sa.Table:
    return op.create_table(
        'metrics',
        sa.Column('id', _ID, nullable=False),
        sa.Column('run_id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('value', sa.Double(), nullable=True),
        sa.Column('time', sa.Double(), nullable=False),
        sa.Column('context', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )


def _insert_in_batches(table: sa.Table, rows: Iterator[dict]) -> None:
    bind = op.get_bind()
    while batch := list(itertools.islice(rows, BATCH)):
        bind.execute(table.insert(), batch)


def upgrade() -> None:
    chunks = _chunks_table()
    op.create_index('ix_metric_chunks_name', 'metric_chunks', ['name'], unique=False)
    op.create_index('ix_metric_chunks_run_name_seq', 'metric_chunks', ['run_id', 'name', 'seq'],
                    unique=False)
    rows = op.get_bind().execute(sa.text(
        "SELECT run_id, name, seq, value, time, context FROM metrics ORDER BY run_id, name, seq"))
    _insert_in_batches(chunks, _packed(rows))
    op.drop_index('ix_metrics_name', table_name='metrics')
    op.drop_index('ix_metrics_run_name_seq', table_name='metrics')
    op.drop_table('metrics')


def _packed(rows: sa.CursorResult) -> Iterator[dict]:
    for (run_id, name), group in itertools.groupby(rows, lambda r: (r[0], r[1])):
        while piece := list(itertools.islice(group, CHUNK)):
            _, _, seqs, stored, times, contexts = zip(*piece, strict=True)
            values = [math.nan if v is None else v for v in stored]
            yield pack(run_id, name, seqs, values, times, [c or "{}" for c in contexts])._asdict()


def downgrade() -> None:
    metrics = _metrics_table()
    op.create_index('ix_metrics_name', 'metrics', ['name'], unique=False)
    op.create_index('ix_metrics_run_name_seq', 'metrics', ['run_id', 'name', 'seq'], unique=False)
    chunks = op.get_bind().execute(sa.text(
        "SELECT run_id, name, seqs, vals, times, contexts FROM metric_chunks ORDER BY id"))

    def expanded():
        for run_id, name, packed_seqs, packed_vals, packed_times, contexts in chunks:
            seqs, values, times = unpack(packed_seqs, packed_vals, packed_times)
            for seq, value, time, context in zip(seqs, values, times, json.loads(contexts), strict=True):
                yield dict(run_id=run_id, name=name, seq=seq, value=None if value != value else value,
                           time=time, context=json.dumps(context, separators=(",", ":")))

    _insert_in_batches(metrics, expanded())
    op.drop_index('ix_metric_chunks_run_name_seq', table_name='metric_chunks')
    op.drop_index('ix_metric_chunks_name', table_name='metric_chunks')
    op.drop_table('metric_chunks')
