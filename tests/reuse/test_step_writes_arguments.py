"""A step that writes into its arguments is never reused: a call served from the cache would skip the
write, and the program would compute something else than it does without reuse (a newcomer's
``center_(a2)`` left ``a2`` uncentred). Each argument that can be written is fingerprinted again
after a call that ran the body and compared with the fingerprint the key was made of.

Peers' failures of the kind: joblib/joblib#82 (a cached function that set a key of its dict argument
left the dict unchanged on a re-run served from the cache, "hard to debug in a big script") and
joblib/joblib#948 (a cached function appending to its list argument stored its output under a key made
from the changed argument)."""

from __future__ import annotations

import types
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import StepSideEffectWarning
from mlcontext.tracking.persistent_cache import StoreTier

AN = np.random.default_rng(0).normal(size=(200, 5))


def _center_(X):
    X -= X.mean(0)
    return X.std()


def test_a_step_centring_its_argument_in_place_computes_what_plain_python_does() -> None:
    plain1, plain2 = AN.copy(), AN.copy()
    expect1, expect2 = _center_(plain1), _center_(plain2)
    center_ = mc.step(_center_)
    with warnings.catch_warnings(record=True) as seen:  # (the values first, the warning below)
        warnings.simplefilter("always")
        a1 = AN.copy()
        r1 = center_(a1)
        a2 = AN.copy()
        r2 = center_(a2)  # computed again: a hit would leave a2 as it was
    assert np.array_equal(a1, plain1) and np.array_equal(a2, plain2)  # bit for bit
    assert r1 == expect1 and r2 == expect2
    s = mc.reuse_stats()
    assert s.step_hits == 0 and s.step_misses == 2
    assert [w.category for w in seen] == [StepSideEffectWarning]  # once per step


def test_the_warning_names_the_step_and_the_argument() -> None:
    center_ = mc.step(_center_)
    with pytest.warns(StepSideEffectWarning, match=r"step test_step_writes_arguments\._center_ wrote into "
                      r"its argument 'X' in place: a call that does is not reused") as seen:
        center_(AN.copy())
    assert seen[0].filename == __file__  # the line calling the step
    center_(AN.copy())  # not warned of twice (the suite turns warnings into errors)


def test_a_list_argument_appended_to() -> None:
    @mc.step
    def push(xs, v):
        xs.append(v)
        return len(xs)

    first = [1, 2]
    with pytest.warns(StepSideEffectWarning, match=r"push wrote into its argument 'xs'"):
        n1 = push(first, 3)
    second = [1, 2]
    n2 = push(second, 3)
    assert first == second == [1, 2, 3] and n1 == n2 == 3
    assert mc.reuse_stats().step_hits == 0


def test_a_dict_argument_modified() -> None:
    @mc.step
    def tag(d, *, key):
        d[key] = len(d)
        return sorted(d)

    with pytest.warns(StepSideEffectWarning, match=r"tag wrote into its argument 'd'"):
        d1 = {"a": 1}
        tag(d1, key="seen")
    d2 = {"a": 1}
    assert tag(d2, key="seen") == ["a", "seen"]
    assert d1 == d2 == {"a": 1, "seen": 1}
    assert mc.reuse_stats().step_hits == 0


def test_a_view_argument_written_through() -> None:
    @mc.step
    def zero_head(V):
        V[:] = 0.0
        return 1.0

    a1, a2 = AN.copy(), AN.copy()
    with pytest.warns(StepSideEffectWarning, match=r"zero_head wrote into its argument 'V'"):
        zero_head(a1[:, :2])
    zero_head(a2[:, :2])
    expect = AN.copy()
    expect[:, :2] = 0.0
    assert np.array_equal(a1, expect) and np.array_equal(a2, expect)


def test_arrays_inside_a_tuple_or_a_keyword_dict_written() -> None:
    @mc.step
    def double_all(arrays, opts):
        for a in arrays:
            a *= 2.0
        opts["w"] += 1.0
        return len(arrays)

    with pytest.warns(StepSideEffectWarning, match=r"double_all wrote into its argument 'arrays'"):
        first = (AN[:3].copy(), AN[3:6].copy())
        double_all(first, {"w": np.zeros(2)})
    w = np.zeros(2)
    second = (AN[:3].copy(), AN[3:6].copy())
    double_all(second, opts={"w": w})  # a keyword argument, a tuple of arrays and an array in a dict
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(second[0], AN[:3] * 2.0) and np.array_equal(w, np.ones(2))


