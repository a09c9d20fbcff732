"""Lineage-based reuse on pipelines modelled on LIMA's evaluation (SIGMOD 2021, §6).

Each pipeline is one plain-NumPy program run three ways in the same process: on plain arrays, with
``joblib.Memory`` caching its per-configuration function, and on traced arrays with mlcontext's
reuse (policy hybrid, a fresh cache per run, leaf creation timed). A hand-deduplicated version that
computes every distinct piece once gives the time of the unique work; ideal speed-up = plain / unique,
achieved fraction = mlcontext speed-up / ideal. Times are the best of ``REPEATS`` runs; mlcontext's
results are turned into plain arrays inside the timing (a deferred stack is computed then).

The pipeline without redundancy (70 ms) is also measured by interleaved plain/mlcontext pairs, with
its inputs wrapped by ``mc.array`` (a copy, against plain NumPy copying them by ``np.array``), by
``mc.asarray`` (no copy: the inputs are made read-only; against plain NumPy on the inputs) and before
the timing: each side does the same with its inputs, so the ratio is the cost of tracing and reuse.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np

import mlcontext as mc

REPEATS = 3
RNG = np.random.default_rng(42)
# What every NumPy-side figure is timed by: the calling thread's CPU time, with BLAS held to this
# one thread (main() limits it), so the time is all of the work and none of the waiting for a core
# on a shared machine (a burst of other load moved wall-clock figures by 5 points of achieved/ideal).
# Page faults and the kernel's work for this thread count: CPU time is user plus system time.
CLOCK = time.thread_time


def _best(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        best = min(best, _time(fn)[0])
    return best


def _plain(result: object) -> object:
    if isinstance(result, list | tuple):
        return [_plain(r) for r in result]
    return np.asarray(result) if isinstance(result, mc.TracedArray) else result


class _Traced:
    """mlcontext's variant of a pipeline: one run on an empty reuse cache (in-process reuse only).

    Called, it empties the cache and runs. :func:`_time` empties the cache before and after the
    run it times, outside the timing: emptying is no part of a run (a first run starts on an empty
    cache and frees nothing; freeing PCALM's cached pieces takes about 1 ms), and the values one run
    cached must not stay in memory while the plain and ideal variants are timed after it (measured:
    the stepLM ideal took 56 ms after plain NumPy, 64-66 ms after mlcontext, faulting in fresh
    pages around the cached ones)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn

    def __call__(self) -> object:
        mc.reuse_clear()
        return _plain(self.fn())


def _mlc(fn: Callable[[], object]) -> _Traced:
    return _Traced(fn)


def _joblib(make: Callable[[joblib.Memory], Callable[[], object]]) -> Callable[[], object]:
    def run() -> object:
        folder = tempfile.mkdtemp(prefix="bench-joblib-")
        try:
            return make(joblib.Memory(folder, verbose=0))()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return run


# -- HLM: closed-form linear regression, grid over lambda x intercept ------------------------------------

def fit_lm(X, y, lam, icpt):
    if icpt:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    A = X.T @ X + lam * np.eye(X.shape[1])
    return np.linalg.solve(A, X.T @ y)


LAMS = [10.0 ** e for e in np.linspace(-4, 2, 20)]


def hlm(X, y, fit=fit_lm):
    return [fit(X, y, lam, icpt) for icpt in (0, 1) for lam in LAMS]


def hlm_unique(X, y):
    n, d = X.shape
    G, b = X.T @ X, X.T @ y
    s, o = X.sum(axis=0), y.sum()
    Gi = np.block([[G, s[:, None]], [s[None, :], np.array([[n]])]])
    bi = np.append(b, o)
    return ([np.linalg.solve(G + lam * np.eye(d), b) for lam in LAMS]
            + [np.linalg.solve(Gi + lam * np.eye(d + 1), bi) for lam in LAMS])


# -- HCV: k-fold cross-validated linear regression over lambda -------------------------------------------

K_FOLDS = 5
CV_LAMS = [10.0 ** e for e in np.linspace(-3, 1, 8)]


def cv_lm(X, y, lam, k=K_FOLDS):
    f = X.shape[0] // k
    xs = [X[i * f:(i + 1) * f] for i in range(k)]
    ys = [y[i * f:(i + 1) * f] for i in range(k)]
    err = 0.0
    for i in range(k):
        Xtr = np.vstack([xs[j] for j in range(k) if j != i])
        ytr = np.concatenate([ys[j] for j in range(k) if j != i])
        w = np.linalg.solve(Xtr.T @ Xtr + lam * np.eye(X.shape[1]), Xtr.T @ ytr)
        r = ys[i] - xs[i] @ w
        err += float(r @ r)
    return err / k


def hcv(X, y, cv=cv_lm):
    return [cv(X, y, lam) for lam in CV_LAMS]


def hcv_unique(X, y):
    k, f, d = K_FOLDS, X.shape[0] // K_FOLDS, X.shape[1]
    xs = [X[i * f:(i + 1) * f] for i in range(k)]
    ys = [y[i * f:(i + 1) * f] for i in range(k)]
    grams, rhs = [x.T @ x for x in xs], [x.T @ t for x, t in zip(xs, ys, strict=True)]
    G, b = sum(grams), sum(rhs)
    out = []
    for lam in CV_LAMS:
        err = 0.0
        for i in range(k):
            w = np.linalg.solve(G - grams[i] + lam * np.eye(d), b - rhs[i])
            r = ys[i] - xs[i] @ w
            err += float(r @ r)
        out.append(err / k)
    return out


# -- PCALM: PCA, then linear regression on the first K components, for a sweep of K ----------------------

KS = list(range(5, 55, 5))


def pca_lm(X, y, K, lam=0.1):
    Xc = X - X.mean(axis=0)
    C = Xc.T @ Xc / (X.shape[0] - 1)
    _, evecs = np.linalg.eigh(C)
    V = evecs[:, ::-1]
    P = Xc @ V[:, :K]
    return np.linalg.solve(P.T @ P + lam * np.eye(K), P.T @ y)


def pcalm(X, y, fit=pca_lm):
    return [fit(X, y, K) for K in KS]


def pcalm_unique(X, y, lam=0.1):
    Xc = X - X.mean(axis=0)
    _, evecs = np.linalg.eigh(Xc.T @ Xc / (X.shape[0] - 1))
    P = Xc @ evecs[:, ::-1][:, :max(KS)]
    out = []
    for K in KS:
        p = P[:, :K]
        out.append(np.linalg.solve(p.T @ p + lam * np.eye(K), p.T @ y))
    return out


# -- stepLM: forward selection, appending one column at a time -------------------------------------------

BASE, STEPS, LAM = 150, 3, 1e-3


def score(Z, y, yy, lam=LAM):
    G = Z.T @ Z
    b = Z.T @ y
    w = np.linalg.solve(G + lam * np.eye(G.shape[0]), b)
    return float(yy - 2 * (w @ b) + w @ (G @ w))  # residual sum of squares without another pass


def step_lm(X, y, score=score):
    yy = float(y @ y)
    sel = X[:, :BASE]
    cand = list(range(BASE, X.shape[1]))
    for _ in range(STEPS):
        errs = [score(np.hstack([sel, X[:, c:c + 1]]), y, yy) for c in cand]
        best = cand[int(np.argmin(errs))]
        sel = np.hstack([sel, X[:, best:best + 1]])
        cand.remove(best)
    return sel


def step_lm_unique(X, y):
    # Incremental Gram matrix: every product computed once, no appends; returns the selection as
    # step_lm does (X's chosen columns).
    yy = float(y @ y)
    idx = list(range(BASE))
    S = X[:, idx]
    G, b = S.T @ S, S.T @ y
    cand = list(range(BASE, X.shape[1]))
    Xt_c = X[:, cand]
    cross, diag, cy = (Xt_c.T @ S).T, (Xt_c * Xt_c).sum(axis=0), Xt_c.T @ y
    for _ in range(STEPS):
        errs = []
        for j, _c in enumerate(cand):
            g = np.block([[G, cross[:, j:j + 1]], [cross[:, j:j + 1].T, diag[j:j + 1, None]]])
            bb = np.append(b, cy[j])
            w = np.linalg.solve(g + LAM * np.eye(g.shape[0]), bb)
            errs.append(float(yy - 2 * (w @ bb) + w @ (g @ w)))
        j = int(np.argmin(errs))
        col = Xt_c[:, j]
        G = np.block([[G, cross[:, j:j + 1]], [cross[:, j:j + 1].T, diag[j:j + 1, None]]])
        b = np.append(b, cy[j])
        cross = np.vstack([np.delete(cross, j, axis=1), col @ np.delete(Xt_c, j, axis=1)])
        Xt_c, diag, cy = np.delete(Xt_c, j, axis=1), np.delete(diag, j), np.delete(cy, j)
        idx.append(cand.pop(j))
    return X[:, idx]


# -- multi-level: a lambda sweep of @mc.step functions, repeated -----------------------------------------

REPEAT_SWEEPS, ML_LAMS = 5, [10.0 ** e for e in np.linspace(-3, 1, 10)]


def prep(X):
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.hstack([Xs, np.tanh(Xs), Xs * Xs])


def fit_ridge(F, y, lam):
    return np.linalg.solve(F.T @ F + lam * np.eye(F.shape[1]), F.T @ y)


step_prep, step_fit = mc.step(prep), mc.step(fit_ridge)


def sweeps(X, y, prep=prep, fit=fit_ridge):
    out = []
    for _ in range(REPEAT_SWEEPS):
        F = prep(X)
        out.append([fit(F, y, lam) for lam in ML_LAMS])
    return out


def sweeps_unique(X, y):
    F = prep(X)
    G, b = F.T @ F, F.T @ y
    once = [np.linalg.solve(G + lam * np.eye(F.shape[1]), b) for lam in ML_LAMS]
    return [once] * REPEAT_SWEEPS  # the same results, as often as the pipeline returns them


# -- no redundancy: a chain of distinct layers -----------------------------------------------------------

LAYERS = 8


def chain(X, Ws):
    for W in Ws:
        X = np.tanh(X @ W)
    return X.sum()


# -- the runner ------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One pipeline: plain, its hand-deduplicated ideal, mlcontext (traced leaves made inside the
    timing by ``mc.asarray``: no copy, as the plain pipeline makes none), optionally joblib."""

    name: str
    style: str
    plain: Callable[[], object]
    ideal: Callable[[], object]
    mlc: Callable[[], object]
    target: str
    joblib: Callable[[joblib.Memory], Callable[[], object]] | None = None
    systemds: str | None = None  # the DML pipeline of bench/systemds


@dataclass
class Row:
    case: Case
    plain: float
    ideal: float
    mlc: float
    joblib: float | None = None
    systemds: dict[str, object] = field(default_factory=dict)
    same: bool = True
    diff: float = 0.0  # the largest relative difference from plain NumPy's results

    @property
    def achieved(self) -> float:  # (plain / mlc) / (plain / ideal)
        return self.ideal / self.mlc


def lima_cases() -> list[Case]:
    a = mc.asarray
    X, y = RNG.normal(size=(40_000, 120)), RNG.normal(size=40_000)
    Xc, yc = RNG.normal(size=(40_000, 120)), RNG.normal(size=40_000)
    Xp, yp = RNG.normal(size=(20_000, 256)), RNG.normal(size=20_000)
    Xs, ys = RNG.normal(size=(20_000, 180)), RNG.normal(size=20_000)
    Xm, ym = RNG.normal(size=(20_000, 100)), RNG.normal(size=20_000)
    jl = {  # joblib.Memory caching each pipeline's per-configuration function
        "HLM": lambda mem: (lambda: hlm(X, y, fit=mem.cache(fit_lm))),
        "HCV": lambda mem: (lambda: hcv(Xc, yc, cv=mem.cache(cv_lm))),
        "PCALM": lambda mem: (lambda: pcalm(Xp, yp, fit=mem.cache(pca_lm))),
        "stepLM": lambda mem: (lambda: step_lm(Xs, ys, score=mem.cache(score))),
        "multilevel": lambda mem: (lambda: sweeps(Xm, ym, prep=mem.cache(prep), fit=mem.cache(fit_ridge))),
    }
    return [
        Case("HLM", "grid lambda x intercept, np.hstack ones", lambda: hlm(X, y),
             lambda: hlm_unique(X, y), lambda: hlm(a(X), a(y)), ">= 80 %", jl["HLM"], "HLM"),
        Case("HCV", "k-fold CV, np.vstack of fold lists", lambda: hcv(Xc, yc),
             lambda: hcv_unique(Xc, yc), lambda: hcv(a(Xc), a(yc)), ">= 80 %", jl["HCV"], "HCV"),
        Case("PCALM", "PCA + regression, sweep of K", lambda: pcalm(Xp, yp),
             lambda: pcalm_unique(Xp, yp), lambda: pcalm(a(Xp), a(yp)), ">= 80 %", jl["PCALM"], "PCALM"),
        Case("stepLM", "forward selection, np.hstack appends", lambda: step_lm(Xs, ys),
             lambda: step_lm_unique(Xs, ys), lambda: step_lm(a(Xs), a(ys)), ">= 80 %", jl["stepLM"],
             "stepLM"),
        Case("multilevel", "@mc.step sweeps, repeated", lambda: sweeps(Xm, ym), lambda: sweeps_unique(Xm, ym),
             lambda: sweeps(a(Xm), a(ym), prep=step_prep, fit=step_fit), ">= 80 %", jl["multilevel"],
             "multilevel"),
    ]


def more_cases(small: bool = False) -> list[Case]:
    from bench import pipelines_more as pm

    cases = []
    for p in pm.PIPELINES:
        d = p.data(small)
        cases.append(Case(p.name, p.style, (lambda p=p, d=d: p.plain(d)), (lambda p=p, d=d: p.ideal(d)),
                          (lambda p=p, d=d: p.plain(pm.traced(d))), ">= 60 %"))
    return cases


def _time(fn: Callable[[], object], clock: Callable[[], float] = CLOCK) -> tuple[float, object]:
    """Seconds ``fn`` took by ``clock`` (CPU time of this thread), and its result; a
    :class:`_Traced` run is timed without the emptying of the cache before and after it."""
    if type(fn) is not _Traced:
        t0 = clock()
        out = fn()
        return clock() - t0, out
    mc.reuse_clear()
    t0 = clock()
    out = _plain(fn.fn())
    elapsed = clock() - t0
    mc.reuse_clear()
    return elapsed, out


def measure(case: Case, rounds: int = REPEATS, with_joblib: bool = False,
            systemds: bool = False) -> Row:
    """Best of ``rounds`` interleaved rounds (plain, ideal, mlcontext in a rotating order), the
    results of the ideal and of mlcontext checked against plain NumPy's; SystemDS's no-reuse and
    reuse_hybrid runs (each a JVM timing cold and warm) between the rounds."""
    from bench import pipelines_more as pm

    variants = {"plain": case.plain, "ideal": case.ideal, "mlc": _mlc(case.mlc)}
    best = dict.fromkeys(variants, float("inf"))
    results: dict[str, object] = {}
    sysds_runs = [False, True] if systemds and case.systemds else []
    for r in range(rounds):
        names = list(variants)
        names = names[r % 3:] + names[:r % 3]
        for name in names:
            t, out = _time(variants[name])
            best[name] = min(best[name], t)
            results.setdefault(name, out)
        if sysds_runs:
            reuse = sysds_runs.pop(0)
            results[f"sysds-{reuse}"] = _systemds(case.systemds, reuse)
    same = pm.same(results["ideal"], results["plain"]) and pm.same(results["mlc"], results["plain"])
    row = Row(case, best["plain"], best["ideal"], best["mlc"], same=same,
              diff=pm.max_rel_diff(results["mlc"], results["plain"]) if same else float("nan"))
    for reuse in sysds_runs:  # fewer rounds than SystemDS runs
        results[f"sysds-{reuse}"] = _systemds(case.systemds, reuse)
    row.systemds = {k: v for k, v in results.items() if k.startswith("sysds-")}
    if with_joblib and case.joblib is not None:
        row.joblib = _best(_joblib(case.joblib))
    return row


def _systemds(name: str, reuse: bool) -> object:
    from bench.systemds import run as sysds

    try:
        return sysds.run(name, reuse)
    except Exception as exc:  # reported in the table, the NumPy side still measured
        return f"failed: {str(exc).splitlines()[0]}"


def _fmt_sysds(row: Row) -> str:
    none, hyb = row.systemds.get("sysds-False"), row.systemds.get("sysds-True")
    if none is None or hyb is None:
        return " | | | "
    if isinstance(none, str) or isinstance(hyb, str):
        return f" | {none if isinstance(none, str) else ''} | {hyb if isinstance(hyb, str) else ''} | "
    return (f" | {none.cold:.2f} / {none.warm:.2f} | {hyb.cold:.2f} / {hyb.warm:.2f} | "
            f"{none.cold / hyb.cold:.2f}x / {none.warm / hyb.warm:.2f}x")


def _same(row: Row) -> str:
    """Equal to plain NumPy within 1e-8 relative, and whether bit for bit (partial reuse sums
    products by blocks, which rounds differently; docs/reuse.md)."""
    if not row.same:
        return "NO"
    return "yes, bit-identical" if row.diff == 0 else f"yes, max rel. diff {row.diff:.0e}"


def table(rows: list[Row]) -> str:
    head = ("| pipeline | style | plain s | ideal s | mlcontext s | mlcontext speed-up | ideal speed-up | "
            "achieved / ideal | target | results = plain | SystemDS no-reuse s (cold / warm) | "
            "SystemDS reuse_hybrid s (cold / warm) | SystemDS speed-up (cold / warm) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(f"| {r.case.name} | {r.case.style} | {r.plain:.3f} | {r.ideal:.3f} | "
                     f"{r.mlc:.3f} | {r.plain / r.mlc:.1f}x | {r.plain / r.ideal:.1f}x | "
                     f"{r.achieved:.1%} | {r.case.target} | "
                     f"{_same(r)}{_fmt_sysds(r)} |")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_reuse",
        description="Every reuse pipeline (LIMA's five and the other styles of bench/pipelines_more.py): "
                    "plain NumPy, the hand-deduplicated ideal, mlcontext and, where available, SystemDS "
                    "(no reuse and reuse_hybrid, cold and warm), timed in interleaved rounds; then the "
                    "no-redundancy and small-operation overheads. Run with OPENBLAS_NUM_THREADS=1.")
    parser.add_argument("--rounds", type=int, default=REPEATS, metavar="N",
                        help=f"interleaved rounds, best of N is reported (default {REPEATS})")
    parser.add_argument("--only", type=lambda v: [n for n in v.split(",") if n], metavar="A,B",
                        help="these pipelines alone, by name (skips the overhead measurements)")
    parser.add_argument("--no-systemds", action="store_true", help="skip the SystemDS side")
    parser.add_argument("--append", type=Path, metavar="FILE",
                        help="append the table to FILE (bench/RESULTS.md)")
    parser.add_argument("--tables-only", action="store_true",
                        help="the pipelines' table only, without the overhead measurements")
    return parser


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.bench_reuse [--no-systemds] [--append FILE] [--rounds N] [--only A,B]
    [--tables-only]`` (``--help`` says what each does; ``bench/profile_reuse.py`` measures one
    pipeline in CPU time with a profile)."""
    argv = list(argv or [])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # (see CLOCK: all the work in this thread)
        _main(args, argv)


