"""Checks of the arguments of public functions: the right kind (else :class:`UsageError`, a
``TypeError``) and an accepted value (else :class:`InvalidArgumentError`, a ``ValueError``).

A bad argument must fail at the call that took it, with a message naming the argument, what it got
and what it takes, not deep inside pandas or SQLAlchemy (where ``project=1`` silently matched
nothing). Names have their own rules (:mod:`mlcontext.names`).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .errors import InvalidArgumentError, NotFoundError, UsageError

__all__ = ["check_text", "check_choice", "check_flag", "check_count", "file_bytes", "did_you_mean",
           "never_logged"]


def check_text(value: Any, what: str) -> str | None:
    """``value`` if it is a string or ``None``, else :class:`UsageError`."""
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"{what} must be a string (or None), got {type(value).__name__}: {value!r}")


def check_choice(value: Any, choices: Collection[str], what: str,
                 error: type[ValueError] = InvalidArgumentError) -> str | None:
    """``value`` if it is ``None`` or one of ``choices``, else ``error`` listing them (queries raise
    :class:`~mlcontext.errors.QueryError`)."""
    check_text(value, what)
    if value is not None and value not in choices:
        raise error(f"{what} must be one of {', '.join(map(repr, choices))} (or None), not {value!r}")
    return value


def check_flag(value: Any, what: str) -> bool:
    """``value`` if it is a bool (a NumPy bool included), else :class:`UsageError`."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise UsageError(f"{what} must be True or False, got {type(value).__name__}: {value!r}")


def check_count(value: Any, what: str) -> int | None:
    """``value`` if it is ``None`` or a whole number >= 0 (a NumPy integer included), else the
    matching error."""
    if value is None:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise UsageError(f"{what} must be a whole number, got {type(value).__name__}: {value!r}")
    number = int(value.__index__())
    if number < 0:
        raise InvalidArgumentError(f"{what} must be 0 or more, got {value!r}")
    return number


def file_bytes(source: Any, what: str) -> bytes:
    """The bytes of a file argument: a path, the bytes themselves, or an open binary file.

    A path naming no file is a :class:`~mlcontext.errors.NotFoundError` (not a bare
    ``FileNotFoundError`` from deep inside), anything else a :class:`UsageError`.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"{what}: no such file {str(path)!r} (relative to {os.getcwd()}); "
                                "check the path") from None
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data)
    raise UsageError(f"{what} is given as a path, bytes or a file open in binary mode, not "
                     f"{type(source).__name__}")


def did_you_mean(name: str, known: Collection[str]) -> str:
    """``did you mean 'churn' or 'church'?`` for the names of ``known`` closest to a name that names
    nothing (up to three, :func:`difflib.get_close_matches` at 0.6), ``""`` when none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(map(repr, close))}?" if close else ""


def never_logged(what: str, name: str, logged: Collection[str], where: str = "") -> str:
    """``no run in project 'p' logged a metric 'acx': did you mean 'acc'? (metrics logged: acc)``:
    a param or metric name that names nothing, with those that were logged (the first 20, sorted),
    the closest suggested; ``where`` narrows "no run" (`` in project 'p'``)."""
    names = sorted(logged)
    hint = f"{close} " if (close := did_you_mean(name, names)) else ""
    shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") or "none"
    return f"no run{where} logged a {what} {name!r}: {hint}({what}s logged: {shown})"
