"""How a run ends when its process ends by ``sys.exit`` or ``os._exit``, in every way a script starts
a run (``with``, ``mc.run()`` alone, an implicit run), and what a killed run's duration and a NaN
param look like afterwards (a newcomer's findings, issue 14).

Each ending runs a small script as a real subprocess (the exit status is the process's business)
against an embedded store in ``tmp_path`` and reads the store right after the process is gone.

Peers of the kind:

- mlflow/mlflow#3932: a run started without ``with`` is ``FINISHED`` whatever ended the script (the
  atexit handler ends every open run as finished); with ``with`` it is ``FAILED``.
- omegaup/omegaup#10136: ``sys.exit(0)`` inside a ``with`` block recorded as an error
  (``SystemExit: 0``) although the process succeeded.
- DataDog/dd-trace-js#3842: a short-lived process exits before the periodic flush and its last
  metrics are lost; wandb/wandb#1304: ``os._exit`` skips every exit handler of a tracker.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli import cli
from mlcontext.store import RunRecord, RunStatus, Store
from mlcontext.tracking.writer import FIRST_HEARTBEAT_S, RunWriter

PRELUDE = "import os, sys, threading\nimport mlcontext as mc\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, MLCONTEXT_HOME=str(home), MLCONTEXT_PROJECT="endings", PYTHONUNBUFFERED="1")
    for name in ("MLCONTEXT_STORE", "MLCONTEXT_ARTIFACTS", "MLCONTEXT_HEARTBEAT_INTERVAL"):
        env.pop(name, None)
    return env


def _script(tmp_path: Path, home: Path, body: str, *, module: bool = False,
            expect: int | None = None) -> subprocess.CompletedProcess:
    """Run ``body`` (after :data:`PRELUDE`) as ``python script.py``, or as ``python -m job`` with
    ``module``; assert its exit status when ``expect`` is given."""
    code = PRELUDE + textwrap.dedent(body)
    if module:
        (tmp_path / "job").mkdir(exist_ok=True)
        (tmp_path / "job" / "__main__.py").write_text(code)
        args = [sys.executable, "-m", "job"]
    else:
        (tmp_path / "script.py").write_text(code)
        args = [sys.executable, str(tmp_path / "script.py")]
    done = subprocess.run(args, cwd=tmp_path, env=_env(home), capture_output=True, text=True, timeout=120)
    if expect is not None:
        assert done.returncode == expect, done.stderr
    return done


@pytest.fixture
def record(home: Path) -> Iterator:
    """``record(name)``: the stored run of that name, read once the script is gone."""
    stores: list[Store] = []

    def read(name: str) -> RunRecord:
        if not stores:
            stores.append(Store.open(home=home))
        return stores[0].metadata.get_run(name)

    yield read
    for store in stores:
        store.close()


def _points(home: Path, run_id: str, metric: str) -> list:
    store = Store.open(home=home)
    try:
        return store.metadata.metric_points(run_id, metric)
    finally:
        store.close()


# -- 1. sys.exit: the status the process exits with ------------------------------------------------

FAILING_EXITS = {
    # how the run was started, and the script's ending
    "mc.run() alone, sys.exit(1)": ("run = mc.run('job')\nmc.log('rows', 0.0)\nsys.exit(1)\n", 1, "1"),
    "implicit run, sys.exit('msg')": ("mc.log('rows', 0.0)\nsys.exit('bad input')\n", 1, "bad input"),
    "mc.run() alone, from a function": ("run = mc.run('job')\nmc.log('rows', 0.0)\n"
                                        "def main():\n    sys.exit(7)\nmain()\n", 7, "7"),
    "argparse refuses the command line": ("import argparse\nrun = mc.run('job')\nmc.log('rows', 0.0)\n"
                                          "argparse.ArgumentParser().parse_args(['--nope'])\n", 2, "2"),
}


@pytest.mark.parametrize("ending", list(FAILING_EXITS))
@pytest.mark.parametrize("module", [False, True], ids=["script", "-m"])
def test_a_failing_sys_exit_fails_the_run_however_it_was_started(tmp_path, home, record, ending,
                                                                  module) -> None:
    body, status, message = FAILING_EXITS[ending]
    _script(tmp_path, home, body, module=module, expect=status)
    name = "script" if ending.startswith("implicit") and not module else \
        "__main__" if ending.startswith("implicit") else "job"
    run = record(name)
    assert (run.status, run.error_type, run.error_message) == (RunStatus.FAILED, "builtins.SystemExit",
                                                               message)
    assert run.traceback.startswith("Traceback") and "SystemExit" in run.traceback
    # (the user's frames only: mlcontext's wrapper of sys.exit is not where their exit was)
    assert "exits.py" not in run.traceback
    assert run.metrics == {"rows": 0.0}  # and nothing logged is lost on the way


def test_a_failing_sys_exit_inside_with_is_recorded_as_before(tmp_path, home, record) -> None:
    _script(tmp_path, home, "with mc.run('job'):\n    sys.exit(3)\n", expect=3)
    run = record("job")
    assert (run.status, run.error_type, run.error_message) == (RunStatus.FAILED, "builtins.SystemExit", "3")


SUCCEEDING_EXITS = {
    "with, sys.exit(0)": "with mc.run('job'):\n    mc.log('rows', 1.0)\n    sys.exit(0)\n",
    "with, sys.exit(None)": "with mc.run('job'):\n    mc.log('rows', 1.0)\n    sys.exit(None)\n",
    "with, sys.exit()": "with mc.run('job'):\n    mc.log('rows', 1.0)\n    sys.exit()\n",
    "mc.run() alone, sys.exit(0)": "run = mc.run('job')\nmc.log('rows', 1.0)\nsys.exit(0)\n",
    # a command's main() called in-process, its SystemExit caught: the script went on and succeeded
    "a caught sys.exit(2)": "run = mc.run('job')\nmc.log('rows', 1.0)\n"
                            "try:\n    sys.exit(2)\nexcept SystemExit:\n    pass\n",
    # sys.exit in a thread ends the thread, not the process
    "sys.exit(4) in a thread": "run = mc.run('job')\nmc.log('rows', 1.0)\n"
                               "t = threading.Thread(target=sys.exit, args=(4,))\nt.start()\nt.join()\n",
}


@pytest.mark.parametrize("ending", list(SUCCEEDING_EXITS))
def test_an_exit_with_status_0_finishes_the_run_with_no_error(tmp_path, home, record, ending) -> None:
    _script(tmp_path, home, SUCCEEDING_EXITS[ending], expect=0)
    run = record("job")
    assert (run.status, run.error_type, run.error_message, run.traceback) == (
        RunStatus.FINISHED, None, None, None)
    assert run.metrics == {"rows": 1.0}


def test_a_fork_child_exiting_with_1_never_fails_its_parents_run(tmp_path, home, record) -> None:
    done = _script(tmp_path, home, """
        run = mc.run("job")
        pid = os.fork()
        if pid == 0:
            mc.log("child", 1.0)
            sys.exit(1)  # the child's atexit handlers run: they only write what it logged
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 1
        print(mc.get_run(run.id).status)
        mc.log("parent", 2.0)
    """, expect=0)
    assert done.stdout.split() == [RunStatus.RUNNING]  # right after the child's exit
    run = record("job")
    assert run.status == RunStatus.FINISHED and run.error_type is None
    assert run.metrics == {"child": 1.0, "parent": 2.0}


# -- 2. os._exit: flush, and record the end --------------------------------------------------------


@pytest.mark.parametrize("durability", ["buffered", "sync"])
def test_os_exit_1_keeps_everything_logged_and_fails_the_run(tmp_path, home, record, durability) -> None:
    """The newcomer's script: in buffered mode the params and the last ~100 ms of values were lost,
    and the run stayed ``running`` until readers gave up on its heartbeat."""
    _script(tmp_path, home, f"""
        with mc.run("exit-demo", durability={durability!r}):
            mc.param("lr", 0.1)
            for e in mc.loop("epoch", range(5)):
                mc.log("loss", 1.0 / (e + 1))
            os._exit(1)
    """, expect=1)
    run = record("exit-demo")
    assert run.params == {"lr": 0.1}
    assert [p.value for p in _points(home, run.id, "loss")] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert (run.status, run.error_type) == (RunStatus.FAILED, "os._exit")
    assert "exit status 1" in run.error_message and "os._exit(1)" in run.traceback
    assert run.ended_at is not None


def test_os_exit_0_finishes_a_run_started_without_with(tmp_path, home, record) -> None:
    _script(tmp_path, home, "run = mc.run('job')\nmc.param('k', 3)\nmc.log('rows', 1.0)\nos._exit(0)\n",
            expect=0)
    run = record("job")
    assert (run.status, run.error_type, run.params, run.metrics) == (
        RunStatus.FINISHED, None, {"k": 3}, {"rows": 1.0})


def test_os_exit_from_another_thread_ends_the_run(tmp_path, home, record) -> None:
    """A watchdog thread that gives up on the main thread (blocked here) and exits the process."""
    _script(tmp_path, home, """
        run = mc.run("job")
        mc.param("k", 1)
        threading.Thread(target=os._exit, args=(5,)).start()
        threading.Event().wait()
    """, expect=5)
    run = record("job")
    assert (run.status, run.error_type, run.params) == (RunStatus.FAILED, "os._exit", {"k": 1})


def test_a_fork_child_ending_with_os_exit_writes_its_values_and_leaves_the_run_to_its_parent(
        tmp_path, home, record) -> None:
    """``os.fork`` children end with ``os._exit``: what the child logged was lost, and ending the run
    there would end the parent's (a child never ends the run)."""
    done = _script(tmp_path, home, """
        run = mc.run("job")
        pid = os.fork()
        if pid == 0:
            mc.log("child", 1.0)
            os._exit(9)
        os.waitpid(pid, 0)
        print(mc.get_run(run.id).status)
        mc.log("parent", 2.0)
    """, expect=0)
    assert done.stdout.split() == [RunStatus.RUNNING]  # right after the child's exit
    run = record("job")
    assert run.status == RunStatus.FINISHED and run.error_type is None
    assert run.metrics == {"child": 1.0, "parent": 2.0}


