"""Partial reuse: each rewrite on its own, results equal to no reuse (exactly where the arithmetic is
the same, else to floating-point tolerance)."""

from __future__ import annotations

import numpy as np

import mlcontext as mc

RNG = np.random.default_rng(1)
XN = RNG.normal(size=(200, 6))
DXN = RNG.normal(size=(200, 2))
YN = RNG.normal(size=(6, 4))
DYN = RNG.normal(size=(6, 3))


def _close(traced, expect) -> None:
    np.testing.assert_allclose(np.asarray(traced), expect, rtol=1e-12, atol=1e-12)


def test_gram_of_hstack_from_cached_gram(check) -> None:
    X, dX = mc.array(XN), mc.array(DXN)
    g = X.T @ X
    with mc.reuse_events() as events:
        Z = np.hstack([X, dX])
        G = Z.T @ Z
    check(events, partial=["numpy.matmul"])
    ZN = np.hstack([XN, DXN])
    _close(G, ZN.T @ ZN)
    assert np.array_equal(np.asarray(G)[:6, :6], np.asarray(g))  # the cached block, bit for bit


def test_gram_with_a_column_of_ones(check) -> None:
    X = mc.array(XN)
    X.T @ X
    with mc.reuse_events() as events:
        Z = np.hstack([X, np.ones((200, 1))])
        G = Z.T @ Z
    check(events, partial=["numpy.matmul"])
    ZN = np.hstack([XN, np.ones((200, 1))])
    _close(G, ZN.T @ ZN)


def test_hstack_transpose_times_other(check) -> None:
    X, dX, y = mc.array(XN), mc.array(DXN), mc.array(RNG.normal(size=(200, 2)))
    X.T @ y
    with mc.reuse_events() as events:
        r = np.hstack([X, dX]).T @ y
    check(events, partial=["numpy.matmul"])
    _close(r, np.hstack([XN, DXN]).T @ np.asarray(y))
    v = mc.array(RNG.normal(size=200))  # a vector: the pieces are concatenated, not stacked
    X.T @ v
    with mc.reuse_events() as events:
        r = np.hstack([X, dX]).T @ v
    check(events, partial=["numpy.matmul"])
    _close(r, np.hstack([XN, DXN]).T @ np.asarray(v))
    w = mc.array(RNG.normal(size=6))
    X @ w
    with mc.reuse_events() as events:
        r = np.vstack([X, X[:10]]) @ w
    check(events, partial=["numpy.matmul"])
    _close(r, np.vstack([XN, XN[:10]]) @ np.asarray(w))


def test_gram_of_vstack_and_kfold_blocks(check) -> None:
    folds = [mc.array(RNG.normal(size=(50, 4))) for _ in range(4)]
    plain = [np.asarray(f) for f in folds]
    results = []
    with mc.reuse_events() as events:
        for i in range(4):
            Z = np.vstack([f for j, f in enumerate(folds) if j != i])
            results.append(Z.T @ Z)
    check(events, partial=["numpy.matmul"])
    for i, r in enumerate(results):
        ZN = np.vstack([f for j, f in enumerate(plain) if j != i])
        _close(r, ZN.T @ ZN)


def test_vstack_gram_when_first_blocks_are_cached(check) -> None:
    X, dX = mc.array(XN), mc.array(RNG.normal(size=(30, 6)))
    X.T @ X
    with mc.reuse_events() as events:
        Z = np.vstack([X, dX])
        G = Z.T @ Z
    check(events, partial=["numpy.matmul"])
    ZN = np.vstack([XN, np.asarray(dX)])
    _close(G, ZN.T @ ZN)


def test_kfold_transpose_times_targets(check) -> None:
    xs = [mc.array(RNG.normal(size=(40, 3))) for _ in range(3)]
    ys = [mc.array(RNG.normal(size=40)) for _ in range(3)]
    out = []
    with mc.reuse_events() as events:
        for i in range(3):
            Xtr = np.vstack([x for j, x in enumerate(xs) if j != i])
            ytr = np.concatenate([y for j, y in enumerate(ys) if j != i])
            out.append(Xtr.T @ ytr)
    check(events, partial=["numpy.matmul"])
    for i, r in enumerate(out):
        Xp = np.vstack([np.asarray(x) for j, x in enumerate(xs) if j != i])
        yp = np.concatenate([np.asarray(y) for j, y in enumerate(ys) if j != i])
        _close(r, Xp.T @ yp)


def test_vstack_times_matrix(check) -> None:
    X, dX, Y = mc.array(XN), mc.array(RNG.normal(size=(20, 6))), mc.array(YN)
    first = X @ Y
    with mc.reuse_events() as events:
        r = np.vstack([X, dX]) @ Y
    check(events, partial=["numpy.matmul"])
    assert np.array_equal(np.asarray(r)[:200], np.asarray(first))
    _close(r, np.vstack([XN, np.asarray(dX)]) @ YN)


