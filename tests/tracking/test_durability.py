"""Durability: what a run's store holds after its process ends, however it ends.

Every test runs a small script in a real subprocess against an embedded store in ``tmp_path``
(``MLCONTEXT_HOME``) and reads the store back afterwards with :meth:`Store.open`. Scripts log a
counter (metric ``i`` has value ``i`` and ``seq`` ``i``), so "nothing lost" is checked exactly: the
stored values are ``0 .. n-1`` without holes, and ``n`` is at least what the child says it logged.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import mlcontext as mc
from mlcontext.store import RunStatus, Store

#: The issue's promise for ``kill -9`` in buffered mode: at most the last flush interval is lost.
LOSS_WINDOW_S = 0.2

PRELUDE = """\
import os, sys, time
from pathlib import Path
import mlcontext as mc
OUT = Path(sys.argv[1])
def ready():
    print("ready", flush=True)
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def opened(home: Path) -> Iterator[Store]:
    """The store the children wrote, opened for reading after they are gone (lazily created)."""
    stores: list[Store] = []

    def _open() -> Store:
        if not stores:
            stores.append(Store.open(home=home))
        return stores[0]

    yield _open  # type: ignore[misc]
    for store in stores:
        store.close()


def _spawn(tmp_path: Path, home: Path, body: str, name: str = "child", **popen) -> subprocess.Popen:
    script = tmp_path / f"{name}.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    env = dict(os.environ, MLCONTEXT_HOME=str(home), MLCONTEXT_PROJECT="durability",
               PYTHONUNBUFFERED="1")
    env.pop("MLCONTEXT_STORE", None)
    env.pop("MLCONTEXT_ARTIFACTS", None)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / f"{name}.out")],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def _wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child did not get ready (got {line!r}); stderr:\n{err}")


def _finish(proc: subprocess.Popen, timeout: float = 30) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"child still running after {timeout} s (hung?); stderr:\n{err}")
    return proc.returncode, err


def _kill9(proc: subprocess.Popen) -> str:
    proc.kill()  # SIGKILL: no handler, no atexit, no flush
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return err


def _values(store: Store, run_name: str, metric: str = "i") -> list[int]:
    record = store.metadata.get_run(run_name)
    return [int(p.value) for p in store.metadata.metric_points(record.id, metric)]


def _assert_counter(values: list[int], at_least: int) -> None:
    """Stored values are exactly 0..n-1 (no hole, no duplicate) and n >= ``at_least``."""
    assert values == list(range(len(values))), "the stored counter has holes or duplicates"
    assert len(values) >= at_least, f"{at_least - len(values)} metrics lost"


# -- clean endings ------------------------------------------------------------------------------


def test_normal_exit_keeps_everything_including_an_unended_run(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, """
        with mc.run("with-block"):
            mc.param("lr", 0.1)
            for i in range(5000):
                mc.log("i", i)
        run = mc.run("never-ended")        # no `with`, no end(): atexit must end it
        for epoch in mc.loop("epoch", range(3)):
            for i in range(1000):
                mc.log("i", epoch * 1000 + i)
        mc.log("after", 1.0)
    """)
    code, err = _finish(proc)
    assert code == 0, err
    store = opened()
    with_block, unended = store.metadata.get_run("with-block"), store.metadata.get_run("never-ended")
    assert with_block.status == unended.status == RunStatus.FINISHED
    assert with_block.params == {"lr": 0.1}
    assert unended.ended_at is not None and unended.metrics["after"] == 1.0
    _assert_counter(_values(store, "with-block"), 5000)
    _assert_counter(_values(store, "never-ended"), 3000)
    points = store.metadata.metric_points(unended.id, "i")
    assert points[-1].context == {"epoch": 2}


def test_uncaught_exception_marks_failed_with_details(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, """
        def train():
            for i in range(2000):
                mc.log("i", i)
            raise ValueError("the loss exploded")
        run = mc.run("crashes")   # without `with`: the excepthook must record the failure
        train()
    """)
    code, err = _finish(proc)
    assert code == 1 and "ValueError: the loss exploded" in err  # the user still sees their error
    record = opened().metadata.get_run("crashes")
    assert record.status == RunStatus.FAILED
    assert record.error_type == "builtins.ValueError"
    assert record.error_message == "the loss exploded"
    assert "in train" in record.traceback and "ValueError: the loss exploded" in record.traceback
    _assert_counter(_values(opened(), "crashes"), 2000)


