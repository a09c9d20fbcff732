"""Odd inputs to the reuse-facing constructors and decorators raise mlcontext errors that say what was
wrong and what to do (issue 10 item 6): never pandas' or NumPy's own error, never an AttributeError
from inside mlcontext.

Each error is an :class:`~mlcontext.errors.MLContextError` that also inherits the builtin matching the
mistake: a value of the wrong kind a ``TypeError`` (:class:`UsageError`, :class:`FingerprintError`),
a value of the right kind that cannot be used a ``ValueError`` (:class:`InvalidArgumentError`,
:class:`ConfigError`, :class:`LineageError`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import (
    ConfigError,
    FingerprintError,
    InvalidArgumentError,
    LineageError,
    MLContextError,
    UsageError,
)


def _gen():
    yield [1.0, 2.0]


class _Callable:
    def __call__(self, x):
        return x


def _f(x, k=1):
    return x * k


_LOG = mc.lineage.dumps(mc.array(np.arange(3.0), name="x") * 2)


CASES = [
    # mc.frame: pandas' "DataFrame constructor not properly called!" (a ValueError) leaked
    ("frame(1)", lambda: mc.frame(1), UsageError, "mc.frame takes"),
    ("frame(None)", lambda: mc.frame(None), UsageError, "mc.frame takes"),
    ("frame('abc')", lambda: mc.frame("abc"), UsageError, "mc.frame takes"),
    ("frame(np.float64)", lambda: mc.frame(np.float64(1.0)), UsageError, "mc.frame takes"),
    ("frame(len)", lambda: mc.frame(len), UsageError, "mc.frame takes"),
    ("frame(class)", lambda: mc.frame(_Callable), UsageError, "mc.frame takes"),
    ("frame(ragged columns)", lambda: mc.frame({"a": [1], "b": [1, 2]}), InvalidArgumentError,
     "same length"),
    ("frame(object column)", lambda: mc.frame({"a": [object()]}), FingerprintError, "column 'a'"),
    # mc.array / mc.asarray
    ("array(generator)", lambda: mc.array(_gen()), UsageError, "list"),
    ("array(function)", lambda: mc.array(_f), UsageError, "call it"),
    ("array(ragged)", lambda: mc.array([[1.0], [1.0, 2.0]]), InvalidArgumentError, "rectangular"),
    ("array(dtype=nonsense)", lambda: mc.array([1.0], dtype="nonsense"), UsageError, "dtype"),
    ("array('a', dtype=float)", lambda: mc.array(["a"], dtype=float), InvalidArgumentError, "NumPy"),
    ("array(object elements)", lambda: mc.array(np.array([1, object()], dtype=object)), FingerprintError,
     "element 1"),
    ("asarray(generator)", lambda: mc.asarray(_gen()), UsageError, "list"),
    ("asarray(dtype=nonsense)", lambda: mc.asarray(np.zeros(2), dtype="nonsense"), UsageError, "dtype"),
    ("array(masked)", lambda: mc.array(np.ma.array([1, 2], mask=[0, 1])), UsageError, "mask"),
    # mc.step: a partial of a builtin, a class, a builtin, not callable, bad name= and reuse=
    ("step(partial(len))", lambda: mc.step(functools.partial(len)), UsageError, "wrap the call in a def"),
    ("step(len)", lambda: mc.step(len), UsageError, "wrap the call in a def"),
    ("step(class)", lambda: mc.step(_Callable), UsageError, "the class"),
    ("step(1)", lambda: mc.step(1), UsageError, "not callable"),
    ("step(generator)", lambda: mc.step(_gen()), UsageError, "not callable"),
    ("step(staticmethod)", lambda: mc.step(staticmethod(_f)), UsageError, "mc.step takes"),
    ("step(name=1)", lambda: mc.step(name=1)(_f), UsageError, "name="),
    ("step(name='')", lambda: mc.step(name="")(_f), UsageError, "name="),
    ("step(reuse='no')", lambda: mc.step(reuse="no")(_f), UsageError, "reuse="),
    # mc.traced
    ("traced(1)", lambda: mc.traced(1), UsageError, "scikit-learn estimator"),
    ("traced(class)", lambda: mc.traced(__import__("sklearn.linear_model").linear_model.Ridge),
     UsageError, "scikit-learn estimator"),
    # mc.reuse
    ("reuse(1)", lambda: mc.reuse(1), ConfigError, "policy"),
    ("reuse('sometimes')", lambda: mc.reuse("sometimes"), ConfigError, "policy"),
    ("reuse(budget=-1)", lambda: mc.reuse(budget=-1), ConfigError, "budget"),
    ("reuse(budget='1GB')", lambda: mc.reuse(budget="1GB"), ConfigError, "budget"),
    ("reuse(strict='yes')", lambda: mc.reuse(strict="yes"), ConfigError, "strict"),
    ("reuse(array)", lambda: mc.reuse(np.array(["full", "none"])), ConfigError, "policy"),
    ("reuse(frame)", lambda: mc.reuse(pd.DataFrame({"a": [1, 2]})), ConfigError, "policy"),
    ("reuse(min_compute_s=nan)", lambda: mc.reuse(min_compute_s=float("nan")), ConfigError, "seconds"),
    ("reuse(spill_dir=1)", lambda: mc.reuse(spill_dir=1), ConfigError, "spill_dir"),
    # mc.recompute
    ("recompute(1)", lambda: mc.recompute(1), LineageError, "lineage"),
    ("recompute(None)", lambda: mc.recompute(None), LineageError, "lineage"),
    ("recompute('garbage')", lambda: mc.recompute("garbage"), LineageError, ""),
    ("recompute(inputs=list)", lambda: mc.recompute(_LOG, inputs=[1, 2]), UsageError, "mapping"),
    ("recompute(resolver=1)", lambda: mc.recompute(_LOG, resolver=1), UsageError, "resolver"),
]


@pytest.mark.parametrize(("call", "error", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_odd_inputs_raise_a_clear_mlcontext_error(call, error, says) -> None:
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, MLContextError)
    assert says in str(info.value), str(info.value)


@pytest.mark.parametrize(("data", "want"), [
    ({"a": [1.0, 2.0]}, pd.DataFrame({"a": [1.0, 2.0]})),
    ([[1, 2], [3, 4]], pd.DataFrame([[1, 2], [3, 4]])),
    (np.eye(2), pd.DataFrame(np.eye(2))),
    ((row for row in [[1, 2]]), pd.DataFrame([[1, 2]])),  # pandas takes an iterator of rows
])
def test_what_pandas_takes_mc_frame_takes(data, want) -> None:
    pd.testing.assert_frame_equal(mc.frame(data).to_pandas(), want)


def test_step_of_a_partial_and_a_method_run_as_the_plain_call() -> None:
    x = np.arange(3.0)
    assert np.array_equal(np.asarray(mc.step(functools.partial(_f, k=3))(mc.array(x))), x * 3)
    assert np.array_equal(np.asarray(mc.step(functools.partial(functools.partial(_f), k=2))(x)), x * 2)
    assert mc.step(functools.partial(_f, k=3)).__mlcontext_step__.qualname == f"{__name__}._f"
    with pytest.warns(mc.UnidentifiedWarning, match="_Callable"):  # no fingerprint: computed, said once
        assert np.array_equal(mc.step(_Callable())(x), x)


def test_copies_of_a_traced_array_keep_its_layout_as_numpy_does() -> None:
    import copy

    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    t = mc.array(f)
    for got, want in [(np.array(t), np.array(f)), (np.asarray(copy.copy(t)), copy.copy(f)),
                      (np.asarray(copy.deepcopy(t)), copy.deepcopy(f))]:
        assert (got.flags.f_contiguous, got.flags.c_contiguous) == (want.flags.f_contiguous,
                                                                    want.flags.c_contiguous)
