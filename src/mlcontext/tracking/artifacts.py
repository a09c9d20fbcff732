"""Storing the objects a run hands to ``mc.artifact`` and reading them back (``mc.load_artifact``).

A path (``str`` or ``os.PathLike``) names a file, stored byte for byte, or a folder, stored as a tree
(:mod:`.trees`); a string that looks like a path but names nothing is an error, never stored as the
text of a typo. Every other value goes through :mod:`.formats` (``.npy`` arrays, Arrow frames, skops
models, JSON, and pickles only as the last resort, which read back only when trusted).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import NotFoundError
from ..store import ArtifactRef, ArtifactStore, Store
from .formats import Encoded, decode, decode_array, encode, note_written
from .trees import StoredTree, write_tree

__all__ = ["store_object", "load_object", "decode_array", "array_resolver", "format_of"]

# A bare file name with a suffix ("model.pt", "weights.npy"): a path, even without a folder in it.
_FILE_NAME = re.compile(r"[^\s/\\]+\.[A-Za-z][A-Za-z0-9_]{0,9}")

#: Artifact kinds of stores written before formats were recorded, and the format each one means.
_LEGACY_FORMATS = {"array": "array", "pickle": "pickle", "frame": "frame", "file": "file"}


def store_object(artifacts: ArtifactStore, name: str, obj: Any, *, kind: str | None = None
                 ) -> tuple[ArtifactRef, str | None]:
    """Store ``obj`` and describe it; returns the reference and the value's lineage identity.

    ``kind`` labels the artifact (default: its format); the format is kept in ``meta["format"]``.

    Raises
    ------
    NotFoundError
        ``obj`` is a path, or a string that looks like one, and nothing exists there.
    DataFormatError
        ``obj`` fits no format and does not pickle.
    """
    path = _as_path(obj)
    if path is not None:
        return _store_path(artifacts, name, path, kind), None
    encoded = encode(obj)
    digest = artifacts.put(encoded.data)
    note_written(digest, encoded.format)
    meta = {"format": encoded.format, **encoded.meta}
    if encoded.content_hash is not None:
        meta["content_hash"] = encoded.content_hash
    ref = ArtifactRef(name=name, hash=digest, size=len(encoded.data), kind=kind or _kind(encoded),
                      uri=artifacts.uri(digest), meta=meta)
    return ref, encoded.content_hash


def _kind(encoded: Encoded) -> str:
    return {"npy": "array", "arrow": "frame", "skops": "model", "torch": "model"}.get(
        encoded.format, encoded.format)


def _as_path(obj: Any) -> Path | None:
    """The path ``obj`` names, if it is one (it must then exist); ``None`` for other values."""
    if isinstance(obj, os.PathLike):
        path = Path(obj)
    elif isinstance(obj, str) and os.path.lexists(obj):
        return Path(obj)
    elif isinstance(obj, str) and _looks_like_path(obj):
        path = Path(obj)
    else:
        return None
    if not os.path.lexists(path):
        hint = f" (there is {path.parent}/: check the spelling)" if path.parent.is_dir() and \
            str(path.parent) != "." else ""
        raise NotFoundError(
            f"no file or folder {str(path)!r}{hint}; to store the string itself, pass it inside a "
            "list or dict, or as bytes")
    return path


def _looks_like_path(text: str) -> bool:
    if not text or len(text) > 4096 or "\n" in text:
        return False
    return "/" in text or os.sep in text or text.startswith("~") or bool(_FILE_NAME.fullmatch(text))


def _store_path(artifacts: ArtifactStore, name: str, path: Path, kind: str | None) -> ArtifactRef:
    meta: dict[str, Any] = {"source": str(path.absolute())}
    if path.is_dir():
        tar, count, skipped = write_tree(path)
        try:
            digest, size = artifacts.put_file(tar), os.path.getsize(tar)
        finally:
            os.unlink(tar)
        meta |= {"format": "tree", "files": count}
        if skipped:
            meta["skipped"] = skipped[:20]
        return ArtifactRef(name=name, hash=digest, size=size, kind=kind or "tree",
                           uri=artifacts.uri(digest), meta=meta)
    digest = artifacts.put_file(path)
    return ArtifactRef(name=name, hash=digest, size=path.stat().st_size, kind=kind or "file",
                       uri=artifacts.uri(digest), meta=meta)


def format_of(ref: ArtifactRef) -> str:
    """The format ``ref``'s bytes are in (older stores: known from the kind; else raw bytes)."""
    recorded = ref.meta.get("format")
    if isinstance(recorded, str):
        return recorded
    return _LEGACY_FORMATS.get(ref.kind, "bytes")


def load_object(artifacts: ArtifactStore, ref: ArtifactRef, *, trusted: bool | None = None) -> Any:
    """Read an artifact back (verified) as the kind of object it was stored from.

    Pickles, and models naming types outside their library, load only with ``trusted=True`` or when
    this process wrote them (:func:`mlcontext.tracking.formats.decode`). A folder comes back as a
    :class:`~mlcontext.tracking.trees.StoredTree`; a file as its bytes.
    """
    data = artifacts.get(ref.hash)
    fmt = format_of(ref)
    if fmt == "tree":
        return StoredTree(data)
    return decode(data, fmt, ref.meta, trusted=trusted, digest=ref.hash)


def array_resolver(store: Store) -> Callable[[str], Any]:
    """A lineage leaf resolver: the array (or a file's bytes) stored for a leaf's content hash, or
    the frame of the dataset version with that content hash (a frame leaf's columnwise hash)."""

    def resolve(content_hash: str) -> Any:
        digest = content_hash
        info = store.metadata.artifact_info(digest)
        if info is None:  # an .npy array is stored under its bytes' hash, found by its identity
            digest = store.metadata.artifacts_by_content([content_hash]).get(content_hash, "")
            info = store.metadata.artifact_info(digest) if digest else None
        if info is None:
            return _version_frame(store, content_hash)
        kind, _, meta = info
        if kind == "file":  # a file read (mc.read_csv, mc.load): its bytes
            return store.artifacts.get(digest)
        fmt = meta.get("format") or _LEGACY_FORMATS.get(kind, "bytes")
        if fmt not in ("npy", "array"):
            return _version_frame(store, content_hash)  # a frame leaf: the version's frame, or None
        return decode(store.artifacts.get(digest), fmt, meta, trusted=False)

    return resolve


def _version_frame(store: Store, content_hash: str) -> Any:
    """The frame of the dataset version whose content hash is ``content_hash``, or None (a version
    stored as a legacy pickle is not read: recompute never runs a pickle's code)."""
    from ..errors import UntrustedArtifactError
    from ..store.context import ContextStore
    from .datasets import _decode  # (datasets imports this module)

    row = ContextStore(store.metadata).versions_by_hash([content_hash]).get(content_hash)
    if row is None or row.content_hash != content_hash:
        return None
    try:
        return _decode(store.artifacts.get(row.artifact_hash), store, row.artifact_hash, trusted=False)
    except UntrustedArtifactError:
        return None
