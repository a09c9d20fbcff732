"""The tracking hot path side by side with peers (issue 15) and the writer under load (issue 13, item 6).

Every figure comes from fresh processes, peers and mlcontext interleaved round by round, so that the
ratios hold on a busy machine even when the absolute figures do not:

- **loop**: 100,000 values logged inside nested ``epoch``/``step`` loops (100 × 1,000); the mean per
  value over the whole loop (loop bookkeeping, garbage collection and waits for the writer included),
  garbage collections per generation, and the process's peak RSS. mlcontext ``mc.loop`` + ``mc.log``;
  flordb ``flor.loop`` + ``flor.log``; MLflow ``log_batch`` once per epoch (1,000 values a call) and
  ``log_metric`` per value (on fewer values: it is slow); W&B offline ``run.log`` per value.
- **import**: ``import mlcontext``, ``mlcontext --help``, ``import flordb``, ``import wandb``,
  ``import mlflow`` (whole process, interpreter start included, and the import alone).
- **start**: a run's start + end in a git repository of 1,000 files with modified and untracked
  files: ``mc.run`` + ``end`` (code snapshot: commit, diff and untracked files) against MLflow's
  ``start_run`` + ``end_run`` (its git context: the commit).
- **load**: the rate at which ``mc.log`` starts to wait for the writer, the queue's memory at its
  bound, and what ``kill -9`` loses at 2 k, 100 k and unbounded logs per second.
- **query**: ``mc.runs()`` over 10,000 runs × 20 params × 10 metrics against MLflow's ``search_runs``
  on the same number of runs, params and metrics.

Peers run in ``bench/.work/peers-venv`` (see ``bench_tracking``; wandb is added to it here).
Run: ``.venv/bin/python -m bench hotpath`` (``BENCH_ROUNDS=5`` for more rounds).
"""

from __future__ import annotations

import inspect
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_capture import build_repo, git_env
from bench.bench_tracking import PEERS_VENV, _peers_python, runs_store

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SRC = Path(__file__).resolve().parents[1] / "src"
N_EPOCH, N_STEP = 100, 1000
N = N_EPOCH * N_STEP

#: Modules a process that only logs should never import (issue 15: memory).
HEAVY_MODULES = ("pandas", "pyarrow", "alembic", "mako", "scipy", "sklearn", "torch")


def _own_peak_mb() -> float:
    """This process's own peak RSS in MB: VmHWM, its memory map's high-water mark since exec
    (ru_maxrss where /proc is missing). Not ru_maxrss first: Linux carries it across execve, so a
    child's figure is at least the peak of the process that spawned it (this benchmark's driver,
    grown by what it ran before): see RESULTS.md. The loop scripts run its source (PRELUDE)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PRELUDE = """
import gc, json, os, resource, sys, time
t0 = time.perf_counter()
{imports}
import_s = time.perf_counter() - t0
HEAVY = """ + repr(HEAVY_MODULES) + """

""" + inspect.getsource(_own_peak_mb) + """

gcs = [0, 0, 0]
gc.callbacks.append(lambda phase, info: phase == "start" and gcs.__setitem__(
    info["generation"], gcs[info["generation"]] + 1))
"""

REPORT = """
loop_s = time.perf_counter() - start
cpu_s = time.thread_time() - cpu0
found = dict(import_s=import_s, per_value_us=loop_s / N * 1e6, cpu_us=cpu_s / N * 1e6, gc=gcs,
             rss_mb=_own_peak_mb(), maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
             heavy=sorted(m for m in HEAVY if m in sys.modules), extra=extra)
print("RESULT " + json.dumps(found))
"""

LOOPS = {
    "mlcontext": ("import mlcontext as mc", """
run = mc.run("bench", project="bench")
N = {n}
start, cpu0 = time.perf_counter(), time.thread_time()
for epoch in mc.loop("epoch", range({e})):
    for step in mc.loop("step", range({s})):
        mc.log("loss", 0.5)
extra = dict(waits=run._writer.waits, waited_s=run._writer.waited_s,
             writer_cpu_us=run._writer.cpu_s / N * 1e6)  # (what it wrote by now: all but ~100 ms)
""" + REPORT + """
ended = time.perf_counter(); run.end()
start = time.perf_counter()
for epoch in mc.loop("epoch", range({e})):
    for step in mc.loop("step", range({s})):
        pass
looped = time.perf_counter() - start
start = time.perf_counter()
for epoch in range({e}):
    for step in range({s}):
        pass
