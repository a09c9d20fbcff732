"""Traced estimators configured with ``set_output(transform="pandas")`` return what scikit-learn
returns, with lineage, and the configuration is part of a fit's identity.

A newcomer's traced ``ColumnTransformer`` with a ``FunctionTransformer`` returned columns ``0, 1``
where scikit-learn gave ``n__mean_radius, n__mean_area`` (the estimator rebuilt from its params lost
its ``set_output`` configuration, which is no param), so the classifier after it had no
``feature_names_in_`` and ``get_feature_names_out`` raised; and every traced transformer with pandas
output returned a plain DataFrame without lineage (scikit-learn's wrapper of the subclass's methods
turned the traced result into one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import mlcontext as mc

RNG = np.random.default_rng(0)
X = pd.DataFrame({"mean_radius": RNG.normal(10, 2, 120), "mean_area": RNG.normal(500, 50, 120)})
Y = pd.Series((X.mean_radius + RNG.normal(0, 1, 120) > 10).astype(int), name="y")


def clip(frame):
    return np.clip(frame, 0, 600)


MAKERS = {
    "scaler": lambda: StandardScaler(),
    "function transformer": lambda: FunctionTransformer(clip),
    "pipeline": lambda: Pipeline([("ft", FunctionTransformer(clip)), ("sc", StandardScaler())]),
    "column transformer": lambda: ColumnTransformer([("n", FunctionTransformer(clip),
                                                      ["mean_radius", "mean_area"])]),
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=list(MAKERS))
def test_pandas_output_is_scikit_learns_with_lineage(make):
    expected = make().set_output(transform="pandas").fit_transform(X, Y)
    traced = mc.traced(make().set_output(transform="pandas"))
    got = traced.fit_transform(mc.frame(X, name="X"), mc.frame(Y, name="y"))
    assert isinstance(got, mc.TracedFrame)
    pd.testing.assert_frame_equal(got.to_pandas(), expected)
    again = traced.transform(mc.frame(X, name="X"))
    assert isinstance(again, mc.TracedFrame)
    fitted = make().set_output(transform="pandas").fit(X, Y)
    pd.testing.assert_frame_equal(again.to_pandas(), fitted.transform(X))


def test_a_pipeline_keeps_feature_names_through_a_column_transformer():
    def make():
        ct = ColumnTransformer([("n", FunctionTransformer(clip), ["mean_radius", "mean_area"])])
        return Pipeline([("ct", ct), ("clf", LogisticRegression())]).set_output(transform="pandas")

    plain = make().fit(X, Y)
    traced = mc.traced(make()).fit(mc.frame(X, name="X"), mc.frame(Y, name="y"))
    assert list(traced[-1].feature_names_in_) == list(plain[-1].feature_names_in_)
    try:  # (a FunctionTransformer names its outputs only in recent scikit-learn)
        names = list(plain[0].get_feature_names_out())
    except AttributeError:
        names = None
    if names is not None:
        assert list(traced[0].get_feature_names_out()) == names == ["n__mean_radius", "n__mean_area"]
    assert np.array_equal(traced[-1].coef_, plain[-1].coef_)
    assert mc.model_info(traced)["steps"]["clf"]["input_columns"] == ["n__mean_radius", "n__mean_area"]


def test_output_configuration_is_part_of_the_fits_identity():
    with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0):
        default = mc.traced(StandardScaler()).fit_transform(mc.frame(X, name="X"))
        configured = StandardScaler().set_output(transform="pandas")
        pandas = mc.traced(configured).fit_transform(mc.frame(X, name="X"))
    assert isinstance(default, mc.TracedArray) and isinstance(pandas, mc.TracedFrame)
    assert default.lineage.hash != pandas.lineage.hash


def test_a_configured_column_transformer_stays_reusable_and_recomputes():
    """A reviewer's case: the configuration key at the end of the params made them unsorted, the nested
    estimators fell out of the literal, and the fit became opaque: never reused, and its recompute
    failed with a TypeError."""
    from sklearn.preprocessing import MinMaxScaler

    def make():
        return ColumnTransformer([("n", MinMaxScaler(), ["mean_radius"]),
                                  ("s", StandardScaler(), ["mean_area"])]).set_output(transform="pandas")

    with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0):
        first = mc.traced(make()).fit_transform(mc.frame(X, name="X"))
        second = mc.traced(make()).fit_transform(mc.frame(X, name="X"))
    assert first.lineage.hash == second.lineage.hash
    pd.testing.assert_frame_equal(mc.recompute(mc.lineage.dumps(first), inputs={"X": X}),
                                  make().fit_transform(X))


def test_the_global_transform_output_is_part_of_the_identity():
    import sklearn

    with mc.reuse("full", min_compute_s=0, eager_s_per_byte=0):
        mc.traced(StandardScaler()).fit_transform(mc.frame(X, name="X"))
        with sklearn.config_context(transform_output="pandas"):
            configured = mc.traced(StandardScaler()).fit_transform(mc.frame(X, name="X"))
    assert isinstance(configured, mc.TracedFrame)


def test_an_opaque_fit_refuses_recompute_with_a_reason():
    from sklearn.cluster import KMeans

    # a random generator object as a parameter has no literal form: the fit is opaque
    model = KMeans(n_clusters=2, n_init=1, random_state=np.random.RandomState(0))
    out = mc.traced(model).fit_transform(mc.frame(X, name="X"))
    with pytest.raises(mc.LineageError, match="no literal form"):
        mc.recompute(mc.lineage.dumps(out), inputs={"X": X})
