"""A newcomer's diabetes project asks about its data by every reference form the docs name.

A git repository; ``clean.py`` run three times saves ``diabetes-clean@1..3``; ``train.py`` reads a
version of it, registers the test set ``diabetes-test`` (role ``test``), fits a traced Ridge, logs
``test_r2`` and saves the model, several times. Found wrong or empty before (exit status 0 each):

1. ``testuse diabetes-test@1``: "no test set has been evaluated yet" (``testuse diabetes-test``: 3
   evaluations); ``tried --dataset diabetes-clean@2 --metric test_r2 --json``: ``[]``; ``versions
   diabetes-clean@1``: "no dataset 'diabetes-clean@1'";
2. ``tried --metric typo``: a table of ``-``; ``testuse nonexist`` and ``testuse diabetes-clean``
   (never a test set) both "no test set has been evaluated yet"; ``versions 2e062cb8b48c`` (the prefix
   the ``versions`` table prints): "no dataset"; ``drift diabetes-clean@1 RUN:model``: "no dataset
   version RUN:model", although it names a model.
"""

from __future__ import annotations

import pytest

import mlcontext as mc

CLEAN = """
    import mlcontext as mc
    from sklearn.datasets import load_diabetes

    with mc.run("clean", project="diabetes"):
        rows = mc.param("rows", 300)
        frame = load_diabetes(as_frame=True).frame
        mc.dataset(frame.head(rows), "diabetes-clean")
"""

TRAIN = """
    import mlcontext as mc
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    with mc.run("train", project="diabetes") as run:
        alpha = mc.param("alpha", 1.0)
        version = mc.param("version", 1)
        train = mc.dataset_version(f"diabetes-clean@{version}").frame()
        test = mc.dataset(load_diabetes(as_frame=True).frame.tail(100), "diabetes-test", role="test").frame()
        features = [c for c in train.columns if c != "target"]
        model = mc.traced(Ridge(alpha=alpha)).fit(train[features], train["target"])
        mc.log("test_r2", model.score(test[features], test["target"]))
        mc.artifact("model", model)
        print(run.id)
"""


@pytest.fixture(scope="module")
def diabetes(make_project):
    project = make_project("diabetes-refs", {"clean.py": CLEAN, "train.py": TRAIN})
    for rows in (300, 320, 340):
        project.run("clean.py", params={"rows": rows})
    runs = [project.run("train.py", params=p).last_line
            for p in ({"version": 1}, {"version": 2, "alpha": 0.5}, {"version": 3, "alpha": 2.0})]
    return project, runs


def _fails(project, *args: str) -> str:
    """``mlcontext ARGS`` fails with one line on stderr (exit 1) and nothing on stdout; that line."""
    result = project.cli(*args, check=False)
    assert result.returncode == 1 and not result.stdout, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result
    return lines[0]


def test_a_version_names_its_dataset(diabetes):
    project, runs = diabetes
    assert [r["evaluations"] for r in project.cli_json("testuse", "diabetes-test@1")] == [3]
    assert project.cli_json("testuse", "diabetes-test@1") == project.cli_json("testuse", "diabetes-test")
    tried = project.cli_json("tried", "--dataset", "diabetes-clean@2", "--metric", "test_r2")
    assert sorted(r["run_id"] for r in tried if r["test_r2"] is not None) == sorted(runs)
    assert [r["version"] for r in project.cli_json("versions", "diabetes-clean@1")] == [3, 2, 1]
    with project.store():
        assert not mc.history("diabetes-clean@2").empty
        assert mc.testuse("diabetes-test@1")["evaluations"].tolist() == [3]
        with pytest.raises(mc.NotFoundError, match="has no version 99"):
            mc.testuse("diabetes-test@99")
    assert "'diabetes-clean' has no version 99" in _fails(project, "versions", "diabetes-clean@99")
    assert "'diabetes-test' has no version 99" in _fails(project, "testuse", "diabetes-test@99", "--json")


def test_a_reference_that_names_nothing_is_an_error_that_says_what_to_pass(diabetes):
    project, runs = diabetes
    typo = _fails(project, "tried", "--dataset", "diabetes-clean", "--metric", "typo")
    assert "metric 'typo' was never logged" in typo and "they logged: test_r2" in typo
    assert "no dataset 'nonexist'" in _fails(project, "testuse", "nonexist")
    never = project.cli("testuse", "diabetes-clean", env={"COLUMNS": "250"})
    assert "'diabetes-clean' has never been evaluated as a test set" in never.stdout
    assert "no test set has been evaluated yet" not in never.stdout
    shown = project.cli_json("versions", "diabetes-clean")[0]["content_hash"][:12]
    assert shown in project.cli("versions", "diabetes-clean", env={"COLUMNS": "250"}).stdout
    prefix = _fails(project, "versions", shown)
    assert "taken whole" in prefix and "pass diabetes-clean@3" in prefix
    assert "`mlcontext versions diabetes-clean --json`" in prefix
    drift = _fails(project, "drift", "diabetes-clean@1", f"{runs[0][:8]}:model")
    assert "drift compares dataset versions and stored frames" in drift and "names a model" in drift
    for command in (("diff", "diabetes-clean@1"), ("lineage",), ("impact",), ("history",),
                    ("find", "--data")):
        assert "no dataset 'nonexist'" in _fails(project, *command, "nonexist"), command
