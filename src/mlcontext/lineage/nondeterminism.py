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
import types
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


def _the_body_s(frame: Any, through_libraries: bool, drawing: bool = False) -> bool:
    """Whether a read made at ``frame`` is one the running body asked for (see :func:`_walk`)."""
    # Not watching meanwhile: finding whose a module is may stat its file (a wrapped os.lstat).
    depth, _state.watching = _state.watching, 0
    try:
        return _walk(frame, through_libraries, drawing)
    finally:
        _state.watching = depth


def _walk(frame: Any, through_libraries: bool, drawing: bool = False) -> bool:
    """Whether a read made at ``frame`` is one the running body asked for.

    Walks out to the first frame of the user's code (yes) or of mlcontext (yes for the layers a user
    reads data through, no for its own bookkeeping); a frame of a module in ``_QUIET`` on the way
    says no. ``through_libraries``: installed packages on the way (pandas reading a CSV for the body)
    are passed; otherwise only the standard library is (a package's stat of its own cache files says
    nothing of the body's result, and what it reads it opens: an audit event). ``drawing``: randomness
    from the system, which mlcontext draws only for names of its own (its random draws are noted where
    they are made) and ``_UNIQUE_NAMES`` modules only for names.
    """
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if name in _QUIET or (drawing and name in _UNIQUE_NAMES):
            return False
        top, _, rest = name.partition(".")
        if top == "mlcontext":
            return not drawing and rest.partition(".")[0] not in _OWN_LAYERS
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
    watched = _watched_call(f"os.{name}", original, through_libraries=False, detail=True)
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


# Randomness from the operating system, which no seed decides: ``os.urandom`` (``uuid.uuid4``,
# ``secrets``, ``random.SystemRandom`` and an unseeded ``np.random.default_rng()`` draw through it;
# ``random`` keeps its own reference, ``random._urandom``) and ``os.getrandom``. A newcomer's step
# returning ``uuid.uuid4()`` handed out the same id twice. ``random.Random()`` without a seed (and
# ``seed(None)``) seeds from the OS in C: its ``seed`` is watched instead. Only what the body's own
# code draws through the standard library counts: an installed package's draws are ids of its own
# (scikit-learn names each fit's callbacks with a uuid4), and so are the temporary names below.
_UNIQUE_NAMES = frozenset({"tempfile", "multiprocessing.connection", "multiprocessing.shared_memory"})


def _watched_call(label: str, original: Callable[..., Any],
                  noted: Callable[[tuple, dict], bool] = lambda args, kwargs: True,
                  drawing: bool = False, through_libraries: bool | None = None,
                  detail: bool = False) -> Callable[..., Any]:
    """``original`` noting a call (``label``, with its first argument when ``detail``) that the
    running body made, when ``noted(args, kwargs)``: outside a body one test of a thread-local.
    ``drawing``: randomness; ``through_libraries`` (default: not for randomness): see :func:`_walk`."""
    libraries = not drawing if through_libraries is None else through_libraries

    @functools.wraps(original)
    def watched(*args: Any, **kwargs: Any) -> Any:
        if _state.watching and noted(args, kwargs) and _the_body_s(
                sys._getframe(1), through_libraries=libraries, drawing=drawing):
            note(f"{label} {args[0]!r}" if detail and args else label)
        return original(*args, **kwargs)

    watched.__mlcontext_watched__ = True  # type: ignore[attr-defined]
    return watched


def _unseeded(args: tuple, kwargs: dict) -> bool:
    return (args[1] if len(args) > 1 else kwargs.get("a")) is None  # Random.seed(self, a=None)


def _watch_entropy() -> None:
    """Replace ``os.urandom``, ``os.getrandom`` (and ``random``'s reference to ``os.urandom``) and
    ``random.Random.seed`` by wrappers that note a call made while a body is watched in this thread."""
    made: dict[int, Callable[..., Any]] = {}
    for owner, name in ((os, "urandom"), (os, "getrandom"), (random, "_urandom")):
        original = getattr(owner, name, None)
        if original is None or getattr(original, "__mlcontext_watched__", False):
            continue
        key = object.__hash__(original)  # (random._urandom is os.urandom: one wrapper for both)
        if key not in made:
            made[key] = _watched_call(f"os.{original.__name__} (randomness from the system)", original,
                                      drawing=True)
            made[key].__module__ = "os"  # pickled by reference as os.urandom, which it is once installed
        setattr(owner, name, made[key])
    seed = random.Random.seed
    if not getattr(seed, "__mlcontext_watched__", False):
        random.Random.seed = _watched_call(  # type: ignore[method-assign]
            "random.Random seeded from the system", seed, _unseeded, drawing=True)