plain = time.perf_counter() - start
print("LOOP " + json.dumps(dict(loop_us=(looped - plain) / (N + {e}) * 1e6)))
"""),
    "flordb": ("import flordb as flor", """
N = {n}
start, cpu0 = time.perf_counter(), time.thread_time()
for epoch in flor.loop("epoch", range({e})):
    for step in flor.loop("step", range({s})):
        flor.log("loss", 0.5)
extra = {{}}
""" + REPORT),
    "mlflow log_batch": ("import mlflow\nfrom mlflow.entities import Metric", """
mlflow.set_tracking_uri("sqlite:///" + os.path.abspath("mlflow.db"))
mlflow.set_experiment("bench")
N = {n}
with mlflow.start_run() as active:
    client, run_id = mlflow.tracking.MlflowClient(), active.info.run_id
    start, cpu0 = time.perf_counter(), time.thread_time()
    for epoch in range({e}):
        batch = []
        for step in range({s}):
            batch.append(Metric("loss", 0.5, int(time.time() * 1000), epoch * {s} + step))
        client.log_batch(run_id, metrics=batch)
    extra = {{}}
""" + REPORT),
    "mlflow log_metric": ("import mlflow", """
mlflow.set_tracking_uri("sqlite:///" + os.path.abspath("mlflow.db"))
mlflow.set_experiment("bench")
N = 300  # slow: 300 values, per value
with mlflow.start_run():
    mlflow.log_metric("loss", 0.5, step=0)
    start, cpu0 = time.perf_counter(), time.thread_time()
    for i in range(N):
        mlflow.log_metric("loss", 0.5, step=i + 1)
    extra = {{}}
""" + REPORT),
    "wandb offline": ("import wandb", """
run = wandb.init(project="bench", mode="offline", dir=os.getcwd())
N = {n}
start, cpu0 = time.perf_counter(), time.thread_time()
for epoch in range({e}):
    for step in range({s}):
        run.log({{"loss": 0.5, "epoch": epoch}})