def _main(args: argparse.Namespace, argv: list[str]) -> None:
    rounds = args.rounds
    only = set(args.only) if args.only is not None else None
    from bench.systemds import run as sysds

    why = "--no-systemds given" if args.no_systemds else sysds.available()
    print(f"numpy {np.__version__}, joblib {joblib.__version__}; best of {rounds} interleaved rounds; "
          "NumPy side: CPU time of this thread, BLAS held to one thread; SystemDS: its own wall clock "
          f"in DML; OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; mlcontext policy "
          f"hybrid, fresh cache per run; SystemDS: {'yes' if why is None else 'skipped (' + why + ')'}",
          flush=True)
    rows = []
    cases = lima_cases() + more_cases()
    if only is not None:
        unknown = sorted(only - {c.name for c in cases})
        if unknown:
            raise SystemExit(f"unknown pipeline(s) {unknown}; available: {[c.name for c in cases]}")
        cases = [c for c in cases if c.name in only]
    _warm_up()
    for case in cases:
        row = measure(case, rounds, with_joblib=case.joblib is not None, systemds=why is None)
        rows.append(row)
        jl = f" | joblib {row.joblib:.3f}s" if row.joblib is not None else ""
        print(f"{case.name:<16} plain {row.plain:7.3f}s | ideal {row.ideal:7.3f}s | "
              f"mlcontext {row.mlc:7.3f}s{jl} | achieved {row.achieved:6.1%} | "
              f"results = plain: {_same(row)}{_fmt_sysds(row)}", flush=True)
    print(table(rows), flush=True)
    if args.append is not None:
        _append(args.append, rows, argv)
    if args.tables_only or only is not None:
        return
    Xn = RNG.normal(size=(2_000, 400))
    Ws = [RNG.normal(size=(400, 400)) / 20 for _ in range(LAYERS)]
    _no_redundancy_pairs(Xn, Ws, "after the pipelines above")
    # The same in a fresh process: there the allocator has no freed memory to hand the copies that
    # mc.array makes, so fresh pages are faulted in (the figure that depends on the process's past).
    subprocess.run([sys.executable, "-c", "import bench.bench_reuse as b; b.fresh_no_redundancy()"],
                   cwd=Path(__file__).resolve().parents[1], check=True)
    _small_operations(rounds=max(rounds, 9))


