"""The fingerprint scheme: its version, the digest, and the dispatch table every value goes through.

Every fingerprint is a 128-bit xxh3 digest written as 32 lowercase hex characters. Values are fed into
a hasher through a dispatch table keyed by type (after dask's ``tokenize``): :func:`register` adds a
type; the modules of this package register the built-in kinds (Python values, arrays, frames, code).
A type found neither in the table nor by a rule (a base class, ``__mlcontext_fingerprint__``, a
dataclass ...) raises :class:`~mlcontext.errors.FingerprintError`: a silent cache miss is bad, a wrong
hit is worse.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any

import xxhash

from ..errors import FingerprintError
from .packages import _is_user

__all__ = ["DIGEST_HEX_LEN", "SCHEME_VERSION", "persistent_key", "Hasher", "hash_bytes", "register",
           "hash_value", "add_lazy", "add_rule"]

DIGEST_HEX_LEN = 32

# The version of everything this package feeds into a digest. Bump it whenever a digest of some value
# changes (a new normalisation, a library that changed the layout read here): persistent cache keys
# carry it, so entries written under another scheme are never found (tests/test_fingerprint_pinned.py
# pins the digests of a table of values so that such a change cannot go unnoticed).
SCHEME_VERSION = 6  # 3: dicts in insertion order; imports inside functions. 4: array layout,
# DatetimeIndex freq, function attributes, dataclass instance attributes. 5: enums, builtin subclasses and
# metaclasses by their class's code; frozenset/set, bytes/bytearray/memoryview apart; module __getattr__;
# code in site-packages without a distribution (or installed from a local folder) by its code. 6: installed
# modules' plain data (sys.argv), a zero-argument lru_cache's value, @names and eval'd names; and steps
# that drew a kept Gaussian or from the system, or read files through pyarrow, are no longer kept: the
# entries such calls left under their (unchanged) keys must not be found


def persistent_key(digest: bytes) -> str:
    """The key of a lineage digest in a persistent tier: the scheme version, then the digest in hex.

    Examples
    --------
    >>> persistent_key(bytes(16))
    'f6.00000000000000000000000000000000'
    """
    return f"f{SCHEME_VERSION}.{digest.hex()}"


Hasher = xxhash.xxh3_128


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Fingerprint raw bytes (the content hash of the artifact store).

    Examples
    --------
    >>> hash_bytes(b"abc") == hash_bytes(bytearray(b"abc"))
    True
    """
    return xxhash.xxh3_128_hexdigest(data)


_dispatch: dict[type, Callable[[Any, Any], None]] = {}
#: The handler found for each class that has none registered (an estimator, a dataclass, a str
#: subclass): the search below runs once per class, not once per value hashed. Kept apart from
#: ``_dispatch``, whose entries the base-class walk reads as handlers for subclasses too.
_resolved: dict[type, Callable[[Any, Any], None]] = {}
_RESOLVED_MAX = 10_000


