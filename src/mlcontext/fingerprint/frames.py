"""Identity of pandas values: frames and series column by column, indexes, pandas scalars and dtypes.

pandas is imported lazily (only a frame being hashed needs it). A column is hashed from its backing
arrays, never through ``pd.util.hash_array``: that one maps 1 and "1" to the same 64-bit value.
Arrow-backed columns are hashed from their buffers, independently of their chunking.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import xxhash

from ..errors import FingerprintError
from .arrays import _feed_joined, hash_array
from .scheme import _feed, _tag, add_lazy, hash_value, register

_NO_BYTES = np.empty(0, np.uint8)  # the data of a chunk whose strings are all empty


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
    if frame.attrs:  # pandas carries them into results (sum, copy ...): part of the value when set
        try:
            _tag(h, b"Pattrs", hash_value(frame.attrs).encode())
        except FingerprintError as exc:
            raise FingerprintError(f"the frame's attrs: {exc}") from None
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
    freq = getattr(index, "freq", None)
    if freq is not None and isinstance(index, pd.DatetimeIndex | pd.TimedeltaIndex):
        # What shift(freq=...), asfreq and the index itself give back depends on it (a PeriodIndex
        # has it in its dtype). Only an index with a freq adds it: other digests stay as they were.
        _tag(h, b"Pfreq", hash_value(_offset_parts(freq)).encode())
    return h.hexdigest()


def _offset_parts(freq: Any) -> list:
    # Its class, text, multiple and keywords (a custom business day's holidays and weekmask; the
    # calendar object they build is left out).
    kwds = {k: v for k, v in sorted(freq.kwds.items()) if k != "calendar"}
    return [type(freq).__qualname__, freq.freqstr, freq.n, bool(freq.normalize), kwds]


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
            # (an ndarray is a buffer; NumPy's stubs say so from Python 3.12 on)
            masks.update(valid if valid is not None else np.ones(size, np.uint8))  # type: ignore[arg-type]
        if chunk_layout == "bool":
            bits = _bits(buffers[1], offset, size)
            # (an ndarray is a buffer; NumPy's stubs say so from Python 3.12 on)
            data.update(bits if valid is None else bits & valid)  # type: ignore[arg-type]
        elif chunk_layout == "fixed":
            width = chunk.type.bit_width // 8
            raw = np.frombuffer(buffers[1], np.uint8, size * width, offset * width)
            if valid is not None:
                raw = np.where(valid.view(np.bool_)[:, None], raw.reshape(size, width), 0)
            # (an ndarray is a buffer; NumPy's stubs say so from Python 3.12 on)
            data.update(raw)  # type: ignore[arg-type]
        else:
            _feed_var(buffers, offset, size, 8 if chunk_layout == "var8" else 4, valid, lengths, data)
    h.update(masks.digest() + lengths.digest() + data.digest())
    return True


def _feed_var(buffers: list[Any], offset: int, size: int, width: int, valid: np.ndarray | None,
              lengths: Any, data: Any) -> None:
    ends = np.frombuffer(buffers[1], np.int64 if width == 8 else np.int32, size + 1, offset * width)
    length = np.diff(ends).astype("<i8", copy=False)
    first, last = int(ends[0]), int(ends[-1])
    values = np.frombuffer(buffers[2], np.uint8, last - first, first) if last > first else _NO_BYTES
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



add_lazy(lambda cls: cls.__module__.startswith("pandas") and _register_pandas())
