"""The registry of handled pandas operations, the leaves of traced frames, and the public functions.

Opcodes are stable names: ``pandas.DataFrame.<method>``, ``pandas.Series.<method>``,
``pandas.Series.str.<method>`` (accessors), ``pandas.DataFrame.loc.__getitem__`` (indexers),
``pandas.DataFrame.groupby.<method>`` (deferred objects: the grouping and the aggregation are one
item), ``pandas.<function>`` (module functions). Each is an
:class:`~mlcontext.lineage.operations.Operation` that recompute executes on plain pandas values, so
a pandas pipeline replays from its lineage log like a NumPy one, and the log parser still runs
nothing but registered operations.

Leaves: a frame handed in (``pandas.data``, by its columnwise content hash), a file read
(``pandas.read_csv`` / ``pandas.read_parquet``, by the file's content hash and the reader's
arguments), a function passed to ``apply``/``agg``/``map`` (``python.function``, by qualified name,
code hash and closure values; lambdas are labelled with their source) and pandas scalars
(``pandas.Timestamp``, ``pandas.Timedelta``).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import io
import math
import operator
import os
import re
import sys
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FingerprintError, InvalidArgumentError, LineageError, UsageError
from ..fingerprint import hash_bytes, hash_frame, hash_function, unidentified
from ..lineage.item import Item, leaf
from ..lineage.literals import Literals, build, build_call
from ..lineage.operations import OPERATIONS, register_source
from ..lineage.operations import register_operation as _register_operation
from ..lineage.policy import current as current_policy
from ..names import check_name
from . import pandas_frame as pf
from .dispatch import HANDLED, Uncanonical, name_of
from .pandas_frame import TracedFrame, TracedSeries, _execute, _Traced, call

__all__ = ["frame", "read_csv", "read_parquet", "concat", "merge", "to_datetime", "to_numeric",
           "transformations", "get_dummies", "cut", "qcut", "FRAME_DATA", "FUNCTION", "READ_CSV",
           "READ_PARQUET"]

FRAME_DATA = "pandas.data"
FUNCTION = "python.function"
READ_CSV = "pandas.read_csv"
READ_PARQUET = "pandas.read_parquet"

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
first_valid_index last_valid_index
"""
FRAME_METHODS = _COMMON + """
assign corr cov corrwith eval join map melt merge pivot pivot_table query select_dtypes set_index
stack unstack insert to_dict to_records itertuples
"""
SERIES_METHODS = _COMMON + """
between map unique argsort argmax argmin factorize to_frame to_list tolist autocorr searchsorted
repeat dot
"""
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
    """Register a pandas operation (keyword arguments replayed in the caller's order)."""
    _register_operation(opcode, pf.ordered(fn))


def _functional(name: str, cls: type) -> Callable[..., Any]:
    method = getattr(cls, name)
    if name in _MUTATORS:
        def mutator(obj: Any, *args: Any, **kwargs: Any) -> Any:
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


def _deferred(factory: str, method: str) -> Callable[..., Any]:
    def run(obj: Any, f_args: tuple, f_kwargs: dict, selection: Any, *args: Any, **kwargs: Any) -> Any:
        made = getattr(obj, factory)(*f_args, **f_kwargs)
        if selection is not None:
            made = made[selection]
        return getattr(made, method)(*args, **kwargs)
    return run


