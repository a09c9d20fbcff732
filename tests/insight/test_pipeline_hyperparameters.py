"""A Pipeline's hyper-parameters are its steps' (``logisticregression__C``), as scikit-learn's
``GridSearchCV`` names them (a newcomer's finding: they were the shallow ``get_params()``, ``steps`` as
one repr with mlcontext's internal ``Traced*`` class names, so the model diff and ``tried`` could not
say that two designs differed in ``C``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.tracking.derivation import hyper_parameters


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return data.assign(y=(data.a + 0.3 * data.b > 0).astype(int))


def _fit(C: float, traced: bool = True) -> str:
    with mc.run("train", project="pipes") as run:
        train = mc.dataset(_data(), "train", role="train", project="pipes").frame()
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=C))
        if not traced:  # (a plain model is given plain frames: docs/lineage.md)
            train = train.to_pandas()
        model = (mc.traced(pipe) if traced else pipe).fit(train[["a", "b"]], train["y"])
        mc.log("acc", model.score(train[["a", "b"]], train["y"]))
        mc.artifact("model", model)
    return run.id


def test_the_model_diff_names_the_step_parameter_that_differs(store):
    a, b = _fit(0.1), _fit(1.0)
    report = mc.diff(f"{a}:model", f"{b}:model")
    assert report.params == {"logisticregression__C": (0.1, 1.0)}, report.params


@pytest.mark.parametrize("traced", [True, False])
def test_steps_are_named_by_their_own_classes(store, traced):
    run = mc.get_run(_fit(0.5, traced))
    params = next(a for a in run.artifacts if a.name == "model").meta["params"]
    assert params["steps"] == [["standardscaler", "StandardScaler"],
                               ["logisticregression", "LogisticRegression"]]
    assert params["logisticregression"] == "LogisticRegression" and params["logisticregression__C"] == 0.5
    assert "Traced" not in json.dumps(params)


def test_tried_keeps_the_varied_step_parameter_at_80_columns(store, monkeypatch):
    for C in (0.1, 1.0, 10.0):
        _fit(C)
    tried = mc.tried("train", "acc", project="pipes")
    assert sorted(p["logisticregression__C"] for p in tried["model_params"]) == [0.1, 1.0, 10.0]
    monkeypatch.setenv("COLUMNS", "80")
    shown = CliRunner().invoke(cli, ["tried", "--dataset", "train", "--metric", "acc", "-p", "pipes"])
    assert shown.exit_code == 0, shown.output
    assert "model_params" not in shown.output.split("left out")[-1], shown.output
    assert "10.0" in shown.output


def test_nested_lists_of_steps_and_plain_values_are_json():
    transformer = ColumnTransformer([("scale", StandardScaler(), ["a"])], remainder="passthrough")
    params = hyper_parameters(make_pipeline(transformer, LogisticRegression()))
    json.dumps(params)  # every value is JSON
    assert params["columntransformer__transformers"] == [["scale", "StandardScaler", ["a"]]]
    assert hyper_parameters(object()) == {}


def test_hyper_parameters_are_strict_json_with_numpy_values():
    """A reviewer's findings: a SimpleImputer's ``missing_values=nan`` made the model's metadata
    invalid JSON for PostgreSQL's json type (saving the model failed), and a grid of ``np.arange``
    values chose ``'np.int64(3)'``, which differed from the same choice in a grid of ints."""
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import GridSearchCV
    from sklearn.tree import DecisionTreeClassifier

    params = hyper_parameters(make_pipeline(SimpleImputer(), LogisticRegression()))
    json.dumps(params, allow_nan=False)  # strict: no NaN
    assert params["simpleimputer__missing_values"] == "nan"
    x, y = _data()[["a", "b"]], _data()["y"]
    chosen = [hyper_parameters(GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": grid},
                                            cv=3).fit(x, y))["best_params_"]
              for grid in (np.arange(1, 4), [1, 2, 3])]
    assert chosen[0] == chosen[1] and type(chosen[0]["max_depth"]) is int
    assert hyper_parameters(GridSearchCV(LogisticRegression(), {"C": np.array([0.5, np.inf])}))[
        "param_grid"] == {"C": [0.5, "inf"]}


def test_a_pipeline_with_an_imputer_is_saved_and_diffed(store):
    from sklearn.impute import SimpleImputer

    runs = []
    for C in (0.1, 1.0):
        with mc.run("impute", project="pipes") as run:
            data = _data()
            mc.artifact("model", make_pipeline(SimpleImputer(), LogisticRegression(C=C)).fit(
                data[["a", "b"]], data["y"]))
        runs.append(run.id)
    assert mc.diff(f"{runs[0]}:model", f"{runs[1]}:model").params == {"logisticregression__C": (0.1, 1.0)}


def test_tried_shows_a_swapped_step_not_all_its_parameters(store):
    """A reviewer's finding: with designs of different final steps, each row's ``model_params`` held
    every ``logisticregression__*`` (absent from the other design), some 250 lines at 80 columns."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import Pipeline

    from mlcontext.insight.usage import varied_only

    for clf in (LogisticRegression(C=0.5), RidgeClassifier(alpha=2.0)):
        with mc.run("train", project="swap"):
            train = mc.dataset(_data(), "train", role="train", project="swap").frame()
            model = mc.traced(Pipeline([("scale", StandardScaler()), ("clf", clf)])).fit(
                train[["a", "b"]], train["y"])
            mc.log("acc", model.score(train[["a", "b"]], train["y"]))
            mc.artifact("model", model)
    shown = varied_only(mc.tried("train", "acc", project="swap"))
    assert [sorted(p) for p in shown["model_params"]] == [["clf", "steps"]] * 2, shown["model_params"]
    assert {p["clf"] for p in shown["model_params"]} == {"LogisticRegression", "RidgeClassifier"}


