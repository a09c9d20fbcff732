"""scikit-learn estimators on traced data: results identical to plain scikit-learn, fits and
predictions in lineage, fits reused across grid candidates (counted through the event log)."""

from __future__ import annotations

import pickle
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

import mlcontext as mc


def trips(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "distance": rng.gamma(2.0, 1.5, n),
        "duration": rng.integers(60, 3600, n).astype(float),
        "passengers": rng.integers(1, 5, n).astype(float),
        "payment": rng.choice(["card", "cash"], n),
        "zone": rng.choice(["Manhattan", "Queens", "Bronx"], n),
    })
    y = pd.Series((X.distance * 2 + rng.normal(0, 1, n) > 6).astype(int), name="tip")
    return X, y


NUMERIC = ["distance", "duration", "passengers"]


def column_transformer() -> ColumnTransformer:
    return ColumnTransformer([("num", StandardScaler(), NUMERIC),
                              ("cat", OneHotEncoder(handle_unknown="ignore"), ["payment", "zone"])])


ESTIMATORS = {
    "scaler": (lambda: StandardScaler(), "transform", NUMERIC),
    "minmax": (lambda: MinMaxScaler(), "transform", NUMERIC),
    "pca": (lambda: PCA(n_components=2, random_state=0), "transform", NUMERIC),
    "imputer": (lambda: SimpleImputer(), "transform", NUMERIC),
    "log": (lambda: FunctionTransformer(np.log1p), "transform", NUMERIC),
    "logistic": (lambda: LogisticRegression(random_state=0), "predict_proba", NUMERIC),
    "ridge": (lambda: Ridge(alpha=0.3), "predict", NUMERIC),
    "tree": (lambda: DecisionTreeClassifier(max_depth=3, random_state=0), "predict", NUMERIC),
    "kmeans": (lambda: KMeans(3, n_init=2, random_state=0), "predict", NUMERIC),
    "pipeline": (lambda: make_pipeline(StandardScaler(), LogisticRegression(random_state=0)), "predict",
                 NUMERIC),
    "union": (lambda: make_pipeline(FeatureUnion([("s", StandardScaler()), ("p", PCA(1, random_state=0))]),
                                    Ridge()), "predict", NUMERIC),
    "columns": (lambda: column_transformer(), "transform", None),
    "columns+model": (lambda: Pipeline([("prep", column_transformer()),
                                        ("clf", LogisticRegression(random_state=0))]), "predict", None),
}


def plain_of(x: Any) -> Any:
    return np.asarray(x) if isinstance(x, mc.TracedArray) else (
        x.to_pandas() if isinstance(x, mc.TracedFrame | mc.TracedSeries) else x)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_traced_estimator_equals_plain(name: str) -> None:
    make, method, columns = ESTIMATORS[name]
    X, y = trips()
    if columns:
        X = X[columns]
    plain = make().fit(X, y)
    expected = getattr(plain, method)(X)
    model = mc.traced(make())
    tX, ty = mc.frame(X, name="X"), mc.frame(y, name="y")
    assert model.fit(tX, ty) is model
    got = getattr(model, method)(tX)
    np.testing.assert_array_equal(plain_of(got), np.asarray(expected))
    assert got.lineage.opcode == f"sklearn.{method}"
    score_method = getattr(plain, "score", None)
    if score_method is not None and name not in ("kmeans",) and method != "transform":
        assert model.score(tX, ty) == plain.score(X, y)
    text = mc.lineage.dumps(got)
    again = mc.lineage.recompute(text, inputs={"X": X, "y": y})
    np.testing.assert_array_equal(np.asarray(plain_of(again)), np.asarray(expected))


def test_plain_data_is_not_traced() -> None:
    X, y = trips()
    model = mc.traced(Ridge()).fit(X[NUMERIC], y)
    assert isinstance(model.predict(X[NUMERIC]), np.ndarray)
    assert "_mlcontext_fit" not in vars(model)


def test_traced_estimators_clone_pickle_and_keep_params() -> None:
    model = mc.traced(make_pipeline(StandardScaler(with_mean=False), Ridge(alpha=2.0)))
    assert model.get_params()["ridge__alpha"] == 2.0
    twin = clone(model).set_params(ridge__alpha=3.0)
    assert type(twin.steps[1][1]) is type(model.steps[1][1])
    assert type(model.steps[1][1]).__mro__[1] is Ridge
    X, y = trips()
    tX = mc.frame(X[NUMERIC], name="X")
    twin.fit(tX, mc.frame(y, name="y"))
    back = pickle.loads(pickle.dumps(twin))  # a pickle holds the plain estimator (issue 10 item 9)
    assert type(back.steps[1][1]) is Ridge
    np.testing.assert_array_equal(back.predict(X[NUMERIC]), plain_of(twin.predict(tX)))


def grid(X: Any, y: Any, n_candidates: int = 4, n_folds: int = 3) -> GridSearchCV:
    model = Pipeline([("scale", StandardScaler()), ("pca", PCA(n_components=2, random_state=0)),
                      ("clf", LogisticRegression(random_state=0))])
    search = GridSearchCV(model, {"clf__C": list(np.logspace(-2, 2, n_candidates))},
                          cv=KFold(n_folds, shuffle=True, random_state=0))
    return search


