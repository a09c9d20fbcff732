"""``mc.runs()`` must not switch the garbage collector off for the whole process while it builds its
frame (issue 12 point 5): ``gc.disable()`` is process-wide, so every other thread's cyclic garbage
piled up meanwhile, and a thread finishing its own pause could switch it back on under another's.

Peer with the same kind of fault: python/cpython#75537 (a ``gc`` pausing context manager: the switch is
one per process, and two threads using it at once leave it in the wrong state).
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
import uuid

import mlcontext as mc
from mlcontext.store import schema as t


def _fill(store: mc.Store, n_runs: int, n_params: int = 8, n_metrics: int = 4) -> None:
    meta, now = store.metadata, time.time()
    with meta.write() as conn:
        project = meta.project_id(conn, "gc")
    runs, params, metrics = [], [], []
    for k in range(n_runs):
        run_id = uuid.UUID(int=k + 1).hex
        started = now - (n_runs - k)
        runs.append(dict(
            id=run_id, project_id=project, name=f"r{k % 3}", status="finished", user="u", host="h",
            pid=k, started_at=started, ended_at=started + 1.0, heartbeat_at=started + 1.0,
            entry_point="train.py", argv=["train.py"], cwd="/", python="3", git_commit=None,
            git_branch=None, git_dirty=False, code_hash=None, environment={}, durability="buffered"))
        params += [(run_id, f"p{j}", json.dumps(k + j), "int", False) for j in range(n_params)]
        metrics += [(run_id, f"m{j}", 0, k * 0.5 + j, started, "{}") for j in range(n_metrics)]
    with meta.write() as conn:
        conn.execute(t.Run.__table__.insert(), runs)
        meta.write_batch(conn, params, metrics)


def test_runs_leaves_the_garbage_collector_on_for_other_threads(sqlite_store) -> None:
    _fill(sqlite_store, 400)
    stop, seen_off = threading.Event(), threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not gc.isenabled():
                seen_off.set()

    assert gc.isenabled()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # the watcher gets many turns while the query runs
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(10):
            frame = mc.runs(store=sqlite_store)
    finally:
        stop.set()
        watcher.join()
        sys.setswitchinterval(interval)
    assert len(frame) == 400 and sum(c.startswith("param.") for c in frame.columns) == 8
    assert not seen_off.is_set(), "mc.runs() switched the garbage collector off for every thread"
    assert gc.isenabled()
