"""Rendering helpers shared by commands: rich tables and JSON output."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

__all__ = ["console", "frame_table", "fmt", "print_json"]

console = Console()


def fmt(value: Any) -> str:
    """A short human rendering of a cell value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-" if value is None or value is pd.NA else "nan"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def frame_table(frame: pd.DataFrame, title: str | None = None) -> Table:
    table = Table(title=title, header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(fmt(v) for v in row))
    return table


def print_json(data: Any) -> None:
    click_echo = console.print_json if console.is_terminal else None
    text = json.dumps(data, default=_default, allow_nan=True, indent=2)
    if click_echo is not None:
        click_echo(text)
    else:
        print(text)


def _default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
