"""Failure kinds peers hit with references, projects and model parameters, as tests on small inputs
of our own (the issue each comes from is named; none of their code is used).

- mlflow/mlflow#3287 (review of sklearn autologging): a search estimator's nested ``estimator__*``
  parameters are the template's, not what the search chose.
- scikit-learn/scikit-learn#2750: a nested estimator's parameters shown as its repr, where the deep
  parameters name each one.
- mlflow/mlflow#11783 and #1844: a run looked up by a name several runs have.
- OpenLineage/OpenLineage#3267 (datasets of one name in two namespaces): what one namespace's
  dataset went through must not include another's.
- MarquezProject/marquez#2881: a question about an old version answered from the latest version's
  record (names lost for the old one).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import mlcontext as mc
from mlcontext.errors import AmbiguousReferenceError
from mlcontext.tracking.derivation import hyper_parameters


def _xy(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return x, (x.a - x.b > 0).astype(int)


def test_a_fitted_search_says_what_it_chose_apart_from_its_template():  # mlflow#3287
    x, y = _xy()
    search = GridSearchCV(LogisticRegression(C=1.0), {"C": [0.01, 10.0]}, cv=3).fit(x, y)
    params = hyper_parameters(search)
    assert params["estimator"] == "LogisticRegression" and params["estimator__C"] == 1.0  # the template
    assert params["param_grid"] == {"C": [0.01, 10.0]}
    assert params["best_params_"] == {"C": search.best_params_["C"]}
    json.dumps(params)
    assert "best_params_" not in hyper_parameters(GridSearchCV(LogisticRegression(), {"C": [1.0]}))


def test_nested_pipelines_are_named_parameter_by_parameter():  # scikit-learn#2750
    inner = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.3))])
    params = hyper_parameters(Pipeline([("model", inner)]))
    assert params["model__clf__C"] == 0.3 and params["model"] == "Pipeline"
    assert params["model__steps"] == [["scale", "StandardScaler"], ["clf", "LogisticRegression"]]
    assert all("LogisticRegression(" not in json.dumps(v) for v in params.values())


def test_a_run_name_of_two_projects_is_each_projects_newest_with_a_project(store):  # mlflow#11783
    ids = {}
    for project in ("east", "west"):
        with mc.run("train", project=project) as run:
            mc.log("score", 1.0 if project == "east" else 2.0)
            mc.artifact("model", LogisticRegression(C=0.5 if project == "east" else 5.0).fit(*_xy()))
        ids[project] = run.id
    assert mc.get_run("train").id == ids["west"]  # without a project: the newest of that name
    report = mc.diff("train:model", f"{ids['west']}:model", project="east")
    assert report.params == {"C": (0.5, 5.0)} and report.metrics == {"score": (1.0, 2.0)}


def test_history_of_one_projects_dataset_leaves_the_others_out(store):  # OpenLineage#3267
    raw = pd.DataFrame({"x": [1.0, None, 3.0, 4.0]})
    for project, step in (("east", "dropna"), ("west", "fillna")):
        version = mc.dataset(raw, "raw", project=project)  # the same bytes in both
        with mc.run("clean", project=project):
            frame = version.frame()
            mc.dataset(frame.dropna() if step == "dropna" else frame.fillna(0.0), "clean", project=project)
    with pytest.raises(AmbiguousReferenceError):
        mc.history("raw")
    assert mc.history("raw", project="east")["transformation"].tolist() == ["dropna"]
    assert mc.history("raw", project="west")["transformation"].tolist() == ["fillna 0.0"]


def test_an_old_version_a_run_registered_keeps_its_own_number(store):  # marquez#2881
    runs = []
    for rows in (3, 4):
        with mc.run("prep", project="old") as run:
            mc.dataset(pd.DataFrame({"x": np.arange(float(rows))}), "clean", project="old")
        runs.append(run.id)
    for run_id, version in zip(runs, (1, 2), strict=True):
        made = [a for a in mc.get_run(run_id).artifacts if a.name == "clean"]
        assert [a.meta.get("version") for a in made] == [version], made


def test_estimators_inside_a_grid_keep_their_parameters():
    """A reviewer's finding: two searches over ``{"clf": [LR(C=0.001), LR(C=0.01)]}`` and
    ``{"clf": [LR(C=10), LR(C=100)]}`` had identical hyper-parameters (each estimator reduced to
    its class name), though they chose C=0.01 and C=10."""
    x, y = _xy()
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    chosen = [hyper_parameters(GridSearchCV(pipe, {"clf": grid}, cv=3).fit(x, y))
              for grid in ([LogisticRegression(C=0.001), LogisticRegression(C=0.01)],
                           [LogisticRegression(C=10.0), LogisticRegression(C=100.0)])]
    assert chosen[0]["param_grid"] != chosen[1]["param_grid"]
    assert chosen[0]["param_grid"]["clf"][0]["LogisticRegression"]["C"] == 0.001
    assert chosen[0]["best_params_"] != chosen[1]["best_params_"]
    assert chosen[0]["estimator__clf"] == "LogisticRegression"  # a step: its parameters are listed
    traced = hyper_parameters(GridSearchCV(pipe, {"clf": [mc.traced(LogisticRegression(C=0.5))]}))
    assert traced["param_grid"]["clf"] == hyper_parameters(GridSearchCV(pipe, {"clf": [
        LogisticRegression(C=0.5)]}))["param_grid"]["clf"], traced["param_grid"]
    # a long grid is not elided (scikit-learn's repr shortens long ones with "...")
    long = [Pipeline([(f"s{i}", StandardScaler()) for i in range(22)] + [("clf", LogisticRegression(C=c))])
            for c in (0.01, 100.0)]
    assert hyper_parameters(GridSearchCV(long[0], {"clf": [long[0]]}))["param_grid"] != hyper_parameters(
        GridSearchCV(long[0], {"clf": [long[1]]}))["param_grid"]
