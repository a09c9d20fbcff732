"""Public, immutable views of what the metadata store holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunStatus", "RunRecord", "ArtifactRef", "MetricPoint", "TERMINAL_STATUSES"]


class RunStatus:
    """The states of a run. ``killed``: ended by a signal, or its process died without a word."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"


TERMINAL_STATUSES = frozenset({RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED})


def _datetime(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


@dataclass(frozen=True)
class ArtifactRef:
    """A named artifact of a run: its content hash, where it lives, and what it is."""

    name: str
    hash: str
    size: int
    kind: str
    uri: str
    direction: str = "output"
    meta: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, int] = field(default_factory=dict)  # loop indices when written: {"epoch": 2}


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    seq: int
    time: float
    context: Mapping[str, int]


@dataclass(frozen=True)
class RunRecord:
    """Everything recorded about one run."""

    id: str
    project: str
    name: str
    status: str
    user: str
    host: str
    pid: int
    started_at: float
    ended_at: float | None
    heartbeat_at: float
    entry_point: str | None
    argv: tuple[str, ...]
    cwd: str
    python: str
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    code_hash: str | None
    environment: Mapping[str, Any]
    durability: str
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # last value of each metric
    artifacts: tuple[ArtifactRef, ...] = ()

    @property
    def start(self) -> dt.datetime:
        return _datetime(self.started_at)  # type: ignore[return-value]

    @property
    def end(self) -> dt.datetime | None:
        return _datetime(self.ended_at)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (``None`` while running)."""
        return None if self.ended_at is None else self.ended_at - self.started_at
