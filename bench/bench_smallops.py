"""Tracing overhead of small operations, in CPU time (issue 10: <= 5 us per operation).

Four kinds of tiny operations, each as a chain where every step makes a new lineage item (the case a
loop on small arrays hits: nothing is hash-consed), plus the same call repeated (hash-consing returns
the existing item): a binary operator (``v = v + 1.0``), a ufunc (``v = np.negative(v)``), an index
(``v = v[::-1]``) and a reduction with keywords (``v = v.sum(axis=0, keepdims=True)``), on 10
elements. Each is timed with ``time.thread_time`` (CPU time of this thread: steadier than wall time on
a shared machine) over ``N`` operations, best of ``ROUNDS``, plain NumPy and traced under reuse
``none`` and ``hybrid``; the overhead is traced minus plain, measured in the same run.

``python -m bench smallops`` (``BENCH_SMALLOPS_N`` sets N; ``BENCH_SMALLOPS_PROFILE=1`` prints a
cProfile of the binary chain under ``hybrid``).
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import time
from collections.abc import Callable

import numpy as np

import mlcontext as mc

N = int(os.environ.get("BENCH_SMALLOPS_N", "100000"))
ROUNDS = 3


def _binary(v: object, n: int) -> None:
    for _ in range(n):
        v = v + 1.0


def _ufunc(v: object, n: int) -> None:
    for _ in range(n):
        v = np.negative(v)


def _index(v: object, n: int) -> None:
    for _ in range(n):
        v = v[::-1]


def _reduction(v: object, n: int) -> None:
    for _ in range(n):
        v = v.sum(axis=0, keepdims=True)


def _repeat_binary(v: object, n: int) -> None:
    for _ in range(n):
        v + 1.0


def _repeat_index(v: object, n: int) -> None:
    for _ in range(n):
        v[2:5]


CHAINS: dict[str, Callable[[object, int], None]] = {
    "v + 1.0 (chain)": _binary, "np.negative(v) (chain)": _ufunc, "v[::-1] (chain)": _index,
    "v.sum(axis=0, keepdims=True) (chain)": _reduction, "v + 1.0 (same call)": _repeat_binary,
    "v[2:5] (same call)": _repeat_index,
}


def _cpu_per_op(fn: Callable[[object, int], None], make: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        v = make()
        gc.collect()
        t0 = time.thread_time()
        fn(v, n)
        best = min(best, time.thread_time() - t0)
    return best / n


def measure(n: int = N) -> dict[str, dict[str, float]]:
    """``{chain: {"plain": s, "none": s, "hybrid": s}}``: CPU seconds per operation."""
    out: dict[str, dict[str, float]] = {}
    for name, fn in CHAINS.items():
        row = {"plain": _cpu_per_op(fn, lambda: np.zeros(10), n)}
        for policy in ("none", "hybrid"):
            with mc.reuse(policy):
                mc.reuse_clear()
                row[policy] = _cpu_per_op(fn, lambda: mc.array(np.zeros(10)), n)
        out[name] = row
    return out


def profile(n: int = 50_000) -> None:
    with mc.reuse("hybrid"):
        v = mc.array(np.zeros(10))
        prof = cProfile.Profile()
        prof.enable()
        _binary(v, n)
        prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main() -> None:
    rows = measure()
    print(f"CPU time per operation (time.thread_time, best of {ROUNDS} x {N} ops, 10 elements); "
          "overhead = traced - plain; target <= 5 us")
    print(f"  {'operation':40s} {'plain us':>9s} {'none us':>9s} {'hybrid us':>10s} "
          f"{'overhead none':>14s} {'overhead hybrid':>16s}")
    for name, r in rows.items():
        print(f"  {name:40s} {r['plain'] * 1e6:9.2f} {r['none'] * 1e6:9.2f} {r['hybrid'] * 1e6:10.2f} "
              f"{(r['none'] - r['plain']) * 1e6:14.2f} {(r['hybrid'] - r['plain']) * 1e6:16.2f}")
    if os.environ.get("BENCH_SMALLOPS_PROFILE"):
        profile()


if __name__ == "__main__":
    main()
