"""Function identity: one identity for every place where code becomes part of a key.

Used by ``@mc.step``, ``apply``/``map``/``pipe`` with a function, ``FunctionTransformer`` and the other
places where code is hashed (:func:`hash_function`). A snapshot keeps the digest of a function that
reads only values that cannot change without being rebound, so a repeated call only checks identities.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import os
import re
import struct
import sys
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import xxhash

from ..errors import FingerprintError
from .packages import _is_user, _version
from .scheme import _ABSENT, _feed, _tag, register

#: ``id`` without the ``builtins.id`` audit event that every installed audit hook sees (see
#: ``lineage.item.identity``): a step's function is checked again at each call.
_identity = object.__hash__

# -- functions: one identity for every place where code becomes part of a key ------------------------
# A function is identified by what decides its result besides its arguments: its code (nested code
# too; not file names or line numbers), defaults, closure cells, the globals its code loads (the
# user's own functions, classes and modules transitively, by the same identity), and, for code of an
# installed package, the package's version instead of its code. The analysis of a code object (its
# static digest, the names it loads) is cached; the values it reads are hashed on every call, since a
# global or a cell may have been rebound since.


class _CodeInfo:
    __slots__ = ("digest", "globals", "attrs", "imports", "runtime_import")

    def __init__(self, digest: bytes, globals_: tuple[str, ...], attrs: frozenset[str],
                 imports: tuple[tuple[str, int], ...] = (), runtime_import: str = "") -> None:
        self.digest, self.globals, self.attrs, self.imports = digest, globals_, attrs, imports
        # The call that imports a module whose name is computed when it runs ("" if none): which
        # module's code it reaches cannot be known before the call.
        self.runtime_import = runtime_import


_CODE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The flags that change what a call does (not ``from __future__`` flags or CO_NESTED).
_CODE_FLAGS = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE
               | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR)
_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"})
_ATTR_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM", "STORE_ATTR", "LOAD_SUPER_ATTR"})
# The functional forms of ``import m``: ``importlib.import_module("m")``, ``__import__("m")`` (loaded as a
# global or an attribute), and ``sys.modules["m"]``. A helper reached through them was hashed by the
# version of importlib alone, and an edited helper served the old result (a newcomer's finding).
_IMPORT_CALLS = frozenset({"import_module", "__import__"})
_MODULE_TABLES = frozenset({"modules"})  # sys.modules["m"]: only with a constant name (model.modules())
_MODULE_NAME = re.compile(r"\.*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _code_info(code: types.CodeType) -> _CodeInfo:
    info = _CODE.get(code)
    if info is None:
        info = _CODE[code] = _analyse(code)
    return info


def _analyse(code: types.CodeType) -> _CodeInfo:
    h = xxhash.xxh3_128()
    names: dict[str, None] = {}
    attrs: set[str] = set()
    imports: dict[tuple[str, int], None] = {}  # (module name, relative level) of import statements
    runtime_import = ""
    stack = [code]
    while stack:
        c = stack.pop()
        h.update(c.co_code)
        h.update(repr((c.co_name, c.co_names, c.co_varnames, c.co_freevars, c.co_cellvars, c.co_argcount,
                       c.co_posonlyargcount, c.co_kwonlyargcount, c.co_flags & _CODE_FLAGS)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
                _tag(h, b"code")
            else:
                _feed(const, h)
        consts: list[Any] = [0, None]  # the last two constants loaded
        importer = None  # the import function or module table loaded by the previous instruction
        for ins in dis.get_instructions(c):
            if importer is not None and ins.opname not in _CALL_SETUP:
                name = ins.argval if ins.opname == "LOAD_CONST" else None
                if isinstance(name, str) and _MODULE_NAME.fullmatch(name):
                    dots = len(name) - len(name.lstrip("."))
                    imports[(name[dots:], dots)] = None
                elif importer in _IMPORT_CALLS and not runtime_import:
                    runtime_import = f"{importer}() of a name computed at run time (in {c.co_name})"
                importer = None
            if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_ATTR", "LOAD_METHOD") \
                    and (ins.argval in _IMPORT_CALLS or (ins.argval in _MODULE_TABLES and ins.opname in
                                                         ("LOAD_ATTR", "LOAD_METHOD"))):
                importer = ins.argval
            if ins.opname in _GLOBAL_OPS:
                names[ins.argval] = None
            elif ins.opname in _ATTR_OPS:
                attrs.add(ins.argval)
            elif ins.opname == "IMPORT_NAME":  # after LOAD_CONST level, LOAD_CONST fromlist
                level = consts[0] if type(consts[0]) is int else 0
                imports[(ins.argval, level)] = None
            elif ins.opname == "LOAD_CONST":
                consts = [consts[1], ins.argval]
    return _CodeInfo(h.digest(), tuple(names), frozenset(attrs), tuple(imports), runtime_import)


_CALL_SETUP = frozenset({"PUSH_NULL", "PRECALL", "CACHE", "EXTENDED_ARG", "NOP"})


def hash_function(fn: Callable[..., Any]) -> str:
    """The identity of a function: everything that decides its result besides its arguments.

    Part of it: the qualified name; the code object (bytecode, constants, names, nested functions;
    not the file or line numbers); ``__defaults__`` and ``__kwdefaults__``; the values of closure
    cells; every global the code loads, by value — the user's own functions and classes by this same
    identity (transitively), the user's modules by the attributes the code reads from them,
    installed packages' functions, classes and modules by name and package version. Builtins,
    ufuncs, ``functools.partial`` objects and bound methods are identified by their parts. Values
    are hashed as by :func:`hash_value` at the time of the call.

    Raises
    ------
    FingerprintError
        Something it reads has no fingerprint (an open file, a socket, an arbitrary object); the
        message names it (``global 'fh' of tip: ...``).

    Examples
    --------
    >>> def make(f):
    ...     def scale(a):
    ...         return a * f
    ...     return scale
    >>> hash_function(make(2.0)) == hash_function(make(3.0))
    False
    >>> hash_function(make(2.0)) == hash_function(make(2.0))
    True
    """
    h = xxhash.xxh3_128()
    _feed(fn, h)
    return h.hexdigest()


_active = threading.local()  # ids of the functions and classes being hashed (recursion guard)


def _guard() -> set[int]:
    seen = getattr(_active, "ids", None)
    if seen is None:
        seen = _active.ids = set()
    return seen


@register(types.FunctionType)
def _function(fn: types.FunctionType, h: Any) -> None:
    if not _is_user(fn.__module__):
        _tag(h, b"fnlib", f"{fn.__module__}.{fn.__qualname__}|{_version(fn.__module__)}".encode())
        return
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None and getattr(fn, "__mlcontext_step__", None) is not None:
        # An @mc.step calling another: the inner step computes what the function it wraps computes
        # (its reuse hook is no part of the result), so it is identified by that function.
        _tag(h, b"step")
        _feed(wrapped, h)
        return
    seen = _guard()
    if _identity(fn) in seen:  # recursion (direct or mutual): the name stands for the function
        _tag(h, b"fnrec", fn.__qualname__.encode())
        _active.recursed = True
        return
    snap = _SNAPS.get(fn)
    if snap is not None and snap.template is None and _valid(snap, fn, set()):
        h.update(snap.digest)
        return
    seen.add(_identity(fn))
    outer, _active.recursed = getattr(_active, "recursed", False), False
    try:
        if snap is not None and snap.template is not None and _valid(snap, fn, set()):
            h.update(_replay(snap, fn))  # the same bytes as below, the unchanged parts not re-fed
            return
        sub = xxhash.xxh3_128()
        _feed_user_function(fn, sub)
        digest = b"fn" + sub.digest()
        h.update(digest)
        if not _active.recursed:  # in a cycle a digest depends on where hashing began: not kept
            _remember(fn, digest)
    finally:
        seen.discard(_identity(fn))
        _active.recursed = outer or _active.recursed


# -- the snapshot of a function whose identity cannot change while what it reads stays the same objects
# Hashing every global on every call costs about 2 us a value; a function that reads only immutable
# values (numbers, strings, tuples of them, installed modules and functions) and other such functions
# keeps its digest with the objects it read, and a call only checks they are still the same objects
# (``is``): rebinding a global, a cell, the defaults or the code makes it hash again.
# A function that also reads mutable globals (a config dict, a list, an array: they can change in place)
# keeps a *template* instead: the bytes its hash stream is made of, with a slot for each such global,
# whose current value is fed again at every call. xxh3's stream hash of the concatenated parts is the
# hash of the whole, so the digest is the one hashing everything gives (checked when it is made).

_SNAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_IMMUTABLE = frozenset({int, float, str, bytes, bool, complex, type(None), type(Ellipsis)})


class _Snapshot:
    __slots__ = ("digest", "code", "qualname", "defaults", "kwdefaults", "cells", "globals", "users",
                 "template", "attrs")

    def __init__(self, fn: types.FunctionType, digest: bytes, cells: tuple, globals_: tuple,
                 users: tuple, template: tuple[bytes | str, ...] | None = None,
                 attrs: frozenset[str] = frozenset()) -> None:
        self.digest, self.code, self.qualname = digest, fn.__code__, fn.__qualname__
        self.defaults = fn.__defaults__
        kw = fn.__kwdefaults__
        self.kwdefaults = None if kw is None else tuple(kw.items())
        self.cells, self.globals, self.users = cells, globals_, users
        #: None: ``digest`` is the function's digest. Otherwise the hash stream's parts: bytes as they
        #: are, a str names a global whose value is fed again (``attrs``: the attributes the code reads).
        self.template, self.attrs = template, attrs


class _Recorder:
    """Stands in for a hasher while a template is made: collects the bytes fed, and cuts the stream
    where a global is to be fed again at every call."""

    def __init__(self) -> None:
        self.parts: list[bytes | str] = []
        self._chunk = bytearray()

    def update(self, data: Any) -> None:
        self._chunk += data

    def slot(self, var: str) -> None:
        self.parts += [bytes(self._chunk), var]
        self._chunk = bytearray()

    def template(self) -> tuple[bytes | str, ...]:
        return tuple(p for p in (*self.parts, bytes(self._chunk)) if p != b"")


def _replay(snap: _Snapshot, fn: types.FunctionType) -> bytes:
    sub = xxhash.xxh3_128()
    scope = fn.__globals__
    for part in snap.template or ():
        if isinstance(part, bytes):  # (a template holds bytes and global names only)
            sub.update(part)
        else:
            _feed_part(scope[part], sub, f"global {part!r}", fn, snap.attrs)
    return b"fn" + sub.digest()


def _fixed(value: Any, users: list) -> bool:
    """Whether ``value`` cannot change without being rebound (user functions are checked later)."""
    t = type(value)
    if t in _IMMUTABLE:
        return True
    if t is tuple or t is frozenset:
        return all(_fixed(v, users) for v in value)
    if t is types.FunctionType:
        if _is_user(value.__module__):
            users.append(value)
        return True
    if t is types.ModuleType:
        return not _is_user(value.__name__)
    if t is np.ufunc or t is type(np.mean) or t is types.BuiltinFunctionType:
        return getattr(value, "__self__", None) is None or isinstance(value.__self__, types.ModuleType)
    if t is type:
        return not _is_user(value.__module__)
    return False


# What a function reads the process environment through: ``os.environ[...]``, ``os.getenv(...)``,
# or the same names imported from os. The environment is then part of its identity (a changed variable
# is a new key), and it never takes the snapshot path: the environment changes without any rebinding.
_ENV_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})


def _environment_digest() -> bytes:
    h = xxhash.xxh3_128()
    for key, value in sorted(os.environ.items()):
        h.update(struct.pack("<q", len(key)) + key.encode("utf-8", "surrogateescape"))
        h.update(struct.pack("<q", len(value)) + value.encode("utf-8", "surrogateescape"))
    return h.digest()


@register(type(os.environ))
def _environ_mapping(value: Any, h: Any) -> None:
    # os.environ (or os.environb) read as a global (``from os import environ``): its current items.
    _tag(h, b"envmap", repr(sorted(value.items())).encode("utf-8", "surrogateescape"))


def _reads_environment(info: _CodeInfo) -> bool:
    return bool(_ENV_NAMES & info.attrs or _ENV_NAMES.intersection(info.globals))


def _remember(fn: types.FunctionType, digest: bytes) -> None:
    users: list = []
    kw = fn.__kwdefaults__
    if not (_fixed(fn.__defaults__, users) and (kw is None or _fixed(tuple(kw.values()), users))):
        return
    cells = []
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            return
        if not _fixed(value, users):
            return
        cells.append(value)
    info = _code_info(fn.__code__)
    if _reads_environment(info) or _attributes(fn):
        return  # (attributes can be set without rebinding anything a snapshot checks)
    if any(module is None or _is_user(module.__name__) for _, module in _imported(fn, info)):
        return  # what it reads from a user's module can change without any rebinding here
    scope = fn.__globals__
    read = tuple((var, scope.get(var, _ABSENT)) for var in info.globals)
    dynamic = []
    for var, value in read:
        if value is _ABSENT:
            continue
        found: list = []
        if _fixed(value, found) and all(_plain_snapshot(u) for u in found):
            users.extend(found)
        elif type(value) is types.FunctionType or not found:
            dynamic.append(var)  # fed again at every call (a user function: through its own snapshot)
        else:
            return  # a tuple holding a function whose digest can change: not worth a template
    # Each helper with the snapshot whose digest went into ours: a helper hashed again since (a global
    # it reads was rebound, and another caller or an apply of the helper itself noticed first) has a
    # new snapshot, and ours is stale even though that new one is valid (review of issue 10: a
    # shared helper's changed rate was served the old result through its caller).
    seen_users = []
    for user in users:
        helper = _SNAPS.get(user)
        if helper is None or helper.template is not None:
            return
        seen_users.append((user, helper))
    if not dynamic:
        _SNAPS[fn] = _Snapshot(fn, digest, tuple(cells), read, tuple(seen_users))
        return
    recorder = _Recorder()
    _feed_user_function(fn, recorder, frozenset(dynamic))
    snap = _Snapshot(fn, digest, tuple(cells), read, tuple(seen_users), recorder.template(), info.attrs)
    if _replay(snap, fn) == digest:  # (always, unless a value changed while it was being hashed)
        _SNAPS[fn] = snap


def _plain_snapshot(fn: types.FunctionType) -> bool:
    """Whether ``fn`` has a snapshot whose digest stands for it (no value fed again at each call)."""
    snap = _SNAPS.get(fn)
    return snap is not None and snap.template is None


def _valid(snap: _Snapshot, fn: types.FunctionType, checking: set[int]) -> bool:
    if fn.__code__ is not snap.code or fn.__defaults__ is not snap.defaults or (
            fn.__qualname__ is not snap.qualname):
        return False
    kw = fn.__kwdefaults__
    if kw is not None or snap.kwdefaults is not None:
        if kw is None or snap.kwdefaults is None or len(kw) != len(snap.kwdefaults):
            return False
        if any(kw.get(k, _ABSENT) is not v for k, v in snap.kwdefaults):
            return False
    for cell, value in zip(fn.__closure__ or (), snap.cells, strict=True):
        try:
            if cell.cell_contents is not value:
                return False
        except ValueError:
            return False
    scope = fn.__globals__
    for var, value in snap.globals:
        if scope.get(var, _ABSENT) is not value:
            return False
    checking.add(_identity(fn))
    for user, helper in snap.users:
        if _identity(user) in checking:
            continue
        current = _SNAPS.get(user)
        if current is None or current is not helper or not _valid(current, user, checking):
            return False
    return True


def _feed_user_function(fn: types.FunctionType, h: Any, dynamic: frozenset[str] = frozenset()) -> None:
    # Not the module's name: moving a function to another module (or running it as __main__ in
    # another process) does not change what it computes. ``dynamic``: globals left as slots of a
    # template (``h`` is then a _Recorder).
    code = fn.__code__
    info = _code_info(code)
    if info.runtime_import:
        raise FingerprintError(
            f"{fn.__qualname__} calls {info.runtime_import}: which module's code it runs is only known "
            f"when it runs; import the module by name (import m, importlib.import_module(\"m\"))")
    _tag(h, b"fn", fn.__qualname__.encode() + info.digest)
    _feed_part(fn.__defaults__, h, "the defaults", fn)
    _feed_part(fn.__kwdefaults__, h, "the keyword defaults", fn)
    for var, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not filled yet (a name assigned after the def)
            _tag(h, b"cell-", var.encode())
            continue
        _tag(h, b"cell", var.encode())
        # (a module in a cell is read as a global one is: by the attributes the code reads from it)
        _feed_part(value, h, f"closure variable {var!r}", fn, info.attrs)
    scope = fn.__globals__
    for var in info.globals:
        value = scope.get(var, _ABSENT)
        if value is _ABSENT:  # a builtin, or a name not defined (yet)
            _tag(h, b"g-", var.encode() + (b"b" if hasattr(builtins, var) else b"?"))
            continue
        _tag(h, b"g", var.encode())
        if var in dynamic:
            h.slot(var)
            continue
        _feed_part(value, h, f"global {var!r}", fn, info.attrs)
    if _reads_environment(info):
        _tag(h, b"env", _environment_digest())
    for name, value in _attributes(fn):
        # ``f.scale = 2`` read by the body as ``f.scale``: state the function carries with it.
        _tag(h, b"attr", name.encode())
        _feed_part(value, h, f"attribute {name!r}", fn)
    for name, module in _imported(fn, info):
        # ``import helpers`` / ``from helpers import rate`` inside the body: the module is no global,
        # but what the code reads from it decides the result as much as a global would.
        _tag(h, b"imp", name.encode())
        if module is not None:
            _feed_part(module, h, f"module {name!r} imported", fn, info.attrs)


def _attributes(fn: types.FunctionType) -> list[tuple[str, Any]]:
    """A function's own attributes (``f.scale = 2``), sorted; not dunders (``__wrapped__`` and the
    like, which decorators set, are covered by the code and closure that use them)."""
    space = getattr(fn, "__dict__", None)
    if not space:
        return []
    return sorted((k, v) for k, v in space.items() if not (k.startswith("__") and k.endswith("__")))


def _imported(fn: types.FunctionType, info: _CodeInfo) -> list[tuple[str, types.ModuleType | None]]:
    """The modules ``fn``'s code imports (and their parent packages), as loaded now (None: not yet)."""
    out: list[tuple[str, types.ModuleType | None]] = []
    for name, level in info.imports:
        if level:
            package = fn.__globals__.get("__package__") or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            name = f"{base}.{name}" if name else base
        parts = name.split(".")
        for k in range(1, len(parts) + 1):
            full = ".".join(parts[:k])
            out.append((full, sys.modules.get(full)))
    return out