def _register() -> None:
    for kind, cls, names in (("DataFrame", pd.DataFrame, FRAME_METHODS),
                             ("Series", pd.Series, SERIES_METHODS)):
        prefix = f"pandas.{kind}."
        for name in names.split():
            if callable(getattr(cls, name, None)):
                register_operation(prefix + name, _functional(name, cls))
                if name in _MUTATORS:
                    pf.MUTATORS.add(prefix + name)
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
        register_operation(prefix + "values", lambda obj: obj.values)
        for kind_ in INDEXERS:
            register_operation(f"{prefix}{kind_}.__getitem__", _indexer_get(kind_))
            register_operation(f"{prefix}{kind_}.__setitem__", _indexer_set(kind_))
        for factory, methods in DEFERRED.items():
            for method in methods.split():
                register_operation(f"{prefix}{factory}.{method}", _deferred(factory, method))
        pf._PROPERTIES[prefix + "T"] = lambda self: call(f"pandas.{self._kind}.transpose", (self,), {})
        pf._PROPERTIES[prefix + "values"] = lambda self: call(f"pandas.{self._kind}.values", (self,), {})
        for kind_ in INDEXERS:
            pf._PROPERTIES[prefix + kind_] = (lambda k: lambda self: _Indexer(self, k))(kind_)
        for factory in DEFERRED:
            pf._SPECIAL[prefix + factory] = (lambda f: lambda self, *a, **k: _Deferred(self, f, a, k))(
                factory)
        pf._SPECIAL[prefix + "pipe"] = _pipe
        pf._SPECIAL[prefix + "query"] = _query
        pf._SPECIAL[prefix + "eval"] = _query_eval
        pf._SPECIAL[prefix + "pop"] = _pop
        pf._SPECIAL[prefix + "sample"] = _sample
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
        pf._PROPERTIES[f"pandas.Series.{acc}"] = (lambda a: lambda self: _Accessor(self, a))(acc)
    for name, fn in FUNCTIONS.items():
        register_operation(f"pandas.{name}", fn)
    register_operation(pf.DICT, lambda keys, values: dict(zip(keys, values, strict=True)))
    register_operation(pf.INDEX, pf.build_index)
    register_operation("pandas.Timestamp", _timestamp)
    register_operation("pandas.Timedelta", _timedelta)


# -- indexers, accessors, deferred objects ----------------------------------------------------------

class _Indexer:
    """``df.loc`` / ``df.iloc`` / ``df.at`` / ``df.iat`` of a traced frame or series."""

    __slots__ = ("_owner", "_kind")

    def __init__(self, owner: _Traced, kind: str) -> None:
        self._owner, self._kind = owner, kind

    def __getitem__(self, key: Any) -> Any:
        return call(f"pandas.{self._owner._kind}.{self._kind}.__getitem__", (self._owner, key), {})

    def __setitem__(self, key: Any, value: Any) -> None:
        owner = self._owner
        result, item = _execute(f"pandas.{owner._kind}.{self._kind}.__setitem__", (owner, key, value), {})
        owner._rebind(result, item)


class _Accessor:
    """``s.str`` / ``s.dt`` / ``s.cat``: each method or property an operation of its own."""

    __slots__ = ("_owner", "_name")

    def __init__(self, owner: _Traced, name: str) -> None:
        self._owner, self._name = owner, name

    def __getattr__(self, name: str) -> Any:
        opcode = f"pandas.Series.{self._name}.{name}"
        if opcode not in OPERATIONS:
            raise AttributeError(f"'{self._name}' accessor has no attribute {name!r}")
        attr = getattr(ACCESSORS[self._name], name)
        if isinstance(attr, property) or not callable(attr):
            return call(opcode, (self._owner,), {})
        return lambda *a, **k: call(opcode, (self._owner, *a), k)

    def __getitem__(self, key: Any) -> Any:
        return call(f"pandas.Series.{self._name}.__getitem__", (self._owner, key), {})

    def __dir__(self) -> list[str]:
        return [n for n in dir(ACCESSORS[self._name]) if not n.startswith("_")]