def test_os_exit_with_a_bad_status_raises_and_ends_nothing(tmp_path, home, record) -> None:
    done = _script(tmp_path, home, """
        run = mc.run("job")
        try:
            os._exit("no")
        except TypeError:
            print(mc.get_run(run.id).status)
    """, expect=0)
    assert done.stdout.split() == [RunStatus.RUNNING]
    assert record("job").status == RunStatus.FINISHED


# -- 3. a killed run's duration: its last sign of life ---------------------------------------------


def _bare_run(store: Store, name: str, started: float) -> str:
    """A running run's row with no process behind it (no writer of its own beats meanwhile)."""
    run_id = uuid.uuid4().hex
    store.metadata.create_run(
        "endings", id=run_id, name=name, status=RunStatus.RUNNING, user="ana", host="h", pid=1,
        started_at=started, heartbeat_at=started, entry_point="train.py", argv=["train.py"], cwd="/w",
        python="3.11", git_commit=None, git_branch=None, git_dirty=None, code_hash=None,
        environment={}, durability="buffered")
    return run_id


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_first_heartbeats_come_early_then_every_interval(sqlite_store) -> None:
    """A run killed with ``-9`` ends, for readers, at its last heartbeat or value: with the first
    beat 5 s after the start, a run killed after 1.8 s that had stored nothing lasted 0.000 s."""
    started = 1_000_000.0
    run_id = _bare_run(sqlite_store, "beats", started)
    clock = _Clock(started)
    writer = RunWriter(sqlite_store.metadata, run_id, clock=clock, interval=3600.0, heartbeat_interval=5.0)
    try:
        beats = []
        for at in (0.1, 0.25, 0.5, 0.7, 1.2, 1.55, 3.0, 3.25, 6.0, 6.5, 9.0, 11.5):
            clock.now = started + at
            writer.flush()
            beat = sqlite_store.metadata.get_run(run_id).heartbeat_at - started
            if not beats or beat != beats[-1]:
                beats.append(beat)
        assert beats == pytest.approx([0.0, 0.25, 0.7, 1.55, 3.25, 6.5, 11.5], abs=1e-6)
        assert FIRST_HEARTBEAT_S <= 0.25
    finally:
        writer.close()


