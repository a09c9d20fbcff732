"""Which store runs record into: the default one from the environment, or one set explicitly."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import NotFoundError, UsageError
from ..store import Store, resolve_config
from .state import STATE

__all__ = ["get_store", "set_store", "use_store", "known_project", "unknown_project"]

_lock = threading.Lock()  # STATE.opened


def get_store() -> Store:
    """The store in use: the one given to :func:`set_store`, else the one the environment names.

    Without either, the embedded store in ``.mlcontext/`` at the project root (the nearest folder
    holding ``.mlcontext``, ``.git`` or ``pyproject.toml``); ``MLCONTEXT_HOME``, ``MLCONTEXT_STORE``
    and ``MLCONTEXT_ARTIFACTS`` name others (``docs/getting-started.md``).

    Returns
    -------
    Store
        Opened once per location and kept open for the process.

    Raises
    ------
    ConfigError
        ``MLCONTEXT_STORE`` is not a SQLAlchemy URL.
    SchemaOutdatedError
        The store was made by another version of mlcontext (``mlcontext db upgrade`` upgrades it).

    Examples
    --------
    >>> import tempfile
    >>> mc.set_store(tempfile.mkdtemp())
    >>> mc.get_store().metadata.dialect
    'sqlite'
    """
    explicit = STATE.explicit_store
    if explicit is not None:
        return explicit
    config = resolve_config()
    with _lock:
        opened = STATE.opened
        if config not in opened:
            opened[config] = Store.from_config(config)
        return opened[config]


def set_store(store: Store | str | os.PathLike[str] | None) -> None:
    """Record into ``store`` from now on; ``None`` goes back to the store the environment names.

    Parameters
    ----------
    store : Store, str, path or None
        A :class:`Store`, or the folder of an embedded store (created if needed).

    Raises
    ------
    UsageError
        ``store`` is none of these.
    StoreError
        The folder cannot hold a store.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> mc.set_store(folder)
    >>> with mc.run("fit", project="doc"):
    ...     mc.log("loss", 0.5)
    >>> len(mc.runs("doc"))
    1
    >>> mc.set_store(None)
    """
    if not (store is None or isinstance(store, Store | str | os.PathLike)):
        raise UsageError(f"set_store() takes a Store, a folder (str or path) or None, got "
                         f"{type(store).__name__}: {store!r}")
    STATE.explicit_store = store if store is None or isinstance(store, Store) else Store.open(home=store)


@contextmanager
def use_store(store: Store | str | os.PathLike[str]) -> Iterator[Store]:
    """Record into ``store`` inside the ``with`` block; the store in use before comes back after it.

    Parameters
    ----------
    store : Store, str or path
        A :class:`Store`, or the folder of an embedded store (created if needed).

    Yields
    ------
    Store
        The store in use inside the block.

    Raises
    ------
    UsageError
        ``store`` is neither a :class:`Store` nor a folder.

    Examples
    --------
    >>> import tempfile
    >>> with mc.use_store(tempfile.mkdtemp()) as store:
    ...     with mc.run("fit", project="doc"):
    ...         mc.log("loss", 0.5)
    ...     len(mc.runs("doc"))
    1
    """
    previous = STATE.explicit_store
    set_store(store)
    try:
        yield get_store()
    finally:
        STATE.explicit_store = previous


def known_project(store: Store, project: str | None) -> None:
    """Refuse a ``project`` that names no project of ``store``, where a query would filter by it and
    answer an empty table of a typo (``mc.runs(project="chrun")``): the message lists the projects
    that exist, the closest first.

    Raises
    ------
    NotFoundError
        No project is called ``project``.
    """
    missing = unknown_project(store, project)
    if missing is not None:
        raise NotFoundError(missing)


def unknown_project(store: Store, project: str | None) -> str | None:
    """Why ``project`` names no project of ``store`` (the projects that exist, the closest first),
    or ``None`` when it does or is ``None``."""
    if project is None:
        return None
    from ..checks import did_you_mean

    projects = store.metadata.projects()
    if project in projects:
        return None
    listed = ", ".join(projects) if projects else "none yet"
    if not project:
        return f"the project name is empty: give one (projects: {listed}), or none for every project"
    same_letters = [p for p in projects if p.lower() == project.lower()]  # (-p WINE for wine)
    close = f"did you mean {same_letters[0]!r}?" if same_letters else did_you_mean(project, projects)
    said = f": {close}" if close else ""
    return f"no project {project!r}{said} (projects: {listed})"
