"""A per-thread count of events that make a computation not determined by its lineage.

Traced code notes them (an unseeded generator, an opaque fallback, I/O); the reuse layer reads the
count before and after a ``@mc.step`` call and never reuses a call during which it changed. Kept in
the lineage layer so that both :mod:`mlcontext.ops` (which notes) and :mod:`mlcontext.reuse` (which
reads) can import it.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

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


# What a body reads from outside its arguments and globals — a file, a directory listing, the network,
# another program — is no part of any key: Python's audit events show it (``open`` of a file for
# reading also by ``json.load(open(p))``, ``np.load``, ``pd.read_csv``), and it is noted so that such
# a call is never reused. Writes are not noted (a hit skips them, as any memoised call does).
_IO_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "glob.glob", "socket.connect",
                        "urllib.Request", "subprocess.Popen"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_HOOKED: list[bool] = []


def _audit(event: str, args: tuple) -> None:
    if event in _IO_EVENTS and _state.watching:
        if event == "open" and not _reads(args):
            return
        if _by_mlcontext(sys._getframe(1)):
            return  # the cache's own reads (the persistent tier, spilled entries)
        note(f"{event} {args[0]!r}" if args else event)


def _by_mlcontext(frame: object) -> bool:
    """Whether the first caller outside the standard library (pathlib, io, importlib) is mlcontext."""
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""  # type: ignore[attr-defined]
        top = name.partition(".")[0]
        if top not in sys.stdlib_module_names and not top.startswith("_frozen_importlib"):
            return top == "mlcontext"
        frame = frame.f_back  # type: ignore[attr-defined]
    return False


def _reads(args: tuple) -> bool:
    """Whether an ``open`` audit event (path, mode, flags) opens a file for reading."""
    mode = args[1] if len(args) > 1 else None
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    flags = args[2] if len(args) > 2 else 0
    return not (isinstance(flags, int) and flags & _WRITE_FLAGS and not flags & os.O_RDWR)


@contextmanager
def watching_io() -> Iterator[None]:
    """Note the reads from outside (files, directories, network, programs) of the code run inside."""
    if not _HOOKED:
        _HOOKED.append(True)
        sys.addaudithook(_audit)  # process-wide and permanent: it does nothing unless watching
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


def run_watched(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, bool]:
    """Run ``fn(*args, **kwargs)``; return its result and whether its lineage determines it as far
    as can be seen: it noted nothing, left the global random generators as they were, and read
    nothing from outside (files, directories, network, programs)."""
    noted, states = count(), global_rng_states()
    with watching_io():
        result = fn(*args, **kwargs)
    return result, count() == noted and global_rng_states() == states
