"""The hash-consing table's sweep run by two threads at once (a fresh reviewer's finding): both
crossed the sweep threshold together, one deleted keys of the other's snapshot, and a KeyError
escaped from whatever traced operation had triggered the sweep."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from racing import race

from mlcontext.lineage import item as items


def _fill(n: int) -> None:
    leaf = items.leaf("test.sweep-leaf", ("i", 0))
    for k in range(n):
        items.make("test.sweep", (leaf,), ("i", k))  # dropped at once: the sweep's to remove


def test_two_threads_sweeping_at_once_raise_nothing() -> None:
    errors: list[BaseException] = []
    for _ in range(5):
        _fill(30_000)
        barrier = threading.Barrier(3)

        def sweep(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                items.sweep()
            except BaseException as exc:  # noqa: BLE001 - what the test looks for
                errors.append(exc)

        race([threading.Thread(target=sweep) for _ in range(3)])
    assert errors == []
    assert not any(k[0] == "test.sweep" for k in list(items._table))  # all swept


def _holding_the_sweep_lock() -> tuple[threading.Event, threading.Thread]:
    """Another thread holding the sweep lock, as a running sweep would, until the event is set."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with items._sweeping:
            held.set()
            release.wait()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(timeout=20), "the sweep lock is held for good (a hung sweep)"
    return release, holder


def test_a_sweep_waits_for_the_running_one_and_then_sweeps_all() -> None:
    # Deterministic form of the race above: while one sweep runs, an explicit sweep waits for it
    # and then sweeps everything, and the automatic sweep leaves the work to the running one.
    _fill(1_000)
    release, holder = _holding_the_sweep_lock()
    try:
        items._sweep()  # automatic: returns at once, sweeps nothing
        assert any(k[0] == "test.sweep" for k in list(items._table))
        waiter = threading.Thread(target=items.sweep)
        waiter.start()
        waiter.join(timeout=0.2)
        assert waiter.is_alive()  # waits for the running sweep
    finally:
        release.set()
    holder.join()
    waiter.join()
    assert not any(k[0] == "test.sweep" for k in list(items._table))


class _SweepsWhenFreed:
    """What a traced function's closure may hold: an object whose finalizer sweeps (a reviewer's
    finding: with a non-reentrant lock, the sweeping thread then waited for itself)."""

    def __del__(self) -> None:
        items.sweep()


def test_a_sweep_that_frees_an_object_whose_finalizer_sweeps_again() -> None:
    key = ("test.sweep-reentrant", ("i", 0), None)
    items._table[key] = items.LeafItem("test.sweep-reentrant", ("i", 0), None, None)
    items._table[key].extra = {"held": _SweepsWhenFreed()}  # freed when the sweep drops the entry
    done = threading.Thread(target=items.sweep, daemon=True)
    done.start()
    done.join(timeout=20)
    assert not done.is_alive()  # (it hung for good before)
    assert key not in items._table


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_a_sweep_can_sweep() -> None:
    # The child inherits the lock held by a thread it does not have (a reviewer's finding: its
    # table was never swept again, and sweep() and mc._reset_state() hung).
    release, holder = _holding_the_sweep_lock()
    try:
        pid = os.fork()
        if pid == 0:  # the child: exits 0 only if it could sweep within the alarm
            signal.alarm(20)
            try:
                _fill(100)
                items.sweep()
                swept = not any(k[0] == "test.sweep" for k in list(items._table))
                os._exit(0 if swept else 1)
            finally:
                os._exit(2)
    finally:
        release.set()
        holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