class _Deferred:
    """``df.groupby(...)``, ``rolling``, ``resample`` ...: nothing runs until a method is called."""

    __slots__ = ("_owner", "_factory", "_args", "_kwargs", "_selection")

    def __init__(self, owner: _Traced, factory: str, args: tuple, kwargs: dict,
                 selection: Any = None) -> None:
        self._owner, self._factory, self._args, self._kwargs = owner, factory, args, kwargs
        self._selection = selection

    def __getitem__(self, key: Any) -> _Deferred:
        return _Deferred(self._owner, self._factory, self._args, self._kwargs, key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        opcode = f"pandas.{self._owner._kind}.{self._factory}.{name}"
        if opcode not in OPERATIONS:
            if self._selection is None and self._factory == "groupby" and name in self._owner.columns:
                return self[name]
            return lambda *a, **k: self._unhandled(name, a, k)
        head = (self._owner, tuple(self._args), dict(self._kwargs), self._selection)
        return lambda *a, **k: call(opcode, (*head, *a), k)

    def _unhandled(self, name: str, args: tuple, kwargs: dict) -> Any:
        fn = _deferred(self._factory, name)
        head = (self._owner, tuple(self._args), dict(self._kwargs), self._selection)
        return pf.unhandled(fn, (*head, *args), kwargs,
                            name=f"pandas.{self._owner._kind}.{self._factory}.{name}")


def _pipe(self: _Traced, fn: Any, *args: Any, **kwargs: Any) -> Any:
    # The function receives the traced frame itself: its operations are traced one by one.
    if isinstance(fn, tuple):
        fn, target = fn
        kwargs[target] = self
        return fn(*args, **kwargs)
    return fn(self, *args, **kwargs)


_AT_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def _query(self: _Traced, expr: str, **kwargs: Any) -> Any:
    return _query_like(self, "query", expr, kwargs)


def _query_eval(self: _Traced, expr: str, **kwargs: Any) -> Any:
    return _query_like(self, "eval", expr, kwargs)


def _query_like(self: _Traced, method: str, expr: str, kwargs: dict) -> Any:
    # ``@name`` refers to the caller's variables: their values become literals (or inputs) of the
    # item, handed to pandas as local_dict, so the lineage records what the expression read.
    names = _AT_NAME.findall(expr) if isinstance(expr, str) else []
    if names and "local_dict" not in kwargs:
        caller = sys._getframe(1)
        while caller.f_back is not None and caller.f_globals.get("__name__", "").startswith("mlcontext."):
            caller = caller.f_back
        scope = {**caller.f_globals, **caller.f_locals}
        kwargs = {**kwargs, "local_dict": {n: scope[n] for n in names if n in scope}, "global_dict": {}}
    if kwargs.pop("inplace", False):
        result, item = _execute(f"pandas.DataFrame.{method}", (self, expr), kwargs)
        self._rebind(result, item)
        return None
    return call(f"pandas.DataFrame.{method}", (self, expr), kwargs)


def _pop(self: _Traced, key: Any) -> Any:
    column = self[key]
    del self[key]
    return column


def _sample(self: _Traced, *args: Any, **kwargs: Any) -> Any:
    seed = kwargs.get("random_state", args[4] if len(args) > 4 else None)
    if not isinstance(seed, int | np.integer):
        # Unseeded sampling is not determined by its lineage: identified by its output instead.
        return pf.unhandled(type(self._value).sample, (self, *args), kwargs,
                            name=f"pandas.{self._kind}.sample")
    return call(f"pandas.{self._kind}.sample", (self, *args), kwargs)


# -- leaves ----------------------------------------------------------------------------------------

def frame_leaf(value: pd.DataFrame | pd.Series, label: str | None = None) -> Item:
    """The leaf of a plain frame or series, identified by its columnwise content hash."""
    kind = "frame" if isinstance(value, pd.DataFrame) else "series"
    lit = ("D", (("hash", ("s", hash_frame(value))), ("kind", ("s", kind)),
                 ("shape", ("T", tuple(("i", int(n)) for n in value.shape)))))
    return leaf(FRAME_DATA, lit, label)


def _fields(item: Item) -> dict[str, Any]:
    lit = item.literals
    if item.opcode == pf.OPAQUE_FRAME:
        lit = Literals(lit).fields
    try:
        return {k: build(v, ()) for k, v in lit[1]}
    except (TypeError, ValueError, IndexError):
        raise LineageError(f"malformed {item.opcode} literal") from None


def _checked_frame(value: Any, digest: str, what: str) -> Any:
    if isinstance(value, _Traced):
        value = value._value
    if not isinstance(value, pd.DataFrame | pd.Series):
        raise LineageError(f"the value given for {what} is a {type(value).__name__}, not a frame")
    found = hash_frame(value)
    if found != digest:
        raise LineageError(f"the value given for {what} has content hash {found}, "
                           f"the lineage recorded {digest}")
    return value.copy(deep=False)


def _frame_source(item: Item, inputs: Mapping[str, Any], resolver: Any) -> Any:
    f = _fields(item)
    what = item.label or f["hash"]
    for key in (item.label, f["hash"]):
        if key is not None and key in inputs:
            return _checked_frame(inputs[key], f["hash"], what)
    found = resolver(f["hash"]) if resolver is not None else None
    if found is None:
        raise LineageError(f"cannot recompute: no value for frame {what}; pass it in inputs= by "
                           "name or content hash, or a resolver=")
    return _checked_frame(found, f["hash"], what)


def _opaque_source(item: Item, inputs: Mapping[str, Any], resolver: Any) -> Any:
    f = _fields(item)
    value = inputs.get(f["hash"])
    if value is None and resolver is not None:
        value = resolver(f["hash"])
    name = Literals(item.literals).name
    if value is None:
        raise LineageError(f"cannot recompute the unhandled operation {name}: its output "
                           f"({f['hash']}) is neither in inputs= nor found by the resolver")
    return _checked_frame(value, f["hash"], f"the output of {name}")


def _file_source(item: Item, inputs: Mapping[str, Any], resolver: Any) -> Any:
    f = _fields(item)
    raw = None
    for key in (item.label, f["hash"]):
        if key is not None and key in inputs:
            raw = _file_bytes(inputs[key])
            break
    if raw is None and resolver is not None:
        found = resolver(f["hash"])
        raw = None if found is None else _file_bytes(found)
    if raw is None:
        raise LineageError(f"cannot recompute: no bytes for file {item.label or f['hash']}; pass its "
                           "path or bytes in inputs= by name or content hash")
    if hash_bytes(raw) != f["hash"]:
        raise LineageError(f"the file given for {item.label or f['hash']} has content hash "
                           f"{hash_bytes(raw)}, the lineage recorded {f['hash']}")
    reader = pd.read_csv if item.opcode == READ_CSV else _parquet_reader()
    return reader(io.BytesIO(raw), **f["kwargs"])


def _file_bytes(x: Any) -> bytes:
    if isinstance(x, bytes | bytearray | memoryview):
        return bytes(x)
    if isinstance(x, str | os.PathLike):
        return Path(x).read_bytes()
    if hasattr(x, "read"):
        return x.read()
    raise LineageError(f"a file is given as a path or bytes, not {type(x).__name__}")


# Functions: a leaf per (qualified name, identity): the identity is mlcontext.fingerprint's one
# function identity (code, defaults, closure cells, the globals it reads, package versions), hashed at
# every call, so a helper or a global changed between calls gives another leaf. Functions seen while
# tracing are remembered so that recompute in the same process finds them; another process passes
# them in inputs= by qualified name. Functions without Python code are only found among NumPy's
# handled functions, the math and operator modules and a few pure builtins (never exec, open ...).
_FUNCTIONS: dict[str, Any] = {}
_NONCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SAFE_BUILTINS = {"len", "abs", "round", "str", "int", "float", "bool", "min", "max", "sum",
                  "sorted", "any", "all", "repr", "tuple", "list", "set", "frozenset"}
# Arithmetic and comparisons only: attrgetter, itemgetter, methodcaller and call reach any attribute
# or method of the values they are given (and from there __import__), so a log never names them.
_SAFE_OPERATORS = {"abs", "add", "and_", "contains", "eq", "floordiv", "ge", "gt", "inv", "invert",
                   "le", "lshift", "lt", "mod", "mul", "ne", "neg", "not_", "or_", "pos", "pow",
                   "rshift", "sub", "truediv", "truth", "xor"}


def function_leaf(fn: Any) -> Item:
    """The leaf of a function argument (``apply``, ``agg``, ``map``, ``pipe``, a
    ``FunctionTransformer``'s ``func`` ...)."""
    name = _qualname(fn)
    code = getattr(fn, "__code__", None)
    fields: tuple = (("identity", ("s", _identity(fn, name))), ("qualname", ("s", name)))
    if code is None:
        fields = (("builtin", ("b", True)), *fields)
        label = name
    else:
        label = _lambda_source(fn) if getattr(fn, "__name__", None) == "<lambda>" else name
    item = leaf(FUNCTION, ("D", fields), label)
    _FUNCTIONS.setdefault(item.hash, fn)
    return item


def _qualname(fn: Any) -> str:
    if isinstance(fn, np.ufunc):
        return f"numpy.{fn.__name__}"
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return f"{module}.{getattr(fn, '__qualname__', None) or type(fn).__qualname__}"


def _identity(fn: Any, name: str) -> str:
    # What cannot be identified makes the function unique to this object: never reused, never wrongly
    # reused, and said once (strict mode raises).
    try:
        return hash_function(fn)
    except FingerprintError as exc:
        unidentified(f"function {name}", exc)
        try:
            nonce = _NONCES.get(fn)
            if nonce is None:
                nonce = _NONCES[fn] = "unique:" + uuid.uuid4().hex
        except TypeError:  # neither weakly referable nor hashable: unique to this very call
            nonce = "unique:" + uuid.uuid4().hex
        return nonce


def _lambda_source(fn: Any) -> str:
    """The source text of a lambda (its label): the shortest parseable ``lambda ...`` on its line."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        return "<lambda>"
    text = " ".join(text[text.find("lambda"):].split())
    ends = [m.start() for m in re.finditer(r"[,)\]}]", text)] + [len(text)]
    for end in ends:
        try:
            ast.parse(text[:end], mode="eval")
        except SyntaxError:
            continue
        return text[:end][:200]
    return "<lambda>"


def _function_source(item: Item, inputs: Mapping[str, Any], resolver: Any) -> Any:
    f = _fields(item)
    given = inputs.get(item.label) if item.label else None
    given = given if given is not None else inputs.get(f["qualname"])
    if given is not None:
        if function_leaf(given).hash != item.hash:
            raise LineageError(f"the function given for {f['qualname']} has other code than the one "
                               "the lineage recorded")
        return given
    # A log is data: it may name any function. Only pure functions of a fixed list run on their
    # name alone; functions traced in this process only for a log the caller trusts (issue 13).
    fn = _FUNCTIONS.get(item.hash) if current_policy().trusted else None
    if fn is None and f.get("builtin"):
        fn = _named_function(f["qualname"])
    if fn is None:
        key = item.label or f["qualname"]  # a lambda is found by its source text
        if current_policy().trusted:  # trusted=True only reuses functions traced in this process
            raise LineageError(f"cannot recompute: function {key} was not traced in this process, so "
                               "trusted=True cannot supply it; pass it in "
                               f"inputs={{{key!r}: ...}} (its code must match the recorded hash)")
        raise LineageError(f"cannot recompute: function {key} is refused; pass it in "
                           f"inputs={{{key!r}: ...}}, or trusted=True for a log you wrote yourself "
                           "in this process")
    return fn


def _named_function(qualname: str) -> Any:
    module, _, name = qualname.rpartition(".")
    if module == "builtins" and name in _SAFE_BUILTINS:
        return getattr(builtins, name)
    if module == "math" or module == "operator" and name in _SAFE_OPERATORS:
        fn = getattr(math if module == "math" else operator, name, None)
        return fn if callable(fn) and not name.startswith("_") else None
    if module == "numpy" and isinstance(getattr(np, name, None), np.ufunc):
        return getattr(np, name)  # ufuncs are pure
    for func in HANDLED:
        if name_of(func) == qualname or _qualname(func) == qualname:
            return func
    return None


def _timestamp(value: int, unit: str, tz: str | None) -> pd.Timestamp:
    ts = pd.Timestamp(np.datetime64(value, unit))
    return ts.tz_localize("UTC").tz_convert(tz) if tz else ts


def _timedelta(value: int, unit: str) -> pd.Timedelta:
    return pd.Timedelta(np.timedelta64(value, unit))


def _timestamp_item(ts: pd.Timestamp) -> Item:
    # A pandas scalar is a constant item: its exact value (in its own unit) and time zone.
    naive = ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts
    raw = naive.to_datetime64()
    tz = ("n", None) if ts.tz is None else ("s", str(ts.tz))
    args = (("i", int(raw.view("i8"))), ("s", np.datetime_data(raw.dtype)[0]), tz)
    return leaf("pandas.Timestamp", ("T", (("T", args), ("D", ()))))


def _timedelta_item(td: pd.Timedelta) -> Item:
    raw = td.to_timedelta64()
    args = (("i", int(raw.view("i8"))), ("s", np.datetime_data(raw.dtype)[0]))
    return leaf("pandas.Timedelta", ("T", (("T", args), ("D", ()))))


# -- constructors and module functions ------------------------------------------------------------

def frame(data: Any, name: str | None = None) -> TracedFrame | TracedSeries:
    """A traced frame (or series): a leaf identified by its content hash, labelled ``name``.

    The data is not copied: copy-on-write keeps the traced version apart from ``data``, which may be
    changed afterwards without changing the traced frame or its lineage.

    Examples
    --------
    >>> import pandas as pd, mlcontext as mc
    >>> trips = mc.frame(pd.DataFrame({"duration": [5.0, -1.0, 12.0]}), name="trips")
    >>> ok = trips[trips.duration >= 0]
    >>> ok.lineage.opcode, len(ok)
    ('pandas.DataFrame.__getitem__', 2)

    Raises
    ------
    UsageError
        ``data`` is of a kind ``pandas.DataFrame`` does not take (a scalar, ``None``, a function).
    InvalidArgumentError
        pandas refuses ``data``'s content (columns of different lengths ...); the message says why.
    FingerprintError
        A column holds values without a fingerprint (arbitrary objects).
    """
    if isinstance(data, _Traced):
        return data
    if name is not None:
        check_name(name, "frame")
    value = data.copy(deep=False) if isinstance(data, pd.DataFrame | pd.Series) else _new_frame(data)
    item = frame_leaf(value, name)
    cls = TracedFrame if isinstance(value, pd.DataFrame) else TracedSeries
    return cls(value, item)


def _new_frame(data: Any) -> pd.DataFrame:
    """``pd.DataFrame(data)``, with pandas' refusal said as an mlcontext error."""
    if data is None or isinstance(data, str | bytes | np.generic) or callable(data) or not (
            isinstance(data, Iterable) or hasattr(data, "__array__") or hasattr(data, "__dataframe__")):
        raise UsageError(
            f"mc.frame takes a pandas DataFrame or Series, or data pandas.DataFrame(...) accepts (a dict "
            f"of columns, a list of rows, a 2-d array), not the {type(data).__name__} {_short(data)}")
    try:
        return pd.DataFrame(data)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"mc.frame: pandas cannot make a DataFrame of this "
                                   f"{type(data).__name__}: {exc}; pass a DataFrame, a dict of columns "
                                   "of equal length, or a list of rows") from None


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        return "..."
    return text if len(text) <= 40 else text[:37] + "..."