def test_a_batch_written_beats_too_but_never_in_a_fork_childs_writer(sqlite_store) -> None:
    started = 1_000_000.0
    run_id = _bare_run(sqlite_store, "batch-beats", started)
    clock = _Clock(started)
    parent = RunWriter(sqlite_store.metadata, run_id, clock=clock, interval=3600.0, heartbeat_interval=5.0)
    child = RunWriter(sqlite_store.metadata, run_id, clock=clock, interval=3600.0,
                      heartbeat_interval=float("inf"))
    try:
        clock.now = started + 0.15  # before the first periodic beat, after one flush interval
        child.add_param((run_id, "from_child", "1", "int", False))
        child.flush()
        assert sqlite_store.metadata.get_run(run_id).heartbeat_at == started
        parent.interval = 0.1
        parent.add_param((run_id, "lr", "0.1", "float", False))  # a params-only batch: no value time
        parent.flush()
        assert sqlite_store.metadata.get_run(run_id).heartbeat_at == pytest.approx(started + 0.15, abs=1e-6)
    finally:
        child.close()
        parent.close()


def test_a_run_killed_after_its_first_second_keeps_a_duration(tmp_path, home, record) -> None:
    """The newcomer's case, the state right after ``kill -9``: the run logged only a param; its
    duration, once readers mark it killed, is no longer 0.000 s (its heartbeat came early)."""
    proc = subprocess.Popen([sys.executable, "-c", PRELUDE + textwrap.dedent("""
        import time
        run = mc.run("short")
        mc.param("lr", 0.1)
        started = mc.get_run(run.id).started_at
        give_up = time.monotonic() + 2.5  # half the heartbeat interval: the old first beat never came
        while mc.get_run(run.id).heartbeat_at <= started and time.monotonic() < give_up:
            time.sleep(0.05)
        print("beat" if mc.get_run(run.id).heartbeat_at > started else "no beat", flush=True)
        time.sleep(60)
    """)], cwd=tmp_path, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert line == "beat"
    store = Store.open(home=home)
    try:
        running = store.metadata.get_run("short")
        assert running.status == RunStatus.RUNNING and running.params == {"lr": 0.1}
        assert store.metadata.mark_dead_runs(60, now=running.heartbeat_at + 61) == 1
    finally:
        store.close()
    killed = record("short")
    assert killed.status == RunStatus.KILLED and killed.duration > 0
    shown = CliRunner().invoke(cli, ["show", "short"], env={"MLCONTEXT_HOME": str(home), "COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "at least" in shown.output and "the process died" in shown.output  # a lower bound, said so


# -- 4. a NaN param in the CLI's tables ------------------------------------------------------------


def test_a_nan_param_is_shown_as_nan_never_as_the_missing_dash(sqlite_store) -> None:
    runs = []
    for name, p in (("a", math.nan), ("b", math.nan), ("c", None)):
        with mc.run(name, project="nan") as run:
            if p is not None:
                mc.param("p", p)
            mc.log("score", math.nan)
        runs.append(run.id)
    invoke = CliRunner().invoke
    same = invoke(cli, ["diff", runs[0], runs[1]], env={"COLUMNS": "200"})
    assert same.exit_code == 0, same.output
    assert "params: the same, p=nan" in same.output
    assert "metrics (last value): the same, score=nan" in same.output
    differ = invoke(cli, ["diff", runs[0], runs[2]], env={"COLUMNS": "200"})
    assert differ.exit_code == 0, differ.output
    row = next(line for line in differ.output.splitlines() if " p " in f" {line} ")
    assert "nan" in row and "(absent)" in row and "-" not in row.replace("─", "").replace("│", "").split()
    shown = invoke(cli, ["show", runs[0]], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert any(line.split("│")[1:3] == [" p ", " nan "] or line.split() == ["p", "nan"] or
               ("p" in line.split() and "nan" in line.split()) for line in shown.output.splitlines())
    assert mc.get_run(runs[0]).params == {"p": pytest.approx(math.nan, nan_ok=True)}


# -- a reviewer's findings on the above --------------------------------------------------------------

def _job(tmp_path: Path, home: Path, source: str) -> subprocess.CompletedProcess:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=_env(home), capture_output=True,
                          text=True, timeout=120)


def test_sys_exit_of_main_is_seen(tmp_path, home, record) -> None:
    """`sys.exit(main())`, every console script's shape: sys.exit was looked up before main() started
    the run and installed the wrapper, so the failing run was recorded finished."""
    done = _job(tmp_path, home, """
        import sys
        import mlcontext as mc
        def main():
            mc.run("console")
            mc.log("x", 1.0)
            return 2
        if __name__ == "__main__":
            sys.exit(main())
    """)
    assert done.returncode == 2, done.stderr
    run = record("console")
    assert run.status == RunStatus.FAILED and run.error_type == "builtins.SystemExit"


def test_an_exit_status_of_256_is_success(tmp_path, home, record) -> None:
    done = _job(tmp_path, home, """
        import sys
        import mlcontext as mc
        mc.run("wraps")
        sys.exit(256)
    """)
    assert done.returncode == 0, done.stderr
    assert record("wraps").status == RunStatus.FINISHED


def test_os_exit_after_sigterm_records_killed(tmp_path, home, record) -> None:
    """A multiprocessing worker terminated by its Pool: SIGTERM unwinds it, and it exits by
    os._exit(1); the run was recorded failed."""
    done = _job(tmp_path, home, """
        import os, signal
        import mlcontext as mc
        mc.run("worker")
        mc.log("x", 1.0)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            import time; time.sleep(5)
        except BaseException:
            os._exit(1)
    """)
    assert done.returncode == 1, done.stderr
    run = record("worker")
    assert run.status == RunStatus.KILLED and run.metrics == {"x": 1.0}


def test_a_run_ended_by_sigterm_names_the_signal(tmp_path, home, record) -> None:
    """Its error type was mlcontext.tracking.run._Terminated, a private class (a newcomer's finding)."""
    _job(tmp_path, home, """
        import os, signal, time
        import mlcontext as mc
        mc.run("termed")
        mc.log("x", 1.0)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    """)
    run = record("termed")
    assert (run.status, run.error_type) == (RunStatus.KILLED, "SIGTERM") and run.metrics == {"x": 1.0}
    assert "_Terminated" not in run.traceback and "_on_sigterm" not in run.traceback
    assert run.traceback.rstrip().endswith("SIGTERM: terminated by signal 15 (SIGTERM)")


def test_a_fork_childs_writer_sends_no_early_heartbeat(sqlite_store) -> None:
    writer = RunWriter(sqlite_store.metadata, "none", heartbeat_interval=float("inf"))
    try:
        assert writer._beat_every == float("inf")
    finally:
        writer.close()


@pytest.mark.parametrize("name, refused", [("2024", False), ("cafe", False), ("{prefix8}", True),
                                           ("{upper8}", True), ("{full}", True), ("deadbeef00", False)])
def test_which_run_names_are_refused_as_id_prefixes(sqlite_store, name, refused) -> None:
    """Only names of 8 hex digits or more are looked up (shorter ones were refused at random as a store
    grew); in either case, and the whole id too."""
    with mc.run("first", project="p") as first:
        pass
    name = name.format(prefix8=first.id[:8], upper8=first.id[:8].upper(), full=first.id)
    if refused:
        with pytest.raises(mc.InvalidNameError, match="start of the id of run"):
            mc.run(name, project="p")
    else:
        with mc.run(name, project="p"):
            pass


def test_os_stat_still_pickles_after_a_step(sqlite_store) -> None:
    import os
    import pickle

    @mc.step
    def read_nothing(x):
        return x + 1

    read_nothing(1.0)
    assert pickle.loads(pickle.dumps(os.stat)) is os.stat
