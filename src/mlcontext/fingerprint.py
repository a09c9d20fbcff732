"""Stable content fingerprints of bytes, arrays, frames and plain Python values.

Every fingerprint is a 128-bit xxh3 digest written as 32 lowercase hex characters. The same value gives
the same fingerprint in every process, on every machine and after pickling: nothing here depends on
``id()``, ``hash()`` (salted per process for ``str``) or dict insertion order of sets.

Values are normalised through a dispatch table (after dask's ``tokenize``): register a type with
:func:`register`, or give a class a ``__mlcontext_fingerprint__()`` method. Values of unknown types raise
:class:`~mlcontext.errors.FingerprintError` instead of getting a random token: a silent cache miss is
bad, a wrong hit is worse.

Functions have one identity (:func:`hash_function`): their code, defaults, closure cells, the globals
they read (the user's own functions and modules transitively) and the versions of the packages they
call into. :data:`SCHEME_VERSION` names this whole scheme; it is part of every persistent cache key
(:func:`persistent_key`), so a change of any digest here never aliases an entry written before.
"""

from __future__ import annotations

import argparse
import builtins
import dataclasses
import datetime
import decimal
import dis
import enum
import fractions
import functools
import importlib.metadata
import inspect
import logging
import math
import operator
import os
import pathlib
import re
import site
import struct
import sys
import sysconfig
import threading
import types
import uuid
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import xxhash

from .errors import FingerprintError, UnidentifiedWarning

__all__ = ["hash_bytes", "hash_array", "array_header", "canonical_array", "hash_value", "register", "Hasher",
           "DIGEST_HEX_LEN", "SCHEME_VERSION", "persistent_key", "hash_function", "dtype_descr", "set_strict",
           "strict", "unidentified"]

DIGEST_HEX_LEN = 32

# The version of everything this module feeds into a digest. Bump it whenever a digest of some value
# changes (a new normalisation, a library that changed the layout read here): persistent cache keys
# carry it, so entries written under another scheme are never found (tests/test_fingerprint_pinned.py
# pins the digests of a table of values so that such a change cannot go unnoticed).
SCHEME_VERSION = 3  # 3: dicts in insertion order; imports inside functions


def persistent_key(digest: bytes) -> str:
    """The key of a lineage digest in a persistent tier: the scheme version, then the digest in hex.

    Examples
    --------
    >>> persistent_key(bytes(16))
    'f3.00000000000000000000000000000000'
    """
    return f"f{SCHEME_VERSION}.{digest.hex()}"