def _read(opcode: str, reader: Callable[..., Any], source: Any, name: str | None,
          kwargs: dict) -> TracedFrame:
    raw = _file_bytes(source)
    label = name or (Path(source).name if isinstance(source, str | os.PathLike) else None)
    if name is not None:
        check_name(name, "frame")
    value = reader(io.BytesIO(raw), **kwargs)
    col = pf.FrameArgs()
    try:
        kw_node, _ = col.canon_kwargs(kwargs)
        if col.items:
            raise Uncanonical("an argument with lineage")
    except Uncanonical:
        return TracedFrame(value, frame_leaf(value, label))  # identified by the frame's content
    lit = ("D", (("hash", ("s", hash_bytes(raw))), ("kwargs", kw_node)))
    return TracedFrame(value, leaf(opcode, lit, label))


def read_csv(path: Any, name: str | None = None, **kwargs: Any) -> TracedFrame:
    """Read a CSV file as a traced frame identified by the file's content hash and the arguments.

    Examples
    --------
    >>> import io, mlcontext as mc
    >>> df = mc.read_csv(io.BytesIO(b"a,b\\n1,2\\n3,4\\n"), name="small")
    >>> df.lineage.opcode, df.a.sum().item()
    ('pandas.read_csv', 4)
    """
    return _read(READ_CSV, pd.read_csv, path, name, kwargs)


