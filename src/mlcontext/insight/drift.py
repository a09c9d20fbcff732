"""Distribution drift between a reference table (e.g. the training data) and a current one (live data).

Columns are matched by their label as pandas has it (``0`` and ``"0"`` are two labels). A reference
column with no exact match that has a current column of the same text and another label type (the
integer ``0`` written to CSV comes back as ``"0"``) is compared with it and reported as *relabeled*.
Schema changes are reported by name: columns added, removed, and retyped (with both dtypes).

Values are compared in a common unit: timestamps as seconds since the epoch in UTC, whatever their
resolution (``datetime64[ns]`` and ``datetime64[us]`` of the same instants are the same data) or time
zone; durations as seconds; integers and floats (nullable or not) as floats. A dtype change within one
of these kinds (``int64`` -> ``float64``, ``[ns]`` -> ``[us]``) is reported as retyped *and* compared;
a change of kind (numbers -> strings) is reported and not compared, except text that is all dates (ISO,
or one format read from the reference and parsing every value: ``01/31/2024 10:00``) or durations,
compared as timestamps (a CSV reader returns dates as text), text that is all numbers against numbers,
compared as numbers, ``bool`` against a column of 0/1, compared as flags, and a side with no values at
all, whose dtype is only its reader's guess. ``±inf`` are values (the lowest and highest there are),
not nulls. Near-unique text (identifiers) is not compared by categories each seen once; its overlap is
reported instead, and the verdict names it as not compared.

Per column: numeric, datetime and duration columns get the two-sample Kolmogorov–Smirnov test (exact
p-value up to ``n·m`` = 1e6), the Wasserstein distance (also in units of the reference's standard
deviation) and the population stability index over the reference's deciles; those holding at most
:data:`DISCRETE_MAX` distinct values (a class label, a count) get the chi-squared test of homogeneity
over their values instead of the KS test, which ties make very conservative; categorical columns get
the chi-squared test and the PSI over categories. The null fraction is compared on all rows.

The decision rule (:class:`DriftRule`; ``docs/drift.md`` explains it with examples) calls a column
drifted when either

* its **distribution** changed: the test rejects (p < ``alpha``) **and** the effect is material
  (PSI ≥ ``psi``, or for numeric kinds KS statistic ≥ ``ks``) — with large samples every tiny
  difference is "significant", hence the second condition; or
* its **null fraction** changed: by at least ``null`` (absolute) with the chi-squared test of the
  null counts rejecting, or the column lost all its values (or gained values where it had none), a
  table emptied to no rows included.

Both tables are sampled to at most ``sample_size`` rows for the distribution tests (20,000 by default: a
KS test on 20,000 rows a side already resolves a difference of 0.014 in the CDFs, far below ``ks``, and
keeps a diff of two large versions well under a second); null counts use every row. The rows are
chosen by their content (:func:`_sample`), so the same rows in another order give the same sample.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from ..errors import InvalidArgumentError, UsageError
from ..tracking.profile import column_label
from .stats import chi2_contingency, ks_and_wasserstein, psi

__all__ = ["DriftReport", "DriftRule", "drift", "format_p"]

_SEED = 7
_TABLE_COLUMNS = ["column", "kind", "test", "statistic", "p_value", "psi", "wasserstein",
                  "wasserstein_std", "null_fraction_a", "null_fraction_b", "null_fraction_change",
                  "null_p_value", "drifted", "reason"]


@dataclass(frozen=True)
class DriftRule:
    """When a column is called drifted (see the module docstring).

    Parameters
    ----------
    alpha : significance level of the tests (KS, chi-squared of categories, chi-squared of nulls).
    psi : smallest population stability index that is a material change.
    ks : smallest KS statistic (largest gap between the two CDFs, 0..1) that is a material change.
    null : smallest absolute change of the null fraction (0..1) that is a material change.
    """

    alpha: float = 0.05
    psi: float = 0.1
    ks: float = 0.1
    null: float = 0.1

    def __post_init__(self) -> None:
        for name in ("alpha", "psi", "ks", "null"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or math.isnan(value) or value < 0:
                raise InvalidArgumentError(f"drift rule: {name} must be a number >= 0, got {value!r}")
        if not 0 < self.alpha < 1:
            raise InvalidArgumentError(f"drift rule: alpha is a significance level in (0, 1), got "
                                       f"{self.alpha}; 0.05 is usual")

    def describe(self) -> str:
        """The rule in one sentence, with its thresholds."""
        return (f"a column drifts when its distribution changed (p < {self.alpha:g} and (PSI ≥ "
                f"{self.psi:g} or KS ≥ {self.ks:g})) or its null fraction changed (by ≥ {self.null:g} "
                f"with p < {self.alpha:g}, or it lost all its values or gained values where it had none)")

    def to_dict(self) -> dict[str, float]:
        return {"alpha": self.alpha, "psi": self.psi, "ks": self.ks, "null": self.null}


@dataclass(frozen=True)
class DriftReport:
    """The outcome of :func:`drift`.

    ``columns`` has one row per compared column (index: the reference's label) with the test, its
    statistic and p-value, PSI, Wasserstein distance, null fractions on both sides, ``drifted`` and the
    ``reason`` in words. ``retyped`` maps a label to ``(reference dtype, current dtype)``;
    ``incomparable`` lists the retyped columns whose kind changed (not compared); ``relabeled`` pairs
    ``(reference label, current label)`` matched by their text. ``not_compared`` lists the columns in
    ``columns`` whose distributions were not compared (test ``none``: near-unique text); the verdict
    names them and counts only the others.

    Attributes
    ----------
    columns : pandas.DataFrame
        One row per compared column, as above.
    added, removed : tuple
        Column labels only in the current, only in the reference.
    retyped : dict
        Label -> ``(reference dtype, current dtype)``.
    rows : tuple of int
        Row counts of the reference and the current table.
    rule : DriftRule
        The thresholds used.
    dtypes : tuple of dict
        The two schemas.
    incomparable : tuple
        Retyped columns not compared.
    relabeled : tuple
        ``(reference label, current label)`` pairs matched by their text.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> report = mc.drift(pd.DataFrame({"x": rng.normal(0, 1, 500)}),
    ...                   pd.DataFrame({"x": rng.normal(3, 1, 500)}))
    >>> report.drifted, report.verdict
    (['x'], 'drift in 1 of 1 columns: x')
    """

    columns: pd.DataFrame
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    retyped: dict[Any, tuple[str, str]] = field(default_factory=dict)
    rows: tuple[int, int] = (0, 0)
    rule: DriftRule = field(default_factory=DriftRule)
    dtypes: tuple[dict[Any, str], dict[Any, str]] = ({}, {})
    incomparable: tuple[Any, ...] = ()
    relabeled: tuple[tuple[Any, Any], ...] = ()

    @property
    def drifted(self) -> list[Any]:
        return self.columns.index[self.columns["drifted"].astype(bool)].tolist()

    @property
    def not_compared(self) -> list[Any]:
        """Columns whose distributions were not compared (near-unique text: identifiers, e-mails)."""
        return self.columns.index[self.columns["test"] == "none"].tolist()

    @property
    def schema_changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped or self.relabeled)

    def schema_changes(self) -> list[str]:
        """Each schema change in words, by name and with dtypes."""
        ref, cur = self.dtypes
        show = _namer([*ref, *cur])
        changes = [f"added {show(c)} ({cur.get(c, '?')})" for c in self.added]
        changes += [f"removed {show(c)} ({ref.get(c, '?')})" for c in self.removed]
        changes += [f"retyped {show(c)} ({a} → {b}"
                    + (", not compared)" if c in self.incomparable else ")")
                    for c, (a, b) in self.retyped.items()]
        changes += [f"relabeled {show(a)} → {show(b)}" for a, b in self.relabeled]
        return changes

    @property
    def verdict(self) -> str:
        """One line: what changed, by name, worst first."""
        parts = []
        changes = self.schema_changes()
        if changes:
            parts.append("schema changed: " + ", ".join(changes[:6]) + (", …" if len(changes) > 6 else ""))
        show = _namer(self.columns.index)
        # (columns not compared were counted in "no drift in 2 columns": a newcomer's finding)
        skipped = self.not_compared
        count = len(self.columns) - len(skipped)
        if self.drifted:
            worst = self.columns.loc[self.drifted].sort_values("psi", ascending=False, na_position="first")
            names = [show(c) for c in worst.index]
            parts.append(f"drift in {len(names)} of {count} columns: " + _listing(names))
        elif not parts and (count or not skipped):
            parts.append(f"no drift in {count} column{'s' * (count != 1)}")
        if skipped:
            parts.append(f"{len(skipped)} not compared: " + _listing([show(c) for c in skipped]))
        # (a table emptied said "no drift in 3 columns", as if nothing had changed: a newcomer's finding)
        if self.rows[0] and not self.rows[1]:
            parts.insert(0, f"the current table has no rows ({self.rows[0]} → 0)")
        elif self.rows[1] and not self.rows[0]:
            parts.insert(0, f"the reference table has no rows (0 → {self.rows[1]})")
        return "; ".join(parts)

    def explain(self) -> list[str]:
        """The verdict's reasons: schema changes, each column's decision, null changes and the rule."""
        show = _namer(self.columns.index)
        lines = [f"rows {self.rows[0]} -> {self.rows[1]}", *self.schema_changes()]
        for label, row in self.columns.iterrows():
            lines.append(f"{show(label)}: {'drifted' if row['drifted'] else 'no drift'} — {row['reason']}")
        lines.append(f"rule: {self.rule.describe()}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite numbers become ``None``): verdict, schema changes, one record per column."""
        ref, cur = self.dtypes
        records = []
        for label, row in self.columns.iterrows():
            record = {"column": _json_label(label), "label_type": column_label(label)[1]}
            record |= {k: _finite(row[k]) for k in _TABLE_COLUMNS[1:]}
            records.append(record)
        return {"verdict": self.verdict, "rows": list(self.rows),
                "not_compared": [_json_label(c) for c in self.not_compared],
                "added": [_json_label(c) for c in self.added],
                "removed": [_json_label(c) for c in self.removed],
                "retyped": [{"column": _json_label(c), "a": a, "b": b, "compared": c not in self.incomparable}
                            for c, (a, b) in self.retyped.items()],
                "relabeled": [[_json_label(a), _json_label(b)] for a, b in self.relabeled],
                "schema": {"a": [[_json_label(c), d] for c, d in ref.items()],
                           "b": [[_json_label(c), d] for c, d in cur.items()]},
                "changes": self.schema_changes(), "explanation": self.explain(),
                "rule": self.rule.to_dict(), "columns": records}


def drift(reference: pd.DataFrame, current: pd.DataFrame, *, rule: DriftRule | None = None,
          alpha: float | None = None, psi_threshold: float | None = None, ks_threshold: float | None = None,
          null_threshold: float | None = None, sample_size: int = 20_000) -> DriftReport:
    """Compare the distributions of ``current`` with ``reference``, column by column.

    Parameters
    ----------
    reference, current : pandas DataFrames with unique column labels.
    rule : the decision rule; the keyword thresholds below override single fields of it.
    alpha, psi_threshold, ks_threshold, null_threshold : :class:`DriftRule`'s ``alpha``, ``psi``,
        ``ks`` and ``null``.
    sample_size : rows per side used by the distribution tests, >= 1 (null counts use all rows).

    Raises
    ------
    UsageError
        Either side is not a DataFrame.
    InvalidArgumentError
        Either side has duplicated column labels, or a threshold is invalid.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    >>> live = pd.DataFrame({"x": rng.normal(1, 1, 5000)})
    >>> drift(train, live).verdict
    'drift in 1 of 1 columns: x'
    >>> drift(train, live, ks_threshold=0.5, psi_threshold=5).verdict
    'no drift in 1 column'
    """
    rule = _rule(rule, alpha, psi_threshold, ks_threshold, null_threshold)
    if type(sample_size) is not int or sample_size < 1:  # (0 compared nothing and said "no drift")
        raise InvalidArgumentError(f"drift(): sample_size is the number of rows per side the tests use, "
                                   f"a whole number >= 1; got {sample_size!r}")
    for name, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise UsageError(f"drift() needs DataFrames (or dataset references through mc.drift); the "
                             f"{name} is a {type(frame).__name__}")
        duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
        if duplicated:
            raise InvalidArgumentError(f"drift(): the {name} has duplicated column labels {duplicated!r}; "
                                       "rename them first (frame.columns = [...])")
    pairs, added, removed, relabeled = _match(list(reference.columns), list(current.columns))
    ref_s = _sample(reference, [r for r, _ in pairs], sample_size)
    cur_s = _sample(current, [c for _, c in pairs], sample_size)
    retyped, incomparable, rows = {}, [], []
    for ref_label, cur_label in pairs:
        a, b = reference[ref_label], current[cur_label]
        # A side with no values at all has the dtype its reader guessed (object for a column of None, for
        # a header-only CSV): reporting "retyped town (str -> object)" there was noise.
        if str(a.dtype) != str(b.dtype) and _has_values(a) and _has_values(b):
            retyped[ref_label] = (str(a.dtype), str(b.dtype))
        how = _comparison(a, b, ref_s[ref_label], cur_s[cur_label])
        if how is None:
            incomparable.append(ref_label)
            continue
        rows.append(_compare(ref_label, how, a, b, rule))
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    table = table.set_index(pd.Index(table.pop("column").tolist(), dtype=object, name="column"))
    dtypes = ({c: str(reference[c].dtype) for c in reference.columns},
              {c: str(current[c].dtype) for c in current.columns})
    return DriftReport(columns=table, added=tuple(added), removed=tuple(removed), retyped=retyped,
                       rows=(len(reference), len(current)), rule=rule, dtypes=dtypes,
                       incomparable=tuple(incomparable), relabeled=tuple(relabeled))


def _rule(rule: DriftRule | None, alpha: float | None, psi_t: float | None, ks_t: float | None,
          null_t: float | None) -> DriftRule:
    base = rule or DriftRule()
    given = {"alpha": alpha, "psi": psi_t, "ks": ks_t, "null": null_t}
    return DriftRule(**(base.to_dict() | {k: v for k, v in given.items() if v is not None}))


def _key(label: Any) -> tuple[str, str]:
    return column_label(label)


def _match(ref: list[Any], cur: list[Any]) -> tuple[list[tuple[Any, Any]], list, list, list]:
    """Pairs of matching labels (exact first, then same text), added, removed and relabeled pairs."""
    cur_by_key = {_key(c): c for c in cur}
    pairs = [(r, cur_by_key[_key(r)]) for r in ref if _key(r) in cur_by_key]
    matched_ref = {_key(r) for r, _ in pairs}
    matched_cur = {_key(c) for _, c in pairs}
    left = [r for r in ref if _key(r) not in matched_ref]
    right = [c for c in cur if _key(c) not in matched_cur]
    relabeled = []
    for r in list(left):
        same_text = [c for c in right if _key(c)[0] == _key(r)[0]]
        if len(same_text) == 1:  # one candidate only: a guess between two would be a coin toss
            relabeled.append((r, same_text[0]))
            left.remove(r)
            right.remove(same_text[0])
    return pairs + relabeled, right, left, relabeled


def _sample(frame: pd.DataFrame, labels: list[Any], size: int) -> pd.DataFrame:
    """At most ``size`` rows of ``frame``, chosen by their content over the columns ``labels`` (those
    compared): the ``size`` rows with the smallest keys, a key being the hash of a row's content and its
    occurrence number among equal rows (the 1st, 2nd, … copy). Each row is in by the luck of its hash,
    so the sample is as unbiased as a random one, but equal multisets of rows give equal samples: a
    table and the same rows in another order were sampled by position, and an identical copy of 200,000
    rows had a column "significant (p 0.043)", drifted at ``ks_threshold=0.01`` (a newcomer's
    finding). The occurrence number keeps a table of few distinct rows from being sampled as all the
    copies of one. Cells that cannot be hashed (lists, dicts) fall back to a random sample (fixed
    seed)."""
    if len(frame) <= size:
        return frame
    try:
        keys = _row_keys(frame, labels) if labels else None
    except TypeError:
        keys = None
    if keys is None:
        return frame.sample(n=size, random_state=_SEED)
    return frame.iloc[np.sort(np.argpartition(keys, size - 1)[:size])]


def _row_keys(frame: pd.DataFrame, labels: list[Any]) -> np.ndarray:
    """One pseudo-random key per row of ``frame`` from its values over ``labels`` (not its position or
    index label) and its occurrence number among the rows with the same values."""
    rows = pd.util.hash_pandas_object(frame[labels], index=False).to_numpy()
    occurrence = pd.Series(rows).groupby(rows).cumcount().to_numpy()
    pairs = pd.DataFrame({"row": rows, "occurrence": occurrence})
    return pd.util.hash_pandas_object(pairs, index=False).to_numpy()


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    return "categorical"


def _has_values(series: pd.Series) -> bool:
    return bool(series.notna().any())


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype)


