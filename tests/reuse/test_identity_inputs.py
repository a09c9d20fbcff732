"""Issue 10's failing inputs 1-6 (reuse you can trust), each kept as a regression test, with siblings of
the same kind next to it."""

from __future__ import annotations

import datetime
import decimal
import textwrap
import uuid

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import FingerprintError, MLContextError, UnidentifiedWarning, UsageError
from mlcontext.fingerprint import hash_array, hash_frame, hash_function, hash_value

X = np.arange(6.0).reshape(3, 2)


def _namespace(source: str) -> dict:
    """Run ``source`` as a notebook cell would: its functions live in a module-like namespace."""
    scope: dict = {"__name__": "__main__", "np": np, "mc": mc}
    exec(compile(textwrap.dedent(source), "<cell>", "exec"), scope)  # noqa: S102 - test input
    return scope


# -- 1. closures ----------------------------------------------------------------------------------

def test_step_factory_closures_are_not_confused() -> None:
    def make_scaler(f):
        @mc.step
        def scale(a):
            return a * f
        return scale

    first = make_scaler(2.0)(mc.array(X))
    second = make_scaler(3.0)(mc.array(X))
    np.testing.assert_array_equal(np.asarray(first), X * 2.0)
    np.testing.assert_array_equal(np.asarray(second), X * 3.0)
    assert mc.reuse_stats().step_hits == 0


def test_same_closure_values_still_hit() -> None:
    def make_scaler(f):
        @mc.step
        def scale(a):
            return a * f
        return scale

    make_scaler(2.0)(mc.array(X))
    out = make_scaler(2.0)(mc.array(X))
    np.testing.assert_array_equal(np.asarray(out), X * 2.0)
    assert mc.reuse_stats().step_hits == 1


def test_closure_cell_rebound_between_calls() -> None:
    f = 2.0

    @mc.step
    def scale(a):
        return a * f

    scale(mc.array(X))
    f = 5.0  # noqa: F841 - read by scale through its cell
    np.testing.assert_array_equal(np.asarray(scale(mc.array(X))), X * 5.0)


def test_defaults_changed_between_calls() -> None:
    @mc.step
    def scale(a, k=2.0):
        return a * k

    scale(mc.array(X))
    scale.__wrapped__.__defaults__ = (4.0,)
    np.testing.assert_array_equal(np.asarray(scale(mc.array(X))), X * 4.0)


def test_apply_with_closures_from_a_factory() -> None:
    raw = pd.DataFrame({"fare": [10.0, 20.0]})

    def make(rate):
        return lambda x: x * rate

    a = mc.frame(raw).fare.apply(make(0.1)).to_pandas()
    b = mc.frame(raw).fare.apply(make(0.2)).to_pandas()
    pd.testing.assert_series_equal(b, raw.fare.apply(make(0.2)))
    assert not a.equals(b)


# -- 2. helpers and globals -----------------------------------------------------------------------

def test_apply_sees_a_redefined_helper() -> None:
    cell = _namespace("""
        def rate(x):
            return 0.1
        def tip(x):
            return x * rate(x)
    """)
    raw = pd.DataFrame({"fare": [10.0, 20.0]})
    first = mc.frame(raw).fare.apply(cell["tip"]).to_pandas()
    exec("def rate(x):\n    return 0.2\n", cell)  # noqa: S102 - the notebook redefines the helper
    second = mc.frame(raw).fare.apply(cell["tip"]).to_pandas()
    pd.testing.assert_series_equal(first, raw.fare * 0.1)
    pd.testing.assert_series_equal(second, raw.fare * 0.2)


def test_apply_sees_a_changed_module_constant() -> None:
    cell = _namespace("""
        RATE = 0.1
        def rate(x):
            return RATE
        def tip(x):
            return x * rate(x)
    """)
    raw = pd.DataFrame({"fare": [10.0, 20.0]})
    mc.frame(raw).fare.apply(cell["tip"])
    cell["RATE"] = 0.3
    pd.testing.assert_series_equal(mc.frame(raw).fare.apply(cell["tip"]).to_pandas(), raw.fare * 0.3)


