"""The leaves of traced pandas: what an argument that is not traced becomes in lineage.

A frame handed in (``pandas.data``, by its columnwise content hash), a file read
(``pandas.read_csv`` / ``pandas.read_parquet``, by the file's content hash and the reader's
arguments), a function passed to ``apply``/``agg``/``map`` (``python.function``, by qualified name,
code hash and closure values; lambdas are labelled with their source), pandas scalars
(``pandas.Timestamp``, ``pandas.Timedelta``) and, by :mod:`.pandas_index`, indexes, pandas arrays,
dtypes, date offsets and the other pandas and ``datetime`` scalars. Each leaf kind has a *source*
(registered with :func:`~mlcontext.lineage.operations.register_source`) that recompute uses to find
its value again.
:mod:`mlcontext.ops` hands these leaves to traced frames (:func:`.pandas_frame.install`).
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
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FingerprintError, LineageError
from ..fingerprint import hash_bytes, hash_frame, hash_function, unidentified
from ..lineage.item import Item, leaf
from ..lineage.literals import Literals, build
from ..lineage.operations import register_source
from ..lineage.policy import current as current_policy
from . import pandas_index
from .dispatch import HANDLED, name_of
from .pandas_frame import OPAQUE_FRAME, Leaves, _Traced

__all__ = ["FRAME_DATA", "FUNCTION", "READ_CSV", "READ_PARQUET", "LEAVES", "frame_leaf", "function_leaf",
           "traced_function", "file_bytes", "parquet_reader", "fields"]

FRAME_DATA = "pandas.data"
FUNCTION = "python.function"
READ_CSV = "pandas.read_csv"
READ_PARQUET = "pandas.read_parquet"


# -- frames and files --------------------------------------------------------------------------------

def frame_leaf(value: pd.DataFrame | pd.Series, label: str | None = None) -> Item:
    """The leaf of a plain frame or series, identified by its columnwise content hash."""
    kind = "frame" if isinstance(value, pd.DataFrame) else "series"
    lit = ("D", (("hash", ("s", hash_frame(value))), ("kind", ("s", kind)),
                 ("shape", ("T", tuple(("i", int(n)) for n in value.shape)))))
    return leaf(FRAME_DATA, lit, label)


def fields(item: Item) -> dict[str, Any]:
    """The named fields of a frame, file, function or opaque leaf's literal, as plain values."""
    lit = item.literals
    if item.opcode == OPAQUE_FRAME:
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
    f = fields(item)
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
    f = fields(item)
    value = inputs.get(f["hash"])
    if value is None and resolver is not None:
        value = resolver(f["hash"])
    name = Literals(item.literals).name
    if value is None:
        raise LineageError(f"cannot recompute the unhandled operation {name}: its output "
                           f"({f['hash']}) is neither in inputs= nor found by the resolver")
    return _checked_frame(value, f["hash"], f"the output of {name}")


def _file_source(item: Item, inputs: Mapping[str, Any], resolver: Any) -> Any:
    f = fields(item)
    raw = None
    for key in (item.label, f["hash"]):
        if key is not None and key in inputs:
            raw = file_bytes(inputs[key])
            break
    if raw is None and resolver is not None:
        found = resolver(f["hash"])
        raw = None if found is None else file_bytes(found)
    if raw is None:
        raise LineageError(f"cannot recompute: no bytes for file {item.label or f['hash']}; pass its "
                           "path or bytes in inputs= by name or content hash")
    if hash_bytes(raw) != f["hash"]:
        raise LineageError(f"the file given for {item.label or f['hash']} has content hash "
                           f"{hash_bytes(raw)}, the lineage recorded {f['hash']}")
    reader = pd.read_csv if item.opcode == READ_CSV else parquet_reader()
    return reader(io.BytesIO(raw), **f["kwargs"])


def file_bytes(x: Any) -> bytes:
    """The bytes of a file given as a path, bytes or a readable object."""
    if isinstance(x, bytes | bytearray | memoryview):
        return bytes(x)
    if isinstance(x, str | os.PathLike):
        return Path(x).read_bytes()
    if hasattr(x, "read"):
        return x.read()
    raise LineageError(f"a file is given as a path or bytes, not {type(x).__name__}")


