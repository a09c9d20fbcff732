"""Scenario: two daily scoring scripts cut the same batches from the same clean data, each scoring with
its own model; a report script reads one of them's scores (found by a newcomer, twelfth session).

The batches are the same bytes in both scripts, so each batch is one node of the graph. ``impact`` of
the SVM listed the other script's scores, and ``impact`` of the logistic regression the SVM's: from
the batch, reached through the ``run`` edge "daily2 loaded the SVM before it registered the batch",
the walk went on along the edges the *other* run recorded for the same bytes, a batch that run had
cut itself. A ``run`` edge is a possible influence within its run: other runs' uses of the node are
followed only when they came after it and did not derive the bytes themselves. The report run that
reads the scores after they were made stays downstream of the model.

Peers' failures of the kind, found in their trackers, as inputs of ours:
- MarquezProject/marquez#2640 (a dataset two jobs wrote from the same input showed both jobs in its
  lineage): two runs making the same batch bytes are not each other's sources, and a model reaches only
  the scores its own run made.
- MarquezProject/marquez#3085 (the traversal went on through I/O mappings that no longer connected the
  datasets, pulling unrelated datasets into a lineage): a node reached through one run's edge does not
  lead on through another run's edges recorded before it.
- MarquezProject/marquez#3093 (independent runs of one job, each consuming its own part, were merged
  into one set of edges): a day's scores come from the batches read up to that day, never from a
  later day's.
"""

from __future__ import annotations

import pytest

import mlcontext as mc

TRAIN = """
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    import mlcontext as mc

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (x[:, 0] > 0).astype(int)})
    with mc.run("train", project="daily") as run:
        kind = mc.param("model", "logreg")
        clean = mc.dataset(frame, "clean")
        model = (LogisticRegression() if kind == "logreg" else SVC()).fit(frame[["a", "b", "c"]], frame["y"])
        mc.artifact("model", model)
    print(run.id)
"""

DAILY = """
    import sys

    import pandas as pd

    import mlcontext as mc

    name, train, batch_name, scores_name, registered = sys.argv[1:6]
    with mc.run(name, project="daily") as run:
        model = mc.load_artifact(train, "model", project="daily")
        clean = mc.dataset_version("clean", project="daily").frame()
        for day in mc.loop("day", range(3)):
            part = clean.iloc[day * 100:(day + 1) * 100]
            plain = part.to_pandas()
            # the batch as read data (plain), or as data derived from `clean` (traced)
            mc.dataset(plain if registered == "plain" else part, batch_name)
            scores = pd.DataFrame({"p": model.decision_function(plain[["a", "b", "c"]])})
            mc.dataset(scores, scores_name, direction="output")
    print(run.id)
"""

REPORT = """
    import mlcontext as mc

    with mc.run("report", project="daily") as run:
        scores = mc.dataset_version("scores-svm", project="daily").frame().to_pandas()
        summary = scores.describe()
        mc.dataset(summary, "report", direction="output")
    print(run.id)
"""


@pytest.fixture(scope="module")
def daily(make_project):
    project = make_project("daily", {"train.py": TRAIN, "daily.py": DAILY, "report.py": REPORT})
    logreg = project.run("train.py", params={"model": "logreg"}).last_line
    svm = project.run("train.py", params={"model": "svm"}).last_line
    first = project.run("daily.py", args=["daily", logreg, "day", "scores-logreg", "plain"]).last_line
    second = project.run("daily.py", args=["daily2", svm, "batch", "scores-svm", "traced"]).last_line
    report = project.run("report.py").last_line
    return project, logreg, svm, first, second, report


def _labels(graph: dict) -> set[str]:
    return {n["label"].split("@")[0] for n in graph["nodes"]}


def _runs(graph: dict) -> set[str]:
    return {e["run_id"] for e in graph["edges"]}


def test_a_model_reaches_only_the_scores_its_own_run_made(daily):
    project, logreg, svm, first, second, report = daily
    svm_impact = project.cli_json("impact", f"{svm[:8]}:model")
    assert "scores-svm" in _labels(svm_impact)
    assert "scores-logreg" not in _labels(svm_impact)
    assert first not in _runs(svm_impact), "the logreg's scoring run never loaded the SVM"
    logreg_impact = project.cli_json("impact", f"{logreg[:8]}:model")
    assert "scores-logreg" in _labels(logreg_impact)
    assert "scores-svm" not in _labels(logreg_impact)
    assert "report" not in _labels(logreg_impact)
    assert second not in _runs(logreg_impact)


def test_what_reads_the_scores_afterwards_stays_downstream(daily):
    project, logreg, svm, first, second, report = daily
    svm_impact = project.cli_json("impact", f"{svm[:8]}:model")
    assert "report" in _labels(svm_impact)
    assert report in _runs(svm_impact)
    with project.store():
        nodes = mc.consumers(f"{svm[:8]}:model", project="daily").nodes["label"].tolist()
    assert any(label.startswith("report") for label in nodes)
    assert not any(label.startswith("scores-logreg") for label in nodes)


def test_a_days_scores_come_from_the_batches_read_up_to_that_day(daily):
    """``daily`` reads one batch per ``mc.loop("day")`` iteration and registers that day's plain scores.
    A run edge says the run read something before it made another: day 3's scores come from the three
    batches read so far (a loop may accumulate them: a reviewer's online model) and from what the run
    read before the loop, never from a batch read after them, and never from the SVM that another run
    used on the same bytes later."""
    project, logreg, svm, first, second, report = daily
    graph = project.cli_json("lineage", "scores-logreg@3")
    names = {name for n in graph["nodes"] for name in n["label"].split(" = ")} - {"scores-logreg@3"}
    assert {"day@1", "day@2", "day@3", "clean@1"} <= names
    models = [n["label"] for n in graph["nodes"] if n["label"].startswith("model")]
    assert models == [f"model (run {logreg[:8]})"], "the SVM cut the same batch later: not a source"
    first_day = project.cli_json("lineage", "scores-logreg@1")
    assert not {"day@2", "day@3"} & {name for n in first_day["nodes"] for name in n["label"].split(" = ")}
    batch_impact = project.cli_json("impact", "day@3")
    reached = {name for n in batch_impact["nodes"] for name in n["label"].split(" = ")}
    assert "scores-logreg@3" in reached
    assert not {"scores-logreg@1", "scores-logreg@2"} & reached, reached


def test_a_batch_the_run_cut_traced_is_a_source_of_that_days_scores(daily):
    """``daily2`` registers each day's batch as a traced frame (an output: cut from ``clean``), then
    registers the day's plain scores: they come from that batch (a newcomer's day-3 predictions had
    no edge from the day-3 batch, though the plain route had one), and from no later day's."""
    project, logreg, svm, first, second, report = daily
    graph = project.cli_json("lineage", "scores-svm@3")
    names = {name for n in graph["nodes"] for name in n["label"].split(" = ")}
    assert "batch@3" in names
    first_day = project.cli_json("lineage", "scores-svm@1")
    assert not {"batch@2", "batch@3"} & {name for n in first_day["nodes"] for name in n["label"].split(" = ")}
    impact = project.cli_json("impact", "batch@3")
    reached = {name for n in impact["nodes"] for name in n["label"].split(" = ")}
    assert "scores-svm@3" in reached
    assert not {"scores-svm@1", "scores-svm@2"} & reached
