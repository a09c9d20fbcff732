"""Code capture: the exact source a run executed, recoverable later.

A run records a :class:`CodeSnapshot`: the git commit of the entry script's repository **and**
everything that differs from it (``git diff --binary`` of tracked files, the bytes of untracked,
not-ignored files), so a run on a dirty tree can be recreated file for file with
:func:`restore_code`. Outside git the script's own source is stored.

Speed matters because capture runs at every run start (issue 15: start + end in a dirty repository
of 1,000 files no slower than MLflow's, which records only the commit), and a run captures in the
background from its start (see ``tracking/run.py``). At most two git processes run side by side
(:func:`_query_git`), so a capture costs about the slower of them: ``git status`` (branch, commit,
changes, untracked files, and with ``--ignored=matching`` what git ignores, named in ``ignored``; the
entry script is git-ignored if that list covers it) and ``git diff --binary HEAD`` (started
speculatively, its output dropped when the tree is clean). The diff is not run at all when the tree
is as dirty as at the last capture (:class:`_DiffCache`, in the repository's git folder). Only a
dirty repository without commits runs more, after status: ``git hash-object`` for the empty tree
and a diff from it. The repository root is found by looking for ``.git`` in Python instead of asking
git. A file that changes while it is read is read again until it stands still (see
:func:`capture_code`'s ``since_ns``).

Capture never fails a user's run: when git is missing or broken the snapshot degrades (to the
script's source, with a line in ``warnings``). Restoring, in contrast, raises a clear
:class:`~mlcontext.errors.MLContextError`.

Untracked files policy: every untracked file git does not ignore is stored, not only "source-like"
ones: ``.gitignore`` already says what is data, and a config file or a helper module with an unusual
suffix is as much part of the run as a ``.py``. Files over ``max_file_bytes`` (1 MiB) or past
``max_total_bytes`` (20 MiB, paths taken in sorted order) are skipped and named in ``warnings``. What
git ignores is skipped and named in ``ignored`` (ignored folders as one entry, ``data/``).

The store is never code: ``.mlcontext`` folders (anywhere in the repository) are left out of status,
diff and the ignored list by a pathspec, even where the store's own ``.gitignore`` is missing (a store
made by an older mlcontext, a read-only folder); otherwise every run would be dirty and each snapshot
would hold the previous runs' store.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ..errors import ArtifactCorruptedError, ConfigError, NotFoundError, StoreError, UnsafeArchiveError
from ..fingerprint import hash_bytes
from .safe_tree import escaping_links, make_link, write_file

__all__ = [
    "CodeCapture",
    "CodeSnapshot",
    "begin_capture",
    "capture_code",
    "restore_code",
    "restore_tree",
    "RefusedEntry",
    "entry_script",
    "MAX_FILE_BYTES",
    "MAX_TOTAL_BYTES",
]

MAX_FILE_BYTES = 1 << 20
MAX_TOTAL_BYTES = 20 << 20
ARCHIVE_FORMAT = "mlcontext-code/1"
_GIT_TIMEOUT_S = 60.0
_MAX_SKIP_WARNINGS = 20
_MAX_IGNORED = 100
# Pathspec: the whole tree but mlcontext's stores (see the module docstring).
_NOT_THE_STORE = ("--", ".", ":(exclude,glob)**/.mlcontext/**")

# Variables that point git at another repository than the one holding the script (set, e.g., inside
# git hooks); capture and restore must locate repositories by path only.
_REPO_LOCATING_VARS = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
     "GIT_NAMESPACE", "GIT_PREFIX"}
)

# Options that make the diff independent of the user's git configuration (prefixes, renames,
# external diff drivers, colour): the same tree always yields the same bytes, readable by git apply.
_DIFF_OPTIONS = (
    "diff", "--binary", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
    "--no-relative", "--unified=3", "--src-prefix=a/", "--dst-prefix=b/", "--ignore-submodules=all",
)


@dataclass(frozen=True)
class CodeSnapshot:
    """The code of one run: a git commit plus local changes, or a script's source.

    Attributes
    ----------
    kind : {"git", "script", "none"}
        ``"git"``: the entry script (or, without one, the working directory) is in a git
        repository. ``"script"``: a script outside git, or git unusable (see ``warnings``).
        ``"none"``: no script file and no repository (interactive session).
    repo_root : str or None
        Absolute path of the repository's working tree.
    commit : str or None
        HEAD's sha; ``None`` in a repository without commits.
    branch : str or None
        Checked-out branch; ``None`` on a detached HEAD.
    dirty : bool
        Tracked files differ from ``commit`` or untracked, not-ignored files exist.
    diff : bytes
        ``git diff --binary`` from ``commit`` (or the empty tree) to the working tree; ``b""``
        when clean.
    untracked : Mapping[str, bytes]
        Untracked, not-ignored files (repository-relative POSIX path -> bytes), size-capped.
        Treat as read-only.
    script_path : str or None
        The entry script, relative to ``repo_root`` when inside it, absolute otherwise.
    script_hash : str or None
        :func:`mlcontext.fingerprint.hash_bytes` of the script's bytes.
    script_source : bytes or None
        The script's bytes when the recorded tree does not already hold them: always for
        ``kind == "script"``, and for a git-ignored (or size-skipped) script inside a repository.
    warnings : tuple of str
        What could not be captured, and why.
    links : Mapping[str, str]
        Untracked symbolic links (repository-relative POSIX path -> the link's target text). Only
        the target text is recorded, never what it points to; restore recreates them as links.
    ignored : tuple of str
        Untracked paths skipped because git ignores them (an ignored folder is one entry ending in
        ``/``), sorted; at most 100, then ``"... and N more"``. mlcontext's store is never listed.
    """

    kind: Literal["git", "script", "none"]
    repo_root: str | None = None
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    diff: bytes = b""
    untracked: Mapping[str, bytes] = field(default_factory=dict, hash=False)
    script_path: str | None = None
    script_hash: str | None = None
    script_source: bytes | None = None
    warnings: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict, hash=False)
    ignored: tuple[str, ...] = ()

    def archive(self) -> bytes:
        """Serialise to a deterministic uncompressed tar (equal snapshots give equal bytes).

        Members: ``manifest.json`` (every field but the byte payloads), ``diff.patch``,
        ``untracked/NNNNNN`` (in sorted path order; the paths live in the manifest so any file name
        survives), ``script``. Times, owners and modes are fixed. Left uncompressed so the bytes do
        not depend on the zlib version; the artifact store may compress.

        Examples
        --------
        >>> s = CodeSnapshot(kind="script", script_path="/x/t.py", script_source=b"print(1)")
        >>> CodeSnapshot.from_archive(s.archive()) == s
        True
        """
        paths = sorted(self.untracked)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add_member(tar, "manifest.json", _manifest_bytes(self, paths))
            if self.diff:
                _add_member(tar, "diff.patch", self.diff)
            for index, path in enumerate(paths):
                _add_member(tar, f"untracked/{index:06d}", self.untracked[path])
            if self.script_source is not None:
                _add_member(tar, "script", self.script_source)
        return buffer.getvalue()

    @classmethod
    def from_archive(cls, data: bytes) -> CodeSnapshot:
        """Rebuild a snapshot from :meth:`archive` bytes.

        Raises
        ------
        ArtifactCorruptedError
            The bytes are not a code snapshot archive of a known format.
        """
        members = _read_members(data)
        try:
            manifest = json.loads(members["manifest.json"])
            if manifest.get("format") != ARCHIVE_FORMAT:
                raise ValueError(f"unknown format {manifest.get('format')!r}")
            paths, links = manifest["untracked"], manifest.get("links", {})
            _check_manifest_types(manifest, paths, links)
            return cls(
                kind=manifest["kind"],
                repo_root=manifest["repo_root"],
                commit=manifest["commit"],
                branch=manifest["branch"],
                dirty=manifest["dirty"],
                diff=members.get("diff.patch", b""),
                untracked={p: members[f"untracked/{i:06d}"] for i, p in enumerate(paths)},
                script_path=manifest["script_path"],
                script_hash=manifest["script_hash"],
                script_source=members["script"] if manifest["script_source"] else None,
                warnings=tuple(manifest["warnings"]),
                links=dict(links),
                ignored=tuple(manifest.get("ignored", ())),  # absent from older snapshots
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ArtifactCorruptedError(f"not a valid code snapshot archive: {exc!r}") from exc


def _check_manifest_types(manifest: dict, paths: object, links: object) -> None:
    """Types only (a crafted manifest must fail here, not deep inside a restore); the safety of the
    paths themselves is checked where they are written (:mod:`.safe_tree`)."""
    if manifest["kind"] not in ("git", "script", "none"):
        raise ValueError(f"unknown snapshot kind {manifest['kind']!r}")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) \
            or len(set(paths)) != len(paths):
        raise ValueError("'untracked' must be a list of distinct path strings")
    if not isinstance(links, dict) or not all(isinstance(v, str) for v in links.values()):
        raise ValueError("'links' must map paths to target strings")
    for key in ("repo_root", "commit", "branch", "script_path", "script_hash"):
        if manifest[key] is not None and not isinstance(manifest[key], str):
            raise ValueError(f"{key!r} must be a string or null")
    if not isinstance(manifest["warnings"], list) or not isinstance(manifest["dirty"], bool):
        raise ValueError("'warnings' must be a list and 'dirty' a boolean")


def _manifest_bytes(snapshot: CodeSnapshot, paths: list[str]) -> bytes:
    manifest: dict[str, Any] = {
        "format": ARCHIVE_FORMAT,
        "kind": snapshot.kind,
        "repo_root": snapshot.repo_root,
        "commit": snapshot.commit,
        "branch": snapshot.branch,
        "dirty": snapshot.dirty,
        "untracked": paths,
        "script_path": snapshot.script_path,
        "script_hash": snapshot.script_hash,
        "script_source": snapshot.script_source is not None,
        "warnings": list(snapshot.warnings),
    }
    if snapshot.ignored:
        manifest["ignored"] = list(snapshot.ignored)
    if snapshot.links:  # only when present: snapshots without links keep their bytes (and hash)
        manifest["links"] = dict(sorted(snapshot.links.items()))
    # ensure_ascii keeps undecodable file names (lone surrogates from os.fsdecode) round-trippable.
    return json.dumps(manifest, sort_keys=True, ensure_ascii=True, indent=1).encode("ascii")


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def _member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    file = tar.extractfile(member)
    if file is None:  # a regular file always has a body; a corrupted header may claim otherwise
        raise tarfile.TarError(f"member {member.name!r} has no contents")
    return file.read()


def _read_members(data: bytes) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            return {m.name: _member_bytes(tar, m) for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, AttributeError) as exc:
        raise ArtifactCorruptedError(f"not a valid code snapshot archive: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# git plumbing


class _GitError(Exception):
    """git is missing or a git command failed (internal: turned into warnings or public errors)."""


def _subcommand(proc: subprocess.Popen[bytes]) -> str:
    """``status`` of a process :meth:`_Git.start` began as ``[git, "status", ...]``."""
    args = proc.args
    return str(args[1]) if isinstance(args, list | tuple) and len(args) > 1 else str(args)


@dataclass(frozen=True)
class _Git:
    """Runs git in one directory with an environment that is independent of the caller's repo."""

    binary: str
    cwd: Path
    env: Mapping[str, str]

    @classmethod
    def at(cls, cwd: Path, *, ceiling: bool = False, restoring: bool = False) -> _Git:
        env = {k: v for k, v in os.environ.items() if k not in _REPO_LOCATING_VARS}
        if restoring:
            # The repository URL comes from a recorded snapshot: never let it pick a transport that
            # runs a command (ext::), whatever the user's own configuration allows.
            env.update(GIT_CONFIG_COUNT="1",
                       GIT_CONFIG_KEY_0="protocol.ext.allow", GIT_CONFIG_VALUE_0="never")
        env["GIT_OPTIONAL_LOCKS"] = "0"  # status must not take index.lock from a concurrent commit
        env["GIT_TERMINAL_PROMPT"] = "0"
        if ceiling and cwd.parent != cwd:
            # A stray ".git" that is no repository must not let git wander into a parent repository.
            env["GIT_CEILING_DIRECTORIES"] = str(cwd.parent)
        binary = shutil.which("git", path=env.get("PATH"))
        if binary is None:
            raise _GitError("git binary not found on PATH")
        return cls(binary, cwd, env)

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``git args`` without waiting, so several queries can run side by side."""
        try:
            return subprocess.Popen(
                [self.binary, *args], cwd=self.cwd, env=dict(self.env), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise _GitError(f"git {args[0]} could not run: {exc}") from exc

    def finish(
        self, proc: subprocess.Popen[bytes], *, stdin: bytes | None = None,
        ok: Sequence[int] = (0,),
    ) -> tuple[int, bytes]:
        """Wait for ``proc`` (always reaping it) and return its exit status and stdout."""
        try:
            out, err = proc.communicate(stdin, timeout=_GIT_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.communicate()
            raise _GitError(f"{_subcommand(proc)!r} took over {_GIT_TIMEOUT_S} s") from exc
        if proc.returncode not in ok:
            message = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
            raise _GitError(f"git {_subcommand(proc)} failed: {message}")
        return proc.returncode, out

    def run(
        self, *args: str, stdin: bytes | None = None, ok: Sequence[int] = (0,)
    ) -> tuple[int, bytes]:
        return self.finish(self.start(*args), stdin=stdin, ok=ok)


@dataclass
class _Status:
    commit: str | None = None
    branch: str | None = None
    tracked_changes: bool = False
    untracked: list[str] = field(default_factory=list)
    submodules: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # tracked paths that differ (their new names)
    ignored: list[str] = field(default_factory=list)  # untracked paths git ignores (folders end in /)
    raw: bytes = b""  # status's whole output: with the stats of ``changed``, a diff cache's key


def _parse_status(out: bytes) -> _Status:
    """Parse ``git status --porcelain=v2 --branch -z`` output."""
    status = _Status(raw=out)
    fields = iter(out.split(b"\0"))
    for entry in fields:
        if entry.startswith(b"# branch.oid "):
            oid = entry[13:].decode()
            status.commit = None if oid == "(initial)" else oid
        elif entry.startswith(b"# branch.head "):
            head = os.fsdecode(entry[14:])
            status.branch = None if head == "(detached)" else head
        elif entry.startswith(b"? "):
            status.untracked.append(os.fsdecode(entry[2:]))
        elif entry.startswith(b"! "):
            status.ignored.append(os.fsdecode(entry[2:]))
        elif entry[:2] in (b"1 ", b"2 ", b"u "):
            status.tracked_changes = True
            parts = entry.split(b" ", 10 if entry[:1] == b"u" else 8 if entry[:1] == b"1" else 9)
            if parts[2].startswith(b"S"):  # <sub> field: "S..." marks a submodule
                status.submodules.append(os.fsdecode(parts[-1]))
            else:
                status.changed.append(os.fsdecode(parts[-1]))
            if entry[:1] == b"2":
                next(fields, None)  # a rename's original path follows as its own field
    return status


def _find_repo_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


def _diff(git: _Git, commit: str | None) -> bytes:
    base = commit
    if base is None:
        # No commits yet: diff from the empty tree (its id depends on the hash algorithm).
        base = git.run("hash-object", "-t", "tree", "--stdin", stdin=b"")[1].decode().strip()
    return git.run(*_DIFF_OPTIONS, base, *_NOT_THE_STORE)[1]


def _read_untracked(
    root: Path, paths: Sequence[str], max_file: int, max_total: int
) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
    """Read untracked files in sorted order within the caps; return them, the untracked links
    (their target text, never followed) and the skip reasons."""
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    skipped: list[str] = []
    total = 0
    for rel in sorted(paths):
        reason = None
        try:
            info = (root / rel).lstat()
        except OSError as exc:
            reason = f"unreadable ({exc.strerror})"
        else:
            if stat.S_ISLNK(info.st_mode) and not rel.endswith("/"):
                reason = _read_link(root, rel, links)
            elif rel.endswith("/") or not stat.S_ISREG(info.st_mode):
                reason = "not a regular file (nested repository, socket, ...)"
            elif info.st_size > max_file:
                reason = f"{info.st_size} bytes > {max_file} per-file cap"
            elif total + info.st_size > max_total:
                reason = f"total untracked bytes would exceed {max_total} cap"
        if reason is None and rel not in links:
            try:
                data = (root / rel).read_bytes()
            except OSError as exc:
                reason = f"unreadable ({exc.strerror})"
            else:
                files[rel] = data
                total += len(data)
        if reason is not None:
            skipped.append(f"untracked file {rel!r} skipped: {reason}")
    return files, links, skipped


def _read_link(root: Path, rel: str, links: dict[str, str]) -> str | None:
    """Record the link ``rel``'s target text in ``links``; or say why it is skipped."""
    try:
        links[rel] = os.readlink(root / rel)
    except OSError as exc:
        return f"unreadable link ({exc.strerror})"
    return None


def _is_ignored(path: str, ignored: Sequence[str]) -> bool:
    """Whether git ignores ``path``, from the ignored list (a folder ends in ``/`` and covers what is
    in it). A tracked file is never in the list (git never reports one as ignored)."""
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in ignored)


