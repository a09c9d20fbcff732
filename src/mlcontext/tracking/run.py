"""Runs: one execution of a script, with its params, metrics, artifacts, code and environment.

One run is active per process at a time (threads of a training script log into the same run). A run
ends ``finished`` on a normal exit, ``failed`` on an exception (type, message and traceback kept) or a
failing exit status (``sys.exit(1)``, ``os._exit(1)``, however the run was started; see
:class:`mlcontext.exits.ExitSeen` for what an exit without ``with`` cannot see), ``killed`` on
SIGINT/SIGTERM; a process that dies without a word is marked ``killed`` later because its heartbeat stops
(:func:`reap_dead_runs`).

A process forked while a run is active (``os.fork``, ``multiprocessing`` with the ``fork`` start method)
logs into that run: the child gets its own writer (and, from the store layer, its own connections)
when it first logs, its metrics take ``seq`` numbers of their own (``pid << 32`` onwards: after the
parent's, never colliding with a sibling's), and what it logged is written when it exits — normally,
or through ``multiprocessing``'s exit — or on :meth:`Run.flush`. A child never ends the run: ending it,
leaving its ``with`` block or exiting only writes the child's values (issue 13, item 8).
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import itertools
import operator
import os
import re
import signal
import sys
import threading
import time
import traceback as tb
import uuid
import warnings
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Literal, NoReturn

from .. import exits
from ..errors import (
    ConfigError,
    InvalidArgumentError,
    InvalidNameError,
    MLContextError,
    MLContextWarning,
    ParamError,
    RunError,
    UsageError,
    short_repr,
)
from ..loops import current_loops
from ..loops import state as _loop_state  # (state()[0]: the loop context's JSON, without a call)
from ..names import ValidNames, check_name
from ..store import ArtifactRef, RunStatus, Store
from ..store.metadata import settle_background
from ..store.records import TERMINAL_STATUSES
from .artifacts import store_object
from .code import CodeCapture, begin_capture, entry_script
from .environment import Environment, capture_environment
from .params import coerce_override, encode_param, parse_overrides
from .recompute import LeafStore
from .state import STATE
from .stores import get_store
from .writer import HEARTBEAT_INTERVAL, RunWriter, signals_to_main_thread

__all__ = ["Run", "run", "active_run", "log", "param", "artifact", "reap_dead_runs", "heartbeat_timeout"]

Durability = Literal["buffered", "sync"]

#: A running run whose heartbeat is older than this is considered dead (seconds); the default of
#: ``MLCONTEXT_HEARTBEAT_TIMEOUT``.
HEARTBEAT_TIMEOUT = 60.0
#: The smallest timeout a reader may use, in heartbeat intervals: a shorter one would mark live runs
#: killed between two heartbeats (their next heartbeat revives them, but others would see the
#: flapping status meanwhile).
MIN_TIMEOUT_BEATS = 3

_active_lock = threading.Lock()  # STATE.active
_METRIC_NAMES = ValidNames("metric")


class Run:
    """A recorded execution: its params, metrics, artifacts, code and environment.

    Create one with :func:`mlcontext.run` (which also makes it the active run); use it as a context
    manager or call :meth:`end` yourself.

    Parameters
    ----------
    name : str, optional
        What the run does (default: the script's file name).
    project : str, optional
        Groups runs (default: ``MLCONTEXT_PROJECT`` or the project folder's name).
    store : Store, optional
        Where to record (default: :func:`mlcontext.get_store`).
    durability : {"buffered", "sync"}
        ``buffered`` batches writes in the background; ``sync`` writes each record before returning.
    argv : list of str, optional
        The command line to record and to read ``--param`` overrides from (default: ``sys.argv``).
    implicit : bool
        Whether the run was started by a first ``mc.log`` rather than by the user.

    Attributes
    ----------
    id : str
        32 hex digits, unique.
    name, project, status : str
        As recorded; ``status`` is one of :class:`~mlcontext.RunStatus`.
    params : dict
        The params recorded so far, by name.

    Raises
    ------
    RunError
        ``durability`` is neither ``"buffered"`` nor ``"sync"``.
    InvalidNameError
        ``name`` or ``project`` is not a valid name.

    Examples
    --------
    >>> with mc.run("ridge", project="doc") as r:
    ...     mc.log("loss", 0.5)
    >>> r.status, len(r.id)
    ('finished', 32)
    """

    def __init__(self, name: str | None = None, project: str | None = None, *,
                 store: Store | None = None, durability: Durability = "buffered",
                 argv: list[str] | None = None, implicit: bool = False) -> None:
        if durability not in ("buffered", "sync"):
            raise RunError(f"durability must be 'buffered' or 'sync', not {durability!r}")
        if store is not None and not isinstance(store, Store):
            raise UsageError(f"store must be a Store (mc.Store.open(...)), got {type(store).__name__}: "
                             f"{store!r}; to record into a folder, call mc.set_store(folder) first")
        # The store first: opening it makes git ignore its folder (its own .gitignore), which the
        # code capture below must see when the folder is inside the repository.
        self.store = store or get_store()
        started_ns = time.time_ns()
        # The code snapshot (git status, diff, untracked files: most of a run's start in a dirty
        # repository) is not the training script's business: it is captured in the background,
        # overlapping the run, and never lost at exit (see _record_code). git status starts now,
        # from this thread (a thread of its own would wait for the interpreter lock while this one
        # records the start), so that git reads the tree meanwhile.
        capture = begin_capture(entry_script(), since_ns=started_ns)
        try:
            self.id = uuid.uuid4().hex
            self.implicit = implicit
            self.durability = durability
            self.status = RunStatus.RUNNING
            from_command_line = argv is None
            argv = list(sys.argv if argv is None else argv)
            taken = STATE.command_line
            if from_command_line and taken is not None and sys.argv is taken[1] and argv == taken[2]:
                # an earlier run of this process took the --param pairs out of this very list, which
                # the script has not changed since (one it assigned or changed is its own word)
                argv = list(taken[0])
            self.overrides, rest = parse_overrides(argv[1:])
            # (an empty name is an error, not the default: it is usually an unset variable)
            self.name = check_name(_default_run_name() if name is None else name, "run")
            _check_not_an_id_prefix(self.store, self.name)
            self.project = check_name(_default_project() if project is None else project, "project")
            self.params: dict[str, Any] = {}
            self._seq = itertools.count()
            self._pid = os.getpid()  # the process that owns the run; a forked child only adds values
            self._used_overrides: set[str] = set()
            env = capture_environment()
        except BaseException:
            capture.abandon()
            raise
        self._start(argv, env, capture, started_ns)
        if from_command_line and self.overrides:
            # The script's own argument parser, if it runs after this, must not see our pairs; the
            # process's later runs read them again (STATE.command_line).
            sys.argv[1:] = rest
            STATE.command_line = (argv, sys.argv, list(sys.argv))
        self._writer = RunWriter(self.store.metadata, self.id, sync=durability == "sync")
        self._leaves = LeafStore(self.store).install()  # plain arrays traced in the run, for recompute

    def _start(self, argv: list[str], env: Environment, capture: CodeCapture, started_ns: int) -> None:
        """Record the run's row, and hand ``capture`` to a thread that finishes and stores it once
        the row exists. The run's end waits until the working tree has been read (so that what the
        process writes after end() is never in the snapshot), not until it is stored."""
        now = started_ns / 1e9
        self.user = env.user
        environment = env.to_dict()
        self._code_read = threading.Event()
        row = _RowInserted()
        inserted = False
        try:  # whatever happens (an interrupt included), the row is settled: the thread waits for it
            try:
                thread = self.store.metadata.in_background(
                    functools.partial(_record_code, self.store, self.id, capture, environment,
                                      self._code_read, row),
                    name=f"mlcontext-code-{self.id[:8]}")
            except BaseException:
                capture.abandon()  # (safe if the thread did start: it stores nothing then)
                raise
            _finish_at_multiprocessing_exit(thread)
            self.started_at = self.store.metadata.create_run(
                self.project, id=self.id, name=self.name, status=RunStatus.RUNNING, user=env.user,
                host=env.host, pid=env.pid, started_at=now, heartbeat_at=now,
                entry_point=env.entry_point, argv=argv, cwd=env.cwd, python=env.python,
                git_commit=None, git_branch=None, git_dirty=None, code_hash=None,
                environment=environment, durability=self.durability)
            inserted = True
        finally:
            row.settle(inserted)

    def __repr__(self) -> str:
        return f"<Run {self.id[:8]} {self.project}/{self.name} {self.status}>"

    # -- recording ------------------------------------------------------------------------------

    def log(self, name: str, value: float) -> None:
        """Record a metric value, with the enclosing :func:`mlcontext.loop` indices as context.

        Parameters
        ----------
        name : str
            The metric's name (``loss``, ``val/acc``).
        value : float
            Anything ``float()`` accepts: a Python or NumPy number, a 0-d array, a traced scalar
            (whose lineage is kept: a metric computed from a test set counts as evaluating it).

        Raises
        ------
        InvalidNameError
            ``name`` is not a valid name.
        ParamError
            ``value`` is not a number, or too large for a 64-bit float.

        Examples
        --------
        >>> with mc.run("fit", project="doc") as r:
        ...     for epoch in mc.loop("epoch", range(2)):
        ...         r.log("loss", 1.0 / (epoch + 1))
        >>> mc.metrics("loss", run=r)[["epoch", "value"]].values.tolist()
        [[0, 1.0], [1, 0.5]]
        """
        if name.__class__ is not str or name not in _METRIC_NAMES:
            _METRIC_NAMES.check(name)
        if value.__class__ is not float:
            if hasattr(value, "lineage"):
                from .uses import note_metric  # (traced values only: it imports the estimators)

                note_metric(self, value)  # a metric computed from a test set evaluates it
            value = _as_float(name, value)
        self._writer.add_metric((self.id, name, next(self._seq), value, _now(), _loop_state()[0]))

    def param(self, name: str, default: Any) -> Any:
        """Record a param and return its value: ``default`` unless overridden with ``--param``.

        Parameters
        ----------
        name : str
            The param's name.
        default : object
            Its value unless the command line overrides it (``--param name=value``): a JSON-safe
            value (number, string, bool, ``None``, or lists and dicts of them).

        Returns
        -------
        object
            ``default``, or the override converted to ``default``'s type.

        Raises
        ------
        InvalidNameError
            ``name`` is not a valid name.
        ParamError
            The value cannot be recorded, the override does not parse as ``default``'s type, or
            the param was already recorded with another value in this run.

        Examples
        --------
        >>> with mc.Run("fit", project="doc", argv=["train.py", "--param", "lr=0.1"]) as r:
        ...     r.param("lr", 0.01), r.param("epochs", 3)
        (0.1, 3)
        """
        check_name(name, "param")
        value, overridden = default, name in self.overrides
        if overridden:
            value = coerce_override(name, self.overrides[name], default)
            self._used_overrides.add(name)
        text, type_name = encode_param(name, value)
        if name in self.params and encode_param(name, self.params[name])[0] != text:
            raise ParamError(f"param {name!r} was already recorded as {short_repr(self.params[name])} in "
                             f"this run; a run has one value per param (got {short_repr(value)})")
        self.params[name] = value
        self._writer.add_param((self.id, name, text, type_name, overridden))
        return value

    def artifact(self, name: str, obj: Any, *, kind: str | None = None) -> ArtifactRef:
        """Store ``obj`` content-addressed, in a format made for it, with the enclosing loop context.

        ``obj`` may be a path of a file (stored byte for byte) or a folder (stored as a tree); a
        string that looks like a path but names nothing raises :class:`~mlcontext.NotFoundError`.
        Arrays are stored as ``.npy``, DataFrames and Series as Arrow, scikit-learn models with
        skops, torch tensors and state dicts with ``torch.save``, plain lists and dicts as JSON, and
        anything else as a pickle, which reads back only when trusted (``docs/security.md``).

        Inside :func:`mlcontext.loop` the artifact carries the loop indices (``{"epoch": 2}``), like
        metrics; :func:`mlcontext.load_artifact` selects by them (``epoch=2``). A traced array or
        frame is stored as its value, with its lineage log beside it and edges from the data it was
        derived from; a model keeps its class, hyper-parameters and input columns.

        Parameters
        ----------
        name : str
            The artifact's name in this run (``model``, ``checkpoint``).
        obj : object
            The value, or the path of a file or folder to store.
        kind : str, optional
            A label stored with it (default: chosen from the format).

        Returns
        -------
        ArtifactRef
            Where it is stored: content hash, size, kind, format metadata, loop context.

        Raises
        ------
        InvalidNameError
            ``name`` is not a valid name.
        NotFoundError
            ``obj`` is a path naming no file or folder.
        DataFormatError
            No format can hold ``obj`` (it does not even pickle).

        Examples
        --------
        >>> import numpy as np
        >>> with mc.run("fit", project="doc") as r:
        ...     ref = r.artifact("weights", np.arange(3.0))
        >>> np.asarray(mc.load_artifact(r, "weights")).tolist()
        [0.0, 1.0, 2.0]
        """
        check_name(name, "artifact")
        # Here, not at the top: the lineage layer (and its loop listener) is not a logging script's
        # business until it stores an artifact.
        from .derivation import model_metadata, plain_value, record_output

        value = plain_value(obj)
        ref, content_hash = store_object(self.store.artifacts, name, value, kind=kind)
        context = {frame.name: frame.index for frame in current_loops()}
        meta = model_metadata(value) | record_output(self, ref.hash, obj, name)
        ref = dataclasses.replace(ref, meta={**ref.meta, **meta}, context=context)
        self.store.metadata.add_artifact(self.id, name, ref.hash, size=ref.size, kind=ref.kind,
                                         meta=dict(ref.meta), content_hash=content_hash,
                                         context=context)
        return ref

    def flush(self) -> None:
        """Write every pending record now."""
        self._writer.flush()

    # -- ending ---------------------------------------------------------------------------------

    def end(self, status: str = RunStatus.FINISHED, exc: BaseException | None = None) -> None:
        """End the run (idempotent): flush pending records, then store the final status.

        In a forked child, only writes the values the child logged: the run is the parent's to end.

        Parameters
        ----------
        status : str
            The final status (default ``"finished"``; ``"failed"``, ``"killed"``).
        exc : BaseException, optional
            The exception that ended it, recorded with its traceback.

        Raises
        ------
        InvalidArgumentError
            ``status`` is not a final status (``finished``, ``failed``, ``killed``).

        Examples
        --------
        >>> r = mc.run("manual", project="doc")
        >>> r.end()
        >>> mc.get_run(r.id).status
        'finished'
        """
        if status not in TERMINAL_STATUSES:
            raise InvalidArgumentError(f"a run ends as one of {sorted(TERMINAL_STATUSES)}, not {status!r}")
        self._end(status, _error_details(exc))

    def _end(self, status: str, details: dict[str, Any]) -> None:
        """:meth:`end` with the error's columns (``error_type``, ``error_message``, ``traceback``)
        given as they are stored: an exit seen after its exception is gone has only those."""
        if self._pid != os.getpid():
            self._writer.close()
            return
        if self.status in TERMINAL_STATUSES:
            return
        self.status = status
        self._leaves.remove()
        try:
            _settle_test_reads(self, finished=status == RunStatus.FINISHED)
            self._writer.close()
        finally:
            try:
                self.store.metadata.end_run(self.id, status, **details)
            finally:
                # Only now, once this thread's writes are done while git reads the tree: what the
                # process writes after end() returns must never be in the code snapshot.
                self._code_read.wait(CODE_READ_TIMEOUT_S)
                # And whatever interrupted the end (Ctrl-C in a notebook): no longer the active run,
                # or every later mc.run() would be refused as nested in it.
                with _active_lock:
                    if STATE.active is self:
                        STATE.active = None
            if _deferred_signal is not None:  # a SIGTERM arrived while this run was ending
                _die_of(_deferred_signal)
        unused = set(self.overrides) - self._used_overrides
        if unused and status == RunStatus.FINISHED:
            warnings.warn(f"run {self.id[:8]}: --param override(s) {sorted(unused)} never used by "
                          "mc.param(); check the spelling", MLContextWarning,
                          stacklevel=_outside_mlcontext())

    def _forked(self) -> None:
        """In a child just forked: leave the parent's writer (its queue, thread and locks) alone."""
        self._writer = _ChildWriter(self)  # type: ignore[assignment]
        self._seq = itertools.count(os.getpid() << 32)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 _tb: TracebackType | None) -> None:
        status = _status_for(exc)
        # (``sys.exit(0)`` leaves the block with a SystemExit that is no error: none is recorded)
        self.end(status, exc if status != RunStatus.FINISHED else None)


