"""Metric histories stored as packed chunks (issue 15): every reader sees every value once, in the
order it was logged, on every backend; older stores are migrated; retries never duplicate a chunk.

Peer bugs of the same kinds, each with a small input of ours:
- MLflow #24577 / #24612: a retried batch holding NaN values was not recognised as already stored
  (``nan != nan``) and was inserted again.
- fasttrackml #435: a NaN metric value made reading a run's metrics fail.
- MLflow #3024 (review): several values of one key in one batch with non-increasing steps; the
  latest value must be the one with the highest step, and an older batch must not overwrite it.
- fasttrackml #1328: metric iterations wrong when several threads log into one run.
- MLflow #24169 / #23702: long histories truncated (the earliest 25,000 rows only).
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st

import mlcontext as mc
from mlcontext.store import MetadataStore, RunStatus
from mlcontext.store.chunks import pack, pack_rows, unpack
from mlcontext.store.engine import make_engine
from mlcontext.store.migrate import _config, upgrade


@pytest.fixture
def meta(metadata_url):
    store = MetadataStore(metadata_url)
    yield store
    store.close()


def _new_run(meta: MetadataStore, name: str = "r", started_at: float | None = None) -> str:
    run_id = uuid.uuid4().hex
    now = time.time() if started_at is None else started_at
    meta.create_run("p", id=run_id, name=name, status=RunStatus.RUNNING, user="ana", host="h", pid=1,
                    started_at=now, heartbeat_at=now, entry_point="train.py", argv=["train.py"],
                    cwd="/w", python="3.11", git_commit=None, git_branch=None, git_dirty=None,
                    code_hash=None, environment={}, durability="buffered")
    return run_id


def _row(run_id: str, name: str, seq: int, value: float, **ctx: int) -> tuple:
    return (run_id, name, seq, value, 1000.0 + seq, json.dumps(ctx, separators=(",", ":")))


def _expected_frame(rows: list[tuple], run_names: dict[str, str], order: list[str]) -> pd.DataFrame:
    """The long frame computed from the logged rows with plain pandas (the differential oracle)."""
    frame = pd.DataFrame([dict(run_id=r, run_name=run_names[r], name=n, value=v, time=t, seq=s,
                               **json.loads(c)) for r, n, s, v, t, c in rows])
    frame["rank"] = frame["run_id"].map({r: i for i, r in enumerate(order)})
    return frame.sort_values(["rank", "seq"], kind="stable").drop(columns="rank").reset_index(drop=True)


def test_interleaved_metrics_of_several_runs_read_back_as_logged(meta):
    first, second = _new_run(meta, "a", 100.0), _new_run(meta, "b", 200.0)
    rows = []
    for epoch in range(3):
        for step in range(4):
            seq = epoch * 8 + step * 2
            rows += [_row(first, "loss", seq, 1.0 / (seq + 1), epoch=epoch, step=step),
                     _row(first, "acc", seq + 1, seq / 24, epoch=epoch, step=step),
                     _row(second, "loss", seq, -float(seq), epoch=epoch)]
    with meta.write() as conn:  # one batch holding three metrics of two runs, interleaved
        meta.write_batch(conn, [], rows[:20])
    with meta.write() as conn:
        meta.write_batch(conn, [], rows[20:])
    points = meta.metric_points(first, "loss")
    mine = [r for r in rows if r[0] == first and r[1] == "loss"]
    assert [(p.seq, p.value, p.time, dict(p.context)) for p in points] == \
        [(s, v, t, json.loads(c)) for _, _, s, v, t, c in mine]
    got = meta.metrics_frame([])
    expected = _expected_frame(rows, {first: "a", second: "b"}, [first, second])
    assert got.columns.tolist() == ["run_id", "run_name", "epoch", "step", "name", "value", "time", "seq"]
    assert got["run_id"].tolist() == expected["run_id"].tolist()
    assert got["seq"].tolist() == expected["seq"].tolist()
    assert got["name"].tolist() == expected["name"].tolist()
    assert np.array_equal(got["value"].to_numpy(), expected["value"].to_numpy())
    for loop in ("epoch", "step"):
        assert got[loop].tolist() == expected[loop].astype("Int64").tolist()
    assert (got["time"] == pd.to_datetime(expected["time"], unit="s", utc=True)).all()
    only_acc = meta.metrics_frame(["acc"], run_ids=[first])
    assert only_acc["seq"].tolist() == [s for _, n, s, *_ in rows if n == "acc"]


def test_values_of_one_metric_out_of_seq_order_read_back_in_seq_order(meta):
    """Threads take their seq before they queue: a batch may hold 7 before 5, and chunks overlap
    (fasttrackml #1328); the latest value is the highest seq's (MLflow #3024)."""
    run_id = _new_run(meta)
    with meta.write() as conn:
        meta.write_batch(conn, [], [_row(run_id, "m", s, float(s)) for s in (3, 7, 5)])
    with meta.write() as conn:
        meta.write_batch(conn, [], [_row(run_id, "m", s, float(s)) for s in (4, 6)])
    assert [p.seq for p in meta.metric_points(run_id, "m")] == [3, 4, 5, 6, 7]
    assert meta.metrics_frame(["m"])["seq"].tolist() == [3, 4, 5, 6, 7]
    assert meta.get_run(run_id).metrics == {"m": 7.0}


def test_nan_and_infinities_inside_a_chunk(meta):
    """fasttrackml #435: a NaN among the values must not break any reader."""
    run_id = _new_run(meta)
    values = [0.5, math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
    with meta.write() as conn:
        meta.write_batch(conn, [], [_row(run_id, "m", i, v) for i, v in enumerate(values)])
    got = [p.value for p in meta.metric_points(run_id, "m")]
    assert math.isnan(got[1]) and got[:1] + got[2:] == values[:1] + values[2:]
    assert math.copysign(1.0, got[4]) == -1.0  # the sign of zero survives
    frame = meta.metrics_frame(["m"])
    assert frame["value"].isna().tolist() == [False, True] + [False] * 5


def test_many_metrics_in_one_batch_take_several_statements(meta):
    run_id = _new_run(meta)
    rows = [_row(run_id, f"m{i:05d}", i, float(i)) for i in range(4_500)]  # > rows per INSERT
    with meta.write() as conn:
        meta.write_batch(conn, [], rows)
    assert len(meta.get_run(run_id).metrics) == 4_500
    assert meta.metric_points(run_id, "m04499")[0].value == 4_499.0


def test_a_long_history_is_returned_whole(meta):
    """MLflow #24169 / #23702: no silent truncation of a long series."""
    run_id = _new_run(meta)
    n = 60_000
    for start in range(0, n, 25_000):
        with meta.write() as conn:
            meta.write_batch(conn, [], [_row(run_id, "loss", s, s * 0.5, step=s)
                                        for s in range(start, min(n, start + 25_000))])
    points = meta.metric_points(run_id, "loss")
    assert len(points) == n and [p.seq for p in points] == list(range(n))
    assert points[-1].value == (n - 1) * 0.5 and points[-1].context == {"step": n - 1}
    assert len(meta.metrics_frame(["loss"])) == n


def test_delete_metric_chunks_removes_the_chunks_that_start_with_those_seqs(meta):
    run_id = _new_run(meta)
    with meta.write() as conn:
        meta.write_batch(conn, [], [_row(run_id, n, s, 1.0) for s, n in enumerate("abab")])
    with meta.write() as conn:
        meta.delete_metric_chunks(conn, run_id, [0])  # the chunk of "a": seqs 0 and 2
    assert meta.metric_points(run_id, "a") == [] and len(meta.metric_points(run_id, "b")) == 2


def test_a_nan_batch_interrupted_after_commit_is_stored_once(sqlite_store, monkeypatch):
    """MLflow #24577: a retried batch of NaN values was inserted again."""
    from contextlib import contextmanager

    run = mc.run("nan-retry", project="chunks", durability="sync")
    real_write = sqlite_store.metadata.write
    interrupted: list[bool] = []

    @contextmanager
    def write_then_interrupt():
        with real_write() as conn:
            yield conn
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt

    monkeypatch.setattr(sqlite_store.metadata, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run.log("m", math.nan)
    run.log("m", math.nan)
    run.end()
    assert interrupted and len(sqlite_store.metadata.metric_points(run.id, "m")) == 2


def test_a_failed_batch_retried_in_parts_is_stored_exactly_once(sqlite_store):
    """The writer retries a failed batch (committed after all) in smaller writes: the first retry
    deletes the chunks of the failed attempt; values not retried yet are still queued."""
    run = mc.run("parts", project="chunks")
    writer = run._writer
    writer._stop.set()
    writer._wake.set()
    writer._thread.join()
    for i in range(3000):
        mc.log("a" if i % 3 else "b", float(i))
    pending = list(writer.metrics)
    with sqlite_store.metadata.write() as conn:  # the failed attempt had committed
        sqlite_store.metadata.write_batch(conn, [], pending)
    writer._retry_seqs.update(m[2] for m in pending)
    writer._write_chunk(1000, False)  # the retry, in parts
    writer._write_chunk(1000, False)
    writer._write_chunk(1000, False)
    run.end()
    a = [p.value for p in sqlite_store.metadata.metric_points(run.id, "a")]
    b = [p.value for p in sqlite_store.metadata.metric_points(run.id, "b")]
    assert a == [float(i) for i in range(3000) if i % 3] and b == [float(i) for i in range(0, 3000, 3)]
    assert not writer._retry_seqs


def test_threads_logging_into_one_run_store_every_value_once(sqlite_store):
    run = mc.run("threads", project="chunks")

    def work(k: int) -> None:
        for i in range(5000):
            mc.log("x", k * 10_000 + i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.end()
    points = sqlite_store.metadata.metric_points(run.id, "x")
    assert sorted(p.value for p in points) == sorted(float(k * 10_000 + i) for k in range(4)
                                                     for i in range(5000))
    assert [p.seq for p in points] == sorted(p.seq for p in points)
    for k in range(4):  # each thread's values in its own order
        mine = [p.value for p in points if k * 10_000 <= p.value < (k + 1) * 10_000]
        assert mine == sorted(mine)


# -- the format -----------------------------------------------------------------------------------

_contexts = st.dictionaries(st.text(min_size=1, max_size=5), st.integers(-2**63, 2**63 - 1), max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True, width=64),
                          st.floats(allow_nan=False, allow_infinity=False), _contexts),
                min_size=1, max_size=50))
def test_pack_and_unpack_round_trip(values):
    seqs, vals, times, contexts = zip(*values, strict=True)
    chunk = pack("r" * 32, "m", seqs, vals, times, [json.dumps(c) for c in contexts])
    got_seqs, got_vals, got_times = unpack(chunk.seqs, chunk.vals, chunk.times)
    assert got_seqs == list(seqs) and got_times == list(times) and chunk.seq == min(seqs)
    assert [struct_bits(v) for v in got_vals] == [struct_bits(v) for v in vals]  # NaN payloads too
    assert json.loads(chunk.contexts) == list(contexts) and chunk.n == len(values)
    assert chunk.vals == np.array(vals, dtype="<f8").tobytes()  # the format: little-endian float64


def struct_bits(value: float) -> bytes:
    return np.array([value], dtype="<f8").tobytes()


def test_pack_rows_groups_by_run_and_metric_keeping_order():
    rows = [("r1", "a", 0, 0.0, 0.0, "{}"), ("r1", "b", 1, 1.0, 1.0, "{}"), ("r2", "a", 2, 2.0, 2.0, "{}"),
            ("r1", "a", 3, 3.0, 3.0, "{}"), ("r1", "a", 9, 9.0, 9.0, "{}"), ("r1", "a", 4, 4.0, 4.0, "{}")]
    chunks, latest = pack_rows(rows)
    assert [(c.run_id, c.name, c.seq, c.n, unpack(c.seqs, c.vals, c.times)[0]) for c in chunks] == [
        ("r1", "a", 0, 4, [0, 3, 9, 4]), ("r1", "b", 1, 1, [1]), ("r2", "a", 2, 1, [2])]
    assert latest == [("r1", "a", 9, 9.0, 9.0), ("r1", "b", 1, 1.0, 1.0), ("r2", "a", 2, 2.0, 2.0)]


# -- migration ------------------------------------------------------------------------------------


def test_rows_of_an_older_store_are_packed_and_unpacked_by_the_migrations(metadata_url):
    engine = make_engine(metadata_url)
    upgrade(engine, "0005")
    run_ids = [uuid.uuid4().hex for _ in range(2)]
    rows = [(run_ids[0], "loss", s, None if s == 2 else s * 0.5, 100.0 + s,
             "{}" if s == 0 else json.dumps({"epoch": s})) for s in range(5)]
    rows += [(run_ids[1], "loss", 0, 7.0, 50.0, '{"epoch":0}'), (run_ids[0], "acc", 5, 0.9, 105.0, "{}")]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO projects (name, created_at) VALUES ('p', 0)"))
        for k, run_id in enumerate(run_ids):
            conn.execute(sa.text(
                "INSERT INTO runs (id, project_id, name, status, user, host, pid, started_at, heartbeat_at,"
                " argv, cwd, python, environment, durability) VALUES (:id, 1, :name, 'finished', 'u', 'h',"
                " 1, :t, :t, '[]', '/', '3', '{}', 'buffered')".replace(" user,", ' "user",')),
                dict(id=run_id, name=f"r{k}", t=float(k)))
        conn.execute(sa.text("INSERT INTO metrics (run_id, name, seq, value, time, context) VALUES "
                             "(:r, :n, :s, :v, :t, :c)"),
                     [dict(r=r, n=n, s=s, v=v, t=t, c=c) for r, n, s, v, t, c in rows])
    upgrade(engine)
    store = MetadataStore(metadata_url, engine=engine)
    points = store.metric_points(run_ids[0], "loss")
    assert [p.seq for p in points] == [0, 1, 2, 3, 4] and math.isnan(points[2].value)
    assert [p.value for p in points if p.seq != 2] == [0.0, 0.5, 1.5, 2.0]
    assert [dict(p.context) for p in points] == [{}] + [{"epoch": s} for s in range(1, 5)]
    assert [p.time for p in points] == [100.0 + s for s in range(5)]
    assert len(store.metrics_frame([])) == len(rows)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM metric_chunks")).scalar() == 3
    with engine.begin() as conn:
        command.downgrade(_config(conn), "0005")
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT run_id, name, seq, value, time, context FROM metrics "
                                    "ORDER BY run_id, name, seq")).all()
    canonical = [(r, n, s, v, t, json.dumps(json.loads(c), separators=(",", ":")))
                 for r, n, s, v, t, c in rows]
    assert [tuple(b) for b in back] == sorted(canonical, key=lambda r: (r[0], r[1], r[2]))
    store.close()