@dataclass(frozen=True)
class _Comparison:
    """How two columns are compared: as ``kind``, on these (sampled, converted) values, and why."""

    kind: str
    ref: pd.Series
    cur: pd.Series
    note: str = ""


def _comparison(a: pd.Series, b: pd.Series, a_s: pd.Series, b_s: pd.Series) -> _Comparison | None:
    """How the columns ``a`` and ``b`` (samples ``a_s``, ``b_s``) are compared, or ``None`` when their
    kind changed. A side with no values takes the other's kind (it lost or gained all its values, which
    the null test decides); text that is all ISO dates or durations is compared as timestamps or
    durations (a CSV reader returns a date column as text: the same 30-day shift read from CSV and from
    parquet got opposite verdicts); booleans and a column holding only 0/1 are compared as flags; and
    near-unique text that is all numbers is compared as numbers (chi-squared over categories seen once
    means nothing), and so is text that is all numbers against a numeric column."""
    kind_a, kind_b = _kind(a), _kind(b)
    if not (_has_values(a) and _has_values(b)):
        return _Comparison(kind_b if _has_values(b) else kind_a, a_s, b_s)
    read_a, read_b = _read_text(a_s), _read_text(b_s)
    as_a, as_b = read_a[0] if read_a else kind_a, read_b[0] if read_b else kind_b
    if as_a == as_b and (read_a or read_b):
        what = {"datetime": "dates", "timedelta": "durations"}[as_a]
        return _Comparison(as_a, read_a[1] if read_a else a_s, read_b[1] if read_b else b_s,
                           f"text read as {what}")
    dated = _dates_by_format(a_s, b_s)
    if dated is not None:
        return dated
    if kind_a != kind_b:
        return _flags(a, b, a_s, b_s) or _text_numbers(a_s, b_s)
    if kind_a == "categorical" and _is_text(a) and _is_text(b) and (_near_unique(a_s) or _near_unique(b_s)):
        numbers_a, numbers_b = _numbers(a_s), _numbers(b_s)
        if numbers_a is not None and numbers_b is not None:
            return _Comparison("numeric", numbers_a, numbers_b, "near-unique text read as numbers")
    return _Comparison(kind_a, a_s, b_s)