def _warm_up() -> None:
    """Every pipeline once, small and traced: the first traced call of a kind imports and registers
    what it needs (seconds, once per process), which belongs to no pipeline's timing."""
    X, y = RNG.normal(size=(200, 8)), RNG.normal(size=200)
    a = mc.asarray
    for fn in (lambda: hlm(a(X), a(y)), lambda: hcv(a(X), a(y)),
               lambda: sweeps(a(X), a(y), step_prep, step_fit)):
        _mlc(fn)()
    for case in more_cases(small=True):
        _mlc(case.mlc)()
    mc.reuse_clear()


def _append(path: Path, rows: list[Row], argv: list[str]) -> None:
    import datetime
    import platform

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "OPENBLAS_NUM_THREADS=1 python -m bench.bench_reuse " + " ".join(argv)
    with path.open("a") as f:
        f.write(f"\n### Reuse vs the ideal and SystemDS ({when}, {platform.machine()}, "
                f"{os.cpu_count()} cores)\n\n`{cmd}`\n\nNumPy side (plain, ideal, mlcontext): CPU "
                "seconds of the benchmark's thread, BLAS held to that thread, best of the interleaved "
                "rounds; SystemDS: wall seconds timed in DML (its JIT and GC threads are its cost).\n\n"
                f"{table(rows)}\n")