def test_traced_values_made_new_versions_in_place() -> None:
    # ``X -= m`` on a traced array, ``df[c] = v`` on a traced frame: the caller's object becomes a
    # new version, as a plain array or frame would change
    @mc.step
    def center_traced(X):
        X -= X.mean(0)
        return float(np.asarray(X.std()))

    @mc.step
    def add_column(df):
        df["c"] = df["a"] * 2.0
        return 1.0

    with pytest.warns(StepSideEffectWarning):
        t1 = mc.array(AN)
        center_traced(t1)
    t2 = mc.array(AN)
    center_traced(t2)
    assert np.array_equal(np.asarray(t1), np.asarray(t2))
    assert np.allclose(np.asarray(t2).mean(0), 0.0)
    with pytest.warns(StepSideEffectWarning, match=r"add_column wrote into its argument 'df'"):
        f1 = mc.frame(pd.DataFrame({"a": [1.0, 2.0]}))
        add_column(f1)
    f2 = mc.frame(pd.DataFrame({"a": [1.0, 2.0]}))
    add_column(f2)
    p = pd.DataFrame({"a": [1.0, 2.0]})
    add_column(p)  # a plain frame: the same step, already warned of
    assert list(f1.columns) == list(f2.columns) == list(p.columns) == ["a", "c"]
    assert mc.reuse_stats().step_hits == 0


def test_an_attribute_of_an_argument_object_set() -> None:
    @mc.step
    def bump(state):
        state.count += 1
        return state.count

    with pytest.warns(StepSideEffectWarning, match=r"bump wrote into its argument 'state'"):
        s1 = types.SimpleNamespace(count=0)
        bump(s1)
    s2 = types.SimpleNamespace(count=0)
    assert bump(s2) == 1 and s1.count == s2.count == 1


def test_a_step_that_does_not_write_is_still_reused(check) -> None:
    @mc.step
    def center(X):
        return X - X.mean(0)

    first = center(AN.copy())
    with mc.reuse_events() as events:
        second = center(AN.copy())
    check(events, reused=[center.__mlcontext_step__.qualname])
    assert np.array_equal(first, second) and mc.reuse_stats().step_hits == 1


def test_a_write_that_changes_nothing_is_reused() -> None:
    # writing what was there already: the argument's fingerprint after equals the one before, so a
    # hit, which skips the write, leaves the argument as the body would have
    @mc.step
    def clip_(X):
        np.maximum(X, 0.0, out=X)
        return float(X.sum())

    X = np.abs(AN)
    clip_(X)
    assert clip_(np.abs(AN)) == float(X.sum()) and mc.reuse_stats().step_hits == 1


def test_a_global_written_and_set_back_is_not_a_stale_hit() -> None:
    # The list is in the step's identity (a closure cell), so the second call of an epoch has another
    # key; but after ``log.clear()`` the first call's key comes round again, and a hit would skip the
    # append. Not warned of (a step logging to a list it closes over is common).
    log: list[int] = []

    @mc.step
    def record(v):
        log.append(v)
        return v * 2

    for _ in range(2):
        log.clear()
        assert (record(1), record(2)) == (2, 4)
        assert log == [1, 2]
    assert mc.reuse_stats().step_hits == 0


def test_a_defaultdict_filled_by_reading_is_not_reused_nor_warned_of() -> None:
    @mc.step
    def weigh(w):
        return w["a"] + w["other"]  # reading "other" inserts it

    w1 = defaultdict(lambda: 1.0, a=2.0)
    w2 = defaultdict(lambda: 1.0, a=2.0)
    assert weigh(w1) == weigh(w2) == 3.0
    assert dict(w1) == dict(w2) == {"a": 2.0, "other": 1.0}
    assert mc.reuse_stats().step_hits == 0


def test_an_estimator_argument_whose_parameters_are_changed() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import Ridge

    @mc.step
    def stiffen(model):
        model.set_params(alpha=10.0)
        return 1.0

    with pytest.warns(StepSideEffectWarning, match=r"stiffen wrote into its argument 'model'"):
        stiffen(Ridge(alpha=1.0))
    m = Ridge(alpha=1.0)
    stiffen(m)
    assert m.alpha == 10.0


def test_the_persistent_tier_gets_no_call_that_wrote(store) -> None:
    tier = dict(persist=True, tier=StoreTier(store), min_compute_s=0.0, persist_min_s=0.0,
                disk_bytes_per_s=1e18)
    center = mc.step(lambda X: X - X.mean(0))
    center_ = mc.step(_center_)
    with mc.reuse(**tier):
        center(AN.copy())
        with pytest.warns(StepSideEffectWarning):
            a1 = AN.copy()
            center_(a1)
        assert mc.reuse_stats().persistent_writes == 1  # the step that does not write
    mc.reuse_clear()  # memory emptied: as another process sharing the store finds it
    with mc.reuse(**tier):
        center(AN.copy())
        a2 = AN.copy()
        center_(a2)
        s = mc.reuse_stats()
        assert s.persistent_hits == 1 and s.step_hits == 1 and s.step_misses == 1
    assert np.array_equal(a1, a2) and np.allclose(a2.mean(0), 0.0)
