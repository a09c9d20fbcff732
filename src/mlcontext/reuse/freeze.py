"""Making values safe to cache: read-only versions that nothing can write through, and their sizes.

A cached value is made read-only before anyone sees it (the array itself when it owns its memory,
else a read-only view), and a result that may share memory with an argument is copied (or refused)
before it is cached, so writing into a plain array later can never change a cached value. Other
value types (pandas frames, fitted estimators) register how they are frozen (:func:`register_freezer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, overload

import numpy as np

from ..ops.dispatch import shares_memory

__all__ = ["freeze_array", "freeze", "freeze_other", "value_size", "FREEZERS", "register_freezer"]


@overload
def freeze_array(value: np.ndarray, args: tuple = (), *, copy_views: Literal[True] = True) -> np.ndarray: ...


@overload
def freeze_array(value: np.ndarray, args: tuple = (), *, copy_views: bool) -> np.ndarray | None: ...


def freeze_array(value: np.ndarray, args: tuple = (), *, copy_views: bool = True) -> np.ndarray | None:
    """A read-only version of ``value`` that nothing else can write through.

    A value that may share memory with an argument (a view: ``X.T``, ``B[:, :k]``) is copied, keeping
    its memory layout (``order="K"``: a BLAS call on a copy in another layout may round differently),
    or, with ``copy_views=False``, refused (``None``): views cost nothing to recompute.
    """
    if shares_memory(value, args):
        if not copy_views:
            return None
        value = value.copy(order="K")
    if value.base is None:
        value.flags.writeable = False
        return value
    view = value.view()
    view.flags.writeable = False
    return view


# Other value types (pandas frames, fitted estimators) say how they are made safe to share and how
# big they are: ``fn(value) -> (frozen value, nbytes) | None`` (None: do not cache it). Looked up by
# the value's class and its bases; filled by the layer that makes such values (mlcontext.ops).
FREEZERS: dict[type, Callable[[Any], tuple[Any, int] | None]] = {}


def register_freezer(cls: type, fn: Callable[[Any], tuple[Any, int] | None]) -> None:
    """Let values of ``cls`` be cached: ``fn`` returns a read-only version and its size, or None."""
    FREEZERS[cls] = fn


def freeze_other(value: Any) -> tuple[Any, int] | None:
    """``(read-only value, nbytes)`` of a value of a registered type, else None."""
    cls = type(value)
    fn = _freezer_of(cls)
    if fn is None and _LAZY_FREEZERS and _register_lazily(cls):  # (none left: no second walk)
        fn = _freezer_of(cls)
    return None if fn is None else fn(value)


def _freezer_of(cls: type) -> Callable[[Any], tuple[Any, int] | None] | None:
    for c in cls.__mro__:
        fn = FREEZERS.get(c)
        if fn is not None:
            return fn
    return None


def _pandas_freezers() -> None:
    import pandas

    from ..ops.pandas_frame import freeze_frame

    register_freezer(pandas.DataFrame, freeze_frame)
    register_freezer(pandas.Series, freeze_frame)


def _fitted_freezer() -> None:
    from ..ops.sklearn_steps import Fitted, freeze_estimator

    register_freezer(Fitted, freeze_estimator)


# The freezers of value types whose modules are only imported when such a value exists (dask's
# ``register_lazy``): importing the reuse layer must not import pandas (issue 15: import time and
# memory). Keyed by the module that defines the type, or its top-level package.
_LAZY_FREEZERS: dict[str, Callable[[], None]] = {
    "pandas": _pandas_freezers,
    "mlcontext.ops.sklearn_steps": _fitted_freezer,
}


def _register_lazily(cls: type) -> bool:
    """Run the lazy registration for ``cls`` or a base, once; whether one ran."""
    for c in cls.__mro__:
        module = getattr(c, "__module__", "") or ""
        loader = _LAZY_FREEZERS.pop(module, None) or _LAZY_FREEZERS.pop(module.partition(".")[0], None)
        if loader is not None:
            loader()
            return True
    return False


def freeze(value: Any, args: tuple) -> Any:
    """A read-only array, NumPy scalar or tuple of arrays, or None (a view of an argument, objects)."""
    if type(value) is np.ndarray:
        return None if value.dtype.hasobject else freeze_array(value, args, copy_views=False)
    if isinstance(value, np.generic):
        return value
    if isinstance(value, tuple) and value and all(type(v) is np.ndarray for v in value):
        parts = [freeze_array(v, args, copy_views=False) for v in value]
        frozen = [p for p in parts if p is not None]
        if len(frozen) < len(parts):
            return None
        if hasattr(value, "_fields"):  # a namedtuple is made from its fields
            named: Callable[..., tuple] = type(value)
            return named(*frozen)
        return tuple(frozen)
    return None


def value_size(value: Any) -> int | None:
    """Bytes of an array, a NumPy scalar or a tuple of arrays (None: something else)."""
    if isinstance(value, tuple):
        if not value or not all(type(v) is np.ndarray for v in value):
            return None
        return sum(int(v.nbytes) for v in value)
    return int(value.nbytes)
