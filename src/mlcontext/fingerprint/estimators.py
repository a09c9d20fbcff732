"""Identity of scikit-learn estimators: an unfitted one by its class, library version and parameters."""

from __future__ import annotations

import sys
from typing import Any

from ..errors import FingerprintError
from .packages import _version
from .scheme import _feed, _tag, add_lazy, register
from .values import _dict

_SKLEARN_DONE: list[bool] = []


def _register_sklearn() -> bool:
    """Register scikit-learn estimators once sklearn is imported; False if done before."""
    if _SKLEARN_DONE:
        return False
    _SKLEARN_DONE.append(True)
    from sklearn.base import BaseEstimator

    register(BaseEstimator)(_estimator)
    return True


def _estimator(value: Any, h: Any) -> None:
    # An unfitted estimator is its class and its parameters (nested estimators and functions by
    # their identity); a fitted one holds learned state no parameter describes: refused.
    fitted = sorted(k for k in vars(value) if k.endswith("_") and not k.startswith("__"))
    if fitted:
        raise FingerprintError(
            f"a fitted {type(value).__qualname__} (learned {', '.join(fitted[:3])}): its state is not "
            "described by its parameters; pass the data it was fitted on and fit it inside the step")
    cls = getattr(value, "_mlcontext_base", type(value))  # a traced estimator is its base class
    _tag(h, b"est", _version(cls.__module__).encode())  # what fit computes changes with the library
    _feed(cls, h)
    _dict(value.get_params(deep=False), h)



add_lazy(lambda cls: "sklearn.base" in sys.modules and _register_sklearn())
