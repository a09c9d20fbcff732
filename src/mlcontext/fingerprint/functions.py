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
    __slots__ = ("digest", "globals", "attrs", "imports", "runtime_import", "children", "functional",
                 "runtime_code", "module_names", "machinery", "import_globals", "guessed")

    def __init__(self, digest: bytes, globals_: tuple[str, ...], attrs: frozenset[str],
                 imports: tuple[tuple[str, int], ...] = (), runtime_import: str = "",
                 children: dict[str, tuple[str, ...]] | None = None,
                 functional: frozenset[str] = frozenset(), runtime_code: tuple[str, str] = ("", ""),
                 module_names: frozenset[str] = frozenset(), machinery: bool = False,
                 import_globals: frozenset[str] = frozenset(), guessed: frozenset[str] = frozenset()) -> None:
        self.digest, self.globals, self.attrs, self.imports = digest, globals_, attrs, imports
        # The call that imports a module whose name is computed when it runs ("" if none): which
        # module's code it reaches cannot be known before the call.
        self.runtime_import = runtime_import
        #: What the code reads through each name, attribute by attribute: ``"sys" -> ("argv",)``,
        #: ``"np" -> ("random",)``, ``"np.random" -> ("randn",)``; ``"?"`` is any other object (a
        #: local, a call's result). A module imported in the body is under its full name.
        self.children = children or {}
        self.functional = functional  # modules imported by importlib.import_module("m") and the like
        # (builtin, where) of an eval/exec of a string computed at run time ("" if none): which
        # globals that code reads cannot be known before the call.
        self.runtime_code = runtime_code
        # The import machinery reached otherwise than by a call with a constant name
        # (``sys.modules.get("m")``, ``load = importlib.import_module`` then ``load("m")``, a name
        # held by a global): whether the code touches it (import_module, __import__, sys.modules), the
        # string constants that could name a module, and the globals an import call is given.
        self.module_names, self.machinery, self.import_globals = module_names, machinery, import_globals
        # Attribute names only guessed from string constants (``vars(m)["RATE"]``): fed when they have
        # a fingerprint, named otherwise (never a refusal of code that may not read them at all).
        self.guessed = guessed


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
# Code that reads names from a string when it runs: builtin ``eval``/``exec`` (the names its code
# loads), and ``pd.eval("a * RATE")`` / ``numexpr.evaluate`` called on a module (names of the caller's
# scope). ``@RATE`` in any string constant is pandas' ``query``/``eval`` syntax for a variable of the
# caller (``df.query("fare > @MIN_FARE")``): a newcomer's edited global gave the old result, the
# bytecode never loading it.
_CODE_BUILTINS = frozenset({"eval", "exec"})
_EXPRESSION_METHODS = frozenset({"eval", "evaluate"})
_AT_NAME = re.compile(r"(?<![\w@.])@([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_GETTERS = frozenset({"getattr", "hasattr"})  # getattr(sys, "argv"): the constant is an attribute read
# What reads a namespace by a string the analysis cannot tie to its object: vars(m)[...], m.__dict__,
# operator.attrgetter("RATE")(m), m.__getattribute__("RATE")
_BY_STRING = frozenset({"vars", "__dict__", "attrgetter", "__getattribute__"})
_CALLS = frozenset({"PRECALL", "CALL", "CALL_KW", "CALL_FUNCTION_EX", "KW_NAMES"})
# What joins a string constant with something computed (``"x" + y``, an f-string): not a constant.
_JOINS = frozenset({"BINARY_OP", "BINARY_ADD", "BINARY_MODULO", "FORMAT_VALUE", "FORMAT_SIMPLE",
                    "FORMAT_WITH_SPEC", "CONVERT_VALUE", "BUILD_STRING"})
_LOCAL_LOADS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR"})
_STORES = frozenset({"STORE_FAST", "STORE_NAME", "STORE_DEREF", "STORE_GLOBAL"})
_CALL_SETUP = frozenset({"PUSH_NULL", "PRECALL", "CACHE", "EXTENDED_ARG", "NOP"})


def _code_info(code: types.CodeType) -> _CodeInfo:
    info = _CODE.get(code)
    if info is None:
        info = _CODE[code] = _Analysis(code).info()
    return info


class _Analysis:
    """One pass over a code object and the code nested in it (and the code of ``eval("...")``)."""

    def __init__(self, code: types.CodeType) -> None:
        self.h = xxhash.xxh3_128()
        self.names: dict[str, None] = {}
        self.attrs: set[str] = set()
        self.imports: dict[tuple[str, int], None] = {}  # (module name, relative level) of imports
        self.paths: set[str] = set()  # "sys.argv", "np.random.randn", "?.shape": see _CodeInfo.children
        self.bound: dict[str, str] = {}  # a local an import statement bound -> the module's path
        self.functional: set[str] = set()
        self.runtime_import = ""
        self.runtime_code = ("", "")
        self.module_names: set[str] = set()  # string constants that could name a module
        self.machinery = False
        self.import_globals: set[str] = set()  # globals given to an import call: import_module(HELPER)
        self.identifiers: set[str] = set()  # string constants that could be an attribute's name
        self.stack = [code]

    def info(self) -> _CodeInfo:
        while self.stack:
            c = self.stack.pop()
            self._hash(c)
            self._instructions(c, list(dis.get_instructions(c)))
        guessed: frozenset[str] = frozenset()
        if not _BY_STRING.isdisjoint(self.names) or not _BY_STRING.isdisjoint(self.attrs):
            # ``vars(m)["RATE"]``, ``m.__dict__.get("RATE")``, ``attrgetter("RATE")(m)``: a namespace
            # read by a string, as getattr(m, "RATE") is; which object's cannot be followed, so every
            # identifier the code holds counts as read of a module it reaches (a reviewer's stale
            # result). Guessed, so one that names something without a fingerprint is not refused.
            guessed = frozenset(self.identifiers - self.attrs)
            self.attrs.update(self.identifiers)
            self.paths.update(f"?.{name}" for name in self.identifiers)
        children: dict[str, set[str]] = {}
        for path in self.paths:
            parts = path.split(".")
            for k in range(1, len(parts)):
                children.setdefault(".".join(parts[:k]), set()).add(parts[k])
        return _CodeInfo(self.h.digest(), tuple(self.names), frozenset(self.attrs), tuple(self.imports),
                         self.runtime_import, {k: tuple(sorted(v)) for k, v in children.items()},
                         frozenset(self.functional), self.runtime_code, frozenset(self.module_names),
                         self.machinery or "sys.modules" in self.paths, frozenset(self.import_globals),
                         guessed)

    def _hash(self, c: types.CodeType) -> None:
        h = self.h
        h.update(c.co_code)
        h.update(repr((c.co_name, c.co_names, c.co_varnames, c.co_freevars, c.co_cellvars, c.co_argcount,
                       c.co_posonlyargcount, c.co_kwonlyargcount, c.co_flags & _CODE_FLAGS)).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                self.stack.append(const)
                _tag(h, b"code")
            else:
                _feed(const, h)
                if type(const) is str and _MODULE_NAME.fullmatch(const) and not const.startswith("."):
                    self.module_names.add(const)
                if type(const) is str and const.isidentifier():
                    self.identifiers.add(const)
                if type(const) is str and "@" in const:
                    for ref in _AT_NAME.findall(const):  # "fare > @MIN_FARE", "@cfg.rate"
                        self.names[ref.partition(".")[0]] = None
                        self.attrs.update(ref.split(".")[1:])
                        self.paths.add(ref)

    def _instructions(self, c: types.CodeType, code: list[dis.Instruction]) -> None:
        consts: list[Any] = [0, None]  # the last two constants loaded
        importer = None  # the import function or module table loaded by the previous instruction
        caller = None  # eval/exec/getattr, or a module's eval, loaded by a previous instruction
        chain: str | None = None  # the path of what the last instruction loaded (see _CodeInfo.children)
        importing: tuple[str, str] | None = None  # ("from"/"chain", module) while an import binds names
        for k, ins in enumerate(code):
            op, arg = ins.opname, ins.argval
            if op in _CALL_SETUP and op != "PRECALL":
                continue
            if importer is not None and op != "PRECALL":
                self._imported_by_call(importer, op, arg, c)
                importer = None
            if caller is not None:
                caller = self._called(caller, code, k, chain, c)
            if op in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_ATTR", "LOAD_METHOD") and (
                    arg in _IMPORT_CALLS or (arg in _MODULE_TABLES and op in ("LOAD_ATTR", "LOAD_METHOD"))):
                importer = arg
                self.machinery = self.machinery or arg in _IMPORT_CALLS
            if op in ("LOAD_GLOBAL", "LOAD_NAME") and (arg in _CODE_BUILTINS or arg in _GETTERS):
                caller = arg
            elif op in ("LOAD_ATTR", "LOAD_METHOD") and arg in _EXPRESSION_METHODS and chain is not None \
                    and not chain.startswith("?"):
                caller = "module.eval"  # pd.eval("..."), numexpr.evaluate("..."): not df.eval
            if op in _GLOBAL_OPS:
                self.names[arg] = None
            elif op in _ATTR_OPS:
                self.attrs.add(arg)
                if op == "IMPORT_FROM" and (arg in _IMPORT_CALLS or arg in _MODULE_TABLES):
                    # ``from importlib import import_module`` (``as load``) in the body: the local it
                    # binds is not followed, so any module a string of the code names counts
                    self.machinery = True
            elif op == "IMPORT_NAME":  # after LOAD_CONST level, LOAD_CONST fromlist
                level = consts[0] if type(consts[0]) is int else 0
                self.imports[(arg, level)] = None
            elif op == "LOAD_CONST":
                consts = [consts[1], arg]
            chain, importing = self._chain(op, arg, consts, chain, importing)

    def _chain(self, op: str, arg: Any, consts: list, chain: str | None,
               importing: tuple[str, str] | None) -> tuple[str | None, tuple[str, str] | None]:
        """The path of what ``op`` leaves on the stack (None: not a name's attributes), recording
        the attribute reads on the way and the names import statements bind."""
        if op in ("LOAD_GLOBAL", "LOAD_NAME"):
            return arg, None
        if op in ("LOAD_DEREF", "LOAD_CLASSDEREF"):
            return self.bound.get(arg, arg), None
        if op in _LOCAL_LOADS:
            return self.bound.get(arg, "?"), None
        if op in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR", "LOAD_SUPER_ATTR"):
            path = f"{chain if chain is not None and op != 'LOAD_SUPER_ATTR' else '?'}.{arg}"
            self.paths.add(path)
            return (path if op in ("LOAD_ATTR", "LOAD_METHOD") else None), None
        if op == "IMPORT_NAME":
            if consts[0] != 0 or not arg:  # a relative import: the user's own package
                return None, None
            if consts[1] is None:  # ``import a.b`` binds a; ``import a.b as c`` binds a.b (IMPORT_FROM)
                return arg.partition(".")[0], ("chain", arg)
            return arg, ("from", arg)
        if op == "IMPORT_FROM" and importing is not None:
            kind, module = importing
            if kind == "chain":
                return module, importing
            self.paths.add(f"{module}.{arg}")  # from sys import argv
            return f"{module}.{arg}", importing
        if op in _STORES and importing is not None:
            if chain is not None:
                self.bound[arg] = chain
            return None, importing
        if op in ("SWAP", "POP_TOP") and importing is not None:
            return chain, importing
        return None, None

    def _imported_by_call(self, importer: str, op: str, name: Any, c: types.CodeType) -> None:
        if op in ("LOAD_GLOBAL", "LOAD_NAME") and importer in _IMPORT_CALLS:
            self.import_globals.add(name)  # import_module(HELPER): its value is read when hashing
            return
        if op != "LOAD_CONST":
            name = None
        if isinstance(name, str) and _MODULE_NAME.fullmatch(name):
            dots = len(name) - len(name.lstrip("."))
            self.imports[(name[dots:], dots)] = None
            if not dots:
                self.functional.add(name)
        elif importer in _IMPORT_CALLS and not self.runtime_import:
            self.runtime_import = f"{importer}() of a name computed at run time (in {c.co_name})"

    def _called(self, caller: str, code: list[dis.Instruction], k: int, chain: str | None,
                c: types.CodeType) -> str | None:
        """Follow up ``caller`` at instruction ``k``; what is still awaited (getattr's object)."""
        ins = code[k]
        if caller in _GETTERS:  # getattr(<object>, "NAME"): wait for the object's last load
            if ins.opname == "LOAD_CONST" and chain is not None:
                if isinstance(ins.argval, str) and ins.argval.isidentifier():
                    self.attrs.add(ins.argval)
                    self.paths.add(f"{chain}.{ins.argval}")
                return None
            loads = ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_ATTR") or (
                ins.opname in _LOCAL_LOADS)
            return caller if loads else None
        text = _constant_argument(code, k)
        if text is None:
            if caller in _CODE_BUILTINS and not self.runtime_code[0]:
                self.runtime_code = (caller, c.co_name)
            return None
        for mode in ("eval", "exec"):
            try:
                self.stack.append(compile(text, f"<{caller}>", mode, dont_inherit=True))
                break
            except (SyntaxError, ValueError):
                continue
        return None


