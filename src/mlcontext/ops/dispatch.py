"""The one tracing pipeline: every traced operation passes through here, and is executed in one place.

``ufunc_call`` (NEP 13), ``function_call`` (NEP 18), ``method_call`` and ``inplace_call`` turn a NumPy
call into ``(opcode, input items, literals)``, make its lineage item, then run it through the executor
— the single point where a traced operation runs, so the reuse layer can probe a cache by the item's
hash first (:func:`set_executor`). Functions without a registered operation are computed on plain
values with an opaque item and one :class:`~mlcontext.errors.UnhandledOperationWarning` per function.

This module owns the three things every traced kind shares; arrays (:mod:`.traced`), frames
(:mod:`.pandas_frame`), estimators (:mod:`.sklearn_steps`) and random generators (:mod:`.random`)
plug into it through this small public protocol, and no other module touches its internals:

* **Argument canonicalisation**: :class:`Args` turns a call's arguments into a literal tree and a
  tuple of input items (:meth:`Args.call`). A kind with arguments of its own (plain frames, callables,
  nested estimators) subclasses it and overrides :meth:`Args.canon`, handing everything it does not
  know to ``super().canon``. An argument without a literal form raises :class:`Uncanonical`: the
  caller then falls back to :func:`unhandled`.
* **Traced values**: a kind's wrapper class is registered with :func:`register_kind`. Its instances
  carry ``_item`` (their lineage item) and ``_value`` (their plain value); :class:`Args` makes them
  inputs and :func:`unhandled` reads their plain values. ``opaque=`` wraps the kind's results of an
  unhandled call.
* **Execution**: :func:`trace` canonicalises, makes the item and runs it; :func:`run` runs an item
  made by the caller through the installed executor; :func:`execute_uncached` runs one that must
  never be probed or cached.
* **The unhandled-call fallback**: :func:`unhandled`, the only one.

The hot paths — :func:`fast_ufunc` (ufuncs and the operators of :mod:`.traced`), the index path of
:func:`method_call` and the ``f(x)`` / ``f(x, axis=0, ...)`` paths of ``_run`` — write the literals of
the commonest calls directly; they must give the very item :class:`Args` gives
(``tests/lineage/test_fast_paths.py``).
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import FingerprintError, UnhandledOperationWarning
from ..fingerprint import hash_array
from ..fingerprint.arrays import USER_DTYPE
from ..lineage import nondeterminism
from ..lineage.dedup import bind
from ..lineage.item import DATA, Item, identity, leaf, make
from ..lineage.layout import layout_of
from ..lineage.leaves import array_sink
from ..lineage.leaves import describe as describe_constant
from ..lineage.literals import EMPTY_KWARGS, Node, float_node, ref, scalar
from ..lineage.operations import OPERATIONS, Operation, fresh_out
from ..lineage.patch import OUTPUT
from ..lineage.recompute import OPAQUE
from . import views
from .deferred import LIVE, Deferred, resolve_args
from .state import OpsState
from .traced import TracedArray

__all__ = [
    # the protocol every traced kind uses
    "Args", "Uncanonical", "register_kind", "trace", "run", "execute", "execute_uncached", "set_executor",
    "unhandled", "opaque", "unwrap", "warn_unhandled", "name_of",
    # NumPy calls
    "ufunc_call", "fast_ufunc", "function_call", "method_call", "inplace_call", "data_leaf", "wrap",
    "CALL_OPS", "HANDLED", "UFUNC_OPS", "INPLACE_FUNCS", "EMBED_MAX_BYTES",
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
    return op.fn(*args, **kwargs) if kwargs else op.fn(*args)


STATE = OpsState(execute)  # the ops layer's state (the executor read by every traced call)


def execute_uncached(op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
    """Run an operation whose result its lineage does not determine (an unseeded fit): never probed
    or cached, but the executor may still record it (the reuse layer counts it as computed)."""
    uncached = getattr(STATE.executor, "uncached", None)
    return execute(op, item, args, kwargs) if uncached is None else uncached(op, item, args, kwargs)


def set_executor(executor: Executor | None) -> Executor:
    """Replace the executor (e.g. by a cache probing ``item.hash`` first); return the old one."""
    old, STATE.executor = STATE.executor, executor or execute
    return old


def run(op: Operation, item: Item, args: tuple, kwargs: dict) -> Any:
    """Run ``op`` on plain ``args`` through the installed executor; ``item`` is its lineage item
    (the reuse layer probes its cache by ``item.digest``)."""
    return STATE.executor(op, item, args, kwargs)


def trace(op: Operation, args: tuple, kwargs: dict, args_type: type[Args] | None = None) -> tuple[Any, Item]:
    """Canonicalise ``op(*args, **kwargs)`` with ``args_type`` (default :class:`Args`), make its item
    and run it: ``(plain result, item)``.

    Raises
    ------
    Uncanonical
        An argument has no literal form (nothing was run; fall back to :func:`unhandled`).
    """
    col = (args_type or Args)()
    lit, plain_args, plain_kwargs = col.call(args, kwargs)
    item = make(op.opcode, tuple(col.items), lit)
    if op.traits.aliases_args:
        plain_args, plain_kwargs = _own_plain(plain_args, args, plain_kwargs, kwargs)
    return STATE.executor(op, item, plain_args, plain_kwargs), item


def _own_plain(plain_args: tuple, args: tuple, plain_kwargs: dict, kwargs: dict) -> tuple[tuple, dict]:
    """The arguments with the plain arrays the caller passed copied (positional and keyword), for an
    operation whose results may be views of its arguments (``np.broadcast_arrays(t, p)[1]`` is a view
    of the user's ``p``: ``p`` written later would change the result under its lineage, a newcomer's
    finding's sibling)."""
    own = tuple(a.copy(order="K") if type(a) is np.ndarray and a is given else a
                for a, given in zip(plain_args, args, strict=True))
    own_kw = dict(plain_kwargs)
    for k, v in plain_kwargs.items():
        if type(v) is np.ndarray and k in kwargs and kwargs[k] is v:
            own_kw[k] = v.copy(order="K")
    return own, own_kw


_ARRAYS = (np.ndarray, np.generic)
_OURS = (TracedArray, np.ndarray, np.generic)


class Uncanonical(Exception):  # noqa: N818 - a signal inside the pipeline, never seen by users
    """An argument has no literal form; the call falls back to an opaque item (:func:`unhandled`)."""


# Wrapper classes of the registered traced kinds (instances carry ``_item`` and ``_value``), and the
# functions that wrap their results of an unhandled call.
_KINDS: set[type] = set()
_OPAQUE_WRAPPERS: list[Callable[[str, Any, tuple[Item, ...]], Any]] = []


def register_kind(types: tuple[type, ...], opaque: Callable[[str, Any, tuple[Item, ...]], Any] | None = None,
                  ) -> None:
    """Plug a traced kind into the pipeline.

    Parameters
    ----------
    types : tuple of type
        The kind's wrapper classes. Their instances carry ``_item`` (their lineage
        :class:`~mlcontext.lineage.item.Item`) and ``_value`` (their plain value): :class:`Args`
        turns them into input references, :func:`unhandled` into their plain values.
    opaque : callable, optional
        ``opaque(name, result, inputs)``: the traced wrapper of a result of this kind computed by an
        unhandled call named ``name`` (an opaque item identified by its content), or ``None`` when
        ``result`` is not of this kind.
    """
    _KINDS.update(types)
    if opaque is not None and opaque not in _OPAQUE_WRAPPERS:
        _OPAQUE_WRAPPERS.append(opaque)


class Args:
    """Collects the input items of one call while its arguments are turned into literals.

    Traced values become input references (``("r", k)``: the k-th of :attr:`items`, each item
    once), plain arrays content-hashed data leaves, Python and NumPy scalars, slices, tuples, lists
    and string-keyed dicts literal nodes. A kind with arguments of its own subclasses this class
    and overrides :meth:`canon`. One instance serves one call.

    Attributes
    ----------
    items : list of Item
        The input items, in order of first appearance.
    """

    __slots__ = ("items", "index")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.index: dict[int, int] = {}

    def input(self, item: Item) -> Node:
        """The reference node of input ``item`` (added to :attr:`items` on first use)."""
        key = identity(item)  # (not id(): see lineage.item.identity)
        k = self.index.get(key)
        if k is None:
            k = self.index[key] = len(self.items)
            self.items.append(item)
        return ref(k)

    def canon(self, x: Any) -> tuple[Node, Any]:
        """``(literal node, plain value)`` of one argument.

        Raises
        ------
        Uncanonical
            ``x`` has no literal form.
        """
        t = type(x)
        if t is TracedArray:
            return self.input(x._item), x._data
        make_node = _SCALAR_NODES.get(t)
        if make_node is not None:
            return make_node(x), x
        if t is tuple or t is list:  # (a stack's blocks: traced ones inline, as call() does)
            nodes, plain = [], []
            direct = type(self) is Args
            for v in x:
                if direct and type(v) is TracedArray:
                    nodes.append(self.input(v._item))
                    plain.append(v._data)
                else:
                    part, value = self.canon(v)
                    nodes.append(part)
                    plain.append(value)
            return ("T" if t is tuple else "L", tuple(nodes)), (tuple(plain) if t is tuple else plain)
        if t is slice:
            parts = [self.canon(v) for v in (x.start, x.stop, x.step)]
            return ("S", tuple(p[0] for p in parts)), slice(*(p[1] for p in parts))
        if t is dict:
            return self.canon_kwargs(x)
        if t in _KINDS:
            return self.input(x._item), x._value
        if isinstance(x, np.ndarray):
            try:
                return self.input(data_leaf(x)), x
            except FingerprintError:  # an object array of values without fingerprint: opaque
                raise Uncanonical("object array") from None
        try:
            node = scalar(x)
        except TypeError:
            node = None
        if node is None:
            raise Uncanonical(t.__name__)
        return node, x

    def canon_kwargs(self, kwargs: dict) -> tuple[Node, dict]:
        """``(dict node, plain dict)`` of keyword arguments (string keys; the node sorts them).

        Values are canonicalised in the caller's order (which numbers their inputs), the node lists
        them by key.
        """
        if not kwargs:
            return EMPTY_KWARGS, {}
        nodes: dict[str, Node] = {}
        plain: dict[str, Any] = {}
        canon = self.canon
        direct = type(self) is Args  # (see call)
        for k, v in kwargs.items():
            if type(k) is not str:
                raise Uncanonical("non-string keys")
            encode = _SCALAR_NODES.get(type(v)) if direct else None
            if encode is not None:
                nodes[k], plain[k] = encode(v), v
            else:
                nodes[k], plain[k] = canon(v)
        return ("D", tuple([(k, nodes[k]) for k in sorted(nodes)])), plain

    def call(self, args: tuple, kwargs: dict, leading: tuple[Item, ...] = ()) -> tuple[Node, tuple, dict]:
        """``(call literal, plain args, plain kwargs)``: the literal is
        ``("T", (("T", positional nodes), kwargs node))``.

        ``leading`` items are inputs that come first, before ``args`` (a generator's state, an
        estimator's fit): their references head the positional nodes; they have no plain value.
        """
        nodes = [self.input(i) for i in leading] if leading else []
        plain = []
        canon = self.canon
        direct = type(self) is Args  # (a subclass may encode even these its own way)
        for a in args:
            t = type(a)
            if direct:  # the commonest arguments, encoded as canon() would, without the call
                if t is TracedArray:
                    nodes.append(self.input(a._item))
                    plain.append(a._data)
                    continue
                encode = _SCALAR_NODES.get(t)
                if encode is not None:
                    nodes.append(encode(a))
                    plain.append(a)
                    continue
            node, value = canon(a)
            nodes.append(node)
            plain.append(value)
        kw_node, plain_kw = self.canon_kwargs(kwargs) if kwargs else (EMPTY_KWARGS, {})
        return ("T", (("T", tuple(nodes)), kw_node)), tuple(plain), plain_kw


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
    lit = _content_fields(value, content)
    extra: dict[str, Any] | None = None
    # Only plain dtypes are embedded: an object array's bytes are pointers, and a record dtype's
    # ``str`` ('|V16') could not rebuild its fields, nor could another package's dtype's (bfloat16's
    # is '<V2').
    plain = not value.dtype.hasobject and value.dtype.fields is None and value.dtype.isbuiltin != USER_DTYPE
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


def note_plain(item: Item) -> None:
    """A traced value with lineage ``item`` was taken out of lineage (``np.asarray``, ``to_pandas()``):
    told to the use hook as ``"plain"``, so that a registered test split it came from counts as
    evaluated if the run finishes (code mlcontext cannot see may evaluate it: a newcomer's plain model
    scored ``te.to_pandas()``, and ``testuse`` never counted the split)."""
    hook = STATE.use_hook
    if hook is not None:
        hook("plain", None, (item,))


def hold(value: np.ndarray) -> None:
    """Note that ``value`` is the memory of a traced leaf that mlcontext made read-only and that
    nothing writes (``mc.array``'s own copy; ``mc.asarray``'s input, whose owner is asked not to make
    it writable again). Only such memory may be read after the call that was given it (a deferred
    stack): a plain array that is read-only can be made writable again by its owner and written
    (a newcomer's column, frozen by its own code, went stale inside a stack; see
    ``reuse.executor._may_change``)."""
    key, held = id(value), STATE.held

    def forget(_ref: weakref.ReferenceType[Any]) -> None:
        held.pop(key, None)

    held[key] = weakref.ref(value, forget)


def is_held(value: np.ndarray) -> bool:
    """Whether :func:`hold` was told of ``value`` (this very array, not one at the same address)."""
    ref = STATE.held.get(id(value))
    return ref is not None and ref() is value


def _content_fields(value: np.ndarray, content: str) -> Node:
    """The literal of an array identified by content: dtype, hash, shape and, when it is not in C
    order, its layout (NumPy's results follow it: see :mod:`mlcontext.lineage.layout`)."""
    dtype = value.dtype
    # (StringDType: NumPy 2.0's str is '|T16' for every na_object, which no parser reads back; its repr
    # names them, and later NumPys give the two alike)
    text = repr(dtype) if dtype.kind == "T" else dtype.str
    head: tuple[tuple[str, Node], ...] = (("dtype", ("s", text)), ("hash", ("s", content)))
    layout = layout_of(value)
    if layout is not None:
        head += (("layout", ("s", layout)),)
    return ("D", (*head, ("shape", _shape_node(value.shape))))


@functools.lru_cache(maxsize=1024)
def _shape_node(shape: tuple[int, ...]) -> Node:
    """The literal of a shape; the same few shapes recur, so each node is built once."""
    return ("T", tuple(("i", int(n)) for n in shape))


# content hash (dtype and shape included) -> its recipe or None: a loop adding ``lam * np.eye(d)``
# for one lam after another compares each distinct constant with its recipe once, not per call.
_RECIPES: dict[str, Node | None] = {}
_RECIPES_MAX = 4096


def verified_recipe(leaf: Item) -> Node | None:
    """The recipe of a data leaf's array as this process matched it against the array's bytes
    (:func:`data_leaf`), by the content hash in the leaf's literal; None for an array that is no
    constant, or whose recipe only a lineage log claims (a leaf read from a log keeps the log's
    ``extra``, unchecked until recompute rebuilds it), or that was not seen lately (bounded).

    Callers that use a recipe instead of the array's own elements (the reuse layer's deferred
    stacks and column sums) must read it here, not from ``leaf.extra``."""
    literal = leaf.literals
    if leaf.opcode != DATA or literal[0] != "D":
        return None
    for name, node in literal[1]:
        if name == "hash" and node[0] == "s":
            return _RECIPES.get(node[1])
    return None


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
    t = type(result)
    if t is np.ndarray or t is Deferred or isinstance(result, _ARRAYS):  # (the exact types first: most)
        return TracedArray(result, item)
    if isinstance(result, tuple | list) and any(isinstance(r, _ARRAYS) for r in result):
        parts = [TracedArray(r, make(OUTPUT, (item,), ("k", k)))
                 if isinstance(r, _ARRAYS) else r for k, r in enumerate(result)]
        if hasattr(result, "_fields"):  # named results (eigh, svd, slogdet)
            return type(result)(*parts)
        return type(result)(parts)
    return result


def _run(op: Operation, args: tuple, kwargs: dict) -> tuple[Any, Item]:
    if len(args) == 1 and type(args[0]) is TracedArray:
        if not kwargs:  # f(x): no literals
            item = make(op.opcode, (args[0]._item,), _LIT_R0)
            return STATE.executor(op, item, (args[0]._data,), {}), item
        kw_node = _scalar_kwargs(kwargs)
        if kw_node is not None:  # f(x, axis=0, keepdims=True): keywords of plain scalars
            item = make(op.opcode, (args[0]._item,), ("T", (_ARGS_R0, kw_node)))
            return STATE.executor(op, item, (args[0]._data,), kwargs), item
    col = Args()
    lit, plain_args, plain_kwargs = col.call(args, kwargs)
    item = make(op.opcode, tuple(col.items), lit)
    if op.traits.aliases_args:
        plain_args, plain_kwargs = _own_plain(plain_args, args, plain_kwargs, kwargs)
    if plain_kwargs.get("out") is not None:  # computed into a copy; the target is rebound after
        plain_kwargs["out"] = fresh_out(plain_kwargs["out"], op.fresh_out)
    return STATE.executor(op, item, plain_args, plain_kwargs), item


# Questions about memory, not values (scikit-learn asks them before it copies): answered on the traced
# values' buffers as NumPy would, with no lineage (a lineage describes values) and no warning. Never
# cached or replayed: two evaluations of one lineage may or may not share memory.
MEMORY_QUESTIONS = frozenset({np.may_share_memory, np.shares_memory})


def function_call(func: Any, args: tuple, kwargs: dict) -> Any:
    """A NumPy function called with traced arguments (``__array_function__``)."""
    op = HANDLED.get(func)
    if op is None:
        opcode = INPLACE_FUNCS.get(func)
        if opcode is not None:
            return inplace_call(opcode, args[0], args[1:], kwargs)
        if func in MEMORY_QUESTIONS:  # about buffers, not values: answered on them, no lineage
            return func(*unwrap(args, []), **unwrap(kwargs, []))
        return unhandled(func, args, kwargs)
    _check_out(kwargs)
    try:
        result, item = _run(op, args, kwargs)
    except Uncanonical:
        return unhandled(func, args, kwargs)
    out = kwargs.get("out")
    if out is not None:
        return _write_out(out, result, item)
    name = VIEW_FUNCTIONS.get(func)
    if name is not None:  # np.transpose(a), np.reshape(a, s) ...: views, written back (.views)
        return views.note_call(name, wrap(result, item), args, kwargs)
    return wrap(result, item)


# NumPy functions whose result is a view of their first argument (when NumPy can make one) -> the
# name ops.views knows them by.
VIEW_FUNCTIONS = {f: f"np.{f.__name__}" for f in (
    np.transpose, np.swapaxes, np.moveaxis, np.reshape, np.ravel, np.squeeze, np.expand_dims,
    np.atleast_1d, np.atleast_2d, np.atleast_3d, np.real, np.imag, np.flip, np.fliplr, np.flipud,
    np.rot90, np.diagonal, np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit)}


def _basic_index(key: Any) -> bool:
    """Whether ``x[key]`` is basic indexing (ints, slices, ``None``, ``...``): a view in NumPy."""
    for k in key if type(key) is tuple else (key,):
        if not (k is None or k is Ellipsis or type(k) is slice
                or (isinstance(k, int | np.integer) and not isinstance(k, bool | np.bool_))):
            return False
    return True


def method_call(name: str, self: TracedArray, args: tuple, kwargs: dict) -> Any:
    """An ndarray method on a traced array."""
    op = _METHOD_OPS.get(name)
    if op is None:
        op = _METHOD_OPS[name] = OPERATIONS["numpy.ndarray." + name]
    if len(args) == 1 and not kwargs:
        node = _index_node(args[0])
        if node is not None:  # x[i], x[a:b], x[i, :], x.reshape(n) ...: no collection needed
            item = make(op.opcode, (self._item,), ("T", (("T", (_R0, node)), EMPTY_KWARGS)))
            result = wrap(STATE.executor(op, item, (self._data, args[0]), {}), item)
            if name == "__getitem__":  # a basic index: a view, written back when written (.views)
                return views.note(result, self, views.INDEX, args[0])
            return views.note_call(name, result, (self, *args), kwargs)
    _check_out(kwargs)
    try:
        result, item = _run(op, (self, *args), kwargs)
    except Uncanonical:
        return unhandled(getattr(np.ndarray, name), (self, *args), kwargs)
    out = kwargs.get("out")
    if out is not None:
        return _write_out(out, result, item)
    result = wrap(result, item)
    if name == "__getitem__":
        return views.note(result, self, views.INDEX, args[0]) if _basic_index(args[0]) else result
    return views.note_call(name, result, (self, *args), kwargs)


_METHOD_OPS: dict[str, Operation] = {}  # method name -> its operation (no string built per call)


def inplace_call(opcode: str, target: Any, args: tuple, kwargs: dict) -> None:
    """An in-place operation: computed on a copy, then ``target`` is rebound to the new version."""
    op = OPERATIONS[opcode]
    if type(target) is TracedArray:
        views.check_writable(target)  # (a view: refused where it cannot be written back)
    result, item = _run(op, (target, *args), kwargs)
    _rebind(target, result, item)


def _rebind(target: Any, value: Any, item: Item) -> None:
    if type(target) is TracedArray:
        target._value = value
        bind(target, item)
        views.after_write(target)  # a view's parent gets the new values; its views are taken again
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
    _check_out(kwargs)
    try:
        result, item = _run(op, inputs, kwargs)
    except Uncanonical:
        if out is None:
            return unhandled(bound, inputs, kwargs)
        return _unhandled_into(bound, inputs, kwargs, out)
    if out is None:
        return wrap(result, item)
    return _write_out(out, result, item)


def _unhandled_into(bound: Any, inputs: tuple, kwargs: dict, out: Any) -> Any:
    """An unhandled ufunc call with ``out=`` (``t += array.array("d", ...)``): computed into copies
    of the traced targets, whose own values are read-only (NumPy raised "output array is read-only"
    where it adds in place), then each traced target is rebound to what was written there."""
    targets = out if isinstance(out, tuple) else (out,)
    fresh = tuple(np.array(t._value, copy=True, order="K") if type(t) is TracedArray else t for t in targets)
    result = unhandled(bound, inputs, {**kwargs, "out": fresh if isinstance(out, tuple) else fresh[0]},
                       stacklevel=5)
    results = result if isinstance(result, tuple) and isinstance(out, tuple) else (result,)
    returned = []
    for target, value in zip(targets, results, strict=True):
        if type(target) is TracedArray and type(value) is TracedArray:
            _rebind(target, value._value, value._item)
            value = target
        returned.append(value)
    return returned[0] if len(returned) == 1 else tuple(returned)


def _scalar_kwargs(kwargs: dict) -> Node | None:
    """The dict node of keywords that are all plain scalars (as :meth:`Args.canon_kwargs` writes it),
    or None."""
    pairs = []
    for k in sorted(kwargs):
        v = kwargs[k]
        encode = _SCALAR_NODES.get(type(v))
        if encode is None:
            return None
        pairs.append((k, encode(v)))
    return ("D", tuple(pairs))


_ARGS_R0 = ("T", (ref(0),))
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
            return wrap(STATE.executor(op, item, (x._data, y._data), {}), item)
        if tx is TracedArray and ty in _SCALAR_NODES:
            lit = ("T", (("T", (_R0, _SCALAR_NODES[ty](y))), EMPTY_KWARGS))
            item = make(op.opcode, (x._item,), lit)
            return wrap(STATE.executor(op, item, (x._data, y), {}), item)
        if ty is TracedArray and tx in _SCALAR_NODES:
            lit = ("T", (("T", (_SCALAR_NODES[tx](x), _R0)), EMPTY_KWARGS))
            item = make(op.opcode, (y._item,), lit)
            return wrap(STATE.executor(op, item, (x, y._data), {}), item)
    elif len(inputs) == 1 and type(inputs[0]) is TracedArray:
        x = inputs[0]
        item = make(op.opcode, (x._item,), _LIT_R0)
        return wrap(STATE.executor(op, item, (x._data,), {}), item)
    for x in inputs:
        if not isinstance(x, _OURS) and hasattr(x, "__array_ufunc__"):
            return NotImplemented
    try:
        result, item = _run(op, inputs, {})
    except Uncanonical:
        return unhandled(op.fn, inputs, {})
    return wrap(result, item)


_R0 = ref(0)


def _slice_node(key: slice) -> Node | None:
    """The literal of a slice of ints or None (``a:b``, ``:k``, ``::2``), or None for other bounds."""
    start, stop, step = key.start, key.stop, key.step
    if step is None:  # the common forms, as the general loop below writes them
        if start is None:
            if stop is None:
                return _ALL_SLICE
            return ("S", (_NONE, ("i", stop), _NONE)) if type(stop) is int else None
        if type(start) is not int:
            return None
        if stop is None:
            return ("S", (("i", start), _NONE, _NONE))
        return ("S", (("i", start), ("i", stop), _NONE)) if type(stop) is int else None
    parts: list[Node] = []
    for p in (start, stop, step):
        if p is None:
            parts.append(_NONE)
        elif type(p) is int:
            parts.append(("i", p))
        else:
            return None
    return ("S", tuple(parts))


def _index_node(key: Any) -> Node | None:
    """The literal of a simple index or scalar argument (ints, slices of ints, None, ...), or None."""
    t = type(key)
    if t is int:
        return ("i", key)
    if t is slice:
        return _slice_node(key)
    if t is tuple:
        nodes = []
        for k in key:  # (x[:, a:b], x[i, :]: slices inline, without a call per element)
            tk = type(k)
            node = _slice_node(k) if tk is slice else ("i", k) if tk is int else \
                _index_node(k) if tk is not tuple else None
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
_ALL_SLICE = ("S", (_NONE, _NONE, _NONE))


def _check_out(kwargs: dict) -> None:
    """Refuse, before computing, an ``out=`` that is a view which cannot be written (.views)."""
    out = kwargs.get("out")
    if out is not None:
        for target in out if isinstance(out, tuple) else (out,):
            if type(target) is TracedArray:
                views.check_writable(target)


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


# -- the unhandled-call fallback -----------------------------------------------------------------

def name_of(func: Any) -> str:
    """The stable name of a callable in lineage and warnings (``numpy.packbits``)."""
    module = getattr(func, "__module__", None) or "numpy"
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{module}.{name}"


def unhandled(func: Callable[..., Any], args: tuple, kwargs: dict, *, name: str | None = None,
              stacklevel: int = 4) -> Any:
    """Compute ``func`` on plain values: the one fallback for calls the pipeline cannot trace.

    Traced arguments of every registered kind are replaced by their plain values; the result's
    traced parts get opaque items that record those inputs and the result's own content hash
    (:func:`opaque`). Warns once per ``name`` (default: :func:`name_of` ``func``); ``stacklevel``
    counts the frames from this function up to the user's call.
    """
    name = name or name_of(func)
    nondeterminism.note(f"opaque fallback {name}")  # a step running this is not reused (issue 4)
    found: list[Item] = []
    plain_args = unwrap(args, found)
    plain_kwargs = unwrap(kwargs, found)
    raw = _unaliased(func(*plain_args, **plain_kwargs), [*args, *kwargs.values()])
    result = opaque(name, raw, tuple(dict.fromkeys(found)))
    warn_unhandled(name, result, stacklevel=stacklevel)
    return result


def _unaliased(result: Any, given: list) -> Any:
    """``result`` with each array that may share memory with a plain array the caller passed copied:
    the opaque item identifies it by its content now, and the caller may write that array later.
    (A traced argument's memory is mlcontext's own and never written, so only plain ones count.)"""
    def own(r: Any) -> Any:
        return r.copy(order="K") if isinstance(r, np.ndarray) and shares_memory(r, given) else r

    if isinstance(result, tuple | list) and not hasattr(result, "_fields"):
        return type(result)(own(r) for r in result)
    return own(result)


def shares_memory(value: np.ndarray, args: Any) -> bool:
    """Whether an array among ``args`` (lists and tuples followed, at any depth) may share memory with
    ``value``: the one test of "could writing an argument change this value" for the dispatcher (an
    unhandled call's outputs) and for the reuse cache (a value it admits)."""
    for a in args:
        t = type(a)
        if t is np.ndarray or (t is not list and t is not tuple and isinstance(a, np.ndarray)):
            if a is value or np.may_share_memory(value, a):
                return True
        elif isinstance(a, list | tuple):
            if shares_memory(value, a):
                return True
    return False


def warn_unhandled(name: str, result: Any, stacklevel: int) -> None:
    """Warn once per unhandled function, unless it returned nothing: a sink (``np.save``, ``to_csv``)
    has no result whose lineage could be imprecise. Plain values taken out of traced data
    (``to_dict``, ``tolist``) do warn: whatever is computed from them loses its lineage."""
    if name in STATE.warned or result is None:
        return
    STATE.warned.add(name)
    warnings.warn(f"{name} is not traced precisely: computed on plain values with an opaque "
                  "lineage item (recompute needs its output by content hash)",
                  UnhandledOperationWarning, stacklevel=stacklevel + 1)


def unwrap(x: Any, found: list[Item]) -> Any:
    """``x`` with traced values (of any registered kind, inside lists, tuples and dicts too)
    replaced by their plain values; their items are appended to ``found``."""
    t = type(x)
    if t is TracedArray or t in _KINDS:
        found.append(x._item)
        return x._value
    if t is list or t is tuple:
        return t(unwrap(v, found) for v in x)
    if t is dict:
        return {k: unwrap(v, found) for k, v in x.items()}
    return x


def opaque(name: str, result: Any, inputs: tuple[Item, ...]) -> Any:
    """``result`` of the unhandled call ``name`` with opaque items for its traced parts: a result of
    a registered kind by that kind's ``opaque=`` wrapper (:func:`register_kind`), arrays (alone or
    in a tuple or list) here."""
    for wrapper in _OPAQUE_WRAPPERS:
        wrapped = wrapper(name, result, inputs)
        if wrapped is not None:
            return wrapped
    return _opaque_arrays(name, result, inputs)


def _opaque_arrays(name: str, result: Any, inputs: tuple[Item, ...]) -> Any:
    if isinstance(result, np.ndarray | np.generic) and not np.asarray(result).dtype.hasobject:
        arr = np.asarray(result)
        fields = _content_fields(arr, hash_array(arr))
        return TracedArray(result, make(OPAQUE, inputs, ("T", (("s", name), fields))))
    if isinstance(result, tuple | list) and not hasattr(result, "_fields"):
        return type(result)(_opaque_arrays(name, r, inputs) for r in result)
    if hasattr(result, "_fields"):
        return type(result)(*(_opaque_arrays(name, r, inputs) for r in result))
    return result


register_kind((TracedArray,))
