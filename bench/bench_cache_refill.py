"""What a traced call costs inside a pipeline, where large arrays stream through the caches between calls.

``OPENBLAS_NUM_THREADS=1 python -m bench cache_refill``

Two tables, in the calling thread's CPU time:

1. A traced slice and, as a baseline of plain Python, a list literal, each timed right after one of
   several workloads: nothing, a 7.7 MB matrix-vector product, a 7.7 MB copy (memory traffic without
   arithmetic), small in-L1 matrix products (AVX arithmetic without memory traffic), a Python loop.
   The ratio to "nothing" says whether calls slow down by cache refills or by the arithmetic.
2. Every statement of HCV's ``cv_lm`` (``bench.bench_reuse``) from the second λ on, per fold, plain
   NumPy against mlcontext's hybrid reuse: which statements carry mlcontext's overhead in place.
3. HCV against its hand-deduplicated ideal in parts: identifying the inputs (``mc.asarray``), the
   first λ, and each later λ: where the pipeline's time over the ideal lies.
4. The same statements timed warm (each repeated in a tight loop, nothing streaming between calls),
   against their cost inside the pipeline (table 2): how much of the overhead is the interpreter's
   own work and how much is refilling the caches after each large array.
5. Identifying HCV's 38 MB input (``hash_array``, what ``mc.asarray`` does) against reading it once
   with NumPy (``X.sum()``): whether the hash can get cheaper than the memory it reads.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import numpy as np

import mlcontext as mc
from bench import bench_reuse as br

CLOCK = time.thread_time


def _after(before: Callable[[], object], call: Callable[[], object], n: int = 300, rounds: int = 5) -> float:
    """Best mean CPU µs of ``call`` timed alone, each time right after ``before``."""
    best = float("inf")
    for _ in range(rounds):
        total = 0.0
        for _ in range(n):
            before()
            t0 = CLOCK()
            call()
            total += CLOCK() - t0
        best = min(best, total / n)
    return best * 1e6


def refill_table() -> str:
    rng = np.random.default_rng(0)
    X = mc.asarray(rng.normal(size=(40_000, 120)))
    big, w = rng.normal(size=(8000, 120)), rng.normal(size=120)
    flat, buffer = big.reshape(-1), np.empty(8000 * 120)
    small = rng.normal(size=(64, 64))
    workloads: dict[str, Callable[[], object]] = {
        "nothing": lambda: None,
        "a 7.7 MB matrix-vector product": lambda: big @ w,
        "a 7.7 MB np.copyto (memory traffic, no arithmetic)": lambda: np.copyto(buffer, flat),
        "20 products of 64 x 64 matrices (arithmetic in L1)": lambda: [small @ small for _ in range(20)],
        "a Python loop": lambda: sum(range(20_000)),
    }
    lines = ["| run before each call | traced slice µs | x nothing | list literal µs | x nothing |",
             "|---|---|---|---|---|"]
    base: tuple[float, float] | None = None
    with mc.reuse("hybrid"):
        for name, before in workloads.items():
            sliced = _after(before, lambda: X[8000:16000])
            literal = _after(before, lambda: [1, 2, 3, 4])
            base = base or (sliced, literal)
            lines.append(f"| {name} | {sliced:.1f} | {sliced / base[0]:.1f} | {literal:.2f} | "
                         f"{literal / base[1]:.1f} |")
    return "\n".join(lines)


_STATEMENTS = ("vstack", "concatenate", "Xtr.T @ Xtr", "lam * eye", "G + lam * eye", "Xtr.T @ ytr",
               "solve", "xs[i] @ w", "ys[i] - p", "float(r @ r)")


def _cv_timed(X, y, lam, acc: dict[str, float] | None, k: int = br.K_FOLDS) -> float:
    """``bench_reuse.cv_lm`` with each statement timed into ``acc`` (None: not timed)."""
    f = X.shape[0] // k
    xs = [X[i * f:(i + 1) * f] for i in range(k)]
    ys = [y[i * f:(i + 1) * f] for i in range(k)]
    err = 0.0
    for i in range(k):
        t = [CLOCK()]
        Xtr = np.vstack([xs[j] for j in range(k) if j != i])
        t.append(CLOCK())
        ytr = np.concatenate([ys[j] for j in range(k) if j != i])
        t.append(CLOCK())
        G = Xtr.T @ Xtr
        t.append(CLOCK())
        R = lam * np.eye(X.shape[1])
        t.append(CLOCK())
        A = G + R
        t.append(CLOCK())
        b = Xtr.T @ ytr
        t.append(CLOCK())
        w = np.linalg.solve(A, b)
        t.append(CLOCK())
        p = xs[i] @ w
        t.append(CLOCK())
        r = ys[i] - p
        t.append(CLOCK())
        err += float(r @ r)
        t.append(CLOCK())
        if acc is not None:
            for name, start, stop in zip(_STATEMENTS, t[:-1], t[1:], strict=True):
                acc[name] += stop - start
    return err / k


def statements_table(rounds: int = 9) -> str:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40_000, 120)), rng.normal(size=40_000)
    per_fold = (len(br.CV_LAMS) - 1) * br.K_FOLDS
    best: dict[str, dict[str, float]] = {}
    for side in ("plain", "mlcontext"):
        for _ in range(rounds):
            mc.reuse_clear()
            acc: dict[str, float] = collections.defaultdict(float)
            Xs, ys = (X, y) if side == "plain" else (mc.asarray(X), mc.asarray(y))
            for n, lam in enumerate(br.CV_LAMS):
                _cv_timed(Xs, ys, lam, acc if n else None)
            found = best.setdefault(side, dict(acc))
            for name in acc:
                found[name] = min(found[name], acc[name])
    mc.reuse_clear()
    lines = ["| statement | plain NumPy µs | mlcontext µs |", "|---|---|---|"]
    for name in _STATEMENTS:
        lines.append(f"| `{name}` | {best['plain'][name] / per_fold * 1e6:,.0f} | "
                     f"{best['mlcontext'][name] / per_fold * 1e6:,.0f} |")
    return "\n".join(lines)


def _ideal_split(X, y) -> list[float]:
    """``bench_reuse.hcv_unique`` timed in parts: the folds' products and sums, then each λ."""
    k, f, d = br.K_FOLDS, X.shape[0] // br.K_FOLDS, X.shape[1]
    t0 = CLOCK()
    xs = [X[i * f:(i + 1) * f] for i in range(k)]
    ys = [y[i * f:(i + 1) * f] for i in range(k)]
    grams, rhs = [x.T @ x for x in xs], [x.T @ t for x, t in zip(xs, ys, strict=True)]
    G, b = sum(grams), sum(rhs)
    times = [CLOCK() - t0]
    for lam in br.CV_LAMS:
        t0 = CLOCK()
        err = 0.0
        for i in range(k):
            w = np.linalg.solve(G - grams[i] + lam * np.eye(d), b - rhs[i])
            r = ys[i] - xs[i] @ w
            err += float(r @ r)
        times.append(CLOCK() - t0)
    return times


