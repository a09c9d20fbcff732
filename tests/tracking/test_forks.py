"""Forked children log into the parent's run and never end it (issue 13, item 8).

Before: values logged in ``multiprocessing`` fork children were dropped without an error (0 of 4,000
stored: the children exit with ``os._exit``, and their copy of the writer had no thread); after
``os.fork()`` the child's normal exit marked the parent's live run finished; and the child wrote through
the database connections it inherited. Peers have the same kind of fault: MLflow #2897 (runs and
``multiprocessing``: metrics from child processes lost or logged to the wrong run) and W&B's "use
wandb.setup() before spawning" guidance for forked workers. On both backends: a PostgreSQL connection
used from two processes desynchronises the protocol, so that backend is the sharper test.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

import pytest
from children import wait_or_kill

import mlcontext as mc
from mlcontext.store import RunStatus
from mlcontext.store import engine as engine_module

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

FORK = multiprocessing.get_context("fork")


def _worker(k: int) -> int:
    for i in range(1000):
        mc.log(f"w{k}", i)
    return k


def _values(store, run_id: str, name: str) -> list[float]:
    return [p.value for p in store.metadata.metric_points(run_id, name)]


def test_multiprocessing_fork_children_log_into_the_parent_run(store) -> None:
    with mc.run("pool", project="forks") as run:
        mc.log("parent", 1.0)
        with FORK.Pool(4) as pool:
            assert sorted(pool.map(_worker, range(4))) == [0, 1, 2, 3]
        mc.log("parent", 2.0)
    record = store.metadata.get_run(run.id)
    assert record.status == RunStatus.FINISHED
    for k in range(4):  # 4,000 values, each child's in its own order
        assert _values(store, run.id, f"w{k}") == [float(i) for i in range(1000)]
    assert _values(store, run.id, "parent") == [1.0, 2.0]


def _process_worker(k: int) -> None:
    mc.log("proc", k)


def test_process_children_that_never_log_start_no_writer(store) -> None:
    with mc.run("procs", project="forks") as run:
        children = [FORK.Process(target=_process_worker, args=(k,)) for k in range(3)]
        children.append(FORK.Process(target=int))  # logs nothing
        for child in children:
            child.start()
        for child in children:
            child.join(60)
            assert child.exitcode == 0
    assert sorted(_values(store, run.id, "proc")) == [0.0, 1.0, 2.0]
    assert store.metadata.get_run(run.id).status == RunStatus.FINISHED


def _fork(body) -> int:
    """Run ``body()`` in an ``os.fork`` child that then exits the way ``body`` says; its status."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            body()
        except SystemExit as exc:
            code = exc.code or 0
        except BaseException:  # noqa: BLE001 - reported through the exit status
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_child_leaving_the_with_block_does_not_end_the_parent_run(store) -> None:
    with mc.run("with", project="forks") as run:
        mc.log("x", 0.0)

        def child() -> None:
            with run:  # what a child that falls through the parent's `with` block does
                mc.log("x", 100.0)

        assert _fork(child) == 0
        # the child wrote its value and left the run alone
        assert store.metadata.get_run(run.id).status == RunStatus.RUNNING
        mc.log("x", 1.0)
    record = store.metadata.get_run(run.id)
    assert record.status == RunStatus.FINISHED
    assert sorted(_values(store, run.id, "x")) == [0.0, 1.0, 100.0]


def test_a_child_ending_the_run_or_failing_does_not_end_it(store) -> None:
    run = mc.run("end", project="forks")

    def ends() -> None:
        mc.log("y", 5.0)
        run.end(RunStatus.FAILED, RuntimeError("child"))

    def fails() -> None:
        mc.log("y", 6.0)
        sys.excepthook(RuntimeError, RuntimeError("boom"), None)  # what an uncaught error does

    assert _fork(ends) == 0
    assert _fork(fails) == 0
    assert store.metadata.get_run(run.id).status == RunStatus.RUNNING
    run.end()
    assert store.metadata.get_run(run.id).status == RunStatus.FINISHED
    assert sorted(_values(store, run.id, "y")) == [5.0, 6.0]


def test_a_child_never_uses_an_inherited_connection(store) -> None:
    with mc.run("conns", project="forks"):
        engine = store.metadata.engine
        parent_pool = engine.pool
        read, write = os.pipe()

        def child() -> None:
            fresh = engine.pool is not parent_pool
            kept = any(p is parent_pool for p in engine_module._INHERITED)
            mc.log("z", 1.0)
            mc.active_run().flush()
            os.write(write, b"%d%d" % (fresh, kept))

        assert _fork(child) == 0
        assert os.read(read, 2) == b"11"
        os.close(read)
        os.close(write)
        assert engine.pool is parent_pool  # the parent's own pool is untouched


