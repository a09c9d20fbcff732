"""The tracking hot path (issue 15) and the writer's backpressure (issue 13, item 6).

``mc.loop`` keeps its context right at any depth, for generators, after ``break`` and after an
exception in the body; what ``mc.log`` queues is left alone by the garbage collector; the writer's queue
is bounded, the logging thread waits when it is full, and nothing is lost or reordered by the waiting.
Timings live in ``bench/bench_hotpath.py``; these tests check the mechanisms.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import mlcontext as mc
from mlcontext import loops
from mlcontext.tracking.writer import RunWriter


def _context() -> list[tuple[str, int]]:
    return [(f.name, f.index) for f in mc.current_loops()]


# -- mc.loop: the loop context at any depth and however a body ends ------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_nested_loops_of_any_depth_carry_every_index(depth: int) -> None:
    seen: list[list[tuple[str, int]]] = []

    def nest(level: int) -> None:
        if level == depth:
            seen.append(_context())
            assert json.loads(loops.context_json()) == dict(_context())
            return
        for _ in mc.loop(f"l{level}", range(2)):
            nest(level + 1)
        assert len(_context()) == level  # back to the enclosing context after each inner loop

    nest(0)
    assert len(seen) == 2 ** depth
    assert seen[-1] == [(f"l{k}", 1) for k in range(depth)]
    assert _context() == [] and loops.context_json() == "{}"


def test_break_restores_the_enclosing_context() -> None:
    for _ in mc.loop("epoch", range(3)):
        for step in mc.loop("step", range(10)):
            if step == 4:
                break
        assert _context() == [("epoch", _context()[0][1])]
    assert _context() == []


def test_an_exception_in_the_body_restores_the_context() -> None:
    with pytest.raises(ZeroDivisionError):
        for _ in mc.loop("epoch", range(3)):
            for step in mc.loop("step", range(3)):
                if step == 1:
                    1 / 0  # noqa: B018 - the error is the point
    assert _context() == []
    # ... also when the exception is caught between the two loops
    for epoch in mc.loop("epoch", range(2)):
        try:
            for _ in mc.loop("step", range(3)):
                raise KeyError("inner")
        except KeyError:
            pass
        assert _context() == [("epoch", epoch)]
    assert _context() == []


def test_generators_inside_and_as_the_iterable() -> None:
    def batches() -> Iterator[int]:  # a user generator that itself looks at the loop context
        for k in range(3):
            yield k * 10 + len(_context())

    got = [(b, _context()) for b in mc.loop("batch", batches())]
    # the generator's own body runs in the caller's context, before this iteration's frame is set
    assert [b for b, _ in got] == [0, 11, 21]
    assert [c for _, c in got] == [[("batch", 0)], [("batch", 1)], [("batch", 2)]]

    def wrapped() -> Iterator[list[tuple[str, int]]]:  # mc.loop inside a user generator
        for _ in mc.loop("inner", range(2)):
            yield _context()

    assert list(wrapped()) == [[("inner", 0)], [("inner", 1)]]
    assert _context() == []


def test_an_abandoned_loop_iterator_restores_the_context_when_closed() -> None:
    it = iter(mc.loop("epoch", range(5)))
    next(it)
    assert _context() == [("epoch", 0)]
    it.close()
    assert _context() == []


def test_loops_in_threads_are_independent() -> None:
    seen: dict[str, list] = {}

    def work(name: str) -> None:
        seen[name] = [_context() for _ in mc.loop(name, range(3))]

    threads = [threading.Thread(target=work, args=(f"t{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {f"t{k}": [[(f"t{k}", i)] for i in range(3)] for k in range(4)}


def test_a_listener_added_inside_a_loop_sees_the_iterations_that_start_later() -> None:
    events: list[tuple[str, str, int]] = []

    class Recorder:
        def loop_started(self, name: str) -> None:
            events.append(("loop", name, -1))

        def iteration_started(self, name: str, index: int) -> None:
            events.append(("start", name, index))

        def iteration_ended(self, name: str, index: int) -> None:
            events.append(("end", name, index))

        def loop_ended(self, name: str) -> None:
            events.append(("done", name, -1))

    recorder = Recorder()
    try:
        for epoch in mc.loop("epoch", range(2)):
            if epoch == 0:
                loops.add_listener(recorder)
            for _ in mc.loop("step", range(1)):
                pass
    finally:
        loops.remove_listener(recorder)
    assert events == [("loop", "step", -1), ("start", "step", 0), ("end", "step", 0), ("done", "step", -1),
                      ("start", "epoch", 1), ("loop", "step", -1), ("start", "step", 0),
                      ("end", "step", 0), ("done", "step", -1), ("end", "epoch", 1), ("done", "epoch", -1)]


def test_traced_code_in_a_loop_is_still_deduplicated() -> None:
    """The lineage listener still gets every iteration (one patch per distinct body)."""
    x = mc.array([1.0, 2.0, 3.0])
    for _ in mc.loop("epoch", range(5)):
        x = x * 2.0 + 1.0
    ops = [item.opcode for item in mc.lineage.walk(x._item)]
    assert "lineage.dedup" in ops and ops.count("multiply") == 0


# -- what mc.log queues is not the collector's business ------------------------------------------


def test_queued_metrics_are_untracked_by_the_garbage_collector(sqlite_store) -> None:
    """A queued record holds only atomic values (the loop context is a string), so the first young
    collection untracks it; records holding a tuple of tuples stayed tracked, reached the oldest
    generation by the hundred thousand, and set off full collections in the training loop."""
    run = mc.run("gc", project="hot")
    run._writer._stop.set()  # keep the records queued while we look at them
    run._writer._wake.set()
    run._writer._thread.join()
    for _ in mc.loop("epoch", range(3)):
        for _ in mc.loop("step", range(50)):
            mc.log("loss", 0.5)
    gc.collect(0)
    queued = list(run._writer.metrics)
    assert len(queued) == 150 and not any(gc.is_tracked(r) for r in queued)
    assert queued[-1][5] == '{"epoch":2,"step":49}'
    run.end()
    points = sqlite_store.metadata.metric_points(run.id, "loss")
    assert [dict(p.context) for p in points[-2:]] == [{"epoch": 2, "step": 48}, {"epoch": 2, "step": 49}]


# -- backpressure ---------------------------------------------------------------------------------


@contextmanager
def _slow_writes(store, delay: float) -> Iterator[list[int]]:
    """Every write transaction of ``store`` takes ``delay`` seconds longer (a slow disk or server);
    yields the sizes of the batches written."""
    real = store.metadata.write_batch
    sizes: list[int] = []

    def slow(conn, params, metrics):
        time.sleep(delay)
        sizes.append(len(metrics))
        return real(conn, params, metrics)

    store.metadata.write_batch = slow
    try:
        yield sizes
    finally:
        del store.metadata.write_batch


def test_a_full_queue_makes_log_wait_and_loses_nothing(sqlite_store) -> None:
    run = mc.run("pressure", project="hot")
    run._writer.close()  # replace the writer by one with a small bound
    run._writer = RunWriter(sqlite_store.metadata, run.id, max_records=5000, loss_budget=10.0)
    with _slow_writes(sqlite_store, 0.05):
        peak = 0
        for i in range(30_000):
            mc.log("i", i)
            peak = max(peak, len(run._writer.metrics))
    writer = run._writer
    run.end()
    assert writer.waits > 0 and peak <= 5000 + 1
    stored = [int(p.value) for p in sqlite_store.metadata.metric_points(run.id, "i")]
    assert stored == list(range(30_000))


def test_the_queue_waits_when_its_values_would_be_written_too_late(sqlite_store) -> None:
    """The time bound: the oldest unwritten value's age plus the time to write the queue stays
    within ``loss_budget``."""
    run = mc.run("lag", project="hot")
    run._writer.close()
    run._writer = RunWriter(sqlite_store.metadata, run.id, loss_budget=0.05)
    writer = run._writer
    with _slow_writes(sqlite_store, 0.02):
        deadline = time.perf_counter() + 1.0
        n = 0
        while time.perf_counter() < deadline:
            mc.log("i", n)
            n += 1
            if n % 4096 == 0:  # the age of the oldest unwritten record, as the logger sees it
                oldest = writer.metrics[0][4] if writer.metrics else time.time()
                assert time.time() - oldest < 0.05 + 0.5  # bound + generous slack for a busy machine
    run.end()
    assert writer.waits > 0
    stored = [int(p.value) for p in sqlite_store.metadata.metric_points(run.id, "i")]
    assert stored == list(range(n))


def test_big_params_count_against_the_byte_bound(sqlite_store) -> None:
    run = mc.run("bytes", project="hot")
    run._writer.close()
    run._writer = RunWriter(sqlite_store.metadata, run.id, max_bytes=200_000)
    with _slow_writes(sqlite_store, 0.02):
        for k in range(40):
            mc.param(f"p{k}", "x" * 20_000)
            assert run._writer._param_bytes <= 200_000
    writer = run._writer
    run.end()
    assert writer.waits > 0
    assert sqlite_store.metadata.get_run(run.id).params == {f"p{k}": "x" * 20_000 for k in range(40)}


def test_a_failing_store_does_not_drop_queued_values(sqlite_store) -> None:
    """While the store fails, records stay queued (the logger waits at the bound rather than drop)
    and are written once it works again."""
    run = mc.run("flaky", project="hot")
    run._writer.close()
    run._writer = RunWriter(sqlite_store.metadata, run.id, max_records=2000, loss_budget=10.0,
                            interval=0.01)
    real = sqlite_store.metadata.write_batch
    failures = [0]
    healthy_at = time.monotonic() + 0.3

    def flaky(conn, params, metrics):
        if time.monotonic() < healthy_at:
            failures[0] += 1
            raise OSError("disk full")
        return real(conn, params, metrics)

    sqlite_store.metadata.write_batch = flaky
    try:
        for i in range(6000):
            mc.log("i", i)
    finally:
        del sqlite_store.metadata.write_batch
    writer = run._writer
    run.end()
    stored = [int(p.value) for p in sqlite_store.metadata.metric_points(run.id, "i")]
    assert failures[0] > 0 and writer.waits > 0 and stored == list(range(6000))
