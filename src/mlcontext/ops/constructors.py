"""``mc.array``: make a traced leaf from data."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..names import check_name
from .dispatch import data_leaf
from .traced import TracedArray

__all__ = ["array"]


def array(data: Any, name: str | None = None, *, dtype: Any = None,
          copy: bool = True) -> TracedArray:
    """A traced leaf: the array identified by its content hash, labelled ``name``.

    Like :func:`numpy.array` the data is copied (``copy=False`` wraps it when it already is an
    ndarray: then do not change it afterwards, its lineage would go stale).

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(3.0), name="x")
    >>> x.lineage.opcode, x.lineage.label
    ('lineage.data', 'x')
    >>> np.asarray(2 * x)
    array([0., 2., 4.])
    """
    if isinstance(data, TracedArray):
        return data if dtype is None else data.astype(dtype)
    if name is not None:
        check_name(name, "array")
    value = np.array(data, dtype=dtype, copy=True if copy else None)
    return TracedArray(value, data_leaf(value, name, embed=False))
