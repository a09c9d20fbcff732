"""Run tracking: the cost of ``mc.log``, of ``mc.runs()`` over 10,000 runs, and of starting a run.

Targets (issue 2), each printed next to a baseline measured in the same run:

- ``mc.log()`` in the buffered default: median ≤ 2 µs per call in the calling thread. Peers:
  MLflow's ``mlflow.log_metric`` on a SQLite tracking store and flordb's ``flor.log`` (the issue
  measured them at about 4,200 µs and 82 µs). They are installed into a separate virtual
  environment, ``bench/.work/peers-venv`` (created on first use; MLflow's dependencies must not
  reach the project's venv), and run in subprocesses that print their timings as JSON.
- ``mc.runs()`` over 10,000 runs × 20 params × 10 metrics: ≤ 1 s. Baseline: a bare
  ``SELECT * FROM runs`` with ``sqlite3``. The store is built once and cached under ``bench/.work``.
- Starting a run (``mc.run`` to the first ``mc.log`` returning), git capture included, in a
  repository of 1,000 files with modified and untracked files: ≤ 150 ms. Baseline: ``git status``.

Run: ``.venv/bin/python -m bench tracking``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import mlcontext as mc
from bench.bench_capture import N_DIRTY, N_FILES, N_UNTRACKED, build_repo, git_env
from mlcontext.store import Store
from mlcontext.store import schema as t

WORK = Path(__file__).parent / ".work"
PEERS_VENV = WORK / "peers-venv"
PEERS = ["mlflow", "flordb"]

N_LOG = 200_000
N_MLFLOW = 300
N_FLOR = 20_000
LOG_TARGET_US = 2.0

N_RUNS, N_PARAMS, N_METRICS = 10_000, 20, 10
RUNS_STORE_VERSION = "v1"  # bump when the schema or the generated data changes
RUNS_TARGET_S = 1.0

N_STARTS = 20
START_TARGET_MS = 150.0


def _quantiles_us(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3

    return {"median": at(0.5), "p90": at(0.9), "p99": at(0.99), "n": len(ordered)}


def _row(label: str, q: dict[str, float], ref: float | None = None) -> str:
    ratio = f"  {q['median'] / ref:9.1f}x mc.log" if ref else ""
    return (f"  {label:<34} median {q['median']:9.2f} µs  p90 {q['p90']:9.2f}  "
            f"p99 {q['p99']:9.2f}  (n={q['n']:,}){ratio}")


# -- mc.log ---------------------------------------------------------------------------------------


def bench_log() -> dict[str, float]:
    """Per-call time of ``mc.log`` in the calling thread, inside two ``mc.loop``s, buffered."""
    home = Path(tempfile.mkdtemp(prefix="mlc-bench-log-"))
    store = Store.open(home=home)
    timer = time.perf_counter_ns
    samples: list[int] = []
    try:
        run = mc.run("bench-log", project="bench", store=store)
        log = mc.log
        for _epoch in mc.loop("epoch", range(N_LOG // 1000)):
            for _step in mc.loop("step", range(1000)):
                start = timer()
                log("loss", 0.5)
                samples.append(timer() - start)
        ended = time.perf_counter()
        run.end()
        drain_s = time.perf_counter() - ended
        stored = len(store.metadata.metric_points(run.id, "loss"))
    finally:
        store.close()
        shutil.rmtree(home, ignore_errors=True)
    floor = []
    for _ in range(100_000):  # the timer's own cost, included in every sample above
        start = timer()
        floor.append(timer() - start)
    q = _quantiles_us(samples)
    q["timer_floor"] = statistics.median(floor) / 1e3
    q["drain_s"], q["stored"] = drain_s, stored
    return q


def _peers_python() -> tuple[Path | None, str]:
    """The peers' interpreter, creating their venv on first use; or None and why not."""
    python = PEERS_VENV / "bin" / "python"
    ready = PEERS_VENV / ".installed"
    if ready.exists():
        return python, ""
    print(f"  installing {' and '.join(PEERS)} into {PEERS_VENV} (once; a few minutes) ...",
          flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    try:
        subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEERS], check=True,
                       capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        return None, f"{exc} {detail.strip().splitlines()[-1] if detail.strip() else ''}"
    ready.touch()
    return python, ""


MLFLOW_SCRIPT = """
import json, os, sys, time
import mlflow
mlflow.set_tracking_uri("sqlite:///" + os.path.abspath("mlflow.db"))
mlflow.set_experiment("bench")
samples = []
with mlflow.start_run():
    mlflow.log_metric("loss", 0.5, step=0)  # warm-up: first statement compiles, tables exist
    for i in range({n}):
        start = time.perf_counter_ns()
        mlflow.log_metric("loss", 0.5, step=i + 1)
        samples.append(time.perf_counter_ns() - start)
open(sys.argv[1], "w").write(json.dumps(dict(samples=samples, version=mlflow.__version__)))
"""

