"""Lineage tracing benchmarks (issue 3): large-array overhead, tiny-array per-op overhead, and loop
deduplication on a 10,000-iteration mini-batch loop. Baselines are plain NumPy in the same run."""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable

import numpy as np

import mlcontext as mc


def _median_s(fn: Callable[[], object], repeat: int, number: int = 1) -> float:
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number


# -- 1. large operations --------------------------------------------------------------------------

def _pipeline(A, B, y):
    C = A @ B
    D = np.tanh(C + 0.5) * A
    G = D.T @ D + 0.1 * A
    w = np.linalg.solve(G, y)
    s = np.sort(D, axis=1)[:, :10]
    return w, s.mean(axis=0), np.linalg.norm(G, axis=0)


def bench_large(n: int = 1000, repeat: int = 15) -> dict[str, float]:
    rng = np.random.default_rng(0)
    A, B, y = rng.normal(size=(n, n)), rng.normal(size=(n, n)), rng.normal(size=n)
    start = time.perf_counter()
    At, Bt, yt = mc.array(A, name="A"), mc.array(B, name="B"), mc.array(y, name="y")
    leaves = time.perf_counter() - start
    _pipeline(A, B, y), _pipeline(At, Bt, yt)  # warm up
    plain, traced, ratios = [], [], []
    for _ in range(repeat):  # ABBA pairs: drift and other processes hit both sides alike
        p1 = _median_s(lambda: _pipeline(A, B, y), 1)
        t1 = _median_s(lambda: _pipeline(At, Bt, yt), 1)
        t2 = _median_s(lambda: _pipeline(At, Bt, yt), 1)
        p2 = _median_s(lambda: _pipeline(A, B, y), 1)
        plain += [p1, p2]
        traced += [t1, t2]
        ratios.append((t1 + t2) / (p1 + p2))
    p, t = statistics.median(plain), statistics.median(traced)
    return {"plain_median_s": p, "traced_median_s": t,
            "overhead_pct (median of ABBA pair ratios)": 100 * (statistics.median(ratios) - 1),
            "overhead_pct (min vs min)": 100 * (min(traced) / min(plain) - 1),
            "leaf_hash_s (3 leaves, once)": leaves}


# -- 2. tiny arrays ---------------------------------------------------------------------------------

def _tiny_ops(a, b, m):
    return {
        "a + b": lambda: a + b, "a * 0.5": lambda: a * 0.5, "np.exp(a)": lambda: np.exp(a),
        "a.sum()": lambda: a.sum(), "np.sum(a)": lambda: np.sum(a), "a[1:]": lambda: a[1:],
        "m @ m": lambda: m @ m, "m.T": lambda: m.T, "a.reshape(3, 1)": lambda: a.reshape(3, 1),
        "np.maximum(a, 0)": lambda: np.maximum(a, 0), "a > b": lambda: a > b,
        "np.mean(a)": lambda: np.mean(a), "np.concatenate": lambda: np.concatenate([a, b]),
        "np.dot(a, b)": lambda: np.dot(a, b), "m[0, 1]": lambda: m[0, 1],
    }


def bench_tiny(number: int = 20_000, repeat: int = 7) -> dict[str, float]:
    a, b, m = np.ones(3), np.arange(3.0), np.eye(2)
    plain_ops = _tiny_ops(a, b, m)
    traced_ops = _tiny_ops(mc.array(a), mc.array(b), mc.array(m))
    overheads = {}
    for name in plain_ops:
        p = _median_s(plain_ops[name], repeat, number)
        t = _median_s(traced_ops[name], repeat, number)
        overheads[name] = (t - p) * 1e6
    return {"median_overhead_us": statistics.median(overheads.values()),
            "max_overhead_us": max(overheads.values()), **{f"op {k}": v for k, v in overheads.items()}}


# -- 3. a 10,000-iteration mini-batch loop ---------------------------------------------------------------