extra = {{}}
""" + REPORT + "\nrun.finish()\n"),
}

PER_CALL = {
    "mlcontext": "appends a row tuple to a deque; a thread writes batches to SQLite",
    "flordb": "appends to an in-memory buffer; written to its log at the end",
    "mlflow log_batch": "one SQL transaction per 1,000 values (one call per epoch)",
    "mlflow log_metric": "one SQL transaction per value",
    "wandb offline": "serialises the record and hands it to the wandb-core process",
}


def _run(python: str, script: str, cwd: Path, env: dict[str, str], marker: str = "RESULT",
         name: str = "train.py") -> dict:
    path = cwd / name
    if not path.exists() or path.read_text() != script:  # (an unchanged script keeps its times)
        path.write_text(script)
    proc = subprocess.run([python, name], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(marker + " ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {proc.returncode}: {tail}")
    return json.loads(lines[-1][len(marker) + 1:])


def _env(home: Path) -> dict[str, str]:
    return dict(git_env(), PYTHONPATH=str(SRC), MLCONTEXT_HOME=str(home), WANDB_SILENT="true",
                WANDB_MODE="offline", GIT_PYTHON_REFRESH="quiet", MLFLOW_ENABLE_ASYNC_LOGGING="false")


def _git_scratch(tmp: Path) -> None:
    env = git_env()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "init"], cwd=tmp, check=True, env=env)


def bench_loops(peers: str | None) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for _ in range(ROUNDS):
        for tool, (imports, body) in LOOPS.items():
            python = sys.executable if tool == "mlcontext" else peers
            if python is None:
                continue
            script = PRELUDE.format(imports=imports) + body.format(n=N, e=N_EPOCH, s=N_STEP)
            with tempfile.TemporaryDirectory(prefix="mlc-hot-") as tmp:
                _git_scratch(Path(tmp))  # flordb versions its runs with git
                try:
                    result = _run(python, script, Path(tmp), _env(Path(tmp) / "home"))
                    if tool == "mlcontext":
                        result["loop_us"] = _run(python, script, Path(tmp), _env(Path(tmp) / "h2"),
                                                 marker="LOOP")["loop_us"]
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    result = {"error": str(exc)[:200]}
            found.setdefault(tool, []).append(result)
    return found



def _median(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else float("nan")


def report_loops(found: dict[str, list[dict]]) -> None:
    print(f"\nloop: {N:,} values in {N_EPOCH} x {N_STEP} nested loops, fresh processes, "
          f"median of {ROUNDS} interleaved rounds")
    ref = _median(found["mlcontext"], "per_value_us")
    print(f"  {'tool':<20} {'µs/value':>9} {'ratio':>7} {'cpu µs':>7} {'peak RSS':>9}  gc (gen0/1/2)  "
          "what one call does")
    for tool, rows in found.items():
        ok = [r for r in rows if "error" not in r]
        if not ok:
            print(f"  {tool:<20} not measured: {rows[0]['error']}")
            continue
        per = _median(ok, "per_value_us")
        gc = ok[len(ok) // 2]["gc"]
        print(f"  {tool:<20} {per:9.2f} {per / ref:6.1f}x {_median(ok, 'cpu_us'):7.2f} "
              f"{_median(ok, 'rss_mb'):7.0f} MB  {gc[0]}/{gc[1]}/{gc[2]}  {PER_CALL[tool]}")
    print(f"  (peak RSS: the process's own, VmHWM, median over {ROUNDS} fresh processes; ru_maxrss, which "
          "Linux carries over from the spawning process, gave "
          + ", ".join(f"{tool} {_median([r for r in rows if 'error' not in r], 'maxrss_mb'):.0f}"
                      for tool, rows in found.items() if any("error" not in r for r in rows))
          + f" MB; this driver's own peak {_own_peak_mb():.0f} MB)")
    heavy = sorted({m for r in found.get("mlcontext", []) for m in r.get("heavy", [])})
    print(f"  modules the mlcontext loop imported of {list(HEAVY_MODULES)}: {heavy or 'none'}")
    mc = [r for r in found["mlcontext"] if "error" not in r]
    if mc:
        print(f"  mc.loop alone: {_median(mc, 'loop_us'):.3f} µs per iteration (target ≤ 0.5); "
              f"mc.log waited for the writer {statistics.median(r['extra']['waits'] for r in mc):.0f} "
              f"times, {statistics.median(r['extra']['waited_s'] for r in mc):.2f} s; the writer's CPU "
              f"{statistics.median(r['extra'].get('writer_cpu_us', math.nan) for r in mc):.2f} µs per value")


# -- import -----------------------------------------------------------------------------------------

IMPORTS = {
    "python (nothing)": (None, "pass"),
    "import mlcontext": (None, "import mlcontext"),
    "mlcontext --help": (None, "import sys; sys.argv = ['mlcontext', '--help']\n"
                               "from mlcontext.cli import main\ntry:\n    main()\nexcept SystemExit:\n"
                               "    pass"),
    "import flordb": ("peer", "import flordb"),
    "import wandb": ("peer", "import wandb"),
    "import mlflow": ("peer", "import mlflow"),
}


def bench_imports(peers: str | None) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="mlc-imp-") as tmp:
        env = _env(Path(tmp) / "home")
        _git_scratch(Path(tmp))  # flordb refuses to be imported outside a git repository
        for _ in range(ROUNDS * 2):
            for label, (which, code) in IMPORTS.items():
                python = peers if which == "peer" else sys.executable
                if python is None:
                    continue
                start = time.perf_counter()
                proc = subprocess.run([python, "-c", code], cwd=tmp, env=env, capture_output=True,
                                      text=True)
                elapsed = time.perf_counter() - start
                if proc.returncode == 0:
                    found.setdefault(label, []).append(elapsed)
                else:  # said, not dropped: a missing row must not read as a peer left out
                    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                    found.setdefault(f"{label} FAILED: {tail}", [])
    return found


def report_imports(found: dict[str, list[float]]) -> None:
    print(f"\nimport: whole process (interpreter start included), median of {ROUNDS * 2} interleaved")
    ref = statistics.median(found["import mlcontext"])
    for label, times in found.items():
        if not times:
            print(f"  {label}")
            continue
        med = statistics.median(times)
        print(f"  {label:<20} {med * 1e3:8.0f} ms  {med / ref:5.2f}x import mlcontext")


# -- run start + end --------------------------------------------------------------------------------

#: CPU seconds of the process (all its threads) and of the children it waited for (git).
CPU = """
import resource
def _cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
"""

MC_START = """
import json, os, time
""" + CPU + """
import mlcontext as mc
from mlcontext.store.metadata import settle_background
mc.run("warm", project="bench").end()
settle_background()
times, stored, cpu = [], [], []
for _ in range({n}):
    if {uncached}:  # as after an edit: the last capture's diff (.git/mlcontext-diff) is no use
        os.remove(".git/mlcontext-diff") if os.path.exists(".git/mlcontext-diff") else None
    start, cpu0 = time.perf_counter(), _cpu()
    mc.run("start", project="bench").end()
    times.append(time.perf_counter() - start)
    settle_background()  # the code snapshot, captured in the background: not timed above
    stored.append(time.perf_counter() - start)
    cpu.append(_cpu() - cpu0)  # the whole snapshot's CPU, stored: git's and the background's