Hasher = xxhash.xxh3_128


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Fingerprint raw bytes (the content hash of the artifact store).

    Examples
    --------
    >>> hash_bytes(b"abc") == hash_bytes(bytearray(b"abc"))
    True
    """
    return xxhash.xxh3_128_hexdigest(data)


def hash_array(array: np.ndarray) -> str:
    """Fingerprint an array by its buffer, its full dtype description and its shape.

    The dtype is hashed by :func:`dtype_descr` (byte order, width, datetime unit, string kind, record
    field names and offsets), the shape as 64-bit integers, so ``int32`` and ``float32`` views of the
    same bytes, a ``(2, 3)`` and a ``(3, 2)`` array, or two record arrays with swapped field names
    differ. Non-contiguous arrays are hashed through a contiguous copy. Object arrays are hashed
    element by element when every element is a str, bytes, int, float, bool, None, date, datetime,
    time, timedelta, Decimal or UUID (or a NumPy/pandas scalar); any other element raises
    :class:`~mlcontext.errors.FingerprintError` naming it.

    Examples
    --------
    >>> a = np.zeros(2, [("a", "<i8"), ("b", "<f8")])
    >>> hash_array(a) == hash_array(a.view([("b", "<i8"), ("a", "<f8")]))
    False
    """
    dtype = array.dtype
    if dtype.kind == "O":
        return _hash_object_array(array)
    if dtype.fields is None and dtype.subdtype is None:  # the common case, inlined (tiny arrays)
        h = xxhash.xxh3_128(dtype.str.encode() + struct.pack(f"<{array.ndim + 1}q", array.ndim, *array.shape))
        if array.size and dtype.itemsize:
            data = np.ascontiguousarray(array)
            # Datetimes have no buffer format that memoryview could cast: as bytes.
            h.update(data.reshape(-1).view(np.uint8) if dtype.kind in "mM" else memoryview(data).cast("B"))
        return h.hexdigest()
    h = xxhash.xxh3_128(array_header(array))  # records: their full description, padding zeroed
    if array.size:
        h.update(canonical_array(array).reshape(-1).view(np.uint8))
    return h.hexdigest()


def canonical_array(array: np.ndarray) -> np.ndarray:
    """The bytes :func:`hash_array` hashes, as a C-contiguous array: ``array`` itself when it is
    contiguous and not a record array; record arrays through a copy whose padding bytes are zero
    (``np.empty`` leaves whatever was in memory there, and equal records must hash alike)."""
    if array.dtype.fields is None:
        return np.ascontiguousarray(array)
    clean = np.zeros(array.shape, array.dtype)
    clean[...] = array  # field by field: the padding stays zero
    return clean


def array_header(array: np.ndarray) -> bytes:
    """The bytes hashed before an array's buffer: dtype string, then ndim and shape as int64.

    ``array_header(a) + a.tobytes()`` hashes (with :func:`hash_bytes`) to ``hash_array(a)``, which lets
    the artifact store keep an array under its lineage leaf hash (see ``tracking/artifacts.py``).
    """
    if array.dtype.hasobject:
        raise FingerprintError("an array of dtype=object has no byte content to store; convert it to a "
                               "fixed-width dtype (e.g. .astype(str)) first")
    return dtype_descr(array.dtype) + struct.pack(f"<{array.ndim + 1}q", array.ndim, *array.shape)


def dtype_descr(dtype: np.dtype) -> bytes:
    """The complete description of a dtype as bytes.

    A plain dtype by its ``str`` (``'<f8'``, ``'>i4'``, ``'<M8[ns]'``, ``'<U5'``, ``'|S5'``): byte order,
    kind, width and unit. A record or sub-array dtype by its full ``str`` (field names, their dtypes
    and offsets, the item size): ``dtype.str`` alone is ``'|V16'`` for every 16-byte record.
    """
    if dtype.fields is None and dtype.subdtype is None:
        return dtype.str.encode()
    return b"V:" + str(dtype).encode() + b":%d" % dtype.itemsize


_dispatch: dict[type, Callable[[Any, Any], None]] = {}


def register(*types: type) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    """Register ``fn(value, hasher)`` to feed values of ``types`` into a hasher."""

    def decorate(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        for t in types:
            _dispatch[t] = fn
        return fn

    return decorate


def hash_value(value: Any) -> str:
    """Fingerprint a plain Python value (params, literal arguments, nested containers).

    Examples
    --------
    >>> hash_value({"b": 1, "a": [1.0, "x"]}) == hash_value({"a": [1.0, "x"], "b": 1})  # dicts are ordered
    False
    >>> hash_value(1) == hash_value(1.0)
    False
    """
    h = xxhash.xxh3_128()
    _feed(value, h)
    return h.hexdigest()


def _feed(value: Any, h: Any) -> None:
    fn = _dispatch.get(type(value))
    if fn is None:
        fn = _lookup(type(value))
    fn(value, h)


def _lookup(cls: type) -> Callable[[Any, Any], None]:
    if cls.__module__.startswith("pandas") and _register_pandas():
        return _lookup(cls) if cls not in _dispatch else _dispatch[cls]
    if "sklearn.base" in sys.modules and _register_sklearn():
        return _lookup(cls) if cls not in _dispatch else _dispatch[cls]
    if hasattr(cls, "__mlcontext_fingerprint__"):  # before the bases: a subclass says what it is
        return _feed_custom
    if dataclasses.is_dataclass(cls):
        return _dataclass_instance
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return _namedtuple
    if issubclass(cls, enum.Enum):  # IntEnum, StrEnum: int and str come before Enum in their MRO
        return _enum
    for base in cls.__mro__[1:]:
        if base in _dispatch:
            fn = _dispatch[base]
            return _subclass(cls, fn) if base in _BUILTIN_BASES else fn
    raise FingerprintError(
        f"cannot fingerprint a value of type {cls.__module__}.{cls.__qualname__}: "
        "register it with mlcontext.fingerprint.register or give it __mlcontext_fingerprint__()"
    )


# A subclass of one of these (defaultdict, Counter, a str subclass) is not its base: its
# class decides what the value does (``isinstance``, ``.alpha``, a missing key), so it is hashed too.
_BUILTIN_BASES = frozenset({int, float, complex, str, bytes, bytearray, tuple, list, dict, set, frozenset})


def _subclass(cls: type, base_fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    name = f"{cls.__module__}.{cls.__qualname__}".encode()

    def feed(value: Any, h: Any) -> None:
        _tag(h, b"sub", name)
        factory = getattr(value, "default_factory", _ABSENT)  # defaultdict: the missing keys' value
        if factory is not _ABSENT:
            _feed(factory, h)
        base_fn(value, h)

    return feed


def _tag(h: Any, tag: bytes, payload: bytes = b"") -> None:
    # Type tag + length prefix keep ("ab", "c") and ("a", "bc") apart.
    h.update(tag + struct.pack("<Q", len(payload)) + payload)


def _feed_custom(value: Any, h: Any) -> None:
    _tag(h, b"C", type(value).__qualname__.encode())
    _feed(value.__mlcontext_fingerprint__(), h)


@register(type(None))
def _none(value: None, h: Any) -> None:
    _tag(h, b"N")


@register(bool, np.bool_)
def _bool(value: bool, h: Any) -> None:
    _tag(h, b"B", b"\x01" if value else b"\x00")


@register(int)
def _int(value: int, h: Any) -> None:
    _tag(h, b"I", str(value).encode())


@register(float)
def _float(value: float, h: Any) -> None:
    # Canonical NaN; -0.0 and 0.0 stay distinct because they can give different results.
    _tag(h, b"F", struct.pack("<d", math.nan if math.isnan(value) else value))


@register(complex)
def _complex(value: complex, h: Any) -> None:
    _tag(h, b"X", struct.pack("<dd", value.real, value.imag))


@register(str)
def _str(value: str, h: Any) -> None:
    _tag(h, b"S", value.encode("utf-8", "surrogatepass"))


@register(bytes, bytearray, memoryview)
def _bytes(value: bytes, h: Any) -> None:
    _tag(h, b"Y", bytes(value))


@register(tuple, list)
def _sequence(value: tuple | list, h: Any) -> None:
    _tag(h, b"T" if isinstance(value, tuple) else b"L", struct.pack("<Q", len(value)))
    for item in value:
        _feed(item, h)


@register(dict)
def _dict(value: dict, h: Any) -> None:
    # In insertion order: dicts are ordered, and results depend on it (``list(w.values())``, a dict
    # of column names). Two orders of the same items at worst miss each other; they never alias.
    _tag(h, b"D2", struct.pack("<Q", len(value)))
    for key, item in value.items():
        _feed(key, h)
        _feed(item, h)


@register(set, frozenset)
def _set(value: set | frozenset, h: Any) -> None:
    digests = sorted(hash_value(v) for v in value)
    _tag(h, b"E", "".join(digests).encode())


@register(slice)
def _slice(value: slice, h: Any) -> None:
    _tag(h, b"Z")
    for part in (value.start, value.stop, value.step):
        _feed(part, h)


@register(type(Ellipsis))
def _ellipsis(value: Any, h: Any) -> None:
    _tag(h, b"...")


@register(np.ndarray)
def _ndarray(value: np.ndarray, h: Any) -> None:
    cls = type(value)
    if cls is not np.ndarray:
        # A subclass computes differently from its buffer (np.matrix's ``*`` is a product, a
        # MaskedArray's mean skips its mask): its class and, for masked arrays, mask and fill value.
        _tag(h, b"Asub", f"{cls.__module__}.{cls.__qualname__}".encode())
        if isinstance(value, np.ma.MaskedArray):
            _tag(h, b"mask", hash_array(np.ma.getmaskarray(value)).encode())
            _feed(value.fill_value, h)
            value = value.data
        value = value.view(np.ndarray)
    _tag(h, b"A", hash_array(value).encode())


@register(np.generic)
def _numpy_scalar(value: np.generic, h: Any) -> None:
    if value.dtype.hasobject:  # np.object_ scalars do not exist as such; a 0-d object array might
        raise FingerprintError("a NumPy object scalar has no fingerprint")
    _tag(h, b"G", dtype_descr(value.dtype) + b"\x00" + value.tobytes())


@register(np.dtype)
def _dtype(value: np.dtype, h: Any) -> None:
    _tag(h, b"dt", dtype_descr(value))


@register(datetime.datetime)
def _datetime(value: datetime.datetime, h: Any) -> None:
    # The wall time, the zone by its type and name (two zones with today's offset can differ after the
    # next DST change) and ``fold``. pandas' Timestamp (a subclass) has nanoseconds: its own handler.
    tz = value.tzinfo
    zone = "" if tz is None else f"{type(tz).__module__}.{type(tz).__qualname__}:{tz}:{tz.utcoffset(value)}"
    _tag(h, b"dT", f"{value.replace(tzinfo=None).isoformat()}|{zone}|{value.fold}".encode())


@register(datetime.date)
def _date(value: datetime.date, h: Any) -> None:
    _tag(h, b"dD", value.isoformat().encode())


@register(datetime.time)
def _time(value: datetime.time, h: Any) -> None:
    tz = value.tzinfo
    zone = "" if tz is None else f"{type(tz).__qualname__}:{tz}:{tz.utcoffset(None)}"
    _tag(h, b"dt:", f"{value.replace(tzinfo=None).isoformat()}|{zone}|{value.fold}".encode())


@register(datetime.timedelta)
def _timedelta(value: datetime.timedelta, h: Any) -> None:
    _tag(h, b"dd", struct.pack("<qqq", value.days, value.seconds, value.microseconds))


@register(decimal.Decimal)
def _decimal(value: decimal.Decimal, h: Any) -> None:
    # The exact tuple: Decimal("1.0") and Decimal("1.00") print differently and keep their exponent.
    _tag(h, b"dec", str(value.as_tuple()).encode())


@register(uuid.UUID)
def _uuid(value: uuid.UUID, h: Any) -> None:
    _tag(h, b"U", value.bytes)


@register(fractions.Fraction)
def _fraction(value: fractions.Fraction, h: Any) -> None:
    _tag(h, b"Q", f"{value.numerator}/{value.denominator}".encode())


@register(type)
def _type(value: type, h: Any) -> None:
    module = value.__module__
    _tag(h, b"t", f"{module}.{value.__qualname__}".encode())
    if _is_user(module):
        _feed_user_class(value, h)
        return
    top = (module or "").partition(".")[0]
    if top not in sys.stdlib_module_names and top not in sys.builtin_module_names:
        # An installed package's class computes what its version does (StandardScaler in a step),
        # as its functions and modules are identified (the standard library's by name alone).
        _tag(h, b"tv", _version(module).encode())


# -- object arrays, element by element ---------------------------------------------------------------

_ELEMENTS = frozenset({str, bytes, int, float, bool, complex, type(None), datetime.date, datetime.datetime,
                       datetime.time, datetime.timedelta, decimal.Decimal, uuid.UUID, fractions.Fraction})


def _hash_object_array(array: np.ndarray) -> str:
    h = xxhash.xxh3_128(b"O" + struct.pack(f"<{array.ndim + 1}q", array.ndim, *array.shape))
    flat = array.ravel()
    if flat.size and _feed_joined(flat, h):  # all strings: one joined string (fast, exact)
        return h.hexdigest()
    for k, v in enumerate(flat.tolist()):
        t = type(v)
        if not (t in _ELEMENTS or isinstance(v, np.generic) or t.__module__.startswith("pandas")):
            raise FingerprintError(
                f"cannot fingerprint element {k} of an object array: a {t.__module__}.{t.__qualname__} "
                f"({_short_repr(v)}). Only str, bytes, numbers, None, dates, times, Decimal and UUID "
                "elements are hashed; convert the array to a fixed-width dtype (e.g. .astype(str)) "
                "or register the type with mlcontext.fingerprint.register")
        _feed(v, h)
    return h.hexdigest()


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


# -- pandas: frames and series, column by column -------------------------------------------------
# pandas is imported lazily (only a frame being hashed needs it). A column is hashed from its backing
# arrays, never through ``pd.util.hash_array``: that one maps 1 and "1" to the same 64-bit value.


def hash_frame(frame: Any, known: dict[Any, str] | None = None) -> str:
    """Fingerprint a pandas DataFrame or Series: names, dtypes, values and index, column by column.

    ``known`` maps column names to digests already computed for this very data (a traced frame
    passes those of the columns an operation kept); every other column is hashed and added to it.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    >>> hash_frame(a) == hash_frame(a.copy())
    True
    >>> hash_frame(a) == hash_frame(a.astype({"x": "int32"}))
    False
    """
    import pandas as pd

    h = xxhash.xxh3_128()
    if isinstance(frame, pd.Series):
        _tag(h, b"PS", hash_value(_plain_name(frame.name)).encode())
        h.update(column_digest(frame.array).encode())
    elif isinstance(frame, pd.DataFrame):
        names = list(frame.columns)
        _tag(h, b"PF", struct.pack("<Q", len(names)))
        h.update(hash_index(frame.columns).encode())
        unique = frame.columns.is_unique
        for k, name in enumerate(names):
            digest = known.get(name) if known is not None and unique else None
            if digest is None:
                digest = _named_column_digest(frame.iloc[:, k].array, name)
                if known is not None and unique:
                    known[name] = digest
            h.update(digest.encode())
    else:
        raise FingerprintError(f"hash_frame takes a DataFrame or Series, not {type(frame).__name__}")
    h.update(hash_index(frame.index).encode())
    return h.hexdigest()


def _named_column_digest(values: Any, name: Any) -> str:
    try:
        return column_digest(values)
    except FingerprintError as exc:
        raise FingerprintError(f"column {name!r}: {exc}") from None


def hash_index(index: Any) -> str:
    """Fingerprint a pandas Index (a RangeIndex by its bounds, others by their values and names)."""
    import pandas as pd

    h = xxhash.xxh3_128()
    names = [_plain_name(n) for n in index.names]
    if isinstance(index, pd.RangeIndex):
        _tag(h, b"PR", struct.pack("<3q", index.start, index.stop, index.step))
    elif isinstance(index, pd.MultiIndex):
        _tag(h, b"PM", struct.pack("<Q", index.nlevels))
        for k in range(index.nlevels):
            h.update(column_digest(index.get_level_values(k).array).encode())
    else:
        _tag(h, b"PI", type(index).__name__.encode())
        h.update(column_digest(index.array).encode())
    h.update(hash_value(names).encode())
    return h.hexdigest()


_PANDAS_DONE: list[bool] = []


def _register_pandas() -> bool:
    """Register pandas' values (frames, indexes, scalars, dtypes) once; False if done before."""
    if _PANDAS_DONE:
        return False
    _PANDAS_DONE.append(True)
    import pandas as pd

    register(pd.DataFrame, pd.Series)(lambda v, h: _tag(h, b"PF:", hash_frame(v).encode()))
    register(pd.Index)(lambda v, h: _tag(h, b"PI:", hash_index(v).encode()))
    register(pd.Timestamp)(_timestamp)
    register(pd.Timedelta)(lambda v, h: _tag(h, b"Pd", struct.pack("<q", v.value) + v.unit.encode()))
    register(type(pd.NaT))(lambda v, h: _tag(h, b"PNaT"))
    register(type(pd.NA))(lambda v, h: _tag(h, b"PNA"))
    register(pd.Period)(lambda v, h: _tag(h, b"Pp", f"{v}|{v.freqstr}".encode()))
    register(pd.Interval)(_interval)
    register(pd.CategoricalDtype)(_categorical_dtype)
    register(pd.api.extensions.ExtensionDtype)(
        lambda v, h: _tag(h, b"Pdt", f"{type(v).__qualname__}:{v!r}:{getattr(v, 'storage', '')}".encode()))
    return True


