"""The hash-consing table's sweep run by two threads at once (a fresh reviewer's finding): both
crossed the sweep threshold together, one deleted keys of the other's snapshot, and a KeyError
escaped from whatever traced operation had triggered the sweep."""

from __future__ import annotations

import sys
import threading

from mlcontext.lineage import item as items


def _fill(n: int) -> None:
    leaf = items.leaf("test.sweep-leaf", ("i", 0))
    for k in range(n):
        items.make("test.sweep", (leaf,), ("i", k))  # dropped at once: the sweep's to remove


def test_two_threads_sweeping_at_once_raise_nothing() -> None:
    errors: list[BaseException] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(5):
            _fill(30_000)
            barrier = threading.Barrier(3)

            def sweep(barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                try:
                    items.sweep()
                except BaseException as exc:  # noqa: BLE001 - what the test looks for
                    errors.append(exc)

            threads = [threading.Thread(target=sweep) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert not any(k[0] == "test.sweep" for k in list(items._table))  # all swept


def test_a_sweep_waits_for_the_running_one_and_then_sweeps_all() -> None:
    # Deterministic form of the race above: while one sweep runs, an explicit sweep waits for it
    # and then sweeps everything, and the automatic sweep leaves the work to the running one.
    _fill(1_000)
    items._sweeping.acquire()  # another thread's sweep, as far as the table knows
    try:
        items._sweep()  # automatic: returns at once, sweeps nothing
        assert any(k[0] == "test.sweep" for k in list(items._table))
        waiter = threading.Thread(target=items.sweep)
        waiter.start()
        waiter.join(timeout=0.2)
        assert waiter.is_alive()  # waits for the running sweep
    finally:
        items._sweeping.release()
    waiter.join()
    assert not any(k[0] == "test.sweep" for k in list(items._table))