def test_exception_inside_with_block(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, """
        with mc.run("crashes-in-with", durability="sync"):
            for i in range(50):
                mc.log("i", i)
            {}["missing"]
    """)
    code, err = _finish(proc)
    assert code == 1 and "KeyError" in err
    record = opened().metadata.get_run("crashes-in-with")
    assert record.status == RunStatus.FAILED and record.error_type == "builtins.KeyError"
    _assert_counter(_values(opened(), "crashes-in-with"), 50)


# -- signals --------------------------------------------------------------------------------------

# Logs a counter forever; ``n`` counts the calls that returned, so ``n`` or ``n + 1`` metrics exist
# (a signal can land between ``mc.log`` returning and ``n += 1``). The final count is written even
# when the process is being interrupted.
COUNTER_LOOP = """
    n = 0
    try:
        with mc.run("looping", durability={durability!r}):
            while True:
                mc.log("i", n)
                n += 1
                if n % 100 == 0:
                    time.sleep(0.001)  # a training loop's pace, not a 1M/s backlog to drain
                if n == {ready_after}:
                    ready()
    finally:
        OUT.write_text(str(n))
"""


@pytest.mark.parametrize("durability", ["buffered", "sync"])
def test_sigint_marks_killed_and_keeps_everything(tmp_path, home, opened, durability) -> None:
    proc = _spawn(tmp_path, home, COUNTER_LOOP.format(durability=durability, ready_after=500))
    _wait_ready(proc)
    time.sleep(0.2)
    for _ in range(3):
        # Python drops a KeyboardInterrupt raised while a GC/weakref callback runs ("Exception
        # ignored in ..."; SQLAlchemy has such callbacks): then, like a user, press Ctrl-C again.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue
    code, err = _finish(proc)
    assert code == -signal.SIGINT and "KeyboardInterrupt" in err  # Python dies of SIGINT
    record = opened().metadata.get_run("looping")
    assert record.status == RunStatus.KILLED
    assert record.error_type == "builtins.KeyboardInterrupt"
    _assert_counter(_values(opened(), "looping"), int((tmp_path / "child.out").read_text()))


@pytest.mark.parametrize("durability", ["buffered", "sync"])
def test_sigterm_marks_killed_keeps_everything_and_dies_of_sigterm(tmp_path, home, opened,
                                                                     durability) -> None:
    proc = _spawn(tmp_path, home, f"""
        out = open(OUT, "w", buffering=1)
        n = 0
        with mc.run("looping", durability={durability!r}):
            while True:
                mc.log("i", n)
                n += 1
                if n % 100 == 0:
                    out.write(f"{{n}} {{time.time()!r}}\\n")
                if n == 500:
                    ready()
    """)
    _wait_ready(proc)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    code, err = _finish(proc)
    assert code == -signal.SIGTERM, err  # the process still dies of the signal
    record = opened().metadata.get_run("looping")
    assert record.status == RunStatus.KILLED, err
    assert "signal" in (record.error_message or "")
    _assert_counter(_values(opened(), "looping"), _progress(tmp_path / "child.out")[-1][0])