# Readers that open files in C++ without an audit event: pyarrow's Parquet, Feather, ORC, dataset and
# IPC readers (``pd.read_parquet`` reads through ``pyarrow.parquet.read_table``; a newcomer's step
# gave the old mean of a rewritten file). ``pd.read_feather``, ``read_orc`` and ``read_csv(engine=
# "pyarrow")`` open the file in Python first, as ``np.fromfile`` does: an ``open`` event. A class's
# ``__init__`` is wrapped (the class stays a class). Wrapped when the module is first seen imported.
_READERS = (
    ("pyarrow.parquet", ("read_table", "read_pandas", "read_metadata", "read_schema", "ParquetFile",
                         "ParquetDataset")),
    ("pyarrow.feather", ("read_table", "read_feather")),
    ("pyarrow.orc", ("read_table", "ORCFile")),
    ("pyarrow.dataset", ("dataset", "parquet_dataset")),
    ("pyarrow.ipc", ("RecordBatchFileReader", "RecordBatchStreamReader")),
)
_PENDING = list(_READERS)  # the modules not wrapped yet
_MODULES_SEEN = [0]  # len(sys.modules) when they were last looked for
_SOURCES = ("source", "path_or_paths", "where", "metadata_path", "path")


def _names_a_file(args: tuple, kwargs: dict) -> bool:
    """Whether a reader's call names what it reads by path (a buffer or a file object opened in
    Python is no read from outside, or an ``open`` event already) or through a file system."""
    if kwargs.get("filesystem") is not None:
        return True
    source = next((kwargs[k] for k in _SOURCES if k in kwargs), args[0] if args else None)
    if isinstance(source, list | tuple):
        source = source[0] if source else None
    return isinstance(source, str | bytes | os.PathLike)


def _watch_readers() -> bool:
    """Wrap the readers of the modules in ``_READERS`` imported since the last look; whether any was
    (cheap when nothing was imported since: one ``len``)."""
    if not _PENDING or len(sys.modules) == _MODULES_SEEN[0]:
        return False
    _MODULES_SEEN[0] = len(sys.modules)
    found = [entry for entry in _PENDING if entry[0] in sys.modules]
    for name, attrs in found:
        _PENDING.remove((name, attrs))
        for attr in attrs:
            _wrap_reader(sys.modules[name], attr)
    return bool(found)


def _wrap_reader(module: Any, attr: str) -> None:
    target = getattr(module, attr, None)
    owner, name = (target, "__init__") if isinstance(target, type) else (module, attr)
    original = owner.__dict__.get(name) if isinstance(target, type) else target
    if not isinstance(original, types.FunctionType) or getattr(original, "__mlcontext_watched__", False):
        return
    label = f"{module.__name__}.{attr}"
    if owner is target:  # __init__(self, source, ...): the source is the second argument
        setattr(owner, name, _watched_call(label, original, lambda a, k: _names_a_file(a[1:], k)))
    else:
        setattr(owner, name, _watched_call(label, original, _names_a_file))


@contextmanager
def watching_io() -> Iterator[None]:
    """Note the reads from outside (files, directories, databases, network, programs, the file
    system's metadata through ``os.stat``, files pyarrow opens in C++) and the randomness from the
    system of the code run inside, in this thread."""
    if not _HOOKED:
        _HOOKED.append(True)
        sys.addaudithook(_audit)  # process-wide and permanent: it does nothing unless watching
        _watch_stat()
        _watch_entropy()
    _watch_readers()
    _state.watching += 1
    try:
        yield
    finally:
        if _watch_readers():  # the body imported a reader: what it read through it was not seen
            note("imported a file reader (pyarrow) that reads without an audit event")
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
    # With the Gaussian each keeps for the next draw (``randn`` and ``random.gauss`` make two at a
    # time): drawing a kept one moves neither the key nor the position (a newcomer's cached
    # ``x + np.random.randn()`` returned one draw twice and left the generator behind).
    state = np.random.get_state(legacy=False)
    _, py, gauss_next = random.getstate()
    return (state["state"]["key"][:4].tobytes(), state["state"]["pos"], state["has_gauss"], state["gauss"],
            py[:4], py[-1], gauss_next)


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
