"""Folders as artifacts: ``mc.artifact("checkpoint", "ckpt/")`` stores the tree, not the path string.

The stored form is a deterministic uncompressed tar (sorted paths, zero times and owners, mode
``0o755`` for executables and ``0o644`` otherwise), so the same tree always has the same content hash.
Links are stored as links (their target text, never followed) and every other kind of entry is left
out. Reading never extracts the tar: :class:`StoredTree` reads regular members into memory, and
:meth:`StoredTree.extract` writes them through :mod:`.safe_tree`, so a crafted tree cannot write
outside the destination (``..``, absolute paths, links on the way, ``.git``).
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from ..errors import ArtifactCorruptedError, UnsafeArchiveError
from .safe_tree import check_relative, escaping_links, make_link, write_file

__all__ = ["StoredTree", "write_tree"]


def write_tree(folder: Path) -> tuple[str, int, list[str]]:
    """Write the tar of ``folder`` to a temporary file; return its path, the file count and what was
    left out (neither file, folder nor link). The caller deletes the file."""
    skipped: list[str] = []
    count = 0
    handle, path = tempfile.mkstemp(prefix="mlcontext-tree-", suffix=".tar")
    with os.fdopen(handle, "wb") as out, tarfile.open(fileobj=out, mode="w",
                                                      format=tarfile.PAX_FORMAT) as tar:
        for rel, full in _entries(folder):
            info = os.lstat(full)
            entry = tarfile.TarInfo(rel)
            entry.mtime, entry.uid, entry.gid, entry.uname, entry.gname = 0, 0, 0, "", ""
            if stat.S_ISLNK(info.st_mode):
                entry.type, entry.linkname, entry.mode = tarfile.SYMTYPE, os.readlink(full), 0o777
                tar.addfile(entry)
            elif stat.S_ISREG(info.st_mode):
                entry.size = info.st_size
                entry.mode = 0o755 if info.st_mode & stat.S_IXUSR else 0o644
                with open(full, "rb") as source:
                    tar.addfile(entry, source)
                count += 1
            elif not stat.S_ISDIR(info.st_mode):
                skipped.append(rel)
    return path, count, skipped


def _entries(folder: Path) -> Iterator[tuple[str, str]]:
    """``(relative POSIX path, full path)`` of everything under ``folder``, sorted; links not followed."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        rel_root = Path(root).relative_to(folder)
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        for name in sorted(files + links):
            yield (rel_root / name).as_posix(), os.path.join(root, name)


class StoredTree(Mapping[str, bytes]):
    """A folder stored as an artifact: a mapping of relative POSIX path -> bytes, plus its links.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> src = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (src / "a.txt").write_text("1")
    >>> path, _, _ = write_tree(src)
    >>> tree = StoredTree(pathlib.Path(path).read_bytes())
    >>> dict(tree), tree.links
    ({'a.txt': b'1'}, {})
    >>> (tree.extract(pathlib.Path(tempfile.mkdtemp()) / "copy") / "a.txt").read_text()
    '1'
    """

    def __init__(self, data: bytes) -> None:
        self.files: dict[str, bytes] = {}
        self.executable: set[str] = set()
        self.links: dict[str, str] = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
                for member in tar.getmembers():
                    self._add(tar, member)
        except (tarfile.TarError, OSError) as exc:
            raise ArtifactCorruptedError(f"not a stored folder (tar): {exc}") from exc

    def _add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        if member.issym():
            self.links[member.name] = member.linkname
        elif member.isfile():
            stream = tar.extractfile(member)
            self.files[member.name] = stream.read() if stream is not None else b""
            if member.mode & 0o100:
                self.executable.add(member.name)

    def __getitem__(self, path: str) -> bytes:
        return self.files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __repr__(self) -> str:
        return f"<StoredTree {len(self.files)} files, {len(self.links)} links>"

    def extract(self, dest: str | os.PathLike[str]) -> Path:
        """Write the tree into ``dest`` (created; must not exist or be empty) and return it.

        Raises
        ------
        UnsafeArchiveError
            A stored path leaves ``dest`` (``..``, absolute, through a link, into ``.git``) or a link
            resolves outside it; nothing is written outside either way.
        """
        dest = Path(dest)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise UnsafeArchiveError(f"extract destination {str(dest)!r} exists and is not empty")
        dest.mkdir(parents=True, exist_ok=True)
        for rel in self.links:
            check_relative(rel, "link path")
        for rel, data in self.files.items():
            write_file(dest, rel, data)
            if rel in self.executable:
                (dest / PurePosixPath(rel)).chmod(0o755)
        for rel, target in self.links.items():
            make_link(dest, rel, target)
        escaping = escaping_links(dest)
        if escaping:
            for rel in escaping:
                (dest / rel).unlink()
            raise UnsafeArchiveError(f"the stored folder links outside {str(dest)!r}: {escaping[:5]}; "
                                     "those links were removed")
        return dest
