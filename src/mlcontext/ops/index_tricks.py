"""``np.c_[...]`` and ``np.r_[...]`` on traced arrays.

NumPy's index tricks convert every item with ``np.array(item, subok=True, ndmin=...)``, which no
protocol lets a traced array intercept: the result was a plain array and the lineage was silently
lost. When the items include a traced array and are all arrays (no slices, scalars or directive
strings such as ``"r"`` or ``"0,2"``), the concatenation is expressed with the handled functions
it amounts to, so it is traced (and, with partial reuse, deferred like any stack):

* ``np.c_[a, b, ...]``: 2-D items are stacked side by side (``np.hstack``); a 1-D item is a column
  (``v[:, None]``, as ``np.c_`` makes it); items of other ranks keep NumPy's own path.
* ``np.r_[a, b, ...]``: items of one rank (1-D or 2-D) are concatenated along the first axis.

Other keys take NumPy's own path unchanged. The classes are patched once, when :mod:`mlcontext.ops`
is imported; calls without a traced item are not affected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib import _index_tricks_impl as _tricks

from .traced import TracedArray

__all__ = ["install"]


def _items(key: Any) -> tuple | None:
    """The items of a key made only of arrays, at least one of them traced; else None."""
    items = key if isinstance(key, tuple) else (key,)
    if not any(type(x) is TracedArray for x in items):
        return None
    if not all(type(x) is TracedArray or type(x) is np.ndarray for x in items):
        return None
    return items


def _c(items: tuple) -> Any:
    if any(x.ndim not in (1, 2) for x in items):
        return None
    return np.hstack([x if x.ndim == 2 else x[:, None] for x in items])


def _r(items: tuple) -> Any:
    if len({x.ndim for x in items}) != 1 or items[0].ndim not in (1, 2):
        return None
    return np.concatenate(list(items), axis=0)


def _patched(cls: type[_tricks.CClass] | type[_tricks.RClass], traced: Any) -> None:
    original = cls.__getitem__
    if getattr(original, "_mlcontext", False):
        return

    def __getitem__(self: Any, key: Any) -> Any:  # noqa: N807 - NumPy's name
        items = _items(key)
        if items is not None:
            result = traced(items)
            if result is not None:
                return result
        return original(self, key)

    __getitem__._mlcontext = True  # type: ignore[attr-defined]
    __getitem__.__doc__ = original.__doc__
    cls.__getitem__ = __getitem__  # type: ignore[method-assign]


def install() -> None:
    """Make ``np.c_`` and ``np.r_`` trace when given traced arrays (idempotent)."""
    _patched(_tricks.CClass, _c)
    _patched(_tricks.RClass, _r)