def test_step_reading_a_global_sees_its_new_value() -> None:
    cell = _namespace("""
        K = 2.0
        @mc.step
        def scale(a):
            return a * K
    """)
    cell["scale"](mc.array(X))
    cell["K"] = 7.0
    np.testing.assert_array_equal(np.asarray(cell["scale"](mc.array(X))), X * 7.0)


def test_step_sees_a_helper_of_a_helper() -> None:
    cell = _namespace("""
        def inner(a):
            return a + 1
        def outer(a):
            return inner(a) * 2
        @mc.step
        def run(a):
            return outer(a)
    """)
    cell["run"](mc.array(X))
    exec("def inner(a):\n    return a + 10\n", cell)  # noqa: S102
    np.testing.assert_array_equal(np.asarray(cell["run"](mc.array(X))), (X + 10) * 2)


def test_pipe_and_map_see_redefined_functions() -> None:
    cell = _namespace("""
        def f(x):
            return x + 1
    """)
    raw = pd.DataFrame({"a": [1, 2]})
    mc.frame(raw).pipe(cell["f"])
    mc.frame(raw).a.map(cell["f"])
    exec("def f(x):\n    return x + 5\n", cell)  # noqa: S102
    pd.testing.assert_frame_equal(mc.frame(raw).pipe(cell["f"]).to_pandas(), raw + 5)
    pd.testing.assert_series_equal(mc.frame(raw).a.map(cell["f"]).to_pandas(), raw.a + 5)


def test_function_transformer_sees_a_redefined_function() -> None:
    from sklearn.preprocessing import FunctionTransformer

    cell = _namespace("""
        def f(x):
            return x * 2
    """)
    Xa = mc.array(X)
    mc.traced(FunctionTransformer(cell["f"])).fit(Xa).transform(Xa)
    exec("def f(x):\n    return x * 3\n", cell)  # noqa: S102
    out = mc.traced(FunctionTransformer(cell["f"])).fit(Xa).transform(Xa)
    np.testing.assert_array_equal(np.asarray(out), X * 3)


def test_unidentifiable_global_warns_once_and_never_reuses(tmp_path) -> None:
    handle = open(tmp_path / "f.txt", "w")  # noqa: SIM115 - the value that cannot be identified
    try:
        calls = []
        cell = _namespace("""
            @mc.step
            def scale(a):
                HANDLE.write("x")
                return a * 2
        """)
        cell["HANDLE"] = handle
        with pytest.warns(UnidentifiedWarning, match="global 'HANDLE' of scale"):
            cell["scale"](mc.array(X))
        import warnings

        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            cell["scale"](mc.array(X))
        assert not [w for w in seen if issubclass(w.category, UnidentifiedWarning)]  # once
        assert mc.reuse_stats().step_hits == 0
        with mc.reuse(strict=True), pytest.raises(FingerprintError, match="HANDLE"):
            cell["scale"](mc.array(X))
        del calls
    finally:
        handle.close()


def test_strict_mode_raises_for_apply_with_unidentifiable_function(tmp_path) -> None:
    handle = open(tmp_path / "f.txt", "w")  # noqa: SIM115
    try:
        def tip(x):
            handle.write("")
            return x

        raw = pd.DataFrame({"fare": [10.0]})
        with mc.reuse(strict=True), pytest.raises(FingerprintError, match="handle"):
            mc.frame(raw).fare.apply(tip)
        with pytest.warns(UnidentifiedWarning, match="closure variable 'handle'"):
            out = mc.frame(raw).fare.apply(tip)
        pd.testing.assert_series_equal(out.to_pandas(), raw.fare)
    finally:
        handle.close()


# -- 3. structured dtypes -------------------------------------------------------------------------

