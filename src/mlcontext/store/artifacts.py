"""The content-addressed artifact store, on any fsspec file system.

Bytes are stored once under their xxh3-128 digest: ``<root>/ab/cdef...``. Writes go to a unique
temporary name and are then moved into place, so a reader never sees half an object and two writers of
the same content cannot corrupt each other. Reads verify the digest and raise
:class:`~mlcontext.errors.ArtifactCorruptedError` instead of returning bad bytes.

Storing content that is already there verifies the stored copy and rewrites it when it is damaged (a
disk error, a truncated copy, a hand edit): the next ``put`` of the same content repairs the object
instead of "succeeding" over bytes no one can read. That costs one read of the stored copy, cheaper
than the write it saves.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import IO, Any

import fsspec
import xxhash
from fsspec.core import url_to_fs

from ..errors import ArtifactCorruptedError, ConfigError, NotFoundError, ReadOnlyStoreError, StoreError
from ..fingerprint import DIGEST_HEX_LEN, hash_bytes

__all__ = ["ArtifactStore", "CHUNK_SIZE"]

CHUNK_SIZE = 8 << 20


class ArtifactStore:
    """Content-addressed bytes on an fsspec URL (a local folder by default).

    Examples
    --------
    >>> import tempfile
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> digest = store.put(b"weights")
    >>> store.get(digest)
    b'weights'
    """

    def __init__(self, url: str | os.PathLike[str]) -> None:
        self.url = str(url)
        try:
            self.fs, root = url_to_fs(self.url)
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"cannot open artifact store {self.url!r}: {exc}") from exc
        self.root = root.rstrip("/")
        self._local = "file" in _protocols(self.fs)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    def path(self, digest: str) -> str:
        """Where the object with ``digest`` lives (a path on this store's file system)."""
        _check_digest(digest)
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def uri(self, digest: str) -> str:
        """A URL of the object usable with ``fsspec.open``."""
        return self.fs.unstrip_protocol(self.path(digest))

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self.path(digest)))

    def put(self, data: bytes | bytearray | memoryview) -> str:
        """Store ``data`` (once) and return its digest."""
        digest = hash_bytes(data)
        if not self._intact(digest, len(data)):
            self._write_atomically(digest, [bytes(data)])
        return digest

    def put_file(self, path: str | os.PathLike[str]) -> str:
        """Store a local file's bytes, streaming them, and return the digest."""
        hasher = xxhash.xxh3_128()
        with open(path, "rb") as source:
            for chunk in iter(lambda: source.read(CHUNK_SIZE), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()
        if not self._intact(digest, os.path.getsize(path)):
            with open(path, "rb") as source:
                self._write_atomically(digest, iter(lambda: source.read(CHUNK_SIZE), b""))
        return digest

    def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``, verified."""
        try:
            with self.fs.open(self.path(digest), "rb") as stream:
                data = stream.read()
        except FileNotFoundError as exc:
            raise NotFoundError(f"no artifact {digest} in {self.url}") from exc
        actual = hash_bytes(data)
        if actual != digest:
            raise ArtifactCorruptedError(
                f"artifact {digest} in {self.url} is corrupted (its bytes hash to {actual}); storing "
                "the same content again repairs it (a run that logs the same object, or "
                "store.artifacts.put(original_bytes), rewrites the damaged file)"
            )
        return data

    def open(self, digest: str) -> IO[bytes]:
        """A binary stream of the object (unverified; use :meth:`get` or :meth:`verify`)."""
        if not self.exists(digest):
            raise NotFoundError(f"no artifact {digest} in {self.url}")
        return self.fs.open(self.path(digest), "rb")

    def verify(self, digest: str) -> bool:
        """Whether the stored bytes still hash to ``digest`` (streams large objects)."""
        hasher = xxhash.xxh3_128()
        with self.open(digest) as stream:
            for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
                hasher.update(chunk)
        return hasher.hexdigest() == digest

    def _intact(self, digest: str, size: int) -> bool:
        """Whether a verified copy of ``digest`` (``size`` bytes) is stored already."""
        try:
            if self.fs.size(self.path(digest)) != size:  # truncated or padded: no need to read it
                return False
            return self.verify(digest)
        except (FileNotFoundError, NotFoundError):
            return False

    def delete(self, digest: str) -> None:
        if self.exists(digest):
            self.fs.rm(self.path(digest))

    def __iter__(self) -> Iterator[str]:
        """Digests of every stored object."""
        if not self.fs.exists(self.root):
            return
        for path in self.fs.find(self.root):
            parent, name = path.rstrip("/").rsplit("/", 2)[-2:]
            if len(parent) == 2 and len(parent + name) == DIGEST_HEX_LEN:
                yield parent + name

    def _write_atomically(self, digest: str, chunks: Any) -> None:
        final = self.path(digest)
        folder = final.rsplit("/", 1)[0]
        temporary = f"{folder}/.tmp-{uuid.uuid4().hex}"
        try:
            self.fs.makedirs(folder, exist_ok=True)
            with self.fs.open(temporary, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            if self._local:
                os.replace(temporary, final)  # atomic on POSIX, also when `final` appeared meanwhile
            else:
                self.fs.mv(temporary, final)
        except PermissionError as exc:
            raise ReadOnlyStoreError(f"cannot write to the artifact store {self.url}: {exc}") from exc
        except OSError as exc:
            self._discard(temporary)
            raise StoreError(f"writing artifact {digest} to {self.url} failed: {exc}") from exc

    def _discard(self, temporary: str) -> None:
        try:
            self.fs.rm(temporary)
        except (OSError, FileNotFoundError):
            pass


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _check_digest(digest: str) -> None:
    if len(digest) != DIGEST_HEX_LEN or any(c not in "0123456789abcdef" for c in digest):
        raise NotFoundError(f"{digest!r} is not an artifact digest (32 lowercase hex characters)")
