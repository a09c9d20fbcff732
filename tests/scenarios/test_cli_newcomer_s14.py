"""What a newcomer who lives in the terminal found (fourteenth session), in a project of their kind.

- ``restore RUN scratch/r1`` (a relative destination) failed and cloned into ``scratch/scratch/r1``:
  git ran in the destination's parent, where the relative path named another folder.
- ``MLCONTEXT_TEST_BUDGET=abc`` made every command print a traceback, even ``runs``; a negative
  budget was taken.
- ``find --until 2026-12-02`` left out every run of that day (it meant the day's first instant).
- ``show RUN | head -1`` exited with status 1 and no message (click's and rich's handling of a
  closed pipe): it is status 141, silent, as for a tool that SIGPIPE stopped.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

TRAIN = """\
import mlcontext as mc
with mc.run("train") as run:
    mc.param("alpha", mc.param("alpha", 0.1))
    for i in range(2000):  # a long `show --json`: more than a pipe holds
        mc.param(f"p{i:04d}", "x" * 40)
    mc.log("score", 0.5)
    print(run.id)
"""


@pytest.fixture(scope="module")
def project(make_project):
    project = make_project("cli-s14", {"train.py": TRAIN})
    run_id = project.run("train.py").last_line
    return project, run_id


def test_restore_to_a_relative_destination(project, tmp_path):
    p, run_id = project
    answer = p.cli_json("restore", run_id, "scratch/r1", cwd=tmp_path,
                        env={"MLCONTEXT_HOME": str(p.store_dir)})
    assert (tmp_path / "scratch" / "r1" / "train.py").read_text() == TRAIN
    assert not (tmp_path / "scratch" / "scratch").exists()
    assert answer["dest"] == str(tmp_path / "scratch" / "r1")


@pytest.mark.parametrize("value", ["abc", "-5", "1.5"])
def test_a_bad_test_budget_is_one_line_and_only_where_it_is_used(project, value):
    p, _ = project
    assert p.cli("runs", env={"MLCONTEXT_TEST_BUDGET": value}).returncode == 0
    result = p.cli("testuse", env={"MLCONTEXT_TEST_BUDGET": value}, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "MLCONTEXT_TEST_BUDGET" in result.stderr
    assert "Traceback" not in result.stderr


def test_until_a_date_includes_that_day(project, strict_json):
    p, run_id = project
    today = dt.datetime.now(dt.UTC).date()
    found = {r["id"] for r in p.cli_json("find", "--since", today.isoformat(), "--until", today.isoformat())}
    assert run_id in found
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert run_id not in {r["id"] for r in p.cli_json("find", "--until", yesterday)}
    assert run_id in {r["id"] for r in p.cli_json("find", "--until", f"{today.isoformat()}T23:59:59")}


@pytest.mark.parametrize("args", [("show", "{id}", "--json"), ("show", "{id}"), ("runs", "--json")])
def test_a_reader_that_closes_the_pipe_stops_the_command_silently(project, args):
    p, run_id = project
    argv = [sys.executable, "-m", "mlcontext", *(a.format(id=run_id) for a in args)]
    proc = subprocess.Popen(argv, cwd=p.root, env=p.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # as `| head -c 10` does
    err = proc.stderr.read()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    assert err == b""
    assert code in (0, 141)  # 0 when everything fitted into the pipe before it closed


PREPARE = """\
import numpy as np, pandas as pd
import mlcontext as mc
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
df["y"] = (df.a + df.b > 0).astype(int)
with mc.run("prepare") as run:
    mc.dataset(df.iloc[:150], name="train", role="train")
    mc.dataset(df.iloc[150:], name="test", role="test")
    model = LogisticRegression().fit(df.iloc[:150][["a", "b"]], df.iloc[:150]["y"])
    mc.artifact("model", model)
    print(run.id)
"""

SCORE = """\
import numpy as np
import mlcontext as mc
with mc.run("score"):
    model = mc.traced(mc.load_artifact(mc.param("model_run", ""), "model"))  # loaded, traced
    test = mc.dataset_version("test@1").frame()
    pred = np.asarray(model.predict(test[["a", "b"]]))
    mc.log("test_acc", float((pred == test["y"].to_pandas().to_numpy()).mean()))
    if mc.param("crash", False):
        raise RuntimeError("crash after evaluating")