def parquet_reader() -> Callable[..., Any]:
    """``pd.read_parquet``, once an engine for it (pyarrow or fastparquet) is importable."""
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
        except ImportError:
            continue
        return pd.read_parquet
    raise ImportError("mc.read_parquet needs pyarrow or fastparquet, and neither is installed: "
                      "pip install pyarrow (a dependency of mlcontext: the installation is incomplete)")



# -- functions ---------------------------------------------------------------------------------------

# A leaf per (qualified name, identity): the identity is mlcontext.fingerprint's one function identity
# (code, defaults, closure cells, the globals it reads, package versions), hashed at every call, so a
# helper or a global changed between calls gives another leaf. A function seen while tracing is kept
# as long as its leaf item lives (lineage that holds the leaf can be recomputed in this process), and
# no longer: keyed weakly by the item, never for the life of the process (a traced function may hold
# a model, a frame ...). Another process passes functions in inputs= by qualified name. Functions
# without Python code are only found among NumPy's handled functions, the math and operator modules
# and a few pure builtins (never exec, open ...).
_FUNCTIONS: weakref.WeakKeyDictionary[Item, Any] = weakref.WeakKeyDictionary()
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
    parts: tuple = (("identity", ("s", _identity(fn, name))), ("qualname", ("s", name)))
    if code is None:
        parts = (("builtin", ("b", True)), *parts)
        label = name
    else:
        label = _lambda_source(fn) if getattr(fn, "__name__", None) == "<lambda>" else name
    item = leaf(FUNCTION, ("D", parts), label)
    if item not in _FUNCTIONS:
        _FUNCTIONS[item] = fn
    return item


def traced_function(item: Item) -> Any:
    """The function traced in this process whose leaf is ``item`` (or an equal item), while that
    leaf lives; else None."""
    return _FUNCTIONS.get(item)


def _qualname(fn: Any) -> str:
    if isinstance(fn, np.ufunc):
        return f"numpy.{fn.__name__}"
    module = getattr(fn, "__module__", None) or type(fn).__module__
    return f"{module}.{getattr(fn, '__qualname__', None) or type(fn).__qualname__}"


def _identity(fn: Any, name: str) -> str:
    # What cannot be identified makes this very call unique: never reused, never wrongly reused, and
    # said (strict mode raises). Not unique per function object: the object it reads (a settings
    # instance, a generator) changes without the function changing, so the same function applied again
    # must compute again (a newcomer's apply returned the old values after S.k changed).
    try:
        return hash_function(fn)
    except FingerprintError as exc:
        unidentified(f"function {name}", exc)
        return "unique:" + uuid.uuid4().hex


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
    f = fields(item)
    given = inputs.get(item.label) if item.label else None
    given = given if given is not None else inputs.get(f["qualname"])
    if given is not None:
        if function_leaf(given).hash != item.hash:
            raise LineageError(f"the function given for {f['qualname']} has other code than the one "
                               "the lineage recorded")
        return given
    # A log is data: it may name any function. Only pure functions of a fixed list run on their
    # name alone; functions traced in this process only for a log the caller trusts (issue 13).
    fn = traced_function(item) if current_policy().trusted else None
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


# -- pandas scalars ----------------------------------------------------------------------------------

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




LEAVES = Leaves()
LEAVES.frame = frame_leaf
LEAVES.function = function_leaf
LEAVES.constant = {pd.Timestamp: _timestamp_item, pd.Timedelta: _timedelta_item, **pandas_index.CONSTANTS}
LEAVES.values, LEAVES.value = pandas_index.VALUES, pandas_index.value_item

register_source(FRAME_DATA, _frame_source)
register_source(OPAQUE_FRAME, _opaque_source)
register_source(READ_CSV, _file_source)
register_source(READ_PARQUET, _file_source)
register_source(FUNCTION, _function_source)
