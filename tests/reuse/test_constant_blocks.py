"""A plain constant block of a deferred stack is rebuilt from its recipe, not copied (issue 14).

``np.hstack([X, np.ones((n, 1))])`` in a loop (HLM's intercept) handed a fresh writable ``np.ones`` to
every deferred stack, which copied it (a stack reads its blocks later than NumPy would, and the caller
may write into a plain array after the call). The leaf of such an array records a recipe (``full``,
``eye``, ``arange``: the bytes were compared when the leaf was made), so the block is now rebuilt from
the recipe if its elements are ever needed, which the intercept's column sums never need.

Differential against plain NumPy, with the constant written after the call; a block the recipe would
build in another layout (Fortran order) is still copied, keeping NumPy's result layout.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.ops import dispatch
from mlcontext.ops.deferred import Deferred

N = 700  # 700 x 1 float64 is 5,600 bytes: over the embedding limit, so the leaf has a recipe

CONSTANTS = {
    "ones column": lambda: np.ones((N, 1)),
    "full 0.5, three columns": lambda: np.full((N, 3), 0.5),
    "arange column": lambda: np.arange(N, dtype=float).reshape(N, 1),
    "zeros int column": lambda: np.zeros((N, 1), dtype=np.int64),
}
STACKS = {
    "hstack": lambda blocks: np.hstack(blocks),
    "concatenate": lambda blocks: np.concatenate(blocks, axis=1),
    "column_stack": lambda blocks: np.column_stack(blocks),
}


def _blocks(traced: mc.TracedArray) -> list:
    call = traced._data.call
    assert call is not None, "the stack was computed at the call"
    return list(call[1][0])


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("constant", CONSTANTS)
def test_a_constant_block_is_rebuilt_from_its_recipe_and_matches_numpy(stack, constant):
    rng = np.random.default_rng(1)
    dtype = CONSTANTS[constant]().dtype
    X = rng.normal(size=(N, 4)).astype(dtype)
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        plain_c, traced_c = CONSTANTS[constant](), CONSTANTS[constant]()
        want = STACKS[stack]([X, plain_c])
        Z = STACKS[stack]([mc.asarray(X.copy()), traced_c])
        assert type(_blocks(Z)[1]) is Deferred  # not copied: rebuilt when needed
        traced_c[:] = 7  # after the call: NumPy's result has the old values
        G = Z.T @ Z
        assert np.array_equal(np.asarray(Z), want)
        np.testing.assert_allclose(np.asarray(G), want.T @ want, rtol=1e-12)


def test_the_intercept_never_builds_its_column():
    rng = np.random.default_rng(2)
    XN, y = rng.normal(size=(N, 5)), rng.normal(size=N)
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        X, t = mc.asarray(XN), mc.asarray(y)
        for lam in (0.1, 1.0):  # the second fit finds the column sums cached
            Z = np.hstack([X, np.ones((N, 1))])
            w = np.linalg.solve(Z.T @ Z + lam * np.eye(6), Z.T @ t)
        ones = _blocks(Z)[1]
        assert type(ones) is Deferred and not ones.computed
    ZN = np.hstack([XN, np.ones((N, 1))])
    np.testing.assert_allclose(np.asarray(w), np.linalg.solve(ZN.T @ ZN + np.eye(6), ZN.T @ y),
                               rtol=1e-10)


def test_a_constant_in_fortran_order_is_copied_and_keeps_the_layout():
    rng = np.random.default_rng(3)
    X = np.asfortranarray(rng.normal(size=(N, 4)))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        plain_c, traced_c = np.ones((N, 3), order="F"), np.ones((N, 3), order="F")
        want = np.hstack([X, plain_c])
        Z = np.hstack([mc.asarray(X.copy(order="F")), traced_c])
        block = _blocks(Z)[1]
        assert type(block) is np.ndarray and block.flags.f_contiguous
        traced_c[:] = 7
        got = np.asarray(Z)
        assert np.array_equal(got, want)
        assert got.flags.c_contiguous == want.flags.c_contiguous
        assert got.flags.f_contiguous == want.flags.f_contiguous


def test_a_constant_stacked_twice_in_one_call_is_right():
    c = np.ones((N, 1))
    X = np.random.default_rng(4).normal(size=(N, 2))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        Z = np.hstack([mc.asarray(X), c, c])
        c[:] = 3
        assert np.array_equal(np.asarray(Z), np.hstack([X, np.ones((N, 1)), np.ones((N, 1))]))


def test_a_transpose_is_never_probed_and_counts_as_computed(monkeypatch):
    """A transpose is a view, and views are never cached: probing one could only miss."""
    X = mc.asarray(np.random.default_rng(5).normal(size=(50, 4)))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        cache = dispatch.STATE.executor.cache
        probed = []
        reserve = cache.reserve
        monkeypatch.setattr(cache, "reserve", lambda key: probed.append(key) or reserve(key))
        before = mc.reuse_stats()
        with mc.reuse_events() as events:
            for _ in range(3):
                T = X.T
        after = mc.reuse_stats()
        assert probed == []
        assert [e.kind for e in events] == ["computed"] * 3
        assert after.misses - before.misses == 3 and after.hits == before.hits
        assert np.array_equal(np.asarray(T), np.asarray(X).T)
        Z = np.hstack([X, X])
        probed.clear()
        with mc.reuse_events() as events:
            ZT = Z.T
        assert probed == [] and [e.kind for e in events] == ["deferred"] and type(ZT._data) is Deferred
        assert np.array_equal(np.asarray(ZT), np.hstack([np.asarray(X)] * 2).T)


def test_a_bool_block_of_bytes_other_than_one_is_stacked_with_its_own_bytes() -> None:
    """A large bool column viewed from bytes of 2 is no constant a recipe can rebuild (its scalar
    would build 0x01): the deferred stack keeps its bytes, as NumPy's does (found in review)."""
    n = 20_000
    b = np.random.default_rng(1).normal(size=(n, 3)) > 0
    c = np.full((n, 1), 2, np.uint8).view(bool)
    for policy in ("hybrid", "exact", "none"):
        with mc.reuse(policy):
            z = np.asarray(np.hstack([mc.asarray(b.copy()), c]))
        assert z.tobytes() == np.hstack([b, c]).tobytes(), policy
