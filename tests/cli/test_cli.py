"""The command line over a real store: runs, show, diff, and the documentation of every command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mlcontext.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help_and_is_documented(name, command):
    assert command.help and len(command.help) > 20
    docs = (ROOT / "docs" / "cli.md").read_text()
    assert f"mlcontext {name}" in docs, f"`mlcontext {name}` is missing from docs/cli.md"


def _git(repo: Path, *args: str) -> None:
    env = os.environ | {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, str, str]:
    """A git repository with a training script, run twice: committed, then with an edit."""
    tmp_path = tmp_path_factory.mktemp("cli")
    repo = tmp_path / "proj"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text(textwrap.dedent("""
        import mlcontext as mc
        with mc.run("ridge", project="cli") as run:
            lr = mc.param("lr", 0.01)
            for epoch in mc.loop("epoch", range(3)):
                mc.log("loss", lr * (3 - epoch))
            print(run.id)
    """))
    _git(repo, "init", "-q")
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-qm", "first")
    env = os.environ | {"MLCONTEXT_HOME": str(tmp_path / "home")}
    run = [sys.executable, "train.py"]
    first = subprocess.run(run, cwd=repo, env=env, capture_output=True, text=True, check=True).stdout.strip()
    script.write_text(script.read_text().replace("3 - epoch", "4 - epoch"))
    second = subprocess.run([*run, "--param", "lr=0.5"], cwd=repo, env=env, capture_output=True, text=True,
                            check=True).stdout.strip()
    return repo, first, second


@pytest.fixture
def runner(project, monkeypatch) -> CliRunner:
    monkeypatch.setenv("MLCONTEXT_HOME", str(project[0].parent / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_runs_lists_both_runs(project, runner):
    _, first, second = project
    result = runner.invoke(cli, ["runs", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["param.lr"] == 0.5 and rows[0]["git_dirty"] is True and rows[1]["git_dirty"] is False
    table = runner.invoke(cli, ["runs", "--project", "cli"])
    assert second[:8] in table.output and "finished" in table.output


def test_a_limit_that_leaves_runs_out_says_so(project, runner):
    # A newcomer read "20 run(s)" as all their runs: there were 21. The peer's kind: mlflow/mlflow#15814
    # (MlflowClient.search_runs silently capped at 1000 runs, misleading users into thinking they had all).
    _, first, second = project
    cut = runner.invoke(cli, ["runs", "--limit", "1"])
    assert "the 1 newest runs (older ones left out: --limit 2 for more)" in cut.output, cut.output
    assert second[:8] in cut.output and first[:8] not in cut.output
    whole = runner.invoke(cli, ["runs", "--limit", "2"])
    assert "2 run(s)" in whole.output and "left out: --limit" not in whole.output
    assert len(json.loads(runner.invoke(cli, ["runs", "--limit", "1", "--json"]).output)) == 1
    found = runner.invoke(cli, ["find", "--param", "lr>0", "--limit", "1"])
    assert "the 1 newest runs (older ones left out" in found.output, found.output
    assert len(json.loads(runner.invoke(cli, ["find", "--limit", "1", "--json"]).output)) == 1


def test_show_prints_the_run(project, runner):
    _, first, _ = project
    result = runner.invoke(cli, ["show", first[:6]])
    assert result.exit_code == 0, result.output
    assert first in result.output and "lr" in result.output and "loss" in result.output


def test_diff_shows_params_metrics_and_the_code_change(project, runner):
    _, first, second = project
    result = runner.invoke(cli, ["diff", first, second, "--json"])
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    assert diff["params"] == {"lr": [0.01, 0.5]}
    assert diff["metrics"]["loss"] == [0.01, 1.0]
    assert "-        mc.log(\"loss\", lr * (3 - epoch))" in diff["code"]
    assert "+        mc.log(\"loss\", lr * (4 - epoch))" in diff["code"]
    assert ".git" not in diff["code"]
    assert diff["environment"]["fields"]["argv"][1][-1] == "lr=0.5"


def test_unknown_run_is_one_clear_line(project, runner):
    result = subprocess.run([sys.executable, "-m", "mlcontext", "show", "nope"], capture_output=True,
                            text=True, env=os.environ.copy())
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: no run with an id starting with 'nope' or named 'nope'"
