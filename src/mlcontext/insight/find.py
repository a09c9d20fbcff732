"""``find``: search runs by params, metrics, data version, code version, time, user and name."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Float, and_, cast, exists, func, or_, select

from ..checks import check_choice, check_text, never_logged
from ..errors import NotFoundError, QueryError, UsageError
from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..store.metadata import check_limit
from ..store.records import DIRTY_MARK, STATUSES
from ..tracking.dataset_refs import versions_named
from ..tracking.queries import query_store
from ..tracking.refs import dataset_ref
from ..tracking.stores import known_project

__all__ = ["find", "parse_condition"]

_CONDITION = re.compile(r"^\s*([A-Za-z0-9_.\-/:@ ]+?)\s*(<=|>=|!=|==|=|<|>)\s*(.+?)\s*$")


def parse_condition(text: str) -> tuple[str, str, str]:
    """``"lr>=0.01"`` -> ``("lr", ">=", "0.01")``."""
    match = _CONDITION.match(text)
    if match is None:
        raise QueryError(f"cannot read condition {text!r}: write NAME OP VALUE, e.g. lr>=0.01 or "
                             "optimizer=adam (OP is one of = == != < <= > >=)")
    name, op, value = match.groups()
    return name, "==" if op == "=" else op, value


def find(*, params: Sequence[str] = (), metrics: Sequence[str] = (), data: Any = None,
         code: str | None = None, user: str | None = None, since: str | dt.datetime | None = None,
         until: str | dt.datetime | None = None, text: str | None = None, project: str | None = None,
         status: str | None = None, limit: int = 100, store: Store | None = None) -> pd.DataFrame:
    """Runs matching every condition, newest first (the columns of :func:`mlcontext.runs`).

    Parameters
    ----------
    params, metrics : sequence of str
        Conditions ``NAME OP VALUE`` such as ``"lr>=0.01"``, ``"optimizer=adam"``,
        ``"test_acc>0.9"`` (OP one of ``= == != < <= > >=``; metrics compare their last value).
    data : str or DatasetVersion, optional
        A dataset version (``trips@2`` or a ``DatasetVersion``) or dataset (``trips``, any
        version) the run read or wrote.
    code : str, optional
        A git commit (or prefix) the run's code was at; ``COMMIT+dirty`` (as the runs table shows a
        run with uncommitted changes) only the runs of that commit with uncommitted changes.
    user : str, optional
        Who ran it.
    since, until : str or datetime, optional
        ISO 8601 dates or datetimes bounding the run's start (inclusive; naive times are UTC). A date
        alone as ``until`` includes that whole day.
    text : str, optional
        A substring of the run's or project's name.
    project : str, optional
        Only this project's runs.
    status : str, optional
        Only runs with this status.
    limit : int
        At most this many runs (default 100).
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`mlcontext.runs`, one row per matching run, newest first.

    Raises
    ------
    QueryError
        A condition, a date or the limit cannot be read.
    UsageError
        ``params`` or ``metrics`` is one string instead of a list of them.
    NotFoundError
        ``project`` names no project (the message lists those that exist), ``data`` names no
        dataset version (no such dataset or version, a hash nothing has), a condition names a
        param or metric no run (of ``project``) ever logged, or ``code`` is a commit no run (of
        ``project``) started from (the message lists those runs started from).
    ReferenceTypeError
        ``data`` is a ``RUN:NAME`` that names something else (a model).

    Examples
    --------
    >>> for lr in (0.1, 0.01):
    ...     with mc.run("sgd", project="doc"):
    ...         mc.log("acc", 0.8 + mc.param("lr", lr))
    >>> mc.find(params=["lr>=0.05"], project="doc")[["param.lr", "metric.acc"]]
       param.lr  metric.acc
    0       0.1         0.9
    """
    store = query_store(store)
    for given, what in ((params, "params"), (metrics, "metrics")):
        if isinstance(given, str):  # (a string is a sequence of one-letter "conditions")
            raise UsageError(f"{what} is a list of conditions: {what}=[{given!r}], not {what}={given!r}")
    check_limit(limit)
    for value, what in ((code, "code"), (user, "user"), (text, "text"), (project, "project")):
        check_text(value, what)
    known_project(store, project)  # (a typo would match no run, as if none had)
    check_choice(status, STATUSES, "status", QueryError)
    query = select(t.Run.id).join(t.Project, t.Project.id == t.Run.project_id)
    conditions = [(what, parse_condition(c)) for what, given in (("param", params), ("metric", metrics))
                  for c in given]
    clauses = [_param_exists(*condition) if what == "param" else _metric_exists(*condition)
               for what, condition in conditions]  # (a condition that cannot be read: said first)
    _names_exist(store, conditions, project)
    for clause in clauses:
        query = query.where(clause)
    if data is not None:
        query = query.where(_data_exists(store, *dataset_ref(data, project)))
    if code:
        # ``4899d6c1+dirty``, as the runs table shows a dirty run's code: that commit's dirty runs
        commit = code.strip()
        dirty = commit.endswith(DIRTY_MARK)
        commit = commit[:-len(DIRTY_MARK)] if dirty else commit
        commit = commit.lower() if _HEX.fullmatch(commit) else commit
        _commit_exists(store, commit, project)
        query = query.where(t.Run.git_commit.startswith(commit, autoescape=True))
        if dirty:
            query = query.where(t.Run.git_dirty.is_(True))
    if user:
        query = query.where(t.Run.user == user)
    if status:
        query = query.where(t.Run.status == status)
    if project:
        query = query.where(t.Project.name == project)
    if text:
        query = query.where(or_(t.Run.name.contains(text, autoescape=True),
                                t.Project.name.contains(text, autoescape=True)))
    if since is not None:
        query = query.where(t.Run.started_at >= _seconds(since))
    if until is not None:
        day = _whole_day(until)
        query = query.where(t.Run.started_at < _seconds(day + dt.timedelta(days=1)) if day is not None
                            else t.Run.started_at <= _seconds(until))
    query = query.order_by(t.Run.started_at.desc(), t.Run.id.desc()).limit(limit)
    with store.metadata.read() as conn:
        ids = list(conn.execute(query).scalars())
    if not ids:
        return store.metadata.runs_frame(ids=[])
    return store.metadata.runs_frame(ids=ids)


def _names_exist(store: Store, conditions: list[tuple[str, tuple[str, str, str]]],
                 project: str | None) -> None:
    """A param or metric no run (of ``project``) ever logged names nothing: a ``NotFoundError``
    with the names that were logged, the closest first, never "no run matches" of a typo."""
    kinds = dict.fromkeys(what for what, _ in conditions)
    if not kinds:
        return
    names: dict[str, list[str]] = {}
    with store.metadata.read() as conn:  # (each kind's names read once, in one connection)
        for what in kinds:
            table = t.Param if what == "param" else t.LatestMetric
            query = select(table.name).distinct()
            if project is not None:
                query = query.join(t.Run, t.Run.id == table.run_id).join(
                    t.Project, t.Project.id == t.Run.project_id).where(t.Project.name == project)
            names[what] = sorted(conn.execute(query).scalars())
    for what, (name, _, _) in conditions:
        if name not in names[what]:
            where = f" in project {project!r}" if project else ""
            raise NotFoundError(never_logged(what, name, names[what], where))


_HEX = re.compile(r"[0-9a-fA-F]+")


def _commit_exists(store: Store, code: str, project: str | None) -> None:
    """A commit (prefix) no run (of ``project``) started from names nothing: a ``NotFoundError`` with
    the commits runs started from, newest first, never "no run matches" of a mistyped hash (a
    newcomer's finding)."""
    newest = func.max(t.Run.started_at)
    query = select(t.Run.git_commit, newest).where(t.Run.git_commit.is_not(None))
    if project is not None:
        query = query.join(t.Project, t.Project.id == t.Run.project_id).where(t.Project.name == project)
    with store.metadata.read() as conn:
        rows = conn.execute(query.group_by(t.Run.git_commit).order_by(newest.desc())).all()
    commits = [commit for commit, _ in rows if commit]
    if any(commit.startswith(code) for commit in commits):
        return
    where = f" in project {project!r}" if project else ""
    if not commits:
        raise NotFoundError(f"no run{where} recorded a git commit (runs started outside a git repository "
                            f"record none), so none started from {code!r}")
    shown = ", ".join(c[:12] for c in commits[:10]) + (" ..." if len(commits) > 10 else "")
    raise NotFoundError(f"no run{where} started from a commit {code!r} (commits runs started from, "
                        f"newest first: {shown})")


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    return {"==": column == value, "!=": column != value, "<": column < value, "<=": column <= value,
            ">": column > value, ">=": column >= value}[op]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _param_exists(name: str, op: str, raw: str) -> ColumnElement[bool]:
    number = _number(raw)
    where: list[ColumnElement[bool]] = [t.Param.run_id == t.Run.id, t.Param.name == name]
    if number is not None and raw.strip().lower() not in ("true", "false"):
        # Numeric params are JSON numbers: compare them as numbers, on both SQLite and PostgreSQL.
        where += [t.Param.type.in_(["int", "float", "int64", "float64", "int32", "float32"]),
                  _compare(cast(t.Param.value, Float), op, number)]
    else:
        if op not in ("==", "!="):
            raise QueryError(f"param {name}: {op} needs a number, got {raw!r}")
        texts = _param_texts(raw)
        where.append(t.Param.value.in_(texts) if op == "==" else t.Param.value.not_in(texts))
    return exists().where(and_(*where))


# How show/runs print a param (Python's True/False/None) -> its JSON: a newcomer's impute=True matched
# nothing (the value is stored as JSON true) and impute!=False matched every run.
_LITERALS = {"true": "true", "false": "false", "null": "null", "none": "null"}


def _param_texts(raw: str) -> list[str]:
    """The stored (JSON) texts a param condition's value matches: a quoted value as written; ``True``,
    ``true``, ``False``, ``None``, ``null`` as the JSON literal and as the string itself; anything
    else as a string."""
    if raw.startswith('"'):
        return [raw]
    text = json.dumps(raw)  # (as the param was stored: é, a quote or a backslash escaped)
    literal = _LITERALS.get(raw.lower())
    return [literal, text] if literal else [text]


def _metric_exists(name: str, op: str, raw: str) -> ColumnElement[bool]:
    number = _number(raw)
    if number is None:
        raise QueryError(f"metric {name}: compare with a number, not {raw!r}")
    return exists().where(t.LatestMetric.run_id == t.Run.id, t.LatestMetric.name == name,
                          _compare(t.LatestMetric.value, op, number))


def _data_exists(store: Store, ref: str, project: str | None) -> ColumnElement[bool]:
    # A content hash (as `versions` shows it) names that one version, NAME@VERSION that version, NAME
    # each of its versions; a text that names none is an error saying why (never "no run matches").
    # Runs that read these very versions, made them, or stored their bytes in the dataset's project: a
    # run of another project that read or stored byte-identical data of its own did not use it.
    # Reads and registrations that record no version (a load in a store written before loads
    # recorded versions; registering the same bytes again from another project) are counted while
    # these bytes are no other project's dataset: then they can only be this one's.
    versions = versions_named(store, ref, project)
    hashes = [v.artifact_hash for v in versions]
    projects = sorted({v.project for v in versions})
    read = exists().where(t.Access.run_id == t.Run.id, t.Access.version_id.in_([v.id for v in versions]))
    made = t.Run.id.in_([v.run_id for v in versions if v.run_id])
    stored = exists().where(t.RunArtifact.run_id == t.Run.id, t.RunArtifact.artifact_hash.in_(hashes),
                            t.RunArtifact.direction == "output")  # (a load of other bytes' name is no use)
    found = or_(read, made, and_(t.Project.name.in_(projects), stored))
    holders = ContextStore(store.metadata).all_versions_by_hash(hashes)
    if {v.project for held in holders.values() for v in held} <= set(projects):
        # (a load of an artifact that is no dataset version is recorded as the run's named input
        # since load_artifact records versions: that is a load of the artifact, not of this data)
        loaded = exists().where(t.RunArtifact.run_id == t.Access.run_id,
                                t.RunArtifact.artifact_hash == t.Access.artifact_hash,
                                t.RunArtifact.direction == "input")
        unrecorded = exists().where(t.Access.run_id == t.Run.id, t.Access.version_id.is_(None),
                                    t.Access.artifact_hash.in_(hashes), ~loaded)
        registered = exists().where(t.RunArtifact.run_id == t.Run.id, t.RunArtifact.artifact_hash.in_(hashes),
                                    t.RunArtifact.name.in_(sorted({v.name for v in versions})))
        found = or_(found, unrecorded, registered)
    return found


def _whole_day(when: str | dt.datetime) -> dt.datetime | None:
    """The start of the day a date-only ``until`` names (``2026-12-02``: up to and including that
    day, not its first instant, which left out every run of the day); None for a time."""
    if not isinstance(when, str):
        return None
    try:
        day = dt.date.fromisoformat(when.strip())
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _seconds(when: str | dt.datetime) -> float:
    try:
        moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError as exc:
        raise QueryError(f"{when!r} is not an ISO date or time ({exc}); write e.g. 2026-11-30 or "
                         "2026-11-30T14:00") from None
    if not isinstance(moment, dt.datetime):
        raise QueryError(f"since/until take an ISO date string or a datetime, not {type(when).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