def _parquet_reader() -> Callable[..., Any]:
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
        except ImportError:
            continue
        return pd.read_parquet
    raise ImportError("mc.read_parquet needs pyarrow or fastparquet, and neither is installed: "
                      "pip install pyarrow (a dependency of mlcontext: the installation is incomplete)")


def read_parquet(path: Any, name: str | None = None, **kwargs: Any) -> TracedFrame:
    """Read a Parquet file as a traced frame (needs pyarrow or fastparquet)."""
    return _read(READ_PARQUET, _parquet_reader(), path, name, kwargs)


def _module_function(name: str) -> Callable[..., Any]:
    def fn(*args: Any, **kwargs: Any) -> Any:
        return call(f"pandas.{name}", args, kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Traced :func:`pandas.{name}` (arguments may be traced frames and series)."
    return fn


concat = _module_function("concat")
merge = _module_function("merge")
to_datetime = _module_function("to_datetime")
to_numeric = _module_function("to_numeric")
get_dummies = _module_function("get_dummies")
cut = _module_function("cut")
qcut = _module_function("qcut")
crosstab = _module_function("crosstab")
melt = _module_function("melt")
pivot_table = _module_function("pivot_table")


_register()
pf.LEAVES.frame = frame_leaf
pf.LEAVES.function = function_leaf
pf.LEAVES.constant[pd.Timestamp] = _timestamp_item
pf.LEAVES.constant[pd.Timedelta] = _timedelta_item
register_source(FRAME_DATA, _frame_source)
register_source(pf.OPAQUE_FRAME, _opaque_source)
register_source(READ_CSV, _file_source)
register_source(READ_PARQUET, _file_source)
register_source(FUNCTION, _function_source)


# -- reading lineage back as transformations -------------------------------------------------------

_SYMBOLS = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__floordiv__": "//",
            "__mod__": "%", "__pow__": "**", "__and__": "&", "__or__": "|", "__xor__": "^",
            "__lt__": "<", "__le__": "<=", "__eq__": "==", "__ne__": "!=", "__gt__": ">", "__ge__": ">="}