def _train(X, Y, steps: int, batch: int = 32) -> tuple:
    """A 2-layer MLP trained with mini-batch SGD with momentum: the loop body is ~40 operations."""
    rng = np.random.default_rng(1) if isinstance(X, np.ndarray) else mc.random.default_rng(1)
    W1 = rng.normal(scale=0.1, size=(X.shape[1], 16))
    W2 = rng.normal(scale=0.1, size=(16, 1))
    V1, V2 = W1 * 0.0, W2 * 0.0
    nb = X.shape[0] // batch
    loop = mc.loop("batch", range(steps))
    for i in loop:
        s = (i % nb) * batch
        xb, yb = X[s:s + batch], Y[s:s + batch]
        h = np.maximum(xb @ W1, 0.0)
        pred = h @ W2
        err = pred - yb
        loss = np.mean(err * err)
        g_pred = 2.0 * err / batch
        g_W2 = h.T @ g_pred
        g_h = (g_pred @ W2.T) * (h > 0)
        g_W1 = xb.T @ g_h
        V1 = 0.9 * V1 + g_W1
        V2 = 0.9 * V2 + g_W2
        W1 = W1 - 0.01 * V1
        W2 = W2 - 0.01 * V2
    return W1, W2, loss


def bench_loop(steps: int = 10_000) -> dict[str, float]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1024, 8))
    Y = np.tanh(X @ rng.normal(size=(8, 1)))
    t = time.perf_counter()
    _train(X, Y, steps)
    plain = time.perf_counter() - t

    def traced(dedup: bool) -> tuple[float, float, int, object]:
        mc.lineage.set_dedup(dedup)
        try:
            Xt, Yt = mc.array(X, name="X"), mc.array(Y, name="Y")
            t0 = time.perf_counter()
            result = _train(Xt, Yt, steps)
            t1 = time.perf_counter()
            text = mc.lineage.dumps(list(result))
            t2 = time.perf_counter()
        finally:
            mc.lineage.set_dedup(True)
        return t1 - t0, t2 - t1, len(text.encode()), (result, text)

    run_d, dump_d, size_d, (res_d, text_d) = traced(True)
    run_p, dump_p, size_p, (res_p, _) = traced(False)
    assert all(a.lineage == b.lineage for a, b in zip(res_d, res_p, strict=True))
    t = time.perf_counter()
    again = mc.recompute(text_d, inputs={"X": X, "Y": Y})
    recompute_s = time.perf_counter() - t
    assert all(np.array_equal(g, np.asarray(w), equal_nan=True) for g, w in zip(again, res_d, strict=True))
    cost_d = run_d + dump_d - plain
    cost_p = run_p + dump_p - plain
    return {
        "plain_run_s": plain, "dedup_run_s": run_d, "dedup_dumps_s": dump_d,
        "nodedup_run_s": run_p, "nodedup_dumps_s": dump_p,
        "dedup_log_bytes": size_d, "plain_log_bytes": size_p, "log_size_ratio": size_d / size_p,
        "tracing_cost_ratio (run+dumps-plain)": cost_d / cost_p,
        "tracing_run_ratio (run-plain)": (run_d - plain) / (run_p - plain),
        "recompute_from_dedup_log_s": recompute_s,
    }


def bench_deep_chain(small: int = 10_000, large: int = 40_000) -> dict[str, float]:
    """Hashing a chain of n items must be linear in n (it is iterative): 4x the items ~ 4x the time."""
    def cost(n: int) -> float:
        y = mc.array(np.zeros(1), name="y")
        with mc.lineage.no_dedup():
            for _ in range(n):
                y = y + 1
        t = time.perf_counter()
        _ = y.lineage.digest
        return time.perf_counter() - t

    a, b = min(cost(small) for _ in range(3)), min(cost(large) for _ in range(3))
    return {f"hash_{small}_s": a, f"hash_{large}_s": b, "ratio (linear ~4, quadratic ~16)": b / a}


def _report(title: str, figures: dict[str, float]) -> None:
    print(f"\n{title}")
    for k, v in figures.items():
        print(f"  {k:42s} {v:.6g}")


def main() -> None:
    # Tracing alone: the reuse layer (issue 4, on by default) would serve repeated work from its cache.
    with mc.reuse("none"):
        _main()


def _main() -> None:
    _report("large pipeline (1000x1000), 15 ABBA pairs; target overhead <= 2 %",
            bench_large())
    _report("tiny arrays, per traced operation; target median overhead <= 5 us", bench_tiny())
    _report("10,000-iteration mini-batch loop; targets: log ratio <= 0.01, cost ratio <= 0.5",
            bench_loop())
    _report("hashing a deep chain: cost of 40,000 items / 10,000 items; target < 12", bench_deep_chain())


if __name__ == "__main__":
    main()
