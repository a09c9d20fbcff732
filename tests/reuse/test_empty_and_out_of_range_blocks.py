"""Products over stacks whose blocks are empty or reach past the array, under every reuse policy.

A newcomer's forward selection ran its candidates over ``range(k, p + 1)``, one past the last column:
the last candidate ``X[:, p:p+1]`` is an empty block, NumPy's Gram of the stack is still defined, and
the hybrid policy crashed (the column sweep gave a 1 x 0 row of squared norms for the empty block's
0 x 0 Gram). Each program runs twice per policy, so the second run goes through the cache's hits;
every result is compared with plain NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc

POLICIES = ["none", "full", "partial", "multilevel", "exact", "hybrid"]
RNG = np.random.default_rng(14)
XN = RNG.normal(size=(9, 4))
YN = RNG.normal(size=9)


def forward_selection_one_past_the_end(X, y):  # the newcomer's off-by-one: j == p is empty
    out = []
    for j in range(2, X.shape[1] + 2):
        Z = np.hstack([X[:, :2], X[:, j:j + 1]])
        out += [Z.T @ Z, Z.T @ y, y @ Z]
    return out


def columns_past_the_end(X, y):
    out = []
    for j in (3, 4, 5, 7):  # the first column (j = 3) is real, then three past the end
        c = X[:, j:j + 1]
        out += [c.T @ c, X.T @ c, c.T @ X]
    return out


def empty_first_block(X, y):
    Z = np.hstack([X[:, :0], X[:, 1:3]])
    W = np.hstack([X[:, 9:10], X])
    return [Z.T @ Z, W.T @ W, Z.T @ y]


def prefixes_past_the_end(X, y):
    return [X @ np.eye(4)[:, :k] for k in (2, 4, 6, 9)] + [(X[:, :k]).T @ X[:, :k] for k in (3, 6, 5)]


def folds_with_an_empty_fold(X, y):
    xs = [X[0:4], X[4:9], X[9:12]]  # the last fold is empty
    out = []
    for i in range(3):
        Xtr = np.vstack([xs[j] for j in range(3) if j != i])
        out.append(Xtr.T @ Xtr)
    return out


PROGRAMS = [forward_selection_one_past_the_end, columns_past_the_end, empty_first_block,
            prefixes_past_the_end, folds_with_an_empty_fold]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_results_equal_numpy(program, policy) -> None:
    expected = program(XN, YN)
    with mc.reuse(policy, min_compute_s=0, eager_s_per_byte=0):
        mc.reuse_clear()
        for _ in range(2):
            got = program(mc.array(XN, name="X"), mc.array(YN, name="y"))
            assert len(got) == len(expected)
            for g, e in zip(got, expected, strict=True):
                g = np.asarray(g)
                assert g.shape == e.shape and g.dtype == e.dtype
                np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