_FRAME_OPS = ("pandas.DataFrame.", "pandas.Series.", "pandas.concat", "pandas.merge")


def transformations(x: Any) -> list[str]:
    """The chain of transformations that made ``x``, oldest first, as a person would read them.

    Follows each operation's first input (the frame it transforms) back to the leaf; arguments
    that are series computed from that frame are written as expressions.

    Examples
    --------
    >>> import pandas as pd, mlcontext as mc
    >>> trips = mc.frame(pd.DataFrame({"duration": [5.0, -1.0], "zone": [1, 2]}), name="trips")
    >>> ok = trips[trips.duration >= 0].dropna()
    >>> mc.pd.transformations(ok.groupby("zone").duration.mean())
    ['frame trips', 'filter duration >= 0', 'dropna', "groupby 'zone' ['duration'] mean"]
    """
    item = x if isinstance(x, Item) else x.lineage
    chain = [item]
    while item.inputs and item.opcode != pf.OPAQUE_FRAME:
        item = item.inputs[0]
        chain.append(item)
    return [_describe(i) for i in reversed(chain)]


def _describe(item: Item) -> str:
    op = item.opcode
    if not item.inputs:
        name = {FRAME_DATA: "frame", READ_CSV: "read_csv", READ_PARQUET: "read_parquet"}.get(op, op)
        return f"{name} {item.label or item.hash[:12]}"
    if op == pf.OPAQUE_FRAME:
        return f"unhandled {Literals(item.literals).name}"
    args, kwargs = _rendered_call(item)
    kind, _, method = op.removeprefix("pandas.").partition(".")
    rest = args[1:]
    if method == "__getitem__" and rest and item.inputs[1:] and _is_series(item.inputs[-1]):
        return f"filter {rest[0]}"
    if method in ("__setitem__", "loc.__setitem__"):
        return f"set {' '.join(rest[:-1])} = {rest[-1]}"
    factory, _, agg = method.partition(".")
    if factory in DEFERRED and agg:
        by, fkw, sel = rest[:3]
        words = [factory, by.strip("()").rstrip(",")]
        if fkw != "{}":
            words.append(fkw)
        if sel != "None":
            words.append(f"[{sel}]" if not sel.startswith("[") else sel)
        return " ".join([*words, agg, *rest[3:], *kwargs]).strip()
    return " ".join([method.strip("_") or kind, *rest, *kwargs]).strip()


