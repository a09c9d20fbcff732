"""Function-level reuse of ``@mc.step`` calls."""

from __future__ import annotations

import random

import numpy as np
import pytest

import mlcontext as mc

RNG = np.random.default_rng(2)
XN = RNG.normal(size=(100, 5))
YN = RNG.normal(size=100)

class _Calls(list):
    """A side channel the steps write to and never read: its fingerprint says so, so appending to it
    does not change the identity of the steps that use it (they read it as a global)."""

    def __mlcontext_fingerprint__(self) -> str:
        return "calls"


calls: list[str] = _Calls()


@mc.step
def fit(X, y, lam):
    calls.append("fit")
    w = np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)
    return w, {"lam": lam, "n": len(y)}


def test_second_call_returns_cached_outputs(check) -> None:
    calls.clear()
    X, y = mc.array(XN, name="X"), mc.array(YN, name="y")
    w1, meta1 = fit(X, y, 0.5)
    with mc.reuse_events() as events:
        w2, meta2 = fit(X, y, 0.5)
    assert calls == ["fit"]
    check(events, reused=[fit.__mlcontext_step__.qualname], did_not=["numpy.linalg.solve"])
    assert np.array_equal(np.asarray(w1), np.asarray(w2))
    assert w1.lineage == w2.lineage  # the lineage of the outputs is kept
    assert meta1 == meta2 and meta2 is not meta1  # plain outputs are copies
    fit(X, y, 0.7)  # another plain argument: another key
    fit(mc.array(XN + 1.0), y, 0.5)  # other input lineage: another key
    assert calls == ["fit"] * 3
    s = mc.reuse_stats()
    assert s.step_hits == 1 and s.step_misses == 3


def test_plain_arrays_are_keyed_by_content() -> None:
    calls.clear()
    fit(XN, YN, 0.1)
    fit(XN.copy(), YN.copy(), 0.1)
    assert calls == ["fit"]
    fit(XN + 0.0 * np.arange(5), YN, 0.1)  # equal content: still reused
    assert calls == ["fit"]


def test_code_change_is_a_new_key() -> None:
    out = _Calls()

    def make(k):
        @mc.step(name="tests.scale")
        def scale(a):
            out.append(k)
            return a * k
        return scale

    a = mc.array(np.arange(3.0))
    make(2.0)(a)
    make(2.0)(a)
    assert out == [2.0]

    @mc.step(name="tests.scale")
    def scale(a):  # same name, other code
        out.append("new")
        return a * 3.0

    scale(a)
    assert out == [2.0, "new"]


def test_unseeded_randomness_is_never_reused() -> None:
    @mc.step
    def noisy(a):
        return a + mc.random.default_rng().normal(size=3)

    @mc.step
    def legacy(a):
        return a + np.random.normal(size=3)

    @mc.step
    def stdlib(a):
        return a + random.random()

    @mc.step
    def seeded(a):
        return a + mc.random.default_rng(5).normal(size=3)

    a = mc.array(np.zeros(3))
    for f in (noisy, legacy, stdlib):
        assert not np.array_equal(np.asarray(f(a)), np.asarray(f(a)))
    before = mc.reuse_stats().step_hits
    assert np.array_equal(np.asarray(seeded(a)), np.asarray(seeded(a)))
    assert mc.reuse_stats().step_hits == before + 1


def test_all_outputs_or_none() -> None:
    @mc.step
    def odd(a):
        return a * 2, object()  # an output that cannot be frozen: nothing is cached

    a = mc.array(np.ones(2))
    with pytest.warns(mc.MLContextWarning, match="returned an object, which a cached call cannot hold"):
        odd(a)
    odd(a)
    assert mc.reuse_stats().step_hits == 0


def test_opt_out_and_unhashable_arguments() -> None:
    n = []

    @mc.step(reuse=False)
    def reads(a):
        n.append(1)
        return a + 1

    @mc.step
    def takes_fn(a, f):
        n.append(2)
        return f(a)

    a = mc.array(np.ones(2))
    reads(a), reads(a)
    takes_fn(a, np.sin), takes_fn(a, np.sin)
    assert n == [1, 1, 2, 2]


def test_failing_step_is_not_cached() -> None:
    n = []

    @mc.step
    def boom(a):
        n.append(1)
        raise RuntimeError("no")

    a = mc.array(np.ones(2))
    for _ in range(2):
        with pytest.raises(RuntimeError):
            boom(a)
    assert n == [1, 1]


@mc.step
def engineered(df):
    calls.append("engineered")
    return df.assign(ratio=df["a"] / (df["b"] + 1.0)), df["a"].rename("a_copy")


def _frame():
    return __import__("pandas").DataFrame({"a": np.arange(6.0), "b": np.linspace(0, 1, 6),
                                           "s": list("uvwxyz")})


