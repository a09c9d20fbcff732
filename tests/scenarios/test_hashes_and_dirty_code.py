"""A newcomer's diabetes project: the hash `versions` prints, a run with uncommitted changes, listings.

A git project with a cleaning script (``clean.py``: the raw CSV and the cleaned frame registered with
``mc.dataset``, run twice with different cleaning) and a training script (``train.py``: split,
traced fit, model), run once as committed, once crashing, once with uncommitted changes. Found by the
newcomer, each kept here:

- ``lineage``/``impact`` by the content hash ``versions`` prints answered an empty graph, silently (the
  graph keys a version by its artifact hash); a hash nothing has must be an error, never empty;
- a dirty run's code was shown as its commit (``by root @ 967eb976``), in ``lineage``, ``impact``,
  ``runs`` and ``find --code``;
- ``versions`` listed oldest first (every other listing is newest first); tables printed ``nan`` where
  others print ``-``.
"""

from __future__ import annotations

import pytest

import mlcontext as mc
from mlcontext.errors import NotFoundError

CLEAN = """
import mlcontext as mc

with mc.run("clean", project="diabetes"):
    limit = mc.param("bmi_min", -1.0)
    raw = mc.dataset("data/diabetes.csv", name="diabetes-raw")
    df = raw.frame()
    clean = df[df.bmi > limit].dropna()
    mc.dataset(clean, name="diabetes-clean")
"""

TRAIN = """
import mlcontext as mc
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

with mc.run("train", project="diabetes") as run:
    alpha = mc.param("alpha", 1.0)
    crash = mc.param("crash", False)
    clean = mc.dataset_version("diabetes-clean@1", project="diabetes").frame()
    train_df, test_df = train_test_split(clean, test_size=0.25, random_state=0)
    mc.dataset(train_df, name="diabetes-train", role="train")
    mc.dataset(test_df, name="diabetes-test", role="test")
    features = [c for c in clean.columns if c != "target"]
    model = mc.traced(Ridge(alpha=alpha))
    model.fit(train_df[features], train_df.target)
    if crash:
        raise RuntimeError("crash requested")
    mc.log("r2", model.score(test_df[features], test_df.target))
    mc.artifact("model.pkl", model)
    print(run.id)
"""

UNKNOWN = "0123456789abcdef" * 2


@pytest.fixture(scope="module")
def diabetes(make_project):
    from sklearn.datasets import load_diabetes

    project = make_project("diabetes", {".gitignore": "data/\n*.pkl\n", "clean.py": CLEAN,
                                        "train.py": TRAIN})
    (project.root / "data").mkdir()
    load_diabetes(as_frame=True, scaled=True).frame.to_csv(project.root / "data" / "diabetes.csv",
                                                            index=False)
    project.run("clean.py")
    project.run("clean.py", params={"bmi_min": 0.0})  # diabetes-clean@2: fewer rows
    committed = project.run("train.py").last_line
    crashed = project.run("train.py", params={"crash": True}, check=False)
    assert crashed.returncode != 0 and "crash requested" in crashed.stderr
    project.write("train.py", TRAIN.replace("alpha\", 1.0", "alpha\", 0.5"))  # not committed
    dirty = project.run("train.py").last_line
    commit = project.git("rev-parse", "HEAD").strip()
    return project, committed, dirty, commit


def _labels(graph: dict) -> set[str]:
    return {node["label"] for node in graph["nodes"]}


def test_lineage_and_impact_by_the_hash_versions_prints(diabetes):
    project, _, _, _ = diabetes
    clean1 = next(v for v in project.cli_json("versions", "diabetes-clean") if v["version"] == 1)
    digest = clean1["content_hash"]
    by_name = project.cli_json("lineage", "diabetes-clean@1")
    by_hash = project.cli_json("lineage", digest)
    # was: one node, no edge, no error
    assert by_hash["root"] == by_name["root"] and by_hash["label"] == "diabetes-clean@1"
    assert _labels(by_hash) == _labels(by_name) and "diabetes-raw@1" in _labels(by_hash)
    assert len(by_hash["edges"]) == len(by_name["edges"]) > 0
    downstream = _labels(project.cli_json("impact", digest))
    assert {"diabetes-train@1", "diabetes-test@1"} <= downstream
    assert any(label.startswith("model.pkl") for label in downstream)
    with project.store():
        assert mc.derivation(digest).root == mc.derivation("diabetes-clean@1", project="diabetes").root
        assert mc.dataset_version(digest).ref == "diabetes-clean@1"
        # the other hash of the same version names it too
        artifact_hash = mc.dataset_version(digest).artifact_hash
        assert artifact_hash != digest and mc.dataset_version(artifact_hash).ref == "diabetes-clean@1"


