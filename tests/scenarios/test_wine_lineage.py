"""Issue 11, items 3-5: the dataset -> model graph of the wine flow, each run's occurrence of shared
bytes kept apart, and a test set split inside the script counted when it is evaluated.

The project (``wine_runs``, shared by the session): ``wine-raw`` read from a CSV, cleaned into
``wine-clean``, split into ``wine-train`` (role train) and ``wine-test`` (role test), a traced
``RidgeClassifier`` fitted, predicted on the test set, scored with ``accuracy_score`` and saved as
``model.pkl``. Runs:
``first`` (seed 0), ``other`` (seed 1, alpha 0.5: another split), ``again`` (the same params as
``first``: identical model bytes, a second evaluation of the same test version, over a budget of 1),
and ``crashed`` (fails after the fit, before any evaluation).

Peers' bugs of the same kind, each kept here as a small input of ours:
- renku-graph #582 ("Incorrect lineage for a file": the lineage of one output showed the inputs of
  every file the same script wrote): the model's lineage is its fit and evaluate data, not all the
  run read.
- data-rentgen PR #113 (unrelated datasets in lineage with depth > 1) and Marquez #3085 (lineage
  traversal through a hidden job shows unrelated datasets): nothing reachable only through another
  run's edges appears in a run's artifact's lineage.
- lamindb PR #2515 (an artifact re-created from the same data by a later run: which run does it
  belong to?): identical bytes saved by two runs keep both occurrences apart.
- Marquez #2733 (lineage uses the latest input version, not the one read): each model's training
  data is the split version its own run fitted on.
"""

from __future__ import annotations

import pytest

import mlcontext as mc


@pytest.fixture
def wine(wine_runs):
    return wine_runs.project, wine_runs.results, wine_runs.ids


def labelled(graph: dict) -> set[tuple[str, str, str]]:
    """``(source label, destination label, kind)`` of a graph's edges (``--json`` output)."""
    labels = {n["hash"]: n["label"] for n in graph["nodes"]}
    return {(labels[e["src"]], labels[e["dst"]], e["kind"]) for e in graph["edges"]}


def test_the_model_comes_from_train_and_test_through_every_intermediate(wine):
    project, _, ids = wine
    graph = project.cli_json("lineage", f"{ids['first']}:model.pkl")
    model = f"model.pkl (run {ids['first'][:8]})"
    assert labelled(graph) == {
        ("wine-train@1", model, "fit"),
        ("wine-test@1", model, "evaluate"),
        ("wine-clean@1", "wine-train@1", "lineage"),
        ("wine-clean@1", "wine-test@1", "lineage"),
        ("wine-raw@1", "wine-clean@1", "lineage"),
    }
    assert {e["run_id"] for e in graph["edges"]} == {ids["first"]}


def test_each_split_hangs_off_the_cleaned_data(wine):
    project, _, ids = wine
    for ref, run in (("wine-test@2", "other"), ("wine-train@2", "other")):
        graph = project.cli_json("lineage", ref)
        assert labelled(graph) == {("wine-clean@1", ref, "lineage"),
                                   ("wine-raw@1", "wine-clean@1", "lineage")}
        assert {e["run_id"] for e in graph["edges"] if e["dst"] == graph["root"]} == {ids[run]}


def test_edges_show_their_own_operations(wine):
    project, _, ids = wine
    graph = project.cli_json("lineage", f"{ids['other']}:model.pkl")
    labels = {n["hash"]: n["label"] for n in graph["nodes"]}
    ops = {(labels[e["src"]], e["kind"]): e["operations"] for e in graph["edges"]}
    assert ops[("wine-raw@1", "lineage")] == [
        "filter alcohol > 0", "dropna", "set 'phenol_ratio' = flavanoids / total_phenols"]
    assert ops[("wine-clean@1", "lineage")] == ["take 45 rows by position"]
    fit = ops[("wine-train@2", "fit")]
    assert fit[-1] == "RidgeClassifier.fit" and "getitem 'target'" in fit and "dropna" not in fit


