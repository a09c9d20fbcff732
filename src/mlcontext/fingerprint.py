"""Stable content fingerprints of bytes, arrays, frames and plain Python values.

Every fingerprint is a 128-bit xxh3 digest written as 32 lowercase hex characters. The same value gives
the same fingerprint in every process, on every machine and after pickling: nothing here depends on
``id()``, ``hash()`` (salted per process for ``str``) or dict insertion order of sets.

Values are normalised through a dispatch table (after dask's ``tokenize``): register a type with
:func:`register`, or give a class a ``__mlcontext_fingerprint__()`` method. Values of unknown types raise
:class:`~mlcontext.errors.FingerprintError` instead of getting a random token: a silent cache miss is
bad, a wrong hit is worse.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import xxhash

from .errors import FingerprintError

__all__ = ["hash_bytes", "hash_array", "array_header", "hash_value", "register", "Hasher", "DIGEST_HEX_LEN"]

DIGEST_HEX_LEN = 32

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
    """Fingerprint an array by its buffer, dtype and shape.

    The dtype is hashed by its ``str`` (byte order and width included), the shape as 64-bit integers,
    so ``int32`` and ``float32`` views of the same bytes, or a ``(2, 3)`` and a ``(3, 2)`` array, differ.
    Non-contiguous arrays are hashed through a contiguous copy; object arrays are refused.
    """
    h = xxhash.xxh3_128(array_header(array))
    contiguous = np.ascontiguousarray(array)
    h.update(memoryview(contiguous).cast("B") if contiguous.size else b"")
    return h.hexdigest()


def array_header(array: np.ndarray) -> bytes:
    """The bytes hashed before an array's buffer: dtype string, then ndim and shape as int64.

    ``array_header(a) + a.tobytes()`` hashes (with :func:`hash_bytes`) to ``hash_array(a)``, which lets
    the artifact store keep an array under its lineage leaf hash (see ``tracking/artifacts.py``).
    """
    if array.dtype.hasobject:
        raise FingerprintError("arrays of dtype=object have no content fingerprint; convert them first")
    return array.dtype.str.encode() + struct.pack(f"<{array.ndim + 1}q", array.ndim, *array.shape)


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
    >>> hash_value({"b": 1, "a": [1.0, "x"]}) == hash_value({"a": [1.0, "x"], "b": 1})
    True
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
    for base in cls.__mro__[1:]:
        if base in _dispatch:
            return _dispatch[base]
    if hasattr(cls, "__mlcontext_fingerprint__"):
        return _feed_custom
    raise FingerprintError(
        f"cannot fingerprint a value of type {cls.__module__}.{cls.__qualname__}: "
        "register it with mlcontext.fingerprint.register or give it __mlcontext_fingerprint__()"
    )


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
    items = sorted(((hash_value(k), v) for k, v in value.items()), key=lambda kv: kv[0])
    _tag(h, b"D", struct.pack("<Q", len(items)))
    for key_digest, item in items:
        h.update(key_digest.encode())
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
    _tag(h, b"A", hash_array(value).encode())


@register(np.generic)
def _numpy_scalar(value: np.generic, h: Any) -> None:
    _tag(h, b"G", value.dtype.str.encode() + value.tobytes())


@register(np.dtype)
def _dtype(value: np.dtype, h: Any) -> None:
    _tag(h, b"dt", value.str.encode() if value.fields is None else str(value.descr).encode())


@register(type)
def _type(value: type, h: Any) -> None:
    _tag(h, b"t", f"{value.__module__}.{value.__qualname__}".encode())


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
                digest = column_digest(frame.iloc[:, k].array)
                if known is not None and unique:
                    known[name] = digest
            h.update(digest.encode())
    else:
        raise FingerprintError(f"hash_frame takes a DataFrame or Series, not {type(frame).__name__}")
    h.update(hash_index(frame.index).encode())
    return h.hexdigest()


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


def _plain_name(name: Any) -> Any:
    # Column and index names are mostly str or int; anything else is named by type and repr.
    try:
        hash_value(name)
        return name
    except FingerprintError:
        return (type(name).__qualname__, repr(name))


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
            chunk, chunk_layout = chunk.cast(large), "var8"
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
