"""Where the stores live: environment variables and the project's ``.mlcontext/`` folder.

=====================  ==============================================================================
``MLCONTEXT_HOME``     folder holding the embedded store (``mlcontext.db`` and ``artifacts/``);
                       default: ``.mlcontext/`` at the project root (the nearest ancestor of the
                       working directory holding ``.mlcontext``, ``.git`` or ``pyproject.toml``)
``MLCONTEXT_STORE``    SQLAlchemy URL of the metadata store, e.g. ``postgresql+psycopg://u@h/db``
``MLCONTEXT_ARTIFACTS`` fsspec URL of the artifact store, e.g. ``s3://bucket/mlcontext``
=====================  ==============================================================================

The embedded store's folder ignores itself: opening it writes a ``.gitignore`` holding ``*`` inside it
(as virtual environments do), so git, and with it code capture, never sees the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError

__all__ = ["StoreConfig", "resolve_config", "project_root", "claim_home"]

_MARKERS = (".mlcontext", ".git", "pyproject.toml")


@dataclass(frozen=True)
class StoreConfig:
    """The resolved locations of the metadata store and the artifact store."""

    metadata_url: str
    artifacts_url: str
    #: The embedded store's local folder when the metadata or the artifacts are kept in it.
    home: str | None = None


def project_root(start: Path | None = None) -> Path:
    """The nearest ancestor of ``start`` (default: the working directory) that looks like a project.

    The nearest folder holding any marker (``.mlcontext``, ``.git``, ``pyproject.toml``) wins: a
    ``.mlcontext`` somebody left in an ancestor (the system's temporary folder, the home folder) must
    not capture a project that a nearer ``.git`` marks. ``start`` itself when no folder has a marker.
    """
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in _MARKERS):
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
    uses_home = url == f"sqlite:///{base / 'mlcontext.db'}" or artifacts == str(base / "artifacts")
    return StoreConfig(metadata_url=url, artifacts_url=artifacts, home=str(base) if uses_home else None)


def claim_home(home: str | os.PathLike[str]) -> None:
    """Create the store's folder and make git ignore it: a ``.gitignore`` holding ``*`` inside.

    Written only where the folder is the store's own: new, empty, named ``.mlcontext`` or already
    holding a store (a ``MLCONTEXT_HOME`` pointing at a folder of the user's is left alone). An
    existing ``.gitignore`` is never replaced. Failing to write it (a read-only folder) is not an
    error: code capture excludes ``.mlcontext`` folders by name as well.
    """
    folder = Path(home)
    try:
        owned = (not folder.exists() or folder.name == ".mlcontext" or not any(folder.iterdir())
                 or (folder / "mlcontext.db").exists())
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if owned and not ignore.exists():
            ignore.write_text("# created by mlcontext: the store is not part of the project's code\n*\n")
    except OSError:
        return