def test_tried_keeps_c_between_two_designs_of_one_class_beside_another_class(store):
    """A reviewer's and a newcomer's finding: with clf = LR(C=0.1), LR(C=10) and a RidgeClassifier,
    every clf__* was dropped, so the two LR rows looked alike; a design without a step (a forest
    beside logistic regressions) hid the regressions' C the same way."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import Pipeline

    from mlcontext.insight.usage import varied_only

    designs = [Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.1))]),
               Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=10.0))]),
               Pipeline([("scale", StandardScaler()), ("clf", RidgeClassifier())]),
               make_pipeline(StandardScaler(), LogisticRegression(C=0.5)),
               make_pipeline(StandardScaler(), LogisticRegression(C=2.0)),
               make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=5, random_state=0))]
    for design in designs:
        with mc.run("train", project="mixed"):
            train = mc.dataset(_data(), "train", role="train", project="mixed").frame()
            model = mc.traced(design).fit(train[["a", "b"]], train["y"])
            mc.log("acc", model.score(train[["a", "b"]], train["y"]))
            mc.artifact("model", model)
    shown = varied_only(mc.tried("train", "acc", project="mixed"))["model_params"].tolist()
    cs = sorted(p.get("clf__C", p.get("logisticregression__C")) for p in shown
                if p.get("clf") == "LogisticRegression" or "logisticregression__C" in p)
    assert cs == [0.1, 0.5, 2.0, 10.0], shown
    assert not any("clf__alpha" in p or "randomforestclassifier__max_depth" in p for p in shown), shown


def test_params_held_as_objects_compare_by_what_they_are_not_where_they_live():
    # A reviewer's finding: a RandomizedSearchCV's scipy distributions, a score function or a
    # RandomState were stored by repr, with a memory address that differs in every process, so two
    # runs of one design differed (and, once the address is dropped, two bounds must still differ).
    import subprocess
    import sys

    from scipy.stats import loguniform
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.model_selection import RandomizedSearchCV

    def design(low: float, seed: object = 0):
        pipe = make_pipeline(SelectKBest(f_classif, k=1), LogisticRegression(random_state=seed))
        return RandomizedSearchCV(pipe, {"logisticregression__C": loguniform(low, 100.0)}, n_iter=2)

    params = hyper_parameters(design(1e-3))
    assert params["param_distributions"] == {
        "logisticregression__C": "loguniform(0.001, 100.0, loc=0.0, scale=1.0)"}
    assert params["estimator__selectkbest__score_func"] == \
        "sklearn.feature_selection._univariate_selection.f_classif"
    assert hyper_parameters(design(1e-2))["param_distributions"] != params["param_distributions"]
    seeded = hyper_parameters(design(1e-3, np.random.RandomState(0)))
    state = seeded["estimator__logisticregression__random_state"]
    # a generator object cannot be compared (the fit advanced it; its seed is gone): it never
    # compares equal to another run's, rather than equal to a different seed's
    assert state.startswith("RandomState(MT19937) (not comparable #")
    # the same design in another process: equal, as JSON
    script = (
        "import json; from scipy.stats import loguniform; "
        "from sklearn.feature_selection import SelectKBest, f_classif; "
        "from sklearn.linear_model import LogisticRegression; "
        "from sklearn.model_selection import RandomizedSearchCV; from sklearn.pipeline import make_pipeline; "
        "from mlcontext.tracking.derivation import hyper_parameters; "
        "pipe = make_pipeline(SelectKBest(f_classif, k=1), LogisticRegression(random_state=0)); "
        "print(json.dumps(hyper_parameters(RandomizedSearchCV(pipe, "
        "{'logisticregression__C': loguniform(0.001, 100.0)}, n_iter=2)), sort_keys=True))")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           timeout=120).stdout
    assert json.loads(other) == json.loads(json.dumps(params, sort_keys=True))


class Clip:  # a module-level callable with a default repr: its state is in no repr
    def __init__(self, k: float):
        self.k = k

    def __call__(self, x):
        return np.clip(x, -self.k, self.k)


def test_objects_whose_repr_hides_their_state_still_differ_and_equal_ones_compare_equal():
    # A reviewer's finding on the fix above: dropping the address made RandomState(0) and
    # RandomState(42), default_rng(0) and (1), Clip(0.5) and Clip(3.0) the same design.
    from scipy import stats
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import FunctionTransformer

    from mlcontext.tracking.derivation import _param_json

    def text(value):
        return _param_json(value)

    # generators are never comparable (see above): different seeds never look the same
    assert text(np.random.RandomState(0)) != text(np.random.RandomState(42))
    assert text(np.random.default_rng(0)) != text(np.random.default_rng(1))
    assert text(Clip(0.5)) != text(Clip(3.0)) and text(Clip(0.5)) == text(Clip(0.5))
    assert text(Clip(0.5)).endswith("Clip(k=0.5)")
    assert text(Clip({"b", "a", "c"})) == text(Clip({"c", "b", "a"}))  # (set order varies by process)
    assert text(Clip(0.5).__call__) != text(Clip(3.0).__call__)
    assert text(KFold(5, shuffle=True, random_state=np.random.RandomState(0))) != \
        text(KFold(5, shuffle=True, random_state=np.random.RandomState(1)))
    assert text(stats.rv_discrete(values=([0, 1], [0.3, 0.7])).freeze()) != \
        text(stats.rv_discrete(values=([0, 1], [0.6, 0.4])).freeze())
    sample = np.histogram(np.arange(10.0))
    assert text(stats.rv_histogram(sample).freeze()) != text(stats.rv_histogram(sample).freeze())
    assert text(stats.multivariate_normal([0, 0])) != text(stats.multivariate_normal([1, 0]))
    assert text(stats.uniform(0, 1)) == text(stats.uniform(loc=0.0, scale=1.0)) == \
        "uniform(loc=0.0, scale=1.0)"
    assert text(stats.loguniform(1e-3, 100)) == text(stats.loguniform(1e-3, 1e2))
    assert text(stats.poisson(3)) != text(stats.poisson(4))
    # a whole model: two designs that differ only in such objects differ
    a = make_pipeline(FunctionTransformer(Clip(0.5)),
                      LogisticRegression(random_state=np.random.RandomState(0)))
    b = make_pipeline(FunctionTransformer(Clip(3.0)),
                      LogisticRegression(random_state=np.random.RandomState(42)))
    pa, pb = hyper_parameters(a), hyper_parameters(b)
    assert pa["functiontransformer__func"] != pb["functiontransformer__func"]
    assert pa["logisticregression__random_state"] != pb["logisticregression__random_state"]


def test_an_object_parameter_reads_the_same_in_two_processes(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "design.py"
    script.write_text(
        "import json\n"
        "from mlcontext.tracking.derivation import _param_json\n"
        "class Cfg:\n"
        "    def __init__(self, names, k):\n"
        "        self.names, self.k = set(names), k\n"
        "print(json.dumps(_param_json(Cfg(['alpha', 'beta', 'gamma', 'delta'], 2.5))))\n")
    runs = [subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                           timeout=120, env={**__import__("os").environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")]
    assert runs[0] == runs[1] and "Cfg(k=2.5, names=" in runs[0]


class Private:  # its state is private: no text can show it
    def __init__(self, k: float):
        self._k = k

    def __call__(self, x):
        return np.clip(x, -self._k, self._k)


def test_objects_whose_state_no_text_shows_are_never_the_same():
    # A third reviewer's finding: public attributes alone made Private(1.0) and Private(3.0), two
    # partials of np.clip, objects holding large arrays or pandas data "the same" design.
    import functools

    from mlcontext.tracking.derivation import _param_json

    def text(value):
        return _param_json(value)

    assert text(Private(1.0)) != text(Private(3.0)) and text(Private(1.0)) != text(Private(1.0))
    clip = functools.partial(np.clip, a_min=-1.0, a_max=1.0)
    assert text(clip) != text(functools.partial(np.clip, a_min=-3.0, a_max=3.0))
    assert text(clip) == text(functools.partial(np.clip, a_min=-1.0, a_max=1.0))
    assert text(Clip(np.arange(2000.0))) != text(Clip(np.arange(2000.0) + 1))
    assert text(Clip(pd.Series([0.1234567]))) != text(Clip(pd.Series([0.1234568])))
    assert text(lambda x: x + 1) != text(lambda x: x * 2)  # (both "<lambda>": not comparable)
    words = {f"w{i}" for i in range(20_000)}
    assert len(text(Clip(words))) < 300 and text(Clip(words)) == text(Clip(set(words)))
    loop: list = []
    loop.append(loop)
    assert text(Clip(loop)) != text(Clip(loop))  # (a list holding itself: not comparable, no error)


def test_the_fourth_reviews_objects_never_read_as_the_same_design():
    # A fourth reviewer's findings: top-level large arrays and pandas data, builtin bound methods
    # (a compiled pattern's findall), a fitted estimator's method, closures made by a decorator
    # factory, local classes all read as "the same"; a dict-backed config crashed the save; a set
    # in a dict differed between processes; np.clip kept its address.
    import functools
    import re as regex

    from sklearn.decomposition import PCA

    from mlcontext.tracking.derivation import _param_json

    def text(value):
        return _param_json(value)

    def differ(a, b):
        return text(a) != text(b)

    assert differ(np.arange(2000.0), np.arange(2000.0) + 1)
    assert differ({"bins": pd.Series([0.1234567])}, {"bins": pd.Series([0.1234568])})
    assert differ(regex.compile(r"\w+").findall, regex.compile("[a-c]").findall)
    x = np.random.default_rng(0).normal(size=(20, 3))
    assert differ(PCA(2).fit(x).transform, PCA(2).fit(x ** 3).transform)

    def scale(k):
        def wrap(f):
            @functools.wraps(f)
            def inner(v):
                return f(v) * k
            return inner
        return wrap

    assert differ(scale(2)(np.abs), scale(3)(np.abs))

    class Local:
        def __init__(self, k):
            self.k = k

    assert differ(Local(1), Local(1))  # (a local class: not found by name, never comparable)

    class Config:  # a dict-backed config whose __getattr__ raises KeyError
        def __init__(self):
            self.__dict__["values"] = {"k": 1}

        def __getattr__(self, name):
            return self.__dict__["values"][name]

    assert "not comparable" in text(Config()) or "Config" in text(Config())  # (no error)
    assert text({"drop": {"b", "a", "c"}}) == {"drop": ["a", "b", "c"]}
    assert text(np.clip) == "numpy.clip" and text(functools.partial(np.clip, a_min=0)) == \
        "functools.partial(numpy.clip, a_min=0)"
    from sklearn.feature_selection import f_classif

    assert text(f_classif) == "sklearn.feature_selection._univariate_selection.f_classif"