def _constant_argument(code: list[dis.Instruction], k: int) -> str | None:
    """The string constant loaded at ``k`` if it is the whole first argument of the call that follows
    (not ``"x" + y``, an f-string, ``"x".join(...)``): else None."""
    if code[k].opname != "LOAD_CONST" or type(code[k].argval) is not str:
        return None
    for j, ins in enumerate(code[k + 1:]):
        if ins.opname in _CALLS:
            return code[k].argval
        if ins.opname in _JOINS or (j == 0 and ins.opname in ("LOAD_ATTR", "LOAD_METHOD")):
            return None
    return None


def hash_function(fn: Callable[..., Any]) -> str:
    """The identity of a function: everything that decides its result besides its arguments.

    Part of it: the qualified name; the code object (bytecode, constants, names, nested functions;
    not the file or line numbers); ``__defaults__`` and ``__kwdefaults__``; the values of closure
    cells; every global the code loads, by value — the user's own functions and classes by this same
    identity (transitively), the user's modules by the attributes the code reads from them,
    installed packages' functions, classes and modules by name and package version, and the plain
    data the code reads of such a module (``sys.argv``) by value. Names code reads from a string
    when it runs count as globals it loads: ``@NAME`` in a string constant (pandas' ``query`` and
    ``eval``), the code of ``eval``/``exec`` of a constant string. Builtins, ufuncs,
    ``functools.partial`` objects and bound methods are identified by their parts. Values are hashed
    as by :func:`hash_value` at the time of the call.

    Raises
    ------
    FingerprintError
        Something it reads has no fingerprint (an open file, a socket, an arbitrary object), or it
        runs code only known when it runs (``eval`` of a string built at run time); the message
        names it (``global 'fh' of tip: ...``).

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
    if snap is not None and not _valid(snap, fn, set()):
        # Gone, not kept for later: a caller's snapshot made meanwhile must not take it for the
        # helper's digest (it may come back valid: ``del base.weight`` after ``base.weight = 10``).
        _SNAPS.pop(fn, None)
        snap = None
    if snap is not None and snap.template is None:
        h.update(snap.digest)
        return
    seen.add(_identity(fn))
    outer, _active.recursed = getattr(_active, "recursed", False), False
    try:
        if snap is not None:
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
                 "template", "info", "reads", "slots")

    def __init__(self, fn: types.FunctionType, digest: bytes, cells: tuple, globals_: tuple,
                 users: tuple, reads: tuple, template: tuple[bytes | str, ...] | None = None,
                 info: _CodeInfo | None = None) -> None:
        self.digest, self.code, self.qualname = digest, fn.__code__, fn.__qualname__
        self.defaults = fn.__defaults__
        kw = fn.__kwdefaults__
        self.kwdefaults = None if kw is None else tuple(kw.items())
        self.cells, self.globals, self.users = cells, globals_, users
        #: (namespace, attribute, value) of each installed module's attribute the digest holds the
        #: value of (``math.tau``; ``os.path`` on the way to ``os.path.sep``): rebinding one, as
        #: rebinding a global, makes the function hash again.
        self.reads = reads
        #: How many entries the function's ``__dict__`` had (dunders only: a function with attributes
        #: of its own has no snapshot). ``base.weight = 10`` after a call adds one (a newcomer's
        #: ``getattr(base, "weight", 1)`` kept the old weight).
        self.slots = len(fn.__dict__)
        #: None: ``digest`` is the function's digest. Otherwise the hash stream's parts: bytes as they
        #: are, a str names a global whose value is fed again (``info``: what the code reads).
        self.template, self.info = template, info


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
            _feed_part(scope[part], sub, f"global {part!r}", fn, snap.info, (part,))
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


# Plain data an installed module holds (``sys.argv``, ``math.tau`` set by a program, a package's flag) is
# part of the identity of code that reads it: the module's version does not say what it is now
# (a newcomer's step computing ``x * float(sys.argv[1])`` was served another run's value). Its
# functions, classes and submodules stay identified by the version.
_PLAIN_ITEMS = 1000  # a larger table is the package's data, identified by its version


def _plain_data(value: Any) -> int:
    """0: not plain data; 1: a number, string, bytes, bool, None (``_IMMUTABLE``) or a tuple of
    them; 2: plain data with lists or dicts (it can change in place). At most ``_PLAIN_ITEMS`` items
    in all."""
    kind, todo, left = 1, [value], _PLAIN_ITEMS
    while todo:
        v = todo.pop()
        t = type(v)
        if t in _IMMUTABLE:
            continue
        if t is not tuple and t is not list and t is not dict:
            return 0
        left -= 2 * len(v) if t is dict else len(v)
        if left < 0:
            return 0
        if t is dict:  # (copied first, as a value is hashed: another thread may be changing it)
            kind = 2
            todo += [x for item in v.copy().items() for x in item]
        else:
            kind = 2 if t is list else kind
            todo += tuple(v)
    return kind


def _module_attributes(module: types.ModuleType, info: _CodeInfo | None,
                       prefixes: tuple[str, ...]) -> list[tuple[str, dict, str, Any, int]]:
    """The plain data the code reads of an installed module, through the installed submodules it
    reads it by (``os.path.sep``): ``(dotted name, namespace, attribute, value, kind)``, kind 0 for a
    submodule on the way, else ``_plain_data``'s. From the namespace only: no ``__getattr__`` runs."""
    out: list[tuple[str, dict, str, Any, int]] = []
    if info is None:
        return out
    todo = [(module, prefixes, "")]
    seen = {_identity(module)}
    while todo:
        at, where, dotted = todo.pop()
        space = vars(at)
        names = {n for p in where for n in info.children.get(p, ())}
        for attr in sorted(names):
            value = space.get(attr, _ABSENT)
            if isinstance(value, types.ModuleType):
                if _identity(value) not in seen and not _is_user(value.__name__):
                    seen.add(_identity(value))
                    out.append((dotted + attr, space, attr, value, 0))
                    todo.append((value, tuple(f"{p}.{attr}" for p in where), f"{dotted}{attr}."))
                continue
            kind = _plain_data(value) if value is not _ABSENT else 0
            if kind:
                out.append((dotted + attr, space, attr, value, kind))
    return out