def _read_text(sample: pd.Series) -> tuple[str, pd.Series] | None:
    """``(kind, parsed values)`` when every value of the text ``sample`` is an ISO date (or date and
    time) or a duration as pandas writes it (``1 days 02:00:00``), else ``None``."""
    if not _is_text(sample):
        return None
    present = sample.dropna().astype(str)
    if present.empty:
        return None
    distinct = pd.Series(present.unique())
    for kind, pattern in (("datetime", _ISO_DATE), ("timedelta", _DURATION)):
        if distinct.str.fullmatch(pattern).all():
            parsed = (pd.to_timedelta(present, errors="coerce") if kind == "timedelta"
                      else pd.to_datetime(present, format="ISO8601", utc=True, errors="coerce"))
            return (kind, parsed) if parsed.notna().all() else None  # (2021-02-30 is not a date)
    return None


def _date_format(reference: pd.Series, *others: pd.Series) -> str | None:
    """The one date format (``%m/%d/%Y %H:%M``) that pandas guesses from the first value of the text
    ``reference`` and that parses every value of it and of ``others`` exactly, else ``None``.

    The guess is tried month first, then day first (``01/02/2024`` is both; a column holding
    ``31/01/2024`` is only the second). A format must name a year, a month and a day, with separators:
    ``2024``, ``2024-01`` and ``20240131`` are as often numbers or codes as dates. One format for both
    sides, or none: a column whose values were each parsed by their own guess compared as dates what
    may be two different readings."""
    present = reference.dropna()
    if present.empty or not isinstance(present.iloc[0], str):
        return None
    first = present.iloc[0]
    with warnings.catch_warnings():  # (pandas warns when the guess disagrees with dayfirst)
        warnings.simplefilter("ignore")
        guesses = dict.fromkeys(guess_datetime_format(first, dayfirst=day) for day in (False, True))
    for fmt in guesses:
        if fmt is not None and _dated(fmt) and all(_parse_dates(x, fmt) is not None
                                                  for x in (reference, *others)):
            return fmt
    return None


