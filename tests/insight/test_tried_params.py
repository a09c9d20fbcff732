"""``tried`` keeps params as the runs logged them (a newcomer's finding: the int param ``epochs``,
set by some runs only, came back as 15.0 in the table and the JSON while ``runs`` showed 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc


def test_an_int_param_set_by_some_runs_stays_an_int(store) -> None:
    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.1, 1.9, 3.2]})
    for epochs in (15, None):
        with mc.run("fit", project="tried-params"):
            if epochs is not None:
                mc.param("epochs", epochs)
            mc.param("alpha", 0.5)
            mc.dataset(data, "tried-train", role="train").frame()
            mc.log("score", 0.5)
    frame = mc.tried("tried-train", "score", project="tried-params")
    set_by = [v for v in frame["param.epochs"] if not pd.isna(v)]
    assert set_by == [15] and type(set_by[0]) is int and frame["param.epochs"].isna().sum() == 1
    runs = mc.runs(project="tried-params")  # the same values as `runs` gives
    assert [v for v in runs["param.epochs"] if not pd.isna(v)] == set_by


def test_the_same_bytes_in_two_projects_count_for_the_project_the_run_read(store) -> None:
    # A reviewer's finding: alpha's run, which read alpha's `houses`, was listed by `tried` and
    # `history` for beta's `houses`, a version of the same bytes in another project.
    from sklearn.linear_model import Ridge

    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0], "y": [0.1, 1.0, 2.1, 2.9, 4.2]})
    mc.dataset(data, "houses", project="alpha")
    mc.dataset(data, "houses", project="beta")  # the same bytes, recorded later
    with mc.run("fit", project="alpha") as run:
        train = mc.dataset_version("houses", project="alpha").frame()  # read, not registered here
        model = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(train[["a"]], train["y"])
        mc.log("score", float(model.score(train[["a"]], train["y"])))
    assert mc.tried("houses", "score", project="alpha")["run_id"].tolist() == [run.id]
    assert mc.tried("houses", "score", project="beta").empty


def test_find_matches_boolean_params_as_show_prints_them(store):
    """A newcomer's finding: ``find --param impute=True`` matched nothing (stored as JSON true, shown
    as True) and ``impute!=False`` matched every run, the impute=False ones too."""
    ids = {}
    for impute in (True, False, True):
        with mc.run("fit", project="bools") as run:
            mc.param("impute", impute)
        ids.setdefault(impute, set()).add(run.id)
    with mc.run("fit", project="bools") as named:
        mc.param("impute", "True")  # a string that reads the same
    for text in ("impute=True", "impute!=False"):
        assert set(mc.find(params=[text], project="bools")["id"]) == ids[True] | {named.id}, text
    assert set(mc.find(params=["impute=true"], project="bools")["id"]) == ids[True]
    assert set(mc.find(params=["impute=False"], project="bools")["id"]) == ids[False]
    assert set(mc.find(params=['impute="True"'], project="bools")["id"]) == {named.id}


def test_find_matches_string_params_with_quotes_and_accents(store):
    """A reviewer's finding: ``find --param x=é`` and ``x=a"b`` matched nothing (the stored JSON
    escapes them)."""
    ids = {}
    for value in ("é", 'a"b', "plain"):
        with mc.run("fit", project="texts") as run:
            mc.param("x", value)
        ids[value] = run.id
    for value, run_id in ids.items():
        assert mc.find(params=[f"x={value}"], project="texts")["id"].tolist() == [run_id], value


def test_find_names_a_param_or_metric_nobody_logged(store):
    """A newcomer's finding: ``find --metric typo>0.5`` and ``--param nosuch=1`` were silently empty
    (as if no run matched), where a typo names nothing."""
    from mlcontext.errors import NotFoundError

    with mc.run("fit", project="names"):
        mc.param("alpha", 0.5)
        mc.log("test_acc", 0.9)
    with pytest.raises(NotFoundError, match=r"metric 'test_ac'.*did you mean 'test_acc'"):
        mc.find(metrics=["test_ac>0.5"])
    with pytest.raises(NotFoundError, match=r"param 'alpah'.*did you mean 'alpha'"):
        mc.find(params=["alpah=0.5"], project="names")
    assert mc.find(metrics=["test_acc>0.95"]).empty  # a name that exists, with nothing to report


def test_tried_shows_what_varied_within_each_model_class(store) -> None:
    # A newcomer's finding: with a Ridge, a RandomForest, a Pipeline and a GridSearchCV tried on one
    # dataset, every parameter of every class "varied" (absent from the other classes), so each row
    # held its model's whole get_params() and the table ran to hundreds of lines at 80 columns.
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0.0, 1.1, 1.9, 3.2, 3.9, 5.1]})
    designs = [Ridge(alpha=1.0), Ridge(alpha=0.1), RandomForestRegressor(n_estimators=3, random_state=0),
               GridSearchCV(Pipeline([("scale", StandardScaler()), ("ridge", Ridge())]),
                            {"ridge__alpha": [0.1, 10.0]}, cv=2)]
    for model in designs:
        with mc.run("fit", project="classes"):
            train = mc.dataset(data, "train", role="train").frame()
            fitted = mc.traced(model).fit(train[["a"]], train["y"])
            mc.log("score", float(fitted.score(train[["a"]], train["y"])))
            mc.artifact("model", fitted)
    from mlcontext.insight.usage import varied_only

    shown = varied_only(mc.tried("train", "score", project="classes"))
    by_class = {m.rsplit(".", 1)[-1]: [] for m in shown["model"]}
    for model, params in zip(shown["model"], shown["model_params"], strict=True):
        by_class[model.rsplit(".", 1)[-1]].append(params)
    assert sorted(by_class["Ridge"], key=str) == [{"alpha": 0.1}, {"alpha": 1.0}]
    assert by_class["RandomForestRegressor"] == [{}]
    assert [set(p) for p in by_class["GridSearchCV"]] == [{"best_params_"}]  # what it chose


def test_tried_says_how_each_run_ended(store, monkeypatch) -> None:
    # The first newcomer of the eleventh session: a run that failed after logging its score ranked
    # among the designs unmarked.
    from click.testing import CliRunner

    from mlcontext.cli.main import cli

    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.1, 1.9, 3.2]})
    for alpha, crash in ((0.5, False), (2.0, True)):
        try:
            with mc.run("fit", project="tried-status"):
                mc.param("alpha", alpha)
                mc.dataset(data, "ts-train", role="train").frame()
                mc.log("score", alpha)
                if crash:
                    raise RuntimeError("after the score")
        except RuntimeError:
            pass
    frame = mc.tried("ts-train", "score", project="tried-status")
    assert frame[["score", "status"]].values.tolist() == [[2.0, "failed"], [0.5, "finished"]]
    monkeypatch.setenv("COLUMNS", "80")
    out = CliRunner().invoke(cli, ["tried", "--dataset", "ts-train", "--metric", "score",
                                   "-p", "tried-status"])
    assert "failed" in out.output and "finished" in out.output, out.output


def test_tried_and_find_see_a_run_whose_process_died_as_killed(store) -> None:
    # A reviewer's finding: tried said "running" of a run whose process had been killed, until
    # `mc.runs` (the only question that reaped dead runs) was asked.
    from sqlalchemy import update

    from mlcontext.store import schema as t

    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.1, 1.9, 3.2]})
    with mc.run("fit", project="tried-dead") as run:
        mc.dataset(data, "td-train", role="train").frame()
        mc.log("score", 0.5)
    with mc.get_store().metadata.write() as conn:  # as if SIGKILLed an hour ago, mid-run
        conn.execute(update(t.Run).where(t.Run.id == run.id)
                     .values(status="running", ended_at=None, heartbeat_at=t.Run.heartbeat_at - 3600))
        conn.execute(update(t.LatestMetric).where(t.LatestMetric.run_id == run.id)
                     .values(time=t.LatestMetric.time - 3600))
    assert mc.tried("td-train", "score", project="tried-dead")["status"].tolist() == ["killed"]
    assert mc.find(metrics=["score>0"], project="tried-dead")["status"].tolist() == ["killed"]


def test_the_row_names_the_model_artifact_it_describes(store):
    """A newcomer's run saved the search's best model as `model`, then a refit on all data as
    `full_model`; tried showed the refit's settings beside the score, with nothing saying which
    model they were: the row names it."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    data["y"] = (data.a > 0).astype(int)
    mc.dataset(data, name="raw", project="p")
    with mc.run("train", project="p"):
        frame = mc.dataset_version("raw@1", project="p").frame()
        best = mc.traced(LogisticRegression(C=0.1)).fit(frame[["a", "b"]], frame["y"])
        mc.log("acc", float(best.score(frame[["a", "b"]], frame["y"])))
        mc.artifact("model", best)
        full = mc.traced(LogisticRegression(C=1.0)).fit(frame[["a", "b"]], frame["y"])
        full.predict(frame[["a", "b"]])
        mc.artifact("full_model", full)
    row = mc.tried("raw", "acc", project="p").iloc[0]
    assert row["model_artifact"] == "full_model" and row["model_params"]["C"] == 1.0
