"""What a traced frame's attributes return when they are not plain operations: indexers (``df.loc``),
accessors (``s.str``), deferred objects (``df.groupby(...)``, ``rolling`` ...) and the methods with
a wrapper of their own (``pipe``, ``query``, ``eval``, ``pop``, ``sample``).

:data:`PROPERTIES` and :data:`SPECIAL` map opcodes to them; :mod:`mlcontext.ops` hands the tables to
traced frames (:func:`.pandas_frame.install`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..lineage import nondeterminism
from ..lineage.item import Item, make
from ..lineage.literals import Literals, Node
from ..lineage.operations import OPERATIONS
from . import pandas_frame as pf
from .dispatch import Uncanonical, unwrap, warn_unhandled
from .pandas_frame import _Traced, call
from .pandas_registry import ACCESSORS, DEFERRED, INDEXERS, ITERATE, KEYED, NESTED, deferred_call

__all__ = ["PROPERTIES", "SPECIAL"]


class _Indexer:
    """``df.loc`` / ``df.iloc`` / ``df.at`` / ``df.iat`` of a traced frame or series.

    Iterating one is what Python does with pandas' indexers, which have no ``__iter__``: ``[0]``,
    ``[1]`` ... until ``IndexError`` (``iloc``: the rows, traced; ``loc``: the rows labelled 0, 1 ...
    until a label is missing, a ``KeyError``), spelled out here so that no proxy iterates by accident.
    """

    __slots__ = ("_owner", "_kind")

    def __init__(self, owner: _Traced, kind: str) -> None:
        self._owner, self._kind = owner, kind

    def __getitem__(self, key: Any) -> Any:
        return call(f"pandas.{self._owner._kind}.{self._kind}.__getitem__", (self._owner, key), {})

    def __setitem__(self, key: Any, value: Any) -> None:
        owner = self._owner
        owner._update(f"pandas.{owner._kind}.{self._kind}.__setitem__", (owner, key, value), {})

    def __iter__(self) -> Iterator[Any]:
        k = 0
        while True:
            try:
                value = self[k]
            except IndexError:
                return
            yield value
            k += 1


class _Accessor:
    """``s.str`` / ``s.dt`` / ``s.cat``: each method or property an operation of its own."""

    __slots__ = ("_owner", "_name")

    def __init__(self, owner: _Traced, name: str) -> None:
        self._owner, self._name = owner, name

    def __getattr__(self, name: str) -> Any:
        opcode = f"pandas.Series.{self._name}.{name}"
        if opcode not in OPERATIONS:
            raise AttributeError(f"'{self._name}' accessor has no attribute {name!r}")
        attr = getattr(ACCESSORS[self._name], name)
        if isinstance(attr, property) or not callable(attr):
            return call(opcode, (self._owner,), {})
        return lambda *a, **k: call(opcode, (self._owner, *a), k)

    def __getitem__(self, key: Any) -> Any:
        return call(f"pandas.Series.{self._name}.__getitem__", (self._owner, key), {})

    def __iter__(self) -> Iterator[Any]:
        # pandas' accessors are not iterable (``s.str[k]`` is the k-th character of every value:
        # iterating by __getitem__ would never end)
        iter(self._plain())  # (TypeError: 'StringMethods' object is not iterable)
        raise TypeError(f"'{self._name}' accessor of a traced Series is not iterable")

    def __len__(self) -> int:
        return len(self._plain())  # (TypeError as pandas)

    def __bool__(self) -> bool:
        return True  # (as pandas' accessors, which have no __len__ for bool() to ask)

    def _plain(self) -> Any:
        return getattr(self._owner._value, self._name)

    def __dir__(self) -> list[str]:
        return [n for n in dir(ACCESSORS[self._name]) if not n.startswith("_")]


# What a deferred object's plain attribute may be handed back as (its settings, not data).
_SETTINGS = (bool, int, float, str, tuple, np.integer, np.floating)


class _Deferred:
    """``df.groupby(...)``, ``rolling``, ``resample`` ...: nothing runs until a method is called."""

    __slots__ = ("_owner", "_factory", "_args", "_kwargs", "_selection")

    def __init__(self, owner: _Traced, factory: str, args: tuple, kwargs: dict,
                 selection: Any = None) -> None:
        self._owner, self._factory, self._args, self._kwargs = owner, factory, args, kwargs
        self._selection = selection

    def __getitem__(self, key: Any) -> _Deferred:
        if "." in self._factory:
            # On a window over groups the selection is applied after the window, as pandas does
            # (groupby("id").rolling("2D", on="t")["x"]: the window needs column t): it is the
            # fourth of the window's arguments (see pandas_registry.deferred_call).
            g_args, g_kwargs, w_args = self._args[:3]
            return _Deferred(self._owner, self._factory, (g_args, g_kwargs, w_args, key), self._kwargs,
                             self._selection)
        return _Deferred(self._owner, self._factory, self._args, self._kwargs, key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in NESTED.get(self._factory, ()):  # a window on the groups: still nothing runs
            outer = (tuple(self._args), dict(self._kwargs))
            return lambda *a, **k: _Deferred(self._owner, f"{self._factory}.{name}", (*outer, a, None), k,
                                             self._selection)
        opcode = f"pandas.{self._owner._kind}.{self._factory}.{name}"
        if opcode not in OPERATIONS:
            selected = self._selection is not None or ("." in self._factory and self._args[3] is not None)
            columns = getattr(self._owner._value, "columns", ())
            if not selected and name in columns:
                return self[name]  # a column by attribute: gb.x, t.rolling(2).x, gb.rolling(2).x
            attribute = getattr(self._plain(), name)  # (AttributeError as pandas says it)
            if callable(attribute):
                return lambda *a, **k: self._unhandled(name, a, k)
            if attribute is None or isinstance(attribute, _SETTINGS):
                return attribute  # the window's settings (.window, .min_periods): plain values
            # anything else (pandas objects: data without lineage) through the unhandled path
            return self._unhandled(name, (), {}, attribute=True)
        head = (self._owner, tuple(self._args), dict(self._kwargs), self._selection)
        return lambda *a, **k: call(opcode, (*head, *a), k)

    def _head(self) -> tuple:
        """The arguments of its operations before their own: the frame, the factory's arguments and
        keywords, the selection (see :func:`.pandas_registry.deferred_call`)."""
        return (self._owner, tuple(self._args), dict(self._kwargs), self._selection)

    def _plain(self) -> Any:
        """The plain pandas object this deferred one stands for (its settings, not its data's lineage)."""
        return deferred_call(self._factory, None)(*unwrap(self._head(), []))

    # -- iteration: pandas' groups and windows, each traced ------------------------------------------
    # (Without __iter__, Python would iterate by __getitem__(0), (1) ... for ever: g[k] is a column.)
    def __iter__(self) -> Iterator[Any]:
        """What pandas' object yields: ``(key, part)`` for groups (``groupby``, ``resample``), the
        windows' parts for windows; each part a traced frame or series whose item is the part's
        position in the iteration (``pandas.DataFrame.groupby.__iter__``, ``k``), a group's key plain.
        Arguments without a literal form make the parts opaque (by content), as for any method."""
        return _parts(self)

    def __len__(self) -> int:
        return len(self._plain())  # (the number of groups; windows have none: TypeError as pandas)

    def __bool__(self) -> bool:
        return bool(self._plain())  # (pandas: a groupby is true when it has groups, a window always)

    def _unhandled(self, name: str, args: tuple, kwargs: dict, *, attribute: bool = False) -> Any:
        fn = deferred_call(self._factory, name, attribute=attribute)
        return pf.unhandled(fn, (*self._head(), *args), kwargs,
                            name=f"pandas.{self._owner._kind}.{self._factory}.{name}")


def _parts(deferred: _Deferred) -> Iterator[Any]:
    opcode = f"pandas.{deferred._owner._kind}.{deferred._factory}.{ITERATE}"
    keyed = deferred._factory in KEYED
    head = deferred._head()
    args = pf.FrameArgs()
    call_node: Node | None
    try:
        call_node, plain, _ = args.call(head, {})
        inputs = tuple(args.items)
    except Uncanonical:  # parts identified by their content, as dispatch.unhandled's results are
        call_node = None
        found: list[Item] = []
        plain = unwrap(head, found)
        inputs = tuple(dict.fromkeys(found))
        nondeterminism.note(f"opaque fallback {opcode}")
        warn_unhandled(opcode, True, stacklevel=2)  # (this generator, the user's loop)
    # One pass over pandas' object; each part's item says which part it is (recompute takes it).
    for k, element in enumerate(deferred_call(deferred._factory, None)(*plain)):
        key, part = element if keyed else (None, element)
        if call_node is None:
            traced = pf.opaque_frame(opcode, part, inputs)
        else:
            traced = pf.wrap(part, make(opcode, inputs, _at(call_node, k)))
        yield (key, traced) if keyed else traced


def _at(call_node: Node, k: int) -> Node:
    """A call literal with the position ``k`` appended to its arguments."""
    lit = Literals(call_node)
    return ("T", (("T", (*lit.args, ("i", k))), lit.kwargs))


def _pipe(self: _Traced, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    # The function receives the traced frame itself: its operations are traced one by one.
    if isinstance(fn, tuple):
        fn, target = fn
        kwargs[target] = self
        return fn(*args, **kwargs)
    return fn(self, *args, **kwargs)


_AT_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def _query(self: _Traced, expr: str, **kwargs: Any) -> Any:
    return _query_like(self, "query", expr, kwargs)


def _query_eval(self: _Traced, expr: str, **kwargs: Any) -> Any:
    return _query_like(self, "eval", expr, kwargs)


def _query_like(self: _Traced, method: str, expr: str, kwargs: dict) -> Any:
    # ``@name`` refers to the caller's variables: their values become literals (or inputs) of the
    # item, handed to pandas as local_dict, so the lineage records what the expression read.
    names = _AT_NAME.findall(expr) if isinstance(expr, str) else []
    if names and "local_dict" not in kwargs:
        caller = sys._getframe(1)
        while caller.f_back is not None and caller.f_globals.get("__name__", "").startswith("mlcontext."):
            caller = caller.f_back
        scope = {**caller.f_globals, **caller.f_locals}
        kwargs = {**kwargs, "local_dict": {n: scope[n] for n in names if n in scope}, "global_dict": {}}
    if kwargs.pop("inplace", False):
        self._update(f"pandas.DataFrame.{method}", (self, expr), kwargs)
        return None
    return call(f"pandas.DataFrame.{method}", (self, expr), kwargs)


def _pop(self: _Traced, key: Any) -> Any:
    column = self[key]
    del self[key]
    return column


def _sample(self: _Traced, *args: Any, **kwargs: Any) -> Any:
    seed = kwargs.get("random_state", args[4] if len(args) > 4 else None)
    if not isinstance(seed, int | np.integer):
        # Unseeded sampling is not determined by its lineage: identified by its output instead.
        return pf.unhandled(type(self._value).sample, (self, *args), kwargs,
                            name=f"pandas.{self._kind}.sample")
    return call(f"pandas.{self._kind}.sample", (self, *args), kwargs)



def _tables() -> tuple[dict[str, Callable[[Any], Any]], dict[str, Callable[..., Any]]]:
    properties: dict[str, Callable[[Any], Any]] = {}
    special: dict[str, Callable[..., Any]] = {}
    for kind in ("DataFrame", "Series"):
        prefix = f"pandas.{kind}."
        properties[prefix + "T"] = lambda self: call(f"pandas.{self._kind}.transpose", (self,), {})
        properties[prefix + "values"] = lambda self: call(f"pandas.{self._kind}.values", (self,), {})
        for kind_ in INDEXERS:
            properties[prefix + kind_] = (lambda k: lambda self: _Indexer(self, k))(kind_)
        for factory in DEFERRED:
            special[prefix + factory] = (lambda f: lambda self, *a, **k: _Deferred(self, f, a, k))(factory)
        special[prefix + "pipe"] = _pipe
        special[prefix + "query"] = _query
        special[prefix + "eval"] = _query_eval
        special[prefix + "pop"] = _pop
        special[prefix + "sample"] = _sample
    for acc in ACCESSORS:
        properties[f"pandas.Series.{acc}"] = (lambda a: lambda self: _Accessor(self, a))(acc)
    return properties, special


#: Traced properties by opcode (``pandas.DataFrame.T``, ``pandas.Series.str`` ...): ``f(self)``.
#: Methods with their own wrapper by opcode (``pandas.DataFrame.groupby`` ...): ``f(self, *a, **k)``.
PROPERTIES, SPECIAL = _tables()