def _is_series(item: Item) -> bool:
    return item.opcode.startswith("pandas.Series.") or (
        item.opcode == "pandas.DataFrame.__getitem__" and Literals(item.literals).arg(1)[0] == "s")


def _rendered_call(item: Item) -> tuple[list[str], list[str]]:
    names = [_expression(i, 3) for i in item.inputs]
    try:
        args, kwargs = build_call(item.literals, [_Rendered(n) for n in names])
    except LineageError:
        return names, []
    order = kwargs.pop(pf.ORDER, None)
    if order is not None:
        kwargs = {k: kwargs[k] for k in order}
    return [repr(a) for a in args], [f"{k}={v!r}" for k, v in kwargs.items()]


class _Rendered(str):
    """An input written as an expression: its repr is the expression itself."""

    def __repr__(self) -> str:
        return str(self)


def _expression(item: Item, depth: int) -> str:
    op = item.opcode
    if not item.inputs:
        return item.label or ("function" if op == FUNCTION else op.rpartition(".")[2])
    method = op.rpartition(".")[2]
    if depth <= 0 or not op.startswith(_FRAME_OPS):
        return "…"
    if op == "pandas.DataFrame.__getitem__" and Literals(item.literals).arg(1)[0] == "s":
        return build(Literals(item.literals).arg(1), ())
    args, _ = build_call(item.literals, [_Rendered(_expression(i, depth - 1)) for i in item.inputs])
    symbol = _SYMBOLS.get(method)
    if symbol is not None and len(args) == 2:
        return f"({args[0]!r} {symbol} {args[1]!r})" if depth < 3 else f"{args[0]!r} {symbol} {args[1]!r}"
    if method == "__invert__":
        return f"~{args[0]!r}"
    return f"{args[0]!r}.{method}({', '.join(repr(a) for a in args[1:])})" if args else method

