"""Issue 11, item 4: identical bytes saved by two runs are one content-addressed artifact, but each
run's occurrence keeps its own derivation.

Two runs of one script read different files and compute weights that happen to be byte-identical
(every value is clipped to 1); a third run saves the same bytes from yet another file. Peer:
lamindb PR #2515 (re-creating an artifact from the same data in a later run re-linked it to that
run); here nothing is re-linked: each run's edges stay its own.
"""

from __future__ import annotations

import pytest

import mlcontext as mc

SCRIPT = """
    import numpy as np
    import mlcontext as mc

    with mc.run("weights", project="shared") as run:
        source = mc.param("source", "a")
        data = mc.dataset(f"data/{source}.csv", name=f"input-{source}")
        x = data.frame()[["x"]].to_numpy()
        weights = np.minimum(np.abs(x), 1.0)
        mc.artifact("weights", weights)
        print(run.id)
"""


@pytest.fixture(scope="module")
def shared(make_project):
    files = {"weights.py": SCRIPT}
    for name, values in {"a": [5, -7, 9], "b": [2, 3, -4], "c": [1, 1, 1]}.items():
        files[f"data/{name}.csv"] = "x\n" + "\n".join(map(str, values)) + "\n"
    project = make_project("shared", files)
    ids = {s: project.run("weights.py", params={"source": s}).last_line for s in "abc"}
    return project, ids


def test_the_bytes_are_one_artifact(shared):
    project, ids = shared
    with project.store():
        hashes = {a.hash for s in "abc" for a in mc.get_run(ids[s]).artifacts if a.name == "weights"}
    assert len(hashes) == 1


@pytest.mark.parametrize("source", ["a", "b", "c"])
def test_each_runs_weights_come_from_its_own_input(shared, source):
    project, ids = shared
    graph = project.cli_json("lineage", f"{ids[source]}:weights")
    labels = {n["hash"]: n["label"] for n in graph["nodes"]}
    assert {labels[e["src"]] for e in graph["edges"]} == {f"input-{source}@1"}
    assert {e["run_id"] for e in graph["edges"]} == {ids[source]}


def test_by_content_every_derivation_is_shown(shared):
    project, ids = shared
    with project.store():
        digest = next(a.hash for a in mc.get_run(ids["a"]).artifacts if a.name == "weights")
        graph = mc.derivation(digest)
    labels = dict(zip(graph.nodes["hash"], graph.nodes["label"], strict=True))
    assert {labels[s] for s in graph.edges["src"]} == {"input-a@1", "input-b@1", "input-c@1"}
    assert set(graph.edges["run_id"]) == set(ids.values())


def test_impact_of_one_input_reaches_the_shared_bytes(shared):
    project, _ = shared
    impact = project.cli_json("impact", "input-b")
    assert len(impact["nodes"]) == 2 and len(impact["edges"]) == 1