def test_grid_search_reuses_shared_fits_and_matches_plain() -> None:
    X, y = trips(300)
    X = X[NUMERIC]
    plain = grid(X, y).fit(X, y)
    search = mc.traced(grid(X, y))
    with mc.reuse("full"), mc.reuse_events() as events:
        mc.reuse_clear()
        search.fit(mc.frame(X, name="X"), mc.frame(y, name="y"))
    assert search.best_params_ == plain.best_params_
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"])
    # Pipeline fits its transformers with fit_transform: scaler and PCA, per fold and for the refit.
    fits = Counter((e.kind, e.name) for e in events if e.name == "sklearn.fit_transform")
    n_candidates, n_folds = 4, 3
    assert fits[("computed", "sklearn.fit_transform")] == 2 * (n_folds + 1)
    assert fits[("reused", "sklearn.fit_transform")] == 2 * n_folds * (n_candidates - 1)
    classifier = Counter(e.kind for e in events if e.name == "sklearn.fit")
    assert classifier == {"computed": n_candidates * n_folds + 1}  # every C is a new fit
    info = mc.model_info(search)
    assert info["best_params"] == plain.best_params_
    steps = info["best_estimator"]["steps"]
    assert steps["clf"]["class"] == "sklearn.linear_model.LogisticRegression"
    assert steps["scale"]["input_columns"] == NUMERIC and steps["scale"]["n_samples"] == 300


def test_cross_val_score_matches_plain_and_records_scores() -> None:
    X, y = trips()
    X = X[NUMERIC]
    cv = KFold(4)
    expected = cross_val_score(make_pipeline(StandardScaler(), Ridge()), X, y, cv=cv)
    model = mc.traced(make_pipeline(StandardScaler(), Ridge()))
    got = cross_val_score(model, mc.frame(X, name="X"), mc.frame(y, name="y"), cv=cv)
    np.testing.assert_array_equal(got, expected)
    fitted = model.fit(mc.frame(X, name="X"), mc.frame(y, name="y"))
    score = fitted.score(mc.frame(X, name="X"), mc.frame(y, name="y"))
    scores = mc.model_info(fitted)["steps"]["ridge"]["scores"]
    assert scores[-1]["value"] == score and scores[-1]["data_lineage"]


def test_unseeded_fits_are_never_reused() -> None:
    X, y = trips()
    tX = mc.frame(X[NUMERIC], name="X")
    with mc.reuse("full"), mc.reuse_events() as events:
        a = mc.traced(KMeans(3, n_init=1)).fit(tX)
        b = mc.traced(KMeans(3, n_init=1)).fit(tX)
    assert a._mlcontext_fit.hash != b._mlcontext_fit.hash
    assert [e.kind for e in events if e.name == "sklearn.fit"] == ["computed", "computed"]  # seen, not reused


def test_same_fit_twice_is_reused_and_identical() -> None:
    X, y = trips()
    tX, ty = mc.frame(X[NUMERIC], name="X"), mc.frame(y, name="y")
    with mc.reuse("full"), mc.reuse_events() as events:
        mc.reuse_clear()
        a = mc.traced(LogisticRegression(random_state=0)).fit(tX, ty)
        b = mc.traced(LogisticRegression(random_state=0)).fit(tX, ty)
    assert [e.kind for e in events if e.name == "sklearn.fit"] == ["computed", "reused"]
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a is not b and a.coef_ is b.coef_  # state shared read-only, estimators distinct


def test_stored_model_keeps_its_metadata(store: Any) -> None:
    X, y = trips()
    tX, ty = mc.frame(X[NUMERIC], name="X"), mc.frame(y, name="y")
    model = mc.traced(LogisticRegression(C=0.5, random_state=0)).fit(tX, ty)
    accuracy = model.score(tX, ty)
    with mc.run("fit", project="taxi") as run:
        ref = mc.artifact("model", model)
    _, _, meta = store.metadata.artifact_info(ref.hash)
    assert meta["model_class"].endswith("LogisticRegression") and meta["params"]["C"] == 0.5
    assert meta["fit_lineage"] == model._mlcontext_fit.hash
    assert meta["input_columns"] == NUMERIC and meta["n_samples"] == len(X)
    assert meta["scores"][0]["value"] == accuracy
    loaded = mc.load_artifact(run.id, "model")
    np.testing.assert_array_equal(loaded.coef_, model.coef_)


def test_traced_keeps_a_fitted_models_state() -> None:
    # A newcomer's finding: mc.traced(Ridge().fit(X, y)).predict(X) raised NotFittedError (a clone
    # is unfitted); a model loaded by mc.load_artifact is fitted elsewhere in just this way.
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    for fitted in (Ridge(alpha=0.7).fit(X, y), make_pipeline(StandardScaler(), Ridge()).fit(X, y)):
        model = mc.traced(fitted)
        assert isinstance(model, type(fitted))
        assert np.array_equal(np.asarray(model.predict(X)), fitted.predict(X))
        assert np.array_equal(np.asarray(model.predict(mc.array(X, name="X"))), fitted.predict(X))
        refit = model.fit(mc.array(X, name="X"), mc.array(y, name="y"))  # traced from here on
        pred = refit.predict(mc.array(X, name="X"))
        assert pred.lineage.opcode == "sklearn.predict"
        assert np.allclose(np.asarray(pred), fitted.predict(X))
    plain = Ridge().fit(X, y)
    coef = plain.coef_.copy()
    mc.traced(plain).fit(mc.array(X[:20], name="X20"), mc.array(y[:20], name="y20"))
    assert np.array_equal(plain.coef_, coef)  # the user's model is never changed
