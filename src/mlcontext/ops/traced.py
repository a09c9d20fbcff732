"""The traced array: an ndarray value plus the lineage item that produced it.

It implements NumPy's override protocols — ``__array_ufunc__`` (NEP 13) for ufuncs and all operators
(through :class:`numpy.lib.mixins.NDArrayOperatorsMixin`), ``__array_function__`` (NEP 18) for the rest
of the API — and hands every call to one dispatcher (:mod:`.dispatch`). Values are never mutated in
place: assignment, ``out=`` and other in-place operations compute a new value and rebind the array to it
with a new lineage item (copy-on-write), so no value ever disagrees with its lineage.
"""

from __future__ import annotations

import operator
import weakref
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ..errors import UsageError
from ..lineage.item import OPEN_SCOPES as _OPEN
from ..lineage.item import Item, state
from ..lineage.operations import register_operation
from .deferred import Deferred

__all__ = ["TracedArray"]


class TracedArray(NDArrayOperatorsMixin):
    """An array whose lineage is traced operation by operation.

    Create one with :func:`mlcontext.array`; use it with plain NumPy code. ``np.asarray(t)`` gives
    the (read-only) plain value, ``t.lineage`` its :class:`~mlcontext.lineage.Item`.

    Parameters
    ----------
    value : ndarray, NumPy scalar or Deferred
        The value (not copied; never written to).
    item : Item
        The lineage item that produced it.

    Examples
    --------
    >>> import numpy as np
    >>> x = mc.array(np.arange(4.0), name="x")
    >>> y = np.sqrt(x) + 1
    >>> type(y).__name__, y.lineage.opcode, y.lineage.inputs[0].opcode
    ('TracedArray', 'numpy.add', 'numpy.sqrt')
    """

    # _view, _viewers: a view's parent and how it was taken; an array's views (.views)
    __slots__ = ("_data", "_item", "_view", "_viewers", "__weakref__")
    __hash__ = None  # type: ignore[assignment]  # unhashable, like ndarray

    def __init__(self, value: np.ndarray | np.generic | Deferred, item: Item) -> None:
        self._data = value  # a Deferred until its elements are needed (see .deferred)
        self._item = item
        self._view = None  # (parent, kind, params) when a view of a traced array (.views)
        self._viewers: list | None = None  # weak references to its views
        if _OPEN[0]:  # a dedup scope must see every holder of a value made in its body
            scope = state.scope
            if scope is not None:
                scope.holders.append(weakref.ref(self))

    @property
    def _value(self) -> np.ndarray | np.generic:
        """The value, computed now if it was deferred."""
        data = self._data
        if isinstance(data, Deferred):
            data = self._data = data.get()
        return data

    @_value.setter
    def _value(self, value: np.ndarray | np.generic) -> None:
        self._data = value

    # -- NumPy protocols: thin, everything goes through the dispatcher -------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _dispatch.ufunc_call(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        for t in types:
            if not issubclass(t, (TracedArray, np.ndarray)):
                return NotImplemented
        return _dispatch.function_call(func, args, kwargs)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        _dispatch.note_plain(self._item)
        value = np.asarray(self._value, dtype=dtype)
        if copy:
            return value.copy(order="K")  # np.array(a) keeps a's layout
        if value is self._value or value.base is not None:
            value = value.view()
            value.flags.writeable = False  # the traced value must not change under its lineage
        return value

    def __dlpack__(self, **kwargs: Any) -> Any:
        """Export a copy of the value through DLPack (``torch.as_tensor(t)``, ``np.from_dlpack(t)``).

        A copy, never the value's memory: the importer may write into what it imports (PyTorch has
        no read-only tensors), and the traced value must not change under its lineage.

        Raises
        ------
        BufferError
            ``copy=False`` was asked for (an export without a copy).
        """
        copy = kwargs.get("copy")
        if copy is not None and not copy:  # (np.False_ and 0 ask for no copy too)
            raise BufferError("a traced array is exported through DLPack as a copy only (its value "
                              "must not change under its lineage); pass copy=None or copy=True")
        kwargs.pop("copy", None)
        return np.array(self._value, order="K").__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return np.asarray(self._value).__dlpack_device__()

    # -- lineage ---------------------------------------------------------------------------------
    @property
    def lineage(self) -> Item:
        """The lineage item of the current value."""
        return self._item

    # -- plain attributes ------------------------------------------------------------------------
    # (read from _data: a deferred value knows these without being computed)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: np.ndim(self._data))
    size = property(lambda self: np.size(self._data))
    itemsize = property(lambda self: self._data.itemsize)
    nbytes = property(lambda self: self._data.nbytes)

    @property
    def flags(self) -> Any:
        """The value's flags (its memory layout; ``writeable`` is False: the value never changes,
        writes through the traced array make a new version)."""
        return np.asarray(self).flags

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self._data)

    @shape.setter
    def shape(self, shape: Any) -> None:
        """``t.shape = (3, 2)``: the same elements in another shape, a new version of ``t`` (NumPy
        reshapes in place; an impossible shape raises its ValueError)."""
        value = np.asarray(self._value)
        if value.size and not np.shares_memory(np.reshape(value, shape), value):
            raise AttributeError("Incompatible shape for in-place modification. Use `.reshape()` to "
                                 "make a copy with the desired shape.")  # (NumPy's own refusal)
        if self._view is None and not self._viewers:
            reshaped: Any = np.reshape(self, shape)  # (a TracedArray, by __array_function__)
            self._data, self._item = reshaped._data, reshaped._item
            return
        # In place: its parent and its views keep seeing the same elements, through a stand-in with
        # the former shape (a view of what this viewed; what viewed this views it).
        former = TracedArray(self._data, self._item)
        former._view = self._view
        if self._view is not None:
            parent = self._view[0]
            parent._viewers = [*(parent._viewers or []), weakref.ref(former)]
        views.reparent(self, former)
        reshaped = np.reshape(former, shape)
        self._data, self._item = reshaped._data, reshaped._item
        self._view = reshaped._view
        if former._viewers is not None and reshaped._view is not None:
            former._viewers.append(weakref.ref(self))

    def resize(self, *args: Any, **kwargs: Any) -> None:
        """Refused: ``ndarray.resize`` grows or shrinks an array in place, filling with zeros; write
        ``t = np.resize(t, shape)`` (repeats the values) or ``np.pad`` instead."""
        raise UsageError("a traced array is not resized in place: write t = np.resize(t, shape) (which "
                         "repeats the values), np.pad(t, ...) (zeros or other fill), or t[:n] (a cut)")

    @property
    def flat(self) -> np.flatiter:
        """The elements in C order as ``ndarray.flat`` gives them: plain values, read-only (write
        with ``t[i] = v`` or ``t.ravel()[i]``: a new version)."""
        value = np.asarray(self)
        if value.flags.writeable:  # a 0-d value held as a NumPy scalar: a fresh array
            value = value.view()
            value.flags.writeable = False
        return value.flat

    @flat.setter
    def flat(self, value: Any) -> None:
        """``t.flat = v``: every element set from ``v`` in C order, ``v`` repeated as needed (as
        NumPy's ``flat`` assignment and ``np.put``); a new version of ``t``."""
        np.put(self, np.arange(self.size), value)  # type: ignore[arg-type]  # (__array_function__)

    def __mlcontext_fingerprint__(self) -> tuple[str, str]:
        """Its identity where a fingerprint meets it (a global a ``@mc.step`` reads, an estimator's
        parameter): its lineage hash, which determines its value, without reading the data."""
        return ("mlcontext.TracedArray", self._item.hash)

    def __round__(self, ndigits: int | None = None) -> Any:
        """``round(t.mean(), 2)``: a 0-d traced array rounds as the NumPy scalar plain code would have
        had (a plain value, as ``float(t)``); an array with dimensions raises as an ndarray does."""
        value = np.asarray(self._value)
        if value.ndim:
            raise TypeError("type numpy.ndarray doesn't define __round__ method")
        return round(value[()], ndigits)  # type: ignore[call-overload]  # (a NumPy scalar rounds)

    @property
    def T(self) -> TracedArray:  # noqa: N802 - NumPy's name
        # NumPy's stubs type np.transpose as returning an ndarray; __array_function__ (NEP 18),
        # which they do not model, makes it return a TracedArray here.
        return np.transpose(self)  # type: ignore[return-value]

    @property
    def real(self) -> TracedArray:
        return np.real(self)

    @real.setter
    def real(self, value: Any) -> None:
        self.real[...] = value  # (a view: written back into t, or refused for a complex t)

    @property
    def imag(self) -> TracedArray:
        return np.imag(self)

    @imag.setter
    def imag(self, value: Any) -> None:
        self.imag[...] = value

    def __len__(self) -> int:
        data = self._data
        if isinstance(data, np.generic):  # a NumPy scalar has no length, as a 0-d array
            raise TypeError("len() of unsized object")
        return len(data)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, key: Any) -> Any:
        return _dispatch.method_call("__getitem__", self, (key,), {})

    def __setitem__(self, key: Any, value: Any) -> None:
        _dispatch.inplace_call("numpy.ndarray.__setitem__", self, (key, value), {})

    # Reading a traced value into Python control flow gives plain values (a branch is a control
    # path).
    def __bool__(self) -> bool:
        return bool(self._value)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        return np.asarray(self._value).__index__()  # as a 0-d array: integer dtypes only

    def __complex__(self) -> complex:
        return complex(self._value)

    def __contains__(self, x: Any) -> bool:
        value = self._value
        if isinstance(value, np.generic):  # as `x in scalar`: a NumPy scalar is not a container
            raise TypeError(f"argument of type {type(value).__name__!r} is not iterable")
        return x in value

    def __repr__(self) -> str:
        return f"traced({self._value!r}, lineage={self._item.opcode})"

    def __str__(self) -> str:
        return str(self._value)

    def __format__(self, spec: str) -> str:
        return format(self._value, spec)

    def item(self, *args: Any) -> Any:
        return self._value.item(*args)

    def tolist(self) -> Any:
        return self._value.tolist()

    def tobytes(self, order: Literal["K", "A", "C", "F"] | None = "C") -> bytes:
        return self._value.tobytes(order)

    def __copy__(self) -> TracedArray:
        return self.copy(order="K")  # as ndarray.__copy__: the layout kept

    def __deepcopy__(self, memo: dict) -> TracedArray:
        return self.copy(order="K")

    if TYPE_CHECKING:  # set on the class below (METHODS), as traced operations
        def copy(self, order: Literal["K", "A", "C", "F"] = "C") -> TracedArray: ...

        def astype(self, dtype: Any, order: Literal["K", "A", "C", "F"] = "K", casting: str = "unsafe",
                   subok: bool = True, copy: bool = True) -> TracedArray: ...

    def __reduce__(self) -> tuple:
        return (_restore, (self._value, self._item))

    # In-place methods become new versions.
    def sort(self, *args: Any, **kwargs: Any) -> None:
        _dispatch.inplace_call("numpy.ndarray.sort", self, args, kwargs)

    def fill(self, value: Any) -> None:
        _dispatch.inplace_call("numpy.ndarray.fill", self, (value,), {})