def test_impact_is_transitive_through_every_intermediate(wine):
    project, _, ids = wine
    models = {f"model.pkl (run {ids[r][:8]})" for r in ("first", "other")}
    for ref in ("wine-raw", "wine-clean"):
        impact = project.cli_json("impact", ref)
        reached = {n["label"] for n in impact["nodes"]}
        assert {"wine-train@1", "wine-train@2", "wine-test@1", "wine-test@2"} <= reached
        # identical bytes of `first` and `again` are one node; the labels name the first run
        assert models <= reached
    assert "wine-clean@1" in {n["label"] for n in project.cli_json("impact", "wine-raw")["nodes"]}
    with project.store():
        graph = mc.consumers("wine-clean")
    assert not any(k == "run" for k in graph.edges["kind"]), "lineage says it all: no coarse run edges"


def test_model_diff_reports_each_models_own_training_data(wine):
    project, _, ids = wine
    diff = project.cli_json("diff", f"{ids['first']}:model.pkl", f"{ids['other']}:model.pkl")
    assert diff["training_data"] == [["wine-train@1"], ["wine-train@2"]]
    assert diff["params"]["alpha"] == [1.0, 0.5]
    with project.store():
        same = mc.diff(f"{ids['first']}:model.pkl", f"{ids['again']}:model.pkl")
    assert same.training_data == (["wine-train@1"], ["wine-train@1"])


def test_identical_models_of_two_runs_keep_their_own_lineage(wine):
    """Item 4: ``first`` and ``again`` saved the same bytes; each run's lineage is its own."""
    project, _, ids = wine
    with project.store():
        first, again = (mc.get_run(ids[r]) for r in ("first", "again"))
        digest = {a.hash for a in first.artifacts if a.name == "model.pkl"}
        assert digest == {a.hash for a in again.artifacts if a.name == "model.pkl"}
        for run in (first, again):
            graph = mc.derivation(f"{run.id}:model.pkl")
            assert set(graph.edges["run_id"]) == {run.id}
        both = mc.derivation(digest.pop())  # by content: every run's derivation of these bytes
    assert {ids["first"], ids["again"]} <= set(both.edges["run_id"])


def test_a_test_set_split_in_the_script_counts_when_evaluated(wine):
    """Item 5: ``first`` and ``again`` evaluated wine-test@1, ``other`` wine-test@2; the crashed run
    fitted but never evaluated."""
    project, _, ids = wine
    use = {(r["dataset"], r["version"]): r for r in project.cli_json("testuse")}
    assert set(use) == {("wine-test", 1), ("wine-test", 2)}
    assert use[("wine-test", 1)]["evaluations"] == 2 and use[("wine-test", 2)]["evaluations"] == 1
    with project.store():
        reads = mc.testuse("wine-test", budget=1)
    assert reads.set_index("version").loc[1, "over_budget"]


def test_the_over_use_warning_fires_from_the_budget(wine):
    _, runs, _ = wine
    assert "TestSetOveruseWarning" not in runs["first"].stderr + runs["other"].stderr
    warning = [line for line in runs["again"].stderr.splitlines() if "TestSetOveruseWarning" in line]
    assert len(warning) == 1 and "wine-test@1 has been evaluated in 2 runs" in warning[0]
    assert "train.py" in warning[0], "the warning points at the script's line"


def test_tried_on_the_train_set(wine):
    project, _, ids = wine
    rows = project.cli_json("tried", "--dataset", "wine-train", "--metric", "accuracy")
    assert {r["run_id"] for r in rows} == set(ids.values())  # the crashed run fitted on it too
    by_run = {r["run_id"]: r for r in rows}
    assert by_run[ids["other"]]["version"] == "wine-train@2"
    assert by_run[ids["crashed"]]["accuracy"] is None
    assert rows[-1]["run_id"] == ids["crashed"]  # no score: last


def test_history_names_what_was_done_to_each_dataset(wine):
    """Each dataset's history is what was applied to it, not the operations before it."""
    project, _, _ = wine
    clean = {r["transformation"]: r for r in project.cli_json("history", "wine-clean")}
    assert set(clean) == {"take 133 rows by position", "take 45 rows by position"}  # train, test
    assert {r["runs"] for r in clean.values()} == {4}  # the crashed run split it too
    raw = [r["transformation"] for r in project.cli_json("history", "wine-raw")]
    assert raw == ["filter alcohol > 0", "dropna", "set 'phenol_ratio' = flavanoids / total_phenols"]