def _dated(fmt: str) -> bool:
    """Whether ``fmt`` names a year, a month and a day, and separates them (see :func:`_date_format`)."""
    return (any(y in fmt for y in ("%Y", "%y")) and any(mo in fmt for mo in ("%m", "%b", "%B"))
            and "%d" in fmt and bool(re.sub(r"%.", "", fmt)))


def _parse_dates(text: pd.Series, fmt: str) -> pd.Series | None:
    """``text`` as UTC timestamps in the format ``fmt``, or ``None`` when a value is not in it."""
    parsed = pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
    return parsed if parsed.notna().sum() == text.notna().sum() else None


def _dates_by_format(a_s: pd.Series, b_s: pd.Series) -> _Comparison | None:
    """Text of dates in one format that is not ISO (``01/31/2024 10:00``, as ``strftime`` or a
    spreadsheet wrote it) against text or timestamps, compared as timestamps: such a column was taken
    for identifiers and not compared, and a month's shift went unseen (a newcomer's finding)."""
    sides = (a_s, b_s)
    if not all(_is_text(x) or pd.api.types.is_datetime64_any_dtype(x.dtype) for x in sides):
        return None
    texts = [x for x in sides if _is_text(x)]
    if not texts:
        return None
    fmt = _date_format(texts[0], *texts[1:])
    if fmt is None:
        return None
    ref, cur = (_parse_dates(x, fmt) if _is_text(x) else x for x in sides)
    return _Comparison("datetime", ref, cur, f"text read as dates (format {fmt})")


