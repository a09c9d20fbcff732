"""Where the stores live: environment variables and the project's ``.mlcontext/`` folder.

=====================  ==============================================================================
``MLCONTEXT_HOME``     folder holding the embedded store (``mlcontext.db`` and ``artifacts/``);
                       default: ``.mlcontext/`` at the project root (the nearest ancestor of the
                       working directory holding ``.mlcontext``, ``.git`` or ``pyproject.toml``)
``MLCONTEXT_STORE``    SQLAlchemy URL of the metadata store, e.g. ``postgresql+psycopg://u@h/db``
``MLCONTEXT_ARTIFACTS`` fsspec URL of the artifact store, e.g. ``s3://bucket/mlcontext``
=====================  ==============================================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError

__all__ = ["StoreConfig", "resolve_config", "project_root"]

_MARKERS = (".mlcontext", ".git", "pyproject.toml")


@dataclass(frozen=True)
class StoreConfig:
    """The resolved locations of the metadata store and the artifact store."""

    metadata_url: str
    artifacts_url: str


def project_root(start: Path | None = None) -> Path:
    """The nearest ancestor of ``start`` (default: the working directory) that looks like a project."""
    start = (start or Path.cwd()).resolve()
    for marker in _MARKERS:  # an existing .mlcontext wins over a .git further up
        for folder in (start, *start.parents):
            if (folder / marker).exists():
                return folder
    return start


def resolve_config(
    home: str | os.PathLike[str] | None = None,
    metadata_url: str | None = None,
    artifacts_url: str | None = None,
) -> StoreConfig:
    """Resolve store locations: explicit arguments, then environment variables, then defaults."""
    env_home = os.environ.get("MLCONTEXT_HOME")
    base = Path(home or env_home or project_root() / ".mlcontext").expanduser()
    url = metadata_url or os.environ.get("MLCONTEXT_STORE") or f"sqlite:///{base / 'mlcontext.db'}"
    try:
        make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"MLCONTEXT_STORE={url!r} is not a SQLAlchemy URL "
            "(expected e.g. sqlite:///path/to.db or postgresql+psycopg://user@host/db)"
        ) from exc
    artifacts = artifacts_url or os.environ.get("MLCONTEXT_ARTIFACTS") or str(base / "artifacts")
    return StoreConfig(metadata_url=url, artifacts_url=artifacts)
