"""Semantic diff of two dataset versions, two models or two runs, never of their bytes."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from ..errors import AmbiguousReferenceError, NotFoundError, ReferenceTypeError
from ..store import ArtifactRef, Store
from ..store import schema as t
from ..store.context import ContextStore
from ..tracking.dataset_refs import version_of_run_artifact
from ..tracking.datasets import DatasetVersion, dataset_version
from ..tracking.derivation import plain_value
from ..tracking.queries import load_artifact
from ..tracking.refs import is_dataset_version, is_hash, is_run
from ..tracking.run_refs import run_artifact, run_in
from ..tracking.stores import get_store
from .drift import (
    DriftReport,
    _date_format,
    _is_text,
    _json_label,
    _match,
    _namer,
    _parse_dates,
    _read_text,
    _text_to_numbers,
    drift,
)
from .refs import describe_hashes, resolve_artifact
from .rundiff import (
    ABSENT,
    RunDiff,
    absent_names,
    changed,
    diff_runs,
    pairs_json,
    pairs_text,
    same_code,
)

__all__ = ["ABSENT", "ContentChanges", "DatasetDiff", "ModelDiff", "content_changes", "diff", "diff_datasets",
           "diff_models"]

_EXAMPLES = 3  # category levels named per column; the rest are counted


@dataclass(frozen=True)
class DatasetDiff:
    """Two versions of data compared by schema, size and per-column distributions.

    Attributes
    ----------
    a, b : str
        The two versions compared (``trips@1``).
    rows : tuple of int
        Their row counts.
    drift : DriftReport
        Schema changes and per-column distribution tests (``b`` against ``a``).
    content : ContentChanges or None
        What changed in the rows themselves, which distributions cannot see: rows added, removed and
        unchanged by content, the same rows reordered, the index, duplicates, new and vanished values,
        rename candidates (``docs/drift.md``).

    Examples
    --------
    >>> import pandas as pd
    >>> _ = mc.dataset(pd.DataFrame({"x": [1.0, 2.0]}), "trips", project="doc")
    >>> _ = mc.dataset(pd.DataFrame({"x": [1.0, 2.0, 4.0]}), "trips", project="doc")
    >>> mc.diff("trips@1", "trips@2", project="doc").rows
    (2, 3)
    """

    a: str
    b: str
    rows: tuple[int, int]
    drift: DriftReport
    #: What changed that distributions cannot see: rows by content, order, index, duplicates, category
    #: levels, rename candidates (``None`` when the frames were not at hand).
    content: ContentChanges | None = None

    @property
    def summary(self) -> str:
        change = self.rows[1] - self.rows[0]
        rows = f"rows {self.rows[0]} -> {self.rows[1]} ({change:+d})"
        headline = self.content.headline() if self.content is not None else ""
        return f"{self.a} -> {self.b}: {rows}; " + (f"{headline}; " if headline else "") + self.drift.verdict

    def __str__(self) -> str:
        """The comparison as plain text, as ``mlcontext diff A@1 A@2`` says it: the rows and the
        verdict, then the schema changes and each column's decision, what changed in the rows
        themselves, and the rule."""
        *decisions, rule = self.drift.explain()[1:]
        content = self.content.lines() if self.content is not None else []
        return "\n".join([self.summary, *(f"  {line}" for line in [*decisions, *content, rule])])

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "rows": list(self.rows), "summary": self.summary,
                "drift": self.drift.to_dict(),
                "content": self.content.to_dict() if self.content is not None else None}


@dataclass(frozen=True)
class ContentChanges:
    """What changed between two tables that per-column distributions cannot see, compared by meaning
    (numbers as numbers, whatever their dtype; text as text), never by bytes.

    Rows are matched by their content over the columns both tables have (``columns``), as a multiset:
    a row of ``b`` equal to a row of ``a`` is unchanged, whatever its position or index label.

    Attributes
    ----------
    columns : tuple
        The reference's labels of the shared columns the rows were compared over.
    unchanged, removed, added : int
        Rows of ``a`` also in ``b``; rows of ``a`` not in ``b``; rows of ``b`` not in ``a``.
    reordered : bool
        The same rows (over the shared columns) in another order.
    duplicates : tuple of int
        Per side, rows that repeat an earlier row exactly (over all of that side's columns).
    index_names : tuple of list
        Per side, the names of the index levels.
    index : str
        How the index labels changed, in words ("" when the same, or both a default 0..n-1).
    levels : dict
        Text and categorical columns whose values changed: label -> ``{"new": n, "vanished": n,
        "new_examples": [...], "vanished_examples": [...]}``.
    renamed : tuple of pairs
        ``(removed label, added label)`` of rename candidates: columns with identical values row by row
        when the rows did not change, else (or when the row-by-row rule found nothing for them) columns
        sharing at least 90 % of the smaller one's non-null values (and with at least 10 distinct ones).
    renamed_share : tuple of float
        Per rename candidate, the share of the smaller column's non-null values the other holds (1.0
        for identical columns).
    renamed_row_by_row : tuple of bool
        Per rename candidate, whether its values are identical row by row.
    rows_compared : bool
        Whether rows were compared by content at all: not when the tables share no column (every row
        would hash the same, and unrelated rows counted as unchanged).
    edited : int
        Of the rows removed and added, those edited in place: the same index label on both sides
        (labels unique on each), with at most half of the shared columns changed. Only said, never
        subtracted: an edited row is still one removed and one added by content.
    edited_cells : dict
        Per shared column, the cells changed in the edited rows (columns with none left out).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2, 3]})
    >>> content_changes(a, a.iloc[::-1]).lines()
    ['the same rows in a new order', 'index: the same labels in a new order']
    """

    columns: tuple[Any, ...] = ()
    unchanged: int = 0
    removed: int = 0
    added: int = 0
    reordered: bool = False
    duplicates: tuple[int, int] = (0, 0)
    index_names: tuple[list[Any], list[Any]] = ([None], [None])
    index: str = ""
    levels: dict[Any, dict[str, Any]] = field(default_factory=dict)
    renamed: tuple[tuple[Any, Any], ...] = ()
    renamed_share: tuple[float, ...] = ()
    renamed_row_by_row: tuple[bool, ...] = ()
    rows_compared: bool = True
    edited: int = 0
    edited_cells: dict[Any, int] = field(default_factory=dict)

    @property
    def index_changed(self) -> bool:
        return bool(self.index) or self.index_names[0] != self.index_names[1]

    def headline(self) -> str:
        """The row-level change in a few words ("" when the shared columns hold the same rows in the same
        order under the same index)."""
        parts = []
        if not self.rows_compared:
            parts.append(_NOT_COMPARED)
        elif self.removed or self.added:
            parts.append(f"rows by content: {self.unchanged} unchanged, {self.removed} removed, "
                         f"{self.added} added")
            if self.edited:
                named = [str(c) for c in self.edited_cells]
                more = f", +{len(named) - 3} more" if len(named) > 3 else ""
                parts.append(f"{self.edited} edited in place ({', '.join(named[:3])}{more})")
        elif self.reordered:
            parts.append("the same rows in a new order")
        if self.index_changed:
            parts.append("index changed")
        return ", ".join(parts)

    def lines(self) -> list[str]:
        """Each change in words, one a line."""
        show = _namer([*self.columns, *self.levels, *(c for pair in self.renamed for c in pair)])
        lines = []
        if not self.rows_compared:
            lines.append(_NOT_COMPARED)
        elif self.removed or self.added:
            lines.append(f"rows by content over {len(self.columns)} shared column"
                         f"{'s' * (len(self.columns) != 1)}: {self.unchanged} unchanged, {self.removed} "
                         f"removed, {self.added} added")
            if self.edited:
                cells = ", ".join(f"{show(label)} {n}" for label, n in self.edited_cells.items())
                lines.append(f"of which {self.edited} row{'s' * (self.edited != 1)} edited in place (same "
                             f"index label, at most half the columns changed): cells changed: {cells}")
        elif self.reordered:
            lines.append("the same rows in a new order")
        if self.duplicates[0] != self.duplicates[1]:
            lines.append(f"duplicate rows {self.duplicates[0]} -> {self.duplicates[1]}")
        if self.index_names[0] != self.index_names[1]:
            lines.append(f"index names {self.index_names[0]} -> {self.index_names[1]}")
        if self.index:
            lines.append(f"index: {self.index}")
        for label, change in self.levels.items():
            said = [f"{change[k]} {k} ({_listed(change[f'{k}_examples'], change[k])})"
                    for k in ("new", "vanished") if change[k]]
            lines.append(f"values of {show(label)}: {', '.join(said)}")
        found = zip(self.renamed, self.renamed_share, self.renamed_row_by_row, strict=True)
        lines += [f"rename candidate: {show(a)} -> {show(b)} ({_shared(share, in_order)})"
                  for (a, b), share, in_order in found]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: labels as JSON values, level examples as text."""
        return {"columns": [_json_label(c) for c in self.columns], "unchanged": self.unchanged,
                "removed": self.removed, "added": self.added, "reordered": self.reordered,
                "duplicates": list(self.duplicates),
                "index_names": [[None if n is None else str(n) for n in names] for names in self.index_names],
                "index_changed": self.index_changed, "index": self.index,
                "levels": [{"column": _json_label(c), **v} for c, v in self.levels.items()],
                "renamed": [[_json_label(a), _json_label(b)] for a, b in self.renamed],
                "renamed_share": list(self.renamed_share),
                "renamed_row_by_row": list(self.renamed_row_by_row),
                "rows_compared": self.rows_compared, "edited": self.edited,
                "edited_cells": [{"column": _json_label(c), "cells": n}
                                 for c, n in self.edited_cells.items()],
                "lines": self.lines()}


