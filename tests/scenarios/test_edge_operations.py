"""An edge's operations are those after its source: a split of a registered frame is the split only.

A script reads a CSV it never registers, cleans it (filter, dropna, a new column), registers the
result as ``clean``, splits it and registers ``test``, and fits and scores a traced model. The lineage
tree used to list the cleaning again under ``clean -> test`` and ``clean -> model`` (the edge log holds
the whole computation from the file, and nothing told where ``clean`` sat in it), so "how was the test
set made from clean" was answered "filter, dropna, set, iloc" — wrong. Now a registered output with
lineage keeps its own log even when nothing registered is upstream, edges are cut at their source's
roots, and ``mlcontext lineage clean`` shows how ``clean`` itself was computed. The text tree
prints each edge's operations on one line from its source to its destination (a newcomer read the
operations listed under a node as that node's own), and an evaluate edge lists what was taken from
the evaluation data (it listed nothing).

Peer of a related kind: MarquezProject/marquez#2640 (the lineage of a dataset attributed to jobs that
did not produce the version shown).
"""

from __future__ import annotations

import pytest

SCRIPT = """
import numpy as np
import pandas as pd
import mlcontext as mc
from sklearn.linear_model import LogisticRegression

pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3, "y": np.arange(40) % 2}).to_csv(
    "raw.csv", index=False)
with mc.run("train", project="edges"):
    threshold = mc.param("threshold", 3)
    raw = mc.pd.read_csv("raw.csv", name="raw")
    clean = raw[raw["a"] > threshold].dropna()
    clean["ab"] = clean["a"] * clean["b"]
    mc.dataset(clean, "clean")
    train, test = clean.iloc[:30], clean.iloc[30:]
    mc.dataset(test, "test", role="test")
    model = mc.traced(LogisticRegression()).fit(train[["a", "b", "ab"]], train["y"])
    mc.log("accuracy", float(model.score(test[["a", "b", "ab"]], test["y"])))
    mc.artifact("model", model)
"""

CLEANING = ["filter a > 3", "dropna", "set 'ab' = a * b"]


@pytest.fixture(scope="module")
def project(make_project):
    project = make_project("edges", {"train.py": SCRIPT, ".gitignore": "raw.csv\n"})
    project.run("train.py")
    return project


def _operations(graph: dict, src_label: str) -> list[str]:
    labels = {n["hash"]: n["label"] for n in graph["nodes"]}
    return [op for e in graph["edges"] if labels[e["src"]] == src_label for op in e["operations"] or []]


def test_the_split_edge_lists_the_split_only(project):
    graph = project.cli_json("lineage", "test", "--project", "edges")
    assert _operations(graph, "clean@1") == ["iloc.getitem slice(30, None, None)"]
    assert graph["operations"] == []  # its edge says how it was made


def test_the_fit_edge_starts_at_the_registered_frame(project):
    graph = project.cli_json("lineage", "train:model")
    fit = [e for e in graph["edges"] if e["kind"] == "fit"]
    assert len(fit) == 1
    assert not set(CLEANING) & set(fit[0]["operations"]), fit[0]["operations"]
    assert fit[0]["operations"][0] == "iloc.getitem slice(None, 30, None)"
    assert fit[0]["operations"][-1] == "LogisticRegression.fit"


def test_a_frame_cleaned_from_an_unregistered_file_says_how(project):
    graph = project.cli_json("lineage", "clean", "--project", "edges")
    assert graph["edges"] == [] and graph["operations"] == CLEANING
    text = project.cli("lineage", "clean", "--project", "edges", env={"COLUMNS": "150"}).stdout
    assert "computed from data not registered → filter a > 3 → dropna → set 'ab' = a * b → clean@1" in text
    # The edge's operations on one line, from its source to its destination.
    tree = project.cli("lineage", "test", "--project", "edges", env={"COLUMNS": "150"}).stdout
    assert "clean@1 → iloc.getitem slice(30, None, None) → test@1" in tree and "dropna" not in tree


def test_the_evaluate_edge_says_what_was_taken_from_the_test_set(project):
    graph = project.cli_json("lineage", "train:model")
    evaluate = [e for e in graph["edges"] if e["kind"] == "evaluate"]
    assert [e["operations"] for e in evaluate] == [["getitem ['a', 'b', 'ab']", "getitem 'y'"]]


MERGE = """
import numpy as np
import pandas as pd
import mlcontext as mc

pd.DataFrame({"a": np.arange(40.0)}).to_csv("raw.csv", index=False)
with mc.run("merge", project="merge"):
    raw = mc.pd.read_csv("raw.csv", name="raw")
    clean = raw.iloc[4:]
    mc.dataset(clean, "clean")
    other = raw[raw["a"] > 3]  # a branch from data never registered, computed after clean
    mc.dataset(other.dropna() + clean, "t")
"""


def test_a_branch_from_unregistered_data_stays_on_the_edge(make_project):
    # Review finding: the edge clean -> t showed only the add, and the other operand's filter and
    # dropna were shown nowhere (the restriction to the source's own branch is for a merge of two
    # registered sources, each with its own edge).
    project = make_project("merge", {"merge.py": MERGE, ".gitignore": "raw.csv\n"})
    project.run("merge.py")
    graph = project.cli_json("lineage", "t", "--project", "merge")
    [edge] = [e for e in graph["edges"] if e["kind"] == "lineage"]
    assert {"filter a > 3", "dropna"} <= set(edge["operations"]), edge["operations"]
    # clean's own step is not one of this edge's (the add names its operand as written, raw.iloc[4:])
    assert not any(op.startswith("iloc") for op in edge["operations"]), edge["operations"]