def test_matrix_times_hstack(check) -> None:
    X, Y, dY = mc.array(XN), mc.array(YN), mc.array(DYN)
    first = X @ Y
    with mc.reuse_events() as events:
        r = X @ np.hstack([Y, dY])
    check(events, partial=["numpy.matmul"])
    assert np.array_equal(np.asarray(r)[:, :4], np.asarray(first))
    _close(r, XN @ np.hstack([YN, DYN]))


def test_column_prefix_from_full_product_and_from_smaller_prefix(check) -> None:
    A, B = mc.array(XN), mc.array(RNG.normal(size=(6, 6)))
    full = A @ B
    with mc.reuse_events() as events:
        r3 = A @ B[:, :3]
    check(events, partial=["numpy.matmul"])
    assert np.array_equal(np.asarray(r3), np.asarray(full)[:, :3])
    mc.reuse_clear()
    A @ B[:, :2]  # a sweep of K upwards: the next K extends the cached prefix
    with mc.reuse_events() as events:
        r5 = A @ B[:, :5]
    check(events, partial=["numpy.matmul"])
    _close(r5, XN @ np.asarray(B)[:, :5])
    with mc.reuse_events() as events:
        r4 = A @ B[:, :4]  # and a smaller K is a prefix of a cached larger one
    check(events, partial=["numpy.matmul"])
    assert np.array_equal(np.asarray(r4), np.asarray(r5)[:, :4])


def test_elementwise_over_stacked_blocks(check) -> None:
    X, dX = mc.array(XN), mc.array(DXN)
    e = np.exp(X)
    with mc.reuse_events() as events:
        r = np.exp(np.hstack([X, dX]))
    check(events, partial=["numpy.exp"])
    assert np.array_equal(np.asarray(r), np.exp(np.hstack([XN, DXN])))  # same arithmetic: exact
    assert np.array_equal(np.asarray(r)[:, :6], np.asarray(e))
    X2 = mc.array(RNG.normal(size=(200, 6)))
    X + X2
    with mc.reuse_events() as events:
        s = np.vstack([X, X]) + np.vstack([X2, X2])
    check(events, partial=["numpy.add"])
    assert np.array_equal(np.asarray(s), np.vstack([XN, XN]) + np.vstack([np.asarray(X2)] * 2))


def test_hstack_gram_without_cached_piece_caches_it_for_the_next_candidate(check) -> None:
    X = mc.array(XN)
    cols = [mc.array(RNG.normal(size=(200, 1))) for _ in range(3)]
    with mc.reuse_events() as events:
        Z = np.hstack([X, cols[0]])
        G = Z.T @ Z
    assert not [e for e in events if e.kind == "partial"]  # nothing to reuse yet
    _close(G, np.asarray(Z).T @ np.asarray(Z))
    with mc.reuse_events() as events:
        for c in cols[1:]:
            Z = np.hstack([X, c])
            _close(Z.T @ Z, np.asarray(Z).T @ np.asarray(Z))
    assert [e.kind for e in events if e.name == "numpy.matmul"] == ["partial", "partial"]
    check(events, did_not=["numpy.matmul"])


def test_prefix_sweep_computes_ahead_and_takes_gram_corners(check) -> None:
    """PCA sweep: P = A @ V[:, :k] for k = 2, 4, ...: the cached product grows geometrically (twice
    the columns asked), so most k are prefixes; P'P and P'y are corners of the widest member's."""
    A = mc.array(RNG.normal(size=(200, 16)))
    y = mc.array(RNG.normal(size=200))
    V = (A.T @ A)[:, ::-1]
    An, Vn, yn = np.asarray(A), np.asarray(V), np.asarray(y)
    kinds = []
    for k in range(2, 17, 2):
        with mc.reuse_events() as events:
            P = A @ V[:, :k]
            G, b = P.T @ P, P.T @ y
        kinds.append([e.kind for e in events if e.name == "numpy.matmul"])
        Pn = An @ Vn[:, :k]
        np.testing.assert_allclose(np.asarray(P), Pn, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(np.asarray(G), Pn.T @ Pn, rtol=1e-10, atol=1e-6)
        np.testing.assert_allclose(np.asarray(b), Pn.T @ yn, rtol=1e-10, atol=1e-8)
    assert kinds[0] == ["computed"] * 3  # the first k: nothing to reuse yet
    # k = 4 extends k = 2 to 8 columns (and computes the 8-column Gram and P'y once); k = 6 takes
    # prefixes and corners of them; k = 8 is the wider product itself, cached under its own lineage
    # hash: full hits. k = 10 extends to 16 columns, and so on.
    assert kinds[1] == ["partial", "computed", "computed"]
    assert kinds[2] == ["partial"] * 3
    assert kinds[3] == ["reused"] * 3
    assert kinds[4] == ["partial", "computed", "computed"]
    assert kinds[5] == kinds[6] == ["partial"] * 3 and kinds[7] == ["reused"] * 3
