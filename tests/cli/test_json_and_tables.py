"""Every ``--json`` output is strict RFC 8259 JSON; listings keep insertion order on ties; tables keep
ids and statuses whole and give durations units (issue 11, items 14, 15, 21).

Peers: MLflow #16555/#16628 and fasttrackml #435 (NaN metrics break JSON consumers), MLflow #25858
(ties in an ordering broken by nothing).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import tempfile
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli.main import cli


def strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not RFC 8259 JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def messy(sqlite_store, monkeypatch, tmp_path):
    """A store with NaN and infinite values everywhere a number can be, and every kind of thing."""
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "160")
    rng = np.random.default_rng(0)
    ids = []
    for k, scale in enumerate((1.0, 3.0)):
        with mc.run("fit", project="j") as run:
            mc.param("alpha", float("nan") if k else 0.5)
            mc.param("lr", 0.1)
            mc.log("lr", float("inf"))
            mc.log("loss", float("nan"))
            data = pd.DataFrame({"x": rng.normal(0, scale, 200), "e": [np.nan] * 200})
            mc.dataset(data, name="wine", role="test")
            mc.artifact("model.pkl", {"weights": [1.0, float("nan")]})
            ids.append(run.id)
    return ids


def commands(ids: list[str]) -> list[list[str]]:
    a, b = ids
    return [["runs"], ["runs", "-p", "j"], ["show", a], ["diff", a, b], ["diff", "wine@1", "wine@2"],
            ["diff", f"{a}:model.pkl", f"{b}:model.pkl"], ["lineage", "wine@1"], ["impact", "wine@1"],
            ["versions", "wine"], ["find", "--data", "wine"], ["drift", "wine@1", "wine@2"],
            ["history", "wine"], ["tried", "--dataset", "wine", "--metric", "loss"], ["testuse"],
            ["cache"], ["restore", a, os.path.join(tempfile.mkdtemp(prefix="mc-restore-"), "code")]]


def test_every_json_output_is_strict(messy):
    runner = CliRunner()
    seen = set()
    for args in commands(messy):
        result = runner.invoke(cli, [*args, "--json"])
        assert result.exit_code == 0, (args, result.output)
        assert not re.search(r"\bNaN\b|\bInfinity\b", result.output), args
        strict(result.output)
        seen.add(args[0])
    documented = {name for name, command in cli.commands.items()
                  if any(p.name == "as_json" for p in command.params)}
    assert documented <= seen, f"commands with --json not checked here: {documented - seen}"


def test_every_timestamp_in_json_is_iso_text(messy):
    # docs/cli.md promises ISO 8601 text; show, lineage and impact gave the store's UNIX seconds for
    # started_at / ended_at / heartbeat_at (a newcomer's finding: code written to the contract misread
    # the dates).
    runner = CliRunner()
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_at") or key in ("start", "end", "created"):
                    found.append((key, value))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for args in commands(messy):
        walk(strict(runner.invoke(cli, [*args, "--json"]).output))
    stamps = [(k, v) for k, v in found if v is not None]
    assert {k for k, _ in stamps} >= {"started_at", "ended_at", "heartbeat_at"}
    for key, value in stamps:
        assert isinstance(value, str), (key, value)
        pd.Timestamp(value)  # parses as a date


def test_params_and_metrics_named_like_times_stay_numbers(sqlite_store, monkeypatch):
    # A newcomer's param crash_at=2 read "1970-01-01T00:00:02+00:00" in show/runs/tried --json: every
    # key ending in "_at" was taken for one of the store's times. Only the store's own fields are
    # (mavenlink/brainstem-js#95 is the same kind: attributes turned into timestamps by their name).
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    with mc.run("r", project="t"):
        mc.param("crash_at", 2)
        mc.param("started_at", -1)  # even a store field's name, when a user chose it
        mc.dataset(pd.DataFrame({"x": [1.0, 2.0]}), name="d")
        mc.log("stop_at", 3.5)
    runner = CliRunner()
    shown = strict(runner.invoke(cli, ["show", "r", "--json"]).output)
    assert shown["params"] == {"crash_at": 2, "started_at": -1}
    assert shown["metrics"]["stop_at"] == 3.5
    assert isinstance(shown["started_at"], str)
    (row,) = strict(runner.invoke(cli, ["runs", "-p", "t", "--json"]).output)
    assert (row["param.crash_at"], row["param.started_at"], row["metric.stop_at"]) == (2, -1, 3.5)
    assert isinstance(row["start"], str)


def test_runs_json_keeps_nan_as_null(messy):
    rows = strict(CliRunner().invoke(cli, ["runs", "--json"]).output)
    assert [r["metric.loss"] for r in rows] == [None, None]
    assert [r["metric.lr"] for r in rows] == [None, None]
    assert {r["param.alpha"] for r in rows} == {0.5, None}
    assert math.isnan(mc.runs()["metric.loss"].iloc[0])  # the Python API keeps NaN


def test_runs_table_keeps_prefixes_ids_statuses_and_units(messy):
    out = CliRunner().invoke(cli, ["runs"]).output
    # A param and a metric of one name: each header keeps its prefix (on its own line).
    header = out.split("┡")[0]
    assert "param." in header and "metric." in header and header.count("lr") >= 2
    for run_id in messy:
        assert run_id[:8] in out  # ids whole on one line
    assert "finished" in out and "finis\n" not in out
    assert re.search(r"\d s\b|\d min \d\d s\b", out), out  # durations with a unit


def test_five_runs_in_one_clock_tick_come_back_newest_first(store, monkeypatch):
    class FrozenClock:
        def __getattr__(self, name: str) -> object:
            return getattr(time, name)

        @staticmethod
        def time() -> float:
            return 1_800_000_000.0

    monkeypatch.setattr(importlib.import_module("mlcontext.tracking.run"), "time", FrozenClock())
    ids = []
    for k in range(5):
        with mc.run(f"r{k}", project="tick") as run:
            mc.log("k", k)
            ids.append(run.id)
    newest_first = ids[::-1]
    assert mc.runs(project="tick")["id"].tolist() == newest_first
    assert mc.find(project="tick")["id"].tolist() == newest_first
    assert mc.metrics("k", project="tick")["run_id"].tolist() == ids  # metrics: oldest first
    starts = mc.runs(project="tick")["start"]
    assert starts.is_monotonic_decreasing and starts.is_unique
    with mc.run("same", project="tick"):
        pass
    with mc.run("same", project="tick") as last:
        pass
    assert mc.get_run("same").id == last.id  # a name means its newest run, even within one tick


def test_show_names_a_runs_output_dataset_with_its_version(sqlite_store, monkeypatch):
    # A newcomer's finding: `show RUN` listed inputs as `raw@1` but the dataset the run made as plain
    # `clean`, without the version it became.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "160")
    raw = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) % 3})
    for threshold in (1.0, 2.0):
        with mc.run("clean", project="show") as run:
            f = mc.dataset(raw, name="raw-show").frame()
            mc.dataset(f[f.y < threshold], name="clean-show")
    result = CliRunner().invoke(cli, ["show", run.id])
    assert result.exit_code == 0, result.output
    assert "clean-show@2" in result.output and "raw-show@1" in result.output
    # ... and so do `show --json` and mc.get_run, where the version was added (it was the CLI's own)
    shown = strict(CliRunner().invoke(cli, ["show", run.id, "--json"]).output)
    made = [a["meta"] for a in shown["artifacts"] if a["name"] == "clean-show"]
    assert made and all(m["dataset"] == "clean-show" and m["version"] == 2 for m in made), made
    record = mc.get_run(run.id)
    assert {(a.name, a.direction, a.meta.get("version")) for a in record.artifacts
            if a.name == "clean-show"} == {("clean-show", "output", 2)}


def test_show_names_a_dataset_registered_into_another_project(sqlite_store, monkeypatch):
    # A reviewer's finding: a run of project main that registered `shared` into project other was
    # shown `shared`, without its version, once get_run looked in the run's own project only.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    raw = pd.DataFrame({"a": np.arange(20.0)})
    mc.dataset(raw, "raw", project="main")
    with mc.run("prep", project="main") as run:
        frame = mc.dataset_version("raw", project="main").frame()
        mc.dataset(frame[frame.a > 2], "shared", project="other")
    made = [a.meta for a in mc.get_run(run.id).artifacts if a.name == "shared"]
    assert made == [{**made[0], "dataset": "shared", "version": 1, "project": "other"}], made
    result = CliRunner().invoke(cli, ["show", run.id])
    assert result.exit_code == 0 and "other/shared@1" in result.output, result.output


def test_find_by_status(sqlite_store, monkeypatch):
    # A newcomer's finding: `mc.find(status=...)` existed, the CLI's `find` had no --status.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    with mc.run("ok", project="status") as good:
        mc.log("loss", 1.0)
    with pytest.raises(RuntimeError), mc.run("crash", project="status") as bad:
        raise RuntimeError("crash")
    for status, expected in (("failed", [bad.id]), ("finished", [good.id])):
        result = CliRunner().invoke(cli, ["find", "--status", status, "-p", "status", "--json"])
        assert result.exit_code == 0, result.output
        assert [r["id"] for r in strict(result.output)] == expected
    wrong = CliRunner().invoke(cli, ["find", "--status", "crashed"])
    assert wrong.exit_code != 0 and "crashed" in wrong.output


def test_get_run_names_the_version_the_run_created_in_another_project(sqlite_store):
    # A reviewer's finding: a run of staging that created prod/clean@1 was said to have made
    # staging's byte twin clean@2 (the run's own project was preferred to the version it created).
    mc.set_store(sqlite_store)
    mc.dataset(pd.DataFrame({"a": [9.0]}), "clean", project="staging")
    base = mc.dataset(pd.DataFrame({"a": np.arange(6.0)}), "base", project="staging")
    with mc.run("make", project="staging"):
        frame = base.frame()
        mc.dataset(frame[frame["a"] > 2], "clean", project="staging")  # staging's clean@2
    with mc.run("publish", project="staging") as run:
        frame = base.frame()
        mc.dataset(frame[frame["a"] > 2], "clean", project="prod")  # the same bytes: prod's clean@1
    made = [a.meta for a in mc.get_run(run.id).artifacts if a.name == "clean" and a.direction == "output"]
    assert all(m["version"] == 1 and m.get("project") == "prod" for m in made) and made, made


def test_show_names_a_read_of_another_projects_version_with_its_project(sqlite_store, monkeypatch):
    # A reviewer's finding: a run of analysis that read wine's raw@1 showed `raw@1`, while analysis
    # has a different raw@1 of its own.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "160")
    mc.dataset(pd.DataFrame({"a": np.arange(5.0)}), "raw", project="wine")
    mc.dataset(pd.DataFrame({"a": np.arange(7.0)}), "raw", project="analysis")
    with mc.run("look", project="analysis") as run:
        mc.dataset_version("raw", project="wine").load()
    shown = CliRunner().invoke(cli, ["show", run.id]).output
    assert "wine/raw@1" in shown, shown


def test_a_mistyped_project_is_named_not_answered_with_nothing(sqlite_store, monkeypatch):
    # A newcomer's finding: `runs -p chrun` said "No runs recorded yet", `find -p chrun` "no run
    # matches", `testuse -p chrun` "no test set has been evaluated yet".
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    with mc.run("fit", project="churn"):
        pass
    for command in (["runs"], ["find"], ["testuse"]):
        result = CliRunner().invoke(cli, [*command, "-p", "chrun"])
        assert result.exit_code == 1 and "did you mean 'churn'" in str(result.exception), result.output
        assert CliRunner().invoke(cli, [*command, "-p", "churn"]).exit_code == 0


def test_narrow_show_and_versions_keep_direction_and_role(sqlite_store, monkeypatch):
    # A newcomer's finding at 80 columns: `show` left out direction (train@2 twice, read and written,
    # indistinguishable), `versions` left out role.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "80")
    with mc.run("prep", project="narrow") as run:
        frame = mc.dataset(pd.DataFrame({"a": np.arange(9.0)}), "raw", role="train").frame()
        mc.dataset(frame[frame.a > 2], "train", role="train")
    shown = CliRunner().invoke(cli, ["show", run.id]).output
    assert "direction" in shown and "direction" not in shown.split("left out")[-1], shown
    listed = CliRunner().invoke(cli, ["versions", "raw", "-p", "narrow"]).output
    assert "role" in listed and "role" not in listed.split("left out")[-1], listed


def test_diffs_say_what_is_the_same_instead_of_empty_tables(sqlite_store, monkeypatch):
    # A newcomer's finding: `diff A B` of two runs with equal params printed "params: 0 differ" over
    # an empty table, which said nothing of what they share; so did the model diff.
    from sklearn.linear_model import Ridge

    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "100")
    ids = []
    for _ in range(2):
        with mc.run("same", project="same") as run:
            mc.param("alpha", 0.5)
            mc.param("epochs", 3)
            mc.artifact("model", Ridge(alpha=0.5).fit([[0.0], [1.0]], [0.0, 1.0]))
        ids.append(run.id)
    with mc.run("bare", project="same") as bare:
        pass
    out = CliRunner().invoke(cli, ["diff", *ids]).output
    assert "params: the same, alpha=0.5, epochs=3" in out
    assert "metrics (last value): none recorded by either run" in out
    assert "0 differ" not in out and "┏" not in out
    out = CliRunner().invoke(cli, ["diff", f"{ids[0]}:model", f"{ids[1]}:model"]).output
    assert "hyper-parameters: the same" in out and "0 differ" not in out
    out = CliRunner().invoke(cli, ["diff", ids[0], bare.id]).output
    assert "params: 2 differ" in out and "┏" in out  # a table when they differ


def test_find_keeps_the_columns_its_conditions_were_on(sqlite_store, monkeypatch):
    # A newcomer's finding: `find --metric 'test_acc>0.98'` left out metric.test_acc at 160 columns.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "80")
    for k in range(2):
        with mc.run("wide", project="wide"):
            for name in ("alpha", "beta", "gamma", "delta"):
                mc.param(f"{name}_param_with_a_long_name", k)
            for name in ("cv_best", "test_acc", "test_f1", "train_loss"):
                mc.log(f"{name}_metric", 0.5 + k / 10)
    out = CliRunner().invoke(cli, ["find", "--metric", "test_acc_metric>0.55", "--param",
                                   "gamma_param_with_a_long_name=1"]).output
    header = "".join(out.splitlines()[1:8])
    left_out = next((line for line in out.splitlines() if line.startswith("left out")), "")
    assert "test_acc" in header and "gamma" in header, out
    assert "test_acc" not in left_out and "gamma" not in left_out, out


def test_tried_on_data_no_run_read_names_the_runs_that_made_it(sqlite_store, monkeypatch):
    # A newcomer asked `tried wine-clean kept` (the cleaning run's own metric) and got "no run read".
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "200")
    with mc.run("clean", project="t") as run:
        raw = mc.dataset(pd.DataFrame({"a": np.arange(10.0)}), "raw").frame()
        mc.dataset(raw[raw.a > 2], "clean")
        mc.log("kept", 7)
    out = CliRunner().invoke(cli, ["tried", "--dataset", "clean", "--metric", "kept", "-p", "t"]).output
    assert "no run read 'clean'" in out and f"run {run.id[:8]} made it" in out and "lineage clean" in out
    assert strict(CliRunner().invoke(cli, ["tried", "--dataset", "clean", "--metric", "kept", "-p", "t",
                                           "--json"]).output) == []


def test_runs_matching_nothing_say_which_condition_left_them_out(sqlite_store, monkeypatch):
    # A newcomer's `runs --user nobody` said "No runs recorded yet" of a store holding 30 runs.
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    assert "No runs recorded yet" in runner.invoke(cli, ["runs", "--user", "nobody"]).output
    with mc.run("r", project="t"):
        mc.log("x", 1.0)
    out = runner.invoke(cli, ["runs", "--user", "nobody", "--status", "running"]).output
    assert "No run matches status 'running', user 'nobody'" in out and "recorded yet" not in out