def test_child_seqs_never_collide_with_the_parent_or_a_sibling(store) -> None:
    with mc.run("seqs", project="forks") as run:
        for i in range(3):
            mc.log("s", float(i))
        for base in (10.0, 20.0):

            def child(base: float = base) -> None:
                for i in range(3):
                    mc.log("s", base + i)
                mc.active_run().flush()  # os._exit below skips atexit: the child flushes itself

            assert _fork(child) == 0
        mc.log("s", 3.0)
    points = store.metadata.metric_points(run.id, "s")
    seqs = [p.seq for p in points]
    assert len(set(seqs)) == len(seqs) == 10
    assert sorted(p.value for p in points) == [0, 1, 2, 3, 10, 11, 12, 20, 21, 22]


def _blocked_signals(native_id: int) -> int:
    with open(f"/proc/self/task/{native_id}/status") as status:
        return int(next(line for line in status if line.startswith("SigBlk:")).split()[1], 16)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads thread signal masks from /proc")
def test_signals_reach_the_main_thread_not_the_writer(store) -> None:
    # A Pool worker blocked on the task queue's lock hung for ever after Pool.terminate: the kernel
    # had handed its SIGTERM to the writer thread, so the main thread never ran the handler that ends
    # the child. The writer thread blocks SIGINT and SIGTERM, so they go to the main thread.
    import signal
    import threading

    with mc.run("mask", project="forks"):
        mc.log("x", 1.0)
        writers = [t for t in threading.enumerate() if t.name.startswith("mlcontext-writer")]
        assert writers
        for writer in writers:
            blocked = _blocked_signals(writer.native_id)
            assert blocked & (1 << (signal.SIGTERM - 1)) and blocked & (1 << (signal.SIGINT - 1))
        assert not _blocked_signals(threading.main_thread().native_id) & (1 << (signal.SIGTERM - 1))


@pytest.mark.skipif(not (os.path.exists("/proc/self/task") and os.uname().machine == "x86_64"),
                    reason="signals one thread of another process (/proc task ids, tgkill on x86-64)")
def test_a_sigterm_the_kernel_hands_to_another_thread_still_ends_a_blocked_child(store) -> None:
    # What hung Pool.terminate about once in several full-suite runs: the kernel may deliver a
    # process-directed SIGTERM to any thread that does not block it; Python's C handler then only sets
    # a flag, and a main thread blocked in C (a Pool worker waiting for its next task) never runs the
    # Python handler. Here the signal is sent to a plain thread of the child on purpose while the main
    # thread blocks in a multiprocessing lock: the child must still write its values and die of it.
    import signal
    import threading
    import time

    with mc.run("signal", project="forks") as run:
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            try:
                for i in range(500):
                    mc.log("child", i)
                lock = FORK.Lock()
                lock.acquire()
                bystander = threading.Thread(target=time.sleep, args=(60,), daemon=True)
                bystander.start()
                os.write(ready_w, b"ready")
                lock.acquire()  # blocks in C for ever, as a Pool worker on its task queue
            finally:
                os._exit(3)
        os.close(ready_w)
        assert os.read(ready_r, 64)  # the bystander runs
        os.close(ready_r)
        # signal.pthread_kill only reaches threads of this process: the child's thread is signalled
        # by its kernel task id; the newest one is the bystander (after the writer and the watcher).
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
        _tgkill(pid, max(tids), signal.SIGTERM)
        status = wait_or_kill(pid, 20, "the child ignored a SIGTERM delivered to one of its other threads")
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert _values(store, run.id, "child") == [float(i) for i in range(500)]


def _tgkill(pid: int, tid: int, signum: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(234, pid, tid, int(signum)) != 0:  # SYS_tgkill on x86-64
        raise OSError(ctypes.get_errno(), "tgkill failed")


def test_a_childs_own_sigterm_handler_runs_once_per_signal(store) -> None:
    # Review of the watcher above: it re-sent every SIGTERM to a child whose handler was the user's
    # (a graceful-shutdown flag, sys.exit with cleanup), 20 times a second, interrupting the cleanup.
    import signal
    import time

    with mc.run("own-handler", project="forks"):
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 3
            try:
                calls = []
                signal.signal(signal.SIGTERM, lambda *_: calls.append(1))
                mc.log("child", 1.0)  # starts the child's writer (and the watcher)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.6)
                os.write(out_w, str(len(calls)).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(out_w)
        _, status = os.waitpid(pid, 0)
        calls = int(os.read(out_r, 16) or b"-1")
        os.close(out_r)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert calls == 1
