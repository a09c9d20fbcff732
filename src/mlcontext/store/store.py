"""A store: one metadata store and one artifact store, opened together."""

from __future__ import annotations

import os

from ..errors import UsageError
from .artifacts import ArtifactStore
from .config import StoreConfig, claim_home, resolve_config
from .metadata import MetadataStore

__all__ = ["Store"]


class Store:
    """The pair of stores a project records into: the metadata store (SQL) and the artifact store.

    Open one with :meth:`open`; make it the default with :func:`mlcontext.set_store`, or pass it as
    ``store=`` to the functions that read or record.

    Parameters
    ----------
    metadata : MetadataStore
        Runs, params, metrics, datasets, lineage edges (SQLite or PostgreSQL).
    artifacts : ArtifactStore
        Content-addressed bytes on any fsspec file system.

    Examples
    --------
    >>> import tempfile
    >>> store = mc.Store.open(home=tempfile.mkdtemp())
    >>> store.metadata.dialect
    'sqlite'
    >>> store.close()
    """

    def __init__(self, metadata: MetadataStore, artifacts: ArtifactStore) -> None:
        self.metadata = metadata
        self.artifacts = artifacts

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None, *, metadata_url: str | None = None,
             artifacts_url: str | None = None) -> Store:
        """Open (creating if needed) the stores named by the arguments or the environment.

        Parameters
        ----------
        home : str or path, optional
            The folder of an embedded store (``mlcontext.db`` and ``artifacts/``).
        metadata_url : str, optional
            A SQLAlchemy URL, e.g. ``postgresql+psycopg://user@host/db``.
        artifacts_url : str, optional
            An fsspec URL, e.g. ``s3://bucket/mlcontext``.

        Returns
        -------
        Store
            The opened store (close it with :meth:`close`).

        Raises
        ------
        ConfigError
            ``metadata_url`` is not a SQLAlchemy URL.
        UsageError
            ``home`` is not a path.
        SchemaOutdatedError
            The store was made by another version of mlcontext.

        Examples
        --------
        >>> import tempfile
        >>> store = mc.Store.open(home=tempfile.mkdtemp())
        >>> store.metadata.dialect
        'sqlite'
        >>> store.close()
        """
        if not (home is None or isinstance(home, str | os.PathLike)):
            raise UsageError(f"home must be a folder (str or path), got {type(home).__name__}: {home!r}")
        for url, what in ((metadata_url, "metadata_url"), (artifacts_url, "artifacts_url")):
            if not (url is None or isinstance(url, str)):
                raise UsageError(f"{what} must be a URL string, got {type(url).__name__}: {url!r}")
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