def _module_reads(value: Any, info: _CodeInfo, prefixes: tuple[str, ...], reads: list) -> bool:
    """For a snapshot: add what an installed module's plain data it reads must stay (the same
    objects) to ``reads``; False if some can change in place (a list, a dict: hashed at every call)."""
    if type(value) is not types.ModuleType or _is_user(value.__name__):
        return True
    found = _module_attributes(value, info, prefixes)
    if any(kind == 2 for *_, kind in found):
        return False
    reads += [(space, attr, v) for _, space, attr, v, _ in found]
    return True


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
    info = _code_info(fn.__code__)
    reads: list = []  # (namespace, attribute, value) of installed modules' plain data it reads
    cells = []
    for var, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:
            return
        if not _fixed(value, users) or not _module_reads(value, info, (var,), reads):
            return
        cells.append(value)
    if _reads_environment(info) or _attributes(fn):
        return  # (attributes can be set without rebinding anything a snapshot checks)
    if _uses_machinery(fn, info):
        return  # the modules it names are hashed when loaded: loading one changes no binding here
    for _name, module, prefixes in _imported(fn, info):
        if module is None or _is_user(module.__name__):
            return  # what it reads from a user's module can change without any rebinding here
        if not _module_reads(module, info, prefixes, reads):
            return
    scope = fn.__globals__
    read = tuple((var, scope.get(var, _ABSENT)) for var in info.globals)
    dynamic = []
    for var, value in read:
        if value is _ABSENT:
            continue
        found: list = []
        if _fixed(value, found) and all(_plain_snapshot(u) for u in found):
            if not _module_reads(value, info, (var,), reads):
                dynamic.append(var)  # a list or dict of an installed module's (sys.argv): fed every call
                continue
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
        _SNAPS[fn] = _Snapshot(fn, digest, tuple(cells), read, tuple(seen_users), tuple(reads))
        return
    recorder = _Recorder()
    _feed_user_function(fn, recorder, frozenset(dynamic))
    snap = _Snapshot(fn, digest, tuple(cells), read, tuple(seen_users), tuple(reads), recorder.template(),
                     info)
    if _replay(snap, fn) == digest:  # (always, unless a value changed while it was being hashed)
        _SNAPS[fn] = snap


