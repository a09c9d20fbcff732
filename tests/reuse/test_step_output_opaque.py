"""A step's output that is a stack is not split into its blocks by the product rewrites (issue 14).

A step's output item (``lineage.output``) has the hash of the lineage it stands for, so a lookup of
stack layouts by hash alone found the stack inside ``prep`` and split ``F.T @ F`` in ``fit`` into six
block products over views of ``F``'s computed value: nothing of them was cached, and the multilevel
benchmark went from 82 to 102 ms. A stack is split only when the item itself is the stack.
"""

from __future__ import annotations

import importlib

import numpy as np

import mlcontext as mc

rewrites = importlib.import_module("mlcontext.reuse.rewrites")


def test_a_steps_stacked_output_is_multiplied_whole(monkeypatch):
    products: list[tuple] = []
    t_times = rewrites._t_times
    monkeypatch.setattr(rewrites, "_t_times",
                        lambda x, w: products.append(x.shape) or t_times(x, w))

    @mc.step
    def prep(X):
        return np.hstack([X, np.tanh(X), X * X])

    @mc.step
    def fit(F, y, lam):
        return np.linalg.solve(F.T @ F + lam * np.eye(F.shape[1]), F.T @ y)

    rng = np.random.default_rng(0)
    XN, yN = rng.normal(size=(500, 6)), rng.normal(size=500)
    with mc.reuse("hybrid"):
        F = prep(mc.asarray(XN))
        assert F._item.opcode != "numpy.hstack"  # the stand-in for the step's stack
        got = [np.asarray(fit(F, mc.asarray(yN), lam)) for lam in (0.1, 1.0)]
    assert not any(shape[1] == 6 for shape in products), products  # no block of F was multiplied
    FN = np.hstack([XN, np.tanh(XN), XN * XN])
    for w, lam in zip(got, (0.1, 1.0), strict=True):
        assert np.array_equal(w, np.linalg.solve(FN.T @ FN + lam * np.eye(18), FN.T @ yN))


def test_the_stack_itself_is_still_split():
    rng = np.random.default_rng(1)
    XN, DN = rng.normal(size=(300, 5)), rng.normal(size=(300, 2))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        X = mc.asarray(XN)
        X.T @ X
        with mc.reuse_events() as events:
            Z = np.hstack([X, mc.asarray(DN)])
            G = Z.T @ Z
        assert [e.kind for e in events if e.name == "numpy.matmul"] == ["partial"]
    ZN = np.hstack([XN, DN])
    np.testing.assert_allclose(np.asarray(G), ZN.T @ ZN, rtol=1e-12)


def test_a_steps_output_that_is_a_column_is_not_read_as_one():
    """The same for the column sweeps: a step returning ``X[:, j:j + 1]`` gives an item with that
    slice's hash, which is not a slice of ``X`` to the rewrites."""

    @mc.step
    def column(X, j):
        return X[:, j:j + 1]

    rng = np.random.default_rng(2)
    XN = rng.normal(size=(200, 8))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        X = mc.asarray(XN)
        direct = X[:, 3:4]
        rewrites._column(direct._item)  # the slice's answer, remembered by its hash
        stand_in = column(X, 3)
        assert stand_in._item.digest == direct._item.digest
        assert rewrites._column(stand_in._item) is None
        assert rewrites._column(direct._item)[1:] == (3, 4)


def test_a_stand_in_nested_in_a_stack_stays_opaque(monkeypatch):
    """Review finding: two stacks of one hash, ``hstack([F, o])`` with ``F`` a step's output and
    ``hstack([Fd, o])`` with ``Fd`` the stack it stands for. The layout noted for the second must not
    give the first ``Fd``'s blocks: ``F`` stays whole."""
    products: list[tuple] = []
    t_times = rewrites._t_times
    monkeypatch.setattr(rewrites, "_t_times",
                        lambda x, w: products.append(x.shape) or t_times(x, w))

    def build(X):
        return np.hstack([X, np.tanh(X), X * X])

    prep = mc.step(build)
    rng = np.random.default_rng(3)
    XN, oN = rng.normal(size=(500, 6)), rng.normal(size=(500, 2))
    with mc.reuse("hybrid"):
        XA, o = mc.asarray(XN), mc.asarray(oN)
        F = prep(XA)
        H = np.hstack([F, o])
        np.hstack([build(XA), o])  # the same hash as H, noted last
        G = np.asarray(H.T @ H)
    assert not any(shape[1] == 6 for shape in products), products
    HN = np.hstack([build(XN), oN])
    np.testing.assert_allclose(G, HN.T @ HN, rtol=1e-12)


def test_a_stand_in_column_inside_a_slice_stays_opaque():
    """Review finding: ``col(X, 2)[:, None]`` (``col`` a step returning ``X[:, j]``) has the hash
    of ``X[:, 2][:, None]``; the column read for the latter must not be given to the former."""

    @mc.step
    def col(X, j):
        return X[:, j]

    XN = np.random.default_rng(4).normal(size=(100, 5))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        X = mc.asarray(XN)
        direct = X[:, 2][:, None]
        assert rewrites._column(direct._item)[1:] == (2, 3)
        stand_in = col(X, 2)[:, None]
        assert stand_in._item.digest == direct._item.digest
        assert rewrites._column(stand_in._item) is None
        assert rewrites._column(direct._item)[1:] == (2, 3)
