"""What recompute may do with a log: trust, and the size limits that stop resource bombs.

A lineage log is data that anyone who can write to a shared store may have written. Recompute
therefore runs only registered operations, checks their literals (:data:`~.operations.CHECKS`), and
by default refuses what could run code the log names: function leaves and expression strings are
used only when the caller hands them in by name, or says the log is ``trusted``. Before an
operation allocates, its output size is estimated from the recorded shapes
(:data:`~.operations.SIZES`) and refused beyond ``max_bytes``; parsing refuses logs whose loops and
nested patches expand to more than ``max_nodes`` operations. The policy of the running recompute is
held in a :class:`~contextvars.ContextVar`, where the sources and checks of the operations layer read
it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["RecomputePolicy", "current", "applied", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_NODES"]

DEFAULT_MAX_BYTES = 4 << 30  # one value recompute may allocate (MLCONTEXT_RECOMPUTE_MAX_BYTES)
DEFAULT_MAX_NODES = 50_000_000  # operations a parsed log may expand to (MLCONTEXT_LINEAGE_MAX_NODES)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={os.environ[name]!r} is not a whole number") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class RecomputePolicy:
    """How far recompute trusts a log.

    Attributes
    ----------
    trusted : bool
        Use function leaves found in this process and expression strings without them being passed
        by name (only for logs you wrote yourself).
    max_bytes : int
        Largest single value (bytes) an operation may produce.
    max_nodes : int
        Most operations a log's loops and nested patches may expand to.
    """

    trusted: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    max_nodes: int = DEFAULT_MAX_NODES

    @staticmethod
    def from_env(trusted: bool = False, max_bytes: int | None = None,
                 max_nodes: int | None = None) -> RecomputePolicy:
        """The policy with limits from arguments, else the environment, else the defaults."""
        for name, value in (("max_bytes", max_bytes), ("max_nodes", max_nodes)):
            if value is not None and (type(value) is not int or value <= 0):
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        return RecomputePolicy(
            bool(trusted),
            max_bytes if max_bytes is not None else _env_int("MLCONTEXT_RECOMPUTE_MAX_BYTES",
                                                             DEFAULT_MAX_BYTES),
            max_nodes if max_nodes is not None else _env_int("MLCONTEXT_LINEAGE_MAX_NODES",
                                                             DEFAULT_MAX_NODES))


_current: ContextVar[RecomputePolicy | None] = ContextVar("mlcontext_recompute_policy", default=None)


def current() -> RecomputePolicy:
    """The policy of the recompute running in this context (outside one: untrusted, default limits)."""
    policy = _current.get()
    return policy if policy is not None else RecomputePolicy.from_env()


@contextmanager
def applied(policy: RecomputePolicy) -> Iterator[RecomputePolicy]:
    """Make ``policy`` the current one for the enclosed code."""
    token = _current.set(policy)
    try:
        yield policy
    finally:
        _current.reset(token)