print("RESULT " + json.dumps(dict(times=times, stored=stored, cpu=cpu)))
"""

MLFLOW_START = """
import json, os, time
""" + CPU + """
import mlflow
mlflow.set_tracking_uri("sqlite:///" + os.path.abspath("../mlflow.db"))
mlflow.set_experiment("bench")
mlflow.start_run(); mlflow.end_run()
times, cpu = [], []
for _ in range({n}):
    start, cpu0 = time.perf_counter(), _cpu()
    mlflow.start_run(); mlflow.end_run()
    times.append(time.perf_counter() - start)
    cpu.append(_cpu() - cpu0)
tags = mlflow.last_active_run().data.tags
print("RESULT " + json.dumps(dict(times=times, cpu=cpu, git="mlflow.source.git.commit" in tags)))
"""


def bench_start(peers: str | None, n: int = 10) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="mlc-start-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        build_repo(root)
        variants = [("mlcontext", sys.executable, MC_START, False),
                    ("mlcontext, tree changed since the last run", sys.executable, MC_START, True),
                    ("mlflow", peers, MLFLOW_START, False)]
        # Each variant's script is written once, as a user saves a script and runs it several
        # times (untracked files of the dirty tree). A script written within a second of the run
        # leaves the tree changed for mlcontext's diff cache (a file that new may still be being
        # written): that case is the "tree changed" variant's.
        scripts = {label: (f"start_{i}.py", script.format(n=n, uncached=uncached))
                   for i, (label, _, script, uncached) in enumerate(variants)}
        for name, text in scripts.values():
            (root / name).write_text(text)
        # A working repository's index is not "racily clean": build_repo writes its 1,000 files and
        # the index within one second, so git would re-read every file on every status and diff
        # (twice the cost of a capture here). The owner's own `git status` refreshes the index; so
        # does this, a second later. MLflow runs no git command and is not affected either way.
        time.sleep(1.1)
        subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=root, env=git_env(),
                       capture_output=True)
        env = _env(Path(tmp) / "home")
        for _ in range(ROUNDS):
            for label, python, _script, _uncached in variants:
                if python is None:
                    continue
                name, text = scripts[label]
                try:
                    result = _run(python, text, root, env, name=name)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    print(f"  {label}: {exc}")
                    continue
                found.setdefault(label, []).extend(result["times"])
                found.setdefault(label + " cpu", []).extend(result["cpu"])
                if "stored" in result:
                    found.setdefault(label + " snapshot stored", []).extend(result["stored"])
                if label == "mlflow":
                    found["mlflow git"] = [float(result["git"])]
    return found


def report_start(found: dict[str, list[float]]) -> None:
    print("\nstart: run start + end in a dirty git repository of 1,000 files, median of "
          f"{len(found.get('mlcontext', []))} runs in {ROUNDS} interleaved processes each")
    ref = statistics.median(found["mlcontext"])
    cpu_ref = statistics.median(found["mlcontext cpu"])
    for label in ("mlcontext", "mlcontext, tree changed since the last run", "mlflow"):
        if label in found:
            med, cpu = statistics.median(found[label]), statistics.median(found[label + " cpu"])
            print(f"  {label:<44} {med * 1e3:7.1f} ms {med / ref:5.2f}x   CPU {cpu * 1e3:6.1f} ms "
                  f"{cpu / cpu_ref:5.2f}x   (wall, CPU: ratio to mlcontext)")
    print("  (CPU: the process's, all threads, and its git children's; mlcontext's snapshot included)")
    if "mlcontext snapshot stored" in found:
        med = statistics.median(found["mlcontext snapshot stored"])
        print(f"  (mlcontext's code snapshot is captured in the background: stored {med * 1e3:.1f} ms "
              "after the start, the run's end not waiting for it)")
    if "mlflow git" in found:
        print(f"  (MLflow recorded the git commit: {bool(found['mlflow git'][0])}; mlcontext stores the "
              "commit, the diff and the untracked files)")


# -- load: backpressure, queue memory, kill -9 -------------------------------------------------------

RATES_SCRIPT = """
import json, sys, time
import mlcontext as mc
out = {}
for rate in [2_000, 10_000, 30_000, 100_000, 300_000, None]:
    run = mc.run(f"rate-{rate}", project="bench")
    writer = run._writer
    period = 1 / rate if rate else 0.0
    n, start = 0, time.perf_counter()
    next_at = start
    while time.perf_counter() - start < 1.5:
        mc.log("x", n)
        n += 1
        if period:
            next_at += period
            while time.perf_counter() < next_at:
                pass
    elapsed = time.perf_counter() - start
    out[str(rate)] = dict(achieved=n / elapsed, waits=writer.waits, waited_s=writer.waited_s,
                          row_us=writer.row_s * 1e6)
    run.end()