def test_a_step_returning_frames_is_reused_and_its_outputs_stay_unchanged_by_writes() -> None:
    """Found by a newcomer: a step returning a DataFrame or a Series (plain or traced) was never
    reused, silently (only arrays and Python values could be frozen). Frames are kept as copies and
    handed out as copies: writing into what a call returned never reaches the next call's result."""
    import pandas as pd

    calls.clear()
    df = _frame()
    f1, s1 = engineered(df)
    want_f, want_s = f1.copy(), s1.copy()
    f1.loc[0, "ratio"] = -99.0  # the caller writes into its result (in place, copy-on-write or not)
    f1["a"] = 0.0
    s1.iloc[1] = -1.0
    f2, s2 = engineered(df.copy())  # equal content: the same key
    assert calls == ["engineered"]
    pd.testing.assert_frame_equal(f2, want_f)
    pd.testing.assert_series_equal(s2, want_s)
    f2.iloc[2, 0] = 7.0
    f3, _ = engineered(df)
    pd.testing.assert_frame_equal(f3, want_f)
    assert type(f3) is pd.DataFrame and f3.dtypes.equals(want_f.dtypes)


def test_a_step_returning_a_traced_frame_keeps_its_lineage_when_reused() -> None:
    import pandas as pd

    calls.clear()
    t = mc.frame(_frame(), name="raw")
    f1, s1 = engineered(t)
    f2, s2 = engineered(t)
    assert calls == ["engineered"]
    assert type(f2) is type(f1) and f2.lineage == f1.lineage and s2.lineage == s1.lineage
    pd.testing.assert_frame_equal(f2.to_pandas(), f1.to_pandas())
    handed = f2.to_pandas()
    handed.loc[0, "ratio"] = 5.0  # writes into a copy handed out: nothing cached moves
    pd.testing.assert_frame_equal(engineered(t)[0].to_pandas(), f1.to_pandas())


def test_frames_a_step_returns_stay_out_of_the_persistent_tier() -> None:
    """No persistent format keeps a frame's dtypes and index: the entry is in memory only (the
    encoder declines it instead of writing something that would come back different)."""
    from mlcontext.reuse.persistent import Frozen, encode_value

    frozen = Frozen((("frame", _frame())), 64)
    assert encode_value(frozen) is None
    assert encode_value(Frozen(("array", np.arange(3.0)), 24)) is not None


def test_the_exact_policy_reuses_operations_and_steps_and_stays_bit_identical() -> None:
    """Found by a newcomer: ``full`` left out ``@mc.step`` and ``hybrid`` rounds block products
    differently, so no policy both reused steps and kept results bit for bit. ``exact`` does."""
    rng = np.random.default_rng(5)
    Xn = rng.normal(size=(300, 7))
    Zn = np.hstack([Xn, np.ones((300, 1))])
    # (one buffer on both sides: NumPy computes Z.T @ Z of one buffer by syrk, which on some machines
    # rounds otherwise than the general product of two equal buffers)
    want = Zn.T @ Zn
    with mc.reuse("exact"):
        X = mc.asarray(Xn)
        Z = np.hstack([X, np.ones((300, 1))])
        got = np.asarray(Z.T @ Z)
        assert np.array_equal(got, want)  # computed on the stack itself, not block by block
        calls.clear()
        y = mc.asarray(rng.normal(size=300))
        w1, _ = fit(X, y, 0.3)
        w2, _ = fit(X, y, 0.3)
        assert calls == ["fit"] and np.array_equal(np.asarray(w1), np.asarray(w2))
        with mc.reuse_events() as events:
            np.hstack([X, np.ones((300, 1))]).T @ np.hstack([X, np.ones((300, 1))])
        assert any(e.kind == "reused" for e in events)
        assert not any(e.kind in ("partial", "deferred") for e in events)


def test_the_exact_policy_never_serves_what_another_policy_cached() -> None:
    """Review finding (HIGH): an entry does not record how it was made, so a Gram the rewrites
    summed block by block under ``hybrid`` was served under ``exact`` (4e-14 off). ``exact`` keeps
    its own namespace of keys, for operations and for steps."""
    rng = np.random.default_rng(11)
    A, B = rng.normal(size=(50, 4)), rng.normal(size=(60, 4))
    want = np.vstack([A, B]).T @ np.vstack([A, B])
    Z = np.vstack([mc.array(A), mc.array(B)])
    blockwise = np.asarray(Z.T @ Z)  # hybrid (the fixture): summed block by block
    assert not np.array_equal(blockwise, want), "the blocks round alike here: the test proves nothing"

    @mc.step
    def gram(M):
        return M.T @ M

    gram(np.vstack([mc.array(A), mc.array(B)]))  # a step whose body used the rewrite
    with mc.reuse("exact"):
        Z = np.vstack([mc.array(A), mc.array(B)])
        assert np.array_equal(np.asarray(Z.T @ Z), want)
        assert np.array_equal(np.asarray(gram(np.vstack([mc.array(A), mc.array(B)]))), want)
        with mc.reuse_events() as events:
            again = np.asarray(Z.T @ Z)
        assert np.array_equal(again, want) and any(e.kind == "reused" for e in events)


@mc.step
def boxed(n):
    return __import__("pandas").Series([{"k": i} for i in range(n)]), np.arange(n)


def test_a_step_returning_a_frame_of_mutable_cells_is_not_cached() -> None:
    """Review finding: a deep copy of a frame copies its object arrays, not the objects in them, so a
    dict in a cell written by one caller reached the next call's result. Such frames are not
    cached (as object arrays are not); frames of strings, numbers and dates are."""
    with pytest.warns(mc.MLContextWarning, match="a frame holding mutable objects in its cells"):
        first, _ = boxed(3)
    first.iloc[0]["k"] = "written"
    again, _ = boxed(3)
    assert again.iloc[0] == {"k": 0}
    assert mc.reuse_stats().step_hits == 0