def _restore(value: Any, item: Item) -> TracedArray:
    return TracedArray(value, item)


# Methods that return arrays are traced operations named numpy.ndarray.<name>.
METHODS = (
    "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "byteswap", "choose",
    "clip", "compress", "conj", "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot",
    "flatten", "max", "mean", "min", "nonzero", "partition", "prod", "ravel", "repeat",
    "reshape", "round", "searchsorted", "squeeze", "std", "sum", "swapaxes", "take", "trace",
    "transpose", "var", "view",
)


def _make_method(name: str) -> Any:
    def method(self: TracedArray, *args: Any, **kwargs: Any) -> Any:
        return _dispatch.method_call(name, self, args, kwargs)

    method.__name__ = name
    method.__doc__ = f"Traced :meth:`numpy.ndarray.{name}`."
    return method


for _name in METHODS:
    setattr(TracedArray, _name, _make_method(_name))


# Operators go straight to the dispatcher's hot path instead of through NumPy's override machinery
# (what NDArrayOperatorsMixin would do: the same ufunc, the same result, a microsecond less).
# In-place operators stay the mixin's: ufunc(self, other, out=(self,)).
BINARY_OPERATORS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "matmul": np.matmul,
    "truediv": np.true_divide, "floordiv": np.floor_divide, "mod": np.remainder,
    "pow": np.power, "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "lshift": np.left_shift, "rshift": np.right_shift, "divmod": np.divmod,
}
COMPARISONS = {"lt": np.less, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
               "gt": np.greater, "ge": np.greater_equal}
