"""Turning objects into artifact bytes and back: files, bytes, arrays, picklable objects."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import StoreError
from ..fingerprint import array_header, canonical_array
from ..store import ArtifactRef, ArtifactStore, Store

__all__ = ["store_object", "load_object", "decode_array", "array_resolver"]


def store_object(artifacts: ArtifactStore, name: str, obj: Any, *, kind: str | None = None) -> ArtifactRef:
    """Store ``obj`` and describe it.

    ``obj`` may be a path of an existing file (stored byte for byte, streamed), ``bytes``, a NumPy
    array (stored under its content fingerprint, :func:`mlcontext.fingerprint.hash_array`), or any
    picklable object (pickle protocol 5).
    """
    meta: dict[str, Any] = {}
    if isinstance(obj, str | os.PathLike) and os.path.isfile(obj):
        digest = artifacts.put_file(obj)
        size = os.path.getsize(obj)
        kind = kind or "file"
        meta["source"] = os.path.abspath(obj)
    else:
        data, detected, meta = _serialize(obj)
        digest, size, kind = artifacts.put(data), len(data), kind or detected
    return ArtifactRef(name=name, hash=digest, size=size, kind=kind, uri=artifacts.uri(digest), meta=meta)


def _serialize(obj: Any) -> tuple[bytes, str, dict[str, Any]]:
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj), "bytes", {}
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        # Header + buffer: the bytes whose hash is the array's lineage leaf hash, so recompute finds
        # stored arrays by the hash recorded in a lineage log (see fingerprint.array_header).
        data = array_header(obj) + canonical_array(obj).tobytes()
        return data, "array", {"shape": list(obj.shape), "dtype": _dtype_meta(obj.dtype)}
    try:
        data = pickle.dumps(obj, protocol=5)
    except Exception as exc:  # noqa: BLE001 - an object's own __reduce__/__getstate__ may raise anything
        raise StoreError(f"cannot store a {type(obj).__name__} as an artifact: it does not pickle "
                         f"({exc}); save it to a file and pass the path instead") from exc
    return data, "pickle", {"class": f"{type(obj).__module__}.{type(obj).__qualname__}"}


def decode_array(data: bytes, meta: Mapping[str, Any]) -> np.ndarray:
    """The array stored by :func:`store_object` (its header is skipped, dtype and shape come from meta)."""
    dtype, shape = _dtype_of(meta["dtype"]), tuple(meta["shape"])
    skip = len(array_header(np.empty((0,) * len(shape), dtype=dtype)))
    return np.frombuffer(data, dtype=dtype, offset=skip).reshape(shape).copy()


def _dtype_meta(dtype: np.dtype) -> Any:
    # A record dtype's ``str`` is '|V16': its fields by the .npy format's description instead.
    return dtype.str if dtype.fields is None else np.lib.format.dtype_to_descr(dtype)


def _dtype_of(meta: Any) -> np.dtype:
    if isinstance(meta, str):
        return np.dtype(meta)
    return np.lib.format.descr_to_dtype(_tuples(meta))


def _tuples(x: Any) -> Any:
    # JSON gave lists where the description had tuples (field, format[, shape]).
    if isinstance(x, list) and x and all(isinstance(f, list | tuple) for f in x):
        return [tuple(_tuples(v) if isinstance(v, list) else v for v in f) for f in x]
    return x


def load_object(artifacts: ArtifactStore, ref: ArtifactRef) -> Any:
    """Read an artifact back (verified) as the kind of object it was stored from."""
    data = artifacts.get(ref.hash)
    if ref.kind == "array":
        return decode_array(data, ref.meta)
    if ref.kind == "pickle":
        return pickle.loads(data)  # noqa: S301 - artifacts of this project's own runs
    return data


def array_resolver(store: Store) -> Callable[[str], np.ndarray | None]:
    """A lineage leaf resolver: the array (or a file's bytes) stored under a leaf's content hash."""

    def resolve(content_hash: str) -> np.ndarray | bytes | None:
        info = store.metadata.artifact_info(content_hash)
        if info is None or info[0] not in ("array", "file"):
            return None
        data = store.artifacts.get(content_hash)
        return decode_array(data, info[2]) if info[0] == "array" else data  # a file: its bytes

    return resolve