print("RESULT " + json.dumps(out))
"""

MEMORY_SCRIPT = """
import json, time, tracemalloc
import mlcontext as mc
from mlcontext.tracking.writer import MAX_RECORDS
run = mc.run("memory", project="bench")
writer = run._writer
writer._stop.set(); writer._wake.set(); writer._thread.join()
writer.max_records = 10**9
tracemalloc.start()
before = tracemalloc.take_snapshot()
for epoch in mc.loop("epoch", range(100)):
    for step in mc.loop("step", range(1000)):
        mc.log("loss", 0.5)
after = tracemalloc.take_snapshot()
grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
print("RESULT " + json.dumps(dict(per_record=grown / 100_000, max_records=MAX_RECORDS)))
"""

KILL_SCRIPT = """
import sys, time
import mlcontext as mc
period = {period!r}
with mc.run("killed", project="bench"):
    next_at = time.perf_counter()
    n = 0
    while True:
        mc.log("t", time.time())
        n += 1
        if n == 200:
            print("ready", flush=True)
        if period:
            next_at += period
            while time.perf_counter() < next_at:
                pass
"""


def bench_kill(rate: int | None) -> float:
    """Milliseconds of values lost to ``kill -9`` after 2 s of logging at ``rate`` per second."""
    from mlcontext.store import Store

    with tempfile.TemporaryDirectory(prefix="mlc-kill-") as tmp:
        home = Path(tmp) / "home"
        (Path(tmp) / "train.py").write_text(KILL_SCRIPT.format(period=1 / rate if rate else 0.0))
        proc = subprocess.Popen([sys.executable, "train.py"], cwd=tmp, env=_env(home),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdout.readline()
        time.sleep(2.0)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        store = Store.open(home=home)
        try:
            record = store.metadata.get_run("killed")
            last = max(p.value for p in store.metadata.metric_points(record.id, "t"))
        finally:
            store.close()
    return (killed_at - last) * 1e3


def bench_load() -> dict:
    with tempfile.TemporaryDirectory(prefix="mlc-load-") as tmp:
        env = _env(Path(tmp) / "home")
        rates = _run(sys.executable, RATES_SCRIPT, Path(tmp), env)
        memory = _run(sys.executable, MEMORY_SCRIPT, Path(tmp), env)
    kills = {label: [bench_kill(rate) for _ in range(ROUNDS)]
             for label, rate in [("2k", 2_000), ("100k", 100_000), ("unbounded", None)]}
    return dict(rates=rates, memory=memory, kills=kills)


def report_load(found: dict) -> None:
    print("\nload: mc.log at a paced rate for 1.5 s each (fresh runs, one process)")
    print(f"  {'target/s':>10} {'achieved/s':>11} {'waits':>6} {'waited':>8} {'writer µs/row':>14}")
    for rate, r in found["rates"].items():
        label = "unbounded" if rate == "None" else f"{int(rate):,}"
        print(f"  {label:>10} {r['achieved']:11,.0f} {r['waits']:6d} {r['waited_s']:7.2f}s "
              f"{r['row_us']:14.2f}")
    m = found["memory"]
    print(f"  queue memory: {m['per_record']:.0f} B per queued value (tracemalloc); at the hard bound "
          f"of {m['max_records']:,} records: {m['per_record'] * m['max_records'] / 2**20:.1f} MiB")
    for label, losses in found["kills"].items():
        print(f"  kill -9 at {label:>9} logs/s: lost {statistics.median(losses):6.0f} ms of values "
              f"(max {max(losses):.0f} of {len(losses)}; promise ≤ 200)")


# -- query ------------------------------------------------------------------------------------------

MLFLOW_QUERY = """
import json, os, sqlite3, sys, time, uuid
import mlflow
from mlflow.entities import Metric, Param
uri = "sqlite:///" + os.path.abspath("mlflow-runs.db")
mlflow.set_tracking_uri(uri)
exp = mlflow.set_experiment("bench").experiment_id
if not os.path.exists("built"):
    client = mlflow.tracking.MlflowClient()
    template = client.create_run(exp).info.run_id
    client.log_batch(template, metrics=[Metric(f"m{{j}}", j, 0, j) for j in range(10)],
                     params=[Param(f"p{{j:02d}}", f"v{{j}}") for j in range(20)])
    client.set_terminated(template)
    db = sqlite3.connect("mlflow-runs.db")
    tables = [t for (t,) in db.execute("select name from sqlite_master where type='table'")
              if "run_uuid" in [c[1] for c in db.execute(f"pragma table_info({{t}})")]]
    for k in range({n} - 1):
        new = uuid.uuid4().hex
        for table in tables:
            cols = [c[1] for c in db.execute(f"pragma table_info({{table}})")]
            rows = db.execute(f"select * from {{table}} where run_uuid = ?", (template,)).fetchall()
            for row in rows:
                row = [new if c == "run_uuid" else v for c, v in zip(cols, row)]
                db.execute(f"insert into {{table}} values ({{','.join('?' * len(row))}})", row)
    db.commit()
    open("built", "w").write("ok")
