"""Turning objects into artifact bytes and back: files, bytes, arrays, picklable objects."""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import numpy as np

from ..errors import StoreError
from ..store import ArtifactRef, ArtifactStore

__all__ = ["store_object", "load_object"]


def store_object(artifacts: ArtifactStore, name: str, obj: Any, *, kind: str | None = None) -> ArtifactRef:
    """Store ``obj`` and describe it.

    ``obj`` may be a path of an existing file (stored byte for byte, streamed), ``bytes``, a NumPy
    array (``.npy`` bytes), or any picklable object (pickle protocol 5).
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
        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        return buffer.getvalue(), "ndarray", {"shape": list(obj.shape), "dtype": obj.dtype.str}
    try:
        data = pickle.dumps(obj, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise StoreError(f"cannot store a {type(obj).__name__} as an artifact: it does not pickle "
                         f"({exc}); save it to a file and pass the path instead") from exc
    return data, "pickle", {"class": f"{type(obj).__module__}.{type(obj).__qualname__}"}


def load_object(artifacts: ArtifactStore, ref: ArtifactRef) -> Any:
    """Read an artifact back (verified) as the kind of object it was stored from."""
    data = artifacts.get(ref.hash)
    if ref.kind == "ndarray":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if ref.kind == "pickle":
        return pickle.loads(data)  # noqa: S301 - artifacts of this project's own runs
    return data