FLOR_SCRIPT = """
import json, sys, time
from importlib.metadata import version
import flordb as flor
samples = []
for epoch in flor.loop("epoch", range({n} // 1000)):
    for step in flor.loop("step", range(1000)):
        start = time.perf_counter_ns()
        flor.log("loss", 0.5)
        samples.append(time.perf_counter_ns() - start)
open(sys.argv[1], "w").write(json.dumps(dict(samples=samples, version=version("flordb"))))
"""


def bench_peer(python: Path, script: str, git_repo: bool) -> dict[str, float] | str:
    """Run a peer's script in a scratch folder; its timings, or why they are missing."""
    with tempfile.TemporaryDirectory(prefix="mlc-bench-peer-") as tmp:
        if git_repo:  # flordb versions its runs with git: it needs a repository to run in
            env = git_env()
            subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp, check=True, env=env)
            subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=tmp,
                           check=True, env=env)
        (Path(tmp) / "train.py").write_text(textwrap.dedent(script))
        out = Path(tmp) / "timings.json"
        proc = subprocess.run([str(python), "train.py", str(out)], cwd=tmp, env=git_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=600)
        if proc.returncode != 0 or not out.exists():
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            return f"exit {proc.returncode}: {tail[0]}"
        found = json.loads(out.read_text())
    q = _quantiles_us(found["samples"])
    q["version"] = found["version"]
    return q


# -- mc.runs() ------------------------------------------------------------------------------------


def _build_runs_store(home: Path) -> None:
    """10,000 finished runs, 20 params and 10 metrics each, written in bulk (about a minute)."""
    store = Store.open(home=home)
    meta = store.metadata
    now = time.time()
    with meta.write() as conn:
        project = meta.project_id(conn, "bench")
    batch = 500
    for first in range(0, N_RUNS, batch):
        runs, params, metrics = [], [], []
        for k in range(first, min(first + batch, N_RUNS)):
            run_id = uuid.UUID(int=k + 1).hex
            started = now - (N_RUNS - k) * 60.0
            runs.append(dict(
                id=run_id, project_id=project, name=f"ridge-{k % 7}", status="finished",
                user=f"user{k % 5}", host="bench", pid=1000 + k, started_at=started,
                ended_at=started + 30.0, heartbeat_at=started + 30.0, entry_point="train.py",
                argv=["train.py"], cwd="/bench", python="3.11.7", git_commit=f"{k:040x}",
                git_branch="main", git_dirty=bool(k % 2), code_hash=None, environment={},
                durability="buffered"))
            params += [(run_id, f"p{j:02d}", json.dumps(k * 0.001 + j if j % 2 else f"v{j}"),
                        "float" if j % 2 else "str", False) for j in range(N_PARAMS)]
            metrics += [(run_id, f"m{j}", j, k * 0.01 + j, started + j, f'{{"epoch":{j}}}')
                        for j in range(N_METRICS)]
        with meta.write() as conn:
            conn.execute(t.Run.__table__.insert(), runs)
            meta.write_batch(conn, params, metrics)
    store.close()


def _schema_revision() -> str:
    """The newest migration's file name: a cached store from an older schema is rebuilt."""
    import mlcontext.store.migrations.versions as versions

    files = sorted(p.stem for p in Path(versions.__file__).parent.glob("[0-9]*.py"))
    return files[-1].split("_")[0] if files else "0"


def runs_store() -> Path:
    home = WORK / f"runs-store-{RUNS_STORE_VERSION}-schema{_schema_revision()}"
    done = home / ".complete"
    if not done.exists():
        shutil.rmtree(home, ignore_errors=True)
        print(f"  building {N_RUNS:,} runs × {N_PARAMS} params × {N_METRICS} metrics "
              f"in {home} (cached) ...", flush=True)
        started = time.perf_counter()
        _build_runs_store(home)
        done.write_text(f"built in {time.perf_counter() - started:.1f} s\n")
    return home


