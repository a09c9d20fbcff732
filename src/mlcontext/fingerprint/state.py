"""The fingerprint layer's process state, in one object (``STATE``) whose lifetime the runtime
(:mod:`mlcontext.runtime`) owns: reset to a fresh process's by ``mc._reset_state()``."""

from __future__ import annotations

__all__ = ["FingerprintState", "STATE"]


class FingerprintState:
    """What the fingerprint layer keeps between calls.

    Attributes
    ----------
    strict : bool
        Raise instead of warning when something that would be part of a key cannot be identified
        (``mc.reuse(strict=True)``).
    warned : set of str
        Messages already warned about as unidentified (each is warned once).
    """

    __slots__ = ("strict", "warned")

    def __init__(self) -> None:
        self.strict = False
        self.warned: set[str] = set()

    def reset(self) -> None:
        """As a fresh process has it: not strict, nothing warned about."""
        self.strict = False
        self.warned = set()


STATE = FingerprintState()