_now = time.time
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _outside_mlcontext() -> int:
    """The ``stacklevel`` that makes a warning of the caller name the user's line (the end of a
    ``with`` block, a call of ``run.end()``) rather than mlcontext's; 1 when no frame outside
    mlcontext is on the stack (a run ended at exit)."""
    frame: FrameType | None = sys._getframe(1)  # the caller, where warnings.warn is called
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 1


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except OverflowError as exc:  # an int beyond a float's range (10**400)
        raise ParamError(f"metric {name!r}: {short_repr(value)} does not fit a 64-bit float (±1.8e308); "
                         "log its logarithm or a scaled value") from exc
    except (TypeError, ValueError) as exc:
        raise ParamError(f"metric {name!r}: {short_repr(value)} is not a number") from exc


class _RowInserted:
    """Whether a run's row was inserted, for its code thread, which starts before the insert."""

    #: Rows whose insert is under way: a process that dies meanwhile (SIGTERM, ``os._exit``) settles
    #: them as not inserted, or it would wait for code threads that wait for them.
    pending: set[_RowInserted] = set()

    def __init__(self) -> None:
        self._settled = threading.Event()
        self._inserted = False
        _RowInserted.pending.add(self)

    def settle(self, inserted: bool) -> None:
        self._inserted = inserted
        self._settled.set()
        _RowInserted.pending.discard(self)

    @classmethod
    def settle_pending(cls) -> None:
        """Settle every row still being inserted as not inserted (the process is dying)."""
        for row in list(cls.pending):
            row.settle(False)

    def wait(self) -> bool:
        """Block until the insert succeeded (True) or failed (False)."""
        self._settled.wait()
        return self._inserted


