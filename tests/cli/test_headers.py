"""A folding column is never narrower than its header's words (up to 16 characters): ``testuse`` at 80
columns printed ``over_budge`` over ``t`` (a newcomer's finding, twelfth session). Peers' failures of the
kind: tgrosinger/advanced-tables-obsidian#194 and yavin-dev/framework#10 (a single-word header broken
across lines although the table could have been wider)."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from mlcontext.cli.render import HEADER_WHOLE_MAX, frame_table


def _text(frame: pd.DataFrame, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(frame_table(frame, width=width))
    return console.export_text()


def test_a_short_header_is_never_folded():
    frame = pd.DataFrame({"dataset": ["bc-test"], "version": [1], "project": ["bc"], "evaluations": [4],
                          "first": ["2026-12-02 01:03:44"], "over_budget": [False], "people": [1]})
    text = _text(frame, 80)
    assert "over_budget" in text
    assert "over_budge " not in text and "over_budge┃" not in text


def test_a_header_longer_than_the_limit_folds_to_let_other_columns_in():
    name = "y" * (HEADER_WHOLE_MAX + 8)
    frame = pd.DataFrame({"id": ["a1b2c3d4"], name: [1.5], "other": ["b" * 12]})
    text = _text(frame, 45)
    assert name not in text  # folded over two lines
    assert "other" in text and "a1b2c3d4" in text
    assert max(len(line) for line in text.splitlines()) <= 45
