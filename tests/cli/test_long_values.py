"""A long value in a table is cut, and the table says so (a newcomer's 5,000-character param made
`runs` print 455 lines per run); `--json` keeps it whole."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from mlcontext.cli.render import CELL_MAX, frame_table


def _text(table, width=100) -> str:
    out = io.StringIO()
    Console(file=out, width=width).print(table)
    return out.getvalue()


def test_a_long_value_is_cut_with_a_note():
    frame = pd.DataFrame({"id": ["a1b2c3d4"], "param.note": ["v" * 5000], "metric.x": [1.0]})
    text = _text(frame_table(frame))
    assert text.count("v") <= CELL_MAX + 20
    assert "…" in text and "--json has them whole" in text
    assert len(text.splitlines()) < 40


def test_short_values_are_not_touched():
    frame = pd.DataFrame({"id": ["a1b2c3d4"], "param.note": ["v" * 50]})
    text = _text(frame_table(frame))
    assert "v" * 50 in text and "cut" not in text