def _record_code(store: Store, run_id: str, capture: CodeCapture, environment: dict[str, Any],
                 read: threading.Event, row: _RowInserted) -> None:
    """Finish ``capture`` (begun at the run's start), store the snapshot as run ``run_id``'s code and
    fill the run's git columns.

    Runs in a thread of its own from the run's start; ``read`` is set once the working tree has been
    read (the run's end waits for that, not for the rest); it starts before the run's row is inserted,
    and stores nothing until ``row`` says the insert succeeded. Never lost at exit: the thread is not a daemon
    (the interpreter waits for it), a multiprocessing child waits for it in its exit finalizers,
    SIGTERM waits for it before the process dies (``_die_of``), so does ``os._exit``
    (``_exit_after_background``), and every read of the store in this process waits for it first.
    Only ``kill -9`` (or a crash of the interpreter) within its few milliseconds loses it: the run then
    has no code, as one whose capture failed.
    """
    signals_to_main_thread()
    try:
        code = capture.finish()
    finally:
        read.set()  # the working tree has been read (or cannot be): end() may return
        # Let a waiting end() run now: the archive below holds the interpreter lock for a while, and
        # a thread woken by the event would wait for it (up to the 5 ms switch interval).
        time.sleep(0)
    # Always stored (a clean tree's archive is a small manifest, deduplicated by content) so that
    # every run can be restored and diffed the same way.
    archive = code.archive()
    if not row.wait():
        return  # the run's start failed: there is no run to attach the snapshot to
    code_hash = store.artifacts.put(archive)
    store.metadata.set_code(
        run_id, code_hash=code_hash, size=len(archive),
        meta={"kind": code.kind, "repo_root": code.repo_root}, git_commit=code.commit,
        git_branch=code.branch, git_dirty=code.dirty if code.kind == "git" else None,
        environment=environment | {"code_warnings": list(code.warnings),
                                   "code_ignored": list(code.ignored)})