def test_record_arrays_with_swapped_field_names_differ() -> None:
    a = np.zeros(3, [("a", "<i8"), ("b", "<f8")])
    a["a"], a["b"] = [3, 1, 2], [0.5, 2.5, 1.5]
    y = a.view([("b", "<i8"), ("a", "<f8")])  # same bytes, swapped names
    assert hash_array(a) != hash_array(y)
    first = np.sort(mc.array(a)["b"])
    second = np.sort(mc.array(y)["b"])
    np.testing.assert_array_equal(np.asarray(first), np.sort(a["b"]))
    np.testing.assert_array_equal(np.asarray(second), np.sort(y["b"]))


@pytest.mark.parametrize(("left", "right"), [
    ("<i8", ">i8"), ("<M8[s]", "<M8[ms]"), ("<m8[s]", "<m8[D]"), ("<U2", "|S8"),
    ([("a", "<i4"), ("b", "<i4")], [("a", "<i4"), ("b", ">i4")]),
    ({"names": ["a"], "formats": ["<i4"], "offsets": [0], "itemsize": 8},
     {"names": ["a"], "formats": ["<i4"], "offsets": [4], "itemsize": 8}),
])
def test_dtype_descriptions_with_the_same_bytes_differ(left, right) -> None:
    a = np.zeros(2, np.dtype(left))
    b = np.frombuffer(a.tobytes(), np.dtype(right))
    assert hash_array(a) != hash_array(b)
    assert hash_value(np.dtype(left)) != hash_value(np.dtype(right))


# -- 4. fingerprints invalidated by mutation ------------------------------------------------------

def _multi() -> mc.TracedFrame:
    raw = pd.DataFrame({"g": [1, 1, 2], "x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0]})
    return mc.frame(raw).groupby("g").agg({"x": ["min", "max"], "y": ["sum"]})


def test_multiindex_column_assignment_changes_the_fingerprint() -> None:
    t, u = _multi(), _multi()
    before = t.fingerprint
    assert u.fingerprint == before
    t["x"] = 0.0
    u["x"] = 99.0
    assert t.fingerprint != before and u.fingerprint != before and t.fingerprint != u.fingerprint
    assert t.fingerprint == hash_frame(t.to_pandas())
    assert u.fingerprint == hash_frame(u.to_pandas())


@pytest.mark.parametrize("mutate", [
    lambda t: t.__setitem__(("x", "min"), 5.0),
    lambda t: t.__setitem__([("x", "min"), ("y", "sum")], 5.0),
    lambda t: t.__delitem__("x"),
    lambda t: t.loc.__setitem__((1, ("y", "sum")), -1.0),
    lambda t: t.iloc.__setitem__((0, 0), -1.0),
    lambda t: t.__setitem__(t[("x", "min")] > 1, 0.0),
    lambda t: t.fillna(0.0, inplace=True),
    lambda t: t.clip(lower=2.0, inplace=True),
    lambda t: setattr(t, "columns", ["a", "b", "c"]),
])
def test_every_mutation_keeps_the_fingerprint_exact(mutate) -> None:
    t = _multi()
    before = t.fingerprint
    plain = t.to_pandas()
    mutate(t)
    assert t.fingerprint == hash_frame(t.to_pandas())
    if not t.to_pandas().equals(plain) or list(t.columns) != list(plain.columns):
        assert t.fingerprint != before


@pytest.mark.parametrize("mutate", [
    lambda t: t.__setitem__("x", 0),
    lambda t: t.__setitem__(["x", "z"], 0),
    lambda t: t.__setitem__(1, 0),  # an int label next to str ones
    lambda t: t.__delitem__("y"),
    lambda t: t.loc.__setitem__((0, "x"), 5),
    lambda t: t.iloc.__setitem__((slice(None), 1), 9),
    lambda t: t.__setitem__(t["x"] > 1, 0),
    lambda t: t.rename(columns={"x": "y", "y": "x"}, inplace=True),
    lambda t: t.sort_values("y", inplace=True),
])
def test_flat_frame_mutations_keep_the_fingerprint_exact(mutate) -> None:
    t = mc.frame(pd.DataFrame({"x": [1, 2, 3], "y": [3, 2, 1]}))
    assert t.fingerprint  # the column digests are cached now
    mutate(t)
    assert t.fingerprint == hash_frame(t.to_pandas())


@pytest.mark.parametrize("label", [np.nan, ("x", np.nan)])
def test_a_nan_column_label_written_drops_its_digest(label) -> None:
    t = mc.frame(pd.DataFrame({label: [1.0, 2.0], "b": [3.0, 4.0]}))
    assert t.fingerprint  # cached column digests
    t[label] = 0.0
    assert t.fingerprint == hash_frame(t.to_pandas())


def test_traced_array_writes_change_its_lineage_and_value() -> None:
    t = mc.array(X)
    first = t.lineage.hash
    t[0, 0] = 100.0
    t += 1
    assert t.lineage.hash != first
    expected = X.copy()
    expected[0, 0] = 100.0
    np.testing.assert_array_equal(np.asarray(t), expected + 1)


# -- 5. ordinary object columns ---------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    [datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)],
    [decimal.Decimal("1.10"), decimal.Decimal("2")],
    [uuid.UUID(int=1), uuid.UUID(int=2)],
    [datetime.datetime(2024, 1, 1, 12), None],
    [datetime.time(1, 2), datetime.time(3, 4)],
    [b"a", b"b"],
    [1, "1"],
])
def test_ordinary_object_columns_are_fingerprinted(values) -> None:
    raw = pd.DataFrame({"v": pd.Series(values, dtype=object)})
    t = mc.frame(raw)
    assert t.fingerprint == hash_frame(raw)
    changed = raw.copy()
    changed.loc[0, "v"] = values[1]
    assert hash_frame(changed) != hash_frame(raw)


