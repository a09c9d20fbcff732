"""The store layer: the metadata store (SQL) and the content-addressed artifact store (fsspec)."""

from __future__ import annotations

from .artifacts import ArtifactStore
from .config import StoreConfig, project_root, resolve_config
from .metadata import MetadataStore
from .records import ArtifactRef, MetricPoint, RunRecord, RunStatus
from .store import Store

__all__ = [
    "ArtifactStore",
    "MetadataStore",
    "Store",
    "StoreConfig",
    "resolve_config",
    "project_root",
    "ArtifactRef",
    "MetricPoint",
    "RunRecord",
    "RunStatus",
]
