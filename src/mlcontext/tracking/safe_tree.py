"""Writing recorded files into a destination folder without ever leaving it (the tar-slip kind).

A code snapshot comes from the store, and anyone who can write to the store can craft one. Restoring
it must not write outside the destination: not through an absolute or ``..`` path, not through a
symbolic link that the snapshot (its diff, its commit, or its own link entries) placed in the tree,
and not into ``.git``, whose hooks and config would run the writer's commands at the reader's next
``git`` call. The rules:

- paths are relative POSIX paths of plain names (no ``..``, no ``.git``, no NUL, no empty part);
- every directory on the way is opened with ``O_NOFOLLOW`` relative to its parent's descriptor, so a
  link planted anywhere on the path stops the write instead of redirecting it, even if it appears
  between a check and the write;
- links are recreated as links (their target text, never followed) and only when the target, read
  relative to the link's folder, stays inside the destination;
- after a restore, :func:`escaping_links` lists every link in the tree that resolves outside it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ..errors import UnsafeArchiveError

__all__ = ["check_relative", "write_file", "make_link", "escaping_links"]

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)


def check_relative(rel: object, what: str = "path") -> tuple[str, ...]:
    """The parts of ``rel``, a relative path that cannot leave the folder it is resolved in.

    Raises
    ------
    UnsafeArchiveError
        ``rel`` is not a string, is empty or absolute, or has a ``..``, ``.git`` or NUL in it.
    """
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise UnsafeArchiveError(f"refusing the {what} {rel!r}: not a plain relative path")
    path = PurePosixPath(rel)
    parts = tuple(p for p in path.parts if p != ".")
    if path.is_absolute() or not parts or ".." in parts:
        raise UnsafeArchiveError(f"refusing the {what} {rel!r}: it would resolve outside the destination")
    if any(p.casefold() == ".git" for p in parts):
        # git's own files: a planted hook or core.fsmonitor runs at the reader's next git command.
        raise UnsafeArchiveError(f"refusing the {what} {rel!r}: it writes into .git")
    return parts


@contextlib.contextmanager
def _parent_fd(dest: Path, parts: tuple[str, ...]) -> Iterator[int]:
    """A descriptor of ``dest/parts[:-1]``, making folders; no link on the way is followed."""
    fd = os.open(dest, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeArchiveError(
                        f"refusing to write {'/'.join(parts)!r}: {part!r} on its path is a link or a "
                        "file, and links are never followed when restoring") from exc
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def write_file(dest: Path, rel: str, data: bytes) -> None:
    """Write ``data`` at ``dest/rel`` without following any link (see the module docstring).

    Raises
    ------
    UnsafeArchiveError
        ``rel`` is unsafe (:func:`check_relative`) or a link stands on its path or at its end.
    """
    parts = check_relative(rel, "file path")
    with _parent_fd(dest, parts) as parent:
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, 0o644, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EISDIR):
                raise UnsafeArchiveError(f"refusing to write {rel!r}: a link or a folder is already "
                                         "there, and links are never followed when restoring") from exc
            raise
        with os.fdopen(fd, "wb") as out:
            out.write(data)


def make_link(dest: Path, rel: str, target: str) -> None:
    """Create the link ``dest/rel -> target`` (the target text as recorded, never followed).

    Raises
    ------
    UnsafeArchiveError
        ``rel`` is unsafe, something already stands there, or ``target`` is absolute or climbs out
        of ``dest`` (read relative to the link's folder).
    """
    parts = check_relative(rel, "link path")
    if not isinstance(target, str) or not target or "\0" in target or target.startswith("/"):
        raise UnsafeArchiveError(f"refusing the link {rel!r} -> {target!r}: its target is not a "
                                 "relative path inside the destination")
    inside = posixpath.normpath(posixpath.join(*parts[:-1], target) if len(parts) > 1 else target)
    if inside == ".." or inside.startswith("../"):
        raise UnsafeArchiveError(f"refusing the link {rel!r} -> {target!r}: it points outside the "
                                 "destination")
    with _parent_fd(dest, parts) as parent:
        try:
            os.symlink(target, parts[-1], dir_fd=parent)
        except FileExistsError as exc:
            raise UnsafeArchiveError(f"refusing the link {rel!r}: something already stands there") from exc


def escaping_links(dest: Path) -> list[str]:
    """Links under ``dest`` (relative POSIX paths) that resolve outside it, following link chains.

    A lexical check of each target is not enough (``a -> .`` then ``b -> a/..`` leaves the tree), so
    each link is resolved by the file system; links are never followed while walking.
    """
    root = os.path.realpath(dest)
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                continue
            resolved = os.path.realpath(path)
            if resolved != root and not resolved.startswith(root + os.sep):
                found.append(Path(os.path.relpath(path, root)).as_posix())
    return sorted(found)
