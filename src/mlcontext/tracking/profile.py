"""Dataset profiles: the application context of a table (schema and per-column statistics).

A profile is computed in one vectorised pass per column. Counts, nulls, min/max, mean and std are
exact; quantiles, histograms and top values come from a uniform sample of at most ``sample_size`` rows
(default 100,000) so that profiling a million rows stays well under a second; the distinct count is a
k-minimum-values sketch over hashes of all values (relative error about 1/sqrt(k) = 3 %).

Profiles are plain data (``to_dict``/``from_dict``, JSON-safe) so they can be stored with a dataset
version and compared later without the data (:mod:`.drift`).

Columns are keyed by their **label as pandas has it**: ``1`` and ``"1"`` are two columns (a frame may
hold both), so ``Profile.columns[0]`` is the column labelled by the integer 0. A label that is not a
string, number or boolean (a tuple of a MultiIndex, a timestamp) is kept as its text. ``to_dict`` writes
the columns as a list, each with its label's type, so the JSON keeps them apart too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError, UsageError

__all__ = ["ColumnProfile", "Profile", "profile", "column_label", "SAMPLE_SIZE", "QUANTILES"]

SAMPLE_SIZE = 100_000
QUANTILES = tuple(np.round(np.linspace(0, 1, 21), 2).tolist())  # every 5 %
HISTOGRAM_BINS = 20
TOP_VALUES = 10
KMV_K = 1024
_SEED = 20180101  # a fixed sample, so profiling the same data twice gives the same profile


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column. ``kind`` is ``numeric``, ``categorical``, ``boolean`` or ``datetime``.

    ``name`` is the column's label as text and ``label_type`` the type of the label (``str``, ``int``,
    ``float``, ``bool``; another type name when the label was kept as its text).

    ``count`` is the column's rows, nulls included (pandas' ``count()`` is ``count - nulls``);
    ``nulls`` the missing values among them; ``distinct`` an estimate (about 3 %) of the distinct
    values. ``min``, ``max``, ``mean`` and ``std`` (the sample standard deviation, ``ddof=1``; None with
    fewer than two finite values, where pandas gives NaN) are exact, of the finite values; ``quantiles``,
    ``histogram`` and ``top`` come from a uniform sample of ``sample_rows`` rows.
    """

    name: str
    dtype: str
    kind: str
    count: int
    nulls: int
    distinct: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: Mapping[str, float] = field(default_factory=dict)
    histogram: Mapping[str, list] = field(default_factory=dict)  # {"edges": [...], "counts": [...]}
    top: Mapping[str, int] = field(default_factory=dict)  # value (as text) -> count in the sample
    sample_rows: int = 0
    label_type: str = "str"

    @property
    def label(self) -> Any:
        """The column's label: ``1`` for an integer label, ``"1"`` for a string one."""
        return _LABEL_PARSERS.get(self.label_type, str)(self.name)

    @property
    def null_fraction(self) -> float:
        return self.nulls / self.count if self.count else 0.0


