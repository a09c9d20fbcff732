"""Traced operations: the traced array, its dispatcher, the registry of handled NumPy functions."""

from __future__ import annotations

import importlib

from .. import loops as _loops
from ..lineage.dedup import LOOP_LISTENER as _LOOP_DEDUP
from ..lineage.operations import register_provider as _register_provider
from . import numpy_api as _numpy_api  # noqa: F401  (fills the registries)
from .constructors import array, asarray, load
from .dispatch import set_executor
from .traced import TracedArray

__all__ = ["TracedArray", "array", "asarray", "load", "set_executor", "random"]

from . import random  # noqa: E402
from .index_tricks import install as _install_index_tricks  # noqa: E402

_install_index_tricks()

# scipy.linalg may not compute in a traced or read-only array's memory (its f2py layer ignores the
# WRITEABLE flag when given overwrite_*=True): the flags are withdrawn for them, now or on import.
from .scipy_guard import install as _install_scipy_guard  # noqa: E402

_install_scipy_guard()

# What recompute checks before it runs an operation read from a log: output sizes estimated from the
# recorded shapes (bounds) and the arguments of operations that interpret strings (guards).
from . import bounds, guards  # noqa: E402,F401

# Traced frames get the pandas registry (the one place it is plugged in: no module fills another's
# tables as it is imported).
from . import pandas_frame as _pandas_frame  # noqa: E402
from . import pandas_leaves as _pandas_leaves  # noqa: E402
from . import pandas_proxies as _pandas_proxies  # noqa: E402
from . import pandas_registry as _pandas_registry  # noqa: E402

_pandas_frame.install(_pandas_leaves.LEAVES, _pandas_proxies.PROPERTIES, _pandas_proxies.SPECIAL,
                      _pandas_registry.MUTATORS)

# scikit-learn's operations register when their module is imported (on first use of mc.traced, as
# scikit-learn itself): a log of a model read in a fresh process imports it when recompute asks.
def _register_sklearn() -> None:
    importlib.import_module("mlcontext.ops.sklearn_steps")


_register_provider("sklearn.", _register_sklearn)

# Traced values exist from here on: loop bodies that trace them are deduplicated (lineage.dedup).
_loops.add_listener(_LOOP_DEDUP)
