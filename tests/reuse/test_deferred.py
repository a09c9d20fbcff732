"""Deferred stacks: with partial reuse a stack is not copied until its elements are needed, and the
Gram / product rewrites work on its blocks (stepLM's "append avoided")."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.ops.deferred import Deferred
from mlcontext.reuse.api import get_cache

RNG = np.random.default_rng(7)
XN = RNG.normal(size=(300, 8))
CN = RNG.normal(size=(300, 4))
YN = RNG.normal(size=300)


def _close(traced, expect) -> None:
    np.testing.assert_allclose(np.asarray(traced), expect, rtol=1e-11, atol=1e-11)


def _pending(t: mc.TracedArray) -> bool:
    return type(t._data) is Deferred and not t._data.computed


def test_stack_is_deferred_and_known_without_computing(check) -> None:
    X, c = mc.array(XN), mc.array(CN[:, :1])
    with mc.reuse_events() as events:
        Z = np.hstack([X, c])
    check(events, did_not=["numpy.hstack"])
    assert [e.kind for e in events] == ["deferred"]
    assert _pending(Z)
    assert Z.shape == (300, 9) and Z.dtype == np.float64 and Z.ndim == 2 and len(Z) == 300
    assert Z.size == 2700 and Z.nbytes == 2700 * 8
    assert _pending(Z)  # asking for the shape computed nothing
    assert np.array_equal(np.asarray(Z), np.hstack([XN, CN[:, :1]]))
    assert not _pending(Z)
    assert mc.reuse_stats().deferred == 1


def test_gram_and_products_of_a_deferred_stack_never_copy_it(check) -> None:
    X, c, y = mc.array(XN), mc.array(CN[:, :1]), mc.array(YN)
    X.T @ X, X.T @ y
    Z = np.hstack([X, c])
    with mc.reuse_events() as events:
        G, b = Z.T @ Z, Z.T @ y
        r = Z @ np.ones(9)
    check(events, partial=["numpy.matmul"])
    assert _pending(Z)  # the 300 x 9 copy was never made
    ZN = np.hstack([XN, CN[:, :1]])
    _close(G, ZN.T @ ZN)
    _close(b, ZN.T @ YN)
    _close(r, ZN @ np.ones(9))


def _forward_select(X, y, steps: int = 3):
    """stepLM: append the column that lowers the ridge residual most, one at a time."""
    sel, chosen, candidates = X[:, :4], [], []
    for _ in range(steps):
        scores = {}
        for j in range(4, 8):
            if j in chosen:
                continue
            Z = np.hstack([sel, X[:, j:j + 1]])
            G, b = Z.T @ Z, Z.T @ y
            w = np.linalg.solve(G + 1e-3 * np.eye(G.shape[0]), b)
            scores[j] = float(y @ y - 2 * (w @ b) + w @ (G @ w))
            candidates.append(Z)
        chosen.append(min(scores, key=scores.get))
        sel = np.hstack([sel, X[:, chosen[-1]:chosen[-1] + 1]])
    return sel, chosen, candidates


def test_forward_selection_appends_without_copies(check) -> None:
    """Every Gram after the first comes from cached blocks; no candidate stack is ever copied."""
    sel, chosen, candidates = _forward_select(mc.array(XN), mc.array(YN))
    assert all(_pending(Z) for Z in candidates) and _pending(sel)
    _, chosen_plain, _ = _forward_select(XN, YN)
    assert chosen == chosen_plain  # the selection plain NumPy makes
    assert np.array_equal(np.asarray(sel), XN[:, [0, 1, 2, 3, *chosen]])
    assert mc.reuse_stats().partial_hits >= 2 * (len(candidates) - 1)  # all but the very first


def test_kfold_training_sets_are_never_stacked(check) -> None:
    X, y = mc.array(XN), mc.array(YN)
    folds = [X[i * 60:(i + 1) * 60] for i in range(5)]
    ys = [y[i * 60:(i + 1) * 60] for i in range(5)]
    for i in range(5):
        Xtr = np.vstack([folds[j] for j in range(5) if j != i])
        ytr = np.concatenate([ys[j] for j in range(5) if j != i])
        G, b = Xtr.T @ Xtr, Xtr.T @ ytr
        assert _pending(Xtr) and _pending(ytr)
        keep = np.r_[0:i * 60, (i + 1) * 60:300]
        _close(G, XN[keep].T @ XN[keep])
        _close(b, XN[keep].T @ YN[keep])


def test_other_operations_compute_the_stack_once() -> None:
    X, c = mc.array(XN), mc.array(CN)
    Z = np.hstack([X, c])
    e = np.exp(Z)  # needs the elements
    assert not _pending(Z)
    assert np.array_equal(np.asarray(e), np.exp(np.hstack([XN, CN])))
    assert str(np.hstack([X, c])).startswith("[[")  # printing computes it too


def test_deferred_values_survive_a_policy_switch_pickle_and_recompute() -> None:
    X, c = mc.array(XN, name="X"), mc.array(CN, name="C")
    Z = np.vstack([X[:100], X[100:]])
    W = np.hstack([X, c])
    with mc.reuse("none"):
        s = Z + 1.0  # the default executor computes the deferred input
        t = W.T
    assert np.array_equal(np.asarray(s), XN + 1.0)
    assert np.array_equal(np.asarray(t), np.hstack([XN, CN]).T)
    W2 = pickle.loads(pickle.dumps(np.hstack([X, c * 2])))
    assert np.array_equal(np.asarray(W2), np.hstack([XN, CN * 2]))
    out = mc.recompute(mc.lineage.dumps(np.hstack([X, c]).T @ X), inputs={"X": XN, "C": CN})
    _close(out, np.hstack([XN, CN]).T @ XN)


def test_policies_without_rewrites_compute_stacks_at_once() -> None:
    X, c = mc.array(XN), mc.array(CN)
    for policy in ("none", "full", "multilevel"):
        with mc.reuse(policy):
            Z = np.hstack([X, c])
        assert type(Z._data) is np.ndarray, policy


def test_stacks_that_are_not_blocks_of_the_same_rank_are_computed() -> None:
    x, v = mc.array(XN[:, 0]), mc.array(XN[:, 1])
    s = np.vstack([x, v])  # 1-D rows into a 2-D stack: computed as usual
    assert type(s._data) is np.ndarray
    assert np.array_equal(np.asarray(s), np.vstack([XN[:, 0], XN[:, 1]]))
    with pytest.raises(ValueError):
        np.hstack([mc.array(XN), mc.array(CN[:10])])  # bad shapes fail where NumPy fails


def test_deferred_get_is_safe_from_threads() -> None:
    import threading

    blocks = [RNG.normal(size=(2000, 50)) for _ in range(4)]
    for _ in range(20):
        d = Deferred(np.hstack, (blocks,), {}, (2000, 200), np.float64)
        out = []
        threads = [threading.Thread(target=lambda d=d, out=out: out.append(d.get())) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(out) == 4 and all(o is out[0] for o in out)
        assert not out[0].flags.writeable


def test_stacks_of_mixed_dtypes_are_computed_not_rewritten_by_blocks() -> None:
    X = mc.array(XN)
    flag = mc.array(XN[:, :1] > 0)  # a bool indicator column
    Z = np.hstack([X, flag])
    G = Z.T @ Z
    assert type(Z._data) is np.ndarray  # promoted to float64: not deferred
    assert np.asarray(G)[8, 8] == float((XN[:, 0] > 0).sum())  # counts, not a logical OR
    small = mc.array(np.full((300, 1), 100, dtype=np.int8))
    Zi = np.hstack([X, small])
    assert np.asarray(Zi.T @ Zi)[8, 8] == 300 * 100.0**2  # no int8 overflow
    assert np.asarray(flag.T @ flag).dtype == bool  # and no float piece cached under the bool key


def test_plain_blocks_written_after_the_stack_do_not_change_it() -> None:
    X = mc.array(XN)
    p = np.zeros((300, 1))
    Z = np.hstack([X, p])
    p[:] = 7.0  # the lineage recorded the zeros
    assert np.array_equal(np.asarray(Z)[:, 8], np.zeros(300))


def test_out_arguments_never_write_into_traced_values() -> None:
    X, c = mc.array(XN), mc.array(CN)
    Z = np.hstack([X, c])
    S = X[:, :1]
    before = X.lineage
    np.clip(X, 0, 1, out=X)  # a new version of X, the old value untouched
    assert X.lineage != before
    assert np.array_equal(np.asarray(X), np.clip(XN, 0, 1))
    assert np.array_equal(np.asarray(Z)[:, :8], XN)  # a stack is a copy: the old values
    assert np.array_equal(np.asarray(S)[:, 0], np.clip(XN, 0, 1)[:, 0])  # a view shows the write
    W = np.hstack([X, c])
    np.clip(W, 0, 0.5, out=W)  # out= into a deferred stack
    assert np.array_equal(np.asarray(W), np.clip(np.hstack([np.clip(XN, 0, 1), CN]), 0, 0.5))
    plain = np.empty(12)
    r = np.cumsum(X[:, 0][:12], out=plain)  # a plain out= target is written, as NumPy does
    assert np.array_equal(plain, np.cumsum(np.clip(XN, 0, 1)[:12, 0]))
    assert np.array_equal(np.asarray(r), plain)


def test_prefix_views_are_not_cached_so_they_cannot_pin_a_large_product() -> None:
    A, B = mc.array(RNG.normal(size=(500, 8))), mc.array(RNG.normal(size=(8, 8)))
    A @ B
    before = mc.reuse_stats().entries
    P = A @ B[:, :3]  # a prefix of the cached product: a view of it, derived again when asked
    np.testing.assert_array_equal(np.asarray(P), np.asarray(A @ B)[:, :3])
    assert P.lineage.digest not in get_cache().entries
    assert mc.reuse_stats().entries == before


def test_products_of_stacks_with_wrong_shapes_raise_numpys_error() -> None:
    A, B = mc.array(np.ones((6, 2))), mc.array(np.ones((6, 2)))
    cases = [
        lambda: np.hstack([A, B]) @ np.arange(6.0),
        lambda: np.hstack([A, B]) @ np.ones((12, 2)),
        lambda: np.vstack([A, B]).T @ np.ones(13),
        lambda: np.dot(np.hstack([A, B]), np.ones(10)),
        lambda: np.hstack([A, B]).T @ np.ones(7),
    ]
    for case in cases:
        for _ in range(2):  # and nothing wrong was cached the first time
            with pytest.raises(ValueError):
                case()