def _mlc_split(X, y) -> list[float]:
    """``bench_reuse.hcv`` on traced data timed in parts: ``mc.asarray`` of both inputs, then each λ."""
    t0 = CLOCK()
    Xa, ya = mc.asarray(X), mc.asarray(y)
    times = [CLOCK() - t0]
    for lam in br.CV_LAMS:
        t0 = CLOCK()
        br.cv_lm(Xa, ya, lam)
        times.append(CLOCK() - t0)
    return times


def split_table(rounds: int = 15) -> str:
    """Where HCV's time over the ideal lies: identifying the inputs, the first λ (which computes the
    folds' products), and each later λ (everything reused but the solve and the residuals)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40_000, 120)), rng.normal(size=40_000)
    best_m: list[float] = []
    best_i: list[float] = []
    for _ in range(rounds):
        mc.reuse_clear()
        m, i = _mlc_split(X, y), _ideal_split(X, y)
        best_m = m if not best_m else [min(a, b) for a, b in zip(best_m, m, strict=True)]
        best_i = i if not best_i else [min(a, b) for a, b in zip(best_i, i, strict=True)]
    mc.reuse_clear()
    later = len(br.CV_LAMS) - 1
    m_later, i_later = sum(best_m[2:]) / later, sum(best_i[2:]) / later
    rows = [("`mc.asarray(X), mc.asarray(y)`", best_m[0], 0.0),
            ("first λ (the ideal: the folds' products and sums, then its first λ)", best_m[1],
             best_i[0] + best_i[1]),
            (f"each later λ (mean of {later})", m_later, i_later),
            ("whole pipeline", sum(best_m), sum(best_i))]
    lines = ["| part | mlcontext ms | ideal ms | mlcontext - ideal ms |", "|---|---|---|---|"]
    for name, mlc, ideal in rows:
        lines.append(f"| {name} | {mlc * 1e3:.2f} | {ideal * 1e3:.2f} | {(mlc - ideal) * 1e3:+.2f} |")
    return "\n".join(lines)


def _per_call(fn: Callable[[], object], n: int = 500, rounds: int = 5) -> float:
    """Best mean CPU µs of ``fn`` over ``rounds`` loops of ``n`` back-to-back calls (warm caches)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = CLOCK()
        for _ in range(n):
            fn()
        best = min(best, (CLOCK() - t0) / n)
    return best * 1e6