def _finish_at_multiprocessing_exit(thread: threading.Thread) -> None:
    # A multiprocessing child (fork start method) ends with os._exit, which waits for no thread (unless
    # it is ours, see _exit_after_background: another library may have wrapped it first); its exit runs
    # multiprocessing's finalizers, though. Only in such a child: each finalizer holds its thread until
    # the process ends, and a long-lived parent starting thousands of runs would keep them all.
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_process is not None and mp_process.parent_process() is not None:
        import multiprocessing.util  # (loaded already in such a child)

        multiprocessing.util.Finalize(thread, thread.join, exitpriority=100)


class _ChildWriter:
    """A forked child's writer until the child first logs: then a real one (no thread is started
    in children that never log, e.g. the workers of a pool)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._lock = threading.Lock()

    def _real(self) -> RunWriter:
        with self._lock:
            if self.run._writer is not self:
                return self.run._writer
            # No heartbeat: the parent's says whether the run is alive.
            writer = RunWriter(self.run.store.metadata, self.run.id,
                               sync=self.run.durability == "sync", heartbeat_interval=float("inf"))
            self.run._writer = writer
        # multiprocessing ends its children with os._exit (no atexit): flush at its exit instead.
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:
            mp_util.Finalize(writer, writer.close, exitpriority=100)
        _forward_signals_to_main_thread()  # (first: a SIGTERM caught from here on is seen)
        _handle_sigterm_in_child()
        return writer

    def add_metric(self, record: Any) -> None:
        self._real().add_metric(record)

    def add_param(self, row: Any) -> None:
        self._real().add_param(row)

    def flush(self, **_: Any) -> None:
        pass  # nothing logged yet

    def close(self) -> None:
        pass


#: The writer lock held across a fork (see _before_fork).
_held_for_fork: list[threading.Lock] = []


#: The forking thread's signal mask before _before_fork blocked SIGTERM and SIGINT (see there).
_mask_for_fork: list[set[int | signal.Signals]] = []


def _before_fork() -> None:
    # No write transaction of the writer may be open when the process forks: SQLite keeps its lock
    # state per process, and a child that inherits a transaction's locks cannot write for ever
    # ("database is locked"), whatever new connection it opens. A flush in progress finishes first,
    # and so does a code snapshot being stored (a fork right after the run's start).
    settle_background(5.0)
    writer = getattr(STATE.active, "_writer", None)
    if isinstance(writer, RunWriter) and writer._flush_lock.acquire(timeout=5.0):
        _held_for_fork.append(writer._flush_lock)
    _block_signals_across_fork()


def _block_signals_across_fork() -> None:
    """Block SIGTERM and SIGINT in the forking thread until the fork is done (both sides).

    A signal that reaches a child before it first runs (a busy machine can keep a new child waiting
    for a CPU for tens of milliseconds) is caught by the handler it inherited, and then erased:
    CPython clears the caught signals right after a fork so that the parent's are not handled twice.
    ``Pool.terminate`` SIGTERMs a worker that has not run yet exactly so, when the other workers did
    every task first; the worker then waits on the task queue for ever and ``terminate`` waits for it
    (seen in full-suite runs; without mlcontext's handler, the default action kills it). Blocked, the
    signal stays pending, and is delivered once the child's handler is installed (see
    _after_fork_in_child); in the parent, once the fork is done.
    """
    if hasattr(signal, "pthread_sigmask") and _hooks_installed:
        _mask_for_fork.append(signal.pthread_sigmask(signal.SIG_BLOCK, _FORK_HELD))


def _unblock_signals_after_fork() -> None:
    while _mask_for_fork:
        signal.pthread_sigmask(signal.SIG_SETMASK, _mask_for_fork.pop())


_FORK_HELD = (signal.SIGTERM, signal.SIGINT)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()
    _unblock_signals_after_fork()


# Names that look like a run id as the tables print it (8 hex digits or more): shorter ones ("2024",
# "cafe") would be refused at random as a store grows (a reviewer: 14 % of 4-digit names at 10,000 runs).
_HEX_NAME = re.compile(r"[0-9a-fA-F]{8,32}")


def _check_not_an_id_prefix(store: Store, name: str) -> None:
    """Refuse a run name that is the start of an existing run's id (or the whole of it): references
    to that run (``show d8457d2e``, saved in scripts) would turn ambiguous, in every project (a
    newcomer's finding). Only names of 8 hex digits or more are looked up; others cost nothing."""
    if not _HEX_NAME.fullmatch(name):
        return
    taken = store.metadata.run_id_starting(name.lower())
    if taken is not None:
        raise InvalidNameError(f"invalid run name {name!r}: it is the start of the id of run "
                               f"{taken[:12]}..., so references to that run would become ambiguous; "
                               f"pick a name that is not hex digits (e.g. 'run-{name}')")


def _error_details(exc: BaseException | None) -> dict[str, Any]:
    """The error columns of a run ended by ``exc``: its type, message and traceback."""
    if exc is None:
        return {}
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, _Terminated):  # the signal, not a private class (as NoHeartbeat names its cause)
        kind = signal.Signals(exc.signum).name
    report = tb.TracebackException(type(exc), exc, exc.__traceback__)
    # The user's sys.exit(3) is where the exit was; mlcontext's wrapper of sys.exit (exits.py) and its
    # SIGTERM handler are no frames of theirs (a newcomer's `show` of a failed run ended in
    # mlcontext/exits.py; a reviewer's SIGTERM'd one in _on_sigterm, naming the private class).
    ours = {exits.__file__, __file__} if isinstance(exc, _Terminated) else {exits.__file__}
    report.stack = tb.StackSummary.from_list([f for f in report.stack if f.filename not in ours])
    if isinstance(exc, _Terminated):
        text = "Traceback (most recent call last):\n" + "".join(report.stack.format()) + f"{kind}: {exc}\n"
    else:
        text = "".join(report.format())
    return dict(error_type=kind, error_message=str(exc), traceback=text)