UNARY_OPERATORS = {"neg": np.negative, "pos": np.positive, "abs": np.absolute,
                   "invert": np.invert}


def _binary(ufunc: np.ufunc, reflected: bool) -> Any:
    if reflected:
        def op(self: TracedArray, other: Any) -> Any:
            return _dispatch.fast_ufunc(_dispatch.CALL_OPS[ufunc], (other, self))
    else:
        def op(self: TracedArray, other: Any) -> Any:
            return _dispatch.fast_ufunc(_dispatch.CALL_OPS[ufunc], (self, other))
    return op


def _unary(ufunc: np.ufunc) -> Any:
    def op(self: TracedArray) -> Any:
        return _dispatch.fast_ufunc(_dispatch.CALL_OPS[ufunc], (self,))
    return op


for _name, _uf in BINARY_OPERATORS.items():
    setattr(TracedArray, f"__{_name}__", _binary(_uf, False))
    setattr(TracedArray, f"__r{_name}__", _binary(_uf, True))
for _name, _uf in COMPARISONS.items():
    setattr(TracedArray, f"__{_name}__", _binary(_uf, False))
for _name, _uf in UNARY_OPERATORS.items():
    setattr(TracedArray, f"__{_name}__", _unary(_uf))


# -- ``t ** e`` as ndarray.__pow__ computes it --------------------------------------------------------
# ndarray.__pow__ does not always call np.power: for some scalar exponents it calls a unary ufunc
# instead (NumPy's numpy/_core/src/multiarray/number.c, fast_scalar_power), which rounds complex
# values otherwise (z ** 2 is np.square(z), not np.power(z, 2)), gives sqrt's -0.0 for -0.0 ** 0.5,
# and another dtype for bool (mask ** 2 is np.square's int8, np.power's is int64). So ``t ** e`` runs,
# and records in its lineage, the ufunc NumPy would run (recompute then gives the same bits). The
# rule changed twice; each version's is written out below. ``e ** t`` is always np.power (NumPy's
# shortcut needs the array on the left).
_INEXACT = frozenset(np.dtype(c).num for c in "efdgFDG")  # PyArray_ISFLOAT or PyArray_ISCOMPLEX
_REAL = frozenset(np.dtype(c).num for c in "efdg")  # PyArray_ISFLOAT
_OBJECT = np.dtype(object).num


