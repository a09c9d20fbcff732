"""Diffs between two projects that use the same dataset names (a newcomer's two-project setup:
``wine`` and ``cancer``, each with ``clean`` and ``train``): ``clean@2`` of one is not ``clean@2`` of the
other, and a drift over zero rows is no answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.errors import AmbiguousReferenceError, InvalidArgumentError, NotFoundError, ReferenceTypeError


def _run(project: str, seed: int) -> str:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"a": rng.normal(size=40), "y": rng.normal(size=40)})
    with mc.run("train", project=project) as run:
        train = mc.dataset(data, "train", role="train").frame()
        model = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(train[["a"]], train["y"])
        mc.artifact("model", model)
    return run.id


def test_runs_of_two_projects_read_two_datasets_of_one_name(store):
    a, b = _run("wine", 0), _run("cancer", 1)
    runs = mc.diff(a, b)
    assert set(runs.data) == {"wine/train", "cancer/train"}, runs.data  # was {}: "the same data read"
    models = mc.diff(f"{a}:model", f"{b}:model")
    assert models.training_data == (["wine/train@1"], ["cancer/train@1"])


def test_drift_refuses_a_sample_of_no_rows(store):
    frame = pd.DataFrame({"x": np.arange(10.0)})
    for size in (0, -5, 2.5):
        with pytest.raises(InvalidArgumentError, match="sample_size"):
            mc.drift(frame, frame + 1, sample_size=size)


def test_a_project_narrows_run_colon_name_in_a_model_diff(store):
    """``diff train:model train:model -p cancer`` compared wine's run (the newest ``train``) with
    itself: ``-p`` narrowed a plain run name but not the run of ``RUN:NAME``."""
    _run("cancer", 1)
    wine = _run("wine", 0)  # the newest run named train
    for project in ("cancer", "wine"):
        models = mc.diff("train:model", f"{wine}:model", project=project)
        if project == "wine":
            assert models.params == {} and models.training_data == (["train@1"], ["train@1"])
        else:
            assert models.training_data == (["cancer/train@1"], ["wine/train@1"]), models.training_data
            assert "(run " in models.a and wine[:8] not in models.a


def test_a_project_narrows_run_colon_name_of_a_stored_frame(store):
    """``RUN:NAME`` of a dataset version the run wrote is diffed as that version: of ``-p``'s run."""
    for project, rows in (("cancer", 20), ("wine", 30)):  # wine's prep is the newest
        with mc.run("prep", project=project):
            mc.dataset(pd.DataFrame({"a": np.arange(rows, dtype=float)}), "clean")
    assert mc.diff("prep:clean", "clean@1", project="cancer").rows == (20, 20)  # was (30, 20)
    assert mc.diff("prep:clean", "clean@1", project="wine").rows == (30, 30)


def test_run_colon_name_of_a_run_outside_the_project_is_said_so(store):
    """A reviewer's finding: ``diff prep:shared shared@1 -p other``, with ``prep`` a run of project
    main, said "cannot compare model 'prep:shared' with dataset version"."""
    with mc.run("prep", project="main"):
        mc.dataset(pd.DataFrame({"a": np.arange(5.0)}), "shared", project="other")
    with pytest.raises(NotFoundError, match="project 'other' has no run of that name"):
        mc.diff("prep:shared", "shared@1", project="other")