def _settle_test_reads(run: Run, finished: bool) -> None:
    # Only a run that registered or read data has test reads to settle, and then datasets (and with it
    # uses) is imported: a process that only logs metrics never imports it for this.
    uses = sys.modules.get("mlcontext.tracking.uses")
    if uses is not None:
        try:
            uses.end_run(run, finished)  # and release what it kept for the run
        except Exception as exc:  # noqa: BLE001 - ending the run must not fail on the accounting
            warnings.warn(f"run {run.id[:8]}: its test-set reads could not be recorded: {exc}",
                          MLContextWarning, stacklevel=3)


def _after_fork_in_child() -> None:
    try:
        _prepare_child()
    finally:
        # Now that the child's handlers are in place, a SIGTERM sent to it before it ran is
        # delivered to them (see _block_signals_across_fork).
        _unblock_signals_after_fork()


def _prepare_child() -> None:
    _held_for_fork.clear()  # (the parent's writer, left alone in the child)
    _handled[0] = False
    _unwinding[0], _redelivered[0] = None, False  # (the parent's SIGTERM is not the child's)
    _swallowed.clear()
    if _watching:  # a child of a child: the watcher thread is not here, and its pipe is the parent's
        read_end, write_end = _watching.pop()
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        for fd in (read_end, write_end):
            try:
                os.close(fd)
            except OSError:
                pass
    current = STATE.active
    if current is not None:
        current._forked()
    # The parent's SIGTERM handler unwinds the main thread to end the run; a child has no run to end:
    # it writes what it logged and dies of the signal (multiprocessing's Pool.terminate, for one).
    # Any handler of mlcontext's counts: a fork from another thread while the main thread held the
    # signals for a write (writer.signals_held) copies the holding handler, which would swallow the
    # SIGTERM for good in the child, and a Pool worker blocked on its task queue then never dies.
    # A child that has logged nothing has nothing to write: SIGTERM keeps its default action, which
    # ends the child whatever it is blocked in. A Python handler cannot promise that: a signal caught
    # just before the main thread blocks in C (a Pool worker's first wait on the task queue) only sets
    # a flag, and the handler never runs (seen: the flag set, the worker waiting for ever, and
    # Pool.terminate waiting for it). _child_sigterm is installed when the child first logs, after the
    # watcher that re-sends such a signal to the main thread (_ChildWriter._real).
    _sigterm_ours[0] = False
    for signum, handler in ((signal.SIGTERM, signal.SIG_DFL), (signal.SIGINT, signal.default_int_handler)):
        current_handler = signal.getsignal(signum)
        if current_handler is _on_sigterm or _is_holding_handler(current_handler):
            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread (cannot happen after fork, but never fail here)
                continue
            if signum == signal.SIGTERM:
                _sigterm_ours[0] = True


#: Whether this fork child's SIGTERM was mlcontext's at the fork (then _child_sigterm is installed
#: when it first logs); set in each child.
_sigterm_ours = [False]


def _handle_sigterm_in_child() -> None:
    """Install _child_sigterm in a fork child that starts to log (its values are then written before
    it dies of SIGTERM); from the main thread only, and only where mlcontext's handler was."""
    if _sigterm_ours[0] and threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _child_sigterm)


def _is_holding_handler(handler: Any) -> bool:
    return getattr(handler, "__qualname__", "") == "signals_held.<locals>.hold" and \
        getattr(handler, "__module__", "") == "mlcontext.tracking.writer"


#: Seconds a SIGTERM'd fork child waits to write what it logged before it dies anyway.
CHILD_TERMINATE_GRACE_S = 10.0


def _child_sigterm(signum: int, _frame: FrameType | None) -> None:
    _handled[0] = True
    current = STATE.active
    writer = getattr(current, "_writer", None)
    if not isinstance(writer, RunWriter):
        _die_of(signum)
        return  # (reached only if the signal is not delivered at once)
    if writer.closing:
        # The child is already writing its values on its way out (multiprocessing's exit): let it
        # finish, but never outlive the grace period: returning from here while the main thread is
        # blocked (a Pool worker waiting on a queue lock the parent holds) would leave it there for ever.
        signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM kills at once
        threading.Thread(target=_die_later, args=(signum,), daemon=True).start()
        return
    # Not in this (main) thread: the signal may have interrupted it inside the writer, holding a lock
    # that closing needs. Another thread waits for such a lock at most the grace period.
    closer = threading.Thread(target=_close_quietly, args=(writer,), daemon=True)
    closer.start()
    closer.join(CHILD_TERMINATE_GRACE_S)
    _die_of(signum)