@pytest.mark.parametrize("durability", ["buffered", "sync"])
def test_a_sigterm_dropped_in_a_gc_callback_is_delivered_again(tmp_path, home, opened,
                                                                durability) -> None:
    # Python drops an exception raised while a GC or weakref callback runs ("Exception ignored in
    # ...": SQLAlchemy has such callbacks). The SIGTERM's exception dropped there left the process
    # running; a thread meant to end it after 5 s then failed (signal.signal off the main thread) and
    # the process never died (a full-suite hang). Here the signal always lands inside a callback.
    proc = _spawn(tmp_path, home, f"""
        import signal, weakref
        class Box: pass
        def in_callback(_ref):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000): pass  # the handler runs here, inside the callback
        n = 0
        try:
            with mc.run("dropped", durability={durability!r}):
                for _ in range(300):
                    mc.log("i", n)
                    n += 1
                box = Box()
                ref = weakref.ref(box, in_callback)
                ready()
                started = time.monotonic()
                del box  # the callback runs now
                while True:
                    mc.log("i", n)
                    n += 1
        finally:
            OUT.write_text(f"{{n}} {{time.monotonic() - started:.3f}}")
    """)
    _wait_ready(proc)
    code, err = _finish(proc)
    assert code == -signal.SIGTERM, err
    assert "Exception ignored" not in err, err
    n, seconds = (tmp_path / "child.out").read_text().split()
    assert float(seconds) < 2.0, "died by the last-resort thread, not by unwinding"
    record = opened().metadata.get_run("dropped")
    assert record.status == RunStatus.KILLED and "signal" in (record.error_message or "")
    _assert_counter(_values(opened(), "dropped"), int(n))


def test_sigterm_ends_a_run_started_without_with(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, """
        run = mc.run("no-with", durability="sync")
        for i in range(100):
            mc.log("i", i)
        ready()
        time.sleep(30)
    """)
    _wait_ready(proc)
    proc.send_signal(signal.SIGTERM)
    code, err = _finish(proc)
    assert code == -signal.SIGTERM and "Traceback" not in err, err
    record = opened().metadata.get_run("no-with")
    assert record.status == RunStatus.KILLED and "SIGTERM" in record.error_message
    _assert_counter(_values(opened(), "no-with"), 100)


# -- kill -9 --------------------------------------------------------------------------------------

# Logs a counter at a steady, high rate (one metric every 100 µs, 10,000 a second) and appends
# "count time" to OUT after every 100 calls: by ``time`` the first ``count`` metrics had been logged.
PACED_LOOP = """
    out = open(OUT, "w", buffering=1)
    n = 0
    with mc.run("killed", durability={durability!r}):
        next_at = time.perf_counter()
        while True:
            mc.log("i", n)
            n += 1
            if {sync} or n % 100 == 0:
                out.write(f"{{n}} {{time.time()!r}}\\n")
            if n == 2000:
                ready()
            next_at += 100e-6
            while time.perf_counter() < next_at:
                pass
"""


def _progress(path: Path) -> list[tuple[int, float]]:
    lines = path.read_text().splitlines()
    return [(int(n), float(t)) for n, t in (line.split() for line in lines if line.count(" ") == 1)]


@pytest.mark.slow
def test_kill9_buffered_loses_at_most_the_last_flush_interval(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, PACED_LOOP.format(durability="buffered", sync=False))
    _wait_ready(proc)
    time.sleep(1.0)  # ten flushes or so in steady state
    killed_at = time.time()
    err = _kill9(proc)
    stored = _values(opened(), "killed")
    _assert_counter(stored, 0)
    progress = _progress(tmp_path / "child.out")
    logged = progress[-1][0]
    old_enough = [n for n, t in progress if t <= killed_at - LOSS_WINDOW_S]
    assert old_enough, "the child logged nothing before the loss window"
    # Every metric logged more than one loss window before the kill is in the store.
    assert len(stored) >= old_enough[-1], (
        f"lost metrics older than {LOSS_WINDOW_S} s: stored {len(stored)}, "
        f"logged {old_enough[-1]} by {killed_at - LOSS_WINDOW_S:.3f}; stderr:\n{err}")
    assert len(stored) <= logged + 100  # (sanity: the progress file lags by < 100 calls)
    record = opened().metadata.get_run("killed")
    assert record.status == RunStatus.RUNNING  # nobody said otherwise yet: see the heartbeat test


# The same at other rates (issue 13, item 6): 2,000 and 100,000 logs a second, and flat out. Flat
# out, the logger outruns the writer: without a bound the queue grew by 1.89 M records in 5 s and
# kill -9 lost 5.6 s of values; with it the logging thread waits and the loss stays in the window.
RATE_LOOP = """
    out = open(OUT, "w", buffering=1)
    n = 0
    period = {period!r}
    with mc.run("killed"):
        next_at = time.perf_counter()
        started = time.time()
        while True:
            mc.log("i", n)
            n += 1
            if n % 100 == 0:
                out.write(f"{{n}} {{time.time()!r}}\\n")
            if n == 200 or (n < 200 and time.time() - started > 0.5):
                ready()
            if period:
                next_at += period
                while time.perf_counter() < next_at:
                    pass
"""


