"""A reader's heartbeat timeout never corrupts the shared status of a colleague's live run.

A newcomer's reader with ``MLCONTEXT_HEARTBEAT_TIMEOUT=2`` (below the writer's 5 s heartbeat interval)
marked a live run ``killed`` for good, and readers with the default then saw ``killed`` too. Two
defences, each tested with a real writer process on SQLite and PostgreSQL: a too-small setting is raised
to a floor of several heartbeat intervals (with a warning), and a live writer whose run was marked
killed for want of a heartbeat puts it back to ``running`` with its next heartbeat.

Peers of the kind: Netflix/metaflow-service #358 and #386 (runs marked failed by a too-eager heartbeat
threshold, flipping back when heartbeats resume), #441 (a heartbeat-derived "failed" ending up final).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlcontext.errors import ConfigError, MLContextWarning
from mlcontext.store import RunStatus, Store
from mlcontext.tracking.run import MIN_TIMEOUT_BEATS, heartbeat_timeout
from mlcontext.tracking.writer import HEARTBEAT_INTERVAL

WRITER = """\
import sys, time
import mlcontext as mc
run = mc.run("live", project="shared")
run.flush()
print("ready", flush=True)
sys.stdin.readline()  # idle (no values logged) until the test says "end"
run.end()
"""


def _env(metadata_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, MLCONTEXT_STORE=metadata_url, MLCONTEXT_ARTIFACTS=str(tmp_path / "artifacts"),
               PYTHONUNBUFFERED="1")
    env.pop("MLCONTEXT_HOME", None)
    env.pop("MLCONTEXT_HEARTBEAT_TIMEOUT", None)
    return env | extra


def _start_writer(metadata_url: str, tmp_path: Path, **extra: str) -> subprocess.Popen:
    env = _env(metadata_url, tmp_path, **extra)
    proc = subprocess.Popen([sys.executable, "-c", WRITER], cwd=tmp_path, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        pytest.fail(f"writer did not start: {proc.communicate()[1]}")
    return proc


def _end_writer(proc: subprocess.Popen) -> None:
    out, err = proc.communicate("end\n", timeout=60)
    assert proc.returncode == 0, err


@contextmanager
def _opened(metadata_url: str, tmp_path: Path) -> Iterator[Store]:
    store = Store.open(metadata_url=metadata_url, artifacts_url=str(tmp_path / "artifacts"))
    try:
        yield store
    finally:
        store.close()


def _status(metadata_url: str, tmp_path: Path) -> str:
    with _opened(metadata_url, tmp_path) as store:
        return store.metadata.get_run("live").status


@pytest.fixture
def url(metadata_url: str) -> str:
    return metadata_url


def test_a_live_writer_revives_its_run_marked_killed_by_an_impatient_reader(url, tmp_path) -> None:
    """The explicit API accepts any timeout (an administrator's choice), so a reader may still mark a
    live run killed; the writer's next heartbeat must put it back to ``running``."""
    proc = _start_writer(url, tmp_path, MLCONTEXT_HEARTBEAT_INTERVAL="1.0")
    try:
        with _opened(url, tmp_path) as store:
            # A heartbeat committed between the reader's clock reading and its update keeps the run
            # alive for that attempt (correctly): try again until one lands between two heartbeats.
            deadline = time.monotonic() + 20
            while store.metadata.mark_dead_runs(0.0) != 1:
                assert time.monotonic() < deadline, "never managed to mark the run killed"
                time.sleep(0.05)
            record = store.metadata.get_run("live")
            assert record.status in (RunStatus.KILLED, RunStatus.RUNNING)  # revived already, at worst
            assert record.status == RunStatus.RUNNING or "heartbeat" in record.error_message
            deadline = time.monotonic() + 20
            while store.metadata.get_run("live").status != RunStatus.RUNNING:
                assert time.monotonic() < deadline, "the live writer never revived its run"
                time.sleep(0.05)
            record = store.metadata.get_run("live")
            assert record.ended_at is None and record.error_message is None and record.error_type is None
    finally:
        _end_writer(proc)
    assert _status(url, tmp_path) == RunStatus.FINISHED


def test_a_reader_with_a_tiny_timeout_does_not_mark_a_live_run_killed(url, tmp_path) -> None:
    """The newcomer's case: writer heartbeat every 5 s (the default), reader with a 2 s timeout, the
    run idle for longer than 2 s. The reader warns and uses the floor; every reader sees ``running``."""
    proc = _start_writer(url, tmp_path)
    try:
        time.sleep(2.5)
        reader = subprocess.run(
            [sys.executable, "-c", "import mlcontext as mc, json; f = mc.runs(project='shared'); "
             "print(json.dumps(list(f['status'])))"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env=_env(url, tmp_path, MLCONTEXT_HEARTBEAT_TIMEOUT="2"))
        assert reader.returncode == 0, reader.stderr
        assert json.loads(reader.stdout) == [RunStatus.RUNNING]
        assert "MLCONTEXT_HEARTBEAT_TIMEOUT" in reader.stderr and "heartbeat" in reader.stderr
        assert _status(url, tmp_path) == RunStatus.RUNNING  # nothing persisted for the others
    finally:
        _end_writer(proc)
    assert _status(url, tmp_path) == RunStatus.FINISHED


def test_a_run_that_ended_itself_is_never_revived(store) -> None:
    """Only a reader's ``killed`` (no heartbeat) is undone by a heartbeat, never a real end."""
    import mlcontext as mc

    run = mc.run("ended", project="shared")
    run.end(status=RunStatus.KILLED)  # as on SIGTERM
    with store.metadata.write() as conn:
        store.metadata.heartbeat(conn, run.id, time.time())
    assert store.metadata.get_run("ended").status == RunStatus.KILLED


def test_a_run_that_logs_values_between_heartbeats_is_not_dead(store) -> None:
    """Its last logged value is a sign of life too."""
    import mlcontext as mc

    run = mc.run("busy", project="shared")
    heartbeat_at = store.metadata.get_run("busy").heartbeat_at
    with store.metadata.write() as conn:  # a value logged 30 s after the last heartbeat
        store.metadata.write_batch(conn, [], [(run.id, "loss", 0, 1.0, heartbeat_at + 30, "{}")])
    assert store.metadata.mark_dead_runs(60, now=heartbeat_at + 61) == 0
    assert store.metadata.get_run("busy").status == RunStatus.RUNNING
    assert store.metadata.mark_dead_runs(60, now=heartbeat_at + 91) == 1
    run.end()


@pytest.mark.parametrize("raw", ["abc", "-1", "0", "nan", "inf"])
def test_a_meaningless_timeout_is_a_config_error(raw, monkeypatch) -> None:
    monkeypatch.setenv("MLCONTEXT_HEARTBEAT_TIMEOUT", raw)
    with pytest.raises(ConfigError, match="MLCONTEXT_HEARTBEAT_TIMEOUT"):
        heartbeat_timeout()


def test_a_timeout_below_the_floor_is_raised_to_it_with_a_warning(monkeypatch) -> None:
    floor = MIN_TIMEOUT_BEATS * HEARTBEAT_INTERVAL
    monkeypatch.setenv("MLCONTEXT_HEARTBEAT_TIMEOUT", str(floor / 4))
    with pytest.warns(MLContextWarning, match="shorter than"):
        assert heartbeat_timeout() == floor
    monkeypatch.setenv("MLCONTEXT_HEARTBEAT_TIMEOUT", str(floor * 2))
    assert heartbeat_timeout() == floor * 2
    monkeypatch.delenv("MLCONTEXT_HEARTBEAT_TIMEOUT")
    assert heartbeat_timeout() == 60

