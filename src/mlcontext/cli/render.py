"""Rendering helpers shared by commands: rich tables and strict JSON output.

JSON output is RFC 8259 JSON, which has no NaN or Infinity: non-finite numbers are written as
``null`` (as JavaScript's ``JSON.stringify`` does), timestamps as ISO 8601 text, NumPy scalars as
numbers. A value that still cannot be encoded is an error here, never bare ``NaN`` in the output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

__all__ = ["console", "frame_table", "fmt", "fmt_duration", "json_safe", "json_text", "print_json"]

console = Console()

#: Columns whose cells are identifiers or states: never wrapped (a wrapped id cannot be copied, a
#: wrapped status cannot be grepped). Other columns fold when the terminal is narrow.
KEY_COLUMNS = {"id", "run_id", "status", "content_hash", "git_commit", "hash"}
#: Columns holding durations in seconds.
DURATION_COLUMNS = {"duration", "duration_s"}


def fmt(value: Any) -> str:
    """A short human rendering of a cell value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "-"
    if isinstance(value, float | np.floating) and math.isnan(value):
        return "nan"
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def fmt_duration(seconds: Any) -> str:
    """Seconds as people read them: ``0.042 s``, ``12.5 s``, ``3 min 05 s``, ``2 h 07 min``."""
    if seconds is None or seconds is pd.NA or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def frame_table(frame: pd.DataFrame, title: str | None = None,
                formats: Mapping[str, Any] | None = None) -> Table:
    """A rich table of ``frame``: key columns (ids, statuses, dates) never wrap, durations have units.

    ``formats`` maps a column name to a function rendering its cells (default :func:`fmt`).
    """
    formats = dict(formats or {})
    for column in frame.columns:
        if str(column) in DURATION_COLUMNS:
            formats.setdefault(str(column), fmt_duration)
    cells = [[formats.get(str(c), fmt)(v) for v in frame[c].tolist()] for c in frame.columns]
    table = Table(title=title, header_style="bold")
    for column, rendered in zip(frame.columns, cells, strict=True):
        header = _header(str(column))
        longest_line = max(len(line) for line in header.split("\n"))
        if str(column) in KEY_COLUMNS or str(column) in DURATION_COLUMNS:
            width = max([longest_line, *(len(text) for text in rendered)])
            table.add_column(header, no_wrap=True, min_width=width)
        else:
            table.add_column(header, overflow="fold")
    for row in zip(*cells, strict=True):
        table.add_row(*row)
    return table


def _header(name: str) -> str:
    """``param.learning_rate`` as two lines, ``param.`` over ``learning_rate``: the prefix tells a
    param from a metric of the same name, and a narrow column folds between the two, not inside."""
    for prefix in ("param.", "metric."):
        if name.startswith(prefix) and len(name) > len(prefix):
            return f"{prefix}\n{name[len(prefix):]}"
    return name


def json_safe(value: Any) -> Any:
    """``value`` made of JSON's types only: non-finite floats -> None, NumPy scalars -> numbers, ..."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return value.total_seconds()
    return str(value)


def json_text(data: Any) -> str:
    """Strict JSON text of ``data`` (see the module docstring)."""
    return json.dumps(json_safe(data), allow_nan=False, indent=2)


def print_json(data: Any) -> None:
    text = json_text(data)
    if console.is_terminal:
        console.print_json(text)
    else:
        print(text)
