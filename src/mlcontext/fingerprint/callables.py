"""Identity of the other things code is made of: classes, methods, builtins, partials, descriptors.

A user's own class is identified by its bases and everything defined in its body (methods by code);
an installed package's class, function or builtin by its name and the package's version.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import operator
import sys
import types
from typing import Any

import numpy as np

from ..errors import FingerprintError
from .functions import _guard
from .packages import _is_user, _version
from .scheme import _feed, _tag, register


def _outside_stdlib(module: str | None) -> bool:
    top = (module or "").partition(".")[0]
    return top not in sys.stdlib_module_names and top not in sys.builtin_module_names


@register(type)
def _type(value: type, h: Any) -> None:
    module = value.__module__
    _tag(h, b"t", f"{module}.{value.__qualname__}".encode())
    if _is_user(module):
        _feed_user_class(value, h)
        return
    if _outside_stdlib(module):
        # An installed package's class computes what its version does (StandardScaler in a step),
        # as its functions and modules are identified (the standard library's by name alone).
        _tag(h, b"tv", _version(module).encode())



@register(types.MethodType)
def _method(value: types.MethodType, h: Any) -> None:
    _tag(h, b"meth")
    _feed(value.__func__, h)
    _feed(value.__self__, h)


@register(types.BuiltinFunctionType, types.MethodWrapperType)
def _builtin(value: Any, h: Any) -> None:
    owner = value.__self__
    module = getattr(value, "__module__", None) or type(owner).__module__
    _tag(h, b"bi", f"{module}.{value.__qualname__}|{_version(module or 'builtins')}".encode())
    if owner is not None and not isinstance(owner, types.ModuleType):
        _feed(owner, h)  # a bound builtin method ("-".join, d.get): its object is an input


@register(types.MethodDescriptorType, types.WrapperDescriptorType, types.ClassMethodDescriptorType)
def _descriptor(value: Any, h: Any) -> None:
    cls = value.__objclass__
    _tag(h, b"desc", f"{cls.__module__}.{value.__qualname__}|{_version(cls.__module__)}".encode())


@register(np.ufunc, type(np.mean))
def _numpy_function(value: Any, h: Any) -> None:
    if type(value) is np.ufunc and value.__name__.endswith(" (vectorized)"):
        # np.frompyfunc(f, ...): a ufunc that calls f, named after it. NumPy gives no way back to f,
        # so an edited f (or a global it reads) kept the key and the old result was served (a
        # reviewer's finding).
        raise FingerprintError(
            f"np.frompyfunc ufunc {value.__name__!r}: the Python function it calls cannot be read back, "
            "so an edit to it would not be seen; call the function itself, or pass it as an argument")
    module = getattr(value, "__module__", None) or "numpy"
    _tag(h, b"np", f"{module}.{value.__name__}|{np.__version__}".encode())


@register(functools.partial)
def _partial(value: functools.partial, h: Any) -> None:
    _tag(h, b"partial")
    _feed(value.func, h)
    _feed(value.args, h)
    _feed(value.keywords, h)


@register(staticmethod, classmethod)
def _wrapped_method(value: Any, h: Any) -> None:
    _tag(h, b"sm" if isinstance(value, staticmethod) else b"cm")
    _feed(value.__func__, h)


@register(property)
def _property(value: property, h: Any) -> None:
    _tag(h, b"prop")
    for part in (value.fget, value.fset, value.fdel):
        _feed(part, h)


# Not part of what a class computes: documentation, bookkeeping, abc's cache of subclass checks, and an
# enum's caches of members made on demand (``Flag.A | Flag.B``, ``~Flag.A``: they grow as a process
# uses them, and the members they hold are the class's own, fed through ``_member_map_``).
_CLASS_SKIP = frozenset({"__dict__", "__weakref__", "__module__", "__doc__", "__qualname__",
                         "__annotations__", "__slots__", "__firstlineno__", "__static_attributes__",
                         "_abc_impl", "_value2member_map_", "_unhashable_values_", "_inverted_"})



@register(type(operator.itemgetter(0)), type(operator.attrgetter("a")))
def _getter(value: Any, h: Any) -> None:
    _tag(h, b"getter", repr(value).encode())  # itemgetter(0), attrgetter('a'): exact reprs



@register(type(functools.lru_cache(maxsize=None)(lambda: None)))
def _cached_function(value: Any, h: Any) -> None:
    _tag(h, b"lru")
    wrapped = value.__wrapped__
    _feed(wrapped, h)
    if not _without_parameters(wrapped):
        return  # (which arguments it was called with, and what it cached for them, cannot be read)
    # ``@functools.cache def load_cfg(): return json.load(open(p))`` run at start-up: what it returns
    # is what was read then, not what its code would read now (a newcomer's config changed between two
    # processes, and the step was served the other one's result). A zero-argument function caches one
    # value, and calling it with a full cache hands that value back without running it. Not computed
    # yet: the identity changes when the body fills it, and a step call that changed its identity is
    # not kept (``reuse.multilevel``).
    if value.cache_info().currsize != 1:
        _tag(h, b"lru-")
        return
    _tag(h, b"lru=")
    try:
        _feed(value(), h)
    except FingerprintError as exc:
        raise FingerprintError(f"the value {wrapped.__qualname__}() cached: {exc}") from None


def _without_parameters(fn: Any) -> bool:
    """Whether ``fn`` is a user's function that takes no arguments."""
    if type(fn) is not types.FunctionType or not _is_user(fn.__module__):
        return False
    code = fn.__code__
    return not (code.co_argcount or code.co_kwonlyargcount
                or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def _register_class_machinery() -> None:
    # Objects the class statement's machinery puts in a class body: identified by their exact reprs.
    from collections import namedtuple

    params = getattr(dataclasses.dataclass(type("_D", (), {})), "__dataclass_params__", None)
    kinds = [type(vars(namedtuple("_T", "a"))["a"]),  # collections._tuplegetter (a NamedTuple field)
             type(dataclasses.MISSING)]  # the sentinel in generated __init__ defaults
    factory = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", None)
    if factory is not None:
        kinds.append(type(factory))
    if params is not None:
        kinds.append(type(params))
    register(*kinds)(lambda v, h: _tag(h, b"cm", f"{type(v).__qualname__}:{v!r}:{v.__doc__}".encode()))


_register_class_machinery()


def _feed_user_class(cls: type, h: Any) -> None:
    # The user's own class: its bases and everything defined in its body (methods by code).
    seen = _guard()
    if id(cls) in seen:
        return
    seen.add(id(cls))
    try:
        for base in cls.__bases__:
            _feed(base, h)
        meta = type(cls)
        if meta is not type and _outside_stdlib(meta.__module__):
            # A metaclass of the user's (or a package's) decides what the class does: its methods are
            # the class's (``M.k()`` with ``def k(cls)`` on the metaclass), its ``__call__`` makes the
            # instances. The standard library's (ABCMeta, EnumType) follow from the bases.
            _tag(h, b"meta")
            _feed(meta, h)
        for key in sorted(k for k in vars(cls) if k not in _CLASS_SKIP):
            _tag(h, b"attr", key.encode())
            try:
                _feed(vars(cls)[key], h)
            except FingerprintError as exc:
                raise FingerprintError(f"{cls.__qualname__}.{key}: {exc}") from None
    finally:
        seen.discard(id(cls))