def fresh_no_redundancy() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    rng = np.random.default_rng(7)
    Xn = rng.normal(size=(2_000, 400))
    Ws = [rng.normal(size=(400, 400)) / 20 for _ in range(LAYERS)]
    _no_redundancy_pairs(Xn, Ws, "in a fresh process")


def _small_operations(n: int = 20_000, rounds: int = 9) -> None:
    """Reuse's own cost per operation where the operations are tiny (a loop on 10 elements):
    plain NumPy, traced with reuse off, traced with the default policy (GC paused to isolate it).
    The three are timed in interleaved rounds, best of each: a burst of load on a shared machine
    then slows all three in the same round instead of one variant's every repeat."""
    import gc

    def chain(v: object) -> None:
        for _ in range(n):
            v = v + 1.0

    def traced(policy: str) -> Callable[[], None]:
        def run() -> None:
            with mc.reuse(policy):
                chain(mc.array(np.zeros(10)))
        return run

    variants = {"plain NumPy": lambda: chain(np.zeros(10)),
                "traced, reuse none": traced("none"), "traced, reuse hybrid": traced("hybrid")}
    per_op = dict.fromkeys(variants, float("inf"))
    gc.disable()
    try:
        for _ in range(rounds):
            for name, run in variants.items():
                per_op[name] = min(per_op[name], _time(run)[0] / n)
    finally:
        gc.enable()
    print(f"small operations (v = v + 1.0 on 10 elements, per operation, best of {rounds} interleaved "
          "rounds): " + ", ".join(f"{name} {t * 1e6:.2f} us" for name, t in per_op.items()), flush=True)


