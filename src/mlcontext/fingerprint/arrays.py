"""Identity of NumPy values: arrays by buffer, full dtype description and shape; scalars; dtypes.

Object arrays are hashed element by element when every element has a fingerprint of its own (strings
joined, fast and exact); any other element is refused, naming it.
"""

from __future__ import annotations

import datetime
import decimal
import fractions
import struct
import uuid
from typing import Any

import numpy as np
import xxhash

from ..errors import FingerprintError
from .scheme import _feed, _tag, register


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
    if dtype.hasobject and dtype.fields is None:  # object, and NumPy 2's variable-width StringDType
        return _hash_object_array(array)
    if dtype.fields is None and dtype.subdtype is None and dtype.isbuiltin != USER_DTYPE:  # inlined
        shape = array.shape
        head = _HEADS.get((dtype.str, shape))
        if head is None:
            if len(_HEADS) >= _HEADS_MAX:
                _HEADS.clear()
            head = _HEADS[dtype.str, shape] = dtype.str.encode() + struct.pack(
                f"<{len(shape) + 1}q", len(shape), *shape)
        h = xxhash.xxh3_128(head)
        if array.size and dtype.itemsize:
            data = np.ascontiguousarray(array)
            # Datetimes have no buffer format that memoryview could cast: as bytes.
            # (an ndarray is a buffer; NumPy's stubs say so from Python 3.12 on)
            h.update(data.reshape(-1).view(np.uint8) if dtype.kind in "mM" else memoryview(data).cast("B"))  # type: ignore[arg-type]
        return h.hexdigest()
    # records (their full description, padding zeroed), raw bytes (V8) and dtypes of other packages
    # (ml_dtypes' bfloat16 is '<V2' to NumPy and has no buffer format: hashed as bytes)
    h = xxhash.xxh3_128(array_header(array))
    if array.size:
        # (an ndarray is a buffer; NumPy's stubs say so from Python 3.12 on)
        h.update(canonical_array(array).reshape(-1).view(np.uint8))  # type: ignore[arg-type]
    return h.hexdigest()


USER_DTYPE = 2  # dtype.isbuiltin of a dtype defined outside NumPy (ml_dtypes' bfloat16)
# (dtype string, shape) -> the header hashed before a plain array's bytes: the same few recur
_HEADS: dict[tuple[str, tuple[int, ...]], bytes] = {}
_HEADS_MAX = 4096


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
        raise FingerprintError(f"an array of dtype={array.dtype} has no byte content to store; convert "
                               "it to a fixed-width dtype (e.g. .astype(str)) first")
    return dtype_descr(array.dtype) + struct.pack(f"<{array.ndim + 1}q", array.ndim, *array.shape)


def dtype_descr(dtype: np.dtype) -> bytes:
    """The complete description of a dtype as bytes.

    A plain dtype by its ``str`` (``'<f8'``, ``'>i4'``, ``'<M8[ns]'``, ``'<U5'``, ``'|S5'``): byte order,
    kind, width and unit. A record or sub-array dtype by its full ``str`` (field names, their dtypes
    and offsets, the item size): ``dtype.str`` alone is ``'|V16'`` for every 16-byte record.
    """
    if dtype.kind == "T" and dtype.str != repr(dtype):
        # StringDType: its str names na_object and coerce (which change results) where NumPy's repr
        # does; should a NumPy write less there, the repr says it all
        return b"T:" + repr(dtype).encode()
    if dtype.fields is None and dtype.subdtype is None:
        if dtype.isbuiltin == USER_DTYPE:
            # A dtype another package defines: ml_dtypes' float8_e4m3fn and int4 are both '<V1' to
            # NumPy, the same bytes two different numbers. Its scalar type says which.
            kind = dtype.type
            return f"X:{kind.__module__}.{kind.__qualname__}:{dtype.str}".encode()
        return dtype.str.encode()
    return b"V:" + str(dtype).encode() + b":%d" % dtype.itemsize



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
    flags = value.flags
    if not flags.c_contiguous:
        # A value's layout, as a leaf's (lineage/layout.py): NumPy keeps an input's layout in its
        # results and may round differently on it, so an array read from a global, a closure, a
        # default or a container that is Fortran-ordered or strided is another value.
        _tag(h, b"lay", b"F" if flags.f_contiguous else repr(value.strides).encode())


@register(np.generic)
def _numpy_scalar(value: np.generic, h: Any) -> None:
    if value.dtype.hasobject:  # np.object_ scalars do not exist as such; a 0-d object array might
        raise FingerprintError("a NumPy object scalar has no fingerprint")
    _tag(h, b"G", dtype_descr(value.dtype) + b"\x00" + value.tobytes())


@register(np.dtype)
def _dtype(value: np.dtype, h: Any) -> None:
    _tag(h, b"dt", dtype_descr(value))



# -- object arrays, element by element ---------------------------------------------------------------

_ELEMENTS = frozenset({str, bytes, int, float, bool, complex, type(None), datetime.date, datetime.datetime,
                       datetime.time, datetime.timedelta, decimal.Decimal, uuid.UUID, fractions.Fraction})


def _hash_object_array(array: np.ndarray) -> str:
    # (a StringDType array: its elements are str, or its na_object; its full dtype goes first)
    kind = b"O" if array.dtype.kind == "O" else b"T:" + repr(array.dtype).encode()
    h = xxhash.xxh3_128(kind + struct.pack(f"<{array.ndim + 1}q", array.ndim, *array.shape))
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
