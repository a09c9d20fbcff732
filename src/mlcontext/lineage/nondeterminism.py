"""A per-thread count of events that make a computation not determined by its lineage.

Traced code notes them (an unseeded generator, an opaque fallback, I/O); the reuse layer reads the
count before and after a ``@mc.step`` call and never reuses a call during which it changed. Kept in
the lineage layer so that both :mod:`mlcontext.ops` (which notes) and :mod:`mlcontext.reuse` (which
reads) can import it.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

from ..fingerprint.packages import _is_user

T = TypeVar("T")

__all__ = ["note", "count", "watching_io", "not_watching", "global_rng_states", "run_watched"]


class _Count(threading.local):
    value = 0
    last_reason = ""
    watching = 0  # > 0 while a body whose result may be reused runs in this thread


_state = _Count()


def note(reason: str) -> None:
    """Record that the running code did something its lineage does not determine."""
    _state.value += 1
    _state.last_reason = reason


def count() -> int:
    """How many such events this thread has noted so far."""
    return _state.value


# What a body reads from outside its arguments and globals — a file, a directory listing, a database,
# the network, another program — is no part of any key: Python's audit events show it (``open`` of a
# file for reading also by ``json.load(open(p))``, ``np.load``, ``pd.read_csv``; ``sqlite3.connect``
# in C, which opens no Python file), and it is noted so that such a call is never reused. Writes are
# not noted (a hit skips them, as any memoised call does); nor are ``shutil``'s own events, whose
# reads are ``open`` events.
_IO_EVENTS = frozenset({
    "open", "os.listdir", "os.scandir", "os.walk", "os.fwalk", "glob.glob", "glob.glob/2",
    "pathlib.Path.glob", "pathlib.Path.rglob", "os.getxattr", "os.listxattr",
    "os.listdrives", "os.listmounts", "os.listvolumes",  # files and folders
    "sqlite3.connect",  # a database file, opened in C
    "socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
    "socket.getnameinfo", "urllib.Request", "http.client.connect", "ftplib.connect", "poplib.connect",
    "imaplib.open", "smtplib.connect", "nntplib.connect", "telnetlib.Telnet.open",  # the network
    "subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.startfile",  # programs
    "winreg.ConnectRegistry", "winreg.OpenKey"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_HOOKED: list[bool] = []
# Reads made for a module's own bookkeeping, never for the body's result: importing code (which the
# function's identity covers), the source lines of a warning or a traceback, a log file's rollover.
_QUIET = frozenset({"importlib._bootstrap", "importlib._bootstrap_external", "_frozen_importlib",
                    "_frozen_importlib_external", "zipimport", "linecache", "logging", "logging.handlers"})
# mlcontext's own layers: their reads are the cache's, the store's or the fingerprint's (package
# versions). The layers a user calls to read data (``mc.load``, ``mc.read_csv``: ops) are not here.
_OWN_LAYERS = frozenset({"fingerprint", "lineage", "reuse", "store", "runtime"})
# What a body can ask the file system without an audit event (``os.path.exists``, ``getsize``,
# ``getmtime``, ``isfile``, ``Path.exists()``, ``Path.stat()``: the standard library calls these
# through the ``os`` module's attributes). Watched by wrappers installed with the audit hook.
_STAT_FUNCTIONS = ("stat", "lstat", "access")


def _audit(event: str, args: tuple) -> None:
    if event in _IO_EVENTS and _state.watching:
        if event == "open" and not _reads(args):
            return
        if not _the_body_s(sys._getframe(1), through_libraries=True):
            return  # the cache's own reads (the persistent tier, spilled entries), an import
        note(f"{event} {args[0]!r}" if args else event)


def _the_body_s(frame: Any, through_libraries: bool) -> bool:
    """Whether a read made at ``frame`` is one the running body asked for (see :func:`_walk`)."""
    # Not watching meanwhile: finding whose a module is may stat its file (a wrapped os.lstat).
    depth, _state.watching = _state.watching, 0
    try:
        return _walk(frame, through_libraries)
    finally:
        _state.watching = depth


def _walk(frame: Any, through_libraries: bool) -> bool:
    """Whether a read made at ``frame`` is one the running body asked for.

    Walks out to the first frame of the user's code (yes) or of mlcontext (yes for the layers a user
    reads data through, no for its own bookkeeping); a frame of a module in ``_QUIET`` on the way
    says no. ``through_libraries``: installed packages on the way (pandas reading a CSV for the body)
    are passed; otherwise only the standard library is (a package's stat of its own cache files says
    nothing of the body's result, and what it reads it opens: an audit event).
    """
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if name in _QUIET:
            return False
        top, _, rest = name.partition(".")
        if top == "mlcontext":
            return rest.partition(".")[0] not in _OWN_LAYERS
        if _is_user(name):
            return True
        if not through_libraries and top not in sys.stdlib_module_names:
            return False
        frame = frame.f_back
    return True


def _reads(args: tuple) -> bool:
    """Whether an ``open`` audit event (path, mode, flags) opens a file for reading."""
    mode = args[1] if len(args) > 1 else None
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    flags = args[2] if len(args) > 2 else 0
    return not (isinstance(flags, int) and flags & _WRITE_FLAGS and not flags & os.O_RDWR)


def _watched_stat(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    # No named parameters: every argument goes to ``os.<name>`` as given (see ``run_watched``).
    @functools.wraps(original)
    def watched(*args: Any, **kwargs: Any) -> Any:
        if _state.watching and _the_body_s(sys._getframe(1), through_libraries=False):
            note(f"os.{name} {args[0]!r}" if args else f"os.{name}")
        return original(*args, **kwargs)

    watched.__mlcontext_watched__ = True  # type: ignore[attr-defined]
    # Pickled by reference as os.<name>, which this wrapper is once installed: functools.wraps gave it
    # posix's module, whose stat is not this object, and pickle refused it (a spawn Pool mapping
    # os.stat, a reviewer found). A process that unpickles it gets its own os.<name>.
    watched.__module__ = "os"
    return watched


def _watch_stat() -> None:
    """Replace ``os.stat``, ``os.lstat`` and ``os.access`` by wrappers that note a call made while a
    body is watched in this thread (outside one: a Python call and a thread-local test, about 0.3 µs)."""
    for name in _STAT_FUNCTIONS:
        original = getattr(os, name, None)
        if original is None or getattr(original, "__mlcontext_watched__", False):
            continue
        watched = _watched_stat(name, original)
        # ``os.stat in os.supports_follow_symlinks`` and the like decide how shutil.rmtree and others
        # call it (shutil's guard against symlink attacks): the wrapper supports what it wraps.
        for supports in (os.supports_fd, os.supports_dir_fd, os.supports_follow_symlinks,
                         os.supports_effective_ids):
            if original in supports:
                supports.add(watched)
        setattr(os, name, watched)


@contextmanager
def watching_io() -> Iterator[None]:
    """Note the reads from outside (files, directories, databases, network, programs, and the file
    system's metadata through ``os.stat``) of the code run inside, in this thread."""
    if not _HOOKED:
        _HOOKED.append(True)
        sys.addaudithook(_audit)  # process-wide and permanent: it does nothing unless watching
        _watch_stat()
    _state.watching += 1
    try:
        yield
    finally:
        _state.watching -= 1


@contextmanager
def not_watching() -> Iterator[None]:
    """Leave the reads of the code run inside out (the cache's own: persistent tier, spilled entries)."""
    depth, _state.watching = _state.watching, 0
    try:
        yield
    finally:
        _state.watching = depth


def global_rng_states() -> tuple:
    """A cheap summary of the global random generators' states (NumPy's legacy one, Python's
    ``random``): code that draws from them changes it."""
    # NumPy's legacy generator and Python's ``random``: a body that draws from them changes them.
    state = np.random.get_state(legacy=False)
    py = random.getstate()[1]
    return (state["state"]["key"][:4].tobytes(), state["state"]["pos"], py[:4], py[-1])


def run_watched(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> tuple[T, bool]:
    """Run ``fn(*args, **kwargs)``; return its result and whether its lineage determines it as far
    as can be seen: it noted nothing, left the global random generators as they were, and read
    nothing from outside (files, directories, network, programs).

    ``fn`` is positional-only: the keywords are the wrapped function's own, and one of them may be
    called ``fn`` (``apply(X, fn=np.sqrt)``)."""
    noted, states = count(), global_rng_states()
    with watching_io():
        result = fn(*args, **kwargs)
    return result, count() == noted and global_rng_states() == states