_NOT_COMPARED = "no shared columns: rows not compared"


def _shared(share: float, row_by_row: bool) -> str:
    """How much of a rename candidate's values are the same, in words (never rounded up to 100 %)."""
    if row_by_row:
        return "the same values row by row"
    if share == 1:
        said = "100%"
    else:  # (cut, not rounded: 99.99 % is said 99.9 %, never 100.0 %)
        tenths = math.floor(share * 1000) / 10
        said = f"{tenths:.0f}%" if tenths < 99 and tenths == int(tenths) else f"{tenths:.1f}%"
    return f"{said} of values shared"


def content_changes(a: pd.DataFrame, b: pd.DataFrame) -> ContentChanges:
    """What changed from ``a`` to ``b`` that distributions cannot see: rows added, removed and unchanged
    (by content over the shared columns), the same rows reordered, exact duplicates, the index, new and
    vanished values of text columns, and columns renamed with their values intact.

    Parameters
    ----------
    a, b : pandas DataFrames (columns matched as :func:`~.drift.drift` matches them).

    Returns
    -------
    ContentChanges

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2, 3]})
    >>> c = content_changes(a, pd.DataFrame({"x": [1.0, 2.0, 4.0, 4.0]}))
    >>> c.unchanged, c.removed, c.added, c.duplicates
    (2, 1, 2, (0, 1))
    """
    pairs, added, removed, _ = _match(list(a.columns), list(b.columns))
    sides = [_comparable(a[x], b[y]) for x, y in pairs]
    rows_a = _hash_rows([x for x, _ in sides], len(a))
    rows_b = _hash_rows([y for _, y in sides], len(b))
    keys_a, counts_a = np.unique(rows_a, return_counts=True)
    keys_b, counts_b = np.unique(rows_b, return_counts=True)
    _, in_a, in_b = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    # With no shared column every row hashes alike, and unrelated rows counted as unchanged (a
    # newcomer's "3 unchanged, 2 removed" for a fare column against a city column): not compared.
    compared = bool(pairs) or not (len(a) or len(b))  # (no rows on either side: nothing to compare)
    unchanged = int(np.minimum(counts_a[in_a], counts_b[in_b]).sum()) if compared else 0
    same_rows = compared and unchanged == len(a) == len(b)
    # (the rows' hashes over every column are those just computed when every column is shared)
    duplicates = tuple(len(frame) - keys.size if len(pairs) == frame.shape[1] else _duplicates(frame)
                       for frame, keys in ((a, keys_a), (b, keys_b)))
    aligned = _aligned(rows_a, rows_b) if pairs else None
    renamed = _renamed(a, b, removed, added, in_order=compared and np.array_equal(rows_a, rows_b),
                       aligned=aligned)
    edited, cells = _edits(a.index, b.index, sides, [x for x, _ in pairs], rows_a, rows_b) \
        if compared and unchanged < min(len(a), len(b)) else (0, {})
    return ContentChanges(
        columns=tuple(x for x, _ in pairs), unchanged=unchanged,
        removed=len(a) - unchanged if compared else 0, added=len(b) - unchanged if compared else 0,
        reordered=same_rows and not np.array_equal(rows_a, rows_b),
        duplicates=(int(duplicates[0]), int(duplicates[1])),
        index_names=(list(a.index.names), list(b.index.names)),
        index=_index_change(a, b, removed, added, aligned),
        levels={x: change for x, y in pairs if (change := _levels(a[x], b[y]))},
        renamed=tuple((x, y) for x, y, _, _ in renamed), renamed_share=tuple(s for _, _, s, _ in renamed),
        renamed_row_by_row=tuple(r for _, _, _, r in renamed), rows_compared=compared,
        edited=edited, edited_cells=cells)


