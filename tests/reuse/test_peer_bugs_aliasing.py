"""Failure kinds found in the peers' trackers, on mlcontext's reuse cache (issue 14, fifth round).

Each test is our own small input for a kind of fault a peer shipped:

* dask/dask#3631 — with a cache on, ``from_array(ones * 3)`` computed as ``ones * 2``: two arrays of
  different content under one key. Here: constant arrays that differ only in their fill, or an
  identity that differs from a recipe in one element the cheap samples do not look at, must stay
  different leaves, also where a deferred stack rebuilds a constant block from its recipe.
* dask/dask#3674 and #11697 — ``compute()`` returned a view of the input, and writing into it
  changed the input. Here: nothing handed out may be a writable window onto a cached or traced value.
* dask/dask#6520 and #11531, joblib/joblib#95 — whether a result is writable depended on how it was
  made, or on whether it came from the cache (first run writable, second run not). Here: a traced
  value is read-only the same way on the computing call and on the hit, whatever produced it.
* scipy/scipy#24750 and #10923 (SciPy writing into read-only inputs under ``overwrite_*``) are in
  ``test_scipy_overwrite.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc


@pytest.fixture(autouse=True)
def _fresh_cache():
    mc.reuse_clear()
    yield
    mc.reuse_clear()


def test_constants_differing_only_in_fill_are_different_leaves() -> None:
    """dask#3631: 2 * ones and 3 * ones must not be served for each other, as operands or as
    deferred stack blocks rebuilt from their recipe."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    with mc.reuse():
        tx = mc.asarray(x.copy())
        for fill in (2.0, 3.0, 2.0, 3.0):
            c = np.full((50, 1), fill)  # a writable constant: rebuilt from its recipe if needed
            z = np.hstack([tx, c])
            assert np.array_equal(np.asarray(z), np.hstack([x, c]))
            assert np.allclose(np.asarray(z.T @ z), np.hstack([x, c]).T @ np.hstack([x, c]),
                               rtol=1e-13, atol=0)
            shifted = tx + np.full((50, 4), fill)
            assert np.array_equal(np.asarray(shifted), x + fill)


def test_identity_changed_where_the_samples_do_not_look_is_not_an_identity() -> None:
    """dask#3631 / joblib#565 kind: a recipe is only recorded after the whole array matched, not
    the few elements sampled first (positions 0, 1, n // 2 and n - 1)."""
    n = 6
    almost = 0.5 * np.eye(n)
    almost[2, 4] = 1e-300  # off the diagonal, not a sampled position
    exact = 0.5 * np.eye(n)
    g = np.arange(n * n, dtype=float).reshape(n, n)
    with mc.reuse():
        tg = mc.asarray(g.copy())
        a = tg + exact
        b = tg + almost
        assert a.lineage.digest != b.lineage.digest
        assert np.array_equal(np.asarray(b), g + almost)
        # as a block of a deferred stack, rebuilt only from a recipe that matched every byte
        z = np.vstack([tg, almost])
        assert np.array_equal(np.asarray(z), np.vstack([g, almost]))


def test_negative_zero_constant_is_not_served_as_positive_zero() -> None:
    """The same kind with the smallest difference there is: -0.0 and 0.0 compare equal but are
    different bytes, and 1 / x tells them apart."""
    with mc.reuse(), np.errstate(divide="ignore"):
        ones = mc.asarray(np.ones((3, 3)))
        pos = np.divide(1.0, ones * np.eye(3))
        neg = np.divide(1.0, ones * (-1.0 * np.eye(3)))
        assert np.array_equal(np.asarray(pos), 1.0 / np.eye(3))
        assert np.array_equal(np.asarray(neg), 1.0 / (-1.0 * np.eye(3)))
    assert np.asarray(neg)[0, 1] == -np.inf and np.asarray(pos)[0, 1] == np.inf


def _handed_out(t: mc.TracedArray) -> np.ndarray:
    return np.asarray(t)


@pytest.mark.parametrize("make", [
    "matmul", "slice", "transpose", "deferred_stack", "partial_gram", "ufunc", "constructor",
])
def test_values_are_read_only_on_the_computing_call_and_on_the_hit(make: str) -> None:
    """dask#6520/#11531, joblib#95: writability may not depend on how a value was made or on
    whether it came from the cache; dask#3674/#11697: writing into what is handed out must not
    reach a cached or traced value. Every array handed out for a traced value is read-only, and
    np.array(t) is a writable copy that shares nothing."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 5))
    with mc.reuse():
        tx = mc.asarray(x.copy())
        sel = tx[:, :3]
        _ = sel.T @ sel  # a cached piece the partial Gram below reuses

        def produce() -> mc.TracedArray:
            if make == "matmul":
                return tx.T @ tx
            if make == "slice":
                return tx[2:10]
            if make == "transpose":
                return tx.T
            if make == "deferred_stack":
                return np.hstack([tx, tx[:, :1]])
            if make == "partial_gram":
                z = np.hstack([sel, tx[:, 3:4]])
                return z.T @ z
            if make == "ufunc":
                return np.tanh(tx)
            return mc.array(np.arange(12.0))

        first, second = produce(), produce()
        for value in (first, second):
            out = _handed_out(value)
            assert not out.flags.writeable
            with pytest.raises(ValueError):
                out[(0,) * out.ndim] = 42.0
            copy = np.array(value)
            assert copy.flags.writeable and not np.shares_memory(copy, out)
            copy[(0,) * copy.ndim] = 42.0  # the caller's own copy: nothing traced changes
        assert np.array_equal(np.asarray(first), np.asarray(second))
        assert np.array_equal(np.asarray(tx), x)