def _ones(t: TracedArray, inplace: bool) -> Any:
    if inplace:
        t.fill(1)
        return t
    ones = np.ones_like(t)
    # (NumPy's shortcut calls its internal ufunc _ones_like, whose result for a 0-d array is a scalar, as
    # every ufunc's; np.ones_like's is a 0-d array)
    return ones[()] if t.ndim == 0 else ones


def _square_as_double(t: TracedArray, inplace: bool) -> Any:
    """NumPy 2.0-2.2's ``int_array ** 2.0``: cast to float64 (Fortran order for a Fortran array),
    then squared."""
    flags = t._value.flags
    order: Literal["C", "F"] = "F" if flags.f_contiguous and not flags.c_contiguous else "C"
    squared = np.square(t.astype(np.float64, order=order))
    # (NumPy squares the cast array in place, so of a 0-d one its result stays a 0-d array)
    return squared[...] if t.ndim == 0 else squared  # (a scalar[...] is a 0-d array)


def _shortcut_2_3(value: Any, exponent: Any, inplace: bool) -> Any:
    """NumPy >= 2.3: a Python int -1 or 2 (reciprocal, square) or a Python float 0.5 (sqrt), exactly
    those types, on a float or complex array; from 2.3.2 on, 2 squares any array but an object one."""
    t = type(exponent)
    fast: Any
    if t is int:
        fast = np.square if exponent == 2 else np.reciprocal if exponent == -1 else None
    elif t is float:
        fast = np.sqrt if exponent == 0.5 else None
    else:
        return None
    if fast is None or isinstance(value, np.generic):
        return None
    num = value.dtype.num
    if num in _INEXACT or (fast is np.square and _SQUARE_ANY and num != _OBJECT):
        return fast
    return None


