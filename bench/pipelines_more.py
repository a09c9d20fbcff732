"""Twelve more reuse pipelines, in styles the five LIMA pipelines do not cover (issue 14).

Each :class:`Pipeline` is plain NumPy/SciPy/scikit-learn/pandas code as a user writes it, with:

* ``plain(data)``: the pipeline itself, run on plain arrays (and, traced, by mlcontext);
* ``ideal(data)``: the same results, deduplicated by hand — every distinct piece of the pipeline's
  own redundant work computed once. Library calls (``scipy.linalg.cho_factor``, ``Ridge.fit``,
  ``lstsq``) are kept as the black boxes they are: the ideal removes the redundancy of the code
  around them, not inside them;
* ``data(small)``: inputs (``small=True``: a few hundred rows, for the tests);
* ``traced(data)``: the inputs as mlcontext leaves (``mc.asarray``: no copy; ``mc.frame``).

Results must equal plain NumPy's (:func:`same`): exactly for selections (which columns were
chosen), to 1e-8 relative for values (block products and sums round in another order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from sklearn.linear_model import Ridge

import mlcontext as mc

__all__ = ["Pipeline", "PIPELINES", "same"]

LAMS = [10.0 ** e for e in np.linspace(-3, 2, 12)]


@dataclass(frozen=True)
class Pipeline:
    name: str
    style: str
    plain: Callable[[dict], Any]
    ideal: Callable[[dict], Any]
    data: Callable[[bool], dict]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _xy(seed: int, n: int, d: int) -> dict:
    rng = _rng(seed)
    X = rng.normal(size=(n, d))
    return {"X": X, "y": X[:, : min(d, 5)].sum(axis=1) + rng.normal(size=n)}


def same(got: Any, want: Any, rtol: float = 1e-8) -> bool:
    """Results equal: recursively through lists/tuples/dicts, arrays to ``rtol``."""
    if isinstance(want, dict):
        return set(got) == set(want) and all(same(got[k], want[k], rtol) for k in want)
    if isinstance(want, list | tuple):
        return len(got) == len(want) and all(same(g, w, rtol) for g, w in zip(got, want, strict=True))
    if isinstance(want, int | str) and not isinstance(want, bool):
        return got == want
    g, w = np.asarray(got), np.asarray(want)
    atol = rtol * (1 + np.abs(w).max(initial=0))
    return g.shape == w.shape and bool(np.allclose(g, w, rtol=rtol, atol=atol))


def max_rel_diff(got: Any, want: Any) -> float:
    """The largest ``|got - want| / (1 + max |want|)`` over every array of two results (0.0: bit for
    bit the same numbers)."""
    if isinstance(want, dict):
        return max((max_rel_diff(got[k], want[k]) for k in want), default=0.0)
    if isinstance(want, list | tuple):
        return max((max_rel_diff(g, w) for g, w in zip(got, want, strict=True)), default=0.0)
    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if g.size == 0:
        return 0.0
    return float(np.max(np.abs(g - w)) / (1 + np.abs(w).max()))


# -- 1. helpers called per parameter value ---------------------------------------------------------------

def standardize(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def ridge(X, y, lam):
    Xs = standardize(X)
    return np.linalg.solve(Xs.T @ Xs + lam * np.eye(X.shape[1]), Xs.T @ y)


def helpers(d):
    return [ridge(d["X"], d["y"], lam) for lam in LAMS]


def helpers_ideal(d):
    Xs = standardize(d["X"])
    G, b = Xs.T @ Xs, Xs.T @ d["y"]
    return [np.linalg.solve(G + lam * np.eye(G.shape[0]), b) for lam in LAMS]


# -- 2. k-fold folds as a list of slices, lambda loop inside the fold loop -------------------------------

def slice_folds(d, k=5):
    X, y = d["X"], d["y"]
    n = X.shape[0]
    edges = [i * n // k for i in range(k + 1)]
    folds = [slice(edges[i], edges[i + 1]) for i in range(k)]
    out = []
    for test in folds:
        train = [s for s in folds if s is not test]
        Xtr = np.concatenate([X[s] for s in train])
        ytr = np.concatenate([y[s] for s in train])
        for lam in LAMS[:6]:
            w = np.linalg.solve(Xtr.T @ Xtr + lam * np.eye(X.shape[1]), Xtr.T @ ytr)
            r = y[test] - X[test] @ w
            out.append(float(r @ r))
    return out


def slice_folds_ideal(d, k=5):
    X, y = d["X"], d["y"]
    n = X.shape[0]
    edges = [i * n // k for i in range(k + 1)]
    folds = [slice(edges[i], edges[i + 1]) for i in range(k)]
    grams = [X[s].T @ X[s] for s in folds]
    rhs = [X[s].T @ y[s] for s in folds]
    G, b = sum(grams), sum(rhs)
    out = []
    for i, test in enumerate(folds):
        Gi, bi = G - grams[i], b - rhs[i]
        for lam in LAMS[:6]:
            w = np.linalg.solve(Gi + lam * np.eye(X.shape[1]), bi)
            r = y[test] - X[test] @ w
            out.append(float(r @ r))
    return out


# -- 3-5. forward selection appending a candidate with np.c_, np.column_stack, np.block ------------------

BASE, STEPS = 100, 2


def _rss(Z, y, yy, lam=1e-3):
    G, b = Z.T @ Z, Z.T @ y
    w = np.linalg.solve(G + lam * np.eye(G.shape[0]), b)
    return float(yy - 2 * (w @ b) + w @ (G @ w))


def _select(d, append):
    X, y = d["X"], d["y"]
    yy = float(y @ y)
    sel, chosen = X[:, :BASE], []
    cand = list(range(BASE, X.shape[1]))
    for _ in range(STEPS):
        errs = [_rss(append(sel, X, c), y, yy) for c in cand]
        best = cand[int(np.argmin(errs))]
        sel = append(sel, X, best)
        chosen.append(best)
        cand.remove(best)
    return chosen, sel


def c_append(d):
    return _select(d, lambda sel, X, c: np.c_[sel, X[:, c]])


def column_stack_append(d):
    return _select(d, lambda sel, X, c: np.column_stack([sel, X[:, c:c + 1]]))


def block_append(d):
    return _select(d, lambda sel, X, c: np.block([sel, X[:, c:c + 1]]))


def select_ideal(d, lam=1e-3):
    """The base's Gram once, each candidate's products with it once, no appends."""
    X, y = d["X"], d["y"]
    yy = float(y @ y)
    S = X[:, :BASE]
    G, b = S.T @ S, S.T @ y
    cand = list(range(BASE, X.shape[1]))
    C = X[:, cand]
    cross, diag, cy = (C.T @ S).T, np.einsum("ij,ij->j", C, C), C.T @ y
    chosen = []
    for _ in range(STEPS):
        errs = []
        for j in range(len(cand)):
            g = np.block([[G, cross[:, j:j + 1]], [cross[:, j:j + 1].T, diag[j:j + 1, None]]])
            bb = np.append(b, cy[j])
            w = np.linalg.solve(g + lam * np.eye(g.shape[0]), bb)
            errs.append(float(yy - 2 * (w @ bb) + w @ (g @ w)))
        j = int(np.argmin(errs))
        col = C[:, j]
        G = np.block([[G, cross[:, j:j + 1]], [cross[:, j:j + 1].T, diag[j:j + 1, None]]])
        b = np.append(b, cy[j])
        rest = np.delete(C, j, axis=1)
        cross = np.vstack([np.delete(cross, j, axis=1), col @ rest])
        C, diag, cy = rest, np.delete(diag, j), np.delete(cy, j)
        chosen.append(cand.pop(j))
    return chosen, X[:, list(range(BASE)) + chosen]


# -- 6. rows arriving in batches, appended with np.r_, the model refitted each time ----------------------

BATCHES = 8


def r_batches(d, lam=1e-2):
    X, y = d["X"], d["y"]
    m = X.shape[0] // BATCHES
    Xt, yt, out = X[:m], y[:m], []
    for t in range(BATCHES):
        if t:
            Xt, yt = np.r_[Xt, X[t * m:(t + 1) * m]], np.r_[yt, y[t * m:(t + 1) * m]]
        out.append(np.linalg.solve(Xt.T @ Xt + lam * np.eye(X.shape[1]), Xt.T @ yt))
    return out


def r_batches_ideal(d, lam=1e-2):
    X, y = d["X"], d["y"]
    m = X.shape[0] // BATCHES
    G, b, out = 0, 0, []
    for t in range(BATCHES):
        Xb, yb = X[t * m:(t + 1) * m], y[t * m:(t + 1) * m]
        G, b = G + Xb.T @ Xb, b + Xb.T @ yb
        out.append(np.linalg.solve(G + lam * np.eye(X.shape[1]), b))
    return out


# -- 7. scipy.linalg cho_factor / cho_solve over a lambda grid -------------------------------------------

def cho_path(d):
    out = []
    for lam in LAMS:
        Xs = standardize(d["X"])
        G = Xs.T @ Xs + lam * np.eye(Xs.shape[1])
        out.append(scipy.linalg.cho_solve(scipy.linalg.cho_factor(G), Xs.T @ d["y"]))
    return out


def cho_path_ideal(d):
    Xs = standardize(d["X"])
    G, b = Xs.T @ Xs, Xs.T @ d["y"]
    return [scipy.linalg.cho_solve(scipy.linalg.cho_factor(G + lam * np.eye(G.shape[0])), b) for lam in LAMS]


# -- 8. scipy.linalg.lstsq per target on features rebuilt per target -------------------------------------

TARGETS = 6


def features(X, W):
    return np.tanh(X @ W)


def lstsq_targets(d):
    out = []
    for k in range(TARGETS):
        F = features(d["X"], d["W"])
        out.append(scipy.linalg.lstsq(F, d["Y"][:, k])[0])
    return out


def lstsq_targets_ideal(d):
    F = np.asarray(features(d["X"], d["W"]))
    return [scipy.linalg.lstsq(F, d["Y"][:, k])[0] for k in range(TARGETS)]


# -- 9. scikit-learn Ridge with different alpha on traced data -------------------------------------------

def sk_ridge(d):
    out = []
    for alpha in LAMS:
        Xs = standardize(d["X"])
        out.append(Ridge(alpha=alpha, solver="cholesky").fit(Xs, d["y"]).coef_)
    return out


def sk_ridge_ideal(d):
    Xs = np.asarray(standardize(d["X"]))
    return [Ridge(alpha=alpha, solver="cholesky").fit(Xs, d["y"]).coef_ for alpha in LAMS]


# -- 10. pandas feature engineering repeated per model ---------------------------------------------------

def engineer(df):
    out = df[["a", "b", "c"]].copy()
    out["log_a"] = np.log1p(df["a"].abs())
    out["ratio"] = df["b"] / (df["c"].abs() + 1.0)
    out["group_mean"] = df.groupby("g")["a"].transform("mean")
    out["a_x_b"] = df["a"] * df["b"]
    return out


def pandas_models(d):
    out = []
    for lam in LAMS[:8]:
        F = engineer(d["df"]).to_numpy(dtype=float)
        y = d["df"]["y"].to_numpy(dtype=float)
        out.append(np.linalg.solve(F.T @ F + lam * np.eye(F.shape[1]), F.T @ y))
    return out


def pandas_models_ideal(d):
    F = engineer(d["df"]).to_numpy(dtype=float)
    y = d["df"]["y"].to_numpy(dtype=float)
    G, b = F.T @ F, F.T @ y
    return [np.linalg.solve(G + lam * np.eye(F.shape[1]), b) for lam in LAMS[:8]]


# -- 11. a lambda path of SVD-based ridge ----------------------------------------------------------------

def svd_path(d):
    out = []
    for lam in LAMS:
        U, s, Vt = np.linalg.svd(d["X"], full_matrices=False)
        out.append(Vt.T @ (s / (s * s + lam) * (U.T @ d["y"])))
    return out


def svd_path_ideal(d):
    U, s, Vt = np.linalg.svd(d["X"], full_matrices=False)
    uy = U.T @ d["y"]
    return [Vt.T @ (s / (s * s + lam) * uy) for lam in LAMS]


# -- 12. a pca(A, k) helper that redoes the whole PCA per k ----------------------------------------------

KS = [4, 8, 16, 24, 32]


def pca(A, k):
    Ac = A - A.mean(axis=0)
    _, _, Vt = np.linalg.svd(Ac, full_matrices=False)
    return Ac @ Vt[:k].T


def pca_helper(d, lam=0.1):
    out = []
    for k in KS:
        P = pca(d["X"], k)
        out.append(np.linalg.solve(P.T @ P + lam * np.eye(k), P.T @ d["y"]))
    return out


def pca_helper_ideal(d, lam=0.1):
    Ac = d["X"] - d["X"].mean(axis=0)
    _, _, Vt = np.linalg.svd(Ac, full_matrices=False)
    out = []
    for k in KS:
        P = Ac @ Vt[:k].T
        out.append(np.linalg.solve(P.T @ P + lam * np.eye(k), P.T @ d["y"]))
    return out


# -- data ------------------------------------------------------------------------------------------------

def _frame(seed: int, n: int) -> dict:
    rng = _rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                       "g": rng.integers(0, 50, size=n)})
    df["y"] = df["a"] - 2 * df["b"] + rng.normal(size=n)
    return {"df": df}


def _lstsq_data(small: bool) -> dict:
    n, d, h = (300, 8, 12) if small else (20_000, 60, 120)
    rng = _rng(8)
    return {"X": rng.normal(size=(n, d)), "W": rng.normal(size=(d, h)) / np.sqrt(d),
            "Y": rng.normal(size=(n, TARGETS))}


PIPELINES: list[Pipeline] = [
    Pipeline("helpers", "standardize + ridge helpers called per lambda", helpers, helpers_ideal,
             lambda s: _xy(1, 400 if s else 40_000, 12 if s else 100)),
    Pipeline("slice-folds", "k-fold folds as a list of slices, np.concatenate", slice_folds,
             slice_folds_ideal, lambda s: _xy(2, 500 if s else 40_000, 10 if s else 100)),
    Pipeline("c_-append", "forward selection, np.c_[sel, X[:, j]]", c_append, select_ideal,
             lambda s: _xy(3, 300 if s else 20_000, BASE + (6 if s else 30))),
    Pipeline("colstack-append", "forward selection, np.column_stack", column_stack_append,
             select_ideal, lambda s: _xy(4, 300 if s else 20_000, BASE + (6 if s else 30))),
    Pipeline("block-append", "forward selection, np.block([sel, col])", block_append, select_ideal,
             lambda s: _xy(5, 300 if s else 20_000, BASE + (6 if s else 30))),
    Pipeline("r_-batches", "rows arriving in batches, np.r_ appends, refit", r_batches,
             r_batches_ideal, lambda s: _xy(6, 400 if s else 40_000, 10 if s else 100)),
    Pipeline("cho-path", "scipy.linalg cho_factor/cho_solve over lambda", cho_path, cho_path_ideal,
             lambda s: _xy(7, 400 if s else 40_000, 12 if s else 100)),
    Pipeline("lstsq-targets", "scipy.linalg.lstsq per target, features rebuilt", lstsq_targets,
             lstsq_targets_ideal, _lstsq_data),
    Pipeline("sk-ridge", "sklearn Ridge(alpha) on traced standardized data", sk_ridge, sk_ridge_ideal,
             lambda s: _xy(9, 400 if s else 40_000, 12 if s else 100)),
    Pipeline("pandas-feat", "pandas feature engineering repeated per model", pandas_models,
             pandas_models_ideal, lambda s: _frame(10, 500 if s else 200_000)),
    Pipeline("svd-path", "lambda path of np.linalg.svd ridge", svd_path, svd_path_ideal,
             lambda s: _xy(11, 300 if s else 10_000, 10 if s else 100)),
    Pipeline("pca-helper", "pca(A, k) helper redoing the PCA per k", pca_helper, pca_helper_ideal,
             lambda s: _xy(12, 400 if s else 20_000, 40 if s else 100)),
]


def traced(d: dict) -> dict:
    """The inputs as mlcontext leaves: arrays by ``mc.asarray`` (no copy), frames by ``mc.frame``."""
    return {k: mc.frame(v) if isinstance(v, pd.DataFrame) else mc.asarray(v) for k, v in d.items()}


def plain_result(result: Any) -> Any:
    """Traced values turned into plain ones (a deferred stack is computed here)."""
    if isinstance(result, list | tuple):
        return type(result)(plain_result(r) for r in result)
    if isinstance(result, mc.TracedArray):
        return np.asarray(result)
    return result