def _feed_part(value: Any, h: Any, what: str, fn: Any, attrs: frozenset[str] = frozenset()) -> None:
    _feed_named(value, h, attrs, f"{what} of {fn.__qualname__}")


def _feed_named(value: Any, h: Any, attrs: frozenset[str], where: str) -> None:
    """Feed a value (a module by the attributes ``attrs`` the code reads); a refusal says ``where``."""
    try:
        if isinstance(value, types.ModuleType):
            _feed_module(value, h, attrs)
        else:
            _feed(value, h)
    except FingerprintError as exc:
        raise FingerprintError(f"{where}: {exc}") from None


def _feed_module(module: types.ModuleType, h: Any, attrs: frozenset[str]) -> None:
    # A module the code reads attributes of (``helpers.rate(x)``, ``np.mean``): an installed one by
    # name and version, one of the user's by the attributes the code reads from it.
    name = module.__name__
    if not _is_user(name):
        _tag(h, b"mlib", f"{name}|{_version(name)}".encode())
        return
    _tag(h, b"mod", name.encode())
    space = vars(module)
    if type(module) is not types.ModuleType:
        # ``sys.modules[__name__].__class__ = Settings``: its properties compute what the code reads.
        _tag(h, b"mcls")
        _feed(type(module), h)
    missing = False
    for attr in sorted(attrs):
        value = space.get(attr, _ABSENT)
        if value is _ABSENT:
            missing = True
            continue
        _tag(h, b"a", attr.encode())
        _feed_named(value, h, attrs, f"{name}.{attr}")
    hook = space.get("__getattr__")
    if missing and hook is not None:
        # PEP 562: a name the module's namespace lacks is what its ``__getattr__`` returns
        # (``settings.SCALE`` served by ``def __getattr__(name)``); its code is the value's identity.
        # (``attrs`` holds every attribute name the code reads, of any object: a name read from
        # something else only adds the hook to the key.)
        _tag(h, b"getattr")
        try:
            _feed(hook, h)
        except FingerprintError as exc:
            raise FingerprintError(f"{name}.__getattr__: {exc}") from None
