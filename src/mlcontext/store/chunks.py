"""Metric values packed into chunks: one row per metric per write instead of one row per value.

A training loop logs a value every microsecond or two; a SQLite row with its index entries costs the
writer about 3 µs, so one row per value made the database the limit of ``mc.log`` (issue 15). The
writer therefore stores what accumulated of one metric of one run between two of its writes as one
*chunk*: the values' ``seq`` numbers, values and times as little-endian arrays (int64, float64,
float64) and their loop contexts as one JSON array. Readers expand chunks back into values with
:func:`unpack` and sort by ``seq``: chunks of one metric may overlap in ``seq`` (threads that log into
one run take their numbers before they queue their values), so no reader relies on chunk order.

The format is fixed (migration 0006 writes it too): change it only with a new migration.
NaN, ±inf are stored as such in the arrays (no NULL convention as in ``latest_metrics``).
"""

from __future__ import annotations

import itertools
import operator
import sys
from array import array
from collections.abc import Iterable, Sequence
from operator import countOf
from typing import NamedTuple

__all__ = ["Chunk", "pack", "pack_rows", "unpack", "CHUNK_COLUMNS"]

#: The columns of ``metric_chunks`` a chunk fills, in this order.
CHUNK_COLUMNS = ("run_id", "name", "seq", "n", "seqs", "vals", "times", "contexts")

_SWAP = sys.byteorder != "little"
_RUN_NAME = operator.itemgetter(0, 1)
_RUN, _NAME, _SEQ, _VALUE, _TIME, _CONTEXT = map(operator.itemgetter, range(6))


class Chunk(NamedTuple):
    """One row of ``metric_chunks``: ``seq`` is the smallest of ``seqs`` (order, retries)."""

    run_id: str
    name: str
    seq: int
    n: int
    seqs: bytes
    vals: bytes
    times: bytes
    contexts: str


def _bytes(values: array) -> bytes:
    if _SWAP:
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _unpacked(code: str, data: bytes | memoryview) -> list:
    values = array(code)
    values.frombytes(bytes(data))
    if _SWAP:
        values.byteswap()
    return values.tolist()


def pack(run_id: str, name: str, seqs: Iterable[int], values: Iterable[float],
         times: Iterable[float], contexts: Iterable[str]) -> Chunk:
    """One chunk of values of metric ``name`` of run ``run_id`` (``contexts``: JSON object texts)."""
    return _chunk(run_id, name, array("q", seqs), array("d", values), array("d", times), contexts)


def _chunk(run_id: str, name: str, seqs: array, values: array, times: array,
           contexts: Iterable[str]) -> Chunk:
    return Chunk(run_id, name, min(seqs), len(seqs), _bytes(seqs), _bytes(values), _bytes(times),
                 "[" + ",".join(contexts) + "]")


def pack_rows(rows: Sequence[tuple]) -> tuple[list[Chunk], list[tuple[str, str, int, float, float]]]:
    """Metric rows ``(run_id, name, seq, value, time, context_json)`` as chunks, one per (run, name)
    with its values in the order of ``rows``; and the latest value of each: ``(run_id, name, seq,
    value, time)`` of its highest ``seq``.

    Per-row work is done in C (``countOf``, ``map`` of item getters into arrays, ``str.join``): the
    writer shares the GIL with the training loop, so its microseconds per row are the loop's
    (``zip(*rows)`` alone cost 0.2 µs a row).
    """
    run_id, name = rows[0][0], rows[0][1]
    if countOf(map(_NAME, rows), name) == len(rows) and countOf(map(_RUN, rows), run_id) == len(rows):
        groups: Iterable[tuple[tuple[str, str], Sequence[tuple]]] = [((run_id, name), rows)]
    else:  # several metrics: grouped by a stable sort, so each keeps its order
        groups = ((key, list(group)) for key, group in itertools.groupby(sorted(rows, key=_RUN_NAME),
                                                                          _RUN_NAME))
    chunks, latest = [], []
    for (run_id, name), group in groups:
        seqs, values, times = (array(code, map(get, group))
                               for code, get in (("q", _SEQ), ("d", _VALUE), ("d", _TIME)))
        chunks.append(_chunk(run_id, name, seqs, values, times, map(_CONTEXT, group)))
        last = seqs.index(max(seqs))
        latest.append((run_id, name, seqs[last], values[last], times[last]))
    return chunks, latest


def unpack(seqs: bytes | memoryview, vals: bytes | memoryview,
           times: bytes | memoryview) -> tuple[list[int], list[float], list[float]]:
    """The ``seq`` numbers, values and times of a chunk, as Python lists."""
    return _unpacked("q", seqs), _unpacked("d", vals), _unpacked("d", times)
