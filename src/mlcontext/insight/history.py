"""History: the transformations applied to a dataset (and its earlier versions) by anyone, counted.

"I've seen this problem before": every edge out of a version of the dataset that carries a lineage log
(a dataset derived from it, a model fitted or evaluated on it: ``lineage``, ``fit`` and ``evaluate``
edges alike; a ``run`` edge says no operation) lists the operations done to it, as the lineage graph
shows them (:func:`~.operations.edge_operations`: only that edge's own, not those of a registered
dataset derived on the way). They are grouped across runs and people ("filter duration >= 0 — applied
in 14 runs by 3 people").
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import exists, select

from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..store.frames import HISTORY, typed_empty
from ..tracking.dataset_refs import dataset_of
from ..tracking.stores import get_store
from .graph import operations_of

__all__ = ["history"]

MAX_EDGES = 2000


def history(name: Any, *, project: str | None = None, store: Store | None = None) -> pd.DataFrame:
    """Transformations applied to any version of dataset ``name`` by runs of its project or runs that
    read one of its versions, most applied first (a run of another project that read byte-identical
    data of its own is that project's history).

    Parameters
    ----------
    name : str or DatasetVersion
        The dataset (any version of it is asked about): ``NAME``, ``NAME@VERSION``, a content hash
        or a ``DatasetVersion``, each naming its dataset.
    project : str, optional
        The project of a dataset name that exists in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        Columns ``transformation``, ``runs`` (how many runs applied it), ``people`` (how many
        users), ``users`` (who), ``versions`` (which versions it was applied to), ``first`` and
        ``last`` (when); empty, with these columns, for a dataset nobody transformed.

    Raises
    ------
    NotFoundError
        ``name`` names no dataset (no such name, version or hash); the message says what to pass.
    AmbiguousReferenceError
        The name exists in several projects and ``project`` is not given.
    ReferenceTypeError
        ``name`` names no dataset.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = mc.dataset(pd.DataFrame({"x": [1.0, None, 3.0]}), "raw", project="doc")
    >>> with mc.run("clean", project="doc"):
    ...     clean = mc.dataset(raw.frame().dropna(), "clean", project="doc")
    >>> mc.history("raw", project="doc")[["transformation", "runs", "versions"]]
      transformation  runs versions
    0         dropna     1  [raw@1]
    """
    store = store or get_store()
    name, project = dataset_of(store, name, project)
    context = ContextStore(store.metadata)
    versions = context.versions(name, project)
    by_hash = {v.artifact_hash: v.ref for v in versions}
    if not by_hash:
        return typed_empty(HISTORY)
    ours = {v.id for v in versions}
    # Versions of other datasets with the same bytes: a run of this project that read one of those
    # (mirror's twin of raw) used that dataset, not this one.
    twins = [v.id for held in context.all_versions_by_hash(by_hash).values() for v in held
             if v.id not in ours]
    # Runs that read one of these very versions, and runs of this project that read no twin of them:
    # another project's run that read byte-identical data of its own is that project's history, and
    # so is a run of this project that read that other dataset.
    # (a reader's edge counts from the bytes it read: a run that read clean@2 and raw@1 = clean@1's
    # bytes fitted on raw, which is not clean@1's history)
    read_here = exists().where(t.Access.run_id == t.Edge.run_id, t.Access.version_id.in_(sorted(ours)),
                               t.Access.artifact_hash == t.Edge.src_hash)
    # ... and runs that made one of these versions (registered it as their output): a run that read
    # raw@1 and made clean@1 with the same bytes (a filter that removed nothing) split clean@1 too.
    # (the edge's source is the very bytes that run registered as this dataset: a run that made
    # clean@2 from raw@1 = clean@1 did nothing to clean@1)
    made_here = exists().where(t.RunArtifact.run_id == t.Edge.run_id, t.RunArtifact.direction == "output",
                               t.RunArtifact.name == name, t.RunArtifact.artifact_hash == t.Edge.src_hash)
    twin_readers = select(t.Access.run_id).where(t.Access.version_id.in_(twins))
    ours_or_own = read_here | ((t.Project.name == project) & made_here) | (
        (t.Project.name == project) & t.Edge.run_id.not_in(twin_readers))
    with store.metadata.read() as conn:
        edges = conn.execute(
            select(t.Edge.src_hash, t.Edge.run_id, t.Edge.log_hash, t.Run.user, t.Run.started_at,
                   t.Edge.dst_hash)
            .join(t.Run, t.Run.id == t.Edge.run_id)
            .join(t.Project, t.Project.id == t.Run.project_id)
            .where(t.Edge.src_hash.in_(list(by_hash)), t.Edge.log_hash.is_not(None), ours_or_own)
            .order_by(t.Edge.time.desc(), t.Edge.id.desc()).limit(MAX_EDGES)).all()
    rows = [(step, run_id, user, by_hash[src], started)
            for src, run_id, log_hash, user, started, dst in edges
            for step in dict.fromkeys(operations_of(store, log_hash, src, dst) if log_hash else ())]
    if not rows:
        return typed_empty(HISTORY)
    frame = pd.DataFrame(rows, columns=["transformation", "run_id", "user", "version", "time"])
    grouped = frame.groupby("transformation", sort=False).agg(
        runs=("run_id", "nunique"), people=("user", "nunique"),
        users=("user", lambda s: sorted(set(s))), versions=("version", lambda s: sorted(set(s))),
        first=("time", "min"), last=("time", "max")).reset_index()
    for column in ("first", "last"):
        grouped[column] = pd.to_datetime(grouped[column], unit="s", utc=True)
    return grouped.sort_values(["runs", "people"], ascending=False, kind="stable").reset_index(drop=True)