def _cap_ignored(paths: list[str]) -> tuple[str, ...]:
    if len(paths) <= _MAX_IGNORED:
        return tuple(paths)
    return (*paths[:_MAX_IGNORED], f"... and {len(paths) - _MAX_IGNORED} more")


def _summarise(skipped: list[str]) -> list[str]:
    if len(skipped) <= _MAX_SKIP_WARNINGS:
        return skipped
    more = len(skipped) - _MAX_SKIP_WARNINGS
    return [*skipped[:_MAX_SKIP_WARNINGS], f"... and {more} more untracked files skipped"]


# --------------------------------------------------------------------------------------------------
# capture


def entry_script() -> str | None:
    """The file ``__main__`` was loaded from (also for ``python -m pkg``), or ``None``.

    This is what a run passes to :func:`capture_code`.
    """
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return str(path) if path else None


def capture_code(
    entry_point: str | os.PathLike[str] | None,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    cwd: str | os.PathLike[str] | None = None,
    since_ns: int | None = None,
) -> CodeSnapshot:
    """Capture the code a run executes; never raises for git trouble (see ``warnings``).

    Parameters
    ----------
    entry_point
        The script file being run (see :func:`entry_script`). ``None``, or a name that is no file
        (``"-c"``, ``"<stdin>"``), captures the repository around the working directory, if any.
    max_file_bytes, max_total_bytes
        Caps for untracked files; skipped files are named in ``warnings``.
    cwd
        The working directory to look from without a script (default: the current one).
    since_ns
        When the run started (``time.time_ns()``), for a capture that runs later: a file the snapshot
        holds that was modified after it is named in ``warnings`` (its content then is gone; what is
        stored is what was read). Whatever the time, a file that changes while it is read is read
        again until it stands still (three reads, then a warning).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> script = pathlib.Path(tempfile.mkdtemp()) / "train.py"
    >>> _ = script.write_text("print('hi')")
    >>> snap = capture_code(script)
    >>> snap.kind, snap.script_source
    ('script', b"print('hi')")
    """
    return begin_capture(entry_point, max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes,
                         cwd=cwd, since_ns=since_ns).finish()


