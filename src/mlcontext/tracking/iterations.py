"""In which iteration of which ``mc.loop`` a run read each input (or made each output), so that what
one iteration makes is not linked to what another iteration of the same loop read or made.

A run edge (``derivation._add_run_edges``) says "the run read this before it made that". In a daily
batch loop (``for day in mc.loop("day", ...)``: read day's batch, score it, register the scores) the
scores of day 2 were linked to the batches of days 0 and 1 as well: they were read before, in other
iterations of the loop that is still running. An input read inside an iteration of a loop that also
encloses the output, but in another iteration of it, is no source of the output: each iteration
starts over. An input read outside the loop, or in an earlier loop that has ended, still is.

Positions are process-local (a run is one process): each loop instance and each iteration gets a
serial number from a counter, so two loops of the same name, one after the other, are told apart.
"""

from __future__ import annotations

import itertools
import threading

from .. import loops as _loops

__all__ = ["Position", "position", "note_read", "note_made", "made", "other_iteration", "forget"]

#: One ``(loop serial, iteration serial)`` per enclosing loop, outermost first; the iteration serial is
#: ``None`` between two iterations (the loop's own code around them).
Position = tuple[tuple[int, int | None], ...]

_serials = itertools.count(1)  # loop instances and iterations, one counter (next() is atomic in CPython)
_local = threading.local()  # the calling thread's stack of [loop serial, iteration serial]
_lock = threading.Lock()
_reads: dict[str, dict[str, list[Position]]] = {}  # run id -> artifact hash -> where it was read or made
_made: dict[str, dict[str, None]] = {}  # run id -> the outputs it made, in order


class _Iterations:
    """The loop listener that keeps each thread's position."""

    def loop_started(self, name: str) -> None:
        _stack().append([next(_serials), None])

    def iteration_started(self, name: str, index: int) -> None:
        stack = _stack()
        if stack:
            stack[-1][1] = next(_serials)

    def iteration_ended(self, name: str, index: int) -> None:
        stack = _stack()
        if stack:
            stack[-1][1] = None

    def loop_ended(self, name: str) -> None:
        stack = _stack()
        if stack:
            stack.pop()


def _stack() -> list[list]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


_loops.add_listener(_Iterations())


def position() -> Position:
    """Where the calling thread is in its loops now."""
    return tuple((loop, it) for loop, it in _stack())


def note_read(run_id: str, artifact_hash: str) -> None:
    """Remember that run ``run_id`` read ``artifact_hash`` here."""
    where = position()
    with _lock:
        _reads.setdefault(run_id, {}).setdefault(artifact_hash, []).append(where)


def note_made(run_id: str, artifact_hash: str) -> None:
    """Remember that run ``run_id`` made the output ``artifact_hash`` here: what it makes afterwards
    may come from it (a day's batch registered, then scored), as from what it read."""
    note_read(run_id, artifact_hash)
    with _lock:
        _made.setdefault(run_id, {})[artifact_hash] = None


def made(run_id: str) -> list[str]:
    """The outputs run ``run_id`` made so far (in this process), in order."""
    with _lock:
        return list(_made.get(run_id, ()))


def other_iteration(run_id: str, artifact_hash: str, now: Position | None = None) -> bool:
    """Whether every read of ``artifact_hash`` by run ``run_id`` was in another iteration of a loop
    that encloses the caller (``now``: the caller's position); False for an input never noted here."""
    now = position() if now is None else now
    with _lock:
        reads = list(_reads.get(run_id, {}).get(artifact_hash, ()))
    return bool(reads) and all(_diverged(read, now) for read in reads)


def _diverged(read: Position, now: Position) -> bool:
    for (loop_a, it_a), (loop_b, it_b) in zip(read, now, strict=False):
        if loop_a != loop_b:
            return False  # a loop that has ended (or another one): what it read may feed the output
        if it_a != it_b:
            return it_a is not None  # another iteration of a loop around both (not the loop's own code)
    return False


def forget(run_id: str) -> None:
    """Drop what run ``run_id`` read (it ended)."""
    with _lock:
        _reads.pop(run_id, None)
        _made.pop(run_id, None)
