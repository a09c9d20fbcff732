"""Traced pandas: a DataFrame or Series value plus the lineage item that produced it.

:class:`TracedFrame` and :class:`TracedSeries` wrap a pandas object (they are not subclasses, so no
pandas internals can bypass them) and send every call through :func:`call`: the arguments become
literals and input items with the same machinery as traced NumPy (:class:`FrameArgs`, a
:class:`~.dispatch.Args`), the item is made, and the registered operation runs through the
dispatcher's executor (:func:`.dispatch.trace`), so the reuse layer sees pandas operations exactly
like NumPy ones. Methods, operators, indexers (``loc``, ``iloc``),
accessors (``str``, ``dt``, ``cat``) and deferred objects (``groupby``, ``rolling`` ...) are looked
up in the registry (:mod:`.pandas_registry`, :mod:`.pandas_proxies`, :mod:`.pandas_leaves`) that
:mod:`mlcontext.ops` plugs in with :func:`install`; anything else falls back to the dispatcher's
:func:`~.dispatch.unhandled` (one :class:`~mlcontext.errors.UnhandledOperationWarning` per function,
an opaque item identified by the output's content hash: :func:`opaque_frame` for frames and series).

Values are never changed in place. ``df[key] = v``, ``df.loc[...] = v``, ``inplace=True`` and the
other mutators compute a new value and rebind the wrapper to it with a new item: a new version of
the frame in lineage. pandas' copy-on-write (always on since pandas 3) makes the shallow copies this
needs cheap and keeps them apart from the caller's frames.
"""

from __future__ import annotations

import operator
import sys
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from ..fingerprint import hash_frame
from ..lineage.dedup import bind
from ..lineage.item import OPEN_SCOPES as _OPEN
from ..lineage.item import Item, make, state
from ..lineage.literals import Node
from ..lineage.operations import OPERATIONS
from .dispatch import (
    HANDLED,
    MEMORY_QUESTIONS,
    UFUNC_OPS,
    Args,
    Uncanonical,
    note_plain,
    opaque,
    register_kind,
    trace,
    unhandled,
    unwrap,
    warn_unhandled,
)
from .traced import TracedArray

__all__ = ["TracedFrame", "TracedSeries", "FrameArgs", "freeze_frame", "call", "stacklevel", "wrap",
           "unhandled", "opaque", "OPAQUE_FRAME", "ORDER", "ordered", "Leaves", "LEAVES", "AXIS_META",
           "KEEP_FREQ", "SET_ATTRS", "install"]

OPAQUE_FRAME = "pandas.opaque"  # an unhandled call with a frame/series result, by content hash
DICT = "python.dict"  # a dict built from its keys and values, in order
INDEX = "pandas.Index"  # an Index built from its values, names and dtype
ORDER = "kwargs_order"  # the keyword naming the caller's order of keyword arguments
_ORDERED = (".agg", ".aggregate", ".assign")  # operations whose result depends on keyword order