_SKLEARN_DONE: list[bool] = []


def _register_sklearn() -> bool:
    """Register scikit-learn estimators once sklearn is imported; False if done before."""
    if _SKLEARN_DONE:
        return False
    _SKLEARN_DONE.append(True)
    from sklearn.base import BaseEstimator

    register(BaseEstimator)(_estimator)
    return True


def _estimator(value: Any, h: Any) -> None:
    # An unfitted estimator is its class and its parameters (nested estimators and functions by
    # their identity); a fitted one holds learned state no parameter describes: refused.
    fitted = sorted(k for k in vars(value) if k.endswith("_") and not k.startswith("__"))
    if fitted:
        raise FingerprintError(
            f"a fitted {type(value).__qualname__} (learned {', '.join(fitted[:3])}): its state is not "
            "described by its parameters; pass the data it was fitted on and fit it inside the step")
    cls = getattr(value, "_mlcontext_base", type(value))  # a traced estimator is its base class
    _tag(h, b"est", _version(cls.__module__).encode())  # what fit computes changes with the library
    _feed(cls, h)
    _dict(value.get_params(deep=False), h)


def _timestamp(value: Any, h: Any) -> None:
    tz = value.tzinfo
    _tag(h, b"PT", struct.pack("<q", value.value) + f"|{value.unit}|{'' if tz is None else tz}".encode())