def _text_numbers(a_s: pd.Series, b_s: pd.Series) -> _Comparison | None:
    """Numbers on one side and text whose every value is a number on the other (a float column written
    as text), compared as numbers: it was "not compared", and a shift of +5 went unseen while two text
    columns of numbers were read as numbers (a newcomer's finding); ``None`` otherwise."""
    for text, other in ((a_s, b_s), (b_s, a_s)):
        if _is_text(text) and _kind(other) == "numeric":
            numbers = _numbers(text)
            if numbers is None:
                return None
            ref, cur = (numbers, other) if text is a_s else (other, numbers)
            return _Comparison("numeric", ref, cur, "text read as numbers")
    return None


def _flags(a: pd.Series, b: pd.Series, a_s: pd.Series, b_s: pd.Series) -> _Comparison | None:
    """Booleans on one side and numbers holding only 0 and 1 on the other (a flag written as an
    integer, or a float for its NaN), compared as flags; ``None`` for any other change of kind."""
    sides = [(a, a_s), (b, b_s)]
    if sum(pd.api.types.is_bool_dtype(x.dtype) for x, _ in sides) != 1:
        return None
    numbers = next(x for x, _ in sides if not pd.api.types.is_bool_dtype(x.dtype))
    if not pd.api.types.is_numeric_dtype(numbers.dtype) or not numbers.dropna().isin([0, 1]).all():
        return None
    ref, cur = (s.dropna().astype(bool) for _, s in sides)
    return _Comparison("categorical", ref, cur, "0/1 read as False/True")


