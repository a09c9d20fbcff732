"""The lineage layer's process state under threads: the dedup switch is per context, and the count of
open dedup scopes (read without a lock on the hot path) never loses an update (issue 12 point 5).

Peers with the same kind of fault, process state switched or updated by one thread for all:
dask/dask#10340 (``dask.config.set``/``annotate`` in one thread or asyncio task seen by the others),
mlflow/mlflow#9235 and mlflow/mlflow#159 (the fluent API's module-level active run shared by threads;
ContextVars proposed), dask/dask#2511 (a module-level cache cleared by two threads at once).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import numpy as np

import mlcontext as mc
from mlcontext.lineage import item as item_module
from mlcontext.lineage.dedup import close_scope, open_scope

LINEAGE_DIR = str(Path(item_module.__file__).parent)


def test_no_dedup_in_one_thread_leaves_other_threads_deduplicating() -> None:
    inside, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with mc.lineage.no_dedup():
            seen.append(mc.lineage.dedup_enabled())
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=other)
    worker.start()
    try:
        assert inside.wait(10)
        assert mc.lineage.dedup_enabled()
        x = mc.array(np.ones(2))
        for _ in mc.loop("here", range(3)):
            x = x + 1
        assert x.lineage.opcode == "lineage.output"  # this thread's loop was deduplicated
    finally:
        release.set()
        worker.join()
    assert seen == [False]
    assert mc.lineage.dedup_enabled()


def test_no_dedup_in_one_asyncio_task_leaves_the_other_tasks_deduplicating() -> None:
    """dask/dask#10340: a setting changed for a block inside one task leaked into concurrent tasks."""

    async def without() -> bool:
        with mc.lineage.no_dedup():
            await asyncio.sleep(0.01)
            return mc.lineage.dedup_enabled()

    async def with_dedup() -> bool:
        await asyncio.sleep(0.005)  # runs while the other task is inside its no_dedup block
        return mc.lineage.dedup_enabled()

    async def both() -> list[bool]:
        return list(await asyncio.gather(without(), with_dedup()))

    assert asyncio.run(both()) == [False, True]


def test_no_dedup_nests_and_restores() -> None:
    with mc.lineage.no_dedup():
        with mc.lineage.no_dedup():
            assert not mc.lineage.dedup_enabled()
        assert not mc.lineage.dedup_enabled()
    assert mc.lineage.dedup_enabled()


def test_set_dedup_is_the_process_default_and_no_dedup_still_wins() -> None:
    results: list[bool] = []
    mc.lineage.set_dedup(False)
    try:
        worker = threading.Thread(target=lambda: results.append(mc.lineage.dedup_enabled()))
        worker.start()
        worker.join()
        assert results == [False]  # the process-wide switch reaches every thread
    finally:
        mc.lineage.set_dedup(True)
    with mc.lineage.no_dedup():
        mc.lineage.set_dedup(True)
        assert not mc.lineage.dedup_enabled()


def test_scopes_opened_by_two_threads_at_once_are_all_counted() -> None:
    """Thread A opens a scope while thread B opens scopes between each of A's bytecodes (A runs under
    an opcode tracer that hands B a turn): every opening must be counted. Without a lock, A reads the
    count, B's openings happen, and A writes back its stale count plus one."""
    base = item_module.OPEN_SCOPES[0]
    turn, done, stop, b_stopped = (threading.Event() for _ in range(4))
    a_opened, close_now = threading.Event(), threading.Event()
    b_scopes: list = []

    def b() -> None:
        while not stop.is_set():
            if turn.wait(0.01):
                turn.clear()
                b_scopes.append(open_scope("b"))
                done.set()
        b_stopped.set()
        close_now.wait(10)
        for scope in reversed(b_scopes):
            close_scope(scope)  # (in the thread that opened them)

    def hand_b_a_turn(frame, event, arg):  # a sys.settrace function
        if not frame.f_code.co_filename.startswith(LINEAGE_DIR):
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            turn.set()
            done.wait(0.02)  # (times out while A holds a lock B waits for)
            done.clear()
        return hand_b_a_turn

    def a() -> None:
        sys.settrace(hand_b_a_turn)
        try:
            scope = open_scope("a")
        finally:
            sys.settrace(None)
        a_opened.set()
        close_now.wait(10)
        close_scope(scope)

    threads = [threading.Thread(target=b), threading.Thread(target=a)]
    for thread in threads:
        thread.start()
    try:
        assert a_opened.wait(30)
        stop.set()
        assert b_stopped.wait(10)
        counted = item_module.OPEN_SCOPES[0]
    finally:
        stop.set()
        close_now.set()
        for thread in threads:
            thread.join()
    assert b_scopes, "thread B never ran while A opened its scope"
    assert counted == base + 1 + len(b_scopes)
    assert item_module.OPEN_SCOPES[0] == base
