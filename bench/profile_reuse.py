"""One reuse pipeline at a time, in CPU time: where mlcontext's time goes against the ideal.

``python -m bench.profile_reuse NAME [NAME ...] [--rounds N] [--profile [N]]``

For each named pipeline of :mod:`bench.bench_reuse` (the five LIMA ones and those of
:mod:`bench.pipelines_more`; ``all`` runs every one) it measures plain, ideal and mlcontext in
interleaved rounds by the calling thread's CPU time (``time.thread_time``: on a shared machine the
wall clock counts other processes' time; run with ``OPENBLAS_NUM_THREADS=1`` so BLAS works in this
thread), prints the best of each and achieved/ideal = ideal / mlcontext, with mlcontext's reuse
counters of one run. ``--profile`` adds a cProfile of one mlcontext run (the N functions with most own
time, and the traced-call counts that explain them).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time

import numpy as np

import mlcontext as mc
from bench import bench_reuse as br
from bench import pipelines_more as pm


def _cases() -> dict[str, br.Case]:
    return {c.name: c for c in br.lima_cases() + br.more_cases()}


def measure(case: br.Case, rounds: int) -> dict[str, float]:
    """Best CPU seconds of plain, ideal and mlcontext over interleaved rounds; results checked."""
    variants = {"plain": case.plain, "ideal": case.ideal, "mlc": br._mlc(case.mlc)}
    best = dict.fromkeys(variants, float("inf"))
    results: dict[str, object] = {}
    for r in range(rounds):
        names = list(variants)
        for name in names[r % 3:] + names[:r % 3]:
            t, out = br._time(variants[name], time.thread_time)
            best[name] = min(best[name], t)
            results.setdefault(name, out)
    if not (pm.same(results["mlc"], results["plain"]) and pm.same(results["ideal"], results["plain"])):
        raise SystemExit(f"{case.name}: results differ from plain NumPy")
    return best


def counters(case: br.Case) -> dict[str, float]:
    mc.reuse_clear()
    before = mc.reuse_stats().as_dict()
    br._plain(case.mlc())
    after = mc.reuse_stats().as_dict()
    return {k: after[k] - before[k] for k in ("hits", "partial_hits", "misses", "deferred")}


def profile(case: br.Case, top: int) -> str:
    mc.reuse_clear()
    prof = cProfile.Profile(time.thread_time)
    prof.enable()
    br._plain(case.mlc())
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str]) -> None:
    """``python -m bench.profile_reuse [NAME ...|all] [--rounds N] [--profile [TOP]]``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_reuse",
        description="Reuse pipelines measured by this thread's CPU time (steady on a shared machine; run "
                    "with OPENBLAS_NUM_THREADS=1), with reuse counters and optionally a cProfile.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="pipelines to measure (default: all)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="interleaved rounds (default 3)")
    parser.add_argument("--profile", type=int, nargs="?", const=30, default=0, metavar="TOP",
                        help="print the TOP functions by own time (default 30)")
    args = parser.parse_args(argv)
    rounds, top, names = args.rounds, args.profile, args.names
    cases = _cases()
    if names == ["all"] or not names:
        names = list(cases)
    unknown = sorted(set(names) - set(cases))
    if unknown:
        raise SystemExit(f"unknown pipeline(s) {unknown}; available: {sorted(cases)}")
    print(f"numpy {np.__version__}; CPU time of this thread, best of {rounds} interleaved rounds")
    br._warm_up()
    for name in names:
        case = cases[name]
        best = measure(case, rounds)
        print(f"{name:<16} plain {best['plain']:7.3f}s | ideal {best['ideal']:7.3f}s | mlcontext "
              f"{best['mlc']:7.3f}s | achieved {best['ideal'] / best['mlc']:6.1%} | {counters(case)}",
              flush=True)
        if top:
            print(profile(case, top), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