def test_object_values_of_different_types_differ() -> None:
    for a, b in [(decimal.Decimal("1.0"), decimal.Decimal("1.00")), (1, "1"), (1, 1.0),
                 (datetime.date(2024, 1, 1), datetime.datetime(2024, 1, 1)),
                 (pd.Timestamp("2024-01-01 00:00:00.000000001"), pd.Timestamp("2024-01-01")),
                 (pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-01"))]:
        assert hash_value(a) != hash_value(b), (a, b)
        assert hash_array(np.array([a], dtype=object)) != hash_array(np.array([b], dtype=object))


def test_dataset_accepts_date_and_decimal_columns(store) -> None:
    raw = pd.DataFrame({"day": [datetime.date(2024, 1, 1)], "amount": [decimal.Decimal("9.99")]})
    with mc.run("dates"):
        mc.dataset(raw, "ledger")


def test_frame_labels_keep_their_types() -> None:
    a = pd.DataFrame({1: [1.0], "1": [2.0]})
    b = pd.DataFrame({"1": [1.0], 1: [2.0]})
    assert hash_frame(a) != hash_frame(b)
    assert hash_frame(pd.DataFrame({1: [1]})) != hash_frame(pd.DataFrame({"1": [1]}))
    by_int, by_str = pd.DataFrame({"a": [1]}, index=[1]), pd.DataFrame({"a": [1]}, index=["1"])
    assert hash_frame(by_int) != hash_frame(by_str)


def test_categories_order_and_timezone_are_part_of_a_frame() -> None:
    c1 = pd.Categorical(["a", "b"], categories=["a", "b"])
    c2 = pd.Categorical(["a", "b"], categories=["b", "a"])
    c3 = pd.Categorical(["a", "b"], categories=["a", "b"], ordered=True)
    digests = {hash_frame(pd.DataFrame({"c": c})) for c in (c1, c2, c3)}
    assert len(digests) == 3
    t = pd.date_range("2024-01-01", periods=2, freq="D")
    zones = {hash_frame(pd.DataFrame({"t": t.tz_localize(z)})) for z in (None, "UTC", "Europe/Paris")}
    assert len(zones) == 3


# -- 6. error leaks ---------------------------------------------------------------------------------

def test_object_array_of_ordinary_values_is_traced() -> None:
    a = mc.array(np.array([1, "a"], dtype=object))
    b = mc.array(np.array(["1", "a"], dtype=object))
    assert a.lineage.hash != b.lineage.hash


def test_object_array_of_arbitrary_objects_raises_a_clear_error() -> None:
    with pytest.raises(FingerprintError, match=r"element 1 .*builtins.object.*astype\(str\)"):
        mc.array(np.array([1, object()], dtype=object))
    with pytest.raises(TypeError):  # the builtin it also inherits
        mc.asarray(np.array([object()], dtype=object))


@pytest.mark.parametrize(("call", "builtin"), [
    (lambda: mc.traced(1), TypeError),
    (lambda: mc.traced("StandardScaler"), TypeError),
    (lambda: mc.step(len), TypeError),
    (lambda: mc.step(np.add), TypeError),
    (lambda: mc.step(print), TypeError),
    (lambda: mc.step(1), TypeError),
    (lambda: mc.step("f"), TypeError),
    (lambda: mc.step(__import__("functools").partial(len)), TypeError),
])
def test_misuse_raises_an_mlcontext_error(call, builtin) -> None:
    with pytest.raises(MLContextError) as info:
        call()
    assert isinstance(info.value, builtin)
    assert "not" in str(info.value)  # says what was wrong


def test_step_of_a_builtin_says_what_to_do() -> None:
    with pytest.raises(UsageError, match="wrap the call in a def"):
        mc.step(len)


def test_reuse_strict_takes_a_bool() -> None:
    with pytest.raises(mc.ConfigError, match="strict"):
        mc.reuse(strict="yes")


def test_an_object_column_without_fingerprint_is_named() -> None:
    with pytest.raises(FingerprintError, match="column 'a'"):
        assert mc.frame(pd.DataFrame({"a": [object()]})).fingerprint


def test_traced_of_a_non_estimator_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="scikit-learn estimator"):
        mc.traced(1)


def test_function_identity_of_the_same_source_is_stable() -> None:
    a = _namespace("def f(x):\n    return x + 1\n")["f"]
    b = _namespace("def f(x):\n    return x + 1\n")["f"]
    assert hash_function(a) == hash_function(b)


def test_insert_makes_a_new_version_in_place_as_in_pandas() -> None:
    raw = pd.DataFrame({"x": [1.0, 2.0]})
    t = mc.frame(raw)
    before, item = t.fingerprint, t.lineage
    plain = raw.copy()
    assert t.insert(0, "z", [5, 6]) is None and plain.insert(0, "z", [5, 6]) is None
    pd.testing.assert_frame_equal(t.to_pandas(), plain)
    assert t.fingerprint != before and t.fingerprint == hash_frame(plain)
    assert t.lineage is not item
    assert list(raw.columns) == ["x"]  # the caller's frame is untouched


@pytest.mark.parametrize("attr", ["index", "columns"])
def test_metadata_objects_handed_out_rename_as_a_new_version(attr) -> None:
    # pandas renames an axis in place: the traced frame gets a new version, the old one never changes
    # (see tests/reuse/test_identity_layout_and_axes.py for the other in-place renames).
    t = mc.frame(pd.DataFrame({"x": [1.0, 2.0]}))
    old, before, item = t.to_pandas(), t.fingerprint, t.lineage.hash
    getattr(t, attr).name = "renamed"
    assert getattr(t.to_pandas(), attr).name == "renamed" and getattr(old, attr).name is None
    assert t.fingerprint != before and t.fingerprint == hash_frame(t.to_pandas()) and t.lineage.hash != item
    s = t["x"]
    s.index.name = "again"
    assert s.to_pandas().index.name == "again"


def test_an_unidentifiable_callable_object_is_computed_and_never_reused() -> None:
    class Scale:
        __slots__ = ("k",)  # no __weakref__, and unhashable: the nonce cannot be remembered
        __hash__ = None

        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            return x * self.k

    raw = pd.DataFrame({"v": [1.0, 2.0]})
    with pytest.warns(UnidentifiedWarning, match="Scale"):
        first = mc.frame(raw).v.apply(Scale(2)).to_pandas()
    second = mc.frame(raw).v.apply(Scale(3)).to_pandas()
    pd.testing.assert_series_equal(first, raw.v * 2)
    pd.testing.assert_series_equal(second, raw.v * 3)


def test_user_classes_of_every_common_kind_have_an_identity() -> None:
    # Functions reading a dataclass, an ABC, an Enum or a NamedTuple are identified (not refused for
    # the class machinery's internals), and a changed default or member gives another identity.
    def make(default, member, field_default):
        scope = _namespace(f"""
            import abc, dataclasses, enum
            from typing import NamedTuple
            @dataclasses.dataclass
            class Cfg:
                k: float = {default}
                xs: list = dataclasses.field(default_factory=list)
            class Base(abc.ABC):
                @abc.abstractmethod
                def f(self): ...
            class Mode(enum.Enum):
                FAST = {member}
            class Point(NamedTuple):
                x: int = {field_default}
            def run(a):
                return a * Cfg().k + Mode.FAST.value + Point().x + len(Base.__abstractmethods__)
        """)
        return hash_function(scope["run"])

    base = make(2.0, 1, 0)
    assert base == make(2.0, 1, 0)
    assert len({base, make(3.0, 1, 0), make(2.0, 2, 0), make(2.0, 1, 5)}) == 4


def test_dataclass_and_namedtuple_values_are_identified_by_class_and_fields() -> None:
    import dataclasses
    from typing import NamedTuple

    @dataclasses.dataclass
    class Cfg:
        k: float = 2.0

    class P(NamedTuple):
        x: int

    class Q(NamedTuple):
        x: int

    assert hash_value(Cfg()) == hash_value(Cfg(2.0)) != hash_value(Cfg(3.0))
    assert hash_value(P(1)) != hash_value(Q(1)) and hash_value(P(1)) != hash_value((1,))
    cfg = Cfg()

    @mc.step
    def scale(a):
        return a * cfg.k

    scale(mc.array(X))
    cfg.k = 4.0  # the instance is mutated in place: read again at the next call
    np.testing.assert_array_equal(np.asarray(scale(mc.array(X))), X * 4.0)


def test_globals_of_ordinary_scripts_are_identified() -> None:
    # argparse's Namespace, a Path, a compiled regex, a module logger and an lru_cache'd helper: read
    # as globals by steps in ordinary scripts, none of them may make a step unidentifiable.
    cell = _namespace("""
        import argparse, functools, logging, pathlib, re
        args = argparse.Namespace(lr=0.5)
        DATA = pathlib.Path("data") / "x.csv"
        PAT = re.compile(r"\\\\d+")
        log = logging.getLogger("corpus")
        @functools.lru_cache(maxsize=None)
        def factor(n):
            return n * 2
        @mc.step
        def train(a):
            log.debug("training on %s", DATA)
            return a * args.lr * factor(len(PAT.pattern))
    """)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnidentifiedWarning)
        first = np.asarray(cell["train"](mc.array(X))).copy()
        again = np.asarray(cell["train"](mc.array(X)))
        assert mc.reuse_stats().step_hits == 1
        cell["args"].lr = 2.0
        changed = np.asarray(cell["train"](mc.array(X)))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(changed, first * 4.0)


def test_a_step_taking_an_unfitted_estimator_is_keyed_by_its_class_and_params() -> None:
    from sklearn.linear_model import Ridge

    y = np.arange(3.0)

    @mc.step
    def fit_predict(model, a):
        return model.fit(np.asarray(a), y).predict(np.asarray(a))

    first = fit_predict(Ridge(alpha=1.0), mc.array(X))
    again = fit_predict(Ridge(alpha=1.0), mc.array(X))
    other = fit_predict(Ridge(alpha=100.0), mc.array(X))
    assert mc.reuse_stats().step_hits == 1
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(other, Ridge(alpha=100.0).fit(X, y).predict(X))
    fitted = Ridge().fit(X, y)
    with pytest.warns(UnidentifiedWarning, match="a fitted Ridge"):
        fit_predict(fitted, mc.array(X))