def _edits(index_a: pd.Index, index_b: pd.Index, sides: list[tuple[pd.Series, pd.Series]],
           labels: list[Any], rows_a: np.ndarray, rows_b: np.ndarray) -> tuple[int, dict[Any, int]]:
    """Rows edited in place: ``(count, cells changed per column)`` of the rows with one index label on
    both sides, removed from ``a`` and added to ``b`` by content (``rows_a``/``rows_b``: the rows'
    hashes), whose content differs in at least one and at most half of the shared columns. By content
    alone, one column shifted made every row "removed" and "added", and the answer read as a replaced
    table (a newcomer's finding). A row still present by content elsewhere (rows shifted up by a
    deletion and ``reset_index``) is no edit, nor is a row with most of its columns changed (another row
    under a reused label)."""
    if not (index_a.is_unique and index_b.is_unique) or not sides or index_a.nlevels != index_b.nlevels:
        return 0, {}  # (an index that gained or lost a level names other things: no label is shared)
    try:
        common = index_a.intersection(index_b)
        at_a, at_b = index_a.get_indexer(common), index_b.get_indexer(common)
    except (TypeError, ValueError, AssertionError):  # (labels that do not compare across the two sides)
        return 0, {}
    if common.empty:
        return 0, {}
    changed = np.zeros((len(common), len(sides)), dtype=bool)
    for k, (x, y) in enumerate(sides):  # (semantic forms: float64 with NaN for nulls, or text)
        va, vb = x.to_numpy()[at_a], y.to_numpy()[at_b]
        same = va == vb
        if va.dtype.kind == "f" and vb.dtype.kind == "f":
            same |= np.isnan(va) & np.isnan(vb)
        changed[:, k] = ~np.asarray(same, dtype=bool)
    per_row = changed.sum(axis=1)
    near = 2 * per_row <= len(sides)
    if _default_index(index_a) and _default_index(index_b) and near.mean() < POSITIONS_AGREE:
        # Labels 0..n-1 on both sides are positions: they pair a row with its edit only where the rows
        # kept their order. Shuffled, a row sits at its old position by chance (a newcomer's "2 rows
        # edited" of 218 shuffled and edited rows): most positions then hold rows unlike each other.
        return 0, {}
    candidates = np.flatnonzero((per_row > 0) & near)
    # (as multisets: a row of a is removed when a holds more copies of it than b, and only that many of
    # its labels can be edits; likewise for the rows added to b)
    gone, new = _surplus(rows_a, rows_b), _surplus(rows_b, rows_a)
    edited = np.zeros(len(common), dtype=bool)
    for k, ha, hb in zip(candidates.tolist(), rows_a[at_a[candidates]].tolist(),
                         rows_b[at_b[candidates]].tolist(), strict=True):
        if gone.get(ha, 0) > 0 and new.get(hb, 0) > 0:
            gone[ha] -= 1
            new[hb] -= 1
            edited[k] = True
    counts = changed[edited].sum(axis=0)
    return int(edited.sum()), {label: int(n) for label, n in zip(labels, counts, strict=True) if n}


POSITIONS_AGREE = 0.9  # the share of positions holding alike rows (at most half the columns changed)
# for labels 0..n-1 on both sides to pair rows with their edits


def _surplus(rows: np.ndarray, other: np.ndarray) -> dict[Any, int]:
    """How many more copies of each row hash ``rows`` holds than ``other`` (hashes with none left out)."""
    keys, counts = np.unique(rows, return_counts=True)
    theirs, their_counts = np.unique(other, return_counts=True)
    held = np.zeros(len(keys), dtype=np.int64)
    if len(theirs):
        at = np.clip(np.searchsorted(theirs, keys), 0, len(theirs) - 1)
        found = theirs[at] == keys
        held[found] = their_counts[at[found]]
    more = counts - held
    keep = more > 0
    return dict(zip(keys[keep].tolist(), more[keep].tolist(), strict=True))


def _semantic(series: pd.Series) -> pd.Series:
    """``series`` in a form whose hash is its meaning: numbers and booleans as float64 (``1``, ``1.0``
    and ``True`` are one value, as in drift; integers past 2**53 as text, which a float would round),
    timestamps as UTC instants, anything else as text; every null one value."""
    dtype = series.dtype
    if str(dtype) == "object" and pd.api.types.infer_dtype(series, skipna=True) == "boolean":
        # True/False with NaN, as a CSV reader gives a nullable flag back: a flag, not text
        series = series.astype("boolean")
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype) and series.abs().max() >= 2 ** 53:
            return series.astype(str)
        return pd.Series(series.to_numpy(dtype="float64", na_value=np.nan), index=series.index)
    try:  # (in nanoseconds, whatever the resolution: [us] and [ns] of one instant are one value)
        if pd.api.types.is_datetime64_any_dtype(dtype):
            utc = series.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(dtype, "tz", None) else series
            return pd.Series(utc.astype("datetime64[ns]").to_numpy().view("i8"), index=series.index)
        if pd.api.types.is_timedelta64_dtype(dtype):
            return pd.Series(series.astype("timedelta64[ns]").to_numpy().view("i8"), index=series.index)
    except (OverflowError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta):
        pass  # past 2262 in nanoseconds: compared as text below
    text = series.astype(object).astype(str)
    return text.where(series.notna(), "\x00null")  # (None and "None" are two values)


