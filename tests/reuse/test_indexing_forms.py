"""Every NumPy indexing form on a traced array, under every reuse policy, gives NumPy's result or
NumPy's error (issue 10 item 8).

The executor inspects index keys to note column prefixes for partial reuse; an index array where a
slice was expected (``X[idx, ...]``, what scikit-learn's ``_safe_indexing`` does for every CV fold)
crashed it with "the truth value of an array is ambiguous". Each expression runs twice per policy so
that the second run goes through the cache's hit path as well.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlcontext as mc
from mlcontext.errors import UnhandledOperationWarning

POLICIES = ["none", "full", "partial", "multilevel", "exact", "hybrid"]

A = np.arange(60.0).reshape(5, 4, 3) - 17.5
B = np.arange(20.0).reshape(5, 4) * 1.5  # 2-D: the shape the executor's column-prefix notes look at
BASES = {"3d": A, "2d": B}
IDX = np.array([3, 0, 0, 4])
MASK = A[:, 0, 0] > -10
MASK2 = A[:, :, 0] > 0
FULL_MASK = A > 3

KEYS = {
    "int": 2,
    "neg_int": -1,
    "np_int": np.int64(1),
    "tuple_ints": (1, 2, 0),
    "slice": slice(1, 4),
    "slice_neg_step": slice(None, None, -1),
    "slice_neg_bounds": slice(-1, -4, -2),
    "slice_step": slice(0, 5, 2),
    "empty_slice": slice(3, 1),
    "ellipsis": Ellipsis,
    "ellipsis_int": (Ellipsis, 1),
    "int_ellipsis": (0, Ellipsis),
    "none": None,
    "none_mid": (slice(None), None, 1),
    "none_ellipsis": (None, Ellipsis, None),
    "int_array": IDX,
    "int_array_ellipsis": (IDX, Ellipsis),
    "int_array_slice": (IDX, slice(None)),
    "slice_int_array": (slice(None), np.array([0, 3])),
    "neg_int_array": np.array([-1, -5]),
    "int_list": [0, 2, 2],
    "two_arrays": (np.array([0, 1]), np.array([2, 3])),
    "broadcast_arrays": (np.array([[0], [4]]), np.array([1, 2])),
    "arrays_split_by_slice": (np.array([0, 1]), slice(None), np.array([2, 1])),
    "bool_mask": MASK,
    "bool_mask_ellipsis": (MASK, Ellipsis),
    "bool_mask_2d": MASK2,
    "bool_mask_full": FULL_MASK,
    "bool_list": [True, False, True, True, False],
    "bool_scalar": True,
    "mixed_mask_slice_int": (MASK, slice(1, None), 0),
    "empty_int_array": np.array([], dtype=np.intp),
    "zero_dim_int": np.array(2),
    # Peers' indexing bugs, as regression cases: dask/dask#470 (an Ellipsis alone), #11959 (a scalar
    # then a list), #7313 (advanced indexes split by a slice move their axis first), #2180 (a
    # negative index in a list).
    "ellipsis_alone": (Ellipsis,),
    "scalar_then_list": (0, [0, 1]),
    "split_advanced_axis_order": (0, slice(None), [0, 1]),
    "negative_in_list": [0, -1],
    # NumPy's errors:
    "out_of_bounds": 7,
    "out_of_bounds_array": np.array([0, 9]),
    "too_many": (0, 0, 0, 0),
    "two_ellipses": (Ellipsis, Ellipsis),
    "float_index": 1.5,
    "float_array": np.array([0.0, 1.0]),
    "bad_mask_length": np.array([True, False]),
    "string": "a",
}


def _numpy(base, key):
    try:
        return base[key], None
    except Exception as exc:  # noqa: BLE001 - the differential compares NumPy's error type
        return None, type(exc)


def _traced(t, key):
    try:
        return t[key], None
    except Exception as exc:  # noqa: BLE001
        return None, type(exc)


def _same(t, key) -> None:
    expected, expected_error = _numpy(t._value, key)
    got, error = _traced(t, key)
    if expected_error is not None:
        assert error is not None and issubclass(error, expected_error), (key, error, expected_error)
        return
    assert error is None, (key, error)
    plain = np.asarray(got)
    assert plain.dtype == expected.dtype and plain.shape == expected.shape
    assert np.array_equal(plain, expected)


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", list(KEYS))
def test_indexing_matches_numpy_under_every_policy(policy: str, name: str, base: str) -> None:
    key = KEYS[name]
    with mc.reuse(policy), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnhandledOperationWarning)
        t = mc.array(BASES[base], name="A")
        for _ in range(2):  # the second pass hits the cache
            _same(t, key)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", ["int_array", "int_array_ellipsis", "bool_mask", "two_arrays",
                                  "slice_neg_step", "none_mid", "mixed_mask_slice_int"])
def test_assignment_matches_numpy_under_every_policy(policy: str, name: str) -> None:
    key = KEYS[name]
    expected = A.copy()
    expected[key] = -1.0
    with mc.reuse(policy):
        t = mc.array(A, name="A")
        t[key] = -1.0
        assert np.array_equal(np.asarray(t), expected)
        assert np.array_equal(A, np.arange(60.0).reshape(5, 4, 3) - 17.5)  # the input is untouched


_component = st.one_of(
    st.integers(-6, 6),
    st.none(),
    st.just(Ellipsis),
    st.builds(slice, st.one_of(st.none(), st.integers(-6, 6)), st.one_of(st.none(), st.integers(-6, 6)),
              st.one_of(st.none(), st.integers(-3, 3).filter(bool))),
    st.lists(st.integers(-6, 5), min_size=0, max_size=4).map(lambda v: np.array(v, dtype=np.intp)),
    st.lists(st.booleans(), min_size=3, max_size=5).map(np.array),
)
_keys = st.one_of(_component, st.lists(_component, min_size=1, max_size=4).map(tuple))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_keys, policy=st.sampled_from(POLICIES), base=st.sampled_from(list(BASES)))
def test_generated_index_expressions_match_numpy(key, policy: str, base: str) -> None:
    with mc.reuse(policy), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnhandledOperationWarning)
        t = mc.array(BASES[base], name="A")
        _same(t, key)
        _same(t, key)


@pytest.mark.parametrize("policy", POLICIES)
def test_chained_indexing_matches_numpy(policy: str) -> None:
    """dask/dask#133: a list index followed by a new axis; #2180: first and last of a length-1 array."""
    with mc.reuse(policy):
        t = mc.array(B, name="B")
        np.testing.assert_array_equal(np.asarray(t[[0, 1]][None]), B[[0, 1]][None])
        one = mc.array(np.zeros(1), name="one")
        np.testing.assert_array_equal(np.asarray(one[[0, -1]]), np.zeros(2))


def test_grid_search_on_traced_arrays_with_hybrid_reuse() -> None:
    """The issue's input: plain scikit-learn over traced arrays indexes folds with ``X[idx, ...]``."""
    pytest.importorskip("sklearn")
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X @ np.array([1.0, 2.0, 3.0, 4.0]) + rng.normal(size=60)
    grid = {"ridge__alpha": [0.1, 1.0, 10.0]}
    plain = GridSearchCV(make_pipeline(StandardScaler(), Ridge()), grid, cv=3).fit(X, y)
    with mc.reuse("hybrid"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UnhandledOperationWarning)
        search = GridSearchCV(make_pipeline(StandardScaler(), Ridge()), grid, cv=3)
        search.fit(mc.array(X, name="X"), mc.array(y, name="y"))
    assert search.best_params_ == plain.best_params_
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               plain.cv_results_["mean_test_score"], rtol=1e-12)
