"""Reading runs back: the run table, metric series, single runs and their artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import NotFoundError, ReferenceTypeError
from ..store import ArtifactRef, RunRecord, Store
from ..store.context import ContextStore
from .artifacts import load_object
from .refs import run_id_ref
from .run import active_run, reap_dead_runs
from .stores import get_store

__all__ = ["runs", "metrics", "get_run", "load_artifact"]


def _store(store: Store | None) -> Store:
    store = store or get_store()
    current = active_run()
    if current is not None and current.store is store:
        current.flush()  # a query in the middle of a run sees what the run has logged so far
    reap_dead_runs(store)
    return store


def runs(project: str | None = None, *, name: str | Sequence[str] | None = None, status: str | None = None,
         user: str | None = None, limit: int | None = None, store: Store | None = None) -> pd.DataFrame:
    """One row per run, newest first.

    Columns: ``id, project, name, status, user, host, git_commit, git_dirty, start, duration``, then
    ``param.<name>`` for every param and ``metric.<name>`` (the last value logged) for every metric.
    """
    names = [name] if isinstance(name, str) else name
    return _store(store).metadata.runs_frame(project, names=names, status=status, user=user, limit=limit)


def metrics(*names: str, project: str | None = None, run: Any = None,
            store: Store | None = None) -> pd.DataFrame:
    """Metric values in long format, the shape of Flor's ``flor.dataframe``.

    Columns: ``run_id, run_name``, one column per :func:`mlcontext.loop` (e.g. ``epoch``, ``step``; empty
    where a value was logged outside that loop), ``name, value, time, seq``. No names: all metrics.
    ``run`` is one run (id, prefix, name, ``Run`` or ``RunRecord``) or a sequence of them.
    """
    store = _store(store)
    run_ids = None
    if run is not None:
        refs = [run] if isinstance(run, str) or not isinstance(run, Sequence) else list(run)
        run_ids = [store.metadata.get_run(run_id_ref(ref)).id for ref in refs]
    return store.metadata.metrics_frame(list(names), project=project, run_ids=run_ids)


def get_run(ref: Any, *, store: Store | None = None) -> RunRecord:
    """Everything recorded about a run; ``ref`` is its id, an unambiguous id prefix, its name, a ``Run``
    or a ``RunRecord`` (read again: a record returned earlier shows the run as it was then)."""
    return _store(store).metadata.get_run(run_id_ref(ref))


def load_artifact(run: Any, name: str | None = None, *, store: Store | None = None) -> Any:
    """Load the artifact ``name`` of run ``run`` (the last one of that name), verified.

    ``run`` is a run's id, id prefix or name, a ``Run`` or a ``RunRecord``; or pass an ``ArtifactRef``
    (from ``RunRecord.artifacts``) alone. Inside a run, the read is recorded, so the artifact's
    consumers include the reading run.
    """
    store = store or get_store()
    if isinstance(run, ArtifactRef) and name is None:
        return _load(store, run)
    if name is None:
        raise ReferenceTypeError("load_artifact(run, name): say which artifact of the run to load, or pass "
                                 "an ArtifactRef alone")
    record = store.metadata.get_run(run_id_ref(run))
    for ref in reversed(record.artifacts):
        if ref.name == name:
            return _load(store, ref)
    raise NotFoundError(f"run {record.id[:8]} has no artifact named {name!r}; it has "
                        f"{sorted({a.name for a in record.artifacts})}")


def _load(store: Store, ref: ArtifactRef) -> Any:
    reader = active_run()
    if reader is not None and reader.store is store:  # behavioural context: who read what
        ContextStore(store.metadata).record_access(reader.id, ref.hash, role=None, user=reader.user)
    return load_object(store.artifacts, ref)
