"""Recompute with the store behind it: leaves not passed in are looked up in the artifact store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..lineage import recompute as recompute_lineage
from ..store import Store
from .artifacts import array_resolver
from .stores import get_store

__all__ = ["recompute"]


def recompute(lineage: Any, inputs: Mapping[str, Any] | None = None,
              resolver: Callable[[str], Any] | None = None, *, store: Store | None = None) -> Any:
    """Reproduce the value(s) a lineage log describes, bit for bit.

    Leaves come from the log itself (small constants), from ``inputs`` (by leaf name or content hash),
    then from ``resolver``, which defaults to the artifact store: arrays saved with
    :func:`mlcontext.artifact` are found by their content hash without being passed. The store is
    opened only if a leaf is missing.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(3.0), name="x")
    >>> mc.recompute(mc.lineage.dumps(x * 2), inputs={"x": np.arange(3.0)})
    array([0., 2., 4.])
    """
    if resolver is None:

        def resolver(content_hash: str) -> np.ndarray | None:
            return array_resolver(store or get_store())(content_hash)

    return recompute_lineage(lineage, inputs, resolver)