def _comparable(x: pd.Series, y: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Two matched columns in forms that compare by meaning, as drift compares them: text that is all
    dates (ISO, or one format that parses every value: ``01/31/2024 10:00``) against timestamps read as
    timestamps (a CSV month against a Parquet month counted every row as changed, a newcomer found),
    and text that is all numbers against numbers read as numbers (the same fares stored as text counted
    every row as removed and added); each side then by :func:`_semantic`."""
    for text, other in ((x, y), (y, x)):
        if not _is_text(text):
            continue
        read = None
        if pd.api.types.is_datetime64_any_dtype(other.dtype):
            read = _text_dates(text, other)
        elif _is_number(other):
            read = _text_numbers(text)
        if read is not None:
            return (_semantic(read), _semantic(other)) if text is x else (_semantic(other), _semantic(read))
    return _semantic(x), _semantic(y)


def _is_number(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _text_numbers(text: pd.Series) -> pd.Series | None:
    """``text`` as numbers when every value is one (nulls stay null), else ``None``."""
    parsed = _text_to_numbers(text)
    return parsed if parsed.notna().sum() == text.notna().sum() else None


def _text_dates(text: pd.Series, other: pd.Series) -> pd.Series | None:
    """``text`` as timestamps in the time zone of ``other`` (none or its own), when every value is an
    ISO date or all are in the one format :func:`~.drift._date_format` finds; else ``None``."""
    read = _read_text(text)
    if read is not None and read[0] == "datetime":
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    else:
        fmt = _date_format(text)
        parsed = None if fmt is None else _parse_dates(text, fmt)
    if parsed is None:
        return None
    return parsed.dt.tz_convert(None) if getattr(other.dtype, "tz", None) is None else parsed


def _hash_rows(columns: list[pd.Series], rows: int) -> np.ndarray:
    """One hash per row over ``columns`` (already in their :func:`_semantic` form), in that order."""
    if not columns:
        return np.zeros(rows, dtype=np.uint64)
    # (arrays, not Series: a Series would be aligned on its index labels and undo a new row order)
    table = pd.DataFrame({i: c.to_numpy() for i, c in enumerate(columns)}, index=pd.RangeIndex(rows))
    return pd.util.hash_pandas_object(table, index=False).to_numpy()


def _row_hashes(frame: pd.DataFrame, labels: list[Any]) -> np.ndarray:
    """One hash per row of ``frame`` over the columns ``labels``, in that order, by meaning."""
    return _hash_rows([_semantic(frame[label]) for label in labels], len(frame))


def _duplicates(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row exactly, over all the columns."""
    rows = _row_hashes(frame, list(frame.columns))
    return len(rows) - int(np.unique(rows).size) if frame.shape[1] else 0


def _default_index(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _index_change(a: pd.DataFrame, b: pd.DataFrame, removed: list[Any], added: list[Any],
                  aligned: tuple[np.ndarray, np.ndarray] | None = None) -> str:
    """How the index labels changed, in words: a default 0..n-1 on both sides carries no meaning (a
    filtered table keeps its labels, and those are compared)."""
    said = []
    became = [c for c in removed if c in b.index.names and c is not None]
    said += [f"column {c} became the index" for c in became]
    said += [f"the index became column {c}" for c in added if c in a.index.names and c is not None]
    if said or (_default_index(a.index) and _default_index(b.index)) or a.index.equals(b.index):
        return "; ".join(said)  # (labels of a new index against row positions would mean nothing)
    moved = _relabelled(a.index, b.index, aligned)
    if _default_index(b.index) and a.index.nlevels == 1:
        # (as a set difference, a shuffled 0..n-1 reset said "1 label removed, 1 added" of 9 rows that
        # all got another label: a newcomer's finding)
        return "; ".join([*said, "index reset to 0..n-1" + moved])
    if a.index.nlevels != b.index.nlevels:
        return "; ".join([*said, f"{a.index.nlevels} level(s) -> {b.index.nlevels}"])
    new, gone = int((~b.index.isin(a.index)).sum()), int((~a.index.isin(b.index)).sum())
    if not new and not gone and len(a) == len(b):
        said.append("the same labels in a new order" + moved)
    elif new or gone:
        said.append(f"{gone} label{'s' * (gone != 1)} removed, {new} added" + moved)
    return "; ".join(said)


def _relabelled(index_a: pd.Index, index_b: pd.Index, aligned: tuple[np.ndarray, np.ndarray] | None) -> str:
    """``": 9 of 9 rows matched by content have another label"`` ("" when rows cannot be matched one to one
    by their content, or none moved)."""
    if aligned is None:
        return ""
    ia, ib = aligned
    try:
        moved = int(np.sum(index_a[ia].to_numpy() != index_b[ib].to_numpy()))
    except (TypeError, ValueError):  # (labels that do not compare)
        return ""
    return f": {moved} of {len(ia)} rows matched by content have another label" if moved else ""


def _levels(a: pd.Series, b: pd.Series) -> dict[str, Any] | None:
    """New and vanished values of a text or categorical column (``None`` for other columns, or when the
    values are the same)."""
    texty = [x.dtype == object or isinstance(x.dtype, pd.StringDtype | pd.CategoricalDtype) for x in (a, b)]
    if not all(texty):
        return None
    values_a, values_b = (pd.Index(x.dropna().astype(object).astype(str).unique()) for x in (a, b))
    new, gone = values_b.difference(values_a, sort=False), values_a.difference(values_b, sort=False)
    if new.empty and gone.empty:
        return None
    return {"new": int(new.size), "vanished": int(gone.size),
            "new_examples": [str(v) for v in sorted(new)[:_EXAMPLES]],
            "vanished_examples": [str(v) for v in sorted(gone)[:_EXAMPLES]]}


def _listed(examples: list[str], count: int) -> str:
    return ", ".join(repr(e) for e in examples) + (", …" if count > len(examples) else "")


def _renamed(a: pd.DataFrame, b: pd.DataFrame, removed: list[Any], added: list[Any], *,
             in_order: bool, aligned: tuple[np.ndarray, np.ndarray] | None = None,
             ) -> list[tuple[Any, Any, float, bool]]:
    """``(removed, added, share, row_by_row)`` of columns holding the same values: rename candidates.
    Row by row when nothing else moved; else, and for the columns the row-by-row rule did not pair
    (80 of 1,000 fares edited in place), by their values as a multiset (a rename rarely comes with the
    rows untouched: a month's export with rows added, a newcomer found). Columns with no values are not
    candidates (any two are "identical")."""
    if not removed or not added:
        return []
    if not in_order:  # (the rows over the shared columns, hashed once by content_changes)
        return _renamed_by_values(a, b, removed, added, aligned)
    found = [(old, new, 1.0, True) for old, new in _renamed_in_order(a, b, removed, added)]
    left_a = [c for c in removed if c not in {old for old, *_ in found}]
    left_b = [c for c in added if c not in {new for _, new, *_ in found}]
    return found + (_renamed_by_values(a, b, left_a, left_b, aligned) if left_a and left_b else [])


ALIGNED_MIN = 10  # rows matched one to one over the shared columns that are enough to check a rename on


def _aligned(rows_a: np.ndarray, rows_b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Positions of the rows of ``a`` and ``b`` that are one row each with the same content over the
    shared columns (their hash occurs once on each side), or None when fewer than
    :data:`ALIGNED_MIN` are: then the shared columns do not tell which row is which."""
    keys_a, first_a, counts_a = np.unique(rows_a, return_index=True, return_counts=True)
    keys_b, first_b, counts_b = np.unique(rows_b, return_index=True, return_counts=True)
    _, in_a, in_b = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
    once = (counts_a[in_a] == 1) & (counts_b[in_b] == 1)
    if int(once.sum()) < ALIGNED_MIN:
        return None
    return first_a[in_a[once]], first_b[in_b[once]]


def _renamed_in_order(a: pd.DataFrame, b: pd.DataFrame, removed: list[Any], added: list[Any]) -> list:
    """``(removed, added)`` pairs of columns identical row by row."""

    def digest(frame: pd.DataFrame, label: Any) -> str | None:
        if not frame[label].notna().any():
            return None
        return hashlib.blake2b(_row_hashes(frame, [label]).tobytes(), digest_size=16).hexdigest()

    gone: dict[str | None, list[Any]] = {}
    for label in removed:
        gone.setdefault(digest(a, label), []).append(label)
    pairs = []
    for label in added:
        key = digest(b, label)
        if key is not None and gone.get(key):
            pairs.append((gone[key].pop(0), label))
    return pairs


RENAME_SHARE = 0.9  # the share of the smaller column's values the other must hold to be a rename candidate


RENAME_DISTINCT = 10  # fewer distinct values than this (flags, mostly zeros) say nothing of a rename
RENAME_LARGER_SHARE = 0.5  # the share of the larger column's values the rename must account for


def _renamed_by_values(a: pd.DataFrame, b: pd.DataFrame, removed: list[Any], added: list[Any],
                       aligned: tuple[np.ndarray, np.ndarray] | None = None,
                       ) -> list[tuple[Any, Any, float, bool]]:
    """``(removed, added, share, False)`` for a removed and an added column when the added one holds at
    least :data:`RENAME_SHARE` of the smaller one's non-null values (as multisets), each with at least
    :data:`RENAME_DISTINCT` distinct values (two unrelated flags, or two columns of mostly zeros, share
    most values: a reviewer's false renames).

    The share is of the smaller column: dividing by the larger one missed the documented case, a
    rename with rows added (800 unchanged fares in a ``fare_usd`` of 1,000 rows shared 0.8, a
    newcomer's finding), where every value of the old column is in the new one."""
    def values(frame: pd.DataFrame, label: Any) -> tuple[np.ndarray, np.ndarray] | None:
        present = frame[label].dropna()
        keys, counts = np.unique(_row_hashes(present.to_frame(), [label]), return_counts=True)
        return (keys, counts) if keys.size >= RENAME_DISTINCT else None

    new_values = [(j, new, found) for j, new in enumerate(added) if (found := values(b, new)) is not None]
    # Every candidate pair first, then the best ones taken (each column in one pair): taking, for each
    # removed column in turn, its best added column lost an exact rename y -> q when x, listed first,
    # shared 95 % of its values with q (a reviewer's finding).
    candidates: list[tuple[float, float, int, int]] = []
    for k, old in enumerate(removed):
        found_a = values(a, old)
        if found_a is None:
            continue
        keys_a, counts_a = found_a
        for j, new, (keys_b, counts_b) in new_values:
            _, in_a, in_b = np.intersect1d(keys_a, keys_b, assume_unique=True, return_indices=True)
            common = np.minimum(counts_a[in_a], counts_b[in_b]).sum()
            share = float(common / min(counts_a.sum(), counts_b.sum()))
            # ... and at least half of the larger one's: 100 ages are all among 10,000 unrelated scores
            # of the same range, which is no rename (a reviewer's false candidate)
            if share < RENAME_SHARE or common < RENAME_LARGER_SHARE * max(counts_a.sum(), counts_b.sum()):
                continue
            agreement = _agreement(a, b, old, new, aligned)
            if agreement is None or agreement >= RENAME_SHARE:
                # ranked by the rows they agree on where the shared columns tell which row is which,
                # then by the values they share
                candidates.append((share if agreement is None else agreement, share, k, j))
    # (best first; ties in the order the columns are listed)
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2], c[3]))
    taken_old: dict[int, tuple[int, float]] = {}
    taken_new: set[int] = set()
    for _, share, k, j in candidates:
        if k not in taken_old and j not in taken_new:
            taken_old[k] = (j, share)
            taken_new.add(j)
    # (in the order of the removed columns)
    return [(removed[k], added[j], share, False) for k, (j, share) in sorted(taken_old.items())]


def _agreement(a: pd.DataFrame, b: pd.DataFrame, old: Any, new: Any,
               aligned: tuple[np.ndarray, np.ndarray] | None) -> float | None:
    """The share of the rows the shared columns match one to one in which ``old`` and ``new`` hold the
    same value (None when too few rows match: then it cannot be told). A rename must agree on at least
    :data:`RENAME_SHARE`: two unrelated day and hour columns of 1..24 share 95 % of their values as
    multisets, and 4 % row by row (a reviewer's false rename)."""
    if aligned is None:
        return None
    ia, ib = aligned
    mine = _row_hashes(a.iloc[ia], [old])
    theirs = _row_hashes(b.iloc[ib], [new])
    return float(np.mean(mine == theirs))


@dataclass(frozen=True)
class ModelDiff:
    """Two artifacts compared: models by class, hyper-parameters, input features, the metrics of the
    runs that stored them (``metrics``: a run's last values, not scores of the model itself, which a run
    may not have logged), training data and the code of those runs; any artifact by what it is
    (``artifacts``: kind, format, size, hash, class).

    ``training_data`` holds, per side, the datasets the model's traced ``fit`` read (its lineage); for
    an untraced fit, the versions its run read with role ``train``/``validation`` before storing it;
    else ``None``: nothing is guessed from what else the run read (a test set, data registered after).

    Attributes
    ----------
    a, b : str
        The two artifacts compared (``model (run c02dd3ce)``).
    classes : tuple of (str or None)
        Each side's model class (import path), ``None`` for an artifact that is not a model.
    params : dict of str to (value, value)
        The hyper-parameters that differ: name -> (a's value, b's value). A hyper-parameter one model
        does not have at all (another class) holds :data:`ABSENT` on that side, never ``None``
        (``max_iter=None`` is a value).
    metrics : dict of str to (value, value)
        The last value of each metric either run logged that differs: name -> (a's, b's),
        :data:`ABSENT` for a metric one run did not log.
    metrics_shared : dict of str to value
        The metrics both runs logged with the same last value: name -> value.
    features : tuple of dict
        Per side, the input features the fitted model expects (its ``n_features_in_`` and
        ``feature_names_in_``): ``count`` (int or ``None``) and ``names`` (list of str, or ``None``
        when it was fitted on an array or nothing was recorded).
    features_added, features_removed : list of str or None
        The columns ``b`` takes that ``a`` does not, and those ``a`` takes that ``b`` does not;
        ``None`` unless both sides' names are known.
    code : tuple of (dict or None)
        Per side, the code of the run that stored the model: ``run`` (its id), ``commit``, ``dirty``
        (uncommitted changes ran) and ``version`` (``1e0c2d7a+dirty``); ``None`` when the run is not
        known (a model named by its hash).
    same_code : bool or None
        Whether the two runs ran the same code: the content of their source trees, uncommitted changes
        included, decided as ``mlcontext diff RUN RUN`` decides it (:func:`~.rundiff.same_code`), so
        a run at one commit with an untracked file and a run at the commit that added that file
        ran the same code; ``None`` when unknown. ``mlcontext diff RUN RUN`` shows how it differs.
    training_data : tuple of (list of str or None)
        Per side, the dataset versions (``trips@2``) the model was trained on, or ``None`` (unknown).
    artifacts : tuple of dict
        Per side, what the artifact is: ``hash``, ``kind``, ``format``, ``size`` (bytes), ``class``.
    fit_traced : tuple of bool
        Per side, whether ``training_data`` comes from a traced fit (else from the run's declared reads).
    models : tuple of bool
        Per side, whether it is a model.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> for alpha, name in ((0.1, "small"), (1.0, "big")):
    ...     with mc.run(name=name):
    ...         _ = mc.artifact("model", Ridge(alpha=alpha).fit([[0.0], [1.0]], [0.0, 1.0]))
    ...         mc.log("r2", 0.9 if alpha < 1 else 0.8)
    >>> d = mc.diff("small:model", "big:model")
    >>> d.params, d.metrics, d.models
    ({'alpha': (0.1, 1.0)}, {'r2': (0.9, 0.8)}, (True, True))
    >>> d.features
    ({'count': 1, 'names': None}, {'count': 1, 'names': None})
    """

    a: str
    b: str
    classes: tuple[str | None, str | None]
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    training_data: tuple[list[str] | None, list[str] | None] = (None, None)
    artifacts: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    #: Per side, whether ``training_data`` comes from a traced fit (else from the run's declared reads).
    fit_traced: tuple[bool, bool] = (False, False)
    #: Per side, the input features: ``count`` and ``names`` (``None`` where not known).
    features: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    #: Per side, the code of the run that stored it (``run``, ``commit``, ``dirty``, ``version``).
    code: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None)
    #: Whether the two runs ran the same code; ``None`` when unknown.
    same_code: bool | None = None
    #: The metrics both runs logged with the same last value: name -> value (what "the same" is).
    metrics_shared: dict[str, Any] = field(default_factory=dict)
    #: Per side, the run that stored the model is known (else its metrics are unknown, not absent).
    runs_known: tuple[bool, bool] = (True, True)

    @property
    def features_added(self) -> list[str] | None:
        """The columns ``b`` is fitted on that ``a`` is not (``None`` unless both sides' names are known)."""
        a, b = (f.get("names") for f in self.features)
        return None if a is None or b is None else _minus(b, a)

    @property
    def features_removed(self) -> list[str] | None:
        """The columns ``a`` is fitted on that ``b`` is not (``None`` unless both sides' names are known)."""
        a, b = (f.get("names") for f in self.features)
        return None if a is None or b is None else _minus(a, b)

    @property
    def features_same(self) -> bool | None:
        """Whether both models take the same input features, in the same order (``None``: not known)."""
        (count_a, names_a), (count_b, names_b) = ((f.get("count"), f.get("names")) for f in self.features)
        if names_a is not None and names_b is not None:
            return bool(names_a == names_b)
        if count_a is not None and count_b is not None:
            return None if count_a == count_b else False  # same count, names unknown: not known
        return None

    @property
    def models(self) -> tuple[bool, bool]:
        """Whether each side is a model (stored as one, or with a model class and hyper-parameters)."""
        return tuple(c is not None or info.get("kind") == "model"  # type: ignore[return-value]
                     for c, info in zip(self.classes, self.artifacts, strict=True))

    def artifact_lines(self) -> list[str]:
        """For artifacts that are not both models: what each is (no hyper-parameters or data are
        claimed of them)."""
        lines = []
        for label, info, model in zip((self.a, self.b), self.artifacts, self.models, strict=True):
            size = f"{info['size']:,} bytes" if info.get("size") is not None else "size unknown"
            what = (f"model {info.get('class') or '(class not recorded)'}" if model
                    else f"not a model: {info.get('kind') or 'unknown kind'}")
            form = f", format {info['format']}" if info.get("format") not in (None, info.get("kind")) else ""
            cls = f", class {info['class']}" if info.get("class") and not model else ""
            lines.append(f"{label}: {what}{form}{cls}, {size}, hash {info['hash']}")
        same = self.artifacts[0].get("hash") == self.artifacts[1].get("hash")
        lines.append("same bytes" if same else "different bytes")
        if any(self.models):
            lines.append("hyper-parameters and training data are compared only between two models whose "
                         "class the store recorded")
        return lines

    @property
    def same_bytes(self) -> bool:
        """Whether both sides are one and the same stored bytes (a model and the copy a run loaded)."""
        digest = self.artifacts[0].get("hash")
        return bool(digest) and digest == self.artifacts[1].get("hash")

    def features_text(self) -> str:
        """The input features of both models: counts, and which columns only one takes."""
        (count_a, names_a), (count_b, names_b) = ((f.get("count"), f.get("names")) for f in self.features)
        if count_a is None and count_b is None and names_a is None and names_b is None:
            return "not recorded for either model"
        counts = [("not recorded" if c is None else f"{c} column{'s' * (c != 1)}")
                  for c in (count_a, count_b)]
        if self.features_same:
            return f"the same {counts[0]} ({', '.join(names_a or [])})"
        text = f"{counts[0]} vs {counts[1]}"
        removed, added = self.features_removed, self.features_added
        if removed is None or added is None:
            unnamed = [label for label, names in zip("AB", (names_a, names_b), strict=True) if names is None]
            return text + (f"; column names not recorded for {' and '.join(unnamed)} (fitted on an array)"
                           if count_a != count_b or count_a is None else
                           "; which columns not known: names not recorded (fitted on an array)")
        parts = [f"only in {label}: {', '.join(names)}"
                 for label, names in ((self.a, removed), (self.b, added)) if names]
        return f"{text}; " + ("; ".join(parts) or "the same columns in another order")

    def training_lines(self) -> list[str]:
        """What each model was trained on, and a warning when the same data gave other features."""
        shown = [("not recorded (the fit was not traced)" if d is None else ", ".join(d) + (
            "" if traced else " (read as training data by its run before the model was stored; the fit "
            "was not traced)")) for d, traced in zip(self.training_data, self.fit_traced, strict=True)]
        same = shown[0] == shown[1] and self.training_data[0] is not None
        lines = [f"training data: the same, {shown[0]}" if same
                 else f"training data: {shown[0]} vs {shown[1]}"]
        if self.training_data[0] is not None and self.training_data[0] == self.training_data[1] \
                and self.features_same is False:
            lines.append("the same data read, but other input features: the columns fitted were chosen "
                         "after reading it")
        return lines

    def models_labels(self) -> tuple[str, str]:
        return self.a, self.b

    def code_text(self) -> str:
        """Whether the runs that stored the two models ran the same code, and how to see the difference."""
        a, b = self.code
        if a is None or b is None:
            return ("not known (which run saved it is not known: a model named by its hash, or loaded "
                    "from bytes that several runs saved)")
        versions = [c["version"] or "a script outside git" for c in (a, b)]
        if self.same_code is None:
            return "not recorded by either run"
        if self.same_code and versions[0] != versions[1]:  # other commits, the same files
            return f"the same files ran ({versions[0]} and {versions[1]})"
        if self.same_code:
            return f"the same ({versions[0]})" + (", uncommitted changes included" if a["dirty"] else "")
        return (f"differs: {versions[0]} vs {versions[1]}"
                + (" (the same commit, other uncommitted changes)" if versions[0] == versions[1] else "")
                + f"; `mlcontext diff {a['run'][:8]} {b['run'][:8]}` shows how")

    def __str__(self) -> str:
        """The comparison as plain text, as ``mlcontext diff A B`` says it (with its tables as lines)."""
        if not all(self.models) or None in self.classes:
            return "\n".join(self.artifact_lines())
        lines = [f"{self.a} ({self.classes[0]})  vs  {self.b} ({self.classes[1]})"]
        if self.same_bytes:
            lines.append(f"the same bytes (hash {self.artifacts[0]['hash'][:12]}): one model")
        if self.classes[0] != self.classes[1]:
            lines.append("different classes: a hyper-parameter of one class is (absent) from the other")
        lines.append(f"hyper-parameters: {pairs_text(self.params) if self.params else 'the same'}")
        lines.append(f"input features: {self.features_text()}")
        if all(self.runs_known):
            lines.append("metrics of the runs that stored them (last value): "
                         f"{pairs_text(self.metrics, self.metrics_shared)}")
        else:  # (they were "(absent)", as if never logged: a newcomer counted one as a difference)
            unknown = " and ".join(label for label, known in zip(self.models_labels(), self.runs_known,
                                                                strict=True) if not known)
            lines.append(f"metrics of the runs that stored them: not known for {unknown} (which run saved "
                         "it is not known: runs that saved the same bytes logged different values)")
        lines += self.training_lines()
        lines.append(f"code: {self.code_text()}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "classes": list(self.classes), "models": list(self.models),
                "artifacts": [dict(x) for x in self.artifacts], "params": pairs_json(self.params),
                "metrics": pairs_json(self.metrics), "metrics_shared": dict(self.metrics_shared),
                "absent": {"params": absent_names(self.params), "metrics": absent_names(self.metrics)},
                "runs_known": list(self.runs_known),
                "features": {"a": dict(self.features[0]), "b": dict(self.features[1]),
                             "added": self.features_added, "removed": self.features_removed,
                             "same": self.features_same},
                "training_data": [None if x is None else list(x) for x in self.training_data],
                "fit_traced": list(self.fit_traced),
                "code": [None if x is None else dict(x) for x in self.code], "same_code": self.same_code}


def diff_datasets(a: DatasetVersion, b: DatasetVersion, **options: Any) -> DatasetDiff:
    """Compare two dataset versions; ``options`` are :func:`~.drift.drift`'s (``rule``, ``alpha`` ...).
    Versions of two projects are named with their projects (``wine/clean@2``, ``cancer/clean@1``)."""
    qualify = a.project != b.project
    label_a, label_b = (f"{v.project}/{v.ref}" if qualify else v.ref for v in (a, b))
    frame_a, frame_b = a.load(), b.load()
    return DatasetDiff(label_a, label_b, (a.rows or 0, b.rows or 0), drift(frame_a, frame_b, **options),
                       content_changes(frame_a, frame_b))


def diff_models(store: Store, a: Any, b: Any, project: str | None = None) -> ModelDiff:
    """Compare the models ``a`` and ``b`` (``RUN:NAME``, artifact hashes or ``ArtifactRef``); the run of
    a ``RUN:NAME`` is that of ``project`` when one is given."""
    sides = [_model_side(store, ref, project) for ref in (a, b)]
    (label_a, meta_a, run_a, hash_a), (label_b, meta_b, run_b, hash_b) = sides
    params = changed(meta_a.get("params", {}), meta_b.get("params", {}), _same)
    logged_a, logged_b = (dict(run.metrics) if run else {} for run in (run_a, run_b))
    known = (run_a is not None, run_b is not None)
    metrics = changed(logged_a, logged_b, _same) if all(known) else {}
    shared = {name: value for name, value in sorted(logged_a.items())
              if name in logged_b and name not in metrics} if all(known) else {}
    described = (_describe(store, hash_a), _describe(store, hash_b))
    # Only a model has training data: a pickle of anything else read nothing to be fitted.
    (data_a, traced_a), (data_b, traced_b) = (
        _training_data(store, run, digest) if meta.get("model_class") or info["kind"] == "model"
        else (None, False)
        for run, digest, meta, info in ((run_a, hash_a, meta_a, described[0]),
                                        (run_b, hash_b, meta_b, described[1])))
    if run_a is not None and run_b is not None and run_a.project != run_b.project:
        # `train@1` of two projects are two datasets (a newcomer read "train@1 vs train@1")
        data_a, data_b = ([f"{run.project}/{d}" for d in data] if data else data
                          for run, data in ((run_a, data_a), (run_b, data_b)))
    return ModelDiff(label_a, label_b, (meta_a.get("model_class"), meta_b.get("model_class")), params,
                     metrics, (data_a, data_b), described, (traced_a, traced_b),
                     features=(_features(meta_a), _features(meta_b)),
                     code=(_code(run_a), _code(run_b)),
                     same_code=None if run_a is None or run_b is None else same_code(store, run_a, run_b),
                     metrics_shared=shared, runs_known=known)


def _minus(names: list[str], other: list[str]) -> list[str]:
    """``names`` not in ``other``, in their order."""
    known = set(other)
    return [c for c in names if c not in known]


def _features(meta: dict[str, Any]) -> dict[str, Any]:
    """The input features a model's metadata recorded (``n_features_in_``, ``feature_names_in_``, or a
    traced fit's frame columns). A traced fit on an array records no names (an empty list): unknown."""
    names = meta.get("input_columns") or None
    count = meta.get("n_features")
    if count is None and names is not None:
        count = len(names)
    return {"count": count if type(count) is int else None,
            "names": [str(c) for c in names] if isinstance(names, list) else None}


def _code(run: Any) -> dict[str, Any] | None:
    if run is None:
        return None
    return {"run": run.id, "commit": run.git_commit, "dirty": run.git_dirty, "version": run.code_version}


def _describe(store: Store, digest: str) -> dict[str, Any]:
    """What an artifact is, from the store's record (never by loading it): kind, format, size, hash
    and the class it was stored from, when known."""
    info = store.metadata.artifact_info(digest)
    kind, size, meta = info if info else (None, None, {})
    return {"hash": digest, "kind": kind, "format": meta.get("format") or kind, "size": size,
            "class": meta.get("model_class") or meta.get("class")}


def diff(a: Any, b: Any, *, project: str | None = None, store: Store | None = None,
         **drift_options: Any) -> DatasetDiff | ModelDiff | RunDiff:
    """Compare two dataset versions, two models or two runs, by meaning rather than bytes.

    Parameters
    ----------
    a, b : str, DatasetVersion, ArtifactRef, Run or RunRecord
        Two references of the same kind: dataset versions (``"trips@1"``, a ``DatasetVersion``),
        models (``"RUN:NAME"``, an ``ArtifactRef``) or runs (an id, prefix or name, a ``Run``, a
        ``RunRecord``). A text that could name both a dataset and a run is refused as ambiguous.
    project : str, optional
        The project of dataset names that exist in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).
    **drift_options
        For datasets, :func:`~.drift.drift`'s ``rule``, ``alpha``, ``psi_threshold``,
        ``ks_threshold``, ``null_threshold`` and ``sample_size``.

    Returns
    -------
    DatasetDiff, ModelDiff or RunDiff
        Schema and distribution changes of two datasets; class, hyper-parameter, score and
        training-data changes of two models; param, metric, code and environment changes of two
        runs. Each has ``to_dict()``, for JSON.

    Raises
    ------
    NotFoundError
        A side names nothing (the message says what was looked for).
    AmbiguousReferenceError
        A name exists in several projects, or names both a dataset and a run.
    ReferenceTypeError
        The two sides are of different kinds, or not references at all.

    Examples
    --------
    >>> import pandas as pd
    >>> _ = mc.dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), "trips", project="doc")
    >>> _ = mc.dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), "trips", project="doc")
    >>> mc.diff("trips@1", "trips@2", project="doc").drift.added
    ('y',)
    """
    store = store or get_store()
    left, right = (_side(store, x, project) for x in (a, b))
    if left[0] != right[0]:
        raise ReferenceTypeError(f"cannot compare {left[0]} {_label(a)} with {right[0]} {_label(b)}: "
                                 "diff compares two dataset versions, two models or two runs")
    if left[0] == "model":
        return diff_models(store, left[1], right[1], project)
    if left[0] == "run":
        return diff_runs(store, left[1], right[1])
    return diff_datasets(left[1], right[1], **drift_options)


def _label(ref: Any) -> str:
    return repr(ref) if isinstance(ref, str) else type(ref).__name__


def _side(store: Store, ref: Any, project: str | None) -> tuple[str, Any]:
    """``(kind, object)`` that ``ref`` names: a dataset version, a run record or a model reference."""
    if is_dataset_version(ref):
        return "dataset version", dataset_version(ref, store=store)
    if is_run(ref):
        return "run", store.metadata.get_run(ref.id)
    if isinstance(ref, ArtifactRef):
        return "model", ref
    if not isinstance(ref, str):
        raise ReferenceTypeError(f"diff() takes names or the objects the API returns (DatasetVersion, Run, "
                                 f"RunRecord, ArtifactRef), not a {type(ref).__name__}")
    if ":" in ref:  # RUN:NAME: a stored frame the run registered is a dataset version, not a model
        # (no such run, in the project: said as such, not "a model")
        record, artifact = run_artifact(store, ref, project)
        version = None if artifact is None else version_of_run_artifact(store, record, artifact)
        if version is not None:
            return "dataset version", dataset_version(version.ref, project=version.project, store=store)
        return "model", ref
    return _lookup(store, ref, project)


def _lookup(store: Store, ref: str, project: str | None) -> tuple[str, Any]:
    """Look ``ref`` up as a dataset version and as a run; exactly one must be found.

    Only *absence* (NotFoundError) lets the other reading win: any other error (an ambiguous project, an
    ambiguous id prefix) is the answer, and when both are absent both reasons are given.
    """
    found: list[tuple[str, Any]] = []
    missing: list[str] = []
    for kind, look in (("dataset version", lambda: dataset_version(ref, project=project, store=store)),
                       ("run", lambda: run_in(store, ref, project))):
        try:
            found.append((kind, look()))
        except NotFoundError as exc:
            missing.append(str(exc))
        except AmbiguousReferenceError as exc:
            if kind != "dataset version":
                raise
            try:  # a name of several projects' datasets that is also a run's: say both at once
                record = run_in(store, ref, project)
            except NotFoundError:
                raise exc from None
            raise AmbiguousReferenceError(
                f"{exc}; {ref!r} is also the name of run {record.id[:8]} ({record.project}/{record.name}): "
                f"write the run's id to mean the run, or -p PROJECT to mean a dataset") from None
    if not found and is_hash(ref) and store.metadata.artifact_info(ref) is not None:
        return "model", ref  # (a stored artifact's hash, as `show` lists it: compared as diff_models does)
    if not found:
        raise NotFoundError(f"{ref!r} names no dataset version and no run: " + "; ".join(missing))
    if len(found) > 1:
        version, record = found[0][1], found[1][1]
        raise AmbiguousReferenceError(
            f"{ref!r} names both dataset version {version.ref} (project {version.project}) and run "
            f"{record.id[:8]} ({record.project}/{record.name}); write the run's id to mean the run")
    return found[0]


def _model_side(store: Store, ref: Any, project: str | None) -> tuple[str, dict[str, Any], Any, str]:
    resolved = resolve_artifact(store, ref, project)
    info = store.metadata.artifact_info(resolved.hash)
    meta = info[2] if info else {}
    run_id = resolved.run_id
    run = store.metadata.get_run(run_id) if run_id else _maker(store, resolved.hash)
    return resolved.label, meta, run, resolved.hash


def _maker(store: Store, digest: str) -> Any:
    """The run that stored the model ``digest`` (given by hash, ``ArtifactRef``, or ``RUN:NAME`` of a
    run that loaded it), when one did, or when every run that stored the same bytes ran the same code
    and logged the same metrics (then which one is asked makes no difference to the answer; the newest
    is taken); else None: metrics and code are not known (they showed as ``(absent)``, as if never
    logged)."""
    with store.metadata.read() as conn:
        makers = [r[0] for r in conn.execute(select(t.RunArtifact.run_id).where(
            t.RunArtifact.artifact_hash == digest, t.RunArtifact.direction == "output")
            .distinct().limit(_MAKERS_MAX + 1)).all()]
    if not makers or len(makers) > _MAKERS_MAX:
        return None
    runs = [store.metadata.get_run(m) for m in makers]
    first = runs[0]
    agree = all(r.code_hash == first.code_hash and r.code_hash is not None and _same_metrics(r, first)
                for r in runs[1:])
    return max(runs, key=lambda r: r.started_at) if agree else None


_MAKERS_MAX = 20  # more runs than this storing one model's bytes: not compared one by one


def _same_metrics(a: Any, b: Any) -> bool:
    return set(a.metrics) == set(b.metrics) and all(_same(a.metrics[k], b.metrics[k]) for k in a.metrics)


def _training_data(store: Store, run: Any, digest: str) -> tuple[list[str] | None, bool]:
    """What the model ``digest`` was fitted on: the sources of its ``fit`` edges (those ``run``
    recorded, when it is known) and ``True``; for an untraced fit, what its run read as training data
    before storing it (:func:`_read_for_training_before`) and ``False``. What else the run
    read (a test set, data registered after the model was stored) is not training data: a fit that
    was not traced leaves the question unanswered rather than guessed (newcomer 13, point 4)."""
    fits = [e[0] for e in ContextStore(store.metadata).neighbours([digest], upstream=True)
            if e[3] == "fit" and (run is None or e[2] == run.id)]
    if fits:
        return sorted(set(describe_hashes(store, fits).values())), True
    return (_read_for_training_before(store, run, digest) if run is not None else None), False


def _read_for_training_before(store: Store, run: Any, digest: str) -> list[str] | None:
    """An untraced fit: the dataset versions ``run`` read *as training data* (role ``train`` or
    ``validation``) *before* it stored the model: what the run said it trained on. Data read with
    another role or no role, or after the model was stored, is never called training data."""
    with store.metadata.read() as conn:
        stored = conn.execute(select(func.min(t.RunArtifact.time)).where(
            t.RunArtifact.run_id == run.id, t.RunArtifact.artifact_hash == digest,
            t.RunArtifact.direction == "output")).scalar()
        if stored is None:
            return None
        rows = conn.execute(
            select(t.Dataset.name, t.DatasetVersion.version)
            .join(t.DatasetVersion, t.DatasetVersion.dataset_id == t.Dataset.id)
            .join(t.Access, t.Access.version_id == t.DatasetVersion.id)
            .where(t.Access.run_id == run.id, t.Access.role.in_(["train", "validation"]),
                   t.Access.time <= stored)).all()
    return sorted({f"{name}@{version}" for name, version in rows}) or None


def _same(x: Any, y: Any) -> bool:
    try:
        return bool(x == y) or (x != x and y != y)  # NaN == NaN for this purpose
    except (TypeError, ValueError):
        return False


def drift_of(reference: Any, current: Any, *, project: str | None = None, store: Store | None = None,
             **options: Any) -> DriftReport:
    """:func:`~.drift.drift` that also takes dataset references for either side.

    Parameters
    ----------
    reference, current : DataFrame, traced frame, str, DatasetVersion or ArtifactRef
        Each side is a DataFrame (or traced frame), a dataset reference (``"trips@1"``, a content
        hash), a ``DatasetVersion``, or an ``ArtifactRef`` of a stored frame.
    project : str, optional
        The project of dataset names that exist in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).
    **options
        :func:`~.drift.drift`'s: ``rule``, ``alpha``, ``psi_threshold``, ``ks_threshold``,
        ``null_threshold``, ``sample_size``.

    Returns
    -------
    DriftReport
        Per-column tests and verdicts (``rows``, ``verdict``, ``table()``), schema changes.

    Raises
    ------
    NotFoundError
        A reference names no dataset version.
    ReferenceTypeError
        A reference names something else (``RUN:NAME`` of a model).
    UsageError
        A side is neither a frame nor a reference.
    InvalidArgumentError
        A side has duplicated column labels, or a threshold is invalid.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> _ = mc.dataset(pd.DataFrame({"x": rng.normal(0, 1, 2000)}), "live", project="doc")
    >>> _ = mc.dataset(pd.DataFrame({"x": rng.normal(2, 1, 2000)}), "live", project="doc")
    >>> mc.drift("live@1", "live@2", project="doc").verdict
    'drift in 1 of 1 columns: x'
    """
    return drift(_frame(reference, project, store), _frame(current, project, store), **options)


def _frame(x: Any, project: str | None, store: Store | None) -> Any:
    if isinstance(x, str) or is_dataset_version(x):
        try:
            version = dataset_version(x, project=project, store=store or get_store())
        except ReferenceTypeError as exc:  # RUN:NAME of a model: say what drift compares
            raise ReferenceTypeError(f"drift compares dataset versions and stored frames; {exc}") from None
        return version.load()
    if isinstance(x, ArtifactRef):
        return load_artifact(x, store=store)
    return plain_value(x)
