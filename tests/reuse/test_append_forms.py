"""Appending columns, written any way NumPy allows, is one mechanism for reuse (issue 14): the Gram
``Z.T @ Z`` and ``Z.T @ y`` of ``Z = append(base, column)`` are assembled from the base's cached
Gram and each candidate's products, and the results equal plain NumPy's whatever the form
(``np.hstack``, ``np.column_stack``, ``np.block``, ``np.concatenate(axis=1)``, ``np.c_``) and
however deep the appends nest (a forward selection's later steps)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlcontext as mc

rewrites = importlib.import_module("mlcontext.reuse.rewrites")

APPEND = {
    "hstack": lambda s, X, c: np.hstack([s, X[:, c:c + 1]]),
    "column_stack": lambda s, X, c: np.column_stack([s, X[:, c:c + 1]]),
    "block": lambda s, X, c: np.block([s, X[:, c:c + 1]]),
    "concatenate": lambda s, X, c: np.concatenate([s, X[:, c:c + 1]], axis=1),
    "c_": lambda s, X, c: np.c_[s, X[:, c]],
}


def _selection(X, y, append, base: int, steps: int, order: list[int]):
    """Forward selection as users write it: every candidate appended to the selection so far, its
    Gram and right-hand side computed, the best kept (by a rule that does not round differently)."""
    out = []
    sel = X[:, :base]
    cand = [base + k for k in order]
    for _ in range(steps):
        scores = []
        for c in cand:
            Z = append(sel, X, c)
            G, b = Z.T @ Z, Z.T @ y
            out += [np.asarray(G).copy(), np.asarray(b).copy()]
            scores.append(float(np.asarray(G)[-1, -1]))
        best = cand[int(np.argmax(scores))]
        sel = append(sel, X, best)
        cand.remove(best)
    out.append(np.asarray(sel).copy())
    return out


@settings(max_examples=30, deadline=None)
@given(form=st.sampled_from(sorted(APPEND)), base=st.integers(1, 6), steps=st.integers(1, 4),
       rows=st.integers(2, 40), seed=st.integers(0, 2**16),
       order=st.permutations(list(range(7))), policy=st.sampled_from(["hybrid", "partial", "none"]))
def test_appended_grams_equal_plain_numpy(form, base, steps, rows, seed, order, policy) -> None:
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(rows, base + 7)), rng.normal(size=rows)
    want = _selection(X, y, APPEND[form], base, steps, list(order))
    mc.reuse_clear()
    with mc.reuse(policy):
        got = _selection(mc.asarray(X), mc.asarray(y), APPEND[form], base, steps, list(order))
        again = _selection(mc.asarray(X), mc.asarray(y), APPEND[form], base, steps, list(order))
    for g, a, w in zip(got, again, want, strict=True):
        assert g.shape == w.shape and a.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10 * (1 + np.abs(w).max(initial=0)))
        np.testing.assert_allclose(a, w, rtol=1e-10, atol=1e-10 * (1 + np.abs(w).max(initial=0)))


@pytest.mark.parametrize("form", sorted(APPEND))
def test_the_gram_of_a_nested_base_is_assembled_once_per_step(form, monkeypatch) -> None:
    """After a selection step the base is itself a stack (``append(append(S, c1), c)``): its Gram
    was rebuilt from its blocks for every candidate of the next step; now it is cached the first
    time and found by its lineage hash afterwards."""
    assembled: list[int] = []
    original = rewrites._block_gram

    def counting(c, op, top, items, values, depth):
        if depth:
            assembled.append(len(items))
        return original(c, op, top, items, values, depth)

    monkeypatch.setattr(rewrites, "_block_gram", counting)
    rng = np.random.default_rng(1)
    XN = rng.normal(size=(30, 12))
    X = mc.asarray(XN)
    sel = APPEND[form](X[:, :4], X, 4)  # the first step chose column 4
    for c in range(5, 12):
        Z = APPEND[form](sel, X, c)
        G = Z.T @ Z
        want = np.c_[XN[:, :5], XN[:, c]]
        np.testing.assert_allclose(np.asarray(G), want.T @ want, rtol=1e-12)
    assert assembled == [2], assembled  # the nested base's Gram: once, for the first candidate


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 600), cols=st.integers(1, 6), seed=st.integers(0, 2**16), first=st.booleans(),
       scale=st.sampled_from([1.0, 1e-8, 1e8]), dtype=st.sampled_from(["f8", "f4"]))
def test_intercept_column_products_equal_plain_numpy(rows, cols, seed, first, scale, dtype) -> None:
    """``T(hstack[X, 1]) @ hstack[X, 1]`` and ``@ y`` (HLM's intercept) take the ones' products as
    column sums: equal to NumPy's up to rounding, on either side of the data, in any float dtype."""
    rng = np.random.default_rng(seed)
    XN = (rng.normal(size=(rows, cols)) * scale).astype(dtype)
    yN = rng.normal(size=rows).astype(dtype)

    def fit(X, y):
        ones = np.ones((X.shape[0], 1), dtype=dtype)
        Z = np.hstack([ones, X] if first else [X, ones])
        return [np.asarray(Z.T @ Z).copy(), np.asarray(Z.T @ y).copy()]

    want = fit(XN, yN)
    mc.reuse_clear()
    X, y = mc.asarray(XN), mc.asarray(yN)
    for got in (fit(X, y), fit(X, y)):
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype and g.shape == w.shape
            tol = 1e-12 if dtype == "f8" else 1e-4
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol * np.abs(w).max(initial=0))


def test_intercept_products_are_column_sums_not_a_transposed_product(monkeypatch) -> None:
    """The product of the data with a column of ones never reaches the BLAS product (``_t_times``);
    the Grams still do."""
    seen: list[tuple] = []
    original = rewrites._t_times

    def counting(x, w):
        seen.append((x.shape, None if w is None else w.shape))
        return original(x, w)

    monkeypatch.setattr(rewrites, "_t_times", counting)
    XN = np.random.default_rng(3).normal(size=(1000, 4))
    X = mc.asarray(XN)
    Z = np.hstack([X, np.ones((1000, 1))])
    G = Z.T @ Z
    want = np.c_[XN, np.ones(1000)]
    want = want.T @ want
    np.testing.assert_allclose(np.asarray(G), want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
    # Grams only (X'X, and 1'1 of one column): X'1 is a column sum, no product by the ones.
    assert sorted(seen) == [((1000, 1), None), ((1000, 4), None)], seen
