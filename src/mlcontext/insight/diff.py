"""Semantic diff of two dataset versions, two models or two runs, never of their bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..errors import AmbiguousReferenceError, NotFoundError, ReferenceTypeError
from ..store import ArtifactRef, Store
from ..store import schema as t
from ..store.context import ContextStore
from ..tracking.datasets import DatasetVersion, dataset_version
from ..tracking.derivation import plain_value
from ..tracking.queries import load_artifact
from ..tracking.refs import is_dataset_version, is_run
from ..tracking.stores import get_store
from .drift import DriftReport, drift
from .refs import describe_hashes, resolve_artifact
from .rundiff import RunDiff, diff_runs

__all__ = ["DatasetDiff", "ModelDiff", "diff", "diff_datasets", "diff_models"]


@dataclass(frozen=True)
class DatasetDiff:
    """Two versions of data compared by schema, size and per-column distributions."""

    a: str
    b: str
    rows: tuple[int, int]
    drift: DriftReport

    @property
    def summary(self) -> str:
        change = self.rows[1] - self.rows[0]
        rows = f"rows {self.rows[0]} -> {self.rows[1]} ({change:+d})"
        return f"{self.a} -> {self.b}: {rows}; {self.drift.verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "rows": list(self.rows), "summary": self.summary,
                "drift": self.drift.to_dict()}


@dataclass(frozen=True)
class ModelDiff:
    """Two models compared by class, hyper-parameters, scores and training data."""

    a: str
    b: str
    classes: tuple[str | None, str | None]
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    training_data: tuple[list[str], list[str]] = ([], [])

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "classes": list(self.classes), "params": self.params,
                "metrics": self.metrics, "training_data": [list(x) for x in self.training_data]}


def diff_datasets(a: DatasetVersion, b: DatasetVersion, **options: Any) -> DatasetDiff:
    """Compare two dataset versions; ``options`` are :func:`~.drift.drift`'s (``rule``, ``alpha`` ...)."""
    return DatasetDiff(a.ref, b.ref, (a.rows or 0, b.rows or 0), drift(a.load(), b.load(), **options))


def diff_models(store: Store, a: Any, b: Any) -> ModelDiff:
    """Compare the models ``a`` and ``b`` (``RUN:NAME``, artifact hashes or ``ArtifactRef``)."""
    sides = [_model_side(store, ref) for ref in (a, b)]
    (label_a, meta_a, run_a, hash_a), (label_b, meta_b, run_b, hash_b) = sides
    params = _changed(meta_a.get("params", {}), meta_b.get("params", {}))
    metrics = _changed(dict(run_a.metrics) if run_a else {}, dict(run_b.metrics) if run_b else {})
    return ModelDiff(label_a, label_b, (meta_a.get("model_class"), meta_b.get("model_class")), params,
                     metrics, (_training_data(store, run_a, hash_a), _training_data(store, run_b, hash_b)))


def diff(a: Any, b: Any, *, project: str | None = None, store: Store | None = None,
         **drift_options: Any) -> DatasetDiff | ModelDiff | RunDiff:
    """Compare two dataset versions, two models or two runs, by meaning rather than bytes.

    Parameters
    ----------
    a, b : two references of the same kind: dataset versions (``"trips@1"``, a ``DatasetVersion``),
        models (``"RUN:NAME"``, an ``ArtifactRef``) or runs (an id, prefix or name, a ``Run``, a
        ``RunRecord``). A text that could name both a dataset and a run is refused as ambiguous.
    project : the project of dataset names that exist in several projects.
    drift_options : for datasets, :func:`~.drift.drift`'s ``rule``, ``alpha``, ``psi_threshold``,
        ``ks_threshold``, ``null_threshold`` and ``sample_size``.

    Raises
    ------
    NotFoundError
        A side names nothing (the message says what was looked for).
    AmbiguousReferenceError
        A name exists in several projects, or names both a dataset and a run.
    ReferenceTypeError
        The two sides are of different kinds, or not references at all.
    """
    store = store or get_store()
    left, right = (_side(store, x, project) for x in (a, b))
    if left[0] != right[0]:
        raise ReferenceTypeError(f"cannot compare {left[0]} {_label(a)} with {right[0]} {_label(b)}: "
                                 "diff compares two dataset versions, two models or two runs")
    if left[0] == "model":
        return diff_models(store, left[1], right[1])
    if left[0] == "run":
        return diff_runs(store, left[1], right[1])
    return diff_datasets(left[1], right[1], **drift_options)


def _label(ref: Any) -> str:
    return repr(ref) if isinstance(ref, str) else type(ref).__name__