def ordered(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` called with its keyword arguments in the order the traced call gave them."""

    def run(*args: Any, **kwargs: Any) -> Any:
        order = kwargs.pop(ORDER, None)
        if order is not None:
            kwargs = {k: kwargs[k] for k in order}
        return fn(*args, **kwargs)

    run.__wrapped__ = fn  # type: ignore[attr-defined]
    return run


# Opcodes of methods that work in place in pandas (``df.insert``): the traced call rebinds the
# wrapper to the new version and returns None, as pandas does. Given by :func:`install`.
MUTATORS: set[str] = set()


class Leaves:
    """How arguments that are not traced become input items (:mod:`.pandas_leaves`'s)."""

    frame: Callable[[Any], Item]  # a plain DataFrame/Series argument -> its content leaf
    function: Callable[[Any], Item]  # a callable -> its code leaf
    constant: dict[type, Callable[[Any], Item]]  # pd.Timestamp, pd.NaT, a Period ... -> a constant item
    values: tuple[type, ...]  # Index, pandas array, dtype, date offset (by isinstance) ...
    value: Callable[[Any], Item]  # ... -> the item that rebuilds it (:mod:`.pandas_index`)


LEAVES = Leaves()
LEAVES.constant = {}
LEAVES.values = ()


class FrameArgs(Args):
    """Literals and inputs of a pandas call: traced values are inputs, plain frames content leaves,
    callables code leaves."""

    __slots__ = ()

    def canon(self, x: Any) -> tuple[Node, Any]:
        t = type(x)
        if t is TracedFrame or t is TracedSeries or t is TracedArray:
            return self.input(x._item), x._value
        if t is type and x in _TYPE_NAMES:  # astype(str), astype(float) ...
            return ("s", _TYPE_NAMES[x]), x
        constant = LEAVES.constant.get(t)
        if constant is not None:
            return self.input(constant(x)), x
        if isinstance(x, pd.DataFrame | pd.Series):
            # The operation gets a copy: its result may hold the argument's memory (assign, concat,
            # t["c"] = s), and a plain frame built on a NumPy array without a copy changes when the
            # array is written, under the result's lineage and in the cache (copy-on-write does not
            # see writes through NumPy).
            return self.input(LEAVES.frame(x)), x.copy(deep=True)
        if isinstance(x, LEAVES.values):
            # An Index, a pandas array, dtype or date offset: an item that rebuilds it. (Never a
            # list, even where pandas would make the same Index of one: set_index and groupby take
            # a list for column keys.) A pandas array is mutable: the operation gets a copy.
            return self.input(LEAVES.value(x)), x.copy() if isinstance(x, ExtensionArray) else x
        if callable(x) and not isinstance(x, type | np.dtype):
            return self.input(LEAVES.function(x)), x
        if t is dict and (not all(type(k) is str for k in x) or list(x) != sorted(x)):
            return self._ordered_dict(x)
        return super().canon(x)

    def _ordered_dict(self, x: dict) -> tuple[Node, Any]:
        # pandas reads some dicts in order (agg({...}) orders columns by it) and some have non-string
        # keys (rename, map): such a dict is an item of its own, built from its keys and values.
        sub = FrameArgs()
        lit, plain, _ = sub.call((list(x), list(x.values())), {})
        return self.input(make(DICT, tuple(sub.items), lit)), dict(zip(plain[0], plain[1], strict=True))


_TYPE_NAMES = {str: "str", float: "float64", int: "int64", bool: "bool", object: "object"}


def _execute(opcode: str, args: tuple, kwargs: dict) -> tuple[Any, Item]:
    """Make the item of ``opcode(*args, **kwargs)`` and run it through the dispatcher's executor."""
    op = OPERATIONS[opcode]
    if len(kwargs) > 1 and opcode.endswith(_ORDERED) and list(kwargs) != sorted(kwargs):
        # Literals sort keyword arguments, but pandas reads some in order (agg(n=..., mean=...),
        # assign): the order becomes an argument of its own, so it is in the hash and replayed.
        kwargs = {**kwargs, ORDER: tuple(kwargs)}
    return trace(op, args, kwargs, FrameArgs)


def call(opcode: str, args: tuple, kwargs: dict, fallback: Callable[..., Any] | None = None) -> Any:
    """Trace one registered pandas operation; arguments that have no literal form make it opaque."""
    try:
        result, item = _execute(opcode, args, kwargs)
    except Uncanonical:
        return unhandled(fallback or OPERATIONS[opcode].fn, args, kwargs, name=opcode,
                         stacklevel=stacklevel())
    return wrap(result, item)


def stacklevel() -> int:
    """The ``stacklevel`` of :func:`unhandled` called by the caller of this function: its warning
    points at the first frame outside mlcontext (the user's line), however many of mlcontext's
    wrappers (methods, proxies, lambdas) are in between. Only on the opaque path: it walks frames."""
    level, frame = 2, sys._getframe(1)  # (1: unhandled itself, 2: its caller)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("mlcontext."):
        frame, level = frame.f_back, level + 1
    return level


def wrap(result: Any, item: Item) -> Any:
    """Traced wrappers for frame, series and array results; other results are returned as they are."""
    if isinstance(result, pd.DataFrame):
        return TracedFrame(result, item)
    if isinstance(result, pd.Series):
        return TracedSeries(result, item)
    if isinstance(result, np.ndarray | np.generic):
        return TracedArray(result, item)
    return result


# -- unhandled calls: the dispatcher's fallback, with frame results of their own -------------------

def opaque_frame(name: str, result: Any, inputs: tuple[Item, ...]) -> Any:
    """A frame or series result of the unhandled call ``name``, traced by an opaque item that records
    its inputs and its own content hash; ``None`` for other results."""
    if isinstance(result, pd.DataFrame | pd.Series):
        kind = "frame" if isinstance(result, pd.DataFrame) else "series"
        fields = ("D", (("hash", ("s", hash_frame(result))), ("kind", ("s", kind))))
        return wrap(result, make(OPAQUE_FRAME, inputs, ("T", (("s", name), fields))))
    return None


# -- the wrappers ------------------------------------------------------------------------------------

_MISSING = object()


class _Traced:
    """What frames and series share: the value, the item, versions, protocols, the fallback."""

    # _v, _i: the value and item of the current version, read through ``_value`` and ``_item`` (which
    # first turn an in-place change of a handed-out index into a new version: see _sync_axes).
    __slots__ = ("_v", "_i", "_known", "_axes", "__weakref__")
    _kind = ""  # "DataFrame" or "Series": the opcode prefix is "pandas.<kind>."
    __hash__ = None  # type: ignore[assignment]  # unhashable, like pandas objects

    def __init__(self, value: Any, item: Item, known: dict | None = None) -> None:
        object.__setattr__(self, "_v", value)
        object.__setattr__(self, "_i", item)
        object.__setattr__(self, "_known", known)  # column digests of this version (fingerprint)
        object.__setattr__(self, "_axes", None)  # axis name -> (Index handed out, its state then)
        if _OPEN[0]:  # a dedup scope must see every holder of a value made in its body
            scope = state.scope
            if scope is not None:
                scope.holders.append(weakref.ref(self))

    def __mlcontext_fingerprint__(self) -> tuple[str, str]:
        """Its identity where a fingerprint meets it (a global a ``@mc.step`` reads): the lineage hash
        of its current version, which determines its value, without reading the data."""
        return (f"mlcontext.Traced{self._kind}", self._item.hash)

    @property
    def _value(self) -> Any:
        """The pandas value of the current version."""
        if self._axes is not None:
            self._sync_axes()
        return self._v

    @property
    def _item(self) -> Item:
        """The lineage item of the current version."""
        if self._axes is not None:
            self._sync_axes()
        return self._i

    # -- axes handed out: pandas lets users rename them in place ----------------------------------
    # ``t.columns`` is a copy of this version's Index (renaming the version's own one in place would
    # change a value its lineage and the cache know). pandas renames an axis in place
    # (``df.columns.name = 'k'``, ``df.index.names = [...]``, ``set_names(..., inplace=True)``,
    # ``idx.freq = ...``): the copy handed out is kept, the same object on every access as in
    # pandas, and a change of its names or freq becomes a new version of this frame before anything
    # reads it next. A new version (any other change) hands out new copies, as pandas makes new axes.

    def _axis(self, name: str, plain: Any) -> Any:
        axes = self._axes
        handed = None if axes is None else axes.get(name)
        if handed is not None:
            return handed[0]
        copy = plain.copy()
        object.__setattr__(self, "_axes", {**(axes or {}), name: (copy, _axis_state(copy))})
        return copy

    def _sync_axes(self) -> None:
        axes = self._axes
        changed = [(name, index) for name, (index, state) in axes.items()
                   if not _same(_axis_state(index), state)]
        if not changed:
            return
        object.__setattr__(self, "_axes", None)  # (reads of _value below see the current version)
        for name, index in changed:
            if name == "attrs":
                self._set_attrs(index)
            else:
                self._rename_axis(name, index)
        # The same objects stay handed out (their other axis is unchanged): renaming one again is
        # another new version.
        kept = {name: (index, _axis_state(index)) for name, (index, _) in axes.items()}
        object.__setattr__(self, "_axes", kept)

    def _set_attrs(self, attrs: dict) -> None:
        """A new version with ``attrs`` (``t.attrs[k] = v`` changes pandas' frame in place)."""
        opcode = f"pandas.{self._kind}.{SET_ATTRS}"
        try:
            result, item = _execute(opcode, (self, dict(attrs)), {})
        except Uncanonical:  # values without a literal form: identified by content (attrs included)
            traced = opaque(opcode, OPERATIONS[opcode].fn(self._v, dict(attrs)), (self._i,))
            result, item = traced._v, traced._i
        self._rebind(result, item)

    def _rename_axis(self, name: str, index: Any) -> None:
        """A new version with axis ``name`` named (and its freq set) as ``index`` is."""
        opcode = f"pandas.{self._kind}.{AXIS_META}"
        args: tuple = (self, name, list(index.names))
        freq: Any = getattr(index, "freq", KEEP_FREQ)  # a pandas offset, None or KEEP_FREQ
        if freq is not KEEP_FREQ and freq is not None:
            text = freq.freqstr  # a literal; offsets it does not describe exactly go the opaque way
            freq = text if _offset(text) == freq else Uncanonical
        try:
            if freq is Uncanonical:
                raise Uncanonical("freq")
            result, item = _execute(opcode, args if freq is KEEP_FREQ else (*args, freq), {})
        except Uncanonical:  # names (or a freq) without a literal form: identified by content
            plain = OPERATIONS[opcode].fn(self._v, name, list(index.names),
                                          getattr(index, "freq", KEEP_FREQ))
            traced = opaque(opcode, plain, (self._i,))
            result, item = traced._v, traced._i
        self._rebind(result, item)

    # -- lineage -----------------------------------------------------------------------------------
    @property
    def lineage(self) -> Item:
        """The lineage item of the current version."""
        return self._item

    @property
    def fingerprint(self) -> str:
        """The content hash of the current version (columnwise; kept columns' digests are reused)."""
        value = self._value  # first: an axis renamed in place makes a new version (and new digests)
        known = self._known
        if known is None:
            known = {}
            object.__setattr__(self, "_known", known)
        digest = known.get(_WHOLE)
        if digest is None:
            digest = known[_WHOLE] = hash_frame(value, known)
        return digest

    def to_pandas(self) -> Any:
        """The plain pandas value (no lineage; copy-on-write keeps it apart from this version)."""
        note_plain(self._item)
        return self._value.copy(deep=False)

    def _update(self, opcode: str, args: tuple, kwargs: dict, known: dict | None = None) -> None:
        """Make the result of the registered operation ``opcode`` (a mutator: ``df[k] = v``,
        ``df.loc[...] = v``, ``insert`` ...; its first argument is this object) the new version.
        An argument without a literal form makes it an opaque version, as :func:`call` makes an
        opaque result. ``known``: the column digests the change keeps."""
        try:
            result, item = _execute(opcode, args, kwargs)
        except Uncanonical:
            traced = unhandled(OPERATIONS[opcode].fn, args, kwargs, name=opcode, stacklevel=stacklevel())
            result, item, known = traced._value, traced._item, None
        self._rebind(result, item, known)

    def _rebind(self, value: Any, item: Item, known: dict | None = None) -> None:
        """Make ``value`` the new version of this object (``df[k] = v``, ``inplace=True`` ...)."""
        object.__setattr__(self, "_v", value)
        object.__setattr__(self, "_known", known)
        object.__setattr__(self, "_axes", None)  # a new version: its axes are new objects
        bind(self, item)

    def _method(self, name: str) -> Callable[..., Any]:
        opcode = f"pandas.{self._kind}.{name}"
        special = _SPECIAL.get(opcode)
        if special is not None:
            return lambda *a, **k: special(self, *a, **k)
        if opcode in OPERATIONS:
            return lambda *a, **k: _method_call(self, opcode, a, k)
        return lambda *a, **k: _unhandled_method(self, name, a, k)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in _Traced.__slots__:
            raise AttributeError(name)
        value = self._value
        attr = getattr(type(value), name, _MISSING)
        if attr is _MISSING:
            if self._kind == "DataFrame" and name in value.columns:
                return self[name]  # (a column "_id" too, as in pandas)
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        if name.startswith("_"):  # pandas internals: a plain pandas function was given this object
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}': a traced {self._kind} is not "
                f"a pandas.{self._kind}, so plain pandas functions (pd.concat, pd.merge ...) cannot take "
                "it. Use mlcontext's traced versions (mc.pd.concat, mc.pd.merge ...), or pass "
                "t.to_pandas() to leave lineage behind")
        traced_property = _PROPERTIES.get(f"pandas.{self._kind}.{name}")
        if traced_property is not None:
            return traced_property(self)
        if callable(attr) and not isinstance(attr, property):
            return self._method(name)
        plain = getattr(value, name)  # metadata (shape, columns, dtypes, index ...): plain
        if name in _AXES or name == "attrs":
            return self._axis(name, plain)
        if name == "axes":
            return [self._axis(axis, index) for axis, index in zip(_AXES, plain, strict=False)]
        if isinstance(plain, pd.Index):  # (no other Index attribute today; never the version's own)
            return plain.copy()
        return plain

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_item":  # dedup.bind
            object.__setattr__(self, "_i", value)
        elif name in _Traced.__slots__:
            object.__setattr__(self, name, value)
        elif name == "attrs":
            self._set_attrs(dict(value))
        elif name in ("columns", "index", "name"):
            self._update(f"pandas.{self._kind}.__setattr__", (self, name, value), {})
        else:
            raise AttributeError(f"cannot set {name!r} on a traced {self._kind}; "
                                 "use df[name] = value for a column")

    def __dir__(self) -> list[str]:
        return sorted(set(dir(self._value)) | {"lineage", "fingerprint", "to_pandas"})

    # -- plain protocols ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self) -> Any:
        return iter(self._value)

    def __contains__(self, key: Any) -> bool:
        return key in self._value

    def __bool__(self) -> bool:
        return bool(self._value)  # raises like pandas

    def __repr__(self) -> str:
        return f"{self._value!r}\n[traced {self._kind}, lineage={self._item.opcode}]"

    def _repr_html_(self) -> Any:
        return getattr(self._value, "_repr_html_", lambda: None)()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        note_plain(self._item)
        value = np.asarray(self._value, dtype=dtype)
        return value.copy() if copy else value

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        op = UFUNC_OPS.get((ufunc, method))
        if op is None or method != "__call__" or "out" in kwargs or "where" in kwargs:
            bound = ufunc if method == "__call__" else getattr(ufunc, method)
            return unhandled(bound, inputs, kwargs, stacklevel=3)  # (NumPy's caller is C)
        return call(op.opcode, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        op = HANDLED.get(func)
        if op is None:
            if func in MEMORY_QUESTIONS:  # about buffers (scikit-learn asks): answered, no lineage
                return func(*unwrap(args, []), **unwrap(kwargs, []))
            return unhandled(func, args, kwargs, stacklevel=3)  # (NumPy's caller is C)
        return call(op.opcode, args, kwargs, fallback=func)

    def __copy__(self) -> Any:
        return type(self)(self._value, self._item, self._known)

    def __deepcopy__(self, memo: dict) -> Any:
        return type(self)(self._value.copy(), self._item, self._known)

    def __reduce__(self) -> tuple:
        # A pickle holds the plain frame. What a pickle reaches is another process (the joblib workers
        # of n_jobs=2, multiprocessing) or a file: there scikit-learn and pandas must be given a
        # pandas.DataFrame (an untraced ColumnTransformer refuses anything else), and this process's
        # lineage items mean nothing. ``(value,)[0]`` rebuilds it with the standard library alone.
        # Copies in the process (copy.copy, copy.deepcopy) stay traced.
        note_plain(self._item)
        return (operator.getitem, ((self._value,), 0))

    # -- indexing: a new item per selection, a new version per assignment ---------------------------
    def __getitem__(self, key: Any) -> Any:
        return call(f"pandas.{self._kind}.__getitem__", (self, key), {})

    def __setitem__(self, key: Any, value: Any) -> None:
        self._update(f"pandas.{self._kind}.__setitem__", (self, key, value), {}, _kept(self._known, key))

    def __delitem__(self, key: Any) -> None:
        self._update(f"pandas.{self._kind}.__delitem__", (self, key), {}, _kept(self._known, key))


_WHOLE = object()  # the key of the whole-frame digest among the column digests
_AXES = ("index", "columns")  # in the order of DataFrame.axes (a Series has only the index)
AXIS_META = "__axis_meta__"  # the operation of an in-place rename of an axis (see _Traced._axis)
SET_ATTRS = "__set_attrs__"  # the operation of an in-place change of ``attrs``
KEEP_FREQ = "keep"  # axis_meta's default: the freq is not set


def _offset(text: str) -> Any:
    try:
        return pd.tseries.frequencies.to_offset(text)
    except ValueError:
        return None


def _axis_state(index: Any) -> tuple:
    """What can be changed in place on an Index: its names and (dates and durations) its freq; on
    ``attrs`` (a dict), its keys and values."""
    if type(index) is dict:
        return tuple(x for pair in index.items() for x in pair)
    names = index.names if index.nlevels > 1 else (index.name,)
    return (*names, getattr(index, "freq", None))


def _same(a: tuple, b: tuple) -> bool:
    # By identity: a name set to an equal object (1 for 1.0, a copy of a list) is still a rename.
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _kept(known: dict | None, changed: Any) -> dict | None:
    """The column digests still valid after ``df[changed] = v`` or ``del df[changed]``.

    ``changed`` is a label or a list of labels; with MultiIndex columns a label names every column
    it is a prefix of (``df['x'] = 0`` replaces ``('x', 'min')`` and ``('x', 'max')``). Any other key
    (a mask, a slice, a frame) may touch any column: nothing is kept.
    """
    if not known:
        return None
    labels = changed if type(changed) is list else [changed]
    # A label that is not equal to itself (NaN, or a tuple holding one) matches columns pandas
    # finds by other rules than ``==``: nothing is kept.
    if not all(type(k) in _LABEL_TYPES and k == k for k in labels):  # noqa: PLR0124
        return None
    return {k: v for k, v in known.items() if k is not _WHOLE and not _covers(labels, k)}


_LABEL_TYPES = frozenset({str, int, float, bool, tuple})


def _covers(labels: list, column: Any) -> bool:
    for label in labels:
        if column == label:
            return True
        if type(column) is tuple:
            prefix = label if type(label) is tuple else (label,)
            if column[:len(prefix)] == prefix:
                return True
    return False


def _method_call(self: _Traced, opcode: str, args: tuple, kwargs: dict) -> Any:
    if kwargs.get("inplace") or opcode in MUTATORS:
        kwargs = {k: v for k, v in kwargs.items() if k != "inplace"}
        self._update(opcode, (self, *args), kwargs)
        return None
    return call(opcode, (self, *args), kwargs)


def _unhandled_method(self: _Traced, name: str, args: tuple, kwargs: dict) -> Any:
    # Called on a shallow copy (copy-on-write): a mutating method cannot change this version.
    target = self._value.copy(deep=False)
    result = unhandled(getattr(type(target), name), (_Plain(target, self._item), *args), kwargs,
                       name=f"pandas.{self._kind}.{name}")
    if result is None and not _same_frame(target, self._value):
        # The method worked in place: its effect is a new version, identified by content.
        self._rebind(target, opaque(f"pandas.{self._kind}.{name}", target, (self._item,))._item)
        warn_unhandled(f"pandas.{self._kind}.{name}", self, stacklevel=3)
    return result


def _same_frame(a: Any, b: Any) -> bool:
    try:
        return a.equals(b) and list(a.columns if hasattr(a, "columns") else []) == list(
            b.columns if hasattr(b, "columns") else [])
    except Exception:  # noqa: BLE001 - unlike objects are simply not the same
        return False


class _Plain:
    """A plain value standing for a traced one in :func:`unhandled` (its item is still an input)."""

    __slots__ = ("_value", "_item")

    def __init__(self, value: Any, item: Item) -> None:
        self._value, self._item = value, item


# -- operators -----------------------------------------------------------------------------------------

_BINARY = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor")
_COMPARE = ("lt", "le", "eq", "ne", "gt", "ge")
_UNARY = ("neg", "pos", "abs", "invert")


def _operator(dunder: str) -> Callable[..., Any]:
    def op(self: _Traced, *other: Any) -> Any:
        return call(f"pandas.{self._kind}.{dunder}", (self, *other), {})

    op.__name__ = dunder
    return op


def _install_operators(cls: type) -> None:
    names = [f"__{n}__" for n in _BINARY] + [f"__r{n}__" for n in _BINARY]
    names += [f"__{n}__" for n in _COMPARE + _UNARY]
    for dunder in names:
        setattr(cls, dunder, _operator(dunder))


class TracedFrame(_Traced):
    """A pandas DataFrame whose lineage is traced operation by operation.

    Create one with :func:`mlcontext.frame`, :func:`mlcontext.read_csv` or
    :func:`mlcontext.read_parquet`, then use the pandas API. ``frame.lineage`` is the
    :class:`~mlcontext.lineage.Item` of the current version, ``frame.to_pandas()`` the plain value.
    In-place operations (``df["c"] = ...``, ``inplace=True``) make a new version with a new lineage
    item; the plain value is never changed under its lineage.

    Parameters
    ----------
    value : pandas.DataFrame
        The value (not copied; never written to).
    item : Item
        The lineage item that produced ``value``.

    Attributes
    ----------
    lineage : Item
        The lineage item of the current version.

    Examples
    --------
    >>> import pandas as pd, mlcontext as mc
    >>> trips = mc.frame(pd.DataFrame({"km": [1.0, 5.0, 12.0]}), name="trips")
    >>> trips["long"] = trips.km > 4
    >>> type(trips).__name__, trips.lineage.opcode
    ('TracedFrame', 'pandas.DataFrame.__setitem__')
    >>> trips.to_pandas()["long"].tolist()
    [False, True, True]
    """

    __slots__ = ()
    _kind = "DataFrame"


class TracedSeries(_Traced):
    """A pandas Series whose lineage is traced (a column, a mask, an aggregate ...).

    Made by :func:`mlcontext.frame` from a Series, and by operations on traced frames (``df.km``,
    ``df.km > 4``, ``df.groupby("k").km.sum()``). ``series.lineage`` is the lineage item of the current
    version, ``series.to_pandas()`` the plain value.

    Parameters
    ----------
    value : pandas.Series
        The value (not copied; never written to).
    item : Item
        The lineage item that produced ``value``.

    Attributes
    ----------
    lineage : Item
        The lineage item of the current version.

    Examples
    --------
    >>> import pandas as pd, mlcontext as mc
    >>> trips = mc.frame(pd.DataFrame({"km": [1.0, 5.0, 12.0]}), name="trips")
    >>> km = trips.km * 1000
    >>> type(km).__name__, km.lineage.opcode, km.lineage.inputs[0].opcode
    ('TracedSeries', 'pandas.Series.__mul__', 'pandas.DataFrame.__getitem__')
    >>> km.to_pandas().tolist()
    [1000.0, 5000.0, 12000.0]
    """

    __slots__ = ()
    _kind = "Series"


_install_operators(TracedFrame)
_install_operators(TracedSeries)
register_kind((TracedFrame, TracedSeries, _Plain), opaque=opaque_frame)

# Traced properties (``df.T``, ``s.str`` ...) and methods with their own wrappers (``groupby``,
# ``pop`` ...), by opcode; given by :func:`install`.
_PROPERTIES: dict[str, Callable[[Any], Any]] = {}
_SPECIAL: dict[str, Callable[..., Any]] = {}


def install(leaves: Leaves, properties: Mapping[str, Callable[[Any], Any]],
            special: Mapping[str, Callable[..., Any]], mutators: Iterable[str]) -> None:
    """Plug the pandas registry into traced frames (called once, by :mod:`mlcontext.ops`).

    Parameters
    ----------
    leaves : Leaves
        How plain frames, callables, indexes and pandas scalars given as arguments become input
        items.
    properties : mapping of str to callable
        Traced properties by opcode (``pandas.DataFrame.loc`` ...): ``f(traced) -> value``.
    special : mapping of str to callable
        Methods with a wrapper of their own by opcode (``pandas.DataFrame.groupby`` ...):
        ``f(traced, *args, **kwargs) -> value``.
    mutators : iterable of str
        Opcodes of methods that work in place in pandas (``pandas.DataFrame.insert``).
    """
    LEAVES.frame, LEAVES.function = leaves.frame, leaves.function
    LEAVES.constant = dict(leaves.constant)
    LEAVES.values, LEAVES.value = leaves.values, leaves.value
    _PROPERTIES.update(properties)
    _SPECIAL.update(special)
    MUTATORS.update(mutators)


def freeze_frame(value: Any) -> tuple[Any, int]:
    """Cache entry of a frame or series result: a shallow copy (copy-on-write keeps it unchanged)
    and its size (object columns counted by their pointers)."""
    return value.copy(deep=False), frame_nbytes(value)


def frame_nbytes(value: Any) -> int:
    """``value.memory_usage(index=True, deep=False).sum()``, for a DataFrame from its blocks: pandas
    builds a Series indexed by the column names to answer that (a millisecond per frame in pandas
    3, more than most column operations whose results are cached), while the blocks' own ``nbytes``
    add up to the same figure in a microsecond (a test checks them equal on every kind of column)."""
    if isinstance(value, pd.DataFrame):
        blocks = getattr(getattr(value, "_mgr", None), "blocks", None)
        if blocks is not None:  # (the manager is pandas-internal: any other layout takes the slow path)
            try:
                data = sum(int(b.values.nbytes) for b in blocks)
            except AttributeError:
                pass
            else:
                return data + int(value.index.memory_usage(deep=False))
    size = value.memory_usage(index=True, deep=False)
    return int(size.sum() if hasattr(size, "sum") else size)