def begin_capture(
    entry_point: str | os.PathLike[str] | None,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    cwd: str | os.PathLike[str] | None = None,
    since_ns: int | None = None,
) -> CodeCapture:
    """Begin :func:`capture_code` (same parameters): start ``git status`` and return at once.

    ``git status`` is most of a capture's time (it stats every tracked file); a run starts it first
    thing and finishes the capture in a thread of its own, so that git reads the tree while the run
    records its start. Call :meth:`CodeCapture.finish` exactly once (from any thread), or
    :meth:`CodeCapture.abandon`.
    """
    capture = CodeCapture(None, None, None, [], max_file_bytes, max_total_bytes, since_ns)
    try:
        capture.script, capture.source = _read_entry(entry_point, capture.warnings)
        script = capture.script
        start = script.parent if script is not None else (Path(cwd) if cwd else _cwd())
        root = capture.root = _find_repo_root(start) if start is not None else None
        if root is not None:
            capture.git = _Git.at(root, ceiling=True)
            capture.read = _start_read(capture.git, lambda: capture.cache_at(root))
    except Exception as exc:  # noqa: BLE001 - capture must not fail a user's run; record why
        capture.failed(exc)
    except BaseException:  # (an interrupt: nothing will finish this capture)
        capture.abandon()
        raise
    return capture


