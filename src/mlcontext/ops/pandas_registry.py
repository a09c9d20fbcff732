"""The registry of handled pandas operations: which methods, accessors, indexers, deferred objects and
module functions are traced, and the plain function each opcode runs.

Opcodes are stable names: ``pandas.DataFrame.<method>``, ``pandas.Series.<method>``,
``pandas.Series.str.<method>`` (accessors), ``pandas.DataFrame.loc.__getitem__`` (indexers),
``pandas.DataFrame.groupby.<method>`` (deferred objects: the grouping and the aggregation are one
item), ``pandas.<function>`` (module functions). Each is an
:class:`~mlcontext.lineage.operations.Operation` that recompute executes on plain pandas values, so
a pandas pipeline replays from its lineage log like a NumPy one, and the log parser still runs
nothing but registered operations. Operations work on plain values and never in place: a mutator
(``insert``, ``df[k] = v``) copies (shallowly, copy-on-write) and returns the new version.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LineageError
from ..lineage.operations import COARSE, Traits
from ..lineage.operations import register_operation as _register_operation
from . import pandas_frame as pf
from . import pandas_index

__all__ = ["FRAME_METHODS", "SERIES_METHODS", "DEFERRED", "NESTED", "ACCESSORS", "INDEXERS", "FUNCTIONS",
           "MUTATORS", "ITERATE", "KEYED", "register_operation", "deferred_call", "deferred_part"]

# -- methods --------------------------------------------------------------------------------------

_COMMON = """
abs add agg aggregate all any apply astype bfill between_time clip combine_first copy count cummax
cummin cumprod cumsum describe diff div divide dot drop drop_duplicates droplevel dropna duplicated eq
equals explode ffill fillna filter floordiv ge gt head idxmax idxmin infer_objects interpolate isin
isna isnull kurt le lt mask max mean median min mod mode mul multiply ne nlargest notna notnull
nsmallest nunique pct_change pow prod quantile radd rank rdiv reindex rename rename_axis
reorder_levels replace reset_index rfloordiv rmod rmul round rpow rsub rtruediv sample sem set_axis
shift skew sort_index sort_values squeeze std sub subtract sum swaplevel tail take to_numpy
transform transpose truediv truncate value_counts var where xs memory_usage convert_dtypes
first_valid_index last_valid_index add_prefix add_suffix asfreq at_time tz_convert tz_localize
to_period to_timestamp
"""
FRAME_METHODS = _COMMON + """
assign corr cov corrwith eval join map melt merge pivot pivot_table query select_dtypes set_index
stack unstack insert to_dict to_records itertuples
"""
SERIES_METHODS = _COMMON + """
between map unique argsort argmax argmin factorize to_frame to_list tolist autocorr searchsorted
repeat dot unstack
"""
#: Methods of the tables here later than the oldest supported pandas (3.0), with the release that added
#: them; any other name pandas lacks is a typo (tests/house/test_name_tables.py).
ADDED_IN: dict[str, str] = {}
# Methods whose plain call works in place (they return None): traced as a new version.
_MUTATORS = {"insert"}
# Deferred objects: ``df.groupby(...).mean()`` is one item, grouping and aggregation together.
DEFERRED = {
    "groupby": """agg aggregate all any apply count cumcount cummax cummin cumprod cumsum describe diff
        ffill bfill filter first head idxmax idxmin last max mean median min ngroup nth nunique prod
        quantile rank sem shift size skew std sum tail transform value_counts var""",
    "rolling": "agg aggregate apply count max mean median min quantile sem skew std sum var",
    "expanding": "agg aggregate apply count max mean median min quantile sem skew std sum var",
    "resample": "agg aggregate count first last max mean median min nunique ohlc prod size std sum var",
    "ewm": "mean std var sum",
}
# Windows opened on a groupby: ``df.groupby("id")["x"].rolling(2).max()`` is one item too.
NESTED = {"groupby": ("rolling", "expanding", "ewm")}
#: The operation of the k-th part iterating a deferred object yields (``for key, g in df.groupby(..)``).
ITERATE = "__iter__"
#: Deferred objects whose iteration yields ``(key, part)`` pairs; the others (windows) yield parts.
KEYED = ("groupby", "resample")
ACCESSORS = {
    "str": pd.core.strings.accessor.StringMethods,
    "dt": pd.core.indexes.accessors.CombinedDatetimelikeProperties,
    "cat": pd.core.arrays.categorical.CategoricalAccessor,
}
INDEXERS = ("loc", "iloc", "at", "iat")
FUNCTIONS = {
    "concat": pd.concat, "merge": pd.merge, "to_datetime": pd.to_datetime,
    "to_numeric": pd.to_numeric, "get_dummies": pd.get_dummies, "cut": pd.cut, "qcut": pd.qcut,
    "crosstab": pd.crosstab, "melt": pd.melt, "pivot_table": pd.pivot_table,
}


def register_operation(opcode: str, fn: Callable[..., Any]) -> None:
    """Register a pandas operation (keyword arguments replayed in the caller's order), of the cost
    class COARSE: its result is cached the first time it is computed, a frame's array too."""
    _register_operation(opcode, pf.ordered(fn), traits=_COARSE)


_COARSE = Traits(cost=COARSE)


def _functional(name: str, cls: type) -> Callable[..., Any]:
    method = getattr(cls, name)
    if name in _MUTATORS:
        def mutator(obj: Any, /, *args: Any, **kwargs: Any) -> Any:
            out = obj.copy(deep=False)
            method(out, *args, **kwargs)
            return out
        return mutator
    return method


def _setitem(obj: Any, key: Any, value: Any) -> Any:
    out = obj.copy(deep=False)  # copy-on-write: the old version is untouched
    out[key] = value
    return out


def _delitem(obj: Any, key: Any) -> Any:
    out = obj.copy(deep=False)
    del out[key]
    return out


def _setattr(obj: Any, name: str, value: Any) -> Any:
    if name not in ("columns", "index", "name"):
        raise LineageError(f"cannot set attribute {name!r}")
    out = obj.copy(deep=False)
    setattr(out, name, value)
    return out


def axis_meta(obj: Any, axis: str, names: list, freq: Any = pf.KEEP_FREQ) -> Any:
    """``obj`` with the names (and the freq) of an axis set, as an in-place rename does in pandas."""
    if axis not in ("index", "columns"):
        raise LineageError(f"no axis {axis!r}")
    out = obj.copy(deep=False)
    index = getattr(out, axis).copy()
    index.names = list(names)
    if freq is not pf.KEEP_FREQ:
        index.freq = freq
    setattr(out, axis, index)
    return out


def _set_attrs(obj: Any, attrs: dict) -> Any:
    out = obj.copy(deep=False)
    out.attrs = dict(attrs)
    return out


def _indexer_get(kind: str) -> Callable[..., Any]:
    return lambda obj, key: getattr(obj, kind)[key]


def _indexer_set(kind: str) -> Callable[..., Any]:
    def setter(obj: Any, key: Any, value: Any) -> Any:
        out = obj.copy(deep=False)
        getattr(out, kind)[key] = value
        return out
    return setter


def _accessor_method(acc: str, name: str) -> Callable[..., Any]:
    return lambda obj, *a, **k: getattr(getattr(obj, acc), name)(*a, **k)


def _accessor_property(acc: str, name: str) -> Callable[..., Any]:
    return lambda obj: getattr(getattr(obj, acc), name)


def deferred_call(factory: str, method: str | None, *, attribute: bool = False) -> Callable[..., Any]:
    """The plain function of ``obj.<factory>(*f_args, **f_kwargs)[selection].<method>(...)``; of a
    window opened on it (``factory`` ``"groupby.rolling"``, :data:`NESTED`), with ``f_args`` the
    groupby's arguments, keywords, the window's arguments and the selection made after the window,
    and ``f_kwargs`` the window's keywords:
    ``obj.groupby(*g_args, **g_kwargs)[selection].rolling(*w_args, **f_kwargs)[after].<method>(...)``.
    ``method`` None: the object the method would be called on; ``attribute``: ``method`` names an
    attribute, read instead of called."""
    outer, _, window = factory.partition(".")

    def run(obj: Any, f_args: tuple, f_kwargs: dict, selection: Any, /, *args: Any, **kwargs: Any) -> Any:
        if window:
            g_args, g_kwargs, w_args, after = f_args
            made = getattr(obj, outer)(*g_args, **g_kwargs)
        else:
            made = getattr(obj, outer)(*f_args, **f_kwargs)
        if selection is not None:
            made = made[selection]
        if window:
            made = getattr(made, window)(*w_args, **f_kwargs)
            if after is not None:
                made = made[after]
        if method is None:
            return made
        found = getattr(made, method)
        return found if attribute else found(*args, **kwargs)
    return run


def deferred_part(factory: str) -> Callable[..., Any]:
    """The plain function of the ``k``-th part that iterating ``obj.<factory>(...)[selection]``
    yields (without a group's key), with :func:`deferred_call`'s arguments."""
    made = deferred_call(factory, None)
    keyed = factory in KEYED

    def run(obj: Any, f_args: tuple, f_kwargs: dict, selection: Any, k: int, /) -> Any:
        element = next(itertools.islice(iter(made(obj, f_args, f_kwargs, selection)), k, None))
        return element[1] if keyed else element
    return run


def _timestamp(value: int, unit: str, tz: str | None) -> pd.Timestamp:
    # NumPy's stubs take a unit only as a literal string; this one is read from a lineage log.
    ts = pd.Timestamp(np.datetime64(value, unit))  # type: ignore[call-overload]
    return ts.tz_localize("UTC").tz_convert(tz) if tz else ts


def _timedelta(value: int, unit: str) -> pd.Timedelta:
    return pd.Timedelta(np.timedelta64(value, unit))  # type: ignore[call-overload]  # (as above)


def _register() -> None:
    for kind, cls, names in (("DataFrame", pd.DataFrame, FRAME_METHODS),
                             ("Series", pd.Series, SERIES_METHODS)):
        prefix = f"pandas.{kind}."
        for name in names.split():
            if callable(getattr(cls, name, None)):
                register_operation(prefix + name, _functional(name, cls))
                if name in _MUTATORS:
                    MUTATORS.add(prefix + name)
        for dunder in [f"__{n}__" for n in pf._BINARY + pf._COMPARE + pf._UNARY]:
            dunder_r = dunder.replace("__", "__r", 1)
            register_operation(prefix + dunder, getattr(cls, dunder))
            if dunder_r[3:-2] in pf._BINARY:
                register_operation(prefix + dunder_r, getattr(cls, dunder_r))
        register_operation(prefix + "__getitem__", cls.__getitem__)
        register_operation(prefix + "__setitem__", _setitem)
        register_operation(prefix + "__delitem__", _delitem)
        register_operation(prefix + "__setattr__", _setattr)
        register_operation(prefix + pf.AXIS_META, axis_meta)
        register_operation(prefix + pf.SET_ATTRS, _set_attrs)
        register_operation(prefix + "values", lambda obj: obj.values)
        for kind_ in INDEXERS:
            register_operation(f"{prefix}{kind_}.__getitem__", _indexer_get(kind_))
            register_operation(f"{prefix}{kind_}.__setitem__", _indexer_set(kind_))
        for factory, methods in DEFERRED.items():
            for method in methods.split():
                register_operation(f"{prefix}{factory}.{method}", deferred_call(factory, method))
            register_operation(f"{prefix}{factory}.{ITERATE}", deferred_part(factory))
        for outer, windows in NESTED.items():
            for window in windows:
                nested = f"{outer}.{window}"
                for method in DEFERRED[window].split():
                    register_operation(f"{prefix}{nested}.{method}", deferred_call(nested, method))
                register_operation(f"{prefix}{nested}.{ITERATE}", deferred_part(nested))
    for acc, cls in ACCESSORS.items():
        for name in dir(cls):
            if name.startswith("_") and name != "__getitem__":
                continue
            attr = getattr(cls, name)
            opcode = f"pandas.Series.{acc}.{name}"
            if isinstance(attr, property) or not callable(attr):
                register_operation(opcode, _accessor_property(acc, name))
            else:
                register_operation(opcode, _accessor_method(acc, name))
    for name, fn in FUNCTIONS.items():
        register_operation(f"pandas.{name}", fn)
    register_operation(pf.DICT, lambda keys, values: dict(zip(keys, values, strict=True)))
    for opcode, fn in pandas_index.OPERATIONS.items():  # indexes, dtypes, offsets ... as arguments
        register_operation(opcode, fn)
    register_operation("pandas.Timestamp", _timestamp)
    register_operation("pandas.Timedelta", _timedelta)


#: Opcodes of the methods that work in place in pandas (``df.insert``): traced as a new version.
MUTATORS: set[str] = set()
_register()