def _no_redundancy_pairs(Xn: np.ndarray, Ws: list[np.ndarray], where: str, pairs: int = 15) -> None:
    """The no-redundancy overhead from interleaved plain/mlcontext runs (ABBA pairs, median of the
    pair ratios): a best-of-3 of a 70 ms pipeline moves by more than the 3 % being measured.

    Each mlcontext variant is paired with the plain program that does the same with its inputs:
    ``mc.array`` copies them (as ``np.array`` does), so its plain side is ``np.array`` of the inputs;
    ``mc.asarray`` and leaves made before the timing copy nothing, nor does their plain side. (The
    16.6 MB copy alone costs 13-15 % of this pipeline, in a fresh process more: fresh pages.)"""
    variants = {
        "mc.array vs np.array (both copy)": (
            lambda: chain(np.array(Xn), [np.array(W) for W in Ws]),
            lambda: chain(mc.array(Xn), [mc.array(W) for W in Ws])),
        "mc.asarray vs plain (no copy)": (
            lambda: chain(Xn, Ws), lambda: chain(mc.asarray(Xn), [mc.asarray(W) for W in Ws])),
        "leaves made before vs plain": (lambda: chain(Xn, Ws), _prewrapped(Xn, Ws)),
    }
    for name, (plain, traced) in variants.items():
        run = _mlc(traced)
        ratios = []
        for k in range(pairs):
            order = (False, True) if k % 2 == 0 else (True, False)
            times = {}
            for is_mlc in order:
                times[is_mlc] = _time(run if is_mlc else plain)[0]
            ratios.append(times[True] / times[False])
        ratios.sort()
        print(f"no redundancy ({where}), {name:<33} median of {pairs} ABBA pair ratios: "
              f"{ratios[pairs // 2] - 1:+.1%} "
              f"(quartiles {ratios[pairs // 4] - 1:+.1%} .. {ratios[3 * pairs // 4] - 1:+.1%}); "
              "target <= +3%", flush=True)


def _prewrapped(Xn: np.ndarray, Ws: list[np.ndarray]) -> Callable[[], object]:
    X, Wt = mc.array(Xn), [mc.array(W) for W in Ws]
    return lambda: chain(X, Wt)


if __name__ == "__main__":
    main(sys.argv[1:])
