"""The dispatcher: every traced operation passes through here, and is executed in one place.

``ufunc_call`` (NEP 13), ``function_call`` (NEP 18), ``method_call`` and ``inplace_call`` turn a call
into ``(opcode, input items, literals)``, make its lineage item, then run it with :func:`execute` — the
single point where a traced operation runs, so the reuse layer can probe a cache by the item's hash first
(:func:`set_executor`). Functions without a registered operation are computed on plain values with an
opaque item and one :class:`~mlcontext.errors.UnhandledOperationWarning` per function.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import FingerprintError, UnhandledOperationWarning
from ..fingerprint import hash_array
from ..lineage import nondeterminism
from ..lineage.dedup import bind
from ..lineage.item import DATA, Item, leaf, make
from ..lineage.leaves import array_sink
from ..lineage.leaves import describe as describe_constant
from ..lineage.literals import EMPTY_KWARGS, Node, float_node, ref, scalar
from ..lineage.operations import OPERATIONS, Operation, fresh_out
from ..lineage.patch import OUTPUT
from ..lineage.recompute import OPAQUE
from .deferred import LIVE, Deferred, resolve_args
from .traced import TracedArray

__all__ = [
    "execute", "execute_uncached", "set_executor", "ufunc_call", "fast_ufunc", "CALL_OPS", "function_call",
    "method_call",
    "inplace_call",
    "data_leaf", "wrap", "HANDLED", "UFUNC_OPS", "INPLACE_FUNCS", "EMBED_MAX_BYTES",
]

# Plain arrays mixed into traced code up to this size are embedded in the log.
EMBED_MAX_BYTES = 4096

HANDLED: dict[Any, Operation] = {}  # NumPy function object -> operation (filled by .numpy_api)
UFUNC_OPS: dict[tuple[np.ufunc, str], Operation] = {}  # (ufunc, method) -> operation
CALL_OPS: dict[np.ufunc, Operation] = {}  # ufunc -> operation of a plain call (the hot path)
# In-place NumPy functions (np.copyto ...) -> opcode of their functional version.
INPLACE_FUNCS: dict[Any, str] = {}

Executor = Callable[[Operation, Item, tuple, dict], Any]


def execute(op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
    """Run one traced operation on plain values (the default executor).

    Executors receive the arrays' data as it is: a deferred value (:mod:`.deferred`, made only by
    the reuse layer) must be computed before an operation that needs its elements.
    """
    if LIVE[0]:
        return op.fn(*resolve_args(args), **resolve_args(kwargs))
    return op.fn(*args, **kwargs)


_executor: Executor = execute


def execute_uncached(op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
    """Run an operation whose result its lineage does not determine (an unseeded fit): never probed
    or cached, but the executor may still record it (the reuse layer counts it as computed)."""
    uncached = getattr(_executor, "uncached", None)
    return execute(op, item, args, kwargs) if uncached is None else uncached(op, item, args, kwargs)


def set_executor(executor: Executor | None) -> Executor:
    """Replace the executor (e.g. by a cache probing ``item.hash`` first); return the old one."""
    global _executor
    old, _executor = _executor, executor or execute
    return old


_ARRAYS = (np.ndarray, np.generic)
_OURS = (TracedArray, np.ndarray, np.generic)


class _Uncanonical(Exception):
    """An argument has no literal form; the call falls back to an opaque item."""


class _Args:
    """Collects the input items of a call while its arguments are turned into literals."""

    __slots__ = ("items", "index")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.index: dict[int, int] = {}

    def input(self, item: Item) -> Node:
        k = self.index.get(id(item))
        if k is None:
            k = self.index[id(item)] = len(self.items)
            self.items.append(item)
        return ref(k)

    def canon(self, x: Any) -> tuple[Node, Any]:
        """``(literal node, plain value)`` of one argument."""
        t = type(x)
        if t is TracedArray:
            return self.input(x._item), x._data
        node = _SCALAR_NODES.get(t)
        if node is not None:
            return node(x), x
        if t is tuple or t is list:
            pairs = [self.canon(v) for v in x]
            return ("T" if t is tuple else "L", tuple(p[0] for p in pairs)), t(p[1] for p in pairs)
        if t is slice:
            parts = [self.canon(v) for v in (x.start, x.stop, x.step)]
            return ("S", tuple(p[0] for p in parts)), slice(*(p[1] for p in parts))
        if t is dict:
            return self.canon_kwargs(x)
        if isinstance(x, np.ndarray):
            try:
                return self.input(data_leaf(x)), x
            except FingerprintError:  # an object array of values without fingerprint: opaque
                raise _Uncanonical("object array") from None
        try:
            node = scalar(x)
        except TypeError:
            node = None
        if node is None:
            raise _Uncanonical(t.__name__)
        return node, x

    def canon_kwargs(self, kwargs: dict) -> tuple[Node, dict]:
        if not kwargs:
            return EMPTY_KWARGS, {}
        if not all(type(k) is str for k in kwargs):
            raise _Uncanonical("non-string keys")
        pairs = {k: self.canon(v) for k, v in kwargs.items()}
        node = ("D", tuple((k, pairs[k][0]) for k in sorted(pairs)))
        return node, {k: p[1] for k, p in pairs.items()}

    def call(self, args: tuple, kwargs: dict) -> tuple[Node, tuple, dict]:
        pairs = [self.canon(a) for a in args]
        kw_node, plain_kw = self.canon_kwargs(kwargs)
        node = ("T", (("T", tuple(p[0] for p in pairs)), kw_node))
        return node, tuple(p[1] for p in pairs), plain_kw


_SCALAR_NODES: dict[type, Callable[[Any], Node]] = {
    int: lambda v: ("i", v),
    bool: lambda v: ("b", v),
    str: lambda v: ("s", v),
    type(None): lambda v: ("n", None),
    float: float_node,
    np.float64: scalar,  # type: ignore[dict-item]
    type(Ellipsis): lambda v: ("E", None),
}


def data_leaf(value: np.ndarray, label: str | None = None, *, embed: bool = True) -> Item:
    """The leaf item of an array identified by its content hash (small ones embedded in the log).

    Raises
    ------
    FingerprintError
        An object array holds an element without fingerprint (see
        :func:`mlcontext.fingerprint.hash_array`).
    """
    content = hash_array(value)
    lit = ("D", (("dtype", ("s", value.dtype.str)), ("hash", ("s", content)),
                 ("shape", ("T", tuple(("i", int(n)) for n in value.shape)))))
    extra = None
    # Only plain dtypes are embedded: an object array's bytes are pointers, and a record dtype's
    # ``str`` ('|V16') could not rebuild its fields.
    plain = not value.dtype.hasobject and value.dtype.fields is None
    if not embed or not plain:  # data the user handed in (mc.array): taken from inputs= by name
        pass
    elif value.nbytes <= EMBED_MAX_BYTES:
        extra = {"data": np.ascontiguousarray(value).tobytes()}
    else:  # a plain array mixed into traced code: the log must rebuild it without the user's help
        recipe = _recipe(value, content)  # np.ones, lam * np.eye(d), np.arange: by constructor
        if recipe is not None:
            extra = {"recipe": recipe}
        elif (sink := array_sink()) is not None:
            sink(value, content)  # a run is active: the store keeps it for mc.recompute
    return leaf(DATA, lit, label, extra)


# content hash (dtype and shape included) -> its recipe or None: a loop adding ``lam * np.eye(d)``
# for one lam after another compares each distinct constant with its recipe once, not per call.
_RECIPES: dict[str, Node | None] = {}
_RECIPES_MAX = 4096


def _recipe(value: np.ndarray, content: str) -> Node | None:
    if content in _RECIPES:
        return _RECIPES[content]
    if len(_RECIPES) >= _RECIPES_MAX:
        _RECIPES.clear()
    recipe = _RECIPES[content] = describe_constant(value)
    return recipe


def wrap(result: Any, item: Item) -> Any:
    """Traced arrays for the array parts of a result; each output of a multi-output call has
    its own item."""
    if isinstance(result, _ARRAYS) or type(result) is Deferred:
        return TracedArray(result, item)
    if isinstance(result, tuple | list) and any(isinstance(r, _ARRAYS) for r in result):
        parts = [TracedArray(r, make(OUTPUT, (item,), ("k", k)))
                 if isinstance(r, _ARRAYS) else r for k, r in enumerate(result)]
        if hasattr(result, "_fields"):  # named results (eigh, svd, slogdet)
            return type(result)(*parts)
        return type(result)(parts)
    return result


def _run(op: Operation, args: tuple, kwargs: dict) -> tuple[Any, Item]:
    if not kwargs and len(args) == 1 and type(args[0]) is TracedArray:  # f(x): no literals
        item = make(op.opcode, (args[0]._item,), _LIT_R0)
        return _executor(op, item, (args[0]._data,), {}), item
    col = _Args()
    lit, plain_args, plain_kwargs = col.call(args, kwargs)
    item = make(op.opcode, tuple(col.items), lit)
    if plain_kwargs.get("out") is not None:  # computed into a copy; the target is rebound after
        plain_kwargs["out"] = fresh_out(plain_kwargs["out"], op.fresh_out)
    return _executor(op, item, plain_args, plain_kwargs), item


def function_call(func: Any, args: tuple, kwargs: dict) -> Any:
    """A NumPy function called with traced arguments (``__array_function__``)."""
    op = HANDLED.get(func)
    if op is None:
        opcode = INPLACE_FUNCS.get(func)
        if opcode is not None:
            return inplace_call(opcode, args[0], args[1:], kwargs)
        return unhandled(func, args, kwargs)
    try:
        result, item = _run(op, args, kwargs)
    except _Uncanonical:
        return unhandled(func, args, kwargs)
    out = kwargs.get("out")
    return wrap(result, item) if out is None else _write_out(out, result, item)


def method_call(name: str, self: TracedArray, args: tuple, kwargs: dict) -> Any:
    """An ndarray method on a traced array."""
    op = OPERATIONS["numpy.ndarray." + name]
    if len(args) == 1 and not kwargs:
        node = _index_node(args[0])
        if node is not None:  # x[i], x[a:b], x[i, :], x.reshape(n) ...: no collection needed
            item = make(op.opcode, (self._item,), ("T", (("T", (_R0, node)), EMPTY_KWARGS)))
            return wrap(_executor(op, item, (self._data, args[0]), {}), item)
    try:
        result, item = _run(op, (self, *args), kwargs)
    except _Uncanonical:
        return unhandled(getattr(np.ndarray, name), (self, *args), kwargs)
    out = kwargs.get("out")
    return wrap(result, item) if out is None else _write_out(out, result, item)


def inplace_call(opcode: str, target: Any, args: tuple, kwargs: dict) -> None:
    """An in-place operation: computed on a copy, then ``target`` is rebound to the new version."""
    op = OPERATIONS[opcode]
    result, item = _run(op, (target, *args), kwargs)
    _rebind(target, result, item)


def _rebind(target: Any, value: Any, item: Item) -> None:
    if type(target) is TracedArray:
        target._value = value
        bind(target, item)
    else:  # a plain ndarray written through: keep NumPy's semantics for it
        np.copyto(target, value)


# -- ufuncs ---------------------------------------------------------------------------------------

def ufunc_call(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """A ufunc (or one of its methods) called with traced arguments (``__array_ufunc__``)."""
    if method == "__call__" and not kwargs:
        op = CALL_OPS.get(ufunc)
        if op is not None:
            return fast_ufunc(op, inputs)
    for x in inputs:
        if not isinstance(x, _OURS) and hasattr(x, "__array_ufunc__"):
            return NotImplemented  # another duck array: let it decide (NEP 13)
    op = UFUNC_OPS.get((ufunc, method))
    bound = ufunc if method == "__call__" else getattr(ufunc, method)
    if op is None or ("where" in kwargs and "out" not in kwargs and method == "__call__"):
        # where= without out= leaves unmasked elements uninitialised: not a function of the inputs.
        return unhandled(bound, inputs, kwargs)
    if method == "at":
        return inplace_call(op.opcode, inputs[0], inputs[1:], kwargs)
    out = kwargs.get("out")
    try:
        result, item = _run(op, inputs, kwargs)
    except _Uncanonical:
        return unhandled(bound, inputs, kwargs)
    if out is None:
        return wrap(result, item)
    return _write_out(out, result, item)


_LIT_R0 = ("T", (("T", (ref(0),)), EMPTY_KWARGS))
_LIT_R01 = ("T", (("T", (ref(0), ref(1))), EMPTY_KWARGS))
_LIT_R00 = ("T", (("T", (ref(0), ref(0))), EMPTY_KWARGS))


def fast_ufunc(op: Operation, inputs: tuple) -> Any:
    """The hot path: a ufunc on traced arrays and Python scalars, without keywords."""
    if len(inputs) == 2:
        x, y = inputs
        tx, ty = type(x), type(y)
        if tx is TracedArray and ty is TracedArray:
            ix, iy = x._item, y._item
            if ix is iy:
                item = make(op.opcode, (ix,), _LIT_R00)
            else:
                item = make(op.opcode, (ix, iy), _LIT_R01)
            return _wrap1(_executor(op, item, (x._data, y._data), {}), item)
        if tx is TracedArray and ty in _SCALAR_NODES:
            lit = ("T", (("T", (_R0, _SCALAR_NODES[ty](y))), EMPTY_KWARGS))
            item = make(op.opcode, (x._item,), lit)
            return _wrap1(_executor(op, item, (x._data, y), {}), item)
        if ty is TracedArray and tx in _SCALAR_NODES:
            lit = ("T", (("T", (_SCALAR_NODES[tx](x), _R0)), EMPTY_KWARGS))
            item = make(op.opcode, (y._item,), lit)
            return _wrap1(_executor(op, item, (x, y._data), {}), item)
    elif len(inputs) == 1 and type(inputs[0]) is TracedArray:
        x = inputs[0]
        item = make(op.opcode, (x._item,), _LIT_R0)
        return _wrap1(_executor(op, item, (x._data,), {}), item)
    for x in inputs:
        if not isinstance(x, _OURS) and hasattr(x, "__array_ufunc__"):
            return NotImplemented
    try:
        result, item = _run(op, inputs, {})
    except _Uncanonical:
        return unhandled(op.fn, inputs, {})
    return wrap(result, item)


_R0 = ref(0)


def _index_node(key: Any) -> Node | None:
    """The literal of a simple index or scalar argument (ints, slices of ints, None, ...), or None."""
    t = type(key)
    if t is int:
        return ("i", key)
    if t is slice:
        parts = []
        for p in (key.start, key.stop, key.step):
            if p is None:
                parts.append(_NONE)
            elif type(p) is int:
                parts.append(("i", p))
            else:
                return None
        return ("S", tuple(parts))
    if t is tuple:
        nodes = []
        for k in key:
            node = _index_node(k) if type(k) is not tuple else None
            if node is None:
                return None
            nodes.append(node)
        return ("T", tuple(nodes))
    if key is None:
        return _NONE
    if key is Ellipsis:
        return _ELLIPSIS
    return None


_NONE = ("n", None)
_ELLIPSIS = ("E", None)


def _wrap1(result: Any, item: Item) -> Any:
    if type(result) is np.ndarray or type(result) is Deferred:
        return TracedArray(result, item)
    return wrap(result, item)


def _write_out(out: tuple, result: Any, item: Item) -> Any:
    results = result if isinstance(out, tuple) and len(out) > 1 else (result,)
    targets = out if isinstance(out, tuple) else (out,)
    returned = []
    for k, (target, value) in enumerate(zip(targets, results, strict=True)):
        its = item if len(targets) == 1 else make(OUTPUT, (item,), ("k", k))
        if target is None:
            returned.append(TracedArray(value, its))
        else:
            _rebind(target, value, its)
            returned.append(target if type(target) is TracedArray else TracedArray(value, its))
    return returned[0] if len(returned) == 1 else tuple(returned)


# -- unhandled functions
# ----------------------------------------------------------------------------

_warned: set[str] = set()


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{module}.{name}"


def unhandled(func: Any, args: tuple, kwargs: dict) -> Any:
    """Compute ``func`` on plain values; its array outputs get opaque items (content-hashed)."""
    name = _name(func)
    nondeterminism.note(f"opaque fallback {name}")  # a step running this is not reused (issue 4)
    found: list[Item] = []
    plain_args = _unwrap(args, found)
    plain_kwargs = _unwrap(kwargs, found)
    result = _wrap_opaque(name, func(*plain_args, **plain_kwargs), tuple(dict.fromkeys(found)))
    warn_unhandled(name, result, stacklevel=4)
    return result


def warn_unhandled(name: str, result: Any, stacklevel: int) -> None:
    """Warn once per unhandled function, unless it returned nothing: a sink (``np.save``, ``to_csv``)
    has no result whose lineage could be imprecise. Plain values taken out of traced data
    (``to_dict``, ``tolist``) do warn: whatever is computed from them loses its lineage."""
    if name in _warned or result is None:
        return
    _warned.add(name)
    warnings.warn(f"{name} is not traced precisely: computed on plain values with an opaque "
                  "lineage item (recompute needs its output by content hash)",
                  UnhandledOperationWarning, stacklevel=stacklevel + 1)



def _unwrap(x: Any, found: list[Item]) -> Any:
    if type(x) is TracedArray:
        found.append(x._item)
        return x._value
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v, found) for v in x)
    if type(x) is dict:
        return {k: _unwrap(v, found) for k, v in x.items()}
    return x


def _wrap_opaque(name: str, result: Any, inputs: tuple[Item, ...]) -> Any:
    if isinstance(result, np.ndarray | np.generic) and not np.asarray(result).dtype.hasobject:
        arr = np.asarray(result)
        fields = ("D", (("dtype", ("s", arr.dtype.str)), ("hash", ("s", hash_array(arr))),
                        ("shape", ("T", tuple(("i", int(n)) for n in arr.shape)))))
        return TracedArray(result, make(OPAQUE, inputs, ("T", (("s", name), fields))))
    if isinstance(result, tuple | list) and not hasattr(result, "_fields"):
        return type(result)(_wrap_opaque(name, r, inputs) for r in result)
    if hasattr(result, "_fields"):
        return type(result)(*(_wrap_opaque(name, r, inputs) for r in result))
    return result
