"""How the process exits: whether a ``sys.exit`` with a failing status ended it.

Python hides it from the run's end at exit: no hook sees a SystemExit that leaves the main module, and
atexit handlers run after it is gone. So ``sys.exit`` is wrapped, from ``import mlcontext`` on (a
wrapper installed at the first run came too late for ``sys.exit(main())``, the shape of every console
script, which looks ``sys.exit`` up before ``main()`` starts the run: a reviewer's finding), and a
failing SystemExit carries an :class:`ExitSeen` that notes, when the interpreter frees it on the way
out, that it ended the process.
"""

from __future__ import annotations

import sys
import threading
import traceback as tb
from types import FrameType
from typing import Any, NoReturn

__all__ = ["install", "process_exit", "succeeds", "ExitSeen"]

#: sys.exit as Python defines it (see sys_exit_seen).
REAL_SYS_EXIT = sys.exit
#: The ``sys.exit`` that ended the process, once the interpreter has dropped its SystemExit on the
#: way out (see ExitSeen); None until then, and for ever when the process ends otherwise.
_PROCESS_EXIT: list[ExitSeen | None] = [None]


def sys_exit_seen(*status: Any) -> NoReturn:
    """``sys.exit`` that lets the run's end at exit know the exit status (Python hides it: no hook
    sees a SystemExit that leaves the main module, and atexit handlers run after it is gone)."""
    try:
        REAL_SYS_EXIT(*status)
    except SystemExit as exc:
        if not succeeds(exc.code):  # (a successful one is recorded as a plain finish)
            exc._mlcontext_exit = ExitSeen(exc, sys._getframe(1))  # type: ignore[attr-defined]
        raise
    raise AssertionError("sys.exit returned")  # (for type checkers: it never does)


class ExitSeen:
    """Rides on a failing SystemExit raised by ``sys.exit`` and says, when Python frees it, whether
    it ended the process.

    A SystemExit that leaves the main module (``python script.py``, ``-m``, ``-c``) is cleared by
    the interpreter itself before it exits (``Py_Exit``, then the atexit handlers): then no Python
    frame is below the one freeing it, in the main thread. One caught anywhere (a script that calls a
    command's ``main()`` and goes on, a thread ended by ``sys.exit``, a notebook, pytest) is freed by
    Python code, or in another thread. Not seen, and recorded ``finished`` as before: ``raise
    SystemExit(1)``, the ``exit()``/``quit()`` of the interactive prompt, an ``exit`` bound by ``from
    sys import exit`` before the run's hooks were installed, and a SystemExit kept alive past the
    atexit handlers (by a reference cycle or a global).
    """

    def __init__(self, exc: SystemExit, caller: FrameType | None) -> None:
        self.error_type = "builtins.SystemExit"
        self.error_message = str(exc)
        self.traceback = "".join(["Traceback (most recent call last):\n", *tb.format_stack(caller),
                                  *tb.format_exception_only(type(exc), exc)])

    def __del__(self) -> None:
        try:
            if sys._getframe().f_back is None and threading.current_thread() is threading.main_thread():
                _PROCESS_EXIT[0] = self
        except Exception:  # noqa: BLE001, S110 - freed in the interpreter's teardown: nothing to note
            pass

    def details(self) -> dict[str, Any]:
        return dict(error_type=self.error_type, error_message=self.error_message, traceback=self.traceback)




def succeeds(code: object) -> bool:
    """Whether ``SystemExit(code)`` makes the interpreter exit with status 0: ``None`` or an integer
    that is 0 modulo 256 (``False`` included; ``exit(256)`` is status 0 on POSIX). Any other value
    fails: a string is printed and the status is 1, and so is ``0.0``, which is no integer."""
    return code is None or (isinstance(code, int) and code % 256 == 0)


def process_exit() -> ExitSeen | None:
    """The failing ``sys.exit`` that ended the process, once the interpreter freed its SystemExit;
    None before, and when the process ends otherwise."""
    return _PROCESS_EXIT[0]


def install() -> None:
    """Wrap ``sys.exit`` (once; a wrapper of another's is left as it is)."""
    if sys.exit is REAL_SYS_EXIT:
        sys.exit = sys_exit_seen


# Pickled by reference as sys.exit, which the wrapper is once installed (as the os.stat wrappers).
sys_exit_seen.__module__, sys_exit_seen.__qualname__ = "sys", "exit"
