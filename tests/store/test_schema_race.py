"""Many processes starting on a new store at once all succeed (issue 13, item 5).

Before the fix, on PostgreSQL 7 of 8 processes died with a duplicate-key error from ``CREATE TABLE``
(concurrent DDL races on ``pg_type``), and on SQLite about 1 in 80 raised ``SchemaOutdatedError`` (it
saw the tables of another process before that process had stamped their revision). The same kind was
reported by peers: mlflow/mlflow#19943 (fix attempt #24321: processes initialising one database at
once fail with "table already exists"), daizutabi/hydraflow#245 (MLflow on SQLite under a parallel
sweep: "duplicate column name" from concurrent migrations), psycopg/psycopg2#1036 and
MaterializeInc/materialize#12560 (parallel ``CREATE TABLE IF NOT EXISTS`` fails on
``pg_type_typname_nsp_index``; #12566 fixed it with an advisory lock, as here).

Real processes, a real database: a fresh PostgreSQL *database* per test (a schema is not enough: the
race is in the catalogue of the database) and a fresh SQLite file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from mlcontext.store import Store
from mlcontext.store.engine import make_engine
from mlcontext.store.migrate import current_revision, head_revision
from mlcontext.store.schema import Base

PROCESSES = 8
METRICS = 50

# Every process imports, says it is ready, waits for the go file, then opens the store and records a run.
SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    url, artifacts, barrier, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    import mlcontext as mc
    from mlcontext.store import Store
    open(os.path.join(barrier, f"ready-{os.getpid()}"), "w").close()
    while not os.path.exists(os.path.join(barrier, "go")):
        time.sleep(0.0005)
    store = Store.open(metadata_url=url, artifacts_url=artifacts)
    mc.set_store(store)
    with mc.run("race") as run:
        for i in range(n):
            mc.log("loss", float(i))
    print(json.dumps({"run": run.id}))
""")


def start_all(url: str, artifacts: str, barrier: Path, processes: int = PROCESSES,
              metrics: int = METRICS) -> list[dict]:
    """Start ``processes`` scripts that open ``url`` at the same instant; their outputs, in order."""
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, url, artifacts, str(barrier), str(metrics)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("ready-*"))) < processes and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.01)
    (barrier / "go").touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


@pytest.mark.slow
def test_processes_starting_on_a_fresh_store_all_record_their_runs(fresh_metadata_url, tmp_path) -> None:
    outputs = start_all(fresh_metadata_url, str(tmp_path / "artifacts"), tmp_path / "barrier")
    store = Store.open(metadata_url=fresh_metadata_url, artifacts_url=str(tmp_path / "artifacts"))
    try:
        assert current_revision(store.metadata.engine) == head_revision()
        ids = {o["run"] for o in outputs}
        assert len(ids) == PROCESSES
        for run_id in ids:
            points = store.metadata.metric_points(run_id, "loss")
            assert [p.value for p in points] == [float(i) for i in range(METRICS)]
    finally:
        store.close()


def test_a_process_waiting_for_the_lock_sees_the_schema_made_meanwhile(fresh_metadata_url) -> None:
    """Process A holds the lock with the tables created but not yet stamped (the window in which SQLite
    processes used to raise SchemaOutdatedError); B waits for it and then finds the finished schema."""
    from mlcontext.store import migrate

    holder, waiter = make_engine(fresh_metadata_url), make_engine(fresh_metadata_url)
    created, result = threading.Event(), {}

    def create_slowly() -> None:
        with migrate._schema_lock(holder) as conn:
            Base.metadata.create_all(conn)
            created.set()
            time.sleep(0.5)
            command.stamp(migrate._config(conn), "head")

    a = threading.Thread(target=create_slowly)
    a.start()
    assert created.wait(30)
    try:
        migrate.ensure_schema(waiter)
        result["ok"] = True
    finally:
        a.join(30)
        holder.dispose()
    try:
        assert result == {"ok": True}
        with waiter.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert current_revision(waiter) == head_revision()
    finally:
        waiter.dispose()


def test_a_store_created_meanwhile_is_not_created_twice(fresh_metadata_url, tmp_path) -> None:
    """The check inside the lock sees a schema another process finished: no second CREATE, no stamp."""
    first = Store.open(metadata_url=fresh_metadata_url, artifacts_url=str(tmp_path / "a"))
    engine = make_engine(fresh_metadata_url)
    try:
        from mlcontext.store.migrate import ensure_schema

        ensure_schema(engine)  # nothing to do, no error
        with engine.connect() as conn:
            stamps = conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one()
        assert stamps == 1
    finally:
        engine.dispose()
        first.close()


def test_concurrent_upgrades_of_an_old_store_take_turns(fresh_metadata_url) -> None:
    """daizutabi/hydraflow#245: MLflow processes of a parallel sweep migrating one SQLite store at once
    failed with "duplicate column name". Here 4 upgraders of a 0003 store all succeed, once."""
    from mlcontext.store.migrate import upgrade

    engines = [make_engine(fresh_metadata_url) for _ in range(4)]
    upgrade(engines[0], "0003")
    with engines[0].begin() as conn:
        conn.execute(sa.text("INSERT INTO projects (name, created_at) VALUES ('kept', 0)"))
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def run(engine) -> None:
        try:
            start.wait(30)
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
        with engines[0].connect() as conn:
            assert conn.execute(sa.text("SELECT name FROM projects")).scalars().all() == ["kept"]
    finally:
        for engine in engines:
            engine.dispose()