def _plain_snapshot(fn: types.FunctionType) -> bool:
    """Whether ``fn`` has a snapshot whose digest stands for it (no value fed again at each call)."""
    snap = _SNAPS.get(fn)
    return snap is not None and snap.template is None


def _valid(snap: _Snapshot, fn: types.FunctionType, checking: set[int]) -> bool:
    if fn.__code__ is not snap.code or fn.__defaults__ is not snap.defaults or (
            fn.__qualname__ is not snap.qualname) or len(fn.__dict__) != snap.slots:
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
    for space, attr, value in snap.reads:
        if space.get(attr, _ABSENT) is not value:
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
    builtin, where = info.runtime_code
    if builtin and fn.__globals__.get(builtin, _ABSENT) is _ABSENT:  # (not a global of that name)
        raise FingerprintError(
            f"{fn.__qualname__} calls {builtin}() of a string computed at run time (in {where}): which "
            f"globals that code reads is only known when it runs; write the code out, or {builtin}() a "
            "constant string, or pass the values it needs as arguments in its globals dict")
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
        _feed_part(value, h, f"closure variable {var!r}", fn, info, (var,))
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
        if value is sys.modules:  # (``from sys import modules``: the modules it names are fed below)
            _tag(h, b"sysmodules")
            continue
        _feed_part(value, h, f"global {var!r}", fn, info, (var,))
    if _reads_environment(info):
        _tag(h, b"env", _environment_digest())
    for name, value in _attributes(fn):
        # ``f.scale = 2`` read by the body as ``f.scale``: state the function carries with it.
        _tag(h, b"attr", name.encode())
        _feed_part(value, h, f"attribute {name!r}", fn)
    for name, module, prefixes in _imported(fn, info):
        # ``import helpers`` / ``from helpers import rate`` inside the body: the module is no global,
        # but what the code reads from it decides the result as much as a global would.
        _tag(h, b"imp", name.encode())
        if module is not None:
            _feed_part(module, h, f"module {name!r} imported", fn, info, prefixes)


