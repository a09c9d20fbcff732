"""Semantic diff of two dataset versions, two models or two runs, never of their bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select

from ..errors import NotFoundError
from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..tracking.datasets import DatasetVersion, dataset_version
from ..tracking.stores import get_store
from .drift import DriftReport, drift
from .refs import resolve_artifact
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


def diff_datasets(a: DatasetVersion, b: DatasetVersion) -> DatasetDiff:
    return DatasetDiff(a.ref, b.ref, (a.rows or 0, b.rows or 0), drift(a.load(), b.load()))


def diff_models(store: Store, a: str, b: str) -> ModelDiff:
    """Compare the models ``a`` and ``b`` (``RUN:NAME`` or artifact hashes)."""
    sides = [_model_side(store, ref) for ref in (a, b)]
    (label_a, meta_a, run_a), (label_b, meta_b, run_b) = sides
    params = _changed(meta_a.get("params", {}), meta_b.get("params", {}))
    metrics = _changed(dict(run_a.metrics) if run_a else {}, dict(run_b.metrics) if run_b else {})
    return ModelDiff(label_a, label_b, (meta_a.get("model_class"), meta_b.get("model_class")), params,
                     metrics, (_training_data(store, run_a), _training_data(store, run_b)))


def diff(a: str, b: str, *, project: str | None = None,
         store: Store | None = None) -> DatasetDiff | ModelDiff | RunDiff:
    """Compare two dataset versions (``trips@1 trips@2``), two models (``RUN:NAME``) or two runs."""
    store = store or get_store()
    if ":" in a and ":" in b:
        return diff_models(store, a, b)
    try:
        left, right = dataset_version(a, project=project, store=store), dataset_version(b, project=project,
                                                                                         store=store)
    except NotFoundError:
        return diff_runs(store, store.metadata.get_run(a), store.metadata.get_run(b))
    return diff_datasets(left, right)


def _model_side(store: Store, ref: str) -> tuple[str, dict[str, Any], Any]:
    resolved = resolve_artifact(store, ref)
    info = store.metadata.artifact_info(resolved.hash)
    meta = info[2] if info else {}
    run = store.metadata.get_run(ref.partition(":")[0]) if ":" in ref else None
    return resolved.label, meta, run


def _training_data(store: Store, run: Any) -> list[str]:
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
    """:func:`~.drift.drift` that also takes dataset refs (``"trips@1"``) for either side."""
    store_ = store

    def frame(x: Any) -> pd.DataFrame:
        if isinstance(x, str):
            return dataset_version(x, project=project, store=store_ or get_store()).load()
        if isinstance(x, DatasetVersion):
            return x.load()
        return getattr(x, "_value", x)

    return drift(frame(reference), frame(current), **options)
