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
import shutil
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..insight.text import fmt

__all__ = ["console", "follow_terminal", "frame_table", "fmt", "fmt_duration", "json_safe", "json_text",
           "print_json"]

class _Console(Console):
    def on_broken_pipe(self) -> None:
        # Rich's own handling exits with status 1, as an error would: let the command line stop as
        # for every other output (status 141, as a tool killed by SIGPIPE; cli.main).
        self.quiet = True
        raise BrokenPipeError


console = _Console()


def follow_terminal() -> None:
    """Size the console for the command about to run: ``COLUMNS`` if set, else the terminal's width
    (80 when the output is not a terminal). Rich reads them once, when the console is made; a process
    that runs several commands (a test, a notebook calling the CLI) must not keep the first width."""
    console.width = shutil.get_terminal_size((80, 24)).columns

#: Columns whose cells are identifiers or states: never wrapped (a wrapped id cannot be copied, a
#: wrapped status cannot be grepped). Other columns fold when the terminal is narrow.
KEY_COLUMNS = {"id", "run_id", "status", "content_hash", "git_commit", "hash"}
#: Columns holding durations in seconds.
DURATION_COLUMNS = {"duration", "duration_s"}
#: Names and dates: kept whole as well (so are columns of a datetime dtype).
NAME_COLUMNS = {"name", "run_name", "project", "user", "host", "start", "created", "time", "dataset",
                "version", "kind", "role", "label", "ref"}
#: Whole columns that stay when the terminal is too narrow for every column; the others whole
#: columns are left out (right to left) after every folding column is.
ESSENTIAL_COLUMNS = {"id", "run_id", "name", "run_name", "status", "start", "created", "time", "version",
                     "dataset", "ref", "label"}
#: The longest a cell of a folding column is shown (longer values end in "…"; --json has them).
CELL_MAX = 200
#: The narrowest a folding column gets before it is left out instead (a param's value in 2-character
#: fragments reads as nothing).
MIN_FOLD_WIDTH = 10
HEADER_WHOLE_MAX = 16  # headers up to this wide are never folded (longer ones fold at MIN_FOLD_WIDTH)


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
                formats: Mapping[str, Any] | None = None, width: int | None = None,
                keep: Iterable[str] = ()) -> Table:
    """A rich table of ``frame`` that fits ``width`` (default: the console's) without breaking a name.

    Ids, statuses, names, dates and durations are never wrapped (``no_wrap``, as wide as their longest
    cell); other columns fold, never narrower than :data:`MIN_FOLD_WIDTH`. When the terminal is too
    narrow for that, columns are left out: folding ones first, then whole ones that are not
    :data:`ESSENTIAL_COLUMNS`, right to left; the caption names them (``--json`` shows everything).
    ``keep`` names the columns that answer the question (``testuse``'s evaluations, ``tried``'s score
    and params): they are left out last of all. ``formats`` maps a column name to a function
    rendering its cells (default :func:`fmt`).
    """
    formats = dict(formats or {})
    for column in frame.columns:
        if str(column) in DURATION_COLUMNS:
            formats.setdefault(str(column), fmt_duration)
    names = [str(c) for c in frame.columns]
    cells = {n: [formats.get(n, fmt)(v) for v in frame[c].tolist()]
             for n, c in zip(names, frame.columns, strict=True)}
    whole = {n for n, c in zip(names, frame.columns, strict=True) if _is_whole(n, frame[c])}
    # A long value (a 5,000-character param) folded into one column made every row hundreds of lines
    # (a newcomer's `runs`): cut it here; --json has it whole.
    cut = False
    for n in names:
        if n not in whole and any(len(v) > CELL_MAX for v in cells[n]):
            cells[n] = [v if len(v) <= CELL_MAX else v[:CELL_MAX - 1] + "…" for v in cells[n]]
            cut = True
    needed = {n: _natural_width(n, cells[n]) for n in names}
    # a folding column is never narrower than its header's words up to HEADER_WHOLE_MAX characters
    # (`over_budget` folded as `over_budge` over `t`)
    needed = {n: w if n in whole else min(w, max(MIN_FOLD_WIDTH, _header_word(n))) for n, w in needed.items()}
    # A number is never folded (-0.00076975 over 8 reads as two values); its header may be.
    for n, c in zip(names, frame.columns, strict=True):
        if n not in whole and pd.api.types.is_numeric_dtype(frame[c]):
            needed[n] = max(needed[n], max((len(v) for v in cells[n]), default=0))
    width = console.width if width is None else width
    kept = {str(k) for k in keep}
    shown = _fitting(names, whole, needed, width, boxed=True, keep=kept)
    boxed = _total(shown, needed, boxed=True) <= width
    if not boxed:  # a narrow terminal: no borders, one space between columns
        shown = _fitting(names, whole, needed, width, boxed=False, keep=kept)
    left_out = [n for n in names if n not in shown]
    notes = ([f"left out at this width: {', '.join(left_out)} (widen the terminal, or use --json)"]
             if left_out else [])
    notes += [f"values longer than {CELL_MAX} characters cut (…): --json has them whole"] if cut else []
    caption = "; ".join(notes) or None
    widths = _spread(shown, whole, needed, {n: _natural_width(n, cells[n]) for n in shown},
                     width - _total(shown, needed, boxed=boxed))
    table = (Table(title=title, header_style="bold", caption=caption) if boxed else
             Table(title=title, header_style="bold underline", caption=caption, box=None,
                   show_edge=False, pad_edge=False, padding=(0, 1)))
    # Cells and headers are values, never markup: rich would take `coef [epoch=0]` or a param
    # value `[red]` for a style and print nothing of it.
    # Every column at the width computed here: rich sizes a folding column by its longest word (a
    # score such as -0.000769758), and the widths it chose overran the terminal, whose right edge
    # was then cut off with no caption (a newcomer's `tried` at 150 columns).
    for name in shown:
        if name in whole:
            table.add_column(escape(_header(name)), no_wrap=True, width=widths[name])
        else:
            table.add_column(escape(_header(name)), overflow="fold", width=widths[name])
    for row in zip(*(cells[n] for n in shown), strict=True):
        table.add_row(*map(escape, row))
    return table