def feed_class_behaviour(cls: type, h: Any) -> None:
    """Feed the class of a value that says its own state (``__mlcontext_fingerprint__``, a registered
    hasher): the methods compute what a step gets from that state, so an edited method is a new key (a
    newcomer's stale result). Fed as any class is (its body, methods by code with what they read);
    when some of that has no fingerprint — a lock the class holds, a connection a method reads, the
    very objects those hooks exist for — by the code of the methods of the user's classes in its MRO
    alone, never refused."""
    whole = xxhash.xxh3_128()
    try:
        _feed(cls, whole)
    except FingerprintError:
        _tag(h, b"clscode", f"{cls.__module__}.{cls.__qualname__}".encode())
        for k in cls.__mro__:
            if not _is_user(k.__module__):
                _feed(k, h)  # (a package's class: its name and version)
                continue
            space = vars(k)
            for name in sorted(space):
                for fn in _methods_in(space[name]):
                    _tag(h, b"mcode", f"{k.__qualname__}.{name}".encode())
                    h.update(_code_info(fn.__code__).digest)
        return
    _tag(h, b"cls", whole.digest())


def _methods_in(value: Any) -> list[types.FunctionType]:
    """The functions a class attribute runs: a function, a static or class method's, a property's."""
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if type(f) is types.FunctionType]
    return [value] if type(value) is types.FunctionType else []