def register(*types: type) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    """Register ``fn(value, hasher)`` to feed values of ``types`` into a hasher."""

    def decorate(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        for t in types:
            _dispatch[t] = _with_class(t, fn) if _is_user(t.__module__) else fn
        _resolved.clear()  # a class resolved through its bases may have a handler of its own now
        return fn

    return decorate


def hash_value(value: Any) -> str:
    """Fingerprint a plain Python value (params, literal arguments, nested containers).

    Examples
    --------
    >>> hash_value({"b": 1, "a": [1.0, "x"]}) == hash_value({"a": [1.0, "x"], "b": 1})  # dicts are ordered
    False
    >>> hash_value(1) == hash_value(1.0)
    False
    """
    h = xxhash.xxh3_128()
    _feed(value, h)
    return h.hexdigest()


def _feed(value: Any, h: Any) -> None:
    fn = _dispatch.get(type(value))
    if fn is None:
        fn = _lookup(type(value))
    fn(value, h)


# Lazy registrations (dask's ``register_lazy``): ``hook(cls) -> bool`` registers the types of a library
# that is only imported when one of its values is met (pandas, scikit-learn), and says whether it did.
_LAZY: list[Callable[[type], bool]] = []
# Rules for whole families of classes no table can list (dataclasses, named tuples, enums):
# ``rule(cls) -> handler | None``, tried in order after ``__mlcontext_fingerprint__``.
_RULES: list[Callable[[type], Callable[[Any, Any], None] | None]] = []


def add_lazy(hook: Callable[[type], bool]) -> None:
    """Add a lazy registration, tried (in order) when a value of an unregistered type is met."""
    _LAZY.append(hook)
    _resolved.clear()


def add_rule(rule: Callable[[type], Callable[[Any, Any], None] | None]) -> None:
    """Add a rule that finds the handler of a whole family of classes (None: not one of them)."""
    _RULES.append(rule)
    _resolved.clear()


def _lookup(cls: type) -> Callable[[Any, Any], None]:
    fn = _resolved.get(cls)
    if fn is None:
        fn = _search(cls)
        if len(_resolved) >= _RESOLVED_MAX:
            _resolved.clear()
        _resolved[cls] = fn
    return fn


def _search(cls: type) -> Callable[[Any, Any], None]:
    for hook in _LAZY:
        if hook(cls):
            return _dispatch[cls] if cls in _dispatch else _search(cls)
    if hasattr(cls, "__mlcontext_fingerprint__"):  # before the bases: a subclass says what it is
        return _feed_custom
    for rule in _RULES:
        fn = rule(cls)
        if fn is not None:
            return fn
    for base in cls.__mro__[1:]:
        if base in _dispatch:
            fn = _dispatch[base]
            # A user's subclass of any registered type (a date, a Path, a Decimal with a method of its
            # own) is its class too; a library's subclass of one not built in keeps its base's handler.
            # (A metaclass's instances are classes: ``type``'s handler feeds their metaclass.)
            mine = base is not type and _is_user(cls.__module__)
            return _subclass(cls, fn) if base in _BUILTIN_BASES or mine else fn
    name = f"{cls.__module__}.{cls.__qualname__}"
    if _a_random_generator(cls):
        # Registering it would make its draws look alike: the advice is to seed one inside the code.
        raise FingerprintError(
            f"cannot fingerprint a random generator ({name}): its state changes with every draw; "
            "create it inside the step from a seed argument (mc.random.default_rng(seed)) instead of "
            "reading one made outside")
    raise FingerprintError(
        f"cannot fingerprint a value of type {name}: "
        "register it with mlcontext.fingerprint.register or give it __mlcontext_fingerprint__()"
    )


def _a_random_generator(cls: type) -> bool:
    """NumPy's ``Generator``/``RandomState``/bit generators, ``random.Random``, mlcontext's traced
    generator: by class name and module, without importing anything."""
    for base in cls.__mro__:
        if (base.__module__, base.__qualname__) in _GENERATORS:
            return True
    return False


_GENERATORS = frozenset({("numpy.random._generator", "Generator"), ("numpy.random.mtrand", "RandomState"),
                         ("numpy.random.bit_generator", "BitGenerator"), ("random", "Random"),
                         ("mlcontext.ops.random", "TracedGenerator")})


# A subclass of one of these (defaultdict, Counter, a str subclass) is not its base: its
# class decides what the value does (``isinstance``, ``.alpha``, a missing key), so it is hashed too.
_BUILTIN_BASES = frozenset({int, float, complex, str, bytes, bytearray, tuple, list, dict, set, frozenset})


def _subclass(cls: type, base_fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    name = f"{cls.__module__}.{cls.__qualname__}".encode()
    top = cls.__module__.partition(".")[0]
    # Not only the name: ``class Unit(str)`` with a method ``factor`` computes what that method's code
    # does, so a class outside the standard library is fed as classes are (the user's by its code, a
    # package's by its version). The standard library's (defaultdict, Counter) stay as they were.
    by_class = top not in sys.stdlib_module_names and top not in sys.builtin_module_names

    def feed(value: Any, h: Any) -> None:
        _tag(h, b"sub", name)
        if by_class:
            _feed(cls, h)
            space = getattr(value, "__dict__", None)
            if space:  # ``u = Unit("m"); u.scale = 3``: attributes its methods read
                for key, item in sorted(tuple(space.items())):
                    _tag(h, b"subx", key.encode())
                    _feed(item, h)
        factory = getattr(value, "default_factory", _ABSENT)  # defaultdict: the missing keys' value
        if factory is not _ABSENT:
            _feed(factory, h)
        base_fn(value, h)

    return feed


def _tag(h: Any, tag: bytes, payload: bytes = b"") -> None:
    # Type tag + length prefix keep ("ab", "c") and ("a", "bc") apart.
    h.update(tag + struct.pack("<Q", len(payload)) + payload)


def _feed_custom(value: Any, h: Any) -> None:
    cls = type(value)
    _tag(h, b"C", cls.__qualname__.encode())
    # The class too (the user's by its code, a package's by its version): the fingerprint says which
    # state the object holds, its methods what a step computes from it. Keyed by the state alone, an
    # edited ``Scaler.apply`` served the old result (a newcomer's finding).
    _feed_behaviour(cls, h)
    _feed(value.__mlcontext_fingerprint__(), h)


def _with_class(cls: type, fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    """The handler a user registers for a class of their own, with the class's code fed first (as for
    ``__mlcontext_fingerprint__``: a hasher feeds the state, not what the methods do with it)."""

    def feed(value: Any, h: Any) -> None:
        _tag(h, b"R")
        _feed_behaviour(cls, h)
        fn(value, h)

    return feed


def _feed_behaviour(cls: type, h: Any) -> None:
    from .functions import feed_class_behaviour  # (functions builds on this module)

    feed_class_behaviour(cls, h)


_ABSENT = object()  # a missing attribute, global or cell (None is a value)
