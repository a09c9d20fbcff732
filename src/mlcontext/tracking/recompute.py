"""Recompute with the store behind it: leaves not passed in are looked up in the artifact store, and
while a run is active the plain arrays a lineage log cannot hold are kept there."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import MLContextWarning, StoreError
from ..lineage import recompute as recompute_lineage
from ..lineage.leaves import set_array_sink
from ..store import Store
from .artifacts import array_resolver, store_object
from .stores import get_store

__all__ = ["recompute", "LeafStore"]

LEAF_ARTIFACT = "lineage-leaf"  # the name stored plain arrays are recorded under


def recompute(lineage: Any, inputs: Mapping[str, Any] | None = None,
              resolver: Callable[[str], Any] | None = None, *, store: Store | None = None,
              trusted: bool = False, max_bytes: int | None = None,
              max_nodes: int | None = None) -> Any:
    """Reproduce the value(s) a lineage log describes, bit for bit, as plain NumPy computes them.

    (A value traced under the ``"hybrid"`` reuse policy may have been computed block by block, to
    floating-point tolerance: its recompute is plain NumPy's value; see ``docs/lineage.md``.)

    Leaves come from the log itself (small arrays, constants by their constructor), from ``inputs``
    (by leaf name or content hash), then from ``resolver``, which defaults to the artifact store:
    arrays saved with :func:`mlcontext.artifact`, and plain arrays traced while a run was active,
    are found by their content hash without being passed. The store is opened only if a leaf is
    missing. ``trusted``, ``max_bytes`` and ``max_nodes`` are those of
    :func:`mlcontext.lineage.recompute`.

    Parameters
    ----------
    lineage : str, bytes, Item or traced value
        Log text from :func:`mlcontext.lineage.dumps` (or its UTF-8 bytes, as
        :func:`mlcontext.load_artifact` returns a stored log), a lineage item, or a traced value.
    inputs : mapping, optional
        Leaf values by leaf name or content hash; functions (``apply``, ``map`` ...) by their
        qualified name.
    resolver : callable, optional
        ``content_hash -> ndarray or None`` for leaves found neither in the log nor in ``inputs``
        (default: the artifact store of ``store``).
    store : Store, optional
        The store the default resolver reads (default: :func:`mlcontext.get_store`).
    trusted : bool
        Only for logs you wrote: also use functions traced earlier in this process without passing
        them, and expression strings as recorded.
    max_bytes : int, optional
        Refuse any operation whose output would exceed this many bytes (default 4 GiB).
    max_nodes : int, optional
        Refuse logs whose loops expand to more operations (default 5e7).

    Returns
    -------
    object
        The plain value of the root (an ndarray, a DataFrame ...), or a tuple of them for a log
        with several roots.

    Raises
    ------
    LineageError
        The log is malformed, a leaf is missing (the message lists each one and why), an operation
        is refused by its check or size limit, or an operation failed (its error is chained).
    UsageError
        ``lineage`` is neither log text, an item nor a traced value.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(3.0), name="x")
    >>> mc.recompute(mc.lineage.dumps(x * 2), inputs={"x": np.arange(3.0)})
    array([0., 2., 4.])
    """
    if resolver is None:

        def resolver(content_hash: str) -> np.ndarray | bytes | None:
            return array_resolver(store or get_store())(content_hash)

    return recompute_lineage(lineage, inputs, resolver, trusted=trusted, max_bytes=max_bytes,
                             max_nodes=max_nodes)


class LeafStore:
    """The array sink of an active run: keeps plain array leaves in the artifact store by content
    hash (each once), where :func:`recompute` finds them.

    Installed with :meth:`install` when a run starts and removed by :meth:`remove` when it ends; a
    store that fails warns once and tracing goes on (the log then names the leaf as missing).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.saved: set[str] = set()
        self._lock = threading.Lock()
        self._previous: Any = None
        self._warned = False

    def install(self) -> LeafStore:
        self._previous = set_array_sink(self)
        return self

    def remove(self) -> None:
        set_array_sink(self._previous)

    def __call__(self, value: np.ndarray, content_hash: str) -> None:
        with self._lock:
            if content_hash in self.saved:
                return
            self.saved.add(content_hash)
        try:
            ref, identity = store_object(self.store.artifacts, LEAF_ARTIFACT, np.asarray(value))
            if identity == content_hash:  # stored as .npy, found by its lineage identity
                self.store.metadata.add_artifact(None, LEAF_ARTIFACT, ref.hash, size=ref.size,
                                                 kind=ref.kind, meta=dict(ref.meta), content_hash=identity)
        except StoreError as exc:
            if not self._warned:
                self._warned = True
                warnings.warn(f"plain arrays traced in this run cannot be stored ({exc}); logs that "
                              "read them recompute only with the arrays passed in",
                              MLContextWarning, stacklevel=3)