def _attributes(fn: types.FunctionType) -> list[tuple[str, Any]]:
    """A function's own attributes (``f.scale = 2``), sorted; not dunders (``__wrapped__`` and the
    like, which decorators set, are covered by the code and closure that use them)."""
    space = getattr(fn, "__dict__", None)
    if not space:
        return []
    return sorted((k, v) for k, v in space.items() if not (k.startswith("__") and k.endswith("__")))


def _imported(fn: types.FunctionType,
              info: _CodeInfo) -> list[tuple[str, types.ModuleType | None, tuple[str, ...]]]:
    """The modules ``fn``'s code imports (and their parent packages), as loaded now (None: not yet),
    each with where the code's reads of it are recorded (see :func:`_prefixes`)."""
    out: list[tuple[str, types.ModuleType | None, tuple[str, ...]]] = []
    for name, level in info.imports:
        if level:
            package = fn.__globals__.get("__package__") or ""
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            name = f"{base}.{name}" if name else base
        parts = name.split(".")
        for k in range(1, len(parts) + 1):
            full = ".".join(parts[:k])
            out.append((full, sys.modules.get(full), _prefixes(info, full)))
    if _uses_machinery(fn, info):
        # A loaded module of the user's that a string of the code (or a global an import call is
        # given) names: ``sys.modules.get("m")`` and ``load("m")`` with ``load = import_module`` were
        # not seen, and an edited helper served the old result (a reviewer's finding). One not loaded
        # yet is loaded by the call: the identity then changes, and that first call is not kept.
        named = set(info.module_names)
        for var in info.import_globals:
            value = fn.__globals__.get(var, _ABSENT)
            if type(value) is not str:
                raise FingerprintError(
                    f"{fn.__qualname__} imports the module named by global {var!r}, which holds "
                    f"{type(value).__name__!r}, not a module name: which module's code it runs is only "
                    "known when it runs; import the module by name")
            named.add(value)
        scope = fn.__globals__
        named.update(v for var in info.globals if type(v := scope.get(var)) is str)  # load(HELPER)
        seen = {name for name, _, _ in out}
        for name in sorted(named - seen):
            module = sys.modules.get(name)
            if module is not None and _is_user(name):
                out.append((name, module, (name, "?")))
    return out


