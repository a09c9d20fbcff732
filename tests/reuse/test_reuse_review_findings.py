"""Wrong results found by reviewing issue 10 (reuse you can trust) as an adversarial user.

Each test is one finding: an ordinary program whose result under reuse (or tracing) differs from
plain NumPy/pandas. The reuse conftest clears the cache and admits every result at once, so a second
identical call is a cache hit whenever the keys are equal.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.fingerprint import hash_function, hash_value
from user_modules import user_module

X = np.arange(12.0).reshape(3, 4)
RAW = pd.DataFrame({"a": [3.0, 1.0, 2.0], "b": [1, 2, 3]})


# -- function identity ----------------------------------------------------------------------------

def test_module_imported_inside_a_step_is_part_of_its_identity(tmp_path, monkeypatch) -> None:
    # `import helpers` inside the body: the module is never a global, so it was not hashed at all;
    # changing helpers.RATE between calls returned the first call's result.
    helpers = user_module(tmp_path, monkeypatch, "review_helpers_a", """
        RATE = 2.0
        def rate(x):
            return x * RATE
    """)

    @mc.step
    def fare(a):
        import review_helpers_a as h
        return h.rate(a)

    np.testing.assert_array_equal(np.asarray(fare(mc.array(X))), X * 2.0)
    helpers.RATE = 5.0
    np.testing.assert_array_equal(np.asarray(fare(mc.array(X))), X * 5.0)


def test_from_import_inside_a_function_is_part_of_its_identity(tmp_path, monkeypatch) -> None:
    helpers = user_module(tmp_path, monkeypatch, "review_helpers_b", """
        RATE = 2.0
    """)

    def tip(x):
        from review_helpers_b import RATE
        return x * RATE

    t = mc.frame(RAW)
    pd.testing.assert_series_equal(t["a"].apply(tip).to_pandas(), RAW["a"] * 2.0)
    helpers.RATE = 7.0
    pd.testing.assert_series_equal(t["a"].apply(tip).to_pandas(), RAW["a"] * 7.0)


def test_user_module_named_like_a_stdlib_module_is_hashed_by_code(tmp_path, monkeypatch) -> None:
    # A project file colorsys.py (shadowing the stdlib module of that name) is the user's code: it
    # was classified as the stdlib by its name and identified by the Python version only.
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    mod = user_module(tmp_path, monkeypatch, "colorsys", """
        def shade(x):
            return x * 2.0
    """)
    before = hash_function(mod.shade)
    exec(compile("def shade(x):\n    return x * 3.0\n", mod.__file__, "exec"), vars(mod))  # noqa: S102
    assert hash_function(mod.shade) != before


# -- value identity: dicts are ordered ------------------------------------------------------------

def test_dict_argument_order_is_part_of_a_step_key() -> None:
    # Python dicts are ordered and results depend on the order (list(w.values()), column lists):
    # {'a': 1, 'b': 2} and {'b': 2, 'a': 1} were one key, so the second call got the first's result.
    @mc.step
    def weigh(a, w):
        return a[:, :2] * np.array(list(w.values()))

    np.testing.assert_array_equal(np.asarray(weigh(mc.array(X), {"a": 1.0, "b": 2.0})), X[:, :2] * [1, 2])
    np.testing.assert_array_equal(np.asarray(weigh(mc.array(X), {"b": 2.0, "a": 1.0})), X[:, :2] * [2, 1])


def test_global_dict_order_is_part_of_a_function_identity() -> None:
    scope: dict = {"__name__": "__main__", "np": np, "mc": mc}
    exec(textwrap.dedent("""\
        COLS = {"b": 1, "a": 0}
        @mc.step
        def pick(a):
            return a[:, list(COLS.values())]
    """), scope)  # noqa: S102 - a notebook cell
    np.testing.assert_array_equal(np.asarray(scope["pick"](mc.array(X))), X[:, [1, 0]])
    scope["COLS"] = {"a": 0, "b": 1}
    np.testing.assert_array_equal(np.asarray(scope["pick"](mc.array(X))), X[:, [0, 1]])
    assert hash_value({"a": 0, "b": 1}) != hash_value({"b": 1, "a": 0})


# -- mutation safety: pandas ----------------------------------------------------------------------

def test_insert_on_a_traced_frame_inserts() -> None:
    # DataFrame.insert works in place and returns None; on a traced frame it returned a new frame
    # that was thrown away, leaving the frame unchanged (with reuse off too).
    plain, traced = RAW.copy(), mc.frame(RAW)
    assert traced.insert(0, "z", [1.0, 2.0, 3.0]) is None
    plain.insert(0, "z", [1.0, 2.0, 3.0])
    pd.testing.assert_frame_equal(traced.to_pandas(), plain)
    pd.testing.assert_series_equal(traced.sum().to_pandas(), plain.sum())


def test_renaming_an_axis_of_a_reused_frame_does_not_rename_other_frames() -> None:
    # A hit handed out the cached frame object itself: `b.index.name = 'k'` renamed the index of
    # `a` (an earlier, separate result) and of the cache entry, so every later hit had it too.
    t = mc.frame(RAW)
    a = t.sort_values("a")
    b = t.sort_values("a")
    b.index.name = "k"
    b.columns.name = "c"
    c = t.sort_values("a")
    for frame in (a, c):
        assert frame.to_pandas().index.name is None
        assert frame.to_pandas().columns.name is None


def test_renaming_the_axis_of_to_pandas_leaves_the_traced_frame_alone() -> None:
    t = mc.frame(RAW).sort_values("a")
    plain = t.to_pandas()
    plain.index.name = "id"
    assert t.to_pandas().index.name is None
    assert mc.frame(RAW).sort_values("a").to_pandas().index.name is None


def test_renaming_an_axis_in_place_is_a_new_version() -> None:
    # t.index/t.columns were handed out as copies, so pandas' in-place rename (t.columns.name = 'k')
    # was silently dropped. Siblings: tests/reuse/test_identity_layout_and_axes.py.
    plain, t = RAW.copy(), mc.frame(RAW)
    t.sum()
    plain.columns.name = "k"
    t.columns.name = "k"
    pd.testing.assert_series_equal(t.sum().to_pandas(), plain.sum())


# -- value identity: memory layout ----------------------------------------------------------------

def test_memory_layout_of_a_reused_result_is_numpys() -> None:
    # A Fortran-ordered leaf hashed like its C-ordered copy, so a hit handed back a C-ordered result
    # where NumPy's keeps the input's layout. Siblings: tests/reuse/test_identity_layout_and_axes.py.
    c = X.copy()
    f = np.asfortranarray(X)
    np.asarray(mc.array(c) * 2)
    got = mc.array(f) * 2
    np.testing.assert_array_equal(np.asarray(got.ravel(order="K")), (f * 2).ravel(order="K"))


# -- value identity: subclasses of builtin types ----------------------------------------------------

def test_defaultdict_factory_is_part_of_a_step_key() -> None:
    # A defaultdict was hashed as the dict of its items: two with different factories were one key.
    from collections import defaultdict

    @mc.step
    def weigh(a, w):
        return a[:, :2] * np.array([w["a"], w["other"]])

    first = weigh(mc.array(X), defaultdict(lambda: 1.0, a=2.0))
    np.testing.assert_array_equal(np.asarray(first), X[:, :2] * [2.0, 1.0])
    second = weigh(mc.array(X), defaultdict(lambda: 5.0, a=2.0))
    np.testing.assert_array_equal(np.asarray(second), X[:, :2] * [2.0, 5.0])


def test_int_enums_of_different_classes_are_different_arguments() -> None:
    # IntEnum members were hashed as their int: Color.RED and Size.SMALL (both 1) were one key.
    from enum import IntEnum

    class Color(IntEnum):
        RED = 1

    class Size(IntEnum):
        SMALL = 1

    @mc.step
    def scale(a, c):
        return a * (2.0 if isinstance(c, Color) else 3.0)

    np.testing.assert_array_equal(np.asarray(scale(mc.array(X), Color.RED)), X * 2.0)
    np.testing.assert_array_equal(np.asarray(scale(mc.array(X), Size.SMALL)), X * 3.0)
    assert hash_value(Color.RED) != hash_value(1)


def test_namedtuples_of_different_classes_are_different_values() -> None:
    from collections import namedtuple

    assert hash_value(namedtuple("Ridge", "alpha")(1.0)) != hash_value(namedtuple("Lasso", "alpha")(1.0))
    assert hash_value(namedtuple("Ridge", "alpha")(1.0)) != hash_value((1.0,))


# -- value identity: ndarray subclasses -----------------------------------------------------------

def test_masked_arrays_with_different_masks_are_different_step_arguments() -> None:
    # A MaskedArray was hashed by its data buffer only: a second mask hit the first mask's result.
    @mc.step
    def mean_of(a, b):
        return np.asarray(a).sum() + b.mean()

    x = np.arange(4.0)
    assert mean_of(mc.array(x), np.ma.array([1.0, 2.0, 30.0], mask=[0, 0, 0])) == 6.0 + 11.0
    assert mean_of(mc.array(x), np.ma.array([1.0, 2.0, 30.0], mask=[0, 0, 1])) == 6.0 + 1.5


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_a_matrix_is_not_the_ndarray_of_its_buffer() -> None:
    # np.matrix's * is a matrix product; it hashed like the ndarray of the same bytes.
    @mc.step
    def square(a, b):
        return b * b

    A = np.arange(4.0).reshape(2, 2)
    np.testing.assert_array_equal(np.asarray(square(mc.array(X), A)), A * A)
    got = square(mc.array(X), np.matrix(A))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(np.matrix(A) ** 2))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("make", [mc.array, mc.asarray])
def test_masked_arrays_and_matrices_are_refused_not_flattened(make) -> None:
    # mc.array(masked).mean() was 11.0 where masked.mean() is 1.5: the mask was dropped silently.
    with pytest.raises(mc.UsageError, match="masked array"):
        make(np.ma.array([1.0, 2.0, 30.0], mask=[0, 0, 1]))
    with pytest.raises(mc.UsageError, match="matrix"):
        make(np.matrix(np.eye(2)))


# -- function identity: installed packages' classes -----------------------------------------------

def test_an_installed_class_is_identified_with_its_package_version(monkeypatch) -> None:
    # docs/reuse.md: installed packages' functions, classes and modules by name and version. Classes
    # were by name alone, so a step building StandardScaler() kept its persistent entries across a
    # scikit-learn upgrade.
    from sklearn.preprocessing import StandardScaler

    from mlcontext.fingerprint import packages

    before = hash_value(StandardScaler)
    monkeypatch.setitem(packages._VERSIONS, "sklearn", "0.0-other")
    assert hash_value(StandardScaler) != before


# -- what a step reads from outside ---------------------------------------------------------------

def test_a_step_that_reads_a_file_is_not_reused(tmp_path) -> None:
    # The file's content is no part of the key: editing cfg.json between calls returned the first
    # call's result, with no warning.
    import json

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"k": 2.0}))

    @mc.step
    def scaled(a):
        with open(cfg) as f:
            return a * json.load(f)["k"]

    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 2.0)
    cfg.write_text(json.dumps({"k": 3.0}))
    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 3.0)


def test_a_step_that_loads_an_npy_file_is_not_reused(tmp_path) -> None:
    path = tmp_path / "w.npy"
    np.save(path, np.ones(4))

    @mc.step
    def weighted(a):
        return a * np.load(path)

    np.testing.assert_array_equal(np.asarray(weighted(mc.array(X))), X)
    np.save(path, np.full(4, 2.0))
    np.testing.assert_array_equal(np.asarray(weighted(mc.array(X))), X * 2.0)


def test_a_step_that_only_writes_a_file_is_still_reused(tmp_path) -> None:
    @mc.step
    def logged(a):
        (tmp_path / "log.txt").write_text("ran")
        return a * 2.0

    logged(mc.array(X))
    before = mc.reuse_stats().step_hits
    np.testing.assert_array_equal(np.asarray(logged(mc.array(X))), X * 2.0)
    assert mc.reuse_stats().step_hits == before + 1


def test_a_step_that_reads_the_environment_is_not_stale(monkeypatch) -> None:
    import os

    monkeypatch.setenv("REVIEW_K", "2")

    @mc.step
    def scaled(a):
        return a * float(os.environ["REVIEW_K"])

    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 2.0)
    monkeypatch.setenv("REVIEW_K", "5")
    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 5.0)


@pytest.mark.parametrize("how", ["getenv", "from-os-import"])
def test_every_way_of_reading_the_environment_is_part_of_a_steps_identity(monkeypatch, how) -> None:
    import os
    from os import environ

    monkeypatch.setenv("REVIEW_K2", "2")
    if how == "getenv":
        def factor():
            return float(os.getenv("REVIEW_K2", "1"))
    else:
        def factor():
            return float(environ["REVIEW_K2"])

    @mc.step
    def scaled(a):
        return a * factor()

    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 2.0)
    monkeypatch.setenv("REVIEW_K2", "7")
    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 7.0)
    before = mc.reuse_stats().step_hits
    np.testing.assert_array_equal(np.asarray(scaled(mc.array(X))), X * 7.0)
    assert mc.reuse_stats().step_hits == before + 1  # unchanged environment: still reused
