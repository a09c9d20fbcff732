"""Process state (issue 12 point 5): ``mc.runs()`` over 10,000 runs × 20 params × 10 metrics with the
garbage collector left on, as it now is, against the same call with the collector switched off around
it, as ``mc.runs()`` used to do for the whole process (the baseline, interleaved in the same run). CPU
time of the calling thread (``time.thread_time``) and the collections of each generation one call
makes. ``BENCH_STATE_ROUNDS`` sets the number of pairs (default 7).
"""

from __future__ import annotations

import gc
import os
import statistics
import time

import mlcontext as mc
from mlcontext.store import Store

from .bench_tracking import runs_store


def _cpu(store: Store, collector_off: bool) -> float:
    was = gc.isenabled()
    if collector_off:
        gc.disable()
    try:
        start = time.thread_time()
        mc.runs(store=store)
        return time.thread_time() - start
    finally:
        if was:
            gc.enable()


def _collections(store: Store) -> list[int]:
    counts = [0, 0, 0]

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            counts[info["generation"]] += 1

    gc.callbacks.append(count)
    try:
        mc.runs(store=store)
    finally:
        gc.callbacks.remove(count)
    return counts


def main() -> None:
    rounds = int(os.environ.get("BENCH_STATE_ROUNDS", "7"))
    store = Store.open(home=runs_store())
    try:
        frame = mc.runs(store=store)  # warm-up
        on, off = [], []
        for _ in range(rounds):
            on.append(_cpu(store, collector_off=False))
            off.append(_cpu(store, collector_off=True))
        counts = _collections(store)
    finally:
        store.close()
    med_on, med_off = statistics.median(on), statistics.median(off)
    print(f"mc.runs() over {frame.shape[0]:,} runs ({frame.shape[1]} columns), CPU time of the calling "
          f"thread, median of {rounds} interleaved pairs")
    print(f"  collector on (as now)           {med_on * 1e3:7.0f} ms")
    print(f"  collector off around the call   {med_off * 1e3:7.0f} ms   (on / off = {med_on / med_off:.2f})")
    print(f"  collections per call (gen 0, 1, 2): {counts}")
