"""A newcomer's model diff: two Ridge models on other feature sets, and a Ridge against a pipeline.

``train.py`` fits a Ridge on the diabetes frame with an added feature (11 columns) and stores it; the
newcomer then edits it, without committing, to drop ``sex`` (10 columns) and runs it again; a committed
``train_sgd.py`` fits a scaler + SGD pipeline. Found wrong before:

1. ``mlcontext diff A:model B:model`` of the two Ridge models said "hyper-parameters: 0 differ" and
   "training data: diabetes-train@1 vs diabetes-train@1", and nothing else: the input features
   (``n_features_in_``, ``feature_names_in_``, recorded in the model's metadata) and the code of the
   two runs (another commit state: uncommitted changes) were never compared;
2. ``mlcontext diff RIDGE:model SGD:model`` said "12 differ", counting ``max_iter``, ``memory`` and
   ``transform_input``, shown ``-`` on both sides: ``None`` on one side and absent on the other looked
   the same, and ``--json`` wrote ``[null, null]`` for them.
"""

from __future__ import annotations

import pytest

import mlcontext as mc
from mlcontext.insight.diff import ABSENT

TRAIN = """
    import mlcontext as mc
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    with mc.run("train", project="diabetes") as run:
        frame = load_diabetes(as_frame=True).frame
        frame["bmi_bp"] = frame["bmi"] * frame["bp"]
        mc.dataset(frame, "diabetes-train", role="train")
        X = frame.drop(columns=["target"])
        model = Ridge(alpha=1.0).fit(X, frame["target"])
        mc.artifact("model", model)
        print(run.id)
"""

TRAIN_SGD = """
    import mlcontext as mc
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import SGDRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with mc.run("train-sgd", project="diabetes") as run:
        frame = load_diabetes(as_frame=True).frame
        frame["bmi_bp"] = frame["bmi"] * frame["bp"]
        mc.dataset(frame, "diabetes-train", role="train")
        model = make_pipeline(StandardScaler(), SGDRegressor(random_state=0))
        model.fit(frame.drop(columns=["target"]), frame["target"])
        mc.artifact("model", model)
        print(run.id)
"""


@pytest.fixture(scope="module")
def diabetes(make_project):
    project = make_project("diabetes-diff", {"train.py": TRAIN, "train_sgd.py": TRAIN_SGD})
    full = project.run("train.py").last_line
    project.write("train.py", TRAIN.replace('columns=["target"]', 'columns=["target", "sex"]'))
    dropped = project.run("train.py").last_line  # uncommitted changes ran
    sgd = project.run("train_sgd.py").last_line
    return project, full, dropped, sgd


def test_feature_sets_and_code_of_two_models_are_compared(diabetes, strict_json):
    project, full, dropped, sgd = diabetes
    with project.store():
        diff = mc.diff(f"{full}:model", f"{dropped}:model")
    assert diff.params == {}
    assert [f["count"] for f in diff.features] == [11, 10]
    assert diff.features_removed == ["sex"] and diff.features_added == []
    assert diff.features_same is False
    assert diff.same_code is False
    assert [c["dirty"] for c in diff.code] == [False, True]
    assert diff.code[0]["commit"] == diff.code[1]["commit"]

    out = project.cli("diff", f"{full}:model", f"{dropped}:model").stdout
    assert f"input features: 11 columns vs 10 columns; only in model (run {full[:8]}): sex" in out
    commit = diff.code[0]["commit"][:8]
    assert f"code: differs: {commit} vs {commit}+dirty" in out
    assert f"mlcontext diff {full[:8]} {dropped[:8]}" in out
    assert "the same data read, but other input features" in out

    answer = project.cli_json("diff", f"{full}:model", f"{dropped}:model")
    assert answer["features"]["removed"] == ["sex"] and answer["features"]["added"] == []
    assert answer["features"]["a"]["count"] == 11 and answer["features"]["b"]["count"] == 10
    assert "sex" in answer["features"]["a"]["names"] and "sex" not in answer["features"]["b"]["names"]
    assert answer["features"]["same"] is False
    assert answer["same_code"] is False and answer["code"][1]["dirty"] is True
    assert answer["code"][1]["version"] == f"{commit}+dirty"


def test_same_features_and_same_code_are_said_so(diabetes):
    project, full, dropped, sgd = diabetes
    with project.store():
        diff = mc.diff(f"{full}:model", f"{full}:model")
    assert diff.features_same is True and diff.same_code is True
    out = project.cli("diff", f"{full}:model", f"{full}:model").stdout
    assert "input features: the same 11 columns (age, sex," in out
    assert "code: the same (" in out


def test_a_param_absent_from_one_model_is_not_none(diabetes):
    project, full, dropped, sgd = diabetes
    with project.store():
        diff = mc.diff(f"{full}:model", f"{sgd}:model")
    assert diff.params["max_iter"] == (None, ABSENT)  # Ridge(max_iter=None); a Pipeline has none
    assert diff.params["memory"] == (ABSENT, None)
    assert diff.params["alpha"] == (1.0, ABSENT)
    assert all(ABSENT in pair for pair in diff.params.values())  # no value is set on both sides
    assert diff.features_same is True  # the pipeline takes the same 11 columns

    out = project.cli("diff", f"{full}:model", f"{sgd}:model").stdout
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.count("│") == 4}
    assert rows["max_iter"] == ["None", "(absent)"]
    assert rows["memory"] == ["(absent)", "None"]
    count = len(diff.params)
    assert (f"hyper-parameters: {count} differ (0 in value, {count} absent from one side)"
            in " ".join(out.split()))  # a table's title may wrap
    assert "different classes" in out

    answer = project.cli_json("diff", f"{full}:model", f"{sgd}:model")
    assert answer["params"]["max_iter"] == [None, None]  # null on both sides, and why:
    assert "max_iter" in answer["absent"]["params"]["b"] and "max_iter" not in answer["absent"]["params"]["a"]
    assert "memory" in answer["absent"]["params"]["a"]
    assert answer["same_code"] is False  # another script


def test_two_scripts_of_one_commit_ran_the_same_code(make_project):
    # A newcomer's finding: models saved by wine/train.py and cancer/train.py at one clean commit:
    # the run diff said "same code", the model diff "differs (the same commit, other uncommitted
    # changes)" (it compared the snapshots' hashes, which differ by more than the code).
    script = TRAIN.replace('"diabetes"', '"{project}"')
    project = make_project("two-scripts", {"a/train.py": script.replace("{project}", "a"),
                                           "b/train.py": script.replace("{project}", "b")})
    first = project.run("a/train.py").last_line
    second = project.run("b/train.py").last_line
    with project.store():
        runs = mc.diff(first, second)
        models = mc.diff(f"{first}:model", f"{second}:model")
    assert runs.same_code is True
    assert models.same_code is True