def _uses_machinery(fn: types.FunctionType, info: _CodeInfo) -> bool:
    """Whether ``fn``'s code reaches modules by name when it runs: it loads import_module, __import__
    or sys.modules, or a global it reads, a default or a closure cell is one of them under another
    name (``def f(a, load=importlib.import_module)``)."""
    if info.machinery or info.import_globals:
        return True
    scope = fn.__globals__
    importlib = sys.modules.get("importlib")
    machinery = [builtins.__import__, sys.modules]
    machinery += [v for name in ("import_module", "__import__") if (v := getattr(importlib, name, None))]
    held = [scope.get(var) for var in info.globals]
    held += fn.__defaults__ or ()
    held += (fn.__kwdefaults__ or {}).values()
    for cell in fn.__closure__ or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:  # (an empty cell)
            continue
    return any(v is m for v in held for m in machinery)


def _prefixes(info: _CodeInfo, name: str) -> tuple[str, ...]:
    """Where the code's reads of a module it imports are recorded: under its name, and for
    ``importlib.import_module("m").X`` (no name holds the module) under ``?``."""
    return (name, "?") if name in info.functional else (name,)


def _feed_part(value: Any, h: Any, what: str, fn: Any, info: _CodeInfo | None = None,
               prefixes: tuple[str, ...] = ()) -> None:
    _feed_named(value, h, info, prefixes, f"{what} of {fn.__qualname__}")


