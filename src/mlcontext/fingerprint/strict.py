"""Strict mode: what happens when something that would be part of a cache key cannot be identified."""

from __future__ import annotations

import sys
import warnings
from types import FrameType

from ..errors import FingerprintError, UnidentifiedWarning
from .state import STATE

__all__ = ["set_strict", "strict", "unidentified"]


def set_strict(flag: bool) -> bool:
    """Raise (``True``) or warn and never reuse (``False``, the default) when something that would
    be part of a cache key cannot be identified; return the previous setting."""
    old, STATE.strict = STATE.strict, bool(flag)
    return old


def strict() -> bool:
    """Whether unidentifiable values raise (see :func:`set_strict`)."""
    return STATE.strict


def unidentified(what: str, error: FingerprintError) -> None:
    """Report that ``what`` is never reused because of ``error``: one warning per distinct message
    (pointing at the user's line), or, in strict mode, :class:`~mlcontext.errors.FingerprintError`.
    """
    message = f"{what} cannot be identified, so it is never reused: {error}"
    if STATE.strict:
        raise FingerprintError(message + " (mc.reuse(strict=True) refuses to run it unidentified)")
    if message in STATE.warned:
        return
    STATE.warned.add(message)
    warnings.warn(message, UnidentifiedWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside mlcontext (the user's line)."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("mlcontext"):
        frame, level = frame.f_back, level + 1
    return level