def warm_table() -> str:
    """HCV's overhead statements warm, per fold (a later λ's values: everything reused but new λ)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40_000, 120)), rng.normal(size=40_000)
    k, f, i = br.K_FOLDS, X.shape[0] // br.K_FOLDS, 2
    with mc.reuse("hybrid"):
        mc.reuse_clear()
        Xa, ya = mc.asarray(X), mc.asarray(y)
        br.cv_lm(Xa, ya, 0.5)
        xs = [Xa[j * f:(j + 1) * f] for j in range(k)]
        ys = [ya[j * f:(j + 1) * f] for j in range(k)]
        Xtr = np.vstack([xs[j] for j in range(k) if j != i])
        ytr = np.concatenate([ys[j] for j in range(k) if j != i])
        G, R = Xtr.T @ Xtr, 0.3 * np.eye(X.shape[1])
        rows = [
            ("the folds' slices (10 per λ, shown per fold)",
             _per_call(lambda: ([Xa[j * f:(j + 1) * f] for j in range(k)],
                                [ya[j * f:(j + 1) * f] for j in range(k)])) / k),
            ("`vstack`", _per_call(lambda: np.vstack([xs[j] for j in range(k) if j != i]))),
            ("`concatenate`", _per_call(lambda: np.concatenate([ys[j] for j in range(k) if j != i]))),
            ("`Xtr.T @ Xtr` (reused)", _per_call(lambda: Xtr.T @ Xtr)),
            ("`Xtr.T @ ytr` (reused)", _per_call(lambda: Xtr.T @ ytr)),
            ("`lam * eye` (plain NumPy)", _per_call(lambda: 0.3 * np.eye(X.shape[1]))),
            ("`G + lam * eye` (the same λ: its literal hashed, then a hit)", _per_call(lambda: G + R)),
        ]
    mc.reuse_clear()
    lines = ["| statement | warm µs per call |", "|---|---|"]
    lines += [f"| {name} | {us:.1f} |" for name, us in rows]
    lines.append(f"| sum | {sum(us for _, us in rows):.1f} |")
    return "\n".join(lines)


def input_table(rounds: int = 30) -> str:
    """The 38 MB input hashed against read once by NumPy, best of ``rounds``."""
    from mlcontext.fingerprint import hash_array

    X = np.random.default_rng(0).normal(size=(40_000, 120))
    read = _per_call(lambda: X.sum(), n=1, rounds=rounds) / 1e3
    hashed = _per_call(lambda: hash_array(X), n=1, rounds=rounds) / 1e3
    return ("| 38 MB input | CPU ms |\n|---|---|\n"
            f"| `X.sum()` (NumPy reads it once) | {read:.2f} |\n"
            f"| `hash_array(X)` (xxh3-128, what `mc.asarray` computes) | {hashed:.2f} |")


def main() -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        print("A call timed right after a workload (CPU µs, best of 5 x 300 calls):")
        print(refill_table())
        print("\nHCV's cv_lm per statement, per fold, from the second λ on (CPU µs, best of 9):")
        print(statements_table())
        print("\nHCV against its ideal, in parts (CPU ms, best of 15 per part):")
        print(split_table())
        print("\nHCV's overhead statements warm, back to back (CPU µs, best of 5 x 500 calls):")
        print(warm_table())
        print("\nIdentifying the input against reading it (best of 30):")
        print(input_table())


if __name__ == "__main__":
    main()
