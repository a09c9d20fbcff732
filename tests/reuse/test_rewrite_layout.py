"""Products served from a wider cached product have NumPy's layout (found by a newcomer: a column
prefix ``A @ B[:, :k]`` came back as a strided view of the cached ``A @ B[:, :k']``, so sums over it
rounded differently and C-order code saw other strides). The view is copied into C order when its
elements are first read; the rewrites that consume it by lineage never read them."""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc


@pytest.fixture(autouse=True)
def _fresh() -> None:
    mc.reuse_clear()


@pytest.mark.parametrize("policy", ["hybrid", "partial"])
def test_a_column_prefix_is_c_ordered_and_sums_as_numpy_does(policy: str) -> None:
    rng = np.random.default_rng(0)
    a_np, b_np = rng.normal(size=(400, 60)), rng.normal(size=(60, 50))
    with mc.reuse(policy):
        a, b = mc.array(a_np), mc.array(b_np)
        for k in (10, 7, 25, 40, 5, 25):
            p = a @ b[:, :k]
            want = a_np @ b_np[:, :k]
            got = np.asarray(p)
            assert got.flags.c_contiguous and got.strides == want.strides, k
            # values to partial reuse's tolerance (an extended prefix computes new columns on their
            # own, which BLAS may round otherwise); a sum over them in NumPy's order for C arrays
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
            assert float(p.sum()) == float(np.ascontiguousarray(got).sum()), k
            gram = np.asarray(p.T @ p)
            assert gram.flags.c_contiguous, k
            np.testing.assert_allclose(gram, want.T @ want, rtol=1e-12)
        assert mc.reuse_stats().partial_hits > 0  # (the prefixes were served from the cache)


def test_the_prefix_of_a_pca_sweep_still_needs_no_copy() -> None:
    """PCALM's P.T @ P and P.T @ y are served from the widest member's head: P's elements are never
    read, so no copy of P is made (the deferred copy stays uncomputed)."""
    rng = np.random.default_rng(1)
    x = mc.array(rng.normal(size=(300, 30)))
    y = mc.array(rng.normal(size=300))
    _, v = np.linalg.eigh(x.T @ x)
    for k in (5, 10, 15, 20):
        p = x @ v[:, :k]
        w = np.linalg.solve(p.T @ p + 0.1 * np.eye(k), p.T @ y)
        assert np.asarray(w).shape == (k,)


def test_a_one_row_product_has_numpy_strides() -> None:
    """A (1, k) view of a wider cached product is flagged C-contiguous, with the wide array's row
    stride: it is copied too (found in review)."""
    rng = np.random.default_rng(7)
    a_np, b_np = rng.normal(size=(1, 20)), rng.normal(size=(20, 30))
    a, b = mc.array(a_np), mc.array(b_np)
    for k in (10, 20, 5):
        p = np.asarray(a @ b[:, :k])
        assert p.strides == (a_np @ b_np[:, :k]).strides, k