def _near_unique(sample: pd.Series) -> bool:
    """Whether most distinct values of ``sample`` occur once (identifiers, e-mails, free text): at least
    :data:`NEAR_UNIQUE_MIN` distinct values, more than half of them seen once."""
    return _mostly_once(sample.dropna().astype(str).value_counts())


def _numbers(sample: pd.Series) -> pd.Series | None:
    present = sample.dropna().astype(str)
    parsed = _text_to_numbers(present)
    return parsed.astype(float) if parsed.notna().all() else None


def _text_to_numbers(text: pd.Series) -> pd.Series:
    """``pd.to_numeric(text, errors="coerce")``, with every float read back to the float its text was
    written from. pandas' own parser is not correctly rounded in every version: pandas 3.0.0 reads 242 of
    2,000 ``repr`` texts of normal floats one unit in the last place off, so text written from the same
    numbers looked drifted. The float cast of a str Series (Python's or Arrow's parser) is exact."""
    parsed = pd.to_numeric(text, errors="coerce")
    if parsed.dtype.kind != "f":
        return parsed
    read = parsed.notna()
    if read.any():
        try:
            exact = text[read].astype("float64")
        except (TypeError, ValueError):  # a form only pandas' parser reads: keep its reading
            return parsed
        parsed = parsed.copy()
        parsed[read] = exact
    return parsed


def _compare(label: Any, how: _Comparison, ref_all: pd.Series, cur_all: pd.Series,
             rule: DriftRule) -> dict[str, Any]:
    nulls = _null_change(ref_all, cur_all, rule)
    if how.kind == "categorical":
        test, stat, p, index, w, w_std, distribution = _categorical(how.ref.dropna(), how.cur.dropna(), rule)
    else:
        test, stat, p, index, w, w_std, distribution = _numeric(_as_float(how.ref), _as_float(how.cur), rule)
    drifted = distribution[0] or nulls["drifted"]
    reasons = [text for flag, text in (distribution, (nulls["drifted"], nulls["reason"])) if flag]
    if not drifted:
        reasons = [distribution[1]] + ([nulls["reason"]] if nulls["reason"] else [])
    reasons = ([how.note] if how.note else []) + reasons
    return dict(column=label, kind=how.kind, test=test, statistic=stat, p_value=p, psi=index, wasserstein=w,
                wasserstein_std=w_std, null_fraction_a=nulls["a"], null_fraction_b=nulls["b"],
                null_fraction_change=nulls["b"] - nulls["a"], null_p_value=nulls["p"],
                drifted=bool(drifted), reason="; ".join(reasons))


def _numeric(a: np.ndarray, b: np.ndarray, rule: DriftRule) -> tuple:
    """The KS test of two samples of numbers, or, when together they hold at most :data:`DISCRETE_MAX`
    distinct values (each held by two values or more on average), the chi-squared test over those
    values: the KS test's p-value assumes no ties, and on a class label of three values it said "no
    drift, p 0.093" where the same labels as text had chi-squared's p 6e-07 (a newcomer's finding;
    Evidently also tests numbers with few values by chi-squared). The KS statistic decides materiality
    either way."""
    if a.size == 0 or b.size == 0:
        return "ks", math.nan, math.nan, math.nan, math.nan, math.nan, (False, _no_values(a.size, b.size))
    values = np.unique(np.concatenate([a, b]))
    discrete = values.size <= DISCRETE_MAX and a.size + b.size >= 2 * values.size
    ks, p, w = ks_and_wasserstein(a, b, p_value=not discrete)
    test, stat = "ks", ks
    if discrete:
        test = "chi2"
        stat, p = chi2_contingency(_counts_of(values, a), _counts_of(values, b))
    index = _numeric_psi(a, b)
    finite = a[np.isfinite(a)]
    std = float(np.std(finite)) if finite.size > 1 else math.nan
    w_std = w / std if std and std > 0 else math.nan
    material = [f"PSI {index:.3g} ≥ {rule.psi:g}"] if index >= rule.psi else []
    material += [f"KS {ks:.3g} ≥ {rule.ks:g}"] if ks >= rule.ks else []
    small = f"KS {ks:.3g} < {rule.ks:g}, PSI {index:.3g} < {rule.psi:g}"
    drifted, reason = _decide(p, material, small, rule)
    notes = [f"chi-squared over {values.size} values"] if discrete else []
    notes += [infinite] if (infinite := _infinities(a, b)) else []
    if not drifted and w_std >= WASSERSTEIN_NOTE:  # (2 % of the values x50 moves no CDF by much)
        notes.append(f"Wasserstein distance {w_std:.2g} reference standard deviations")
    return test, stat, p, index, w, w_std, (drifted, "; ".join([reason, *notes]))