_SHORTCUTS_2_0 = {1.0: np.positive, -1.0: np.reciprocal, 0.0: _ones, 0.5: np.sqrt, 2.0: np.square}


def _shortcut_2_0(value: Any, exponent: Any, inplace: bool) -> Any:
    """NumPy 2.0-2.2: an exponent that converts to 1, -1, 0, 0.5 or 2 (any int, float, NumPy scalar,
    0-d integer or float array, or object with __index__) on a float or complex array; an exponent
    of 2 on any other array but an object one (cast to float64 first when the exponent is a float
    and the array of integers)."""
    if isinstance(value, np.generic) or value.dtype.num == _OBJECT:
        return None
    found = _exponent_2_0(exponent)
    if found is None:
        return None
    e, is_float = found
    if value.dtype.num in _INEXACT:
        return _SHORTCUTS_2_0.get(e)
    if e != 2.0:
        return None
    return _square_as_double if is_float and not inplace and value.dtype.kind in "iu" else np.square


def _exponent_2_0(x: Any) -> tuple[float, bool] | None:
    """NumPy 2.0-2.2's is_scalar_with_conversion: ``(exponent, whether a float)`` or None."""
    if type(x) is TracedArray:
        x = x._value  # (plain code would have had the value)
    if isinstance(x, int):
        return (float(x), False) if -2**63 <= x < 2**63 else None
    if isinstance(x, float):
        return float(x), True
    if isinstance(x, np.ndarray):
        if x.ndim == 0 and (x.dtype.kind in "iu" or x.dtype.num in _REAL):
            return float(x), x.dtype.kind not in "iu"
        return None
    if isinstance(x, np.integer | np.floating):
        return float(x), isinstance(x, np.floating)
    if hasattr(type(x), "__index__"):
        try:
            n = operator.index(x)
        except Exception:  # noqa: BLE001 - NumPy clears any error here: no shortcut
            return None
        return (float(n), False) if -2**63 <= n < 2**63 else None
    return None


# (NumPy's pull requests #27901, in 2.3.0, and #29392, in 2.4.0 and backported to 2.3.2)
_SQUARE_ANY = np.lib.NumpyVersion(np.__version__) >= "2.3.2"
_shortcut = _shortcut_2_3 if np.lib.NumpyVersion(np.__version__) >= "2.3.0" else _shortcut_2_0


# A NumPy scalar's ``**`` is its own arithmetic (C's pow), not np.power's loop, which takes x ** 0.5 as
# sqrt(x): np.float64(-0.0) ** 0.5 is 0.0 and np.float64(-inf) ** 0.5 inf, where np.power gives -0.0
# and nan. A traced scalar (a reduction's) is raised the scalar's way, recorded as this operation.
_SCALAR_POWER = register_operation("numpy.generic.__pow__", operator.pow)


def _pow(self: TracedArray, other: Any) -> Any:
    data = self._data
    fast = _shortcut(data, other, False)
    if fast is None:  # (np.power, the commonest: a plain array's type first, no isinstance walk)
        op = _dispatch.CALL_OPS[np.power] if type(data) is np.ndarray or not isinstance(data, np.generic) \
            else _SCALAR_POWER
        return _dispatch.fast_ufunc(op, (self, other))
    if type(fast) is np.ufunc:
        return _dispatch.fast_ufunc(_dispatch.CALL_OPS[fast], (self,))
    return fast(self, False)


def _ipow(self: TracedArray, other: Any) -> Any:
    if isinstance(self._data, np.generic):
        return _pow(self, other)  # (``s **= e`` binds s to a new scalar: NumPy scalars never change)
    fast = _shortcut(self._data, other, True)
    if fast is None:  # (NDArrayOperatorsMixin's __ipow__: np.power(self, other, out=(self,)))
        return _dispatch.ufunc_call(np.power, "__call__", (self, other), {"out": (self,)})
    if type(fast) is np.ufunc:
        return _dispatch.ufunc_call(fast, "__call__", (self,), {"out": (self,)})
    return fast(self, True)


TracedArray.__pow__ = _pow  # type: ignore[method-assign,assignment]
TracedArray.__ipow__ = _ipow  # type: ignore[method-assign,assignment]

from . import dispatch as _dispatch  # noqa: E402  (dispatch imports TracedArray)
from . import views  # noqa: E402  (views imports TracedArray)
