"""Batched, background writes of a run's params and metrics, with backpressure.

``mc.log`` must cost the training loop next to nothing (≤ 2 µs), so the calling thread only appends a
tuple to a deque; a daemon thread turns what has accumulated into transactions every ``interval``
seconds (100 ms by default) and refreshes the run's heartbeat. ``durability="sync"`` writes each
record before ``log`` returns instead.

The promise of the buffered mode is that ``kill -9`` loses at most 200 ms of values, at any logging
rate. Without a bound, a logging thread that outruns the writer grows the queue for ever (issue 13: 5 s
of logging flat out queued 1.89 M records, +1 GB, and ``kill -9`` lost 5.6 s of values). So the queue
is bounded by what the promise needs: the writer measures how long a row takes it (transaction included),
and ``mc.log`` waits for it whenever the oldest unwritten value, plus the time to write everything
queued, would reach :data:`LOSS_BUDGET_S`; and always at :data:`MAX_RECORDS` records or
:data:`MAX_BYTES` bytes (estimated; memory). Past half the budget the logger wakes the writer early.
Checking costs one ``len()`` per call: the clock of the oldest record is read only every
:data:`CHECK_EVERY` records beyond :data:`SOFT_RECORDS`. A backlog is committed in chunks of
:data:`CHUNK_S` seconds each, so the committed horizon moves forward while it is written.

``collections.deque`` is used because ``append`` and ``popleft`` are atomic under the GIL: a record
appended while a flush is draining is either in this batch or in the next, never lost.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ..store.metadata import MetadataStore, MetricRow, ParamRow

__all__ = ["RunWriter", "FLUSH_INTERVAL", "HEARTBEAT_INTERVAL", "FIRST_HEARTBEAT_S", "LOSS_BUDGET_S",
           "MAX_RECORDS", "MAX_BYTES", "RECORD_BYTES"]

FLUSH_INTERVAL = 0.1
#: Seconds between heartbeats of a live run. ``MLCONTEXT_HEARTBEAT_INTERVAL`` changes it (tests use a
#: short one); readers derive the smallest timeout they accept from it (tracking/run.py).
HEARTBEAT_INTERVAL = float(os.environ.get("MLCONTEXT_HEARTBEAT_INTERVAL", "") or 5.0)
#: The first heartbeat's delay (seconds); each next one waits twice as long, up to HEARTBEAT_INTERVAL.
#: A run killed with ``-9`` ends, for readers, at its last sign of life: with beats every 5 s from the
#: start, one killed after 1.8 s showed a duration of 0.000 s. Ramped (beats about 0.2, 0.6, 1.4, 3.0
#: and 6.2 s after the start, then every HEARTBEAT_INTERVAL: four more tiny transactions per run), the
#: shown duration of a run killed after its first 0.2 s is at least a third of the real one. A batch
#: the writer commits beats too (at most once per flush interval), in the same transaction.
FIRST_HEARTBEAT_S = 0.2
#: The age the oldest unwritten value may reach before it is committed (seconds); the rest of the
#: 200 ms promise is left to the scheduler.
LOSS_BUDGET_S = 0.12
#: Hard bounds of the queue, whatever the rate (memory).
MAX_RECORDS = 250_000
MAX_BYTES = 64 << 20
#: What one queued metric costs in memory, measured with tracemalloc (``bench_hotpath``: its tuple, float,
#: seq int and deque slot; the run id, name and loop context are shared). Params count their JSON on top.
RECORD_BYTES = 220
#: Below this many queued records the clock is not even looked at.
SOFT_RECORDS = 512
CHECK_EVERY = 256
#: A backlog is committed in transactions of about this many seconds (sized from the measured speed,
#: within MIN_CHUNK and MAX_CHUNK rows), so the committed horizon moves forward while it is written.
CHUNK_S = 0.03
MIN_CHUNK, MAX_CHUNK = 1_000, 50_000
#: Seconds per row assumed until the writer has measured itself (a slow disk: 50,000 rows/s).
INITIAL_ROW_S = 20e-6

_log = logging.getLogger(__name__)

# (run id, name, seq, value, time, loop context as JSON): the row itself, so that the writer has no
# per-row work to do in Python (it shares the GIL with the training loop), and all atomic values, so
# that the garbage collector untracks the tuple the first time it sees it.
PendingMetric = MetricRow


class RunWriter:
    """Writes one run's records to the metadata store, batched in the background unless ``sync``."""

    def __init__(self, metadata: MetadataStore, run_id: str, *, sync: bool = False,
                 interval: float = FLUSH_INTERVAL, heartbeat_interval: float = HEARTBEAT_INTERVAL,
                 clock: Callable[[], float] = time.time, loss_budget: float = LOSS_BUDGET_S,
                 max_records: int = MAX_RECORDS, max_bytes: int = MAX_BYTES) -> None:
        self.metadata = metadata
        self.run_id = run_id
        self.sync = sync
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self.clock = clock
        self.loss_budget = loss_budget
        self.max_records = max(1, min(max_records, max_bytes // RECORD_BYTES))
        self.max_bytes = max_bytes
        self.metrics: deque[PendingMetric] = deque()
        self.params: deque[ParamRow] = deque()
        self._param_bytes = 0
        self._check_at = min(SOFT_RECORDS, self.max_records)
        #: The oldest record taken out of the queue but not committed yet: its time, and how many.
        self._inflight_since: float | None = None
        self._inflight_n = 0
        #: Seconds the writer takes per row, transaction included (measured, smoothed).
        self.row_s = INITIAL_ROW_S
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._room = threading.Condition()
        self._last_heartbeat = clock()
        # (a fork child's writer has an infinite interval: it never beats, the early beats included)
        self._beat_every = heartbeat_interval if heartbeat_interval == float("inf") else \
            min(FIRST_HEARTBEAT_S, heartbeat_interval)
        self.error: BaseException | None = None
        #: How often, and for how long in all, a logging thread waited for the writer.
        self.waits = 0
        self.waited_s = 0.0
        #: CPU seconds spent writing (the writing thread's, measured around each flush).
        self.cpu_s = 0.0
        self._retry_seqs: set[int] = set()
        self.closing = False
        self._thread = threading.Thread(target=self._loop, name=f"mlcontext-writer-{run_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def add_metric(self, record: PendingMetric) -> None:
        metrics = self.metrics
        metrics.append(record)
        if self.sync:
            self.flush()
        elif len(metrics) >= self._check_at:
            self._pressure(record[4])

    def add_param(self, row: ParamRow) -> None:
        self.params.append(row)
        self._param_bytes += len(row[2]) + RECORD_BYTES
        if self.sync:
            self.flush()
        elif self._param_bytes > self.max_bytes // 2:
            self._pressure(self.clock())

    # -- backpressure ---------------------------------------------------------------------------

    def _due(self, now: float) -> float:
        """When, from now, the newest queued value would be committed, as the age of the oldest
        unwritten value then (seconds); infinite past the hard bounds."""
        metrics = self.metrics
        n = len(metrics)
        if n >= self.max_records or self._param_bytes > self.max_bytes // 2:
            return float("inf")
        oldest = self._inflight_since
        if n:
            try:
                head = metrics[0][4]
            except IndexError:  # drained meanwhile
                head = None
            if head is not None and (oldest is None or head < oldest):
                oldest = head
        if oldest is None:
            return 0.0
        return now - oldest + (n + self._inflight_n) * self.row_s

    def _pressure(self, now: float) -> None:
        due = self._due(now)
        if due <= self.loss_budget:
            if due > self.loss_budget / 2:
                self._wake.set()  # start writing now rather than at the next interval
            self._recheck_later()
            return
        if threading.current_thread() is self._thread or not self._thread.is_alive():
            return  # nobody else would drain it
        started = time.perf_counter()
        self.waits += 1
        with self._room:
            while (self._due(self.clock()) > self.loss_budget and self._thread.is_alive()
                   and not self._stop.is_set()):
                self._wake.set()
                self._room.wait(self.interval)
        self.waited_s += time.perf_counter() - started
        self._recheck_later()

    def _recheck_later(self) -> None:
        """Look at the clock again only after CHECK_EVERY more records."""
        self._check_at = min(len(self.metrics) + CHECK_EVERY, self.max_records)

    def _made_room(self) -> None:
        self._check_at = min(SOFT_RECORDS, self.max_records)
        with self._room:
            self._room.notify_all()

    # -- writing --------------------------------------------------------------------------------

    def flush(self, *, heartbeat: bool = False) -> None:
        """Write everything pending now (in the caller's thread), in chunks of about CHUNK_S."""
        with self._flush_lock:
            cpu = time.thread_time()
            try:
                self._flush(heartbeat)
            finally:
                self.cpu_s += time.thread_time() - cpu

    def _flush(self, heartbeat: bool) -> None:
        since = self.clock() - self._last_heartbeat
        # (a fork child's writer never beats: its parent's heartbeat says whether the run is alive)
        beat = heartbeat or since >= self._beat_every or (
            since >= self.interval and self.heartbeat_interval != float("inf") and
            bool(self.metrics or self.params))
        left = len(self.metrics)  # not more: a logger outrunning us must not keep us here
        while True:
            n = min(left, int(min(MAX_CHUNK, max(MIN_CHUNK, CHUNK_S / self.row_s))))
            left -= n
            started = time.perf_counter()
            self._write_chunk(n, beat and left == 0)
            if n >= 500:  # smaller ones measure the transaction, not the rows
                sample = (time.perf_counter() - started) / n
                self.row_s = 0.5 * self.row_s + 0.5 * sample
            if left <= 0:
                break

    def _write_chunk(self, n: int, beat: bool) -> None:
        params = _drain(self.params, len(self.params))
        pending = _drain(self.metrics, n)
        self._param_bytes = 0
        if pending:
            self._inflight_since, self._inflight_n = pending[0][4], len(pending)
        now = self.clock()
        if not (params or pending or beat):
            return
        try:
            # A batch that failed may have been committed after all (an interrupt such as
            # KeyboardInterrupt can land after COMMIT): its chunks are deleted first, in the same
            # transaction, so a retry never stores a metric twice. Each chunk of a failed batch
            # starts with one of its seqs; all of them are back in the queue, so deleting a whole
            # chunk loses nothing, even when this write retries only part of it. Params are upserts.
            retried = list(self._retry_seqs)
            with signals_held(), self.metadata.write() as conn:
                if retried:
                    self.metadata.delete_metric_chunks(conn, self.run_id, retried)
                self.metadata.write_batch(conn, params, pending)
                if beat:
                    self.metadata.heartbeat(conn, self.run_id, now)
        except BaseException:
            # Put the records back so a later flush (or close) can retry: nothing is dropped.
            self.params.extendleft(reversed(params))
            self._param_bytes += sum(len(p[2]) + RECORD_BYTES for p in params)
            self.metrics.extendleft(reversed(pending))
            self._retry_seqs.update(m[2] for m in pending)
            raise
        finally:
            self._inflight_since, self._inflight_n = None, 0
        if retried:
            self._retry_seqs.difference_update(m[2] for m in pending)
        if beat:
            self._last_heartbeat = now
            self._beat_every = min(2 * self._beat_every, self.heartbeat_interval)
        self._made_room()

    def close(self, timeout: float | None = None) -> None:
        """Stop the background thread and write what is left.

        With a ``timeout`` (seconds; a dying process), give up writing rather than wait longer for
        the background thread or for a flush in progress.
        """
        self.closing = True
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if timeout is None:
            self.flush()
        elif self._flush_lock.acquire(timeout=timeout):
            self._flush_lock.release()  # (a flush in another thread has finished: write the rest)
            self.flush()
        self._made_room()

    def abandon(self) -> None:
        """Forget this writer without writing (a forked child's copy of its parent's writer)."""
        self._stop.set()
        self.metrics.clear()
        self.params.clear()

    def _loop(self) -> None:
        signals_to_main_thread()
        # Drains start every ``interval`` (start to start, not end to start), so a record waits at
        # most one interval plus one chunk before it is committed: the ``kill -9`` loss window. A
        # logging thread over the bound wakes us at once.
        next_at = time.monotonic() + self.interval
        while True:
            self._wake.wait(max(0.0, next_at - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            next_at = time.monotonic() + self.interval
            try:
                self.flush()
                self.error = None
            except Exception as exc:  # noqa: BLE001 - keep trying; close() raises for the caller
                if self.error is None:
                    _log.warning("mlcontext: writing run %s failed, will retry: %s", self.run_id, exc)
                self.error = exc
                self._stop.wait(self.interval)  # not a busy loop when woken by a waiting logger


_HELD = (signal.SIGINT, signal.SIGTERM)


def signals_to_main_thread() -> None:
    """Block SIGINT and SIGTERM in the calling (non-main) thread, so the kernel delivers them to the
    main thread, where Python runs its handlers.

    A signal the kernel hands to another thread only sets a flag; a main thread blocked in C (a
    multiprocessing lock, as in a ``Pool`` worker waiting for a task) is then never interrupted and
    never runs the handler: a fork child SIGTERM'd by ``Pool.terminate`` hung for ever that way.
    """
    if hasattr(signal, "pthread_sigmask") and threading.current_thread() is not threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM in the main thread until the block ends, then act on them.

    An interrupt raised inside a database write can leave SQLAlchemy's pool or a SQLite write
    transaction half done; the run's end then waits on that lock for ever (``durability="sync"``
    writes from the main thread on every ``mc.log``). Held, the signal takes effect a moment later,
    between two writes. Other threads cannot receive signals and need nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        got.append(signum)

    previous: dict[int, Any] = {}
    try:
        for s in _HELD:
            # (a handler installed outside Python reads as None and could not be put back: left
            # alone). signal.signal may run a pending handler first: hence inside the try.
            if signal.getsignal(s) is not None:
                previous[s] = signal.signal(s, hold)
        yield
    finally:
        first = _restore(previous)
        # Deliver each held signal to the handler that was there (each one: a SIGTERM held with a
        # Ctrl-C must not be lost); the first exception a handler raises is raised after all ran.
        for signum in dict.fromkeys(got):
            try:
                signal.raise_signal(signum)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                first = first or exc
        if first is not None:
            raise first


def _restore(previous: dict[int, Any]) -> BaseException | None:
    """Put every handler back, even if one of these calls first runs a pending handler that raises;
    return the first such exception."""
    first: BaseException | None = None
    for s, handler in previous.items():
        while True:
            try:
                signal.signal(s, handler)
                break
            except BaseException as exc:  # noqa: BLE001 - the caller raises it once all are back
                first = first or exc
    return first


def _drain(queue: deque, n: int) -> list:
    return [queue.popleft() for _ in range(min(n, len(queue)))]
