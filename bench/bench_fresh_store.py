"""Fault benchmark, fresh store (issue 13, items 5 and "Done when"): 8 processes × 20,000 metrics
starting at the same instant on a *new* store, on SQLite and PostgreSQL: every process succeeds and
nothing is lost.

Each process imports mlcontext, waits at a barrier (a file), then opens the store (creating its schema:
the race of item 5), records a run and logs 20,000 metrics with the default buffered durability. The
benchmark then counts, per run, the metric rows stored and checks their values are exactly 0..19,999.
Baseline, measured in the same run: the same 8 processes on a store whose schema already exists (the
cost of creating the schema under the lock is the difference).

PostgreSQL: ``MLCONTEXT_TEST_POSTGRES`` (an admin URL; a fresh database is created and dropped per
round); skipped when unset. Run: ``.venv/bin/python -m bench fresh_store``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from mlcontext.store import MetadataStore

PROCESSES = 8
METRICS = 20_000

SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    url, artifacts, barrier, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    import mlcontext as mc
    from mlcontext.store import Store
    open(os.path.join(barrier, f"ready-{os.getpid()}"), "w").close()
    while not os.path.exists(os.path.join(barrier, "go")):
        time.sleep(0.0005)
    t0 = time.perf_counter()
    store = Store.open(metadata_url=url, artifacts_url=artifacts)
    opened = time.perf_counter() - t0
    mc.set_store(store)
    with mc.run("fresh") as run:
        for i in range(n):
            mc.log("m", float(i))
    print(json.dumps({"run": run.id, "open_s": opened, "total_s": time.perf_counter() - t0}))
""")


def _round(url: str, folder: Path) -> dict:
    barrier = folder / f"barrier-{uuid.uuid4().hex[:6]}"
    barrier.mkdir(parents=True)
    env = os.environ | {"MLCONTEXT_HOME": str(folder / "home")}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, url, str(folder / "artifacts"), str(barrier),
                               str(METRICS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(PROCESSES)]
    while len(list(barrier.glob("ready-*"))) < PROCESSES and all(p.poll() is None for p in procs):
        time.sleep(0.01)
    start = time.perf_counter()
    (barrier / "go").touch()
    outputs, failures = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode == 0:
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        else:
            failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
    wall = time.perf_counter() - start
    return {"outputs": outputs, "failures": failures, "wall_s": wall, **_count(url, outputs)}


def _count(url: str, outputs: list[dict]) -> dict:
    store = MetadataStore(url)
    stored = exact = 0
    for o in outputs:
        values = [p.value for p in store.metric_points(o["run"], "m")]
        stored += len(values)
        exact += values == [float(i) for i in range(METRICS)]
    store.close()
    return {"stored": stored, "exact_runs": exact}


def _report(backend: str, fresh: dict, existing: dict) -> None:
    expected = PROCESSES * METRICS
    for label, r in (("fresh store", fresh), ("existing store (baseline)", existing)):
        opens = sorted(o["open_s"] for o in r["outputs"]) or [float("nan")]
        print(f"{backend:10s} {label:26s} processes ok {len(r['outputs'])}/{PROCESSES}  "
              f"metrics stored {r['stored']:,}/{expected:,} (lost {expected - r['stored']:,})  "
              f"runs exact {r['exact_runs']}/{PROCESSES}  wall {r['wall_s']:.2f} s  "
              f"open median {opens[len(opens) // 2] * 1e3:.0f} ms, max {opens[-1] * 1e3:.0f} ms")
        for failure in r["failures"]:
            print(f"    failed: {failure}")
    print(f"{backend:10s} wall ratio fresh / existing: {fresh['wall_s'] / existing['wall_s']:.2f}")


def _sqlite(folder: Path) -> None:
    url = f"sqlite:///{folder / 'fresh.db'}"
    fresh = _round(url, folder)
    existing = _round(url, folder)  # the same store, schema now created
    _report("sqlite", fresh, existing)


def _postgres(admin_url: str, folder: Path) -> None:
    name = f"mc_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        fresh = _round(url, folder)
        existing = _round(url, folder)
        _report("postgresql", fresh, existing)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def main() -> None:
    print(f"{PROCESSES} processes x {METRICS:,} metrics each, started together (barrier) on one store")
    with tempfile.TemporaryDirectory() as tmp:
        _sqlite(Path(tmp) / "sqlite")
    admin = os.environ.get("MLCONTEXT_TEST_POSTGRES")
    if admin:
        with tempfile.TemporaryDirectory() as tmp:
            _postgres(admin, Path(tmp))
    else:
        print("postgresql skipped: set MLCONTEXT_TEST_POSTGRES")


if __name__ == "__main__":
    main()