#: Whether this (forked) process's SIGTERM handler has run (the signal watcher then leaves it alone).
_handled = [False]
#: The watcher's pipe (read end, write end), while one runs in this process.
_watching: list[tuple[int, int]] = []


def _forward_signals_to_main_thread() -> None:
    """In a fork child that logs: make sure a SIGTERM or SIGINT reaches the main thread's handler.

    The kernel hands a signal sent to the process to any thread that does not block it; Python's C
    handler then only sets a flag, and a main thread blocked in C (a Pool worker waiting for its next
    task) is never interrupted, so the Python handler never runs and ``Pool.terminate`` waits for ever
    (seen about once in several full-suite runs under load; a second SIGTERM sent by hand ended it).
    mlcontext's own threads block these signals, but not every thread can be ours. Whichever thread
    the kernel picks, the C handler also writes the signal's number to the wakeup fd: a watcher thread
    reads it and, unless the handler has run meanwhile, sends the signal to the main thread itself
    (``pthread_kill``), which interrupts the blocked call there.
    """
    if _watching or threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_kill"):
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except (ValueError, OSError):
        previous = None
    if previous != -1:  # another owner (asyncio's loop) or no main thread: leave it as it was
        if previous is not None:
            signal.set_wakeup_fd(previous)
        os.close(read_end)
        os.close(write_end)
        return
    _watching.append((read_end, write_end))
    main = threading.main_thread().ident
    threading.Thread(target=_watch_signals, args=(read_end, main), daemon=True,
                     name="mlcontext-signals").start()


def _watch_signals(read_end: int, main: int | None) -> None:
    signals_to_main_thread()
    term = int(signal.SIGTERM)  # (not SIGINT: its handler raises KeyboardInterrupt; twice is worse)
    sent = 0  # SIGTERMs this thread sent itself: their bytes come back through the same pipe
    while True:
        try:
            data = os.read(read_end, 64)
        except OSError:
            return
        if not data:
            return
        for byte in data:
            if byte != term:
                continue
            if sent:
                sent -= 1
                continue
            time.sleep(0.05)  # the main thread's handler usually runs within this
            # Only for mlcontext's own handler, which ends the child: a handler of the user's (a
            # graceful-shutdown flag, sys.exit) ran or will run as it would without mlcontext, and
            # a second signal would interrupt its cleanup (review of this watcher).
            if _handled[0] or main is None or signal.getsignal(signal.SIGTERM) is not _child_sigterm:
                continue
            try:
                signal.pthread_kill(main, term)
                sent += 1
            except (ProcessLookupError, OSError):
                return


def _die_later(signum: int) -> None:
    signals_to_main_thread()
    time.sleep(CHILD_TERMINATE_GRACE_S)
    os.kill(os.getpid(), signum)  # its handler is SIG_DFL by now (set in the main thread)


def _close_quietly(writer: RunWriter) -> None:
    signals_to_main_thread()
    try:
        writer.close(timeout=CHILD_TERMINATE_GRACE_S)
    except Exception as exc:  # noqa: BLE001 - dying anyway: say so, never hang
        print(f"mlcontext: a forked child could not write its values: {exc}", file=sys.stderr)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def _status_for(exc: BaseException | None) -> str:
    if exc is None or (isinstance(exc, SystemExit) and exits.succeeds(exc.code)):
        return RunStatus.FINISHED
    if isinstance(exc, KeyboardInterrupt | _Terminated):
        return RunStatus.KILLED
    return RunStatus.FAILED


