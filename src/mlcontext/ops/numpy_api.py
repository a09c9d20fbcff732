"""The registry of handled NumPy functions: ufunc families from tables, functions by name.

Every handled function gets a stable opcode — ``numpy.<ufunc name>`` (``.reduce``, ``.accumulate`` … for
ufunc methods), ``numpy.<path>`` for functions (``numpy.linalg.solve``), ``numpy.ndarray.<name>`` for
methods — and an :class:`~mlcontext.lineage.operations.Operation` that recompute executes. In-place
functions (``np.copyto``, ``ndarray.sort``, ``ufunc.at`` …) are registered as functional versions that
return a new value; the dispatcher rebinds the target to it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..lineage.operations import (
    ELEMENTWISE,
    FACTOR,
    HEAVY,
    LINEAR,
    PRODUCT,
    SLICE,
    STACK,
    TRANSPOSE,
    VIEW,
    Traits,
    register_operation,
)
from .dispatch import CALL_OPS, HANDLED, INPLACE_FUNCS, UFUNC_OPS

__all__ = ["implements", "FUNCTIONS", "ADDED_IN", "UFUNC_METHODS"]


def implements(*funcs: Any, opcode: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as operation ``opcode`` for the NumPy functions ``funcs`` (as dask does)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        op = register_operation(opcode, fn, traits=TRAITS.get(opcode, _default_traits(opcode)))
        for f in funcs:
            HANDLED.setdefault(f, op)
        return fn

    return decorate


# -- reuse traits (see mlcontext.lineage.operations.Traits) ------------------------------------------

_STACK, _TRANSPOSE = Traits(family=STACK), Traits(family=TRANSPOSE, cost=VIEW)
_PRODUCT, _HEAVY = Traits(family=PRODUCT, cost=HEAVY), Traits(cost=HEAVY)
_FACTOR_TRAITS = Traits(cost=FACTOR)
TRAITS: dict[str, Traits] = {
    "numpy.hstack": _STACK, "numpy.vstack": _STACK, "numpy.concatenate": _STACK,
    "numpy.column_stack": _STACK, "numpy.block": _STACK,
    "numpy.transpose": _TRANSPOSE, "numpy.ndarray.transpose": _TRANSPOSE,
    "numpy.matmul": _PRODUCT, "numpy.dot": _PRODUCT, "numpy.ndarray.dot": _PRODUCT,
    "numpy.linalg.matmul": _PRODUCT,
    "numpy.ndarray.__getitem__": Traits(family=SLICE, cost=VIEW),
    # results that may be views of their arguments (a plain one among them is copied first)
    **dict.fromkeys([f"numpy.{name}" for name in (
        "broadcast_arrays", "atleast_1d", "atleast_2d", "atleast_3d", "meshgrid", "split", "array_split",
        "hsplit", "vsplit", "dsplit", "ix_")], Traits(cost=VIEW, aliases_args=True)),
}


# Factorisations and solves: cost superlinear in the output, cached on first computation.
_FACTOR_PATHS = frozenset(f"numpy.linalg.{name}" for name in """
svd qr cholesky eig eigh eigvals eigvalsh solve inv pinv lstsq det slogdet matrix_rank cond
tensorsolve tensorinv""".split())
# More than a pass over the inputs without being a factorisation: the measured cost per byte of
# output decides (a Gram is cached at once, a large product feeding an elementwise map is not).
_HEAVY_PATHS = frozenset({"numpy.linalg.multi_dot", "numpy.linalg.matrix_power", "numpy.tensordot",
                          "numpy.linalg.tensordot", "numpy.einsum", "numpy.inner"})


def _default_traits(opcode: str) -> Traits:
    # (np.outer and np.kron are one pass over their output: LINEAR, as elementwise maps are.)
    if opcode in _FACTOR_PATHS:
        return _FACTOR_TRAITS
    if opcode in _HEAVY_PATHS or opcode.startswith("numpy.fft."):
        return _HEAVY
    return Traits(cost=LINEAR)


def _ufunc_traits(uf: np.ufunc, method: str, opcode: str) -> Traits:
    if opcode in TRAITS:
        return TRAITS[opcode]
    # Elementwise: a plain call of a ufunc with one output and no core dimensions (a gufunc such
    # as matmul or vecdot contracts axes: applying it block by block would be wrong).
    if method == "__call__" and uf.nout == 1 and uf.nin in (1, 2) and uf.signature is None:
        return Traits(family=ELEMENTWISE)
    return Traits(cost=HEAVY if uf.signature is not None else LINEAR)


# -- ufuncs: every ufunc in the numpy namespace, registered from the namespace table ---------------

UFUNC_METHODS = ("__call__", "reduce", "accumulate", "reduceat", "outer", "at")


def _ufunc_fn(ufunc: np.ufunc, method: str) -> Callable[..., Any]:
    if method == "at":
        def at(a: Any, *args: Any) -> Any:
            result = np.array(a, copy=True)
            ufunc.at(result, *args)
            return result
        return at
    return ufunc if method == "__call__" else getattr(ufunc, method)


def _register_ufuncs() -> None:
    ufuncs = {obj for obj in vars(np).values() if isinstance(obj, np.ufunc)}
    # and those of np.strings (str_len, isalpha ...: NumPy 2's string functions on StringDType arrays)
    ufuncs |= {obj for obj in vars(np.strings).values() if isinstance(obj, np.ufunc)}
    for uf in sorted(ufuncs, key=lambda u: u.__name__):
        for method in UFUNC_METHODS:
            if method != "__call__" and (uf.nin != 2 or uf.nout != 1):
                continue
            suffix = "" if method == "__call__" else "." + method
            opcode = f"numpy.{uf.__name__}{suffix}"
            op = register_operation(opcode, _ufunc_fn(uf, method), fresh_out=True,
                                    traits=_ufunc_traits(uf, method, opcode))
            UFUNC_OPS[(uf, method)] = op
            if method == "__call__":
                CALL_OPS[uf] = op


# -- functions, by their path under numpy
# ------------------------------------------------------------

FUNCTIONS = """
sum prod mean std var min max amin amax argmin argmax ptp median average cumsum cumprod nansum
nanmean nanstd nanvar nanmin nanmax nanargmin nanargmax nanprod nancumsum nanmedian percentile
quantile nanpercentile nanquantile all any count_nonzero
reshape ravel transpose swapaxes moveaxis rollaxis squeeze expand_dims broadcast_to broadcast_arrays
atleast_1d
atleast_2d atleast_3d flip fliplr flipud rot90 roll tile repeat resize pad
concatenate stack vstack hstack dstack column_stack block append insert delete
split array_split hsplit vsplit dsplit
dot vdot inner outer matmul tensordot einsum kron trace diagonal diag diagflat tril triu
clip round around where select piecewise take take_along_axis choose compress extract nonzero
argwhere flatnonzero searchsorted digitize histogram histogram2d bincount
sort argsort lexsort partition argpartition unique
copy zeros_like ones_like empty_like full_like
real imag conj conjugate angle abs absolute sign isnan isinf isfinite isclose allclose
array_equal array_equiv nan_to_num interp diff ediff1d gradient cross convolve correlate cov
corrcoef meshgrid ix_ triu_indices_from tril_indices_from diag_indices_from
unwrap sinc i0 trapezoid real_if_close result_type can_cast shape ndim size
intersect1d union1d setdiff1d setxor1d isin
linalg.solve linalg.inv linalg.pinv linalg.det linalg.slogdet linalg.norm linalg.eig linalg.eigh
linalg.eigvals linalg.eigvalsh linalg.svd linalg.qr linalg.cholesky linalg.lstsq
linalg.matrix_rank linalg.matrix_power linalg.multi_dot linalg.cond linalg.tensorsolve
linalg.tensorinv linalg.matmul linalg.tensordot cumulative_sum cumulative_prod
fft.fft fft.ifft fft.rfft fft.irfft fft.fft2 fft.ifft2 fft.fftn fft.ifftn fft.fftshift fft.ifftshift
strings.upper strings.lower strings.capitalize strings.title strings.swapcase strings.replace
strings.zfill strings.center strings.ljust strings.rjust strings.multiply
""".split()
#: Names of FUNCTIONS later than the oldest supported NumPy (2.0.0), with the release that added them;
#: any other name that does not resolve is a typo (tests/ops/test_name_tables.py).
ADDED_IN: dict[str, str] = {"cumulative_sum": "2.1", "cumulative_prod": "2.1"}


def _resolve(path: str) -> Any:
    obj: Any = np
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    # NumPy 2.0 returns a Python int for a whole array (later versions an np.intp): a plain int
    # would drop the lineage, so the result is the NumPy scalar every version can hold.
    result = np.count_nonzero(a, axis=axis, keepdims=keepdims)
    return np.intp(result) if type(result) is int else result


#: Functions whose result differs in kind across supported NumPy versions, normalised.
_NORMALISED: dict[str, Any] = {"count_nonzero": _count_nonzero}


def _register_functions() -> None:
    for path in FUNCTIONS:
        func = _resolve(path)
        if func is None or func in HANDLED:  # newer than this NumPy (ADDED_IN), or an alias
            continue
        if isinstance(func, np.ufunc):
            # np.abs, np.sign, np.isnan, np.matmul …: registered with their ufunc traits by
            # _register_ufuncs (re-registering them here replaced np.sign's elementwise family,
            # which the executor reads, by the function default).
            continue
        implements(func, opcode=f"numpy.{path}")(_NORMALISED.get(path, func))


# -- ndarray methods and in-place operations
# ---------------------------------------------------------

def _method(name: str) -> Callable[..., Any]:
    """``a.<name>(*args, **kwargs)`` as a plain function (works for NumPy scalars as well); a
    closure rather than an object with ``__call__``, which costs a lookup more on every call."""

    def call(a: Any, /, *args: Any, **kwargs: Any) -> Any:
        return getattr(a, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = f"ndarray.{name}"
    return call


def _register_methods() -> None:
    from .traced import METHODS

    for name in METHODS:
        opcode = f"numpy.ndarray.{name}"
        register_operation(opcode, _method(name), traits=TRAITS.get(opcode, _default_traits(opcode)))
    register_operation("numpy.ndarray.__getitem__", operator.getitem,
                       traits=TRAITS["numpy.ndarray.__getitem__"])


def _functional(mutate: Callable[..., Any]) -> Callable[..., Any]:
    """The functional version of an in-place operation on its first argument."""

    @functools.wraps(mutate)
    def fn(a: Any, /, *args: Any, **kwargs: Any) -> Any:
        result = np.array(a, copy=True)
        mutate(result, *args, **kwargs)
        return result

    return fn


def _setitem(a: Any, key: Any, value: Any) -> None:
    a[key] = value


INPLACE: dict[str, Callable[..., Any]] = {
    "numpy.ndarray.__setitem__": _setitem,
    "numpy.ndarray.sort": lambda a, *args, **kw: a.sort(*args, **kw),
    "numpy.ndarray.fill": lambda a, value: a.fill(value),
    "numpy.copyto": np.copyto,
    "numpy.put": np.put,
    "numpy.place": np.place,
    "numpy.putmask": np.putmask,
    "numpy.fill_diagonal": np.fill_diagonal,
    "numpy.put_along_axis": np.put_along_axis,
}


def _register_inplace() -> None:
    for opcode, mutate in INPLACE.items():
        register_operation(opcode, _functional(mutate))
        if not opcode.startswith("numpy.ndarray."):
            INPLACE_FUNCS[_resolve(opcode.removeprefix("numpy."))] = opcode


_register_ufuncs()
_register_functions()
_register_methods()
_register_inplace()