@pytest.mark.slow
@pytest.mark.parametrize("rate", [2_000, 100_000, None], ids=["2k", "100k", "unbounded"])
def test_kill9_loses_at_most_the_window_at_any_rate(tmp_path, home, opened, rate) -> None:
    proc = _spawn(tmp_path, home, RATE_LOOP.format(period=1 / rate if rate else 0.0))
    _wait_ready(proc)
    time.sleep(2.0)
    killed_at = time.time()
    err = _kill9(proc)
    stored = _values(opened(), "killed")
    _assert_counter(stored, 0)
    progress = _progress(tmp_path / "child.out")
    old_enough = [n for n, t in progress if t <= killed_at - LOSS_WINDOW_S]
    assert old_enough, "the child logged nothing before the loss window"
    assert len(stored) >= old_enough[-1], (
        f"at {rate or 'unbounded'} logs/s, lost metrics older than {LOSS_WINDOW_S} s: stored "
        f"{len(stored)}, logged {old_enough[-1]} by {killed_at - LOSS_WINDOW_S:.3f}; stderr:\n{err}")


@pytest.mark.slow
def test_kill9_sync_loses_nothing(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, PACED_LOOP.format(durability="sync", sync=True))
    _wait_ready(proc)
    time.sleep(0.5)
    _kill9(proc)
    stored = _values(opened(), "killed")
    logged = _progress(tmp_path / "child.out")[-1][0]
    # Each line is written after ``mc.log`` returned: in sync mode those metrics are committed.
    _assert_counter(stored, logged)
    assert len(stored) <= logged + 1


def test_killed_run_is_marked_killed_after_its_heartbeat_times_out(tmp_path, home, opened) -> None:
    proc = _spawn(tmp_path, home, """
        run = mc.run("silent-death")
        mc.log("i", 0)
        run.flush()
        ready()
        time.sleep(60)
    """)
    _wait_ready(proc)
    _kill9(proc)
    store = opened()
    record = store.metadata.get_run("silent-death")
    assert record.status == RunStatus.RUNNING
    # A heartbeat younger than the timeout: still presumed alive (the clock is injected).
    assert store.metadata.mark_dead_runs(60, now=record.heartbeat_at + 59) == 0
    assert store.metadata.mark_dead_runs(60, now=record.heartbeat_at + 61) == 1
    record = store.metadata.get_run("silent-death")
    assert record.status == RunStatus.KILLED
    # It died at its last sign of life (its heartbeat, or the value it logged after it), not now.
    assert record.ended_at >= record.heartbeat_at and record.ended_at < record.heartbeat_at + 59
    assert "heartbeat" in record.error_message
    # Terminal runs are left alone. (The subpackage itself, not the attribute its import sets on
    # mlcontext: that exists only if an earlier test imported it, so the test failed when run alone.)
    assert importlib.import_module("mlcontext.tracking").reap_dead_runs(store, timeout=0.0) == 0


