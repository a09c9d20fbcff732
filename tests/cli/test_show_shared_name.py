"""``show NAME`` shows the newest run of that name; when people share a run name it says so, and how to
pick another (two people's runs named ``fit``: ``show fit`` showed bob's, and nothing said alice had one
too — a newcomer's finding, fifteenth session). An id names one run: no note."""

from __future__ import annotations

from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli.main import cli


def test_a_shared_run_name_is_said(sqlite_store, monkeypatch) -> None:
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "200")
    ids = []
    for person in ("alice", "bob"):
        monkeypatch.setenv("LOGNAME", person)
        monkeypatch.setenv("USER", person)
        with mc.run("fit", project="team") as run:
            mc.log("r2", 0.5)
        ids.append(run.id)
    out = CliRunner().invoke(cli, ["show", "fit", "-p", "team"])
    assert out.exit_code == 0, out.output
    assert ids[1] in out.output
    assert "2 runs are named 'fit' in team by alice, bob: this is the newest" in " ".join(out.output.split())
    by_id = CliRunner().invoke(cli, ["show", ids[0][:8]])
    assert by_id.exit_code == 0 and "runs are named" not in by_id.output
    with mc.run("solo", project="team"):
        pass
    assert "runs are named" not in CliRunner().invoke(cli, ["show", "solo"]).output