def _interval(value: Any, h: Any) -> None:
    _tag(h, b"Pi", value.closed.encode())
    _feed(value.left, h)
    _feed(value.right, h)


def _categorical_dtype(value: Any, h: Any) -> None:
    _tag(h, b"Pcat", b"o" if value.ordered else b"u")
    h.update(b"-" if value.categories is None else hash_index(value.categories).encode())


def _plain_name(name: Any) -> Any:
    # Column and index names are mostly str, int, tuples or timestamps, hashed with their types. A
    # name without a fingerprint is refused: two objects printing alike must not name one column.
    try:
        hash_value(name)
        return name
    except FingerprintError as exc:
        raise FingerprintError(f"a column or index name: {exc}") from None


def column_digest(values: Any) -> str:
    """Fingerprint one column's values (a NumPy array or a pandas extension array) with its dtype.

    Arrow-backed arrays (pandas' ``str`` with pyarrow, ``string[pyarrow]``, ``ArrowDtype``) are hashed
    from their buffers, independently of their chunking; object arrays and python-storage strings as
    one joined string. The two never give the same digest: pandas treats ``str`` in Arrow and in Python
    storage as different dtypes, so one must not stand for the other (in the reuse cache, say).
    """
    h = xxhash.xxh3_128()
    dtype = values.dtype
    _tag(h, b"PC", f"{type(dtype).__name__}:{dtype}".encode())
    mask, data = getattr(values, "_mask", None), getattr(values, "_data", None)
    codes = getattr(values, "_codes", None)
    if codes is not None:  # Categorical: codes plus the categories and their order
        h.update(hash_array(np.asarray(codes)).encode())
        h.update(hash_index(dtype.categories).encode() + (b"o" if dtype.ordered else b"u"))
    elif isinstance(mask, np.ndarray) and isinstance(data, np.ndarray):  # Int64, Float64, boolean
        h.update(hash_array(mask).encode())
        h.update(hash_array(np.where(mask, np.zeros((), data.dtype), data)).encode())
    elif not _feed_arrow(getattr(values, "_pa_array", None), h):
        arr = getattr(values, "_ndarray", None)
        arr = np.asarray(values) if arr is None else arr
        if arr.dtype.hasobject:
            _feed_objects(arr, h)
        elif arr.dtype.kind in "mM":  # datetimes have no buffer format; their unit is in the tag
            h.update(hash_array(arr.view(np.int64)).encode())
        else:
            h.update(hash_array(arr).encode())
    return h.hexdigest()


def _feed_objects(arr: np.ndarray, h: Any) -> None:
    """Object columns: strings joined (fast, exact), missing values by kind, anything else by value."""
    flat = arr.ravel()
    _tag(h, b"PO", struct.pack("<Q", flat.size))
    if _feed_joined(flat, h):
        return
    import pandas as pd

    missing = pd.isna(flat)
    _tag(h, b"M", np.packbits(missing).tobytes())
    h.update(hash_value([type(v).__name__ for v in flat[missing]]).encode())
    rest = flat[~missing]
    if not _feed_joined(rest, h):
        for v in rest:  # mixed types: exact per value (slow, rare); unknown types raise
            _feed(v, h)


def _feed_joined(flat: np.ndarray, h: Any) -> bool:
    """Feed a 1-d object array of strings as one joined string; False if some value is not a str.

    Exact: the separator's count is checked, so no value contains it and the split is unambiguous.
    """
    try:
        joined = _joined(flat)
    except TypeError:
        return False
    if joined.count("\x1f") != max(flat.size - 1, 0):
        return False
    _tag(h, b"S", joined.encode("utf-8", "surrogatepass"))
    return True


def _joined(flat: np.ndarray) -> str:
    return "\x1f".join(flat.tolist())  # over a list: ~1.5x faster than over the array's iterator


# -- Arrow-backed columns (pandas' ArrowStringArray, ArrowExtensionArray) -------------------------
# Hashed from the Arrow buffers, never through Python objects. Three streams, each fed chunk after
# chunk so that the digest does not depend on how the column is chunked or sliced: the validity bits
# (one byte per value, only when the column has nulls), the value lengths as int64 (variable-size
# types: string and large_string give the same digest), and the value bytes. Values under a null
# are hashed as zeros (fixed width) or left out (variable size): Arrow does not define those bytes.


