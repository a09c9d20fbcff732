"""Batched, background writes of a run's params and metrics.

``mc.log`` must cost the training loop next to nothing (≤ 2 µs), so the calling thread only appends a
tuple to a deque; a daemon thread turns what has accumulated into one transaction every
``interval`` seconds (100 ms by default, so ``kill -9`` loses at most that much) and refreshes the run's
heartbeat. ``durability="sync"`` writes each record before ``log`` returns instead.

``collections.deque`` is used because ``append`` and ``popleft`` are atomic under the GIL: a record
appended while a flush is draining is either in this batch or in the next, never lost.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from ..loops import LoopFrame
from ..store.metadata import MetadataStore, MetricRow, ParamRow

__all__ = ["RunWriter", "FLUSH_INTERVAL", "HEARTBEAT_INTERVAL"]

FLUSH_INTERVAL = 0.1
HEARTBEAT_INTERVAL = 5.0

_log = logging.getLogger(__name__)

# (name, seq, value, time, loop frames)
PendingMetric = tuple[str, int, float, float, tuple[LoopFrame, ...]]


class RunWriter:
    """Writes one run's records to the metadata store, batched in the background unless ``sync``."""

    def __init__(self, metadata: MetadataStore, run_id: str, *, sync: bool = False,
                 interval: float = FLUSH_INTERVAL, heartbeat_interval: float = HEARTBEAT_INTERVAL,
                 clock: Callable[[], float] = time.time) -> None:
        self.metadata = metadata
        self.run_id = run_id
        self.sync = sync
        self.interval = interval
        self.heartbeat_interval = heartbeat_interval
        self.clock = clock
        self.metrics: deque[PendingMetric] = deque()
        self.params: deque[ParamRow] = deque()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._last_heartbeat = clock()
        self.error: BaseException | None = None
        self._retry_seqs: set[int] = set()
        self._thread = threading.Thread(target=self._loop, name=f"mlcontext-writer-{run_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def add_metric(self, record: PendingMetric) -> None:
        self.metrics.append(record)
        if self.sync:
            self.flush()

    def add_param(self, row: ParamRow) -> None:
        self.params.append(row)
        if self.sync:
            self.flush()

    def flush(self, *, heartbeat: bool = False) -> None:
        """Write everything pending now (in the caller's thread)."""
        with self._flush_lock:
            params, pending = _drain(self.params), _drain(self.metrics)
            now = self.clock()
            beat = heartbeat or now - self._last_heartbeat >= self.heartbeat_interval
            if not (params or pending or beat):
                return
            try:
                metrics = [self._row(m) for m in pending]
                # Seqs of a batch that failed may have been committed after all (an interrupt
                # such as KeyboardInterrupt can land after COMMIT): delete them first, in the same
                # transaction, so a retry never stores a metric twice. Params are upserts anyway.
                retried = [m[1] for m in pending if m[1] in self._retry_seqs]
                with signals_held(), self.metadata.write() as conn:
                    if retried:
                        self.metadata.delete_metric_seqs(conn, self.run_id, retried)
                    self.metadata.write_batch(conn, params, metrics)
                    if beat:
                        self.metadata.heartbeat(conn, self.run_id, now)
            except BaseException:
                # Put the records back so a later flush (or close) can retry: nothing is dropped.
                self.params.extendleft(reversed(params))
                self.metrics.extendleft(reversed(pending))
                self._retry_seqs.update(m[1] for m in pending)
                raise
            self._retry_seqs.difference_update(retried)
            if beat:
                self._last_heartbeat = now

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        self.flush()

    def _loop(self) -> None:
        # Drains start every ``interval`` (start to start, not end to start), so a record waits at
        # most one interval plus one flush before it is committed: the ``kill -9`` loss window.
        next_at = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at = time.monotonic() + self.interval
            try:
                self.flush()
                self.error = None
            except Exception as exc:  # noqa: BLE001 - keep trying; close() raises for the caller
                if self.error is None:
                    _log.warning("mlcontext: writing run %s failed, will retry: %s", self.run_id, exc)
                self.error = exc

    def _row(self, m: PendingMetric) -> MetricRow:
        name, seq, value, when, frames = m
        return (self.run_id, name, seq, value, when, _context_json(frames))


_HELD = (signal.SIGINT, signal.SIGTERM)


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


@functools.lru_cache(maxsize=1024)
def _json_key(name: str) -> str:
    return json.dumps(name)


def _context_json(frames: tuple[LoopFrame, ...]) -> str:
    """``{"epoch":3,"step":17}``, as ``json.dumps(..., separators=(",", ":"))`` writes it, 5x faster."""
    if not frames:
        return "{}"
    return "{" + ",".join(f"{_json_key(f.name)}:{int(f.index)}" for f in frames) + "}"


def _drain(queue: deque) -> list:
    return [queue.popleft() for _ in range(len(queue))]
