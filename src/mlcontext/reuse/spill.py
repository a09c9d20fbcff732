"""Spilling evicted values to local disk, and reading them back verified.

Files are written to a unique temporary name and moved into place (as joblib does), and each carries
the xxh3-128 digest of its bytes, checked on read: a truncated or altered file is a miss, never a wrong
value.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import numpy as np

from ..fingerprint import hash_bytes

__all__ = ["SpillFolder", "encode_array", "decode_array", "npy_keeps_layout"]


def npy_keeps_layout(value: np.ndarray) -> bool:
    """Whether ``.npy`` bytes give ``value`` back in its memory layout: the format records C or
    Fortran order only, so any other layout (a permuted 3-d result) would come back in C order,
    and NumPy's results on it (``ravel(order="K")``, the flags) would differ. Such values are kept in
    memory only (joblib/joblib#255: Fortran order lost through a dump and load)."""
    flags = value.flags
    return bool(flags.c_contiguous or flags.f_contiguous)


def encode_array(value: np.ndarray) -> bytes:
    """``.npy`` bytes of an array (no pickles)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(value), allow_pickle=False)
    return buf.getvalue()


def decode_array(data: bytes) -> np.ndarray:
    """The array of ``.npy`` bytes, read-only; ``ValueError`` if they are not a valid file."""
    try:
        value = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, EOFError) as exc:
        raise ValueError(f"not a valid .npy payload: {exc}") from None
    value.flags.writeable = False
    return value


class SpillFolder:
    """A folder of spilled values named by lineage hash (a temporary one unless ``path`` is given)."""

    def __init__(self, path: str | None = None) -> None:
        self._given = path
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        if self._path is None:
            if self._given:
                self._path = Path(self._given)
                self._path.mkdir(parents=True, exist_ok=True)
            else:
                self._path = Path(tempfile.mkdtemp(prefix="mlcontext-spill-"))
                atexit.register(shutil.rmtree, self._path, True)
        return self._path

    def write(self, key: bytes, value: np.ndarray) -> tuple[str, str]:
        """Write ``value``; return ``(file name, digest of its bytes)``."""
        data = encode_array(value)
        name = key.hex() + ".npy"
        tmp = self.path / f".{name}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.path / name)
        return name, hash_bytes(data)

    def read(self, name: str, digest: str) -> np.ndarray | None:
        """The value, or ``None`` when the file is missing or does not match its digest."""
        try:
            data = (self.path / name).read_bytes()
        except OSError:
            return None
        if hash_bytes(data) != digest:
            self.delete(name)
            return None
        try:
            return decode_array(data)
        except ValueError:
            return None

    def delete(self, name: str) -> None:
        try:
            (self.path / name).unlink()
        except OSError:
            pass