def _arrow_layout(t: Any) -> str | None:
    import pyarrow as pa

    types = pa.types
    if types.is_string(t) or types.is_binary(t):
        return "var4"
    if types.is_large_string(t) or types.is_large_binary(t):
        return "var8"
    if getattr(types, "is_string_view", None) and (types.is_string_view(t) or types.is_binary_view(t)):
        return "view"
    if types.is_boolean(t):
        return "bool"
    if types.is_null(t):
        return "null"
    if (types.is_integer(t) or types.is_floating(t) or types.is_temporal(t) or types.is_decimal(t)
            or types.is_fixed_size_binary(t)) and t.bit_width % 8 == 0:
        return "fixed"
    return None  # nested, dictionary, extension types: through NumPy objects


def _feed_arrow(chunked: Any, h: Any) -> bool:
    """Feed an Arrow ChunkedArray from its buffers; False when it is none or of a type not handled."""
    if chunked is None:
        return False
    import pyarrow as pa  # present: only Arrow-backed pandas arrays have ``_pa_array``

    layout = _arrow_layout(chunked.type) if isinstance(chunked, pa.ChunkedArray) else None
    if layout is None:
        return False
    n, nulls = len(chunked), chunked.null_count
    _tag(h, b"PA", (b"var" if layout in ("var4", "var8", "view") else layout.encode())
         + struct.pack("<QQ", n, nulls))
    masks, lengths, data = xxhash.xxh3_128(), xxhash.xxh3_128(), xxhash.xxh3_128()
    for chunk in chunked.chunks:
        size = len(chunk)
        if size == 0 or layout == "null":
            continue
        chunk_layout = layout
        if layout == "view":  # views point into many buffers: the contiguous large layout instead
            large = pa.large_string() if pa.types.is_string_view(chunk.type) else pa.large_binary()
            try:
                chunk = chunk.cast(large)
            except pa.ArrowNotImplementedError:  # pyarrow 16 has view types but no cast from them
                chunk = pa.array(chunk.to_pylist(), type=large)
            chunk_layout = "var8"
        buffers, offset = chunk.buffers(), chunk.offset
        valid = _bits(buffers[0], offset, size) if chunk.null_count else None
        if nulls:
            masks.update(valid if valid is not None else np.ones(size, np.uint8))
        if chunk_layout == "bool":
            bits = _bits(buffers[1], offset, size)
            data.update(bits if valid is None else bits & valid)
        elif chunk_layout == "fixed":
            width = chunk.type.bit_width // 8
            raw = np.frombuffer(buffers[1], np.uint8, size * width, offset * width)
            if valid is not None:
                raw = np.where(valid.view(np.bool_)[:, None], raw.reshape(size, width), 0)
            data.update(raw)
        else:
            _feed_var(buffers, offset, size, 8 if chunk_layout == "var8" else 4, valid, lengths, data)
    h.update(masks.digest() + lengths.digest() + data.digest())
    return True


def _feed_var(buffers: list[Any], offset: int, size: int, width: int, valid: np.ndarray | None,
              lengths: Any, data: Any) -> None:
    ends = np.frombuffer(buffers[1], np.int64 if width == 8 else np.int32, size + 1, offset * width)
    length = np.diff(ends).astype("<i8", copy=False)
    first, last = int(ends[0]), int(ends[-1])
    values = np.frombuffer(buffers[2], np.uint8, last - first, first) if last > first else b""
    if valid is not None:
        keep = valid.view(np.bool_)
        if length[~keep].any():  # bytes under nulls: left out
            values = values[np.repeat(keep, length)]
        length = np.where(keep, length, 0)
    lengths.update(length)
    data.update(values)


def _bits(buffer: Any, offset: int, size: int) -> np.ndarray:
    """An Arrow bitmap (validity or booleans) from bit ``offset`` on, one uint8 0/1 per value."""
    start = offset // 8
    raw = np.frombuffer(buffer, np.uint8, (offset + size + 7) // 8 - start, start)
    return np.unpackbits(raw, bitorder="little")[offset % 8: offset % 8 + size]


# -- functions: one identity for every place where code becomes part of a key ------------------------
# A function is identified by what decides its result besides its arguments: its code (nested code
# too; not file names or line numbers), defaults, closure cells, the globals its code loads (the
# user's own functions, classes and modules transitively, by the same identity), and, for code of an
# installed package, the package's version instead of its code. The analysis of a code object (its
# static digest, the names it loads) is cached; the values it reads are hashed on every call, since a
# global or a cell may have been rebound since.


class _CodeInfo:
    __slots__ = ("digest", "globals", "attrs", "imports")

    def __init__(self, digest: bytes, globals_: tuple[str, ...], attrs: frozenset[str],
                 imports: tuple[tuple[str, int], ...] = ()) -> None:
        self.digest, self.globals, self.attrs, self.imports = digest, globals_, attrs, imports


_CODE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The flags that change what a call does (not ``from __future__`` flags or CO_NESTED).
_CODE_FLAGS = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE
               | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR)
_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"})
_ATTR_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM", "STORE_ATTR", "LOAD_SUPER_ATTR"})


def _code_info(code: types.CodeType) -> _CodeInfo:
    info = _CODE.get(code)
    if info is None:
        info = _CODE[code] = _analyse(code)
    return info


