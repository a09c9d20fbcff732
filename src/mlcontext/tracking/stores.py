"""Which store runs record into: the default one from the environment, or one set explicitly."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..store import Store, StoreConfig, resolve_config

__all__ = ["get_store", "set_store", "use_store"]

_lock = threading.Lock()
_explicit: Store | None = None
_opened: dict[StoreConfig, Store] = {}


def get_store() -> Store:
    """The store in use: the one given to :func:`set_store`, else the one the environment names."""
    if _explicit is not None:
        return _explicit
    config = resolve_config()
    with _lock:
        if config not in _opened:
            _opened[config] = Store.from_config(config)
        return _opened[config]


def set_store(store: Store | str | os.PathLike[str] | None) -> None:
    """Record into ``store`` (a :class:`Store`, or a folder for an embedded store); ``None`` resets."""
    global _explicit
    _explicit = store if store is None or isinstance(store, Store) else Store.open(home=store)


@contextmanager
def use_store(store: Store | str | os.PathLike[str]) -> Iterator[Store]:
    """Record into ``store`` inside the ``with`` block."""
    global _explicit
    previous = _explicit
    set_store(store)
    try:
        yield get_store()
    finally:
        _explicit = previous
