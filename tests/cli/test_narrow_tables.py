"""Tables keep names, ids and dates whole at any terminal width (docs/cli.md), through the real CLI.

A newcomer's ``mlcontext runs`` at 80 columns (the width when piped) broke run names and the start date
into 2-character fragments: every param and metric column was squeezed in. Now folding columns are
never narrower than 10 characters, and columns that do not fit are left out (named in the caption;
``--json`` has everything). Peers of the kind: wp-cli/wp-cli #5922 (``wp plugin list`` at 80 columns
wrapping plugin names into fragments), neuro-inc/apolo-cli #1032 (``neuro ps`` ids and statuses
broken in narrow terminals), ddev/ddev #4137 (``ddev list`` wrapping names instead of dropping text).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import mlcontext as mc

NAME = "snapshot-committed-baseline"
SCRIPT = """\
import contextlib, io, json, sys
from mlcontext.cli.main import cli
out = {}
for args in json.loads(sys.argv[1]):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            cli.main(args, standalone_mode=False)
        except SystemExit:
            pass
    out[" ".join(args)] = buffer.getvalue()
print(json.dumps(out))
"""


@pytest.fixture
def wide_store(sqlite_store, monkeypatch):
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    ids = []
    for k in range(2):
        with mc.run(NAME, project="narrow") as run:
            for p in ("learning_rate", "batch_size", "weight_decay", "warmup_steps"):
                mc.param(p, 0.001 * (k + 1))
            for m in ("validation_loss", "train_accuracy", "child", "parent"):
                mc.log(m, 0.123456 * (k + 1))
            mc.artifact("model", {"w": [1.0, 2.0 + k]})
            ids.append(run.id)
    return ids


def _run_cli(commands: list[list[str]], columns: int) -> dict[str, str]:
    env = dict(os.environ, COLUMNS=str(columns))
    env.pop("LINES", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("columns", [80, 60])
def test_every_table_keeps_names_ids_and_dates_whole(wide_store, columns):
    a, b = wide_store
    commands = [["runs"], ["runs", "-p", "narrow"], ["show", a], ["diff", a, b],
                ["diff", f"{a}:model", f"{b}:model"], ["find", "--param", "batch_size>0"]]
    outputs = _run_cli(commands, columns)
    starts = [row["start"] for row in json.loads(_run_cli([["runs", "--json"]], 200)["runs --json"])]
    for args, out in outputs.items():
        lines = out.splitlines()
        assert lines, args
        assert max(len(line) for line in lines) <= columns, (args, out)
        if args.startswith(("runs", "find")):
            for run_id in wide_store:
                assert any(run_id[:8] in line and NAME in line for line in lines), (args, out)
            caption = " ".join(out[out.index("left out at this width"):].split())
            for start in starts:  # ISO text in JSON, "YYYY-MM-DD HH:MM:SS" in tables: whole or left out
                assert start[:19].replace("T", " ") in out or "start," in caption, (args, out)
            # The squeezed columns are named in full, not mangled.
            last = r"(metric\.validation_loss|param\.weight_decay) \(widen the terminal, or use --json\)"
            assert re.search(last, caption), out
    # No cell broken into fragments: a folded column is never narrower than 10 characters.
    runs = outputs["runs"]
    assert not re.search(r"│ \S{1,2} +│", runs), runs
    if columns == 80:  # how each run ended and its first metrics before who ran it, and when
        assert "finished" in runs and "metric." in runs.split("left out")[0], runs


def test_the_answer_columns_of_testuse_and_tried_stay_at_80_columns(sqlite_store, monkeypatch):
    # A newcomer's finding: at 80 columns (the width when piped) `testuse` left out evaluations and
    # over_budget, its answer, but kept its first date; `tried` left out the score and the params.
    import pandas as pd
    from sklearn.linear_model import Ridge

    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0.1, 0.9, 2.1, 3.2, 3.9, 5.1]})
    for alpha in (0.5, 2.0):
        with mc.run("a-fairly-long-training-run-name", project="narrow-answers"):
            mc.param("alpha", alpha)
            mc.param("epochs", 15)
            train = mc.dataset(data, "answers-train", role="train").frame()
            test = mc.dataset(data, "answers-test", role="test").frame()
            model = mc.traced(Ridge(alpha=alpha, random_state=0)).fit(train[["a"]], train["y"])
            mc.log("r2_on_the_held_out_test_set", model.score(test[["a"]], test["y"]))
    out = _run_cli([["testuse"], ["tried", "--dataset", "answers-train", "--metric",
                                  "r2_on_the_held_out_test_set"]], 80)
    testuse, tried = out["testuse"], out["tried --dataset answers-train --metric r2_on_the_held_out_test_set"]
    shown = [text.split("left out at this width")[0] for text in (testuse, tried)]  # not the caption
    assert "evaluations" in shown[0] and "over_budget" in shown[0], testuse
    assert "r2_on_the_held" in shown[1] and "alpha" in shown[1], tried
    assert max(len(line) for line in (testuse + tried).splitlines()) <= 80


def test_tried_and_find_keep_the_score_before_classes_and_who_ran_it_at_80_columns(sqlite_store, monkeypatch):
    # The second newcomer of the eleventh session: `tried` at 80 columns kept the version, a class
    # path wrapped over five lines and model_params, and left out the score; `find` kept user,
    # project and start and left out every metric.
    import pandas as pd
    from sklearn.linear_model import Lasso, Ridge

    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "y": [0.1, 0.9, 2.1, 3.2, 3.9, 5.1]})
    for estimator in (Ridge(alpha=0.5), Lasso(alpha=0.1)):
        with mc.run("fit", project="narrow-classes"):
            mc.param("alpha", estimator.alpha)
            train = mc.dataset(data, "classes-train", role="train").frame()
            model = mc.traced(estimator).fit(train[["a"]], train["y"])
            mc.artifact("model", model)
            mc.log("test_r2", model.score(train[["a"]], train["y"]))
            mc.log("train_mse", 0.5)
    out = _run_cli([["tried", "--dataset", "classes-train", "--metric", "test_r2"],
                    ["find", "--param", "alpha>0"]], 80)
    tried = out["tried --dataset classes-train --metric test_r2"].split("left out at this width")[0]
    found = out["find --param alpha>0"].split("left out at this width")[0]
    assert "test_r2" in tried and "alpha" in tried, tried
    assert "alpha" in found and "test_r2" in found and "finished" in found, found