def _analyse(code: types.CodeType) -> _CodeInfo:
    h = xxhash.xxh3_128()
    names: dict[str, None] = {}
    attrs: set[str] = set()
    imports: dict[tuple[str, int], None] = {}  # (module name, relative level) of import statements
    stack = [code]
    while stack:
        c = stack.pop()
        h.update(c.co_code)
        h.update(repr((c.co_name, c.co_names, c.co_varnames, c.co_freevars, c.co_cellvars, c.co_argcount,
                       c.co_posonlyargcount, c.co_kwonlyargcount, c.co_flags & _CODE_FLAGS)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
                _tag(h, b"code")
            else:
                _feed(const, h)
        consts: list[Any] = [0, None]  # the last two constants loaded
        for ins in dis.get_instructions(c):
            if ins.opname in _GLOBAL_OPS:
                names[ins.argval] = None
            elif ins.opname in _ATTR_OPS:
                attrs.add(ins.argval)
            elif ins.opname == "IMPORT_NAME":  # after LOAD_CONST level, LOAD_CONST fromlist
                level = consts[0] if type(consts[0]) is int else 0
                imports[(ins.argval, level)] = None
            elif ins.opname == "LOAD_CONST":
                consts = [consts[1], ins.argval]
    return _CodeInfo(h.digest(), tuple(names), frozenset(attrs), tuple(imports))


def hash_function(fn: Callable[..., Any]) -> str:
    """The identity of a function: everything that decides its result besides its arguments.

    Part of it: the qualified name; the code object (bytecode, constants, names, nested functions;
    not the file or line numbers); ``__defaults__`` and ``__kwdefaults__``; the values of closure
    cells; every global the code loads, by value — the user's own functions and classes by this same
    identity (transitively), the user's modules by the attributes the code reads from them,
    installed packages' functions, classes and modules by name and package version. Builtins,
    ufuncs, ``functools.partial`` objects and bound methods are identified by their parts. Values
    are hashed as by :func:`hash_value` at the time of the call.

    Raises
    ------
    FingerprintError
        Something it reads has no fingerprint (an open file, a socket, an arbitrary object); the
        message names it (``global 'fh' of tip: ...``).

    Examples
    --------
    >>> def make(f):
    ...     def scale(a):
    ...         return a * f
    ...     return scale
    >>> hash_function(make(2.0)) == hash_function(make(3.0))
    False
    >>> hash_function(make(2.0)) == hash_function(make(2.0))
    True
    """
    h = xxhash.xxh3_128()
    _feed(fn, h)
    return h.hexdigest()


_ABSENT = object()
_active = threading.local()  # ids of the functions and classes being hashed (recursion guard)


def _guard() -> set[int]:
    seen = getattr(_active, "ids", None)
    if seen is None:
        seen = _active.ids = set()
    return seen


@register(types.FunctionType)
def _function(fn: types.FunctionType, h: Any) -> None:
    if not _is_user(fn.__module__):
        _tag(h, b"fnlib", f"{fn.__module__}.{fn.__qualname__}|{_version(fn.__module__)}".encode())
        return
    seen = _guard()
    if id(fn) in seen:  # recursion (direct or mutual): the name stands for the function
        _tag(h, b"fnrec", fn.__qualname__.encode())
        _active.recursed = True
        return
    snap = _SNAPS.get(fn)
    if snap is not None and _valid(snap, fn, set()):
        h.update(snap.digest)
        return
    seen.add(id(fn))
    outer, _active.recursed = getattr(_active, "recursed", False), False
    try:
        sub = xxhash.xxh3_128()
        _feed_user_function(fn, sub)
        digest = b"fn" + sub.digest()
        h.update(digest)
        if not _active.recursed:  # in a cycle a digest depends on where hashing began: not kept
            _remember(fn, digest)
    finally:
        seen.discard(id(fn))
        _active.recursed = outer or _active.recursed


# -- the snapshot of a function whose identity cannot change while what it reads stays the same objects
# Hashing every global on every call costs about 2 us a value; a function that reads only immutable
# values (numbers, strings, tuples of them, installed modules and functions) and other such functions
# keeps its digest with the objects it read, and a call only checks they are still the same objects
# (``is``): rebinding a global, a cell, the defaults or the code makes it hash again.

_SNAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_IMMUTABLE = frozenset({int, float, str, bytes, bool, complex, type(None), type(Ellipsis)})


class _Snapshot:
    __slots__ = ("digest", "code", "qualname", "defaults", "kwdefaults", "cells", "globals", "users")

    def __init__(self, fn: types.FunctionType, digest: bytes, cells: tuple, globals_: tuple,
                 users: tuple) -> None:
        self.digest, self.code, self.qualname = digest, fn.__code__, fn.__qualname__
        self.defaults = fn.__defaults__
        kw = fn.__kwdefaults__
        self.kwdefaults = None if kw is None else tuple(kw.items())
        self.cells, self.globals, self.users = cells, globals_, users


def _fixed(value: Any, users: list) -> bool:
    """Whether ``value`` cannot change without being rebound (user functions are checked later)."""
    t = type(value)
    if t in _IMMUTABLE:
        return True
    if t is tuple or t is frozenset:
        return all(_fixed(v, users) for v in value)
    if t is types.FunctionType:
        if _is_user(value.__module__):
            users.append(value)
        return True
    if t is types.ModuleType:
        return not _is_user(value.__name__)
    if t is np.ufunc or t is type(np.mean) or t is types.BuiltinFunctionType:
        return getattr(value, "__self__", None) is None or isinstance(value.__self__, types.ModuleType)
    if t is type:
        return not _is_user(value.__module__)
    return False


# What a function reads the process environment through: ``os.environ[...]``, ``os.getenv(...)``,
# or the same names imported from os. The environment is then part of its identity (a changed variable
# is a new key), and it never takes the snapshot path: the environment changes without any rebinding.
_ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})


def _environment_digest() -> bytes:
    h = xxhash.xxh3_128()
    for key, value in sorted(os.environ.items()):
        h.update(struct.pack("<q", len(key)) + key.encode("utf-8", "surrogateescape"))
        h.update(struct.pack("<q", len(value)) + value.encode("utf-8", "surrogateescape"))
    return h.digest()


@register(type(os.environ))
def _environ_mapping(value: Any, h: Any) -> None:
    # os.environ (or os.environb) read as a global (``from os import environ``): its current items.
    _tag(h, b"envmap", repr(sorted(value.items())).encode("utf-8", "surrogateescape"))


def _reads_environment(info: _CodeInfo) -> bool:
    return bool(_ENV_NAMES & info.attrs or _ENV_NAMES.intersection(info.globals))


def _remember(fn: types.FunctionType, digest: bytes) -> None:
    users: list = []
    kw = fn.__kwdefaults__
    if not (_fixed(fn.__defaults__, users) and (kw is None or _fixed(tuple(kw.values()), users))):
        return
    cells = []
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            return
        if not _fixed(value, users):
            return
        cells.append(value)
    info = _code_info(fn.__code__)
    if _reads_environment(info):
        return
    if any(module is None or _is_user(module.__name__) for _, module in _imported(fn, info)):
        return  # what it reads from a user's module can change without any rebinding here
    scope = fn.__globals__
    read = tuple((var, scope.get(var, _ABSENT)) for var in info.globals)
    if all(value is _ABSENT or _fixed(value, users) for _, value in read):
        _SNAPS[fn] = _Snapshot(fn, digest, tuple(cells), read, tuple(users))