def test_reaping_uses_the_heartbeat_timeout_from_the_environment(tmp_path, home, opened) -> None:
    """``MLCONTEXT_HEARTBEAT_TIMEOUT`` sets when ``mc.runs()`` gives up on a silent run (at least
    three heartbeat intervals: the short interval here lets a 0.2 s timeout through)."""
    proc = _spawn(tmp_path, home, """
        run = mc.run("silent-death")
        run.flush()
        ready()
        time.sleep(60)
    """)
    _wait_ready(proc)
    _kill9(proc)
    # The default timeout (60 s): the run is still presumed alive.
    frame = mc.runs(store=opened())
    assert list(frame["status"]) == [RunStatus.RUNNING]
    env_reader = subprocess.run(
        [sys.executable, "-c", "import mlcontext as mc, json; "
         "f = mc.runs(); print(json.dumps(dict(zip(f['name'], f['status']))))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
        env=dict(os.environ, MLCONTEXT_HOME=str(home), MLCONTEXT_HEARTBEAT_TIMEOUT="0.2",
                 MLCONTEXT_HEARTBEAT_INTERVAL="0.05"))
    assert env_reader.returncode == 0, env_reader.stderr
    assert json.loads(env_reader.stdout) == {"silent-death": RunStatus.KILLED}


def test_a_batch_interrupted_after_its_commit_is_not_stored_twice(sqlite_store, monkeypatch) -> None:
    """KeyboardInterrupt (or SIGTERM) can land after COMMIT, before the flush returns: the batch
    is put back and retried, and the retry must replace the committed rows, not duplicate them."""
    run = mc.run("interrupted", project="durability", durability="sync")
    real_write = sqlite_store.metadata.write
    interrupted: list[bool] = []

    @contextmanager
    def write_then_interrupt() -> Iterator[object]:
        with real_write() as conn:
            yield conn
        if not interrupted:  # committed; now the signal arrives
            interrupted.append(True)
            raise KeyboardInterrupt

    monkeypatch.setattr(sqlite_store.metadata, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run.log("i", 0)
    for i in range(1, 5):
        run.log("i", i)
    run.end()
    assert interrupted and _values(sqlite_store, "interrupted") == [0, 1, 2, 3, 4]


# -- many writers ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_many_processes_log_into_one_sqlite_store(tmp_path, home, opened) -> None:
    n_procs, n_metrics = 6, 3000
    Store.open(home=home).close()  # create the schema once, as a project's first run would
    start_at = time.time() + 3.0   # all children start logging at the same moment
    procs = [_spawn(tmp_path, home, f"""
        durability = "sync" if {k} % 3 == 0 else "buffered"
        with mc.run("writer-{k}", durability=durability):
            mc.param("k", {k})
            while time.time() < {start_at!r}:
                time.sleep(0.001)
            for i in range({n_metrics} if durability == "buffered" else 300):
                mc.log("i", i)
                if i % 500 == 0:
                    time.sleep(0.01)
    """, name=f"writer{k}") for k in range(n_procs)]
    results = [_finish(p, timeout=60) for p in procs]
    for code, err in results:
        assert code == 0, err
        assert "locked" not in err and "Traceback" not in err, err
    store = opened()
    for k in range(n_procs):
        record = store.metadata.get_run(f"writer-{k}")
        assert record.status == RunStatus.FINISHED and record.params == {"k": k}
        _assert_counter(_values(store, f"writer-{k}"), n_metrics if k % 3 else 300)


def test_a_signal_during_a_write_takes_effect_after_it(sqlite_store, monkeypatch) -> None:
    """SIGINT landing inside the database write (sync mode writes from the main thread) is held until
    the write is over: the batch is committed once, then KeyboardInterrupt is raised, and the run can
    still end (an interrupt inside SQLAlchemy's pool or a SQLite transaction used to hang the end)."""
    run = mc.run("held", project="durability", durability="sync")
    real_batch = sqlite_store.metadata.write_batch
    sent: list[bool] = []

    def batch_with_a_signal_in_the_middle(conn, params, metrics):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler has run by now: with Python's it would have raised here
        return real_batch(conn, params, metrics)

    monkeypatch.setattr(sqlite_store.metadata, "write_batch", batch_with_a_signal_in_the_middle)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        run.log("i", 0)
    assert signal.getsignal(signal.SIGINT) is handler  # put back
    assert _values(sqlite_store, "held") == [0]  # the write finished before the interrupt
    run.log("i", 1)
    run.end(RunStatus.KILLED)
    assert sent and _values(sqlite_store, "held") == [0, 1]


def test_signals_held_acts_on_the_signal_as_its_handler_would() -> None:
    from mlcontext.tracking.writer import signals_held

    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.02)
            assert seen == []  # held
        assert seen == [signal.SIGTERM]  # delivered to the handler that was there before
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.02)
        assert seen == [signal.SIGTERM]  # ignored, as before
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_signals_held_delivers_every_held_signal() -> None:
    from mlcontext.tracking.writer import signals_held

    seen: list[str] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append("TERM"))
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C held along with the SIGTERM
                time.sleep(0.02)
        assert seen == ["TERM"]  # the SIGTERM ran, and the Ctrl-C was raised after it
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous)
