"""A SIGTERM that reaches a fork child before the child first runs is not lost.

CPython clears the signals its C handler caught right after a fork (so that the parent's are not
handled twice in the child). A child that inherited a Python-level handler (mlcontext's, installed
by a run) and is SIGTERM'd before it first gets a CPU lost the signal that way: ``Pool.terminate``
does exactly that to a worker that had not run yet when the other workers had done every task, and
then waits for it for ever (seen in full-suite runs on a busy machine: the worker blocked on the task
queue with its handler installed and no signal pending). With the default action the kernel kills
such a child; with mlcontext's handler the signal is now held blocked across the fork and delivered
once the child's handler is in place.

The test makes the window certain instead of likely: the parent runs on one CPU under a real-time
policy, so the child (reset to the normal policy at the fork) cannot run before the parent has
sent the signal and waits. Peers of the kind: python/cpython#78178 (``Pool.terminate`` hangs on a
worker), dagster-io/dagster#25749 and oracle/opengrok#3650 (a library's SIGTERM handler inherited by
``Pool`` workers changes how ``terminate`` ends them).
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from children import wait_or_kill

import mlcontext as mc
from mlcontext.store import Store


def _realtime_on_one_cpu() -> tuple[int, os.sched_param, set[int]] | None:
    if not (hasattr(os, "sched_setscheduler") and hasattr(os, "sched_setaffinity")):
        return None
    policy, param, cpus = os.sched_getscheduler(0), os.sched_getparam(0), os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cpus)})
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(10))
    except (PermissionError, OSError):
        os.sched_setaffinity(0, cpus)
        return None
    return policy, param, cpus


@pytest.mark.timeout(120)
def test_a_sigterm_sent_before_the_child_first_runs_ends_it(tmp_path) -> None:
    store = Store.open(home=tmp_path / "home")
    with mc.use_store(store), mc.run("parent"):
        saved = _realtime_on_one_cpu()
        if saved is None:
            pytest.skip("needs a real-time scheduling policy (CAP_SYS_NICE) to order parent and child")
        try:
            pid = os.fork()
            if pid == 0:  # runs only once the parent waits: the SIGTERM is already there
                try:
                    time.sleep(30)  # (a Pool worker blocked on its task queue)
                finally:
                    os._exit(3)
            os.kill(pid, signal.SIGTERM)
        finally:
            policy, param, cpus = saved
            os.sched_setscheduler(0, policy, param)
            os.sched_setaffinity(0, cpus)
        status = wait_or_kill(
            pid, 15, "the child survived a SIGTERM sent before it first ran (the signal was lost)")
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    store.close()


@pytest.mark.timeout(120)
def test_a_child_that_has_not_logged_keeps_sigterm_s_default_action(tmp_path) -> None:
    """A Python handler runs only between bytecodes: a SIGTERM caught just before the main thread
    blocks in C (a Pool worker's first wait on its task queue) sets a flag and nothing more, and
    ``Pool.terminate`` waited for such a worker for ever (caught live: the C handler's flag set, the
    worker in ``sem_wait``). A child with nothing to write keeps the default action, which the kernel
    carries out whatever the child is blocked in; the child that logs gets mlcontext's handler (its
    values are written before it dies) after the watcher that re-sends a signal to the main thread."""
    store = Store.open(home=tmp_path / "home")
    read_end, write_end = os.pipe()
    with mc.use_store(store), mc.run("parent") as run:
        pid = os.fork()
        if pid == 0:
            try:
                before = signal.getsignal(signal.SIGTERM)
                mc.log("child", 1.0)
                after = signal.getsignal(signal.SIGTERM)
                answer = f"{before is signal.SIG_DFL} {getattr(after, '__name__', after)}"
                os.write(write_end, answer.encode())
                run.flush()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read_end, 200).decode() == "True _child_sigterm"
        assert signal.getsignal(signal.SIGTERM).__name__ == "_on_sigterm"  # the parent's, untouched
    os.close(read_end)
    os.close(write_end)
    store.close()
