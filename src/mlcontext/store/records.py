"""Public, immutable views of what the metadata store holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunStatus", "RunRecord", "ArtifactRef", "MetricPoint", "TERMINAL_STATUSES", "STATUSES",
           "code_version"]


class RunStatus:
    """The states of a run, as the strings stored and shown.

    Attributes
    ----------
    RUNNING, FINISHED, FAILED, KILLED : str
        ``"running"``, ``"finished"``, ``"failed"`` (an exception ended it) and ``"killed"`` (ended
        by a signal, or its process died without a word: its heartbeat stopped).

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     pass
    >>> r.status == mc.RunStatus.FINISHED
    True
    """

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"


TERMINAL_STATUSES = frozenset({RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED})
STATUSES = (RunStatus.RUNNING, *sorted(TERMINAL_STATUSES))


def _datetime(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


@dataclass(frozen=True)
class ArtifactRef:
    """A named artifact of a run: its content hash, where it lives, and what it is.

    Returned by :func:`mlcontext.artifact` and listed in :attr:`RunRecord.artifacts`; pass one to
    :func:`mlcontext.load_artifact`, :func:`mlcontext.derivation` or :func:`mlcontext.diff`.

    Attributes
    ----------
    name : str
        The artifact's name in its run.
    hash : str
        The content hash of the stored bytes (32 hex digits).
    size : int
        Bytes stored.
    kind : str
        What it is (``array``, ``frame``, ``model``, ``file``, ``tree``, ``json``, ``pickle`` ...).
    uri : str
        Where the bytes are in the artifact store.
    direction : {"output", "input"}
        Written or read by the run.
    meta : mapping
        Format details, model class and hyper-parameters, lineage log hash.
    context : mapping
        The loop indices when it was written (``{"epoch": 2}``).

    Examples
    --------
    >>> with mc.run("fit", project="doc"):
    ...     ref = mc.artifact("config", {"depth": 3})
    >>> ref.name, ref.kind, len(ref.hash)
    ('config', 'json', 32)
    """

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
    """Everything recorded about one run, as :func:`mlcontext.get_run` read it.

    Attributes
    ----------
    id, project, name, status, user, host : str
        Who ran what, where, and how it ended (:class:`RunStatus`).
    pid : int
        The process id.
    started_at, heartbeat_at : float
        UNIX seconds; ``start`` is ``started_at`` as a UTC datetime.
    ended_at : float or None
        UNIX seconds, ``None`` while running; ``end`` as a datetime, ``duration`` in seconds.
    entry_point, cwd, python : str
        The script, the working folder and the interpreter's version.
    argv : tuple of str
        The command line.
    git_commit, git_branch : str or None
        The code's version (``None`` outside git).
    git_dirty : bool or None
        Whether the tree had changes (recorded in the code snapshot).
    code_hash : str or None
        The code snapshot's content hash.
    environment : mapping
        Packages, machine, environment variables' names.
    durability : str
        ``"buffered"`` or ``"sync"``.
    error_type, error_message, traceback : str or None
        What ended a failed run.
    params : mapping
        The params, by name.
    metrics : mapping
        The last value of each metric, by name.
    artifacts : tuple of ArtifactRef
        What the run wrote and read.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     _ = mc.param("lr", 0.1)
    >>> record = mc.get_run(r.id)
    >>> record.status, record.params, record.duration >= 0
    ('finished', {'lr': 0.1}, True)
    """

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
    def code_version(self) -> str | None:
        """The code that ran, as shown everywhere: the short commit, ``+dirty`` when it had changes."""
        return code_version(self.git_commit, self.git_dirty)

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


#: What follows the commit in a code version that ran with uncommitted changes (``967eb976+dirty``).
DIRTY_MARK = "+dirty"


def code_version(commit: Any, dirty: Any, length: int = 8) -> str | None:
    """A run's code version for people: ``967eb976``, or ``967eb976+dirty`` when the tree had
    uncommitted changes (the commit alone is then *not* the code that ran).

    Parameters
    ----------
    commit : str or None
        The git commit (anything else, such as NaN from a frame, means "not in git").
    dirty : bool or None
        Whether the tree had uncommitted changes.
    length : int
        How many characters of the commit to show.

    Returns
    -------
    str or None
        ``None`` outside git.

    Examples
    --------
    >>> code_version("967eb976a1b2", True), code_version("967eb976a1b2", False), code_version(None, None)
    ('967eb976+dirty', '967eb976', None)
    """
    if not isinstance(commit, str) or not commit:
        return None
    flag = dirty.item() if hasattr(dirty, "item") else dirty  # a frame's cell is a numpy.bool_
    return commit[:length] + (DIRTY_MARK if flag is True else "")
