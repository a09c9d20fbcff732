"""Diffs say what is absent, which features a model takes, and how each run ended and what it read.

Found wrong before (a newcomer's model diff, and its siblings in the run diff):

1. a hyper-parameter or run param one side does not have was ``None`` in the pair, shown ``-`` like a
   ``None`` value: a row ``max_iter  -  -`` was counted among "N differ" without saying why;
2. a model diff never compared the input features (``n_features_in_``, ``feature_names_in_``);
3. ``mlcontext diff RUN RUN`` did not say that one run failed and the other finished, nor which
   dataset versions each read.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.insight.diff import ABSENT


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"bare {name}")
    return json.loads(text, parse_constant=refuse)


def _frame(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                         "y": rng.normal(size=n)})


def test_run_diff_says_status_data_read_and_absent_params(store, monkeypatch):
    frame = _frame()
    with mc.run("first", project="rd") as first:
        mc.param("limit", None)
        mc.param("alpha", 1.0)
        mc.dataset(frame, "rd-train", role="train")
        mc.log("rmse", 0.5)
    try:
        with mc.run("second", project="rd") as second:
            mc.param("alpha", 2.0)
            mc.dataset(frame.assign(a=frame.a + 1), "rd-train", role="train")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    diff = mc.diff(first.id, second.id)
    assert diff.params == {"alpha": (1.0, 2.0), "limit": (None, ABSENT)}
    assert diff.metrics == {"rmse": (0.5, ABSENT)}
    assert diff.data == {"rd-train": ((1,), (2,))}
    assert diff.data_read == (["rd-train@1"], ["rd-train@2"])

    monkeypatch.setenv("COLUMNS", "200")
    out = _cli("diff", first.id, second.id)
    assert f"{first.id[:8]} (rd/first): finished" in out
    assert f"{second.id[:8]} (rd/second): failed: builtins.RuntimeError: boom" in out
    assert "params: 2 differ (1 in value, 1 absent from one side)" in " ".join(out.split())  # wrapped
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.count("│") == 4}
    assert rows["limit"] == ["None", "(absent)"] and rows["rmse"] == ["0.5", "(absent)"]
    assert rows["rd-train"] == ["@1", "@2"] and "data read: 1 differ" in out

    answer = _strict(_cli("diff", first.id, second.id, "--json"))
    assert answer["status"] == ["finished", "failed"]
    assert answer["errors"] == [None, {"type": "builtins.RuntimeError", "message": "boom"}]
    assert answer["params"]["limit"] == [None, None]
    assert answer["absent"]["params"] == {"a": [], "b": ["limit"]}
    assert answer["absent"]["metrics"] == {"a": [], "b": ["rmse"]}
    assert answer["data"] == {"rd-train": [[1], [2]]}
    assert answer["data_read"] == [["rd-train@1"], ["rd-train@2"]]


def test_run_diff_of_runs_that_read_the_same_data_says_so(store, monkeypatch):
    frame = _frame()
    for name in ("one", "two"):
        with mc.run(name, project="rd2"):
            mc.dataset(frame, "rd2-train", role="train")
    diff = mc.diff("one", "two")
    assert diff.data == {} and diff.data_read == (["rd2-train@1"], ["rd2-train@1"])
    monkeypatch.setenv("COLUMNS", "200")
    assert "data read: the same, rd2-train@1" in _cli("diff", "one", "two")


def test_model_features_from_frames_and_arrays(store, monkeypatch):
    frame = _frame()
    with mc.run("frame", project="feat") as on_frame:
        mc.artifact("model", Ridge().fit(frame[["a", "b", "c"]], frame.y))
    with mc.run("reordered", project="feat") as reordered:
        mc.artifact("model", Ridge().fit(frame[["c", "a", "b"]], frame.y))
    with mc.run("array", project="feat") as on_array:
        mc.artifact("model", Ridge().fit(frame[["a", "b"]].to_numpy(), frame.y.to_numpy()))
    with mc.run("traced", project="feat") as traced:
        X = mc.array(frame[["a", "b"]].to_numpy(), name="X")
        y = mc.array(frame.y.to_numpy(), name="y")
        mc.artifact("model", mc.traced(Ridge()).fit(X, y))

    diff = mc.diff(f"{on_frame.id}:model", f"{reordered.id}:model")
    assert diff.features_same is False
    assert diff.features_added == [] and diff.features_removed == []
    monkeypatch.setenv("COLUMNS", "200")
    out = _cli("diff", f"{on_frame.id}:model", f"{reordered.id}:model")
    assert "input features: 3 columns vs 3 columns; the same columns in another order" in out

    diff = mc.diff(f"{on_frame.id}:model", f"{on_array.id}:model")
    assert diff.features == ({"count": 3, "names": ["a", "b", "c"]}, {"count": 2, "names": None})
    assert diff.features_added is None and diff.features_same is False
    out = _cli("diff", f"{on_frame.id}:model", f"{on_array.id}:model")
    assert "input features: 3 columns vs 2 columns; column names not recorded for B" in out

    # Two fits on arrays of the same width: the count is the same, the columns are not known.
    diff = mc.diff(f"{on_array.id}:model", f"{traced.id}:model")
    assert diff.features == ({"count": 2, "names": None}, {"count": 2, "names": None})
    assert diff.features_same is None
    out = _cli("diff", f"{on_array.id}:model", f"{traced.id}:model")
    assert "input features: 2 columns vs 2 columns; which columns not known" in out
    answer = _strict(_cli("diff", f"{on_array.id}:model", f"{traced.id}:model", "--json"))
    assert answer["features"] == {"a": {"count": 2, "names": None}, "b": {"count": 2, "names": None},
                                  "added": None, "removed": None, "same": None}


def test_models_named_by_ref_have_the_code_of_the_run_that_stored_them(store, monkeypatch):
    # (They had none: a model given by its ArtifactRef now has its run's, when one run stored it.)
    frame = _frame()
    with mc.run("h", project="hash") as run:
        a = mc.artifact("a", Ridge(alpha=1.0).fit(frame[["a"]], frame.y))
        b = mc.artifact("b", Ridge(alpha=2.0).fit(frame[["a"]], frame.y))
    diff = mc.diff(a, b)
    assert diff.code[0]["run"] == diff.code[1]["run"] == run.id and diff.same_code is True
    assert diff.params == {"alpha": (1.0, 2.0)}
    assert diff.to_dict()["absent"]["params"] == {"a": [], "b": []}


def test_run_diff_says_which_versions_each_run_wrote(store, monkeypatch):
    # The third newcomer of the tenth session: two prepare.py runs with other thresholds wrote
    # clean@1 and clean@2, and `diff` said nothing of it (only what each run read).
    frame = _frame()
    made = []
    for threshold in (0.0, 0.5, 0.5):
        with mc.run("prepare", project="wd") as run:
            mc.param("threshold", threshold)
            raw = mc.dataset(frame, "wd-raw").frame().to_pandas()
            mc.dataset(raw[raw.a > threshold], "wd-clean", direction="output")
        made.append(run.id)
    first, second, third = made
    diff = mc.diff(first, second)
    assert diff.written == {"wd-clean": ((1,), (2,))}
    assert diff.data_written == (["wd-clean@1"], ["wd-clean@2"])
    assert diff.data == {} and diff.data_read == (["wd-raw@1"], ["wd-raw@1"])
    same = mc.diff(second, third)
    assert same.written == {} and same.data_written == (["wd-clean@2"], ["wd-clean@2"])

    monkeypatch.setenv("COLUMNS", "200")
    out = _cli("diff", first, second)
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:4]]
            for line in out.splitlines() if line.count("│") == 4}
    assert rows["wd-clean"] == ["@1", "@2"] and "data written: 1 differ" in out
    assert "data written: the same, wd-clean@2" in _cli("diff", second, third)
    answer = _strict(_cli("diff", first, second, "--json"))
    assert answer["written"] == {"wd-clean": [[1], [2]]}
    assert answer["data_written"] == [["wd-clean@1"], ["wd-clean@2"]]


def test_a_model_diff_shows_the_metrics_both_runs_share(store, monkeypatch):
    # The third newcomer of the tenth session: "metrics ...: the same" said nothing of the values
    # (nor whether any metric was logged at all).
    X, y = _frame()[["a", "b"]], _frame()["y"]
    refs = []
    for alpha in (0.5, 2.0):
        with mc.run("train", project="md") as run:
            mc.artifact("model", Ridge(alpha=alpha).fit(X, y))
            mc.log("rows", 30.0)
        refs.append(f"{run.id}:model")
    diff = mc.diff(*refs)
    assert diff.metrics == {} and diff.metrics_shared == {"rows": 30.0}
    monkeypatch.setenv("COLUMNS", "200")
    out = " ".join(_cli("diff", *refs).split())
    assert "metrics of the runs that stored them (last value): the same, rows=30" in out
    assert _strict(_cli("diff", *refs, "--json"))["metrics_shared"] == {"rows": 30.0}


def test_run_diff_says_which_file_versions_each_run_wrote(store, tmp_path, monkeypatch):
    # A reviewer's finding: a file registered by path as the run's output (prepare.py writing
    # clean.csv) was in neither `written` nor `show`'s versions: its artifact record is a file's.
    made = []
    for threshold in (0, 5):
        path = tmp_path / f"preds-{threshold}.csv"
        pd.DataFrame({"p": range(threshold, 10)}).to_csv(path, index=False)
        with mc.run("score", project="files") as run:
            mc.dataset(path, "wd-preds", direction="output")
        made.append(run.id)
    diff = mc.diff(*made)
    assert diff.written == {"wd-preds": ((1,), (2,))}
    shown = [(a.name, a.meta.get("version")) for a in mc.get_run(made[1]).artifacts if a.kind == "file"]
    assert shown == [("wd-preds", 2)]


def test_print_of_a_diff_reads_as_the_command_line_says_it(store):
    # The first and second newcomers of the eleventh session: print(mc.diff(a, b)) dumped the
    # dataclass, both run records and about 200 packages each.
    frame = _frame()
    ids, refs = [], []
    for alpha in (1.0, 2.0):
        with mc.run("fit", project="printed") as run:
            mc.param("alpha", alpha)
            train = mc.dataset(frame.assign(a=frame.a + 10 * (alpha - 1)), "pr-train", role="train").frame()
            mc.artifact("model", mc.traced(Ridge(alpha=alpha)).fit(train[["a", "b"]], train["y"]))
            mc.log("rmse", 0.5)
        ids.append(run.id)
        refs.append(f"{run.id}:model")
    text = str(mc.diff(*ids))
    assert "RunRecord(" not in text and len(text.splitlines()) < 15, text
    assert f"{ids[0][:8]} (printed/fit): finished" in text
    assert "params: alpha 1.0 -> 2.0" in text and "metrics (last value): the same, rmse=0.5" in text
    assert "data read: pr-train @1 -> @2" in text and "code: the same" in text
    model = str(mc.diff(*refs))
    assert "ModelDiff(" not in model and "hyper-parameters: alpha 1.0 -> 2.0" in model, model
    assert "training data: pr-train@1 vs pr-train@2" in model
    data = str(mc.diff("pr-train@1", "pr-train@2", project="printed"))
    first, *columns = data.splitlines()
    assert first.startswith("pr-train@1 -> pr-train@2: rows 30 -> 30"), data
    assert columns[0].startswith("  a: "), data  # the drifted column, and why


def test_printed_diffs_keep_none_classes_and_every_schema_change(store):
    # A reviewer's findings on the printed diffs: None printed as "-" (as NaN is), the model diff
    # left out "different classes", and the dataset diff stopped after six schema changes.
    from sklearn.linear_model import Lasso

    with mc.run("a", project="pd") as a:
        mc.param("limit", None)
        mc.artifact("m", Ridge().fit([[0.0], [1.0]], [0.0, 1.0]))
    with mc.run("b", project="pd") as b:
        mc.param("limit", 5)
        mc.artifact("m", Lasso().fit([[0.0], [1.0]], [0.0, 1.0]))
    assert "params: limit None -> 5" in str(mc.diff(a.id, b.id))
    model = str(mc.diff(f"{a.id}:m", f"{b.id}:m"))
    assert "different classes" in model and "max_iter None -> 1000" in model, model
    old = pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": ["a", "b", "c"]})
    new = old.assign(k=[1.0, 2.0, 3.0], **{f"new{i}": [i] * 3 for i in range(8)})
    mc.dataset(old, "wide", project="pd")
    mc.dataset(new, "wide", project="pd")
    text = str(mc.diff("wide@1", "wide@2", project="pd"))
    assert "  added new7 (int64)" in text and "  retyped k (str → float64, not compared)" in text, text


def test_the_printed_code_line_counts_changed_lines_not_headers():
    # A reviewer's finding: "+++"/"---" headers were counted as changed lines, and an explanation
    # (trees that could not be restored) was called a diff of 0 changed lines.
    from mlcontext.insight.rundiff import _code_line

    diff = ("--- a/s.py\n+++ b/s.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
            "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+y = 3\n")
    assert _code_line(diff, {}) == "code: differs (3 changed lines; .code has the unified diff)"
    why = "code differs (commit 40736bcd vs 4a419e90) but the trees could not be restored: gone"
    assert _code_line(why, {}) == f"code: {why}"
    assert _code_line("", {}) == "code: the same"


def test_a_nan_param_both_runs_set_is_the_same_and_models_compare_by_hash(store):
    # A reviewer's notes (not new): a NaN param of both runs counted as differing; mc.diff of two
    # model hashes (as `show` lists them) said they named nothing.
    from sklearn.linear_model import Lasso

    refs = []
    for estimator in (Ridge(), Lasso()):
        with mc.run("nan", project="nanp") as run:
            mc.param("threshold", float("nan"))
            refs.append(mc.artifact("m", estimator.fit([[0.0], [1.0]], [0.0, 1.0])).hash)
        refs.append(run.id)
    diff = mc.diff(refs[1], refs[3])
    assert "threshold" not in diff.params and "threshold=-" in str(diff), str(diff)
    model = mc.diff(refs[0], refs[2])
    assert model.classes[0].endswith("Ridge") and model.classes[1].endswith("Lasso")
