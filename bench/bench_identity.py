"""Function identity (issue 10): the cost of :func:`mlcontext.fingerprint.hash_function` per call for a
function that reads 10 globals (target ≤ 20 µs), and of a ``@mc.step`` call that is reused, against a
plain Python call in the same run.

Three kinds of globals: immutable values (numbers, strings, installed modules, the user's helpers:
a call checks they are the same objects), small mutable ones (a dict, a list: hashed again at every
call, since they may have changed in place), and a 1000-element array (hashed at every call).
"""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable

import numpy as np

import mlcontext as mc
from mlcontext.fingerprint import hash_function

A1 = A2 = A3 = A4 = A5 = 1.0
K, NAME, SHIFT, T = 3, "abc", -2, (1, 2.0)
CFG = {"a": 1, "b": [1, 2]}
STEPS = [0.1, 0.2, 0.3]
WEIGHTS = np.linspace(0.0, 1.0, 1000)


def helper(x):
    return x * A1 + SHIFT


def ten_immutable(x):
    return helper(x) * A2 + A3 + A4 + A5 + K + len(NAME) + T[0] + np.sqrt(x) + abs(x)


def ten_mixed(x):
    return helper(x) + K + len(NAME) + CFG["a"] + STEPS[0] + T[0] + A1 + A2 + A3 + np.sqrt(x)


def ten_with_array(x):
    return helper(x) + K + len(NAME) + WEIGHTS[0] + T[0] + A1 + A2 + A3 + A4 + np.sqrt(x)


def _per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def main() -> None:
    print("\nfunction identity per call (best of 7); target <= 20 us for 10 globals")
    baseline = _per_call_us(lambda: ten_immutable(1.0), 20_000)
    print(f"  {'plain call of the function (baseline)':52s} {baseline:8.2f} us")
    for fn in (ten_immutable, ten_mixed, ten_with_array):
        hash_function(fn)  # the code analysis is cached once per code object
        us = _per_call_us(lambda fn=fn: hash_function(fn), 5_000)
        print(f"  {'hash_function(' + fn.__name__ + ')':52s} {us:8.2f} us  ({us / baseline:.1f}x the call)")

    step = mc.step(ten_immutable)
    x = mc.array(np.arange(10.0))
    with mc.reuse("hybrid", min_compute_s=0.0):
        step(x)
        reused = _per_call_us(lambda: step(x), 2_000)
        hits = mc.reuse_stats().step_hits
    print(f"  {'@mc.step call served from the cache':52s} {reused:8.2f} us  ({hits} hits)")
    figures = [_per_call_us(lambda: hash_function(ten_immutable), 5_000) for _ in range(3)]
    print(f"  median of 3 more runs, hash_function(ten_immutable): {statistics.median(figures):.2f} us")


if __name__ == "__main__":
    main()
