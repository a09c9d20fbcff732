"""Every name of a table resolved by getattr exists in the installed library, unless the table lists
it as added in a later release than this one: a misspelled entry used to be skipped in silence
(``linalg.svdvalz`` in numpy_api.FUNCTIONS, a pandas method name) or registered as a draw that fails
when called (random.METHODS). ``make test`` runs this on the newest and the oldest supported
versions, which checks the ``added_in`` lists at both ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcontext.ops import numpy_api, pandas_registry, random, sklearn_steps
from mlcontext.ops.names import release, unresolved


def _on(obj: object):
    return lambda name: getattr(obj, name, None)


def test_numpy_functions_resolve() -> None:
    assert unresolved(numpy_api.FUNCTIONS, numpy_api._resolve, numpy_api.ADDED_IN, np.__version__) == []


def test_a_misspelled_numpy_function_is_reported_and_a_newer_one_is_not() -> None:
    names = [*numpy_api.FUNCTIONS, "linalg.svdvalz"]
    assert unresolved(names, numpy_api._resolve, numpy_api.ADDED_IN, np.__version__) == ["linalg.svdvalz"]
    # on NumPy 2.0.0 the 2.1 functions are absent, and explained by ADDED_IN
    assert unresolved(["cumulative_sum", "nanz"], lambda n: None, numpy_api.ADDED_IN, "2.0.0") == ["nanz"]
    # a name listed as added in a release that is installed must resolve
    assert unresolved(["cumulative_sum"], lambda n: None, numpy_api.ADDED_IN, "2.1.0") == ["cumulative_sum"]


def test_newer_numpy_functions_are_registered_where_numpy_has_them() -> None:
    from mlcontext.lineage.operations import OPERATIONS

    for name, added in numpy_api.ADDED_IN.items():
        assert (f"numpy.{name}" in OPERATIONS) == (release(np.__version__) >= release(added))


@pytest.mark.parametrize(("cls", "names"), [(pd.DataFrame, pandas_registry.FRAME_METHODS),
                                             (pd.Series, pandas_registry.SERIES_METHODS)])
def test_pandas_methods_resolve(cls: type, names: str) -> None:
    assert unresolved(names.split(), _on(cls), pandas_registry.ADDED_IN, pd.__version__) == []


def test_pandas_deferred_methods_resolve() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.date_range("2020", periods=2, freq="D"))
    for factory, methods in pandas_registry.DEFERRED.items():
        deferred = getattr(frame, factory)("a" if factory == "groupby" else
                                           "D" if factory == "resample" else
                                           {"rolling": 1, "expanding": 1, "ewm": 0.5}[factory])
        assert unresolved(methods.split(), _on(type(deferred)), pandas_registry.ADDED_IN,
                          pd.__version__) == [], factory


def test_generator_methods_resolve() -> None:
    assert unresolved(random.METHODS, _on(np.random.Generator), {}, np.__version__) == []


def test_estimator_methods_resolve() -> None:
    # Pipeline offers every method an estimator may have (each available when its last step has it)
    from sklearn.pipeline import Pipeline

    assert unresolved(sklearn_steps.METHODS, _on(Pipeline), {}, "0") == []


@pytest.mark.parametrize(("version", "expected"), [("2.0.0", (2, 0, 0)), ("2.1.0rc1", (2, 1, 0)),
                                                   ("3.0.0.dev0+123", (3, 0, 0)), ("1.9", (1, 9))])
def test_release(version: str, expected: tuple[int, ...]) -> None:
    assert release(version) == expected


@pytest.mark.skipif(release(np.__version__) < (2, 1), reason="np.cumulative_sum is NumPy 2.1")
def test_cumulative_sum_is_traced_and_recomputed() -> None:
    import warnings

    import mlcontext as mc

    x = mc.array(np.arange(6.0).reshape(2, 3), name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # traced, not an unhandled operation
        y = np.cumulative_sum(x, axis=1, include_initial=True)
        z = np.cumulative_prod(x + 1, axis=0)
    plain = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(np.asarray(y), np.cumulative_sum(plain, axis=1, include_initial=True))
    assert np.array_equal(mc.recompute(mc.lineage.dumps(z), inputs={"x": plain}),
                          np.cumulative_prod(plain + 1, axis=0))