def _feed_named(value: Any, h: Any, info: _CodeInfo | None, prefixes: tuple[str, ...], where: str) -> None:
    """Feed a value (a module by what the code reads of it: ``info`` at ``prefixes``, see
    ``_CodeInfo.children``); a refusal says ``where``."""
    try:
        if isinstance(value, types.ModuleType):
            _feed_module(value, h, info, prefixes)
        else:
            _feed(value, h)
    except FingerprintError as exc:
        raise FingerprintError(f"{where}: {exc}") from None


def _feed_module(module: types.ModuleType, h: Any, info: _CodeInfo | None, prefixes: tuple[str, ...]) -> None:
    # A module the code reads attributes of (``helpers.rate(x)``, ``np.mean``): an installed one by
    # name and version and the plain data it is read for (``sys.argv``), one of the user's by the
    # attributes the code reads from it.
    name = module.__name__
    if not _is_user(name):
        _tag(h, b"mlib", f"{name}|{_version(name)}".encode())
        for dotted, _, _, value, kind in _module_attributes(module, info, prefixes):
            if kind:
                _tag(h, b"mval", dotted.encode())
                _feed(value, h)
        return
    _tag(h, b"mod", name.encode())
    space = vars(module)
    if type(module) is not types.ModuleType:
        # ``sys.modules[__name__].__class__ = Settings``: its properties compute what the code reads.
        _tag(h, b"mcls")
        _feed(type(module), h)
    missing = False
    for attr in sorted(info.attrs if info is not None else ()):
        value = space.get(attr, _ABSENT)
        if value is _ABSENT:
            missing = True
            continue
        _tag(h, b"a", attr.encode())
        if info is not None and attr in info.guessed:
            part = xxhash.xxh3_128()
            try:
                _feed_named(value, part, info, tuple(f"{p}.{attr}" for p in prefixes), f"{name}.{attr}")
            except FingerprintError:
                _tag(h, b"unhashed", type(value).__qualname__.encode())
            else:
                h.update(part.digest())
            continue
        _feed_named(value, h, info, tuple(f"{p}.{attr}" for p in prefixes), f"{name}.{attr}")
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
