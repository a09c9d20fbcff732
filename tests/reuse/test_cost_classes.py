"""Admission by declared cost class (issue 14): a factorisation or solve is cached the first time it
is computed; an elementwise map, a stack or an outer product waits for its lineage to come round
again (delayed admission), whatever the machine's speed (the clock is injected).

Why not by cost per byte alone: an SVD of 10,000 x 100 costs ~5 ns per byte of output and
``tanh(X @ W)`` ~1-5 ns per byte, so a threshold low enough to keep the SVD at once also kept every
map of a pipeline without redundancy (+18 % there). Peers of the same kind: a cache that decided
what to keep by a size or time heuristic the user could not see (joblib/joblib#854, 'caching only
after second call of function'; dask/dask#6284, the opportunistic cache keeping cheap results and
dropping expensive ones).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from clocks import FakeClock

import mlcontext as mc
from mlcontext.lineage.operations import FACTOR, HEAVY, LINEAR, traits_of
from mlcontext.ops import dispatch
from mlcontext.reuse.executor import ReuseExecutor

RNG = np.random.default_rng(14)


@pytest.fixture
def slow_clock():
    """Every operation 'costs' a few tenths of a millisecond: above min_compute_s, and far below
    eager_s_per_byte for the 320 KB values used here (so cost per byte alone would delay them)."""
    from mlcontext.reuse.api import get_cache

    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=1e-5, eager_s_per_byte=1e-8):
        dispatch.set_executor(ReuseExecutor(get_cache(), True, clock=FakeClock(1e-4)))
        try:
            yield
        finally:
            dispatch.set_executor(None)
    mc.reuse_clear()


@pytest.mark.parametrize("opcode", [
    "numpy.linalg.svd", "numpy.linalg.qr", "numpy.linalg.cholesky", "numpy.linalg.eigh",
    "numpy.linalg.eig", "numpy.linalg.solve", "numpy.linalg.inv", "numpy.linalg.pinv",
    "numpy.linalg.lstsq", "numpy.linalg.det", "numpy.linalg.slogdet"])
def test_factorisations_and_solves_declare_the_factor_class(opcode) -> None:
    assert traits_of(opcode).cost == FACTOR


@pytest.mark.parametrize(("opcode", "cost"), [
    ("numpy.outer", LINEAR), ("numpy.kron", LINEAR), ("numpy.tanh", LINEAR), ("numpy.hstack", LINEAR),
    ("numpy.linalg.norm", LINEAR), ("numpy.einsum", HEAVY), ("numpy.tensordot", HEAVY),
    ("numpy.matmul", HEAVY), ("numpy.fft.fft", HEAVY), ("numpy.linalg.multi_dot", HEAVY)])
def test_cheap_per_byte_operations_are_not_in_the_factor_class(opcode, cost) -> None:
    """np.outer and np.kron are one pass over their output, like an elementwise map."""
    assert traits_of(opcode).cost == cost


def _kinds(events, name):
    return [e.kind for e in events if e.name == name]


def test_a_factorisation_is_cached_on_its_first_computation(slow_clock) -> None:
    XN = RNG.normal(size=(400, 100))
    X = mc.array(XN)
    with mc.reuse_events() as events:
        first = np.linalg.svd(X, full_matrices=False)
        again = np.linalg.svd(X, full_matrices=False)
        np.linalg.solve(X.T @ X + np.eye(100), X.T @ X[:, 0])
        np.linalg.solve(X.T @ X + np.eye(100), X.T @ X[:, 0])
    assert _kinds(events, "numpy.linalg.svd") == ["computed", "reused"]
    assert _kinds(events, "numpy.linalg.solve") == ["computed", "reused"]
    want = np.linalg.svd(XN, full_matrices=False)
    for got in (first, again):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w)


def test_an_elementwise_map_waits_for_its_lineage_to_come_round(slow_clock) -> None:
    X = mc.array(RNG.normal(size=(400, 100)))
    v = mc.array(RNG.normal(size=400))
    with mc.reuse_events() as events:
        for _ in range(3):
            np.tanh(X)
            np.outer(v, v)
    assert _kinds(events, "numpy.tanh") == ["computed", "computed", "reused"]
    assert _kinds(events, "numpy.outer") == ["computed", "computed", "reused"]


def test_a_factorisation_cheaper_than_min_compute_s_is_not_cached() -> None:
    """The class decides when, not whether: a factorisation faster than a probe is not kept."""
    from mlcontext.reuse.api import get_cache

    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=1e-3, eager_s_per_byte=1e-8):
        dispatch.set_executor(ReuseExecutor(get_cache(), True, clock=FakeClock(1e-9)))
        try:
            X = mc.array(RNG.normal(size=(20, 4)))
            with mc.reuse_events() as events:
                for _ in range(3):
                    np.linalg.qr(X)
        finally:
            dispatch.set_executor(None)
    assert _kinds(events, "numpy.linalg.qr") == ["computed"] * 3
    assert mc.reuse_stats().entries == 0


def test_scipy_linalg_results_are_plain_and_reuse_stays_correct(slow_clock) -> None:
    """scipy.linalg does not dispatch to NumPy's protocols: ``cho_factor``/``cho_solve``/``lstsq``
    on a traced array convert it (``__array__``) and return plain arrays, with no cost class and no
    lineage. A traced operation that takes such a result takes it as data, keyed by its content:
    equal results are reused, different ones are not."""
    XN = RNG.normal(size=(200, 6))
    X = mc.array(XN)
    G = X.T @ X
    c, low = scipy.linalg.cho_factor(G)
    assert type(c) is np.ndarray and isinstance(low, bool)
    x, *_ = scipy.linalg.lstsq(X, X[:, 0])
    assert type(x) is np.ndarray
    with mc.reuse_events() as events:
        a = G @ scipy.linalg.cho_solve((c, low), np.ones(6))
        b = G @ scipy.linalg.cho_solve((c, low), np.ones(6))
        d = G @ scipy.linalg.cho_solve((c, low), np.arange(6.0))
    assert _kinds(events, "numpy.matmul") == ["computed", "reused", "computed"]
    GN = XN.T @ XN
    np.testing.assert_allclose(np.asarray(a), GN @ np.linalg.solve(GN, np.ones(6)), rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(np.asarray(d), np.arange(6.0), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("opcode", ["numpy.sign", "numpy.absolute", "numpy.isnan", "numpy.isfinite",
                                    "numpy.conjugate"])
def test_ufuncs_also_named_in_the_function_table_keep_their_elementwise_family(opcode) -> None:
    """np.sign, np.abs … are listed among the functions too; registering them a second time there
    replaced their elementwise family (which the executor reads) by the function default."""
    from mlcontext.lineage.operations import ELEMENTWISE

    assert traits_of(opcode).family == ELEMENTWISE


def test_an_operation_never_worth_caching_stops_being_probed() -> None:
    """An operation that keeps running in under min_compute_s is never admitted, so its probe can
    only miss: after CHEAP_AFTER such runs it is computed without one (before, only runs under
    half of min_compute_s counted, and the ones in between were probed for ever)."""
    from mlcontext.reuse.api import get_cache
    from mlcontext.reuse.executor import CHEAP_AFTER

    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=1e-3, eager_s_per_byte=0.0):
        executor = ReuseExecutor(get_cache(), True, clock=FakeClock(0.7e-3))  # 0.7 x min_compute_s
        dispatch.set_executor(executor)
        try:
            v = mc.array(np.zeros(4))
            for _ in range(CHEAP_AFTER + 4):
                v = v + 1.0
        finally:
            dispatch.set_executor(None)
    runs = [n for sig, n in executor._cheap.items() if sig[0] == "numpy.add"]
    assert runs and max(runs) > CHEAP_AFTER
    assert mc.reuse_stats().entries == 0
    np.testing.assert_array_equal(np.asarray(v), np.full(4, CHEAP_AFTER + 4.0))


def test_a_frames_array_is_cached_on_its_first_computation_as_its_frame_is(slow_clock) -> None:
    """``engineer(df).to_numpy(dtype=float)`` per model: the conversion interleaves the frame's
    blocks (a copy's cost per byte, yet the costliest step of such a pipeline); pandas operations
    are of the cost class COARSE, cached at once like the frames they make, so the conversion is
    not computed a second time before delayed admission would keep it (pandas-feat in
    bench/pipelines_more.py: 44 % of the ideal)."""
    import pandas as pd

    from mlcontext.lineage.operations import COARSE

    assert traits_of("pandas.DataFrame.to_numpy").cost == COARSE
    rng = np.random.default_rng(3)
    raw = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000),
                        "g": rng.integers(0, 5, size=2000)})
    df = mc.frame(raw)
    with mc.reuse_events() as events:
        first = (df * 2.0).to_numpy(dtype=float)
        again = (df * 2.0).to_numpy(dtype=float)
    assert _kinds(events, "pandas.DataFrame.to_numpy") == ["computed", "reused"]
    want = (raw * 2.0).to_numpy(dtype=float)
    np.testing.assert_array_equal(np.asarray(first), want)
    np.testing.assert_array_equal(np.asarray(again), want)
