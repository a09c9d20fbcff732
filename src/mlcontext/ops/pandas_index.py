"""Index-likes, pandas arrays, dtypes and scalars given as arguments: items that rebuild them exactly.

``t.reindex(pd.date_range(...))``, ``t.loc[idx]``, ``t.set_axis(idx)``, ``s.ewm(halflife="2D",
times=s.index)``, ``t.shift(freq=pd.offsets.MonthEnd())``, ``t.astype(pd.StringDtype())``: an
argument that is an Index of any kind, a pandas array (``DatetimeArray``, ``Categorical`` ...), a
pandas dtype, a date offset, a ``Period``, an ``Interval``, ``NaT``, ``NA`` or a Python ``datetime``
becomes an input item of the call. Its literal holds parts that have literal forms (numbers,
strings, other such items, NumPy arrays as content-hashed data leaves), and its registered operation
(:func:`register`) rebuilds the same object, so recompute needs nothing from the caller:

==============================  =====================================================================
``pandas.Index``                values (numbers as an array, others as a list), names, dtype
``pandas.RangeIndex``           start, stop, step, name
``pandas.DatetimeIndex``        the instants (``datetime64``, UTC), time zone, freq, name
``pandas.TimedeltaIndex``       the durations (``timedelta64``), freq, name
``pandas.PeriodIndex``          the ordinals, freq, name
``pandas.IntervalIndex``        left and right (Indexes), closed side, dtype, name
``pandas.CategoricalIndex``     codes, categories (an Index), ordered, name
``pandas.MultiIndex``           levels (Indexes), codes, names
``pandas.array``                the Index of a pandas array (the array is the Index's ``.array``)
``pandas.dtype``                a pandas dtype (``pandas.CategoricalDtype``: categories, ordered)
``pandas.DateOffset``           the offset's class, ``n``, ``normalize`` and keywords
``pandas.Period`` ...           a Period (ordinal, freq), an Interval, NaT, NA, ``datetime.*``
==============================  =====================================================================

Everything pandas' result may depend on is a part, so the hash tells apart indexes that differ in
values, dtype (unit, storage), time zone, freq, closed side, categories or names. A part without a
literal form (a name that is an arbitrary object, a time zone its name does not rebuild, an offset
with a holiday calendar) makes the argument uncanonical: the call is computed on plain values with
an opaque item (:func:`~.dispatch.unhandled`), never given a wrong identity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray, ExtensionDtype
from pandas.api.types import pandas_dtype

from ..lineage.item import Item, leaf, make
from ..lineage.literals import Node
from . import pandas_frame as pf
from .dispatch import Uncanonical

__all__ = ["VALUES", "value_item", "CONSTANTS", "OPERATIONS", "build_index"]

#: What :func:`value_item` takes (matched with ``isinstance``; the scalars of :data:`CONSTANTS` by type).
VALUES = (pd.Index, ExtensionArray, ExtensionDtype, pd.offsets.BaseOffset)


def value_item(x: Any) -> Item:
    """The item that rebuilds ``x``, one of :data:`VALUES`.

    Raises
    ------
    Uncanonical
        ``x`` (or a part of it) has no literal form.
    """
    encode = _INDEXES.get(type(x))
    if encode is not None:
        return _made(*encode(x))
    if isinstance(x, ExtensionArray):
        return _array(x)
    if isinstance(x, ExtensionDtype):
        return _dtype_item(x)
    if isinstance(x, pd.offsets.BaseOffset):
        return _offset_item(x)
    raise Uncanonical(type(x).__name__)  # an Index subclass of another package


def _made(opcode: str, args: tuple) -> Item:
    sub = pf.FrameArgs()
    lit, _, _ = sub.call(args, {})
    return make(opcode, tuple(sub.items), lit)


def _constant(opcode: str, args: tuple) -> Item:
    """A leaf whose literal is the call of ``opcode`` on ``args`` (which have literal forms)."""
    sub = pf.FrameArgs()
    lit, _, _ = sub.call(args, {})
    if sub.items:  # (a part that is an item of its own: not a constant)
        return make(opcode, tuple(sub.items), lit)
    return leaf(opcode, lit)


# -- dtypes and time zones ------------------------------------------------------------------------------

def dtype_spec(dtype: Any) -> Any:
    """A literal that :func:`dtype_of` turns back into ``dtype``: NumPy's dtypes and pandas' by their
    names (``"int64"``, ``"Int64"``, ``"datetime64[us, UTC]"``), a string dtype by storage and missing
    value (both spell ``"str"``), a categorical one by its categories and order."""
    if isinstance(dtype, np.dtype):
        return str(dtype)
    if isinstance(dtype, pd.StringDtype):
        text = str(dtype)
        if _same_dtype(pandas_dtype(text), dtype):
            return text  # the default storage: the name pandas prints
        return (dtype.storage, "nan" if dtype.na_value is not pd.NA else "NA")
    if isinstance(dtype, pd.CategoricalDtype):
        return dtype  # (an item of its own, as an argument: its categories are an Index)
    text = str(dtype)
    try:
        again = pandas_dtype(text)
    except (TypeError, ValueError):
        again = None
    if again is None or not _same_dtype(again, dtype):
        raise Uncanonical(f"dtype {text}")
    return text


def dtype_of(spec: Any) -> Any:
    """The dtype :func:`dtype_spec` recorded."""
    if isinstance(spec, tuple):
        storage, na = spec
        return pd.StringDtype(storage, na_value=np.nan if na == "nan" else pd.NA)
    return spec if isinstance(spec, pd.CategoricalDtype) else pandas_dtype(spec)


def _same_dtype(a: Any, b: Any) -> bool:
    # ``==`` is loose for some pandas dtypes: StringDtype ignores its storage where one side has the
    # default, DatetimeTZDtype compares time zones by name; the parts that make results differ count.
    return (type(a) is type(b) and a == b
            and getattr(a, "storage", None) == getattr(b, "storage", None)
            and repr(getattr(a, "na_value", None)) == repr(getattr(b, "na_value", None))
            and type(getattr(a, "tz", None)) is type(getattr(b, "tz", None)))


def _dtype_item(dtype: ExtensionDtype) -> Item:
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return _made("pandas.CategoricalDtype", (categories, dtype.ordered))
    return _constant("pandas.dtype", (dtype_spec(dtype),))


def _categorical_dtype(categories: pd.Index | None, ordered: bool | None) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(categories, ordered=ordered)


def tz_text(tz: Any) -> str | None:
    """The name of a time zone that pandas turns back into the same one (``None`` for none)."""
    if tz is None:
        return None
    text = str(tz)
    try:
        again = pd.DatetimeTZDtype("ns", text).tz
    except (TypeError, ValueError, KeyError):
        again = None
    if again is None or type(again) is not type(tz) or again != tz:
        raise Uncanonical(f"time zone {text}")  # (pytz, dateutil, fixed offsets: by content instead)
    return text


# -- indexes --------------------------------------------------------------------------------------------

INDEX = pf.INDEX  # values, names, dtype, multi (the first form, also read from older logs)


def _index(x: pd.Index) -> tuple[str, tuple]:
    # Numbers by their array (a content-hashed data leaf: a long Index costs a hash, not a literal
    # per value), other values as a list of literals (strings, objects, nullable and Arrow dtypes).
    numbers = isinstance(x.dtype, np.dtype) and x.dtype.kind in "iufcb"
    return INDEX, (x.to_numpy() if numbers else x.tolist(), list(x.names), dtype_spec(x.dtype), False)


def build_index(values: list | np.ndarray, names: list, dtype: Any, multi: bool) -> pd.Index:
    """The Index of :data:`INDEX` (``multi``: a MultiIndex of tuples, written by older versions)."""
    if multi:
        return pd.MultiIndex.from_tuples(values, names=names)
    # (tupleize_cols: an object Index of tuples stays one; a MultiIndex has its own operation)
    return pd.Index(values, dtype=dtype_of(dtype), name=names[0], tupleize_cols=False)


def _range(x: pd.RangeIndex) -> tuple[str, tuple]:
    return "pandas.RangeIndex", (x.start, x.stop, x.step, x.name)


def _range_index(start: int, stop: int, step: int, name: Any) -> pd.RangeIndex:
    return pd.RangeIndex(start, stop, step, name=name)


def _datetimes(x: pd.DatetimeIndex) -> tuple[str, tuple]:
    # The instants in UTC, whatever the time zone: asi8 holds them (no copy).
    values = x.asi8.view(f"M8[{x.unit}]")
    return "pandas.DatetimeIndex", (values, tz_text(x.tz), x.freq, x.name)


def _datetime_index(values: np.ndarray, tz: str | None, freq: Any, name: Any) -> pd.DatetimeIndex:
    index = pd.DatetimeIndex(values, name=name)
    if tz is not None:
        index = index.tz_localize("UTC").tz_convert(tz)
    return index if freq is None else pd.DatetimeIndex(index, freq=freq)


def _timedeltas(x: pd.TimedeltaIndex) -> tuple[str, tuple]:
    return "pandas.TimedeltaIndex", (x.asi8.view(f"m8[{x.unit}]"), x.freq, x.name)


def _timedelta_index(values: np.ndarray, freq: Any, name: Any) -> pd.TimedeltaIndex:
    return pd.TimedeltaIndex(values, freq=freq, name=name)


def _periods(x: pd.PeriodIndex) -> tuple[str, tuple]:
    freq = x.freqstr
    if pd.PeriodDtype(freq) != x.dtype:
        raise Uncanonical(f"period freq {freq}")
    return "pandas.PeriodIndex", (x.asi8, freq, x.name)


def _period_index(ordinals: np.ndarray, freq: str, name: Any) -> pd.PeriodIndex:
    return pd.PeriodIndex.from_ordinals(ordinals, freq=freq, name=name)


def _intervals(x: pd.IntervalIndex) -> tuple[str, tuple]:
    return "pandas.IntervalIndex", (x.left, x.right, x.closed, dtype_spec(x.dtype), x.name)


def _interval_index(left: pd.Index, right: pd.Index, closed: Any, dtype: str, name: Any) -> pd.IntervalIndex:
    return pd.IntervalIndex.from_arrays(left, right, closed=closed, dtype=dtype_of(dtype), name=name)


def _categories(x: pd.CategoricalIndex) -> tuple[str, tuple]:
    return "pandas.CategoricalIndex", (np.asarray(x.codes), x.categories, x.ordered, x.name)


def _categorical_index(codes: np.ndarray, categories: pd.Index, ordered: bool,
                       name: Any) -> pd.CategoricalIndex:
    dtype = pd.CategoricalDtype(categories, ordered=ordered)
    return pd.CategoricalIndex(pd.Categorical.from_codes(codes, dtype=dtype), name=name)


def _multi(x: pd.MultiIndex) -> tuple[str, tuple]:
    # By levels and codes, not tuples: the levels keep their dtypes (and unused values), as pandas does.
    return "pandas.MultiIndex", (list(x.levels), [np.asarray(c) for c in x.codes], list(x.names))


def _multi_index(levels: list, codes: list, names: list) -> pd.MultiIndex:
    return pd.MultiIndex(levels=levels, codes=codes, names=names)


_INDEXES: dict[type, Callable[[Any], tuple[str, tuple]]] = {
    pd.Index: _index, pd.RangeIndex: _range, pd.DatetimeIndex: _datetimes,
    pd.TimedeltaIndex: _timedeltas, pd.PeriodIndex: _periods, pd.IntervalIndex: _intervals,
    pd.CategoricalIndex: _categories, pd.MultiIndex: _multi,
}


def _array(x: ExtensionArray) -> Item:
    # A pandas array is the ``.array`` of the Index made of it, for the kinds where that gives back
    # an array of the same type and dtype (all of pandas' but sparse ones).
    index = pd.Index(x)
    again = index.array
    if type(again) is not type(x) or not _same_dtype(again.dtype, x.dtype):
        raise Uncanonical(type(x).__name__)
    return _made("pandas.array", (index,))


def _array_of(index: pd.Index) -> ExtensionArray:
    return index.array


# -- scalars --------------------------------------------------------------------------------------------

_EMPTY_CALL: Node = ("T", (("T", ()), ("D", ())))


def _offset_item(offset: pd.offsets.BaseOffset) -> Item:
    cls = type(offset)
    if getattr(pd.offsets, cls.__name__, None) is not cls:
        raise Uncanonical(cls.__name__)
    kwds = dict(offset.kwds)
    try:
        again = _offset(cls.__name__, offset.n, offset.normalize, kwds)
    except (TypeError, ValueError):
        again = None
    if type(again) is not cls or again != offset:  # (keywords it does not describe itself by)
        raise Uncanonical(f"offset {offset!r}")
    return _constant("pandas.DateOffset", (cls.__name__, offset.n, offset.normalize, kwds))


def _offset(name: str, n: int, normalize: bool, kwds: dict) -> pd.offsets.BaseOffset:
    cls = getattr(pd.offsets, name)
    if not (isinstance(cls, type) and issubclass(cls, pd.offsets.BaseOffset)):
        raise TypeError(f"pandas.offsets.{name} is not a date offset")
    # (Day refuses the keyword normalize even when it is False)
    return cls(n, normalize=True, **kwds) if normalize else cls(n, **kwds)


def _period_item(p: pd.Period) -> Item:
    freq = p.freqstr
    if pd.Period(ordinal=p.ordinal, freq=freq) != p:
        raise Uncanonical(f"period freq {freq}")
    return _constant("pandas.Period", (p.ordinal, freq))


def _period(ordinal: int, freq: str) -> pd.Period:
    return pd.Period(ordinal=ordinal, freq=freq)


def _interval_item(i: pd.Interval) -> Item:
    return _constant("pandas.Interval", (i.left, i.right, i.closed))


def _interval(left: Any, right: Any, closed: Any) -> pd.Interval:
    return pd.Interval(left, right, closed=closed)


def _datetime_item(x: dt.datetime) -> Item:
    parts = (x.year, x.month, x.day, x.hour, x.minute, x.second, x.microsecond, x.fold)
    return _constant("datetime.datetime", (*parts, tz_text(x.tzinfo)))


def _datetime(year: int, month: int, day: int, hour: int, minute: int, second: int, microsecond: int,
              fold: int, tz: str | None) -> dt.datetime:
    tzinfo = None if tz is None else pd.DatetimeTZDtype("ns", tz).tz
    return dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=tzinfo, fold=fold)


def _date_item(x: dt.date) -> Item:
    return _constant("datetime.date", (x.year, x.month, x.day))


def _time_item(x: dt.time) -> Item:
    if x.tzinfo is not None:
        raise Uncanonical("time with a time zone")
    return _constant("datetime.time", (x.hour, x.minute, x.second, x.microsecond, x.fold))


def _time(hour: int, minute: int, second: int, microsecond: int, fold: int) -> dt.time:
    return dt.time(hour, minute, second, microsecond, fold=fold)


def _duration_item(x: dt.timedelta) -> Item:
    return _constant("datetime.timedelta", (x.days, x.seconds, x.microseconds))


def _duration(days: int, seconds: int, microseconds: int) -> dt.timedelta:
    return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)


#: Scalars that become constant items, by exact type (``pd.Timestamp`` and ``pd.Timedelta`` are
#: :mod:`.pandas_leaves`' own).
CONSTANTS: dict[type, Callable[[Any], Item]] = {
    type(pd.NaT): lambda _: leaf("pandas.NaT", _EMPTY_CALL),
    type(pd.NA): lambda _: leaf("pandas.NA", _EMPTY_CALL),
    pd.Period: _period_item, pd.Interval: _interval_item, dt.datetime: _datetime_item,
    dt.date: _date_item, dt.time: _time_item, dt.timedelta: _duration_item,
}

#: The registered operations that rebuild the values, by opcode (:mod:`.pandas_registry` registers them).
OPERATIONS: dict[str, Callable[..., Any]] = {
    INDEX: build_index, "pandas.RangeIndex": _range_index, "pandas.DatetimeIndex": _datetime_index,
    "pandas.TimedeltaIndex": _timedelta_index, "pandas.PeriodIndex": _period_index,
    "pandas.IntervalIndex": _interval_index, "pandas.CategoricalIndex": _categorical_index,
    "pandas.MultiIndex": _multi_index, "pandas.array": _array_of, "pandas.dtype": dtype_of,
    "pandas.CategoricalDtype": _categorical_dtype, "pandas.DateOffset": _offset,
    "pandas.NaT": lambda: pd.NaT, "pandas.NA": lambda: pd.NA, "pandas.Period": _period,
    "pandas.Interval": _interval, "datetime.datetime": _datetime, "datetime.date": dt.date,
    "datetime.time": _time, "datetime.timedelta": _duration,
}