def test_show_and_get_run_take_a_project_for_a_run_name(store):
    """A newcomer's finding: ``show train`` picked the newest ``train`` of any project, and ``show``
    had no ``-p``."""
    from click.testing import CliRunner

    from mlcontext.cli.main import cli

    wine, cancer = _run("wine", 0), _run("cancer", 1)
    assert mc.get_run("train").id == cancer and mc.get_run("train", project="wine").id == wine
    assert mc.get_run(cancer, project="wine").id == cancer  # an id is exact
    shown = CliRunner().invoke(cli, ["show", "train", "-p", "wine", "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output)["id"] == wine, shown.output


def test_a_name_of_datasets_in_two_projects_and_of_a_run_says_both(store):
    """A newcomer's finding: ``diff train RUNID`` said "dataset 'train' exists in projects ...: say
    which with -p"; with -p the next error said 'train' is also a run. One error says both."""
    wine, _ = _run("wine", 0), _run("cancer", 1)
    with pytest.raises(AmbiguousReferenceError, match=r"\['cancer', 'wine'\].*also the name of run"):
        mc.diff("train", wine)


def test_a_dataset_diff_across_projects_names_the_projects(store):
    """A newcomer's finding: a diff of wine's clean@2 and cancer's clean@1 printed clean@2 -> clean@1."""
    for project, rows in (("wine", 6), ("cancer", 8)):
        mc.dataset(pd.DataFrame({"a": np.arange(float(rows))}), "clean", project=project)
    a, b = (mc.dataset_version("clean", project=p) for p in ("wine", "cancer"))
    report = mc.diff(a.content_hash, b.content_hash)
    assert (report.a, report.b, report.rows) == ("wine/clean@1", "cancer/clean@1", (6, 8))
    assert mc.diff("clean@1", "clean@1", project="wine").a == "clean@1"


def test_a_model_given_by_its_artifact_ref_has_its_runs_metrics(store):
    """A newcomer's finding: a model diff of an ``ArtifactRef`` (from ``get_run(...).artifacts``)
    showed its run's metrics as ``(absent)``, as if never logged."""
    runs = []
    for alpha in (1.0, 2.0):
        with mc.run("fit", project="wine") as run:
            data = pd.DataFrame({"a": np.arange(20.0), "y": np.arange(20.0) % 3})
            mc.log("acc", alpha / 4)
            mc.artifact("model", Ridge(alpha=alpha).fit(data[["a"]], data["y"]))
        runs.append(run.id)
    ref = next(x for x in mc.get_run(runs[0]).artifacts if x.name == "model")
    report = mc.diff(ref, f"{runs[1]}:model")
    assert report.metrics == {"acc": (0.25, 0.5)} and report.code[0]["run"] == runs[0], report


def test_load_artifact_takes_a_project_for_a_run_name(store):
    """A newcomer's finding: ``load_artifact("train-lr", "model")`` returned another project's model,
    and ``project="churn"`` was read as a loop index."""
    wine, cancer = _run("wine", 0), _run("cancer", 1)  # both named train; cancer's is the newest
    for project, run in (("wine", wine), ("cancer", cancer)):
        model = mc.load_artifact("train", "model", project=project, trusted=True)
        stored = mc.load_artifact(run, "model", trusted=True)
        assert np.array_equal(model.coef_, stored.coef_), project


def test_run_colon_name_of_a_read_names_the_version_the_run_read(store):
    """A reviewer's finding: a run of analysis read wine's raw@2, whose bytes analysis also holds as
    its raw@1; ``look:raw`` named analysis/raw@1 in impact, diff and the not-a-version error."""
    mc.dataset(pd.DataFrame({"a": np.arange(20.0)}), "raw", project="wine")
    mc.dataset(pd.DataFrame({"a": np.arange(30.0)}), "raw", project="wine")
    mc.dataset(pd.DataFrame({"a": np.arange(30.0)}), "raw", project="analysis")
    with mc.run("look", project="analysis"):
        frame = mc.dataset_version("raw@2", project="wine").frame()
        mc.dataset(frame[frame["a"] > 3], "sub", project="analysis")
    assert mc.consumers("look:raw").root_label == "wine/raw@2"
    report = mc.diff("look:raw", mc.dataset_version("raw@1", project="wine"))
    assert (report.a, report.b) == ("raw@2", "raw@1")  # both wine's
    with pytest.raises(ReferenceTypeError, match=r"raw@2 \(project wine\)"):
        mc.history("look:raw")