def _is_whole(name: str, column: pd.Series) -> bool:
    return (name in KEY_COLUMNS or name in DURATION_COLUMNS or name in NAME_COLUMNS
            or pd.api.types.is_datetime64_any_dtype(column))


def _spread(shown: list[str], whole: set[str], needed: dict[str, int], natural: dict[str, int],
            spare: int) -> dict[str, int]:
    """The width of each shown column: what it needs, and the room left over (``spare``) given to the
    folding columns left to right, each up to its natural width."""
    widths = {n: needed[n] for n in shown}
    for name in shown:
        if spare <= 0:
            break
        if name not in whole:
            grow = min(natural[name] - widths[name], spare)
            if grow > 0:
                widths[name] += grow
                spare -= grow
    return widths


def _header_width(name: str) -> int:
    """The width of a header's longest line."""
    return max(len(line) for line in _header(name).split("\n"))


def _header_word(name: str) -> int:
    """The width a header needs unbroken: its longest line, when at most HEADER_WHOLE_MAX wide."""
    longest = _header_width(name)
    return longest if longest <= HEADER_WHOLE_MAX else 0


def _natural_width(name: str, cells: list[str]) -> int:
    return max([_header_width(name), *(len(line) for text in cells for line in text.split("\n"))])


def _total(shown: list[str], needed: dict[str, int], *, boxed: bool) -> int:
    """The table's width: boxed, a column costs its width plus 3 (padding and its border), plus the
    last border; unboxed, plus 2 (padding) less the outer padding."""
    return sum(needed[n] + 3 for n in shown) + 1 if boxed else sum(needed[n] + 2 for n in shown) - 2


def _fitting(names: list[str], whole: set[str], needed: dict[str, int], width: int, *,
             boxed: bool, keep: Collection[str] = ()) -> list[str]:
    """The columns that fit ``width``, leaving out folding columns first, then inessential whole ones,
    then essential ones, and the answer columns (``keep``) last."""
    shown = list(names)
    others = [n for n in names if n not in keep]
    # Last resort, essential columns right to left, but never the first two (an id and a name).
    droppable = [n for n in reversed(others) if n not in whole] + \
        [n for n in reversed(others) if n in whole and n not in ESSENTIAL_COLUMNS] + \
        [n for n in reversed(others) if n in whole and n in ESSENTIAL_COLUMNS and n not in names[:2]] + \
        [n for n in reversed(names[2:]) if n in keep]
    dropped = []
    for name in droppable:
        if _total(shown, needed, boxed=boxed) <= width:
            break
        shown.remove(name)
        dropped.append(name)
    # Dropping an essential column can free more room than was missing: a column dropped before it
    # may fit again (a 60-column `tried` left out `user` and then `start`, with room for `user`).
    for name in reversed(dropped):
        tried = [n for n in names if n in shown or n == name]
        if _total(tried, needed, boxed=boxed) <= width:
            shown = tried
    return shown


def _header(name: str) -> str:
    """``param.learning_rate`` as two lines, ``param.`` over ``learning_rate``: the prefix tells a
    param from a metric of the same name, and a narrow column folds between the two, not inside."""
    for prefix in ("param.", "metric."):
        if name.startswith(prefix) and len(name) > len(prefix):
            return f"{prefix}\n{name[len(prefix):]}"
    return name


def json_safe(value: Any, *, times: bool = True) -> Any:
    """``value`` made of JSON's types only: non-finite floats -> None, NumPy scalars -> numbers, the
    store's times (:data:`STORE_TIMES`) -> ISO text, ...; ``times=False`` inside what users named
    (a run's params and metrics), whose values stay as they were logged."""
    if isinstance(value, Mapping):
        return {str(k): _timestamp(v) if times and _is_time_field(k, v)
                else json_safe(v, times=times and k not in USER_MAPPINGS) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, times=times) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v, times=times) for v in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_safe(dataclasses.asdict(value), times=times)
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


# The store keeps times as UNIX seconds in these fields: every command shows them as the ISO text the
# contract promises. Only these names: a param or metric that a user named ``crash_at`` is a number
# (a newcomer's ``crash_at=2`` read "1970-01-01T00:00:02" in ``show --json`` and ``runs --json``).
STORE_TIMES = frozenset({"started_at", "ended_at", "heartbeat_at", "created_at", "registered_at",
                         "last_hit_at"})
# Keys whose mapping holds what users named (a run's params and metrics, a model's parameters).
USER_MAPPINGS = frozenset({"params", "metrics", "model_params", "config", "environment"})


def _is_time_field(key: Any, value: Any) -> bool:
    return key in STORE_TIMES and isinstance(value, int | float | np.number) \
        and not isinstance(value, bool | np.bool_)


def _timestamp(seconds: Any) -> str | None:
    seconds = float(seconds)
    if not math.isfinite(seconds):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def json_text(data: Any) -> str:
    """Strict JSON text of ``data`` (see the module docstring)."""
    return json.dumps(json_safe(data), allow_nan=False, indent=2)


def print_json(data: Any) -> None:
    text = json_text(data)
    if console.is_terminal:
        console.print_json(text)
    else:
        print(text)