def _valid(snap: _Snapshot, fn: types.FunctionType, checking: set[int]) -> bool:
    if fn.__code__ is not snap.code or fn.__defaults__ is not snap.defaults or (
            fn.__qualname__ is not snap.qualname):
        return False
    kw = fn.__kwdefaults__
    if kw is not None or snap.kwdefaults is not None:
        if kw is None or snap.kwdefaults is None or len(kw) != len(snap.kwdefaults):
            return False
        if any(kw.get(k, _ABSENT) is not v for k, v in snap.kwdefaults):
            return False
    for cell, value in zip(fn.__closure__ or (), snap.cells, strict=True):
        try:
            if cell.cell_contents is not value:
                return False
        except ValueError:
            return False
    scope = fn.__globals__
    for var, value in snap.globals:
        if scope.get(var, _ABSENT) is not value:
            return False
    checking.add(id(fn))
    for user in snap.users:
        if id(user) in checking:
            continue
        other = _SNAPS.get(user)
        if other is None or not _valid(other, user, checking):
            return False
    return True


def _feed_user_function(fn: types.FunctionType, h: Any) -> None:
    # Not the module's name: moving a function to another module (or running it as __main__ in
    # another process) does not change what it computes.
    code = fn.__code__
    info = _code_info(code)
    _tag(h, b"fn", fn.__qualname__.encode() + info.digest)
    _feed_part(fn.__defaults__, h, "the defaults", fn)
    _feed_part(fn.__kwdefaults__, h, "the keyword defaults", fn)
    for var, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not filled yet (a name assigned after the def)
            _tag(h, b"cell-", var.encode())
            continue
        _tag(h, b"cell", var.encode())
        _feed_part(value, h, f"closure variable {var!r}", fn)
    scope = fn.__globals__
    for var in info.globals:
        value = scope.get(var, _ABSENT)
        if value is _ABSENT:  # a builtin, or a name not defined (yet)
            _tag(h, b"g-", var.encode() + (b"b" if hasattr(builtins, var) else b"?"))
            continue
        _tag(h, b"g", var.encode())
        _feed_part(value, h, f"global {var!r}", fn, info.attrs)
    if _reads_environment(info):
        _tag(h, b"env", _environment_digest())
    for name, module in _imported(fn, info):
        # ``import helpers`` / ``from helpers import rate`` inside the body: the module is no global,
        # but what the code reads from it decides the result as much as a global would.
        _tag(h, b"imp", name.encode())
        if module is not None:
            _feed_part(module, h, f"module {name!r} imported", fn, info.attrs)


def _imported(fn: types.FunctionType, info: _CodeInfo) -> list[tuple[str, types.ModuleType | None]]:
    """The modules ``fn``'s code imports (and their parent packages), as loaded now (None: not yet)."""
    out: list[tuple[str, types.ModuleType | None]] = []
    for name, level in info.imports:
        if level:
            package = fn.__globals__.get("__package__") or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            name = f"{base}.{name}" if name else base
        parts = name.split(".")
        for k in range(1, len(parts) + 1):
            full = ".".join(parts[:k])
            out.append((full, sys.modules.get(full)))
    return out


def _feed_part(value: Any, h: Any, what: str, fn: Any, attrs: frozenset[str] = frozenset()) -> None:
    try:
        if isinstance(value, types.ModuleType):
            _feed_module(value, h, attrs)
        else:
            _feed(value, h)
    except FingerprintError as exc:
        raise FingerprintError(f"{what} of {fn.__qualname__}: {exc}") from None


def _feed_module(module: types.ModuleType, h: Any, attrs: frozenset[str]) -> None:
    # A module the code reads attributes of (``helpers.rate(x)``, ``np.mean``): an installed one by
    # name and version, one of the user's by the attributes the code reads from it.
    name = module.__name__
    if not _is_user(name):
        _tag(h, b"mlib", f"{name}|{_version(name)}".encode())
        return
    _tag(h, b"mod", name.encode())
    space = vars(module)
    for attr in sorted(attrs):
        value = space.get(attr, _ABSENT)
        if value is not _ABSENT:
            _tag(h, b"a", attr.encode())
            try:
                if isinstance(value, types.ModuleType):
                    _feed_module(value, h, attrs)
                else:
                    _feed(value, h)
            except FingerprintError as exc:
                raise FingerprintError(f"{name}.{attr}: {exc}") from None


_USER: dict[str, bool] = {}
_VERSIONS: dict[str, str] = {}


def _library_paths() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    paths.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else "")
    paths.update({sys.prefix, sys.base_prefix, sys.exec_prefix})
    return tuple(os.path.realpath(p) + os.sep for p in paths if p)


def _is_user(module_name: str | None) -> bool:
    """Whether a module is the user's own code (hashed by code) rather than an installed package."""
    if module_name is None:
        return True
    known = _USER.get(module_name)
    if known is None:
        known = _USER[module_name] = _classify(module_name)
    return known


def _classify(module_name: str) -> bool:
    top = module_name.partition(".")[0]
    if module_name == "__main__":
        return True
    if top == "mlcontext" or top in sys.builtin_module_names:
        return False
    module = sys.modules.get(module_name) or sys.modules.get(top)
    path = getattr(module, "__file__", None)
    if path:  # the file decides, not the name: a project's own colorsys.py shadows the stdlib's
        return not os.path.realpath(path).startswith(_LIBRARY_PATHS)
    # No file: a frozen stdlib module, or code defined in a notebook, exec'd or made at run time
    # (hashed by its code).
    return top not in sys.stdlib_module_names


def _version(module_name: str) -> str:
    top = module_name.partition(".")[0]
    version = _VERSIONS.get(top)
    if version is None:
        version = getattr(sys.modules.get(top), "__version__", None)
        if not isinstance(version, str):
            if top in sys.stdlib_module_names or top in sys.builtin_module_names:
                version = "python-" + sys.version.split()[0]
            else:
                try:
                    version = importlib.metadata.version(top)
                except (importlib.metadata.PackageNotFoundError, ValueError):
                    version = "?"
        _VERSIONS[top] = version
    return version


@register(types.MethodType)
def _method(value: types.MethodType, h: Any) -> None:
    _tag(h, b"meth")
    _feed(value.__func__, h)
    _feed(value.__self__, h)


@register(types.BuiltinFunctionType, types.MethodWrapperType)
def _builtin(value: Any, h: Any) -> None:
    owner = value.__self__
    module = getattr(value, "__module__", None) or type(owner).__module__
    _tag(h, b"bi", f"{module}.{value.__qualname__}|{_version(module or 'builtins')}".encode())
    if owner is not None and not isinstance(owner, types.ModuleType):
        _feed(owner, h)  # a bound builtin method ("-".join, d.get): its object is an input