def bench_runs() -> dict[str, float]:
    home = runs_store()
    store = Store.open(home=home)
    try:
        times, frame = [], None
        for _ in range(6):  # the first is a warm-up (page cache, statement compilation)
            start = time.perf_counter()
            frame = mc.runs(store=store)
            times.append(time.perf_counter() - start)
        assert frame is not None and len(frame) == N_RUNS
        assert sum(c.startswith("param.") for c in frame.columns) == N_PARAMS
        assert sum(c.startswith("metric.") for c in frame.columns) == N_METRICS
    finally:
        store.close()
    baseline = []
    for _ in range(6):
        start = time.perf_counter()
        with sqlite3.connect(home / "mlcontext.db") as conn:
            conn.execute("SELECT * FROM runs").fetchall()
        conn.close()
        baseline.append(time.perf_counter() - start)
    return {"runs_s": statistics.median(times[1:]), "first_s": times[0],
            "select_s": statistics.median(baseline[1:]), "shape": frame.shape}


# -- starting a run -------------------------------------------------------------------------------


START_SCRIPT = """
import json, sys, time
import mlcontext as mc
times = []
for k in range({n} + 1):
    start = time.perf_counter()
    run = mc.run("start", project="bench")
    mc.log("x", 1.0)
    times.append(time.perf_counter() - start)
    run.end()
open(sys.argv[1], "w").write(json.dumps(times))
"""


def bench_start() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mlc-bench-start-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        build_repo(root)
        (root / "train.py").write_text(START_SCRIPT.format(n=N_STARTS))  # a modified file too
        out = Path(tmp) / "times.json"
        env = dict(git_env(), MLCONTEXT_HOME=str(Path(tmp) / "home"))
        subprocess.run([sys.executable, "train.py", str(out)], cwd=root, env=env, check=True)
        times = json.loads(out.read_text())
        status = []
        for _ in range(N_STARTS + 1):
            start = time.perf_counter()
            subprocess.run(["git", "status", "--porcelain"], cwd=root, check=True,
                           capture_output=True)
            status.append(time.perf_counter() - start)
    return {"first_ms": times[0] * 1e3, "median_ms": statistics.median(times[1:]) * 1e3,
            "max_ms": max(times[1:]) * 1e3, "status_ms": statistics.median(status[1:]) * 1e3}


# -- report ---------------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")

    print(f"\nmc.log() per call, calling thread, buffered, inside mc.loop x2 ({N_LOG:,} calls)")
    q = bench_log()
    ref = q["median"]
    print(_row("mlcontext mc.log", q))
    print(f"  {'(timer floor, included above)':<34} {q['timer_floor']:9.3f} µs; end() drained the "
          f"backlog in {q['drain_s']:.2f} s, {q['stored']:,} stored")
    python, why = _peers_python()
    for label, script, n, git_repo in [("mlflow.log_metric (sqlite)", MLFLOW_SCRIPT, N_MLFLOW, False),
                                       ("flordb flor.log", FLOR_SCRIPT, N_FLOR, True)]:
        if python is None:
            print(f"  {label:<34} not measured: peers venv unavailable ({why})")
            continue
        peer = bench_peer(python, script.format(n=n), git_repo)
        if isinstance(peer, str):
            print(f"  {label:<34} not measured: {peer}")
        else:
            print(_row(f"{label} {peer['version']}", peer, ref))
    print(f"  target median ≤ {LOG_TARGET_US} µs: {_verdict(ref <= LOG_TARGET_US)}")

    print(f"\nmc.runs() over {N_RUNS:,} runs × {N_PARAMS} params × {N_METRICS} metrics "
          "(median of 5 after a warm-up)")
    r = bench_runs()
    print(f"  mc.runs():                      {r['runs_s'] * 1e3:8.1f} ms  (first call "
          f"{r['first_s'] * 1e3:.1f} ms) -> frame {r['shape']}")
    print(f"  baseline SELECT * FROM runs:    {r['select_s'] * 1e3:8.1f} ms  "
          f"(mc.runs / baseline = {r['runs_s'] / r['select_s']:.1f}x)")
    print(f"  target ≤ {RUNS_TARGET_S:g} s: {_verdict(r['runs_s'] <= RUNS_TARGET_S)}")

    print(f"\nstarting a run (mc.run -> first mc.log), git capture included, repository of "
          f"{N_FILES:,} files ({N_DIRTY + 1} modified, {N_UNTRACKED} untracked); median of "
          f"{N_STARTS}")
    s = bench_start()
    print(f"  run start:                      {s['median_ms']:8.1f} ms  (max {s['max_ms']:.1f}; "
          f"first in process {s['first_ms']:.1f} ms)")
    print(f"  baseline git status:            {s['status_ms']:8.1f} ms  "
          f"(run start / baseline = {s['median_ms'] / s['status_ms']:.1f}x)")
    print(f"  target ≤ {START_TARGET_MS:g} ms: {_verdict(s['median_ms'] <= START_TARGET_MS)} "
          f"(first run in a process: {_verdict(s['first_ms'] <= START_TARGET_MS)})")


if __name__ == "__main__":
    main()
