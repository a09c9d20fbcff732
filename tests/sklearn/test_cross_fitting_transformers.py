"""A traced ``fit_transform`` is scikit-learn's ``fit_transform``, also when a parameter has no literal
form (a splitter object as ``cv``, which makes the fit opaque).

A newcomer passed ``TargetEncoder(cv=KFold(5))`` (what scikit-learn 1.9 asks for instead of
``shuffle=``/``random_state=``): the opaque path computed ``fit(X, y).transform(X)``, which for a
cross-fitting encoder encodes each training row with a mean that includes its own target, the leakage
cross-fitting exists to prevent; 15 of 21 numbers of the project differed from plain scikit-learn.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler, TargetEncoder

import mlcontext as mc

try:  # a splitter object as cv= came in scikit-learn 1.6 (the oldest supported takes an int only)
    TargetEncoder(cv=KFold(5))._validate_params()
except Exception:  # noqa: BLE001 - scikit-learn's own InvalidParameterError, by version
    pytestmark = pytest.mark.skip(reason="this scikit-learn's TargetEncoder takes no splitter as cv")

RNG = np.random.default_rng(0)
X = pd.DataFrame({"g": RNG.choice(list("abcdefg"), 300), "x": RNG.normal(size=300)})
Y = pd.Series((RNG.random(300) < 0.4).astype(int), name="y")

ENCODERS = {
    "cv=KFold": lambda: TargetEncoder(cv=KFold(5)),
    "cv=StratifiedKFold shuffled": lambda: TargetEncoder(cv=StratifiedKFold(5, shuffle=True, random_state=0)),
    "cv=5 shuffled (literal params)": lambda: TargetEncoder(cv=5, shuffle=True, random_state=0),
}


@pytest.mark.parametrize("make", ENCODERS.values(), ids=list(ENCODERS))
def test_fit_transform_cross_fits_as_scikit_learn_does(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        expected = make().fit_transform(X[["g"]], Y)
        leaky = make().fit(X[["g"]], Y).transform(X[["g"]])
        got = mc.traced(make()).fit_transform(mc.frame(X[["g"]], name="X"), mc.frame(Y, name="y"))
    assert not np.array_equal(expected, leaky)  # (the two differ: the test can tell them apart)
    assert np.array_equal(np.asarray(got), expected)


def test_a_pipeline_with_a_cross_fitting_encoder_equals_scikit_learn():
    def make():
        pre = ColumnTransformer([("te", TargetEncoder(cv=KFold(5, shuffle=True, random_state=0)), ["g"]),
                                 ("sc", StandardScaler(), ["x"])])
        return Pipeline([("pre", pre), ("clf", LogisticRegression())])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        plain = make().fit(X, Y)
        traced = mc.traced(make()).fit(mc.frame(X, name="X"), mc.frame(Y, name="y"))
    assert np.array_equal(traced[-1].coef_, plain[-1].coef_)
    assert np.array_equal(np.asarray(traced.predict_proba(mc.frame(X, name="X"))), plain.predict_proba(X))