@dataclass
class CodeCapture:
    """A capture begun by :func:`begin_capture`: ``git status`` is running."""

    script: Path | None
    source: bytes | None
    root: Path | None
    warnings: list[str]
    max_file: int
    max_total: int
    since_ns: int | None
    git: _Git | None = None
    read: _Read | None = None  # the first read's git processes
    cache: _DiffCache | None = None
    # finish() and abandon() may race (a start interrupted while the thread that finishes the
    # capture begins): one at a time, and nothing is read once abandoned.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _abandoned: bool = False

    def cache_at(self, root: Path) -> _DiffCache:
        self.cache = _DiffCache.at(root)
        return self.cache

    def failed(self, exc: Exception) -> None:
        self.warnings.append(f"git capture failed, storing the script instead: {exc}")
        self.root = None

    def finish(self) -> CodeSnapshot:
        """Wait for git, read what else the snapshot holds and return it; never raises for git
        trouble (see ``CodeSnapshot.warnings``)."""
        with self._lock:
            if self._abandoned:
                return CodeSnapshot(kind="none", warnings=(*self.warnings, "capture abandoned"))
            return self._finish()

    def _finish(self) -> CodeSnapshot:
        if self.root is not None and self.git is not None:
            try:
                return _capture_git(self.root, self.git, self.script, self.source, self.warnings,
                                    self.max_file, self.max_total, self.since_ns,
                                    self.cache or _DiffCache.at(self.root), self.read)
            except Exception as exc:  # noqa: BLE001 - capture must not fail a user's run; record why
                self.failed(exc)
            finally:
                self._reap()  # (git exited unless an error cut the read short)
        if self.script is None or self.source is None:
            return CodeSnapshot(kind="none", warnings=tuple(self.warnings))
        return CodeSnapshot(
            kind="script", script_path=str(self.script), script_hash=hash_bytes(self.source),
            script_source=self.source, warnings=tuple(self.warnings),
        )

    def abandon(self) -> None:
        """Stop and reap git, if it still runs, and finish nothing after this (a capture that will
        never be stored). Waits for a :meth:`finish` under way."""
        with self._lock:
            self._abandoned = True
            self._reap()

    def _reap(self) -> None:
        read, self.read = self.read, None
        if read is not None:
            read.reap()


