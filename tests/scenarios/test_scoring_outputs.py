"""Scenario: a training script and a scoring script, as two people write them (plain pandas and
scikit-learn, no traced values), asking who is downstream of the model.

``train.py`` registers a CSV, fits a plain ``LogisticRegression`` and saves it. ``score.py`` loads the
model of the latest ``train`` run, reads a batch CSV chosen by ``--param batch=...`` and registers its
predictions with ``direction="output"``; one scoring run crashes before it registers anything.

Before ``direction=``, predictions registered from a plain frame were recorded as a *read* of the
scoring run: ``lineage`` of them was the version alone and ``impact`` of the model never reached them
(found by a newcomer). Peers' failures of the same kind, as inputs of ours:
- OpenLineage #1965 (a job's second run made another output; the first run's output was then shown
  isolated, without lineage): ``predictions@1`` keeps its edges after the second scoring run.
- Marquez #2640 (a dataset's lineage showed jobs that made earlier versions): each version of
  ``predictions`` comes from its own run's batch only.
- mlflow #21839 (a run's outputs logged after ``log_model`` were associated from a stale view of the
  run): the predictions come from the model the run loaded just before, read at registration time.
"""

from __future__ import annotations

import pytest

import mlcontext as mc

TRAIN = """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlcontext as mc

    with mc.run("train", project="scoring") as run:
        data = mc.dataset("data/train.csv", "train", role="train").frame().to_pandas()
        model = LogisticRegression(C=mc.param("C", 1.0)).fit(data[["a", "b"]], data["y"])
        mc.artifact("model", model)
    print(run.id)
"""

SCORE = """
    import pandas as pd

    import mlcontext as mc

    with mc.run("score", project="scoring") as run:
        batch_name = mc.param("batch", "batch1")
        model = mc.load_artifact("train", "model", project="scoring")
        batch = mc.dataset(f"data/{batch_name}.csv", batch_name, role="live").frame().to_pandas()
        if mc.param("crash", False):
            raise RuntimeError("scoring crashed")
        out = pd.DataFrame({"p": model.predict_proba(batch[["a", "b"]])[:, 1]})
        mc.dataset(out, "predictions", direction="output")
    print(run.id)
"""


def _csv(path, seed: int, n: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    path.parent.mkdir(exist_ok=True)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)}).to_csv(path, index=False)


@pytest.fixture(scope="module")
def scoring(make_project):
    project = make_project("scoring", {"train.py": TRAIN, "score.py": SCORE, ".gitignore": "data/\n"})
    for name, seed, n in (("train", 0, 200), ("batch1", 1, 40), ("batch2", 2, 50)):
        _csv(project.root / "data" / f"{name}.csv", seed, n)
    train = project.run("train.py").last_line
    first = project.run("score.py", params={"batch": "batch1"}).last_line
    second = project.run("score.py", params={"batch": "batch2"}).last_line
    crashed = project.run("score.py", params={"batch": "batch2", "crash": True}, check=False)
    return project, train, first, second, crashed


def labelled(graph: dict) -> set[tuple[str, str, str]]:
    labels = {n["hash"]: n["label"] for n in graph["nodes"]}
    return {(labels[e["src"]], labels[e["dst"]], e["kind"]) for e in graph["edges"]}


def test_each_prediction_version_comes_from_the_model_and_its_own_batch(scoring):
    project, train, _, _, _ = scoring
    model = f"model (run {train[:8]})"
    assert labelled(project.cli_json("lineage", "predictions@1")) == {
        ("batch1@1", "predictions@1", "run"), (model, "predictions@1", "run"),
        ("train@1", model, "run")}
    assert labelled(project.cli_json("lineage", "predictions@2")) == {
        ("batch2@1", "predictions@2", "run"), (model, "predictions@2", "run"),
        ("train@1", model, "run")}


def test_impact_of_the_model_reaches_every_scoring_runs_predictions(scoring):
    project, train, _, _, _ = scoring
    labels = {n["label"] for n in project.cli_json("impact", f"{train}:model")["nodes"]}
    assert {"predictions@1", "predictions@2"} <= labels
    assert not any(label.startswith("batch") for label in labels)  # inputs of the scoring runs


def test_the_scoring_run_shows_predictions_as_its_output_and_the_crash_made_none(scoring):
    project, _, first, _, crashed = scoring
    shown = project.cli_json("show", first)
    made = [a for a in shown["artifacts"] if a["name"] == "predictions"]
    assert [(a["direction"], a["meta"]["dataset"], a["meta"]["version"]) for a in made] == [
        ("output", "predictions", 1)]
    loaded = [a for a in shown["artifacts"] if a["name"] == "model"]  # what it scored with
    assert [(a["direction"], a["meta"]["loaded"], a["meta"]["runs"]) for a in loaded] == [
        ("input", True, [scoring[1]])]
    with project.store():  # what a run loaded loads again by the run's name for it
        assert list(mc.load_artifact(first, "model").feature_names_in_) == ["a", "b"]
    assert crashed.returncode != 0 and "scoring crashed" in crashed.stderr
    versions = project.cli_json("versions", "predictions")
    assert sorted(v["version"] for v in versions) == [1, 2]
    assert {v["run_id"] for v in versions} == {first, scoring[3]}
