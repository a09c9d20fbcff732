"""Traced estimators give scikit-learn's results, whatever was done to them after the fit (session 15).

Newcomers found that reuse changed results:

* a fitted model edited after the fit (``m.coef_ = pruned``, ``m.intercept_ = 100``,
  ``sc.mean_ = zeros``, ``set_params(n_neighbors=1)``, a ``kw_args`` dict or a global read by a
  ``FunctionTransformer``'s function changed) predicted as the unedited model: the prediction was
  keyed by the fit item, and served from the cache;
* a traced gradient boosting could not predict once its fit was cached ("buffer source array is
  read-only": scikit-learn's compiled ``predict_stages`` takes ``estimators_`` as a writable buffer);
* ``mc.traced`` copied its parameters: a ``RandomState`` given as ``random_state`` was never advanced
  (two fits were identical, plain scikit-learn's differ), and a ``kw_args`` dict changed after the
  fit was not seen even under ``mc.reuse("none")``.

Each is checked against plain scikit-learn under every policy, with its siblings: the output
configuration changed after the fit, a plain ``y`` or a parameter array that a fit keeps (frozen with
the cached fit, it became read-only for the caller), a warm start, a container of fitted arrays.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import LineageError

sklearn = pytest.importorskip("sklearn")
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402

# (a RuntimeWarning turned into an error, as pytest's configuration does, makes every reuse compute
# instead: reuse.errormodes; these tests are about what the cache serves)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

POLICIES = ["none", "exact", "hybrid", "full"]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 3))
Y = X @ np.array([1.0, 2.0, 3.0]) + RNG.normal(size=100)
LABELS = RNG.integers(0, 3, 100)


@pytest.fixture(autouse=True)
def _fresh():
    mc.reuse_clear()
    yield
    mc.reuse_clear()


def _plain(value):
    return np.asarray(getattr(value, "_value", value))


# -- 1. fitted state edited after the fit ------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_fitted_attributes_rebound_after_fit_are_used(policy: str) -> None:
    with mc.reuse(policy):
        tX, ty = mc.array(X, name="X"), mc.array(Y, name="y")
        m = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(tX, ty)
        before = _plain(m.predict(tX))
        m.coef_ = np.where(np.abs(m.coef_) < 1.5, 0.0, m.coef_)
        m.intercept_ = 100.0
        got = _plain(m.predict(tX))
        sc = mc.traced(StandardScaler()).fit(tX)
        sc.transform(tX)
        sc.mean_ = np.zeros(3)
        scaled = _plain(sc.transform(tX))
    np.testing.assert_allclose(got, X @ m.coef_ + 100.0)
    assert not np.array_equal(got, before)
    np.testing.assert_allclose(scaled, X / sc.scale_)


@pytest.mark.parametrize("policy", ["exact", "hybrid"])
def test_fitted_state_changed_in_place_or_deleted_is_seen(policy: str) -> None:
    with mc.reuse(policy):
        tX, ty = mc.array(X, name="X"), mc.array(Y, name="y")
        m = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(tX, ty)
        m.predict(tX)
        with pytest.raises(ValueError, match="read-only"):
            m.coef_[0] = 5.0  # the fitted arrays are read-only (shared with the cache)
        m.coef_ = m.coef_.copy()
        m.predict(tX)
        m.coef_[0] = 5.0  # a writable array of the user's own, written after a predict
        np.testing.assert_allclose(_plain(m.predict(tX)), X @ m.coef_ + m.intercept_)
        m.extra_ = 1  # an attribute added: the state is no longer the fit's
        np.testing.assert_allclose(_plain(m.predict(tX)), X @ m.coef_ + m.intercept_)
        mlp = mc.traced(MLPRegressor(hidden_layer_sizes=(4,), max_iter=30, random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp.fit(tX, ty)
        mlp.predict(tX)
        mlp.coefs_[0] = mlp.coefs_[0] * 0.0  # an element of a container of fitted arrays
        plain = copy.deepcopy(mlp)  # (the base class's predict on plain data: scikit-learn's result)
        np.testing.assert_allclose(_plain(mlp.predict(tX)), plain.predict(X))


def test_an_unedited_model_keeps_its_reuse_and_an_edited_one_is_never_reused() -> None:
    with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0):
        tX, ty = mc.array(X, name="X"), mc.array(Y, name="y")
        with mc.reuse_events() as unedited:
            m = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(tX, ty)
            m.predict(tX)
            m.predict(tX)
            twin = copy.deepcopy(m)  # a copy holds the same state: still the fit's
            twin.predict(tX)
        m.intercept_ = 1.0
        with mc.reuse_events() as edited:
            m.predict(tX)
            m.predict(tX)
    assert [e.kind for e in unedited if e.name == "sklearn.predict"] == ["computed", "reused", "reused"]
    assert [e.kind for e in edited if e.name == "sklearn.predict"] == ["computed", "computed"]
    assert not twin.coef_.flags.writeable


def test_an_edited_models_prediction_has_no_recipe() -> None:
    tX, ty = mc.array(X, name="X"), mc.array(Y, name="y")
    m = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(tX, ty)
    m.intercept_ = 1.0
    pred = m.predict(tX)
    with pytest.raises(LineageError, match="changed after the fit"):
        mc.recompute(mc.lineage.dumps(pred), inputs={"X": X, "y": Y})


@pytest.mark.parametrize("policy", ["exact", "hybrid"])
def test_output_configuration_changed_after_fit(policy: str) -> None:
    with mc.reuse(policy):
        tX = mc.array(X, name="X")
        sc = mc.traced(StandardScaler()).fit(tX)
        assert isinstance(_plain(sc.transform(tX)), np.ndarray)
        with sklearn.config_context(transform_output="pandas"):
            assert isinstance(sc.transform(tX).to_pandas(), pd.DataFrame)
        sc.set_output(transform="pandas")
        assert isinstance(sc.transform(tX).to_pandas(), pd.DataFrame)


# -- 2. gradient boosting: fitted state scikit-learn's compiled code needs writable ------------------

@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("frames", [False, True])
def test_gradient_boosting_predicts_from_a_cached_fit(policy: str, frames: bool) -> None:
    Xf = pd.DataFrame(X, columns=list("abc"))
    yc = pd.Series((Xf.a > 0).astype(int), name="y")
    plain = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(Xf, yc)
    reg = GradientBoostingRegressor(n_estimators=5, random_state=0).fit(X, Y)
    with mc.reuse(policy):
        tX = mc.frame(Xf, name="X") if frames else mc.array(X, name="X")
        ty = mc.frame(yc, name="y") if frames else mc.array(yc.to_numpy(), name="y")
        for _ in range(2):  # the second fit is adopted from the cache
            m = mc.traced(GradientBoostingClassifier(n_estimators=5, random_state=0)).fit(tX, ty)
            np.testing.assert_array_equal(_plain(m.predict(tX)), plain.predict(Xf))
            np.testing.assert_allclose(_plain(m.predict_proba(tX)), plain.predict_proba(Xf))
            np.testing.assert_allclose(list(m.staged_predict(Xf if frames else X))[-1], plain.predict(Xf))
            r = mc.traced(GradientBoostingRegressor(n_estimators=5, random_state=0))
            r.fit(mc.array(X, name="X"), mc.array(Y, name="y"))
            np.testing.assert_allclose(_plain(r.predict(mc.array(X, name="X"))), reg.predict(X))
        m.estimators_[0, 0] = m.estimators_[1, 0]  # an edit of the sub-estimators is seen too
        plain.estimators_[0, 0] = plain.estimators_[1, 0]
        np.testing.assert_allclose(_plain(m.predict_proba(tX)), plain.predict_proba(Xf))


# -- 3. parameters changed after the fit ------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_set_params_after_fit_is_used_at_predict(policy: str) -> None:
    plain = KNeighborsClassifier(n_neighbors=15).fit(X, LABELS)
    plain.set_params(n_neighbors=1)
    with mc.reuse(policy):
        tX, ty = mc.array(X, name="X"), mc.array(LABELS, name="y")
        k = mc.traced(KNeighborsClassifier(n_neighbors=15)).fit(tX, ty)
        k.predict(tX)
        k.set_params(n_neighbors=1)
        np.testing.assert_array_equal(_plain(k.predict(tX)), plain.predict(X))


CFG = {"k": 2.0}


def _scale(Z):
    return Z * CFG["k"]


def _scale_kw(Z, k):
    return Z * k


@pytest.mark.parametrize("policy", POLICIES)
def test_function_transformer_sees_changes_after_fit(policy: str) -> None:
    CFG["k"] = 2.0
    try:
        with mc.reuse(policy):
            tX = mc.array(X, name="X")
            ft = mc.traced(FunctionTransformer(_scale)).fit(tX)
            ft.transform(tX)
            CFG["k"] = 5.0
            np.testing.assert_allclose(_plain(ft.transform(tX)), X * 5.0)
            kw = {"k": 2.0}
            fk = mc.traced(FunctionTransformer(_scale_kw, kw_args=kw)).fit(tX)
            assert fk.kw_args is kw  # the caller's dict, as scikit-learn holds it
            fk.transform(tX)
            kw["k"] = 7.0
            np.testing.assert_allclose(_plain(fk.transform(tX)), X * 7.0)
    finally:
        CFG["k"] = 2.0


# -- 4. a RandomState given as random_state ------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("traced_data", [False, True])
def test_a_shared_random_state_is_advanced_by_each_fit(policy: str, traced_data: bool) -> None:
    yc = (X[:, 0] > 0).astype(int)
    rs = np.random.RandomState(0)
    plain = [RandomForestClassifier(n_estimators=5, random_state=rs).fit(X, yc).predict_proba(X)
             for _ in range(2)]
    mine = np.random.RandomState(0)
    with mc.reuse(policy), mc.reuse_events() as events:
        data = (mc.array(X, name="X"), mc.array(yc, name="y")) if traced_data else (X, yc)
        got = []
        for _ in range(2):
            model = mc.traced(RandomForestClassifier(n_estimators=5, random_state=mine))
            assert model.random_state is mine
            got.append(_plain(model.fit(*data).predict_proba(data[0])))
    np.testing.assert_array_equal(got[0], plain[0])
    np.testing.assert_array_equal(got[1], plain[1])
    assert mine.get_state()[2] == rs.get_state()[2]  # advanced as plain scikit-learn advances it
    assert not [e for e in events if e.name == "sklearn.fit" and e.kind == "reused"]


# -- siblings -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["none", "hybrid"])
def test_plain_arrays_a_fit_keeps_stay_the_callers(policy: str) -> None:
    y = X[:, 0].copy()
    priors = np.array([0.2, 0.3, 0.5])
    with mc.reuse(policy):
        knn = mc.traced(KNeighborsRegressor(n_neighbors=2)).fit(mc.array(X, name="X"), y)
        lda = mc.traced(LinearDiscriminantAnalysis(priors=priors)).fit(mc.array(X, name="X"), LABELS)
    assert y.flags.writeable and priors.flags.writeable  # (the cache froze them)
    y[:] = 0.0
    priors[:] = 1.0 / 3
    np.testing.assert_allclose(_plain(knn.predict(mc.array(X[:5], name="X5"))),
                               KNeighborsRegressor(n_neighbors=2).fit(X, X[:, 0]).predict(X[:5]))
    assert lda.priors is priors


@pytest.mark.parametrize("policy", ["none", "hybrid"])
def test_a_warm_start_continues_from_the_previous_fit(policy: str) -> None:
    def make():
        return MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = make().fit(X, Y).fit(X, Y)
        with mc.reuse(policy):
            tX, ty = mc.array(X, name="X"), mc.array(Y, name="y")
            m = mc.traced(make()).fit(tX, ty).fit(tX, ty)
            np.testing.assert_allclose(_plain(m.predict(tX)), plain.predict(X))
            again = mc.traced(make()).fit(tX, ty)
            again.fit(X, Y)  # plain data: on writable copies of the adopted state
            np.testing.assert_allclose(again.predict(X), plain.predict(X))


def test_an_edited_step_of_a_pipeline_is_seen() -> None:
    with mc.reuse("full"):
        tX, ty = mc.array(X, name="X"), mc.array(Y, name="y")
        pipe = mc.traced(make_pipeline(StandardScaler(), Ridge(random_state=0))).fit(tX, ty)
        pipe.predict(tX)
        pipe[-1].intercept_ = 50.0
        got = _plain(pipe.predict(tX))
    np.testing.assert_allclose(got, pipe[0].transform(X) @ pipe[-1].coef_ + 50.0)


@pytest.mark.parametrize("policy", ["exact", "hybrid"])
def test_an_edited_sub_estimator_of_a_fitted_leaf_is_seen(policy: str) -> None:
    from sklearn.compose import ColumnTransformer

    frame = pd.DataFrame(X, columns=list("abc"))
    with mc.reuse(policy):
        tX = mc.frame(frame, name="X")
        ct = mc.traced(ColumnTransformer([("num", StandardScaler(), ["a", "b"])], remainder="drop"))
        ct.fit(tX)
        ct.transform(tX)
        scaler = ct.named_transformers_["num"]
        with pytest.raises(ValueError, match="read-only"):
            scaler.mean_[0] = 1.0  # a sub-estimator's arrays are read-only too
        scaler.mean_ = np.zeros(2)
        got = _plain(ct.transform(tX))
    np.testing.assert_allclose(got, frame[["a", "b"]].to_numpy() / scaler.scale_)


@pytest.mark.parametrize("policy", ["none", "exact", "hybrid", "full"])
def test_arrays_inside_an_object_array_of_the_fitted_state_are_protected(policy: str) -> None:
    # KBinsDiscretizer's bin_edges_ is an object array of float arrays: the outer array's flag did not
    # protect them, and an edit inside one was served the unedited model's transform (session 16, a
    # reviewer's finding)
    from sklearn.preprocessing import KBinsDiscretizer

    with mc.reuse(policy, min_compute_s=0.0), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # (scikit-learn's quantile_method notice)
        tX = mc.array(X, name="X")
        kb = mc.traced(KBinsDiscretizer(n_bins=3, encode="ordinal", strategy="uniform")).fit(tX)
        first = _plain(kb.transform(tX))
        with pytest.raises(ValueError, match="read-only"):
            kb.bin_edges_[0][1] = 10.0  # read-only, as every fitted array (shared with the cache)
        with pytest.raises(ValueError, match="read-only"):
            kb.bin_edges_[0] = np.array([0.0, 1.0])
        np.testing.assert_array_equal(_plain(kb.transform(tX)), first)
        edges = np.empty(len(kb.bin_edges_), dtype=object)
        edges[:] = [e.copy() for e in kb.bin_edges_]
        kb.bin_edges_ = edges
        kb.transform(tX)
        kb.bin_edges_[0][1:3] = [10.0, 11.0]  # the user's own writable copy, edited after a call
        expected = KBinsDiscretizer.transform(copy.deepcopy(kb), X)
        assert np.unique(expected[:, 0]).tolist() == [0.0]
        np.testing.assert_array_equal(_plain(kb.transform(tX)), expected)