times = []
for _ in range(4):
    start = time.perf_counter()
    frame = mlflow.search_runs(experiment_ids=[exp], max_results=50_000)
    times.append(time.perf_counter() - start)
print("RESULT " + json.dumps(dict(times=times[1:], shape=list(frame.shape))))
"""


def bench_query(peers: str | None) -> dict:
    import mlcontext as mc
    from mlcontext.store import Store

    home = runs_store()
    found: dict[str, list] = {"mlcontext": [], "mlflow": []}
    work = PEERS_VENV.parent / "mlflow-runs"
    work.mkdir(parents=True, exist_ok=True)
    for _ in range(ROUNDS):
        store = Store.open(home=home)
        try:
            mc.runs(store=store)  # warm-up, as MLflow's first call below
            start = time.perf_counter()
            frame = mc.runs(store=store)
            found["mlcontext"].append(time.perf_counter() - start)
            found["mc_shape"] = list(frame.shape)
        finally:
            store.close()
        if peers is not None:
            try:
                result = _run(peers, MLFLOW_QUERY.format(n=10_000), work, _env(work / "home"))
                found["mlflow"] += result["times"]
                found["mlflow_shape"] = result["shape"]
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                found["mlflow_error"] = str(exc)[:200]
    return found


def report_query(found: dict) -> None:
    print("\nquery: all runs as a frame, 10,000 runs × 20 params × 10 metrics")
    ref = statistics.median(found["mlcontext"])
    print(f"  mc.runs()              {ref * 1e3:8.0f} ms  frame {found.get('mc_shape')}")
    if found["mlflow"]:
        med = statistics.median(found["mlflow"])
        print(f"  mlflow.search_runs()   {med * 1e3:8.0f} ms  frame {found.get('mlflow_shape')}  "
              f"({med / ref:.1f}x mc.runs)")
    elif "mlflow_error" in found:
        print(f"  mlflow.search_runs()   not measured: {found['mlflow_error']}")


def _peers() -> str | None:
    python, why = _peers_python()
    if python is None:
        print(f"peers not measured: {why}")
        return None
    check = subprocess.run([str(python), "-c", "import wandb"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "wandb"], capture_output=True)
    return str(python)


def main() -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (a busy machine makes absolute figures slow: read the ratios)")
    peers = _peers()
    sections: list[tuple[Callable, Callable]] = [
        (lambda: bench_loops(peers), report_loops), (lambda: bench_imports(peers), report_imports),
        (lambda: bench_start(peers), report_start), (bench_load, report_load),
        (lambda: bench_query(peers), report_query)]
    wanted = os.environ.get("BENCH_SECTIONS", "loop,import,start,load,query").split(",")
    for name, (measure, report) in zip(["loop", "import", "start", "load", "query"], sections,
                                       strict=True):
        if name in wanted:
            report(measure())
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
