"""``partial_fit`` on a traced estimator whose fit came from (or went into) the reuse cache.

A fit is cached and adopted by every estimator with the same lineage: its arrays are shared,
read-only. scikit-learn's compiled SGD writes ``coef_`` in place regardless of the flag, so a
``partial_fit`` changed the cached fit and a later identical ``fit`` returned the updated model; other
estimators (GaussianNB, MiniBatchKMeans) refused to update read-only state that plain scikit-learn
updates. Found by a newcomer (issue 14, sixth session)."""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc

sklearn = pytest.importorskip("sklearn")
from sklearn.cluster import MiniBatchKMeans  # noqa: E402
from sklearn.linear_model import Ridge, SGDClassifier, SGDRegressor  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

RNG = np.random.default_rng(0)
XN = RNG.normal(size=(300, 5))
YN = XN @ np.arange(1.0, 6.0)
LABELS = (YN > 0).astype(int)


@pytest.fixture(autouse=True)
def _fresh():
    mc.reuse_clear()
    yield
    mc.reuse_clear()


def _make(kind: str):
    if kind == "sgd":
        return SGDRegressor(random_state=0), YN
    if kind == "sgdc":
        return SGDClassifier(random_state=0), LABELS
    if kind == "gnb":
        return GaussianNB(), LABELS
    if kind == "kmeans":
        return MiniBatchKMeans(n_clusters=3, random_state=0, n_init=1), None
    return MLPRegressor(hidden_layer_sizes=(4,), random_state=0, max_iter=20), YN


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["sgd", "sgdc", "gnb", "kmeans", "mlp"])
@pytest.mark.parametrize("policy", ["full", "hybrid"])
def test_partial_fit_matches_plain_and_leaves_the_cached_fit_alone(kind: str, policy: str) -> None:
    plain, y = _make(kind)
    plain.fit(XN, y)
    fitted_state = {k: np.array(v, copy=True) for k, v in vars(plain).items() if isinstance(v, np.ndarray)}
    plain.partial_fit(XN, y) if y is not None else plain.partial_fit(XN)
    with mc.reuse(policy):
        X = mc.array(XN, name="X")
        Y = mc.array(y, name="y") if y is not None else None
        est = mc.traced(_make(kind)[0])
        est.fit(X, Y)
        before = np.asarray(est.predict(X))
        est.partial_fit(X, Y) if Y is not None else est.partial_fit(X)
        after = np.asarray(est.predict(X))
        assert np.array_equal(after, plain.predict(XN))  # the update happened, as in plain sklearn
        again = mc.traced(_make(kind)[0]).fit(X, Y)  # served from the cache
        for k, v in fitted_state.items():
            assert np.array_equal(getattr(again, k), v), f"cached fit changed: {k}"
        assert np.array_equal(np.asarray(again.predict(X)), before)


def test_array_parameters_stay_the_callers() -> None:
    alpha = np.array([1.0, 2.0])
    with mc.reuse():
        mc.traced(Ridge(alpha=alpha, random_state=0)).fit(mc.array(XN), mc.array(np.c_[YN, YN]))
    alpha[:] = 3.0  # the caller's array is not frozen by the cache
    assert alpha.flags.writeable