def _counts_of(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """How many of ``x`` are each of the sorted ``values`` (which hold them all)."""
    return np.bincount(np.searchsorted(values, x), minlength=values.size)


def _infinities(a: np.ndarray, b: np.ndarray) -> str:
    """How the share of ``+inf`` and ``-inf`` among the values changed, in words ("" when it did not):
    infinities are neither nulls nor finite values, and a drift they cause should say so."""
    changes = []
    for sign, name in ((1, "+inf"), (-1, "-inf")):
        share_a, share_b = float(np.mean(a == sign * np.inf)), float(np.mean(b == sign * np.inf))
        if share_a != share_b:
            changes.append(f"{name} {share_a:.1%} → {share_b:.1%} of the values")
        elif share_a:
            changes.append(f"{name} {share_a:.1%} of the values on both sides")
    return ", ".join(changes) if any("→" in c for c in changes) else ""


def _categorical(a: pd.Series, b: pd.Series, rule: DriftRule) -> tuple:
    if a.empty or b.empty:
        return "chi2", math.nan, math.nan, math.nan, math.nan, math.nan, (False, _no_values(len(a), len(b)))
    ref_counts, cur_counts = a.astype(str).value_counts(), b.astype(str).value_counts()
    if _mostly_once(ref_counts) and _mostly_once(cur_counts):
        # Chi-squared and PSI over categories each seen once mean nothing: two samples with no value in
        # common had p 0.49, two samples of one distribution of dates PSI 2.5 (a newcomer's finding).
        return "none", math.nan, math.nan, math.nan, math.nan, math.nan, (False, _overlap(ref_counts,
                                                                                          cur_counts))
    categories = ref_counts.index.union(cur_counts.index)
    x = ref_counts.reindex(categories, fill_value=0).to_numpy()
    y = cur_counts.reindex(categories, fill_value=0).to_numpy()
    stat, p = chi2_contingency(x, y)
    index = psi(x, y)
    material = [f"PSI {index:.3g} ≥ {rule.psi:g}"] if index >= rule.psi else []
    return "chi2", stat, p, index, math.nan, math.nan, _decide(p, material, f"PSI {index:.3g} < {rule.psi:g}",
                                                               rule)


def _mostly_once(counts: pd.Series) -> bool:
    """Whether most of the values counted in ``counts`` (value -> rows) occur once (see
    :func:`_near_unique`)."""
    return counts.size >= NEAR_UNIQUE_MIN and 2 * int((counts == 1).sum()) > counts.size


def _overlap(ref_counts: pd.Series, cur_counts: pd.Series) -> str:
    common = ref_counts.index.intersection(cur_counts.index)
    share = cur_counts.reindex(common).sum() / cur_counts.sum()
    return (f"distribution not compared: near-unique values (identifiers?), {ref_counts.size:,} and "
            f"{cur_counts.size:,} distinct values, {common.size:,} in common ({share:.1%} of the current "
            f"rows hold a reference value)")


def _decide(p: float, material: list[str], small: str, rule: DriftRule) -> tuple[bool, str]:
    if p < rule.alpha and material:
        return True, f"distribution changed: {' and '.join(material)}, p {format_p(p)} < {rule.alpha:g}"
    if p < rule.alpha:
        return False, f"significant (p {format_p(p)}) but small: {small}"
    return False, f"no significant difference (p {format_p(p)} ≥ {rule.alpha:g})"


def _no_values(n_ref: int, n_cur: int) -> str:
    side = "either side" if n_ref == n_cur == 0 else ("the reference" if n_ref == 0 else "the current data")
    return f"distribution not compared: no values in {side}"


def _null_change(a: pd.Series, b: pd.Series, rule: DriftRule) -> dict[str, Any]:
    null_a, null_b = int(a.isna().sum()), int(b.isna().sum())
    n_a, n_b = len(a), len(b)
    frac_a = null_a / n_a if n_a else math.nan
    frac_b = null_b / n_b if n_b else math.nan
    p = chi2_contingency(np.array([null_a, n_a - null_a]), np.array([null_b, n_b - null_b]))[1]
    change = f"null fraction {frac_a:.1%} → {frac_b:.1%}"
    # Losing every value (or gaining values where there were none) is a break whatever the sample size,
    # a table emptied to no rows included (it said "no drift": a newcomer's finding).
    lost, gained = null_a < n_a and null_b == n_b, null_a == n_a and null_b < n_b
    material = bool(n_a and n_b) and abs(frac_b - frac_a) >= rule.null and p < rule.alpha
    drifted = lost or gained or material
    if lost:
        reason = f"{change} (all values missing)" if n_b else "no rows in the current data (all values lost)"
    elif gained:
        reason = ("no rows in the reference (values gained where there were none)" if not n_a
                  else f"{change} (values where all were missing)")
    elif material:
        reason = f"{change}, p {format_p(p)}"
    else:
        reason = change if n_a and n_b and null_a / n_a != null_b / n_b else ""
    return {"a": frac_a, "b": frac_b, "p": p, "drifted": drifted, "reason": reason}


def _as_float(series: pd.Series) -> np.ndarray:
    """Values as float64 in a common unit: seconds for timestamps (UTC) and durations. NaN is dropped
    (it is a null, counted by the null test); ``±inf`` is kept: it was silently dropped, and a column
    where 30 % of the values became ``+inf`` showed no drift (a newcomer's finding)."""
    present = series.dropna()
    if pd.api.types.is_datetime64_any_dtype(present.dtype):
        if getattr(present.dtype, "tz", None) is not None:
            present = present.dt.tz_convert("UTC").dt.tz_localize(None)
        values = ((present - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
    elif pd.api.types.is_timedelta64_dtype(present.dtype):
        values = (present / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
    else:
        values = present.to_numpy(dtype=float, na_value=np.nan)
    return values[~np.isnan(values)]


DISCRETE_MAX = 10  # at most this many distinct values: binned value by value, tested by chi-squared
WASSERSTEIN_NOTE = 0.5  # a column not drifted with a Wasserstein distance of this many std says so
NEAR_UNIQUE_MIN = 10  # fewer distinct values than this is a small sample, not a column of identifiers
# ISO dates and times as a CSV writer leaves them (2024-01-31, 2024-01-31 12:00:00+01:00), and
# durations as pandas writes them (1 days 02:00:00)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_DURATION = re.compile(r"-?\d+ days? [+-]?\d{2}:\d{2}:\d{2}(?:\.\d+)?")


def _numeric_psi(a: np.ndarray, b: np.ndarray) -> float:
    """PSI of ``b`` against the reference ``a`` (no NaN, ``a`` not empty).

    Over the reference's deciles (nine inner edges; a value on an edge goes to the bin above it). A
    reference with at most :data:`DISCRETE_MAX` distinct values, each held by at least two rows on
    average (a 0/1 flag, a count of 1 to 5), has
    ties that merge deciles, so its bins are its values, each one bin, and the gaps between and
    around them: the deciles of a 0/1 column with 25 % ones are 0 and 1 up to the 80th percentile,
    and the old edges (the unique quantiles without the lowest and the highest) left one bin, so a
    flag going from 25 % to 90 % ones had PSI 0 (a newcomer's finding)."""
    values = np.unique(a)
    # (discrete: few values, each held by two rows or more on average; a small continuous sample of
    # 8 distinct draws is not, and binned by value every new draw fell in an empty gap: a reviewer's
    # PSI of 23 for two samples of one normal distribution)
    if values.size <= DISCRETE_MAX and a.size >= 2 * values.size:
        return psi(_discrete_bins(values, a), _discrete_bins(values, b))
    # The deciles of the finite values: ``+inf`` then falls in the top bin and ``-inf`` in the bottom
    # one (a quantile between two infinities is NaN, and NaN edges bin nothing).
    finite = a[np.isfinite(a)]
    inner = np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9))) if finite.size else np.empty(0)
    bins = inner.size + 1
    counts_a = np.bincount(np.searchsorted(inner, a, side="right"), minlength=bins)
    counts_b = np.bincount(np.searchsorted(inner, b, side="right"), minlength=bins)
    return psi(counts_a, counts_b)


def _discrete_bins(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Counts of ``x`` in the bins (below values[0]), [values[0]], (between), [values[1]], ... (above
    the last): bin ``2k + 1`` is the value ``values[k]``, bin ``2k`` the gap below it."""
    k = np.searchsorted(values, x, side="left")
    exact = (k < values.size) & (values[np.minimum(k, values.size - 1)] == x)
    return np.bincount(2 * k + exact, minlength=2 * values.size + 1)


def format_p(p: float) -> str:
    """A p-value as people read it: two significant digits, never a rounded-off 0 (``4.6e-05``)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "nan"
    if p == 0:
        return "< 1e-300"  # below what a double holds; the test statistic says how far
    return f"{p:.2g}"


def _listing(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + ("…" if len(names) > most else "")


def _namer(labels: Any) -> Any:
    """How labels are written in sentences: strings plainly, other labels as Python writes them, and a
    string quoted when another label has the same text (``1`` and ``'1'``)."""
    texts: dict[str, int] = {}
    for text, _ in {column_label(label) for label in labels}:
        texts[text] = texts.get(text, 0) + 1

    def show(label: Any) -> str:
        if isinstance(label, str):
            return repr(label) if texts.get(label, 0) > 1 else label
        return repr(label.item() if isinstance(label, np.generic) else label)

    return show


def _json_label(label: Any) -> Any:
    text, kind = column_label(label)
    parsers: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "bool": lambda s: s == "True"}
    return parsers.get(kind, str)(text)


def _finite(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