@register(types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType)
def _descriptor(value: Any, h: Any) -> None:
    cls = value.__objclass__
    _tag(h, b"desc", f"{cls.__module__}.{value.__qualname__}|{_version(cls.__module__)}".encode())


@register(np.ufunc, type(np.mean))
def _numpy_function(value: Any, h: Any) -> None:
    module = getattr(value, "__module__", None) or "numpy"
    _tag(h, b"np", f"{module}.{value.__name__}|{np.__version__}".encode())


@register(functools.partial)
def _partial(value: functools.partial, h: Any) -> None:
    _tag(h, b"partial")
    _feed(value.func, h)
    _feed(value.args, h)
    _feed(value.keywords, h)


@register(staticmethod, classmethod)
def _wrapped_method(value: Any, h: Any) -> None:
    _tag(h, b"sm" if isinstance(value, staticmethod) else b"cm")
    _feed(value.__func__, h)


@register(property)
def _property(value: property, h: Any) -> None:
    _tag(h, b"prop")
    for part in (value.fget, value.fset, value.fdel):
        _feed(part, h)


# Not part of what a class computes: documentation, bookkeeping, and abc's cache of subclass checks.
_CLASS_SKIP = frozenset({"__dict__", "__weakref__", "__module__", "__doc__", "__qualname__",
                         "__annotations__", "__slots__", "__firstlineno__", "__static_attributes__",
                         "_abc_impl"})


@register(enum.Enum)
def _enum(value: enum.Enum, h: Any) -> None:
    cls = type(value)
    _tag(h, b"enum", f"{cls.__module__}.{cls.__qualname__}.{value.name}".encode())
    _feed(value.value, h)


def _dataclass_instance(value: Any, h: Any) -> None:
    # The class (by its identity: a user's class by its code) and every field's value.
    _feed(type(value), h)
    for f in dataclasses.fields(value):
        _tag(h, b"f", f.name.encode())
        _feed(getattr(value, f.name), h)


def _namedtuple(value: tuple, h: Any) -> None:
    _feed(type(value), h)
    _sequence(value, h)


@register(dataclasses.Field)
def _dataclass_field(value: Any, h: Any) -> None:
    # A dataclass's field: its name and default (or default factory) decide what instances hold.
    _tag(h, b"dcf", str(value.name).encode())
    for part in (value.default, value.default_factory):
        if part is dataclasses.MISSING:
            _tag(h, b"-")
        else:
            _feed(part, h)


@register(type(operator.itemgetter(0)), type(operator.attrgetter("a")))
def _getter(value: Any, h: Any) -> None:
    _tag(h, b"getter", repr(value).encode())  # itemgetter(0), attrgetter('a'): exact reprs


@register(pathlib.PurePath)
def _path(value: pathlib.PurePath, h: Any) -> None:
    # The path, not the file's content: reading a file is I/O (declare such steps reuse=False).
    _tag(h, b"path", f"{type(value).__qualname__}:{value}".encode())


@register(re.Pattern)
def _pattern(value: re.Pattern, h: Any) -> None:
    _tag(h, b"re", b"%d:" % value.flags)
    _feed(value.pattern, h)


@register(types.SimpleNamespace, argparse.Namespace)
def _namespace(value: Any, h: Any) -> None:
    # ``args = parser.parse_args()`` read by a step: its attributes, by value.
    _tag(h, b"ns", type(value).__qualname__.encode())
    _dict(vars(value), h)


@register(logging.Logger)
def _logger(value: logging.Logger, h: Any) -> None:
    # A logger a function writes to does not decide what it returns: identified by its name.
    _tag(h, b"log", value.name.encode())


@register(type(functools.lru_cache(maxsize=None)(lambda: None)))
def _cached_function(value: Any, h: Any) -> None:
    _tag(h, b"lru")
    _feed(value.__wrapped__, h)


def _register_class_machinery() -> None:
    # Objects the class statement's machinery puts in a class body: identified by their exact reprs.
    from collections import namedtuple

    params = getattr(dataclasses.dataclass(type("_D", (), {})), "__dataclass_params__", None)
    kinds = [type(namedtuple("_T", "a").a),  # collections._tuplegetter (a NamedTuple field)
             type(dataclasses.MISSING)]  # the sentinel in generated __init__ defaults
    factory = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", None)
    if factory is not None:
        kinds.append(type(factory))
    if params is not None:
        kinds.append(type(params))
    register(*kinds)(lambda v, h: _tag(h, b"cm", f"{type(v).__qualname__}:{v!r}:{v.__doc__}".encode()))


_register_class_machinery()


def _feed_user_class(cls: type, h: Any) -> None:
    # The user's own class: its bases and everything defined in its body (methods by code).
    seen = _guard()
    if id(cls) in seen:
        return
    seen.add(id(cls))
    try:
        for base in cls.__bases__:
            _feed(base, h)
        for key in sorted(k for k in vars(cls) if k not in _CLASS_SKIP):
            _tag(h, b"attr", key.encode())
            try:
                _feed(vars(cls)[key], h)
            except FingerprintError as exc:
                raise FingerprintError(f"{cls.__qualname__}.{key}: {exc}") from None
    finally:
        seen.discard(id(cls))


# -- strict mode: what happens when something cannot be identified ----------------------------------

_STRICT = [False]
_WARNED: set[str] = set()


def set_strict(flag: bool) -> bool:
    """Raise (``True``) or warn and never reuse (``False``, the default) when something that would
    be part of a cache key cannot be identified; return the previous setting."""
    old, _STRICT[0] = _STRICT[0], bool(flag)
    return old


def strict() -> bool:
    """Whether unidentifiable values raise (see :func:`set_strict`)."""
    return _STRICT[0]


def unidentified(what: str, error: FingerprintError) -> None:
    """Report that ``what`` is never reused because of ``error``: one warning per distinct message
    (pointing at the user's line), or, in strict mode, :class:`~mlcontext.errors.FingerprintError`.
    """
    message = f"{what} cannot be identified, so it is never reused: {error}"
    if _STRICT[0]:
        raise FingerprintError(message + " (mc.reuse(strict=True) refuses to run it unidentified)")
    if message in _WARNED:
        return
    _WARNED.add(message)
    warnings.warn(message, UnidentifiedWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside mlcontext (the user's line)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("mlcontext"):
        frame, level = frame.f_back, level + 1
    return level


_LIBRARY_PATHS = _library_paths()
