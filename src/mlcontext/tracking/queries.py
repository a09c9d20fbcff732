"""Reading runs back: the run table, metric series, single runs and their artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select

from ..checks import check_choice, check_text, never_logged
from ..errors import NotFoundError, QueryError, ReferenceTypeError, UsageError
from ..store import ArtifactRef, RunRecord, Store
from ..store import schema as t
from ..store.context import ContextStore, VersionRow
from ..store.records import STATUSES
from .artifacts import load_object
from .refs import run_id_ref
from .run import active_run, reap_dead_runs
from .run_refs import no_artifact, run_in
from .stores import get_store, known_project

__all__ = ["runs", "metrics", "get_run", "load_artifact", "query_store"]


def query_store(store: Store | None) -> Store:
    """The store a question reads (``store``, else :func:`get_store`), up to date: what the active
    run logged so far is flushed, and runs whose process died are marked ``killed`` (a question that
    shows how runs ended would say ``running`` of them, until ``mc.runs`` reaped them)."""
    store = store or get_store()
    current = active_run()
    if current is not None and current.store is store:
        current.flush()  # a query in the middle of a run sees what the run has logged so far
    reap_dead_runs(store)
    return store


def runs(project: str | None = None, *, name: str | Sequence[str] | None = None, status: str | None = None,
         user: str | None = None, limit: int | None = None, store: Store | None = None) -> pd.DataFrame:
    """One row per run, newest first.

    Parameters
    ----------
    project : str, optional
        Only this project's runs (default: every project).
    name : str or sequence of str, optional
        Only runs with this name (or one of these names).
    status : str, optional
        Only runs with this status: ``running``, ``finished``, ``failed`` or ``killed``.
    user : str, optional
        Only this user's runs.
    limit : int, optional
        At most this many (the newest).
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, project, name, status, user, host, git_commit, git_dirty, start, duration``
        (``start`` a UTC timestamp, ``duration`` in seconds), then ``param.<name>`` for every param
        and ``metric.<name>`` (the last value logged) for every metric.

    Raises
    ------
    NotFoundError
        ``project`` names no project (the message lists those that exist).
    QueryError
        ``status`` is not a status, or ``limit`` is not a positive integer.

    Examples
    --------
    >>> for alpha in (0.1, 1.0):
    ...     with mc.run("ridge", project="doc"):
    ...         mc.log("rmse", mc.param("alpha", alpha) + 1)
    >>> mc.runs("doc")[["name", "status", "param.alpha", "metric.rmse"]]
        name    status  param.alpha  metric.rmse
    0  ridge  finished          1.0          2.0
    1  ridge  finished          0.1          1.1
    """
    check_text(project, "project")
    check_text(user, "user")
    check_choice(status, STATUSES, "status", QueryError)
    names = None if name is None else [name] if isinstance(name, str) else list(name)
    _check_texts(names or (), "run name")
    store = query_store(store)
    known_project(store, project)  # (a typo would list no run, as if none had been recorded)
    return store.metadata.runs_frame(project, names=names, status=status, user=user, limit=limit)


def metrics(*names: str, project: str | None = None, run: Any = None,
            store: Store | None = None) -> pd.DataFrame:
    """Metric values in long format, the shape of Flor's ``flor.dataframe``.

    Parameters
    ----------
    *names : str
        The metrics to read; none: all of them.
    project : str, optional
        Only this project's runs.
    run : str, Run, RunRecord or sequence of them, optional
        Only these runs (an id, an unambiguous id prefix, a name, a ``Run`` or a ``RunRecord``).
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id, run_name``, one column per :func:`mlcontext.loop` (e.g. ``epoch``,
        ``step``; empty where a value was logged outside that loop), ``name, value, time, seq``.

    Raises
    ------
    NotFoundError
        A run in ``run`` does not exist, ``project`` names no project (the message lists those
        that exist), or a name in ``names`` is a metric none of the runs asked about logged (the
        message lists those they did, the closest first).
    AmbiguousReferenceError
        A run reference names more than one run.
    ReferenceTypeError
        A run reference is of a kind that names no run.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     for epoch in mc.loop("epoch", range(2)):
    ...         mc.log("loss", 1.0 / (epoch + 1))
    >>> mc.metrics("loss", run=r)[["epoch", "name", "value"]]
       epoch  name  value
    0      0  loss    1.0
    1      1  loss    0.5
    """
    _check_texts(names, "metric name")
    check_text(project, "project")
    store = query_store(store)
    known_project(store, project)
    run_ids = None
    if run is not None:
        refs = [run] if isinstance(run, str) or not isinstance(run, Sequence) else list(run)
        run_ids = [store.metadata.get_run(run_id_ref(ref)).id for ref in refs]
    frame = store.metadata.metrics_frame(list(names), project=project, run_ids=run_ids)
    missing = sorted(set(names) - set(frame["name"]))
    if missing:  # (a typo is no empty answer: find and tried say so of the same name)
        raise NotFoundError(_never_logged(store, missing[0], project, run_ids))
    return frame


def _never_logged(store: Store, name: str, project: str | None, run_ids: list[str] | None) -> str:
    """Why metric ``name`` has no values in the runs asked about, with the names they did log."""
    query = select(t.LatestMetric.name).distinct()
    if run_ids is not None:
        query = query.where(t.LatestMetric.run_id.in_(run_ids))
    if project is not None:
        query = query.join(t.Run, t.Run.id == t.LatestMetric.run_id).join(
            t.Project, t.Project.id == t.Run.project_id).where(t.Project.name == project)
    with store.metadata.read() as conn:
        logged = sorted(conn.execute(query).scalars())
    where = (f" of {len(run_ids)} run(s) asked" if run_ids is not None else "") + \
        (f" in project {project!r}" if project else "")
    return never_logged("metric", name, logged, where)


def _check_texts(values: Sequence[Any], what: str) -> None:
    for value in values:
        if not isinstance(value, str):
            raise UsageError(f"a {what} must be a string, got {type(value).__name__}: {value!r}")


def get_run(ref: Any, *, project: str | None = None, store: Store | None = None) -> RunRecord:
    """Everything recorded about a run.

    Parameters
    ----------
    ref : str, Run or RunRecord
        The run's id, an unambiguous id prefix, its name, a ``Run`` or a ``RunRecord`` (read again:
        a record returned earlier shows the run as it was then).
    project : str, optional
        A run *name* is then the newest run of that name in this project (without it: in any
        project); an id names its run whatever the project.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    RunRecord
        Status, times, params, last metric values, artifacts, code version and environment.

    Raises
    ------
    NotFoundError
        No run matches ``ref``.
    AmbiguousReferenceError
        ``ref`` matches more than one run (a shared name or prefix); use the id.
    ReferenceTypeError
        ``ref`` is of a kind that names no run.

    Examples
    --------
    >>> with mc.run("fit", project="doc") as r:
    ...     mc.log("loss", 0.25)
    >>> record = mc.get_run(r.id[:8])
    >>> record.name, record.status, record.metrics
    ('fit', 'finished', {'loss': 0.25})
    """
    return run_in(query_store(store), run_id_ref(ref), project)


def load_artifact(run: Any, name: str | None = None, *, project: str | None = None,
                  store: Store | None = None, trusted: bool | None = None, **loops: int) -> Any:
    """Load the artifact ``name`` of run ``run``, verified, as the object it was stored from.

    Parameters
    ----------
    run : str, Run, RunRecord or ArtifactRef
        The run (its id, id prefix or name, a ``Run`` or a ``RunRecord``); or an ``ArtifactRef``
        (from ``RunRecord.artifacts``) alone.
    name : str, optional
        The artifact's name (not given with an ``ArtifactRef``).
    project : str, optional
        A run *name* is then the newest run of that name in this project (without it: in any
        project); an id names its run whatever the project. (So a loop may not be called
        ``project``.)
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).
    trusted : bool, optional
        Whether you trust whoever wrote the store. Pickles (and models naming types outside their
        library) run code chosen by their writer when loaded, so they load only with
        ``trusted=True``, or when this process wrote them; data formats (``.npy``, Arrow, JSON,
        skops models of scikit-learn's own classes, torch weights) never need it.
    **loops
        Loop indices that select among the occurrences of ``name`` saved inside
        :func:`mlcontext.loop`: ``epoch=2`` is the one saved in epoch 2. Without them (or when
        several match), the last one saved.

    Returns
    -------
    object
        The stored object, as :func:`mlcontext.artifact` was given it (a path's bytes as bytes, a
        folder as its path restored into a temporary folder).

    Raises
    ------
    NotFoundError
        No such run, the run has no artifact ``name``, or none saved at the given loop indices.
    ReferenceTypeError
        ``name`` is missing and ``run`` is no ``ArtifactRef``, or ``run`` names no run.
    ArtifactCorruptedError
        The stored bytes do not match their content hash.
    UntrustedArtifactError
        Loading would run the writer's code and ``trusted`` is not ``True``.

    Examples
    --------
    >>> import mlcontext as mc, numpy as np, tempfile
    >>> mc.set_store(tempfile.mkdtemp())
    >>> with mc.run("train", project="doc") as r:
    ...     for epoch in mc.loop("epoch", range(3)):
    ...         _ = mc.artifact("w", np.full(2, epoch))
    >>> mc.load_artifact(r.id, "w", epoch=1), mc.load_artifact(r.id, "w")
    (array([1, 1]), array([2, 2]))
    >>> mc.set_store(None)

    ``run`` is a run's id, id prefix or name, a ``Run`` or a ``RunRecord``; or pass an ``ArtifactRef``
    (from ``RunRecord.artifacts``) alone. Inside a run, the read is recorded, so the artifact's
    consumers include the reading run.
    """
    store = store or get_store()
    if isinstance(run, ArtifactRef) and name is None:
        return _load(store, run, trusted, _version_of(store, run, None))
    if name is None:
        raise ReferenceTypeError("load_artifact(run, name): say which artifact of the run to load, or pass "
                                 "an ArtifactRef alone")
    record = run_in(store, run_id_ref(run), project)
    named = [ref for ref in record.artifacts if ref.name == name and ref.direction == "output"] or \
        [ref for ref in record.artifacts if ref.name == name]
    if not named:
        raise no_artifact(store, record, name, lambda run: f"mc.load_artifact({run!r}, {name!r})")
    chosen = [ref for ref in named if all(ref.context.get(k) == v for k, v in loops.items())]
    if not chosen:
        saved = sorted({tuple(sorted(ref.context.items())) for ref in named})
        raise NotFoundError(f"run {record.id[:8]} saved no {name!r} at {loops}; it saved it at "
                            f"{[dict(c) for c in saved]}")
    if trusted is None and record.user != _current_user():
        trusted = False  # recorded by someone else: their pickles never load without trusted=True
    ref = chosen[-1]
    return _load(store, ref, trusted, _version_of(store, ref, record))


def _current_user() -> str:
    from .environment import current_user  # (not capture_environment: it also lists packages)

    return current_user()


def _version_of(store: Store, ref: ArtifactRef, record: RunRecord | None) -> VersionRow | None:
    """The dataset version an artifact of a run is, as the run's record names it (``get_run`` gives
    a version the run read or registered its ``dataset``, ``version`` and, of another project,
    ``project``): that version, holding these very bytes (for an ``ArtifactRef`` alone of a name
    several projects hold, the loading run's project's); None for any other artifact. Never a
    version found by bytes alone: a model or feature matrix saved with ``mc.artifact`` is no read of
    another project's dataset that happens to hold the same bytes."""
    meta = ref.meta or {}
    name, number, where = meta.get("dataset"), meta.get("version"), meta.get("project")
    if not isinstance(name, str) or type(number) is not int:
        return None
    project = where if isinstance(where, str) else (record.project if record is not None else None)
    found = [v for v in ContextStore(store.metadata).versions(name, project)
             if v.version == number and v.artifact_hash == ref.hash]
    if len(found) > 1:  # an ArtifactRef alone, of a name several projects have in these bytes: its
        reader = active_run()  # meta names no project when it is its run's own; the reader's, if any
        found = [v for v in found if reader is not None and v.project == reader.project]
    return found[0] if len(found) == 1 else None


def _load(store: Store, ref: ArtifactRef, trusted: bool | None, version: VersionRow | None) -> Any:
    value = load_object(store.artifacts, ref, trusted=trusted)
    reader = active_run()
    if reader is None or reader.store is not store:
        return value
    # Behavioural context: who read what, recorded once it loaded (a load refused as untrusted, or of
    # corrupt bytes, read nothing, and would otherwise make the run a consumer of the model and a
    # source of its outputs).
    if version is not None:  # a dataset version: read as DatasetVersion.load reads it (its role, a
        from .datasets import _public  # test version counted as evaluated when the run finishes)

        _public(version, False, store)._record_read()
        return value
    ContextStore(store.metadata).record_access(reader.id, ref.hash, role=None, user=reader.user)
    # ... and under the name it was asked for, as the run's input (show, diff and RUN:NAME name it)
    store.metadata.add_artifact(reader.id, ref.name, ref.hash, size=ref.size, kind=ref.kind,
                                direction="input", context=ref.context)
    return value