@dataclass(frozen=True)
class Profile:
    """Schema and statistics of a table, as :func:`profile` computes them.

    Attributes
    ----------
    rows : int
        Rows of the table.
    columns : mapping
        Column label -> :class:`ColumnProfile` (dtype, kind, count, nulls, distinct, min, max,
        mean, std, quantiles, histogram, top values), in the frame's column order.

    Examples
    --------
    >>> import pandas as pd
    >>> p = mc.profile(pd.DataFrame({"x": [1.0, 2.0, None]}))
    >>> p.rows, p.schema, p.columns["x"].nulls
    (3, {'x': 'float64'}, 1)
    """

    rows: int
    columns: Mapping[Any, ColumnProfile]  # column label -> statistics, in the frame's column order

    @property
    def schema(self) -> dict[Any, str]:
        """Column label -> dtype."""
        return {label: c.dtype for label, c in self.columns.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``{"rows": n, "columns": [{"name": ..., "label_type": ..., ...}, ...]}``."""
        return {"rows": self.rows, "columns": [asdict(c) for c in self.columns.values()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """The inverse of :meth:`to_dict`; also reads the older form keyed by column name."""
        raw = data["columns"]
        listed = list(raw.values()) if isinstance(raw, Mapping) else list(raw)
        columns = [ColumnProfile(**c) for c in listed]
        return cls(rows=int(data["rows"]), columns={c.label: c for c in columns})

    def to_frame(self) -> pd.DataFrame:
        """One row per column: dtype, kind, count, nulls, distinct, min, max, mean, std."""
        keys = ["dtype", "kind", "count", "nulls", "distinct", "min", "max", "mean", "std"]
        return pd.DataFrame([{k: getattr(c, k) for k in keys} for c in self.columns.values()],
                            index=pd.Index(list(self.columns), name="column"))


def profile(frame: pd.DataFrame, *, sample_size: int = SAMPLE_SIZE) -> Profile:
    """Profile every column of ``frame``.

    Counts, nulls, min/max, mean and std are exact; quantiles, histograms and top values come from
    a uniform sample of at most ``sample_size`` rows; the distinct count is a sketch (about 3 %).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, with unique column labels.
    sample_size : int
        Rows sampled for quantiles, histograms and top values (default 100,000).

    Returns
    -------
    Profile
        ``rows`` and one :class:`ColumnProfile` per column, by label.

    Raises
    ------
    UsageError
        ``frame`` is not a DataFrame.
    InvalidArgumentError
        Column labels repeat.

    Examples
    --------
    >>> p = mc.profile(pd.DataFrame({"x": [1.0, 2.0, None], "city": ["a", "b", "a"]}))
    >>> p.columns["x"].nulls, p.columns["city"].top
    (1, {'a': 2, 'b': 1})
    """
    if not isinstance(frame, pd.DataFrame):
        raise UsageError(f"profile() needs a pandas DataFrame, got {type(frame).__name__}; wrap a Series "
                         "with .to_frame() or an array with pd.DataFrame(...)")
    sample_index = None
    if len(frame) > sample_size:
        rng = np.random.default_rng(_SEED)
        sample_index = np.sort(rng.choice(len(frame), size=sample_size, replace=False))
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise InvalidArgumentError(f"column labels {duplicated!r} are duplicated; profiles need unique "
                                   "labels (rename them, e.g. with frame.columns = [...])")
    columns = [_column(label, frame.iloc[:, i], sample_index) for i, label in enumerate(frame.columns)]
    return Profile(rows=len(frame), columns={c.label: c for c in columns})


def column_label(label: Any) -> tuple[str, str]:
    """``(text, label type)`` of a column label, from which :attr:`ColumnProfile.label` rebuilds it."""
    if isinstance(label, np.generic):
        label = label.item()
    kind = type(label).__name__
    if kind in _LABEL_PARSERS and not (kind == "float" and not math.isfinite(label)):
        return (repr(label) if kind == "float" else str(label)), kind
    return str(label), "text" if kind != "str" else "str"


def _column(label: Any, series: pd.Series, sample_index: np.ndarray | None) -> ColumnProfile:
    nulls = int(series.isna().sum())
    sample = series if sample_index is None else series.iloc[sample_index]
    sample = sample.dropna()
    name, label_type = column_label(label)
    base: dict[str, Any] = dict(name=name, label_type=label_type, dtype=str(series.dtype), count=len(series),
                                nulls=nulls, distinct=_distinct(series), sample_rows=len(sample))
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnProfile(kind="boolean", top=_top(sample), **base)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return _numeric(series, sample, base)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        present = series.dropna()
        return ColumnProfile(kind="datetime", min=_iso(present.min()), max=_iso(present.max()), **base)
    return ColumnProfile(kind="categorical", top=_top(sample), **base)


def _numeric(series: pd.Series, sample: pd.Series, base: dict[str, Any]) -> ColumnProfile:
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ColumnProfile(kind="numeric", **base)
    drawn = sample.to_numpy(dtype="float64")
    drawn = drawn[np.isfinite(drawn)]
    quantiles = np.quantile(drawn, QUANTILES) if drawn.size else np.array([])
    counts, edges = np.histogram(drawn, bins=HISTOGRAM_BINS) if drawn.size else (np.array([]), np.array([]))
    return ColumnProfile(
        kind="numeric", min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()),
        std=float(finite.std(ddof=1)) if finite.size > 1 else None,  # (0.0 said "no spread" of one value)
        quantiles={f"{q:g}": float(v) for q, v in zip(QUANTILES, quantiles, strict=False)},
        histogram={"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}, **base)


def _top(sample: pd.Series) -> dict[str, int]:
    counts = sample.astype("object").value_counts(sort=True).head(TOP_VALUES)
    return {str(k): int(v) for k, v in counts.items()}


def _distinct(series: pd.Series) -> int:
    """Distinct non-null values: exact for small or low-cardinality columns, else a KMV estimate.

    The k-minimum-values sketch keeps the k smallest distinct 64-bit hashes; their spread estimates the
    cardinality. ``np.partition`` finds candidates in O(n) (a full ``np.unique`` costs a sort or hash
    table per column); when the smallest ``4k`` hashes hold fewer than ``k`` distinct values the column
    has few distinct values, and pandas' exact count is cheap.
    """
    present = series.dropna()
    if len(present) <= 4 * KMV_K:
        return int(present.nunique())
    hashes = pd.util.hash_pandas_object(present, index=False).to_numpy()
    smallest = np.unique(np.partition(hashes, 4 * KMV_K - 1)[: 4 * KMV_K])
    if smallest.size < KMV_K:
        return int(present.nunique())
    kth = float(smallest[KMV_K - 1])
    return int(round((KMV_K - 1) / ((kth + 1.0) / 2.0**64)))


def _parse_bool(text: str) -> bool:
    return text == "True"


# Label types that round-trip through their text; other labels (tuples, timestamps) stay text.
_LABEL_PARSERS: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": _parse_bool}


def _iso(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