def _cwd() -> Path | None:
    try:
        return Path.cwd()
    except OSError:  # the working directory was deleted
        return None


def _read_entry(
    entry_point: str | os.PathLike[str] | None, warnings: list[str]
) -> tuple[Path | None, bytes | None]:
    if entry_point is None:
        return None, None
    path = Path(entry_point)
    if not path.is_file():
        if not str(entry_point).startswith(("-", "<")) and str(entry_point):
            warnings.append(f"entry point {str(entry_point)!r} is not a file; no script recorded")
        return None, None
    path = path.resolve()
    try:
        return path, path.read_bytes()
    except OSError as exc:
        warnings.append(f"entry point {str(path)!r} unreadable: {exc.strerror}")
        return None, None


def _capture_git(
    root: Path, git: _Git, script: Path | None, source: bytes | None, warnings: list[str],
    max_file: int, max_total: int, since_ns: int | None, cache: _DiffCache, first: _Read | None,
) -> CodeSnapshot:
    """The git snapshot; ``first``: the first read's git processes, started by :func:`begin_capture`
    (``None``: start them here)."""
    script_path = script.relative_to(root).as_posix() if script is not None else None
    previous: dict[str, _Stat] | None = None
    read = first
    for _ in range(_READS):
        if read is None:
            read = _start_read(git, lambda: cache)
        began = read.began
        status, diff, ignored, skipped_paths = _query_git(git, read, script_path, cache)
        read = None
        untracked, links, skipped = _read_untracked(root, status.untracked, max_file, max_total)
        # What the snapshot holds of the working tree: the files that differ from the commit and
        # the untracked ones (a clean tracked file is the commit's, whenever it is read).
        stats = _stats(root, [*status.changed, *untracked, *([script_path] if script_path else [])])
        if _newest(stats) < began - _SETTLE_NS or stats == previous:
            break  # nothing it holds changed while it was read
        previous = stats
    else:
        warnings.append(f"files kept changing while the code was read ({_READS} reads); the snapshot "
                        f"may hold a half-written file: {_some(_changed_since(stats, began - _SETTLE_NS))}")
    late = _changed_since(stats, since_ns) if since_ns is not None else []
    if late:
        warnings.append(f"{len(late)} file(s) changed or deleted after the run started; the snapshot "
                        f"holds them as they were a moment later: {_some(late)}")
    warnings.extend(_summarise(skipped))
    warnings.extend(f"submodule {p!r} changes are not captured" for p in status.submodules)
    script_source = None
    if script_path is not None and script_path not in untracked and (
        ignored or script_path in status.untracked  # ignored, or untracked but over a cap
    ):
        script_source = source
        warnings.append(f"entry script {script_path!r} is not in git's tree; its source is stored")
    return CodeSnapshot(
        kind="git", repo_root=str(root), commit=status.commit, branch=status.branch,
        dirty=status.tracked_changes or bool(status.untracked), diff=diff, untracked=untracked,
        script_path=script_path, script_hash=hash_bytes(source) if source is not None else None,
        script_source=script_source, warnings=tuple(warnings), links=links, ignored=skipped_paths,
    )


#: A file whose modification or change time is this close to the start of a read, or later, may
#: have changed while git or Python read it: the read is repeated until what it holds stands still.
#: (File times advance with the kernel's clock tick, a few milliseconds, not by the nanosecond.)
_SETTLE_NS = 20_000_000
_READS = 3

#: (mtime_ns, ctime_ns, size, inode) of a path. A path that is gone has the times of the nearest
#: folder above it that exists, and size and inode -1 (deleting a file changes its folder's times:
#: so a file deleted while, or after, the snapshot reads it is noticed like one written then);
#: ``None`` if not even the repository's folder exists.
_Stat = tuple[int, int, int, int] | None


