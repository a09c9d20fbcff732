"""Reading runs back: the run table, metric series, single runs and their artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import NotFoundError
from ..store import RunRecord, Store
from ..store.context import ContextStore
from .artifacts import load_object
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


def metrics(*names: str, project: str | None = None, run: str | Sequence[str] | None = None,
            store: Store | None = None) -> pd.DataFrame:
    """Metric values in long format, the shape of Flor's ``flor.dataframe``.

    Columns: ``run_id, run_name``, one column per :func:`mlcontext.loop` (e.g. ``epoch``, ``step``; empty
    where a value was logged outside that loop), ``name, value, time, seq``. No names: all metrics.
    """
    store = _store(store)
    run_ids = None
    if run is not None:
        refs = [run] if isinstance(run, str) else list(run)
        run_ids = [store.metadata.get_run(ref).id for ref in refs]
    return store.metadata.metrics_frame(list(names), project=project, run_ids=run_ids)


def get_run(ref: str, *, store: Store | None = None) -> RunRecord:
    """Everything recorded about a run; ``ref`` is its id, an unambiguous id prefix, or its name."""
    return _store(store).metadata.get_run(ref)


def load_artifact(run: str, name: str, *, store: Store | None = None) -> Any:
    """Load the artifact ``name`` of run ``run`` (the last one of that name), verified.

    Inside a run, the read is recorded, so the artifact's consumers include the reading run.
    """
    store = store or get_store()
    record = store.metadata.get_run(run)
    for ref in reversed(record.artifacts):
        if ref.name == name:
            reader = active_run()
            if reader is not None and reader.store is store:  # behavioural context: who read what
                ContextStore(store.metadata).record_access(reader.id, ref.hash, role=None, user=reader.user)
            return load_object(store.artifacts, ref)
    raise NotFoundError(f"run {record.id[:8]} has no artifact named {name!r}; it has "
                        f"{sorted({a.name for a in record.artifacts})}")
