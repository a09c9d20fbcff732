"""What a newcomer found using reuse from the docs alone (issue 10's promise: never a stale result).

- A function that reads an object mlcontext cannot fingerprint was said to be "never reused", but the
  same function object applied again was served the first result after the object changed.
- A function given to ``apply`` that draws from NumPy's or Python's global generator was reused, so
  two calls returned the same "random" values.
- Reuse, documented as on by default ("hybrid"), was off for NumPy and ``@mc.step`` until the reuse
  API was first touched.
"""

from __future__ import annotations

import functools
import random
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc


class Settings:  # a plain object: no fingerprint
    def __init__(self) -> None:
        self.k = 1.0


def _times(v, s):
    return v * s.k


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.UnidentifiedWarning)
        yield


def test_a_function_reading_an_unidentifiable_object_is_computed_again_after_it_changes():
    s = Settings()
    df = pd.DataFrame({"a": np.arange(5.0), "g": [0, 0, 1, 1, 1]})
    t = mc.frame(df)
    forms = {
        "lambda": lambda v: v * s.k,
        "partial": functools.partial(_times, s=s),
    }
    with mc.reuse("hybrid", min_compute_s=0.0):
        for name, fn in forms.items():
            s.k = 1.0
            assert t.a.apply(fn).to_pandas().tolist() == df.a.apply(fn).tolist(), name
            s.k = 10.0
            assert t.a.apply(fn).to_pandas().tolist() == df.a.apply(fn).tolist(), name
        agg = lambda v: v.sum() * s.k  # noqa: E731
        s.k = 1.0
        t.groupby("g").a.agg(agg)
        s.k = 3.0
        assert t.groupby("g").a.agg(agg).to_pandas().tolist() == df.groupby("g").a.agg(agg).tolist()


def test_a_function_transformer_reading_an_unidentifiable_object_is_fitted_again():
    from sklearn.preprocessing import FunctionTransformer

    s = Settings()
    X = mc.array(np.arange(5.0).reshape(-1, 1))
    with mc.reuse("hybrid", min_compute_s=0.0):
        est = mc.traced(FunctionTransformer(lambda a: a * s.k))
        est.fit_transform(X)
        s.k = 10.0
        out = est.fit_transform(X)
    np.testing.assert_array_equal(np.asarray(out), np.arange(5.0).reshape(-1, 1) * 10.0)


@pytest.mark.parametrize("draw", [lambda v: v + np.random.rand(), lambda v: v + random.random()],
                         ids=["numpy-global", "python-random"])
def test_a_function_drawing_from_a_global_generator_is_never_reused(draw):
    t = mc.frame(pd.DataFrame({"a": np.arange(5.0)}))
    with mc.reuse("hybrid", min_compute_s=0.0):
        first = t.a.apply(draw).to_pandas()
        second = t.a.apply(draw).to_pandas()
    assert not first.equals(second)


def test_reuse_is_on_by_default_in_a_fresh_process():
    # No mc.reuse(...) call before the work: the documented default policy must already hold.
    script = textwrap.dedent("""
        import numpy as np
        import mlcontext as mc
        runs = []

        @mc.step
        def features(X, k):
            runs.append(k)
            return np.tanh(X[:, :k]) @ np.tanh(X[:, :k]).T

        X = np.random.default_rng(0).normal(size=(300, 20))
        for _ in range(3):
            features(X, 10)
        A = mc.array(np.random.default_rng(1).normal(size=(400, 300)))
        for _ in range(3):
            G = A.T @ A
        s = mc.reuse_stats()
        print(len(runs), s.step_hits + s.step_misses, s.hits + s.misses + s.partial_hits)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    runs, step_calls, op_calls = map(int, out)
    # The hooks saw every call (off, they count nothing); whether a cheap call is kept is the cost
    # model's business (min_compute_s), so reuse itself is asserted only through the counters.
    assert step_calls == 3 and runs <= 3
    assert op_calls >= 3
