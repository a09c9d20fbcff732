"""Full reuse: same lineage hash, same value; counters, events, mutation safety, non-reusable ops."""

from __future__ import annotations

import numpy as np
import pytest
from clocks import FakeClock, install

import mlcontext as mc
from mlcontext.ops import dispatch

RNG = np.random.default_rng(0)
XN = RNG.normal(size=(300, 8))
YN = RNG.normal(size=300)


def test_lambda_sweep_computes_gram_once(check) -> None:
    X, y = mc.array(XN, name="X"), mc.array(YN, name="y")
    with mc.reuse_events() as first:
        w0 = np.linalg.solve(X.T @ X + 0.1 * np.eye(8), X.T @ y)
    with mc.reuse_events() as second:
        w1 = np.linalg.solve(X.T @ X + 1.0 * np.eye(8), X.T @ y)
    check(first, did=["numpy.matmul", "numpy.linalg.solve"])
    check(second, did=["numpy.linalg.solve"], did_not=["numpy.matmul"], reused=["numpy.matmul"])
    expect = np.linalg.solve(XN.T @ XN + np.eye(8), XN.T @ YN)
    assert np.array_equal(np.asarray(w1), expect)
    assert w0.lineage != w1.lineage
    s = mc.reuse_stats()
    assert s.hits >= 2 and s.misses >= 4 and s.saved_s > 0


def test_reused_value_keeps_its_lineage() -> None:
    X = mc.array(XN, name="X")
    a, b = X.T @ X, X.T @ X
    assert a.lineage == b.lineage
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.array_equal(mc.recompute(mc.lineage.dumps(b), inputs={"X": XN}), np.asarray(b))


def test_policy_none_computes_everything() -> None:
    X = mc.array(XN)
    with mc.reuse("none"), mc.reuse_events() as events:
        X.T @ X
        X.T @ X
    assert events == []
    assert mc.reuse_stats().hits == 0


def test_writing_into_results_never_changes_the_cache() -> None:
    X = mc.array(XN)
    g = X.T @ X
    plain = np.asarray(g)
    with pytest.raises(ValueError):
        plain[0, 0] = 99.0  # the cached value is read-only
    g[0, 0] = 99.0  # a traced write makes a new version, the cached one is untouched
    again = X.T @ X
    assert np.asarray(again)[0, 0] == (XN.T @ XN)[0, 0]
    np.add(g, 1.0, out=g)  # out= on a traced array: a new version too
    assert np.asarray(X.T @ X)[0, 0] == (XN.T @ XN)[0, 0]


def test_views_of_plain_arguments_are_copied_before_caching() -> None:
    from mlcontext.reuse.executor import freeze_array

    base = np.arange(12.0).reshape(3, 4)
    assert freeze_array(base.T, (base,), copy_views=False) is None  # operations: views not cached
    frozen = freeze_array(base[:, :2], (base,))  # step outputs: views of inputs are copied
    base[0, 0] = -1.0  # the argument is written afterwards
    assert frozen[0, 0] == 0.0 and not frozen.flags.writeable
    assert freeze_array(base.T, (base,)).flags.f_contiguous  # the copy keeps the layout
    owned = np.ones(3)
    assert freeze_array(owned) is owned and not owned.flags.writeable


def test_unseeded_randomness_is_never_served_twice() -> None:
    a = mc.random.default_rng().normal(size=5)
    b = mc.random.default_rng().normal(size=5)
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    s1 = mc.random.default_rng(7).normal(size=5)
    s2 = mc.random.default_rng(7).normal(size=5)
    assert np.array_equal(np.asarray(s1), np.asarray(s2))


def test_cheap_operations_are_not_admitted() -> None:
    X = mc.array(XN)
    with mc.reuse(min_compute_s=10.0):
        before = mc.reuse_stats().entries
        X.T @ X
        assert mc.reuse_stats().entries == before


def test_bad_policy_is_refused() -> None:
    with pytest.raises(mc.ConfigError):
        mc.reuse("sometimes")
    with pytest.raises(mc.ConfigError):
        mc.reuse(eviction="random")


def test_delayed_admission_a_pipeline_without_redundancy_keeps_nothing(check) -> None:
    X = mc.array(RNG.normal(size=(200, 40)))
    Ws = [mc.array(RNG.normal(size=(40, 40)) / 7) for _ in range(4)]

    def chain():
        h = X
        for W in Ws:
            h = np.tanh(h @ W)
        return np.asarray(h)

    with mc.reuse(eager_s_per_byte=1.0):  # no operation is expensive enough to keep at once
        first = chain()
        assert mc.reuse_stats().entries == 0
        with mc.reuse_events() as second:
            again = chain()  # the same lineage a second time: now each value is cached
        with mc.reuse_events() as third:
            chain()
    check(second, did=["numpy.matmul", "numpy.tanh"])
    check(third, did_not=["numpy.matmul", "numpy.tanh"], reused=["numpy.matmul", "numpy.tanh"])
    assert np.array_equal(first, again)


# The two tests of learned cheapness (operations cheaper than a probe stop being probed; an
# expensive call with the shapes of cheap ones is still reused) run on a fake clock in test_rules.py.


def test_a_cheap_input_of_a_value_cached_at_once_is_kept_with_it(check) -> None:
    """Delayed admission leaves the centred matrix out (cheap for its size), but it fed a covariance
    that is cached at once: when the pipeline runs again, the centring would be computed before the
    covariance could be found, so it is kept too."""
    X = mc.array(RNG.normal(size=(4000, 40)))

    def covariance():
        Xc = X - X.mean(axis=0)
        return Xc.T @ Xc

    # On a fake clock every operation costs 1 ms (a real one made this test depend on the machine's
    # load): per byte of its result the centring (1.28 MB) costs 0.8 ns, delayed, and the Gram
    # (12.8 KB) 78 ns, cached at once.
    with mc.reuse("hybrid", eager_s_per_byte=5e-9):
        install(FakeClock(step=1e-3))
        try:
            first = covariance()
            with mc.reuse_events() as again:
                second = covariance()
        finally:
            dispatch.set_executor(None)
    check(again, did_not=["numpy.subtract", "numpy.matmul"], reused=["numpy.subtract", "numpy.matmul"])
    assert np.array_equal(np.asarray(first), np.asarray(second))