def test_every_question_that_takes_a_reference_takes_the_hash(diabetes):
    project, committed, dirty, _ = diabetes
    digest = next(v for v in project.cli_json("versions", "diabetes-clean")
                  if v["version"] == 1)["content_hash"]
    assert {v["version"] for v in project.cli_json("versions", digest)} == {1, 2}  # its dataset
    assert project.cli_json("history", digest)  # the split, done to diabetes-clean@1
    assert {r["id"] for r in project.cli_json("find", "--data", digest)} >= {committed, dirty}
    drift = project.cli_json("drift", digest, "diabetes-clean@2")
    assert drift["rows"] == project.cli_json("drift", "diabetes-clean@1", "diabetes-clean@2")["rows"]
    assert project.cli_json("diff", digest, "diabetes-clean@2")["b"] == "diabetes-clean@2"
    tried = project.cli_json("tried", "--dataset", digest, "--metric", "r2")
    assert {r["run_id"] for r in tried} >= {committed, dirty}
    test_hash = project.cli_json("versions", "diabetes-test")[0]["content_hash"]
    assert [r["dataset"] for r in project.cli_json("testuse", test_hash)] == ["diabetes-test"]


@pytest.mark.parametrize("command", [("lineage",), ("impact",), ("versions",), ("history",),
                                     ("find", "--data"), ("testuse",), ("tried", "--metric", "r2",
                                                                        "--dataset")])
def test_a_hash_nothing_has_is_an_error_not_an_empty_answer(diabetes, command):
    project, _, _, _ = diabetes
    result = project.cli(*command, UNKNOWN, "--json", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert UNKNOWN in result.stderr and "NAME@VERSION" in result.stderr


def test_a_hash_nothing_has_is_an_error_in_python(diabetes):
    project, _, _, _ = diabetes
    with project.store():
        for ask in (mc.derivation, mc.consumers, mc.versions, mc.history, mc.dataset_version,
                    lambda ref: mc.find(data=ref), lambda ref: mc.drift(ref, "diabetes-clean@1")):
            with pytest.raises(NotFoundError, match=UNKNOWN):
                ask(UNKNOWN)


def test_a_dirty_run_is_marked_wherever_its_code_is_shown(diabetes):
    project, committed, dirty, commit = diabetes
    marked = f"{commit[:8]}+dirty"
    rows = {r["id"]: r for r in project.cli_json("runs")}
    assert rows[dirty]["git_dirty"] is True and rows[committed]["git_dirty"] is False
    table = project.cli("runs").stdout
    assert marked in table and table.count(marked) == 1  # only the dirty run
    lineage = project.cli("lineage", f"{dirty}:model.pkl").stdout
    assert marked in lineage and f"@ {commit[:8]} " not in lineage + " "  # was: "by root @ 967eb976"
    clean_lineage = project.cli("lineage", f"{committed}:model.pkl").stdout
    assert f"@ {commit[:8]}" in clean_lineage and "+dirty" not in clean_lineage
    edges = project.cli_json("lineage", f"{dirty}:model.pkl")["edges"]
    assert {e["git_dirty"] for e in edges if e["run_id"] == dirty} == {True}
    assert marked in project.cli("impact", "diabetes-train@1").stdout
    found = project.cli("find", "--code", commit[:8]).stdout
    assert found.count(marked) == 1
    assert {r["id"]: r["git_dirty"] for r in project.cli_json("find", "--code", commit[:8])}[dirty] is True
    # the code as the table shows it finds that run (a reviewer's "no run started from" of it)
    assert [r["id"] for r in project.cli_json("find", "--code", marked.strip())] == [dirty]


def test_versions_are_listed_newest_first_and_missing_values_are_a_dash(diabetes):
    project, _, _, _ = diabetes
    assert [v["version"] for v in project.cli_json("versions", "diabetes-clean")] == [2, 1]
    with project.store():
        assert mc.versions("diabetes-clean")["version"].tolist() == [2, 1]
    # the crashed run has no r2; the clean runs no alpha: "-" as in `versions`, never "nan"
    for args in (("runs",), ("find", "--project", "diabetes"), ("versions", "diabetes-clean")):
        assert "nan" not in project.cli(*args).stdout.lower()