def _side(store: Store, ref: Any, project: str | None) -> tuple[str, Any]:
    """``(kind, object)`` that ``ref`` names: a dataset version, a run record or a model reference."""
    if is_dataset_version(ref):
        return "dataset version", dataset_version(ref, store=store)
    if is_run(ref):
        return "run", store.metadata.get_run(ref.id)
    if isinstance(ref, ArtifactRef):
        return "model", ref
    if not isinstance(ref, str):
        raise ReferenceTypeError(f"diff() takes names or the objects the API returns (DatasetVersion, Run, "
                                 f"RunRecord, ArtifactRef), not a {type(ref).__name__}")
    if ":" in ref:
        return "model", ref
    return _lookup(store, ref, project)


def _lookup(store: Store, ref: str, project: str | None) -> tuple[str, Any]:
    """Look ``ref`` up as a dataset version and as a run; exactly one must be found.

    Only *absence* (NotFoundError) lets the other reading win: any other error (an ambiguous project, an
    ambiguous id prefix) is the answer, and when both are absent both reasons are given.
    """
    found: list[tuple[str, Any]] = []
    missing: list[str] = []
    for kind, look in (("dataset version", lambda: dataset_version(ref, project=project, store=store)),
                       ("run", lambda: store.metadata.get_run(ref))):
        try:
            found.append((kind, look()))
        except NotFoundError as exc:
            missing.append(str(exc))
    if not found:
        raise NotFoundError(f"{ref!r} names no dataset version and no run: " + "; ".join(missing))
    if len(found) > 1:
        version, record = found[0][1], found[1][1]
        raise AmbiguousReferenceError(
            f"{ref!r} names both dataset version {version.ref} (project {version.project}) and run "
            f"{record.id[:8]} ({record.project}/{record.name}); write the run's id to mean the run")
    return found[0]


def _model_side(store: Store, ref: Any) -> tuple[str, dict[str, Any], Any, str]:
    resolved = resolve_artifact(store, ref)
    info = store.metadata.artifact_info(resolved.hash)
    meta = info[2] if info else {}
    run = store.metadata.get_run(ref.partition(":")[0]) if isinstance(ref, str) and ":" in ref else None
    return resolved.label, meta, run, resolved.hash


def _training_data(store: Store, run: Any, digest: str) -> list[str]:
    """What the model ``digest`` was fitted on: the sources of its ``fit`` edges (those ``run``
    recorded, when it is known); without them (an untraced fit) the versions ``run`` read for
    training."""
    fits = [e[0] for e in ContextStore(store.metadata).neighbours([digest], upstream=True)
            if e[3] == "fit" and (run is None or e[2] == run.id)]
    if fits:
        return sorted(set(describe_hashes(store, fits).values()))
    if run is None:
        return []
    with store.metadata.read() as conn:
        ids = list(conn.execute(select(t.Access.version_id).where(
            t.Access.run_id == run.id, t.Access.version_id.is_not(None),
            t.Access.role.in_(["train", "validation"]) | t.Access.role.is_(None))).scalars())
    context = ContextStore(store.metadata)
    by_id = {}
    for name in {v for v in _dataset_names(store, ids)}:
        for version in context.versions(name):
            by_id[version.id] = version.ref
    return sorted({by_id[i] for i in ids if i in by_id})


def _dataset_names(store: Store, version_ids: list[int]) -> list[str]:
    if not version_ids:
        return []
    with store.metadata.read() as conn:
        return list(conn.execute(select(t.Dataset.name).join(
            t.DatasetVersion, t.DatasetVersion.dataset_id == t.Dataset.id)
            .where(t.DatasetVersion.id.in_(version_ids)).distinct()).scalars())


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
            if k not in a or k not in b or not _same(a[k], b[k])}


def _same(x: Any, y: Any) -> bool:
    try:
        return bool(x == y) or (x != x and y != y)  # NaN == NaN for this purpose
    except (TypeError, ValueError):
        return False


def drift_of(reference: Any, current: Any, *, project: str | None = None, store: Store | None = None,
             **options: Any) -> DriftReport:
    """:func:`~.drift.drift` that also takes dataset references for either side.

    Each side is a DataFrame (or traced frame), a dataset reference (``"trips@1"``, a content hash), a
    ``DatasetVersion``, or an ``ArtifactRef`` of a stored frame. ``options`` are :func:`~.drift.drift`'s.
    """
    return drift(_frame(reference, project, store), _frame(current, project, store), **options)


def _frame(x: Any, project: str | None, store: Store | None) -> Any:
    if isinstance(x, str) or is_dataset_version(x):
        return dataset_version(x, project=project, store=store or get_store()).load()
    if isinstance(x, ArtifactRef):
        return load_artifact(x, store=store)
    return plain_value(x)
