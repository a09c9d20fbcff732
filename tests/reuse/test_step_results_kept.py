"""What a step may return and still be reused (a newcomer's finding, thirteenth session): a step whose
result held a complex number, bytes or a fitted estimator was never reused, and one returning a dict
with int keys or a set ran every time without a word. Complex numbers, bytes and fitted estimators
are kept now (estimators as deep copies, in this process only); for anything else the step warns
once that its calls run every time, and says what in the result cannot be kept."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge

import mlcontext as mc

X = np.random.default_rng(0).normal(size=(40, 3))
Y = X @ np.array([1.0, -2.0, 0.5])
Ridge().fit(X, Y)  # (scikit-learn's first fit imports: a step body's first import is not cached)


def _hits() -> int:
    return mc.reuse_stats().step_hits


@pytest.mark.parametrize("returned", ["complex", "bytes", "estimator", "nested"])
def test_kept_results_are_reused_and_handed_out_as_copies(returned):
    @mc.step
    def make(alpha):
        model = Ridge(alpha=alpha).fit(X, Y)
        return {"complex": complex(alpha, 1), "bytes": b"\x00" + bytes([int(alpha)]), "estimator": model,
                "nested": {"model": model, "scores": [1j, b"x"]}}[returned]

    with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0):
        first = make(2.0)
        hits = _hits()
        again = make(2.0)
        assert _hits() == hits + 1
    if returned == "estimator":
        assert again is not first and np.array_equal(again.coef_, first.coef_)
        again.fit(X, -Y)  # fitting what a call returned never changes what the next call gets
        with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0):
            third = make(2.0)
        assert np.array_equal(third.coef_, first.coef_)
    elif returned == "nested":
        assert np.array_equal(again["model"].coef_, first["model"].coef_) and again["scores"] == [1j, b"x"]
    else:
        assert again == first


@pytest.mark.parametrize(("returned", "said"), [("int keys", "a dict with int keys"), ("set", "a set"),
                                                ("objects", "an object array")])
def test_a_result_that_cannot_be_kept_is_said_once(returned, said):
    @mc.step
    def make(alpha):
        if returned == "int keys":
            return {1: alpha}
        if returned == "set":
            return [alpha, {3}]
        return np.array([alpha, "a"], dtype=object)

    with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0):
        with pytest.warns(mc.MLContextWarning, match=f"returned {said}, which a cached call cannot hold"):
            make(1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            make(1.0)  # once per step


def test_a_step_that_returns_its_estimator_argument_is_not_kept():
    # A reviewer's: `model.fit(X, y); return model` with a fresh model per call: once estimators were
    # kept, a hit handed out a fitted copy and left the caller's model unfitted (NotFittedError).
    from sklearn.linear_model import LogisticRegression

    labels = (Y > 0).astype(int)

    @mc.step
    def train(model, X, y):
        model.fit(X, y)
        return model

    with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0):
        with pytest.warns(mc.MLContextWarning, match="returned its argument 'model' itself"):
            train(LogisticRegression(), X, labels)
        for _ in range(2):
            model = LogisticRegression()
            assert train(model, X, labels) is model
            model.predict(X)  # fitted: the body ran


def test_an_estimator_that_cannot_be_copied_is_not_kept():
    # A reviewer's: an estimator holding a lock made the deep copy raise, and the step crashed
    # although its body had succeeded.
    import threading

    class Locked:
        def __init__(self):
            self.lock = threading.Lock()

        def get_params(self, deep=True):
            return {}

        def fit(self, X, y=None):
            return self

    @mc.step
    def make(n):
        return Locked()

    with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0), \
            pytest.warns(mc.MLContextWarning, match="cannot hold"):
        assert isinstance(make(1), Locked)


def test_kept_estimators_count_their_arrays_against_the_budget():
    # A reviewer's: a kept estimator counted 64 bytes, and twelve 35 MiB forests never evicted.
    @mc.step
    def big(seed):
        model = Ridge().fit(X, Y)
        model.extra_ = np.zeros(200_000)  # 1.6 MB the estimator holds
        return model

    with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0):
        big(0)
        assert mc.reuse_stats().bytes >= 1_600_000
