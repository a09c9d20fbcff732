"""The metadata store's contract, run against every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
import time
import uuid

import pytest

from mlcontext.errors import NotFoundError, RunError
from mlcontext.store import MetadataStore, RunStatus


@pytest.fixture
def meta(metadata_url):
    store = MetadataStore(metadata_url)
    yield store
    store.close()


def _new_run(meta: MetadataStore, project: str = "p", name: str = "r", **extra) -> str:
    run_id = uuid.uuid4().hex
    now = extra.pop("started_at", time.time())
    meta.create_run(project, id=run_id, name=name, status=RunStatus.RUNNING, user="ana", host="h",
                    pid=1, started_at=now, heartbeat_at=extra.pop("heartbeat_at", now),
                    entry_point="train.py", argv=["train.py"], cwd="/w", python="3.11",
                    git_commit="c" * 40, git_branch="main", git_dirty=False, code_hash=None,
                    environment={"packages": {"numpy": "2"}}, durability="buffered", **extra)
    return run_id


def _metric(run_id: str, name: str, seq: int, value: float, **ctx: int):
    return (run_id, name, seq, value, time.time(), json.dumps(ctx))


def test_new_store_is_created_and_reopened(metadata_url):
    first = MetadataStore(metadata_url)
    run_id = _new_run(first)
    first.close()
    again = MetadataStore(metadata_url)
    assert again.get_run(run_id[:6]).id == run_id
    again.close()


def test_params_metrics_and_latest_values_round_trip(meta):
    run_id = _new_run(meta)
    with meta.write() as conn:
        params = [(run_id, "lr", "0.1", "float", False), (run_id, "layers", "[1, 2]", "list", True)]
        meta.write_batch(conn, params,
                         [_metric(run_id, "loss", 0, 1.0, epoch=0), _metric(run_id, "loss", 1, 0.5, epoch=1)])
    with meta.write() as conn:
        meta.write_batch(conn, [], [_metric(run_id, "loss", 2, 0.25, epoch=2)])
    record = meta.get_run(run_id)
    assert record.params == {"lr": 0.1, "layers": [1, 2]}
    assert record.metrics == {"loss": 0.25}
    points = meta.metric_points(run_id, "loss")
    assert [p.value for p in points] == [1.0, 0.5, 0.25]
    assert [p.context for p in points] == [{"epoch": 0}, {"epoch": 1}, {"epoch": 2}]


def test_latest_value_never_goes_backwards_when_batches_arrive_out_of_order(meta):
    run_id = _new_run(meta)
    with meta.write() as conn:
        meta.write_batch(conn, [], [_metric(run_id, "loss", 5, 0.1)])
    with meta.write() as conn:
        meta.write_batch(conn, [], [_metric(run_id, "loss", 3, 0.9)])
    assert meta.get_run(run_id).metrics == {"loss": 0.1}


def test_non_finite_metrics_are_stored_as_such(meta):
    run_id = _new_run(meta)
    with meta.write() as conn:
        meta.write_batch(conn, [], [_metric(run_id, "m", i, v)
                                    for i, v in enumerate([math.nan, math.inf, -math.inf, 1.5])])
    values = [p.value for p in meta.metric_points(run_id, "m")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]
    frame = meta.metrics_frame(["m"])
    assert frame["value"].isna().sum() == 1 and frame["value"].tolist()[1:] == [math.inf, -math.inf, 1.5]


def test_runs_frame_has_one_row_per_run_with_params_and_last_metrics(meta):
    ids = [_new_run(meta, project="taxi", name=f"r{i}", started_at=1000.0 + i) for i in range(3)]
    other = _new_run(meta, project="other")
    with meta.write() as conn:
        meta.write_batch(conn, [(ids[0], "lr", "0.1", "float", False), (ids[2], "k", "3", "int", False)],
                         [_metric(ids[1], "acc", 0, 0.7), _metric(other, "acc", 0, 0.1)])
    frame = meta.runs_frame("taxi")
    assert frame["id"].tolist() == ids[::-1]  # newest first
    assert set(frame.columns) >= {"param.lr", "param.k", "metric.acc", "start", "duration", "status"}
    assert frame.set_index("id").loc[ids[1], "metric.acc"] == 0.7
    assert math.isnan(frame.set_index("id").loc[ids[0], "metric.acc"])
    assert meta.runs_frame("taxi", limit=1)["id"].tolist() == [ids[2]]
    assert meta.runs_frame(status="finished").empty


def test_end_run_records_status_and_error(meta):
    run_id = _new_run(meta)
    meta.end_run(run_id, RunStatus.FAILED, error_type="ValueError", error_message="bad", traceback="tb")
    record = meta.get_run(run_id)
    assert (record.status, record.error_type, record.error_message, record.traceback) == (
        "failed", "ValueError", "bad", "tb")
    assert record.duration is not None and record.duration >= 0


def test_runs_without_heartbeat_are_marked_killed(meta):
    now = time.time()
    stale = _new_run(meta, heartbeat_at=now - 600)
    fresh = _new_run(meta, heartbeat_at=now)
    assert meta.mark_dead_runs(timeout=60, now=now) == 1
    assert meta.get_run(stale).status == RunStatus.KILLED
    assert meta.get_run(stale).ended_at == pytest.approx(now - 600)
    assert meta.get_run(fresh).status == RunStatus.RUNNING


def test_a_killed_run_lasts_until_its_last_logged_value(meta):
    # A run killed between two heartbeats (every 5 s) kept logging after the last one: its duration
    # is up to its last value, not 0 s (found by a newcomer trying kill -9 on a 5-second run).
    now = time.time()
    run_id = _new_run(meta, started_at=now - 700, heartbeat_at=now - 700)
    with meta.write() as conn:
        meta.write_batch(conn, [], [(run_id, "loss", 0, 1.0, now - 695, "{}")])
    assert meta.mark_dead_runs(timeout=60, now=now) == 1
    record = meta.get_run(run_id)
    assert record.status == RunStatus.KILLED and record.duration == pytest.approx(5)


def test_artifacts_are_linked_once_per_content(meta):
    run_id = _new_run(meta)
    for _ in range(2):
        meta.add_artifact(run_id, "model.pkl", "a" * 32, size=3, kind="pickle", meta={"class": "X"})
    meta.add_artifact(run_id, "model.pkl", "b" * 32, size=4, kind="pickle")
    artifacts = meta.get_run(run_id).artifacts
    assert [(a.name, a.hash) for a in artifacts] == [("model.pkl", "a" * 32), ("model.pkl", "b" * 32)]
    assert artifacts[0].meta == {"class": "X"}


def test_run_references_resolve_by_prefix_or_name(meta):
    run_id = _new_run(meta, name="special")
    assert meta.get_run("special").id == run_id
    with pytest.raises(NotFoundError, match="no run"):
        meta.get_run("zzzz-not-there")
    ids = {_new_run(meta) for _ in range(40)} | {run_id}
    prefixes = [i[0] for i in ids]
    ambiguous = max(set(prefixes), key=prefixes.count)
    with pytest.raises(RunError, match="ambiguous"):
        meta.get_run(ambiguous)


def test_delete_run_removes_its_rows(meta):
    run_id = _new_run(meta)
    with meta.write() as conn:
        meta.write_batch(conn, [(run_id, "a", "1", "int", False)], [_metric(run_id, "m", 0, 1.0)])
    meta.delete_run(run_id)
    with pytest.raises(NotFoundError):
        meta.get_run(run_id)
    assert meta.metrics_frame(["m"]).empty
