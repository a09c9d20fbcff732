"""A user function's keyword may be named like a parameter of mlcontext's own wrappers.

A newcomer's ``@mc.step def apply(X, fn)`` called as ``apply(X, fn=np.sqrt)`` raised "got multiple
values for argument 'fn'" (fixed in lineage.nondeterminism); its siblings, found by reading the
wrappers: ``t.pipe(f, fn=...)``, ``groupby(...).apply(h, obj=..., selection=...)``, and the
functional forms of NumPy methods and scikit-learn fits whose first parameters took a keyword.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc

FRAME = pd.DataFrame({"g": [1, 1, 2], "x": [1.0, 4.0, 9.0]})


def with_fn(df, fn):
    return df.assign(y=fn(df.x))


def with_obj(df, obj):
    return df.x.sum() * obj


def with_selection(df, selection):
    return df.x.sum() + selection


@pytest.mark.parametrize("call", [
    lambda f: f.pipe(with_fn, fn=np.sqrt),
    lambda f: f.groupby("g")[["x"]].apply(with_obj, obj=2),
    lambda f: f.groupby("g")[["x"]].apply(with_selection, selection=2),
], ids=["pipe fn=", "apply obj=", "apply selection="])
def test_the_keyword_reaches_the_users_function(call):
    expected = call(FRAME)
    got = call(mc.frame(FRAME, name="t"))
    got = got.to_pandas() if hasattr(got, "to_pandas") else got
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
    else:
        pd.testing.assert_series_equal(got, expected)


def test_a_step_parameter_named_fn():
    @mc.step
    def apply(X, fn):
        return fn(X)

    assert np.array_equal(np.asarray(apply(np.arange(4.0), fn=np.sqrt)), np.sqrt(np.arange(4.0)))