"""


def test_a_loaded_traced_model_scoring_the_test_split_counts_even_when_the_run_fails(make_project):
    """A newcomer's scoring script loaded a model, traced it as cli.md says, scored the registered
    test split, logged the score, and crashed: testuse did not count it (the loaded model predicted
    on plain values, with no evaluation noted)."""
    p = make_project("testuse-loaded", {"prepare.py": PREPARE, "score.py": SCORE})
    model_run = p.run("prepare.py").last_line
    p.run("score.py", params={"model_run": model_run})
    assert p.run("score.py", params={"model_run": model_run, "crash": True}, check=False).returncode == 1
    [row] = p.cli_json("testuse", "test@1")
    assert row["evaluations"] == 3  # the run that registered the split (a read, by design) and both scorers


TRAIN_SAME = """\
import numpy as np
import mlcontext as mc
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
X = rng.normal(size=(100, 2)); y = (X[:, 0] > 0).astype(int)
with mc.run("train") as run:
    C = mc.param("C", 1.0)
    model = LogisticRegression(C=C).fit(X, y)
    mc.log("train_acc", mc.param("acc", float(model.score(X, y))))
    mc.artifact("model", model)
    print(run.id)
"""

LOAD = """\
import mlcontext as mc
with mc.run("evaluate") as run:
    mc.load_artifact(mc.param("model_run", ""), "model")
    print(run.id)
"""


def test_a_loaded_model_saved_by_two_runs_is_compared_by_their_metrics(make_project, strict_json):
    """A newcomer's `diff EVAL:model TRAIN:model`: the evaluation run had loaded bytes two training runs
    had saved (same code, same train_acc), and the diff said train_acc was "(absent)" on that side and
    counted it as a difference."""
    p = make_project("diff-loaded", {"train.py": TRAIN_SAME, "load.py": LOAD})
    first = p.run("train.py").last_line
    p.run("train.py")  # the same bytes again, the same code and metrics
    other = p.run("train.py", params={"C": 0.01}).last_line
    evaluation = p.run("load.py", params={"model_run": first}).last_line
    answer = p.cli_json("diff", f"{evaluation}:model", f"{other}:model")
    assert answer["runs_known"] == [True, True]
    assert answer["absent"]["metrics"] == {"a": [], "b": []}
    assert "(absent)" not in p.cli("diff", f"{evaluation}:model", f"{other}:model").stdout
    # Runs that saved the same bytes but logged other values: unknown, never "(absent)".
    p.run("train.py", params={"acc": 0.5})
    text = p.cli("diff", f"{evaluation}:model", f"{other}:model").stdout
    assert "not known for" in text and "(absent)" not in text
    assert p.cli_json("diff", f"{evaluation}:model", f"{other}:model")["runs_known"] == [False, True]


def test_a_piped_code_diff_is_not_wrapped(make_project):
    """`mlcontext diff A B > out.txt` folded a long changed line at 80 columns: not a patch any more."""
    p = make_project("diff-wide", {"train.py": TRAIN})
    first = p.run("train.py").last_line
    long_line = "# " + "a long comment that goes on " * 6 + "and ends here"
    p.write("train.py", TRAIN + long_line + "\n")
    second = p.run("train.py").last_line
    out = p.cli("diff", first, second, in_subprocess=True, env={"COLUMNS": "80"}).stdout
    assert "+" + long_line in out.splitlines()


def test_a_run_may_not_be_named_like_another_runs_id(project):
    """A newcomer named a run `d8457d2e`, the start of a training run's id: every saved `show d8457d2e`
    and `--param model_run=d8457d2e` then failed as ambiguous, in every project."""
    p, run_id = project
    prefix = run_id[:8]
    script = f"import mlcontext as mc\nmc.run({prefix!r}, project='odd')\n"
    p.write("named.py", script)
    result = p.run("named.py", check=False)
    assert result.returncode == 1 and "start of the id of run" in result.stderr
    assert p.cli_json("show", prefix)["id"] == run_id


def test_small_cli_answers(project):
    """`lineage REF --json --dot` printed JSON without a word about --dot; `runs -n trian` said only
    "No run matches" where other commands suggest the close name."""
    p, _ = project
    both = p.cli("lineage", "x", "--json", "--dot", check=False)
    assert both.returncode == 2 and "--json and --dot" in both.stderr
    typo = p.cli("runs", "-n", "trian")
    assert "did you mean 'train'" in typo.stdout