def _stats(root: Path, paths: Sequence[str]) -> dict[str, _Stat]:
    found: dict[str, _Stat] = {}
    base = os.fspath(root)
    for rel in paths:
        try:
            st = os.lstat(os.path.join(base, rel))  # (not pathlib: ten times its cost here)
        except OSError:
            found[rel] = _gone(base, rel)
        else:
            found[rel] = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
    return found


def _gone(base: str, rel: str) -> _Stat:
    folder = os.path.dirname(rel)
    while True:
        try:
            st = os.stat(os.path.join(base, folder) if folder else base)
        except OSError:
            if not folder:
                return None
            folder = os.path.dirname(folder)
        else:
            return (st.st_mtime_ns, st.st_ctime_ns, -1, -1)


def _newest(stats: Mapping[str, _Stat]) -> int:
    return max((max(st[0], st[1]) for st in stats.values() if st is not None), default=0)


def _changed_since(stats: Mapping[str, _Stat], when_ns: int) -> list[str]:
    return sorted(rel for rel, st in stats.items() if st is not None and st[0] > when_ns)


def _some(paths: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(repr(p) for p in paths[:n])
    return shown + (f" and {len(paths) - n} more" if len(paths) > n else "")


@dataclass
class _Read:
    """One read of the working tree: ``git status`` and, speculatively, ``git diff HEAD``, running
    side by side since ``began`` (``time.time_ns()``)."""

    began: int
    status: subprocess.Popen[bytes]
    diff: subprocess.Popen[bytes] | None

    def reap(self) -> None:
        """Stop and reap whatever still runs (after an error, or a capture abandoned)."""
        for proc in (self.status, self.diff):
            if proc is not None and proc.returncode is None:
                proc.kill()
                proc.communicate()


def _start_read(git: _Git, cache: Callable[[], _DiffCache]) -> _Read:
    """Start a read: status first (it decides the rest), then the diff unless the ``cache`` (loaded
    while status runs) likely holds it.

    Each git process costs a few milliseconds, mostly start-up, so running them at once costs about
    the slowest one. The diff against HEAD is speculative: dropped when status finds no tracked
    change (and redone from the empty tree in a repository without commits). It is not started when
    the diff cache likely holds it (the files of its last diff unchanged), and taken from the cache
    when status and those files are what they were (see :class:`_DiffCache`).
    """
    # --ignored=matching: what git ignores too, an ignored folder as one entry (git does not walk
    # into it), in the same walk of the tree.
    read = _Read(time.time_ns(), git.start("status", "--porcelain=v2", "--branch", "-z",
                                           "--untracked-files=all", "--ignored=matching",
                                           *_NOT_THE_STORE), None)
    try:
        if not cache().likely():
            read.diff = git.start(*_DIFF_OPTIONS, "HEAD", *_NOT_THE_STORE)
    except BaseException:
        read.reap()
        raise
    return read


def _query_git(
    git: _Git, read: _Read, script_path: str | None, cache: _DiffCache,
) -> tuple[_Status, bytes, bool, tuple[str, ...]]:
    """Status, diff, whether the script is git-ignored and the ignored paths, from ``read``'s git
    processes (see :func:`_start_read`)."""
    began = read.began
    try:
        status = _parse_status(git.finish(read.status)[1])
        diff_code, diff = git.finish(read.diff, ok=(0, 128, 129)) if read.diff else (-1, b"")
    finally:
        read.reap()  # whatever an error left running
    ignored_paths = sorted(status.ignored)
    ignored = script_path is not None and _is_ignored(script_path, ignored_paths)
    skipped = _cap_ignored(ignored_paths)
    if not status.tracked_changes:
        return status, b"", ignored, skipped
    changed = _stats(git.cwd, status.changed)
    cached = cache.get(status, changed)
    if cached is not None:
        return status, cached, ignored, skipped
    if status.commit is None or diff_code != 0:
        diff = _diff(git, status.commit)
    cache.put(status, changed, diff, began)
    return status, diff, ignored, skipped


class _DiffCache:
    """The last diff captured in a repository, kept in its git folder (``.git/mlcontext-diff``), so
    that the next run on the same dirty tree needs no ``git diff`` (the costliest of the capture's git
    processes: it compares every file with the commit).

    An entry is used only when ``git status`` prints the same bytes (the commit, the branch, each
    changed path with its modes and the index's hashes of it, the untracked files) and every changed
    file has the same modification and change times, size and inode as when the entry was made.
    An entry is made only from files that had not changed for a second before the read: two writes
    within one tick of the file clock leave the same times (git's "racily clean" problem), a second
    apart they cannot. A damaged or unreadable entry is a miss; a folder that cannot be written
    (a read-only clone, a worktree's ``.git`` file) has no cache.
    """

    SETTLED_NS = 1_000_000_000
    MAX_BYTES = 4 << 20
    NAME = "mlcontext-diff"

    def __init__(self, root: Path, path: Path | None) -> None:
        self.root, self.path = root, path
        self._entry: tuple[dict[str, Any], bytes] | None = None
        if path is not None:
            self._entry = self._load(path)

    @classmethod
    def at(cls, root: Path) -> _DiffCache:
        git_dir = root / ".git"
        return cls(root, git_dir / cls.NAME if git_dir.is_dir() else None)

    @staticmethod
    def _load(path: Path) -> tuple[dict[str, Any], bytes] | None:
        try:
            data = path.read_bytes()
            header, _, diff = data.partition(b"\n")
            entry = json.loads(header)
            if entry.get("format") != ARCHIVE_FORMAT or entry.get("diff") != hash_bytes(diff):
                return None
            return entry, diff
        except (OSError, ValueError, AttributeError):
            return None

    def likely(self) -> bool:
        """Whether the entry's files are as they were (status, run meanwhile, decides)."""
        if self._entry is None:
            return False
        stats = self._entry[0].get("stats", {})
        return _jsonable(_stats(self.root, list(stats))) == stats

    def get(self, status: _Status, stats: dict[str, _Stat]) -> bytes | None:
        """The cached diff if ``status`` and the ``stats`` of its changed files are the entry's."""
        if self._entry is None:
            return None
        entry, diff = self._entry
        if entry.get("key") != self._key(status, stats):
            return None
        return diff

    def put(self, status: _Status, stats: dict[str, _Stat], diff: bytes, began: int) -> None:
        """Keep ``diff`` for ``status`` and its changed files' ``stats`` (a read that ``began``
        at that time) if those files had settled before the read."""
        if self.path is None or len(diff) > self.MAX_BYTES or _newest(stats) >= began - self.SETTLED_NS:
            return
        entry = {"format": ARCHIVE_FORMAT, "key": self._key(status, stats), "stats": _jsonable(stats),
                 "diff": hash_bytes(diff)}
        tmp = self.path.with_name(f"{self.NAME}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(json.dumps(entry, sort_keys=True).encode() + b"\n" + diff)
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return
        self._entry = entry, diff

    def _key(self, status: _Status, stats: dict[str, _Stat]) -> str:
        # The repository's own configuration and attributes can change how git diffs a file (line
        # endings, filters) without changing status: their times are part of the key.
        config = _stats(self.root, [".git/config", ".git/info/attributes"])
        return hash_bytes(json.dumps([" ".join(_DIFF_OPTIONS), status.raw.hex(), _jsonable(stats),
                                      _jsonable(config)], sort_keys=True).encode())


def _jsonable(stats: Mapping[str, _Stat]) -> dict[str, list[int] | None]:
    return {rel: list(st) if st is not None else None for rel, st in stats.items()}


# --------------------------------------------------------------------------------------------------
# restore


@dataclass(frozen=True)
class RefusedEntry:
    """An entry of a code snapshot that a restore did not write, because it would have left the
    destination (or written into ``.git``). ``kind``: ``"file"``, ``"link"`` or ``"script"``;
    ``target``: a link's recorded target text (never followed); ``reason``: why, in full."""

    path: str
    kind: str
    reason: str
    target: str | None = None

    def __str__(self) -> str:
        what = (f"link {self.path!r} -> {self.target!r}" if self.kind == "link"
                else f"{self.kind} {self.path!r}")
        return f"{what}: {self.reason}"

    def to_dict(self) -> dict[str, str | None]:
        return {"path": self.path, "kind": self.kind, "target": self.target, "reason": self.reason}


def restore_code(
    snapshot: CodeSnapshot,
    dest: str | os.PathLike[str],
    *,
    repo: str | os.PathLike[str] | None = None,
    outside_links: Literal["refuse", "keep"] = "refuse",
) -> Path:
    """Recreate the tree a run executed in ``dest`` (which must not exist or be empty).

    For ``kind == "git"``: clone ``repo`` (default ``snapshot.repo_root``; a path or URL), check
    out ``commit`` (on ``branch`` when known), apply ``diff``, write the untracked files and
    recreate the untracked links. Outside git: write the script under its file name.

    Nothing is ever written outside ``dest`` or into its ``.git``: paths with ``..`` or absolute
    paths are refused, links are recreated as links and never followed (a write whose path crosses
    a link is refused), and ``git apply`` refuses the same for the diff (see ``docs/security.md``).
    Refusal is per entry: every other entry is restored, then the refused ones are named (in full)
    in the error. :func:`restore_tree` returns them instead of raising.

    Parameters
    ----------
    outside_links : {"refuse", "keep"}
        What to do when the restored tree holds links that resolve outside ``dest`` (from the
        commit, the diff or the recorded links): ``"refuse"`` removes them and raises; ``"keep"``
        keeps them (for a reader who only compares trees and never follows links).

    Raises
    ------
    ConfigError
        ``dest`` is not empty, git is needed but missing, or no repository is known.
    NotFoundError
        The repository cannot be cloned or does not contain ``commit``.
    StoreError
        The recorded diff does not apply.
    UnsafeArchiveError
        The snapshot names a path outside ``dest``, inside ``.git``, or through a link; or, with
        ``outside_links="refuse"``, the restored tree links outside ``dest``. The rest of the tree
        is restored all the same.
    """
    dest = Path(dest)
    refused = restore_tree(snapshot, dest, repo=repo, outside_links=outside_links)
    if refused:
        escaping = [r.path for r in refused if r.reason == _ESCAPING]
        lead = (f"the restored tree in {str(dest)!r} had {len(escaping)} link(s) resolving outside it "
                f"({', '.join(map(repr, escaping))}); they were removed" if escaping else
                f"{len(refused)} entr{'y' if len(refused) == 1 else 'ies'} of the snapshot refused")
        raise UnsafeArchiveError(
            f"{lead}. Every other entry was restored in {str(dest)!r}; refused: "
            + "; ".join(map(str, refused))
            + (". Pass outside_links='keep' to keep links you trust" if escaping else ""))
    return dest


_ESCAPING = "it resolves outside the destination (removed; links are never followed)"


def restore_tree(
    snapshot: CodeSnapshot,
    dest: str | os.PathLike[str],
    *,
    repo: str | os.PathLike[str] | None = None,
    outside_links: Literal["refuse", "keep"] = "refuse",
) -> list[RefusedEntry]:
    """Like :func:`restore_code`, but the entries refused for safety are returned, not raised: the
    caller names them (``mlcontext diff`` and ``mlcontext restore`` print each with its reason).

    Raises what :func:`restore_code` raises, except :class:`UnsafeArchiveError` for single entries
    (a commit or branch that is not one is still raised: nothing can be restored then).
    """
    dest = Path(dest)
    if "\0" in str(dest):
        raise ConfigError(f"restore destination {str(dest)!r} is not a path (it holds a NUL character)")
    # Absolute from here on: git runs in other folders (the clone in dest's parent), where a relative
    # dest would name another place (a newcomer's 'scratch/r1' was cloned to scratch/scratch/r1).
    dest = Path(os.path.abspath(dest))
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConfigError(f"restore destination {str(dest)!r} exists and is not an empty directory")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the restore destination {str(dest)!r}: {exc}") from exc
    if snapshot.kind == "git":
        _restore_git(snapshot, dest, repo)
    else:
        dest.mkdir(parents=True, exist_ok=True)
    refused: list[RefusedEntry] = []
    for rel, data in snapshot.untracked.items():
        _entry(refused, rel, "file", None, functools.partial(write_file, dest, rel, data))
    for rel, target in snapshot.links.items():
        _entry(refused, rel, "link", target, functools.partial(make_link, dest, rel, target))
    if snapshot.script_source is not None and snapshot.script_path is not None:
        rel = snapshot.script_path if snapshot.kind == "git" else PurePosixPath(snapshot.script_path).name
        _entry(refused, rel, "script", None, functools.partial(write_file, dest, rel, snapshot.script_source))
    if outside_links == "refuse":
        for rel in escaping_links(dest):
            target = os.readlink(dest / rel)
            (dest / rel).unlink()  # removes the link itself; its target is never touched
            refused.append(RefusedEntry(rel, "link", _ESCAPING, target))
    return refused


def _entry(refused: list[RefusedEntry], rel: object, kind: str, target: str | None,
           write: Callable[[], None]) -> None:
    try:
        write()
    except UnsafeArchiveError as exc:
        refused.append(RefusedEntry(str(rel), kind, _reason(exc), target))


def _reason(exc: UnsafeArchiveError) -> str:
    # "refusing the link 'x' -> '/y': its target is ..." -> "its target is ...": the entry is named
    # by RefusedEntry itself.
    text = str(exc)
    head, sep, tail = text.partition(": ")
    return tail if sep and head.startswith("refusing") else text


def _check_revision(snapshot: CodeSnapshot) -> None:
    """Refuse a commit or branch that git could read as an option (``--upload-pack=...`` runs a
    command in ``git fetch``): a recorded snapshot is data, never command-line syntax."""
    commit, branch = snapshot.commit or "", snapshot.branch
    if len(commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in commit):
        raise UnsafeArchiveError(f"refusing to restore: {commit!r} is not a commit id")
    if branch is not None and (not branch or branch.startswith("-") or
                               any(c.isspace() or ord(c) < 32 or c in "~^:?*[\\" for c in branch)):
        raise UnsafeArchiveError(f"refusing to restore: {branch!r} is not a branch name")


def _restore_git(snapshot: CodeSnapshot, dest: Path, repo: str | os.PathLike[str] | None) -> None:
    source = repo if repo is not None else snapshot.repo_root
    try:
        if snapshot.commit is None:
            dest.mkdir(parents=True, exist_ok=True)
            _Git.at(dest).run("init", "--quiet")
        else:
            if source is None:
                raise ConfigError("snapshot has no repo_root; pass repo= to restore_code")
            _checkout(snapshot, dest, str(source))
    except _GitError as exc:
        if "not found on PATH" in str(exc):
            raise ConfigError(f"restoring a git snapshot needs git: {exc}") from exc
        message = f"cannot restore commit {snapshot.commit} from {source}: {exc}"
        raise NotFoundError(message) from exc
    if snapshot.diff:
        try:
            _Git.at(dest).run("apply", "--binary", "--whitespace=nowarn", "-", stdin=snapshot.diff)
        except _GitError as exc:
            raise StoreError(f"the recorded diff does not apply in {str(dest)!r}: {exc}") from exc


def _checkout(snapshot: CodeSnapshot, dest: Path, source: str) -> None:
    _check_revision(snapshot)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _Git.at(dest.parent, restoring=True).run("clone", "--quiet", "--no-checkout", "--", source, str(dest))
    git = _Git.at(dest, restoring=True)
    target = ["-B", snapshot.branch] if snapshot.branch else ["--detach"]
    try:
        git.run("checkout", "--quiet", *target, snapshot.commit or "")
    except _GitError:
        # A local clone copies every object, but a remote one only what its refs reach.
        git.run("fetch", "--quiet", "origin", snapshot.commit or "")
        git.run("checkout", "--quiet", *target, snapshot.commit or "")
