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


def load_artifact(run: Any, name: str | None = None, *, store: Store | None = None,
                  trusted: bool | None = None, **loops: int) -> Any:
    """Load the artifact ``name`` of run ``run``, verified, as the object it was stored from.

    Parameters
    ----------
    run, name
        The run (its id, id prefix or name, a ``Run`` or a ``RunRecord``) and the artifact's name;
        or an ``ArtifactRef`` (from ``RunRecord.artifacts``) alone.
    trusted
        Whether you trust whoever wrote the store. Pickles (and models naming types outside their
        library) run code chosen by their writer when loaded, so they load only with
        ``trusted=True``, or when this process wrote them; data formats (``.npy``, Arrow, JSON,
        skops models of scikit-learn's own classes, torch weights) never need it.
    **loops
        Loop indices that select among the occurrences of ``name`` saved inside
        :func:`mlcontext.loop`: ``epoch=2`` is the one saved in epoch 2. Without them (or when
        several match), the last one saved.

    Raises
    ------
    NotFoundError
        The run has no artifact ``name``, or none saved at the given loop indices.
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
        return _load(store, run, trusted)
    if name is None:
        raise ReferenceTypeError("load_artifact(run, name): say which artifact of the run to load, or pass "
                                 "an ArtifactRef alone")
    record = store.metadata.get_run(run_id_ref(run))
    named = [ref for ref in record.artifacts if ref.name == name and ref.direction == "output"] or \
        [ref for ref in record.artifacts if ref.name == name]
    if not named:
        raise NotFoundError(f"run {record.id[:8]} has no artifact named {name!r}; it has "
                            f"{sorted({a.name for a in record.artifacts})}")
    chosen = [ref for ref in named if all(ref.context.get(k) == v for k, v in loops.items())]
    if not chosen:
        saved = sorted({tuple(sorted(ref.context.items())) for ref in named})
        raise NotFoundError(f"run {record.id[:8]} saved no {name!r} at {loops}; it saved it at "
                            f"{[dict(c) for c in saved]}")
    if trusted is None and record.user != _current_user():
        trusted = False  # recorded by someone else: their pickles never load without trusted=True
    return _load(store, chosen[-1], trusted)


def _current_user() -> str:
    from .environment import capture_environment

    return capture_environment().user


def _load(store: Store, ref: ArtifactRef, trusted: bool | None) -> Any:
    reader = active_run()
    if reader is not None and reader.store is store:  # behavioural context: who read what
        ContextStore(store.metadata).record_access(reader.id, ref.hash, role=None, user=reader.user)
    return load_object(store.artifacts, ref, trusted=trusted)
