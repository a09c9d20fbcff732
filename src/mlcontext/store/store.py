"""A store: one metadata store and one artifact store, opened together."""

from __future__ import annotations

import os

from .artifacts import ArtifactStore
from .config import StoreConfig, claim_home, resolve_config
from .metadata import MetadataStore

__all__ = ["Store"]


class Store:
    """The pair of stores a project records into.

    Examples
    --------
    >>> import tempfile
    >>> store = Store.open(home=tempfile.mkdtemp())
    >>> store.metadata.dialect
    'sqlite'
    """

    def __init__(self, metadata: MetadataStore, artifacts: ArtifactStore) -> None:
        self.metadata = metadata
        self.artifacts = artifacts

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None, *, metadata_url: str | None = None,
             artifacts_url: str | None = None) -> Store:
        """Open (creating if needed) the stores named by the arguments or the environment."""
        config = resolve_config(home, metadata_url, artifacts_url)
        return cls.from_config(config)

    @classmethod
    def from_config(cls, config: StoreConfig) -> Store:
        if config.home is not None:
            claim_home(config.home)
        return cls(MetadataStore(config.metadata_url), ArtifactStore(config.artifacts_url))

    def __repr__(self) -> str:
        return f"Store({self.metadata!r}, {self.artifacts!r})"

    def close(self) -> None:
        self.metadata.close()
