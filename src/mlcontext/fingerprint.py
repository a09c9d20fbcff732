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
