"""A table never runs past the terminal: rich sized folding columns by their longest word (a score such
as -0.000769758), and the widths it chose overran the terminal, whose right edge was cut off with no
"left out" caption (a newcomer's ``tried`` at 120 and 150 columns, fifteenth session). Numbers are never
folded, and a column left out early is shown again when dropping a wider one made room for it."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.console import Console

from mlcontext.cli.render import frame_table


def _tried_like() -> pd.DataFrame:
    return pd.DataFrame({
        "run_id": ["5f3cfecc", "f6995102", "054b965c"], "run_name": ["fit"] * 3,
        "r2": [-0.000769758, -0.000769759, -0.00076976], "param.alpha": [0.5, 1.0, 2.0],
        "user": ["alice", "bob", "bob"], "start": ["2026-12-02 11:22:07"] * 3,
        "version": ["trips-clean@1"] * 3, "model": ["sklearn.linear_model._ridge.Ridge"] * 3,
        "model_params": [{"alpha": 0.5}, {"alpha": 1.0}, {"alpha": 2.0}],
        "model_from": ["saved"] * 3, "model_artifact": ["model"] * 3})


def _lines(frame: pd.DataFrame, width: int, keep=()) -> list[str]:
    console = Console(width=500, record=True, color_system=None, file=io.StringIO())  # (nothing cropped)
    console.print(frame_table(frame, width=width, keep=keep))
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", range(40, 201, 5))
def test_every_line_fits_and_what_is_missing_is_named(width) -> None:
    frame = _tried_like()
    lines = _lines(frame, width, keep=["r2", "param.alpha"])
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    caption = " ".join(line.strip() for line in lines if not line.lstrip().startswith(
        ("┃", "│", "┏", "┡", "└")) and "tried" not in line)
    header = " ".join(line for line in lines[:8] if line.lstrip().startswith("┃") or "alpha" in line)
    for column in frame.columns:
        shown = column.removeprefix("param.") in header
        assert shown or column in caption, (width, column)
    for score in ("-0.000769758", "-0.000769759"):
        assert score in text  # never folded over two lines


def test_a_column_dropped_early_comes_back_when_there_is_room() -> None:
    lines = _lines(_tried_like(), 60, keep=["r2", "param.alpha"])
    assert "user" in " ".join(lines[:5])