class _Terminated(BaseException):
    """Raised in the main thread on SIGTERM so that ``with`` blocks and ``finally`` clauses run."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum} ({signal.Signals(signum).name})")
        self.signum = signum


def run(name: str | None = None, project: str | None = None, *, store: Store | None = None,
        durability: Durability = "buffered") -> Run:
    """Start a run and make it the active one.

    Parameters
    ----------
    name : str, optional
        What the run does (default: the script's file name).
    project : str, optional
        Groups runs (default: ``MLCONTEXT_PROJECT`` or the project folder's name).
    store : Store, optional
        Where to record (default: :func:`mlcontext.get_store`).
    durability : {"buffered", "sync"}
        ``buffered`` batches writes every 100 ms in the background; ``sync`` writes each record
        before returning, so even ``kill -9`` loses nothing.

    Returns
    -------
    Run
        The active run; leaving its ``with`` block (or :meth:`Run.end`) ends it.

    Raises
    ------
    RunError
        Another run is still active (runs do not nest), or ``durability`` is unknown.
    InvalidNameError
        ``name`` or ``project`` is not a valid name.

    Examples
    --------
    >>> import mlcontext as mc, tempfile
    >>> mc.set_store(tempfile.mkdtemp())
    >>> with mc.run("ridge", project="doc") as r:
    ...     lr = mc.param("lr", 0.01)
    ...     mc.log("loss", 0.5)
    >>> r.status
    'finished'
    >>> mc.set_store(None)
    """
    with _active_lock:
        current = STATE.active
        if current is not None:
            raise RunError(
                f"run {current.id[:8]} ({current.project}/{current.name}) is still active: end it "
                "(run.end() or leave its `with` block) before starting another; nested runs are not "
                "supported")
        _install_process_hooks()
        STATE.active = Run(name, project, store=store, durability=durability)
        return STATE.active


def active_run() -> Run | None:
    """The active run, or ``None``.

    Returns
    -------
    Run or None
        The run :func:`run` (or a first :func:`log`) started and that has not ended.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     mc.active_run() is r
    True
    >>> mc.active_run() is None
    True
    """
    return STATE.active


def _current() -> Run:
    """The active run, starting an implicit one (like Flor) when there is none."""
    current = STATE.active
    if current is not None:
        return current
    with _active_lock:
        if STATE.active is None:
            _install_process_hooks()
            STATE.active = Run(implicit=True)
        return STATE.active


def log(name: str, value: float) -> None:
    """Record a metric in the active run (started implicitly if needed). See :meth:`Run.log`.

    Parameters
    ----------
    name : str
        The metric's name (``loss``, ``val/acc``).
    value : float
        Anything ``float()`` accepts, traced scalars included.

    Raises
    ------
    InvalidNameError
        ``name`` is not a valid name.
    ParamError
        ``value`` is not a number, or too large for a 64-bit float.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     for step in mc.loop("step", range(3)):
    ...         mc.log("loss", 0.1 * step)
    >>> len(mc.metrics("loss", run=r))
    3
    """
    (STATE.active or _current()).log(name, value)


def param(name: str, default: Any) -> Any:
    """Record a param in the active run and return its (possibly overridden) value.

    See :meth:`Run.param`; ``python train.py --param lr=0.1`` overrides ``mc.param("lr", 0.01)``.

    Parameters
    ----------
    name : str
        The param's name.
    default : object
        Its value unless the command line overrides it: a JSON-safe value.

    Returns
    -------
    object
        ``default``, or the override converted to ``default``'s type.

    Raises
    ------
    InvalidNameError
        ``name`` is not a valid name.
    ParamError
        The value cannot be recorded, the override does not parse, or the param already has
        another value in this run.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     mc.param("alpha", 0.5)
    0.5
    >>> mc.get_run(r.id).params
    {'alpha': 0.5}
    """
    return _current().param(name, default)


def artifact(name: str, obj: Any, *, kind: str | None = None) -> ArtifactRef:
    """Store an artifact of the active run. See :meth:`Run.artifact`.

    Parameters
    ----------
    name : str
        The artifact's name in the run.
    obj : object
        The value, or the path of a file or folder to store.
    kind : str, optional
        A label stored with it (default: chosen from the format).

    Returns
    -------
    ArtifactRef
        Where it is stored: content hash, size, kind, format metadata, loop context.

    Raises
    ------
    InvalidNameError
        ``name`` is not a valid name.
    NotFoundError
        ``obj`` is a path naming no file or folder.
    DataFormatError
        No format can hold ``obj``.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     ref = mc.artifact("config", {"depth": 3})
    >>> mc.load_artifact(r, "config")
    {'depth': 3}
    """
    return _current().artifact(name, obj, kind=kind)


def heartbeat_timeout() -> float:
    """The reader's heartbeat timeout in seconds: ``MLCONTEXT_HEARTBEAT_TIMEOUT`` (default 60).

    Raises
    ------
    ConfigError
        The variable is not a positive number of seconds.

    A value below :data:`MIN_TIMEOUT_BEATS` heartbeat intervals would mark a colleague's live run
    killed in a shared store: it is raised to that floor, with a :class:`MLContextWarning`.
    """
    raw = os.environ.get("MLCONTEXT_HEARTBEAT_TIMEOUT", "").strip()
    if not raw:
        return HEARTBEAT_TIMEOUT
    try:
        timeout = float(raw)
    except ValueError:
        timeout = float("nan")
    if not timeout > 0 or timeout == float("inf"):
        raise ConfigError(f"MLCONTEXT_HEARTBEAT_TIMEOUT={raw!r} is not a positive number of seconds; "
                          f"unset it for the default ({HEARTBEAT_TIMEOUT:g} s)")
    floor = MIN_TIMEOUT_BEATS * HEARTBEAT_INTERVAL
    if timeout < floor:
        warnings.warn(f"MLCONTEXT_HEARTBEAT_TIMEOUT={raw} s is shorter than {MIN_TIMEOUT_BEATS} heartbeat "
                      f"intervals of a live run ({HEARTBEAT_INTERVAL:g} s each): using {floor:g} s, so "
                      "live runs in a shared store are not marked killed", MLContextWarning, stacklevel=3)
        return floor
    return timeout


def reap_dead_runs(store: Store, timeout: float | None = None) -> int:
    """Mark runs whose process died without ending them as ``killed``; returns how many.

    ``timeout`` (seconds without a heartbeat) defaults to :func:`heartbeat_timeout`. A run marked
    killed whose writer turns out to be alive is put back to ``running`` by its next heartbeat.
    """
    return store.metadata.mark_dead_runs(heartbeat_timeout() if timeout is None else timeout)


# -- process hooks: end the active run however the process ends ---------------------------------

_hooks_installed = False
_previous_excepthook: Callable[..., Any] = sys.excepthook


def _install_process_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_end_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    _previous_unraisablehook[0] = sys.unraisablehook
    sys.unraisablehook = _unraisable
    if os._exit is _REAL_EXIT:
        os._exit = _exit_after_background
    exits.install()  # (done at import already; again in case a program put sys.exit back)
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


#: os._exit as Python defines it (see _exit_after_background).
_REAL_EXIT = os._exit
#: How long os._exit waits for the run's end to be written (a store locked by another process
#: held os._exit for 10 s, a reviewer found); what is not written by then is lost, as before.
OS_EXIT_GRACE_S = 2.0
#: Whether SIGTERM unwound this process (then os._exit records the run killed, not failed).
_terminated_by_signal: list[bool] = [False]


def _exit_after_background(status: int) -> NoReturn:
    """``os._exit`` that first ends the active run and lets this process's background writes finish
    (a run's code snapshot, captured from the run's start), each within ``BACKGROUND_GRACE_S``.

    ``os._exit`` runs no exit handler and waits for no thread: the values queued in the last ~100 ms
    (all the params of a short run) were lost, and the run stayed ``running`` until readers gave up on
    its heartbeat (``killed``, duration 0). Now it ends as the exit status says: ``finished`` for 0,
    ``failed`` with error type ``os._exit`` otherwise, as SIGTERM records ``killed``. In a fork child
    (which ``multiprocessing`` and ``os.fork`` users end with ``os._exit``) ending only writes what
    the child logged: the run is its parent's. Nothing else of ``os._exit`` changes (no atexit
    handler runs, no file is flushed)."""
    try:
        code = operator.index(status)
    except TypeError:
        _REAL_EXIT(status)  # (raises os._exit's own TypeError, nothing ended)
    _RowInserted.settle_pending()
    _end_before_os_exit(code, sys._getframe(1))
    settle_background(BACKGROUND_GRACE_S)
    _REAL_EXIT(code)


def _end_before_os_exit(code: int, caller: FrameType | None) -> None:
    current = STATE.active
    if current is None:
        return
    details: dict[str, Any] = {}
    if code % 256 != 0:
        details = dict(error_type="os._exit",
                       error_message=f"the process called os._exit({code}): exit status {code % 256}",
                       traceback="".join(["Most recent call last:\n", *tb.format_stack(caller)]))
    status = RunStatus.FINISHED if code % 256 == 0 else RunStatus.FAILED
    if _terminated_by_signal[0]:
        # SIGTERM reached this process and its handler unwound it (a multiprocessing worker leaving a
        # Pool is terminated so, and exits by os._exit(1)): killed, as SIGTERM records elsewhere
        status = RunStatus.KILLED
    # In a thread of its own, bounded: os._exit may be called from a thread while the main thread
    # holds the writer's lock (a sync write), or from a signal handler that interrupted a write; the
    # process must die all the same.
    ender = threading.Thread(target=_end_quietly, args=(current, status, details), daemon=True,
                             name="mlcontext-os-exit")
    try:
        ender.start()
    except RuntimeError:  # no new thread at interpreter shutdown (os._exit from an atexit handler)
        _end_quietly(current, status, details)
        return
    ender.join(OS_EXIT_GRACE_S)  # (os._exit is asked to end now: a locked store is not waited out)


def _end_quietly(run: Run, status: str, details: dict[str, Any]) -> None:
    signals_to_main_thread()
    try:
        run._end(status, details)
    except Exception as exc:  # noqa: BLE001 - the process is exiting: say so, never hang or raise
        print(f"mlcontext: could not record the end of run {run.id[:8]}: {exc}", file=sys.stderr)


def _end_at_exit() -> None:
    current = STATE.active
    if current is None:
        return
    seen = exits.process_exit()
    if seen is None:
        current.end(RunStatus.FINISHED)
    else:  # the process exits through sys.exit with a failing status
        current._end(RunStatus.FAILED, seen.details())


def _excepthook(exc_type: type[BaseException], exc: BaseException, trace: TracebackType | None) -> None:
    current = STATE.active
    if current is not None:
        try:
            current.end(_status_for(exc), exc)
        except MLContextError as error:  # never hide the user's exception behind ours
            print(f"mlcontext: could not record the end of run {current.id[:8]}: {error}",
                  file=sys.stderr)
    if isinstance(exc, _Terminated):
        _die_of(exc.signum)  # the run is recorded; exit as the signal would have, no traceback
    _previous_excepthook(exc_type, exc, trace)


_deferred_signal: int | None = None
#: The signal the main thread is being unwound for (None: none yet), and whether the next call of
#: the handler is mlcontext's own re-delivery of it (see _unraisable).
_unwinding: list[int | None] = [None]
_redelivered = [False]
_previous_unraisablehook: list[Callable[[Any], Any]] = [sys.unraisablehook]
#: Set when Python dropped the SIGTERM's exception (see _unraisable); _deliver_again redelivers.
_swallowed = threading.Event()


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    global _deferred_signal
    _terminated_by_signal[0] = True
    if _unwinding[0] is not None and not _redelivered[0]:
        # A second SIGTERM from outside: die at once, as the default action would (the run is
        # recorded as far as its end got; even a flush waiting for a locked store is not waited for).
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    current = STATE.active
    if current is None:
        _die_of(signum)
        return  # (reached only if the signal is not delivered at once)
    if current.status in TERMINAL_STATUSES:  # it is ending (flushing) now: Run.end dies after it
        _deferred_signal = signum
        return
    if _unwinding[0] is not None:
        _redelivered[0] = False  # the first one was dropped in a callback: unwind again
    else:
        _unwinding[0] = signum
        threading.Thread(target=_deliver_again, args=(signum,), daemon=True).start()
    # Not ``current.end()`` here: the interrupted main thread may hold the writer's lock (sync
    # mode) or a SQLite write transaction that ending needs, a deadlock. Unwind instead, like
    # KeyboardInterrupt: a ``with`` block ends the run as killed, an interrupted flush puts its
    # records back, and the excepthook ends a run started without ``with``, then dies of the signal.
    raise _Terminated(signum)


def _unraisable(unraisable: Any) -> None:
    """Python drops an exception raised while a GC or weakref callback runs ("Exception ignored
    in ...": SQLAlchemy has such callbacks): a ``_Terminated`` dropped there would leave the process
    running as if never signalled. _deliver_again delivers it again once the callback has
    returned (delivered from here, it would run, and be dropped, in this very callback). A hook the
    user installs after mlcontext's replaces it, and then a dropped SIGTERM stays dropped."""
    if isinstance(unraisable.exc_value, _Terminated) and _unwinding[0] is not None:
        _swallowed.set()
        return
    _previous_unraisablehook[0](unraisable)


#: Seconds after a SIGTERM during which an exception Python dropped in a callback is delivered again.
TERMINATE_GRACE_S = 5.0


def _deliver_again(signum: int) -> None:
    """Deliver the SIGTERM to the main thread again each time Python drops its exception in a GC or
    weakref callback (see _unraisable), for ``TERMINATE_GRACE_S``. A main thread that unwound is
    left alone: it ends the run (a ``with`` block, the excepthook), runs the user's ``finally``
    blocks however long they take, and dies of the signal by itself."""
    signals_to_main_thread()
    deadline = time.monotonic() + TERMINATE_GRACE_S
    while (left := deadline - time.monotonic()) > 0:
        if _swallowed.wait(left):
            _swallowed.clear()
            time.sleep(0.01)  # (let the callback that dropped it return first)
            _redelivered[0] = True
            signal.pthread_kill(threading.main_thread().ident or 0, signum)


#: Seconds a run's end waits for its code snapshot to have read the working tree (git's own
#: timeouts come first).
CODE_READ_TIMEOUT_S = 300.0

#: Seconds a dying process waits for its background writes (a run's code snapshot).
BACKGROUND_GRACE_S = 10.0


def _die_of(signum: int) -> None:
    """Die of ``signum`` as if it had never been handled, so the exit status tells the truth; the
    background writes (a run's code snapshot) are finished first; a run still being inserted is
    never stored (its code thread stops waiting for it)."""
    _RowInserted.settle_pending()
    settle_background(BACKGROUND_GRACE_S)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _default_run_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.splitext(os.path.basename(path))[0] if path else "interactive"


def _default_project() -> str:
    from ..store import project_root

    return os.environ.get("MLCONTEXT_PROJECT") or project_root().name or "default"


