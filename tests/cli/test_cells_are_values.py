"""Table cells are values, never markup; an artifact saved at each epoch says which epoch.

The second newcomer of the eleventh session saw four identical ``coef_partial`` rows in ``show``: the
loop index written as ``[epoch=0]`` was taken by rich for a style and printed as nothing; a param
value ``[red]`` vanished the same way. A run name typo and an ambiguous id prefix now say what to pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.errors import NotFoundError, RunError


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_loop_artifacts_and_bracketed_values_are_shown(store, monkeypatch):
    with mc.run("fit", project="cells") as run:
        mc.param("style", "[red]")
        for epoch in mc.loop("epoch", range(2)):
            mc.artifact("coef", np.arange(3.0) * epoch)
    monkeypatch.setenv("COLUMNS", "200")
    shown = _cli("show", run.id)
    assert "coef [epoch=0]" in shown and "coef [epoch=1]" in shown, shown
    assert "[red]" in _cli("runs", "-p", "cells")


def test_a_value_that_reads_as_a_closing_tag_is_printed(store, monkeypatch):
    # Peer kind: MarkyMan4/filequery#51 (and Textualize/rich#2676): a cell holding text in square
    # brackets raised rich's MarkupError ("closing tag ... doesn't match any open tag") or vanished.
    with mc.run("fit", project="tags"):
        mc.param("path", "[/model/2013/v2.jpg]")
    monkeypatch.setenv("COLUMNS", "200")
    assert "[/model/2013/v2.jpg]" in _cli("runs", "-p", "tags")


def test_a_run_name_typo_is_suggested_and_an_ambiguous_prefix_lists_the_runs(store):
    for _ in range(2):
        with mc.run("ridge-1.0", project="cells"):
            pass
    with pytest.raises(NotFoundError, match=r"named 'ridg-1.0': did you mean 'ridge-1.0'\?"):
        mc.get_run("ridg-1.0")
    ids = [r for r in mc.runs(project="cells")["id"]]
    with pytest.raises(RunError, match=r"run id prefix '' is ambiguous \([0-9a-f]{8}, [0-9a-f]{8}\)"):
        mc.get_store().metadata.get_run("")
    assert len(ids) == 2
