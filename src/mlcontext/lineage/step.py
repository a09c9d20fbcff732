"""``@mc.step``: a function whose traced lineage is deduplicated per call (and, later, reused).

A step is identified by its qualified name and a hash of its code (bytecode, constants and names,
nested functions included; not the file name or line numbers, so moving a function does not change
it). Each call is one dedup scope labelled ``step:<qualname>:<code hash>``. The reuse layer keys
function-level reuse on the function's complete identity at the time of the call
(:func:`mlcontext.fingerprint.hash_function`: code, defaults, closure cells, the globals it reads)
plus the lineage of the inputs.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import xxhash

from ..errors import UsageError
from . import dedup
from .state import STATE

__all__ = ["step", "StepInfo", "code_hash", "set_call_hook"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class StepInfo:
    """What identifies a step: its qualified name and the hash of its code (``function``: the
    decorated function, whose complete identity the reuse layer hashes at every call)."""

    qualname: str
    code_hash: str
    reuse: bool = True  # False: never reused as a whole (e.g. it reads files or the clock)
    function: Callable[..., Any] | None = None

    @property
    def label(self) -> str:
        return f"step:{self.qualname}:{self.code_hash[:16]}"


def code_hash(fn: Callable[..., Any]) -> str:
    """A stable hash of a function's code: bytecode, constants (nested code too), names.

    A ``functools.partial`` is hashed by the code of the function it wraps, a bound method by its
    function's code, an object with a ``__call__`` method by that method's code (what they are bound
    to is part of the complete identity the reuse layer hashes at each call, not of this static one).

    Raises
    ------
    UsageError
        ``fn`` has no Python code: a builtin, a class, or not a callable at all.
    """
    h = xxhash.xxh3_128()
    stack = [_code_of(fn)]
    while stack:
        code = stack.pop()
        h.update(code.co_code)
        h.update(repr((code.co_names, code.co_varnames, code.co_argcount,
                       code.co_kwonlyargcount)).encode())
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                stack.append(const)
            else:
                h.update(repr(const).encode())
    return h.hexdigest()


def _code_of(fn: Any) -> types.CodeType:
    target = _code_owner(fn)
    code = getattr(target, "__code__", None)
    if isinstance(code, types.CodeType):
        return code
    if isinstance(fn, type):
        what = (f"the class {fn.__qualname__}; decorate a function that uses it: "
                f"@mc.step\ndef make(x): return {fn.__qualname__}(x)")
    elif callable(fn):
        what = (f"{_describe(fn)}, which has no Python code; wrap the call in a def: "
                "@mc.step\ndef f(x): return len(x)")
    else:
        what = f"{_describe(fn)}, which is not callable; decorate a function (a def or a lambda)"
    raise UsageError(f"mc.step takes a Python function (a def, a lambda, a method, or a "
                     f"functools.partial of one), not {what}")


def _code_owner(fn: Any) -> Any:
    """The Python function whose code a callable runs: itself, a partial's or a method's function,
    or a callable object's ``__call__``."""
    for _ in range(100):  # (partials of partials; a cycle is impossible, a bound just in case)
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif isinstance(fn, types.MethodType):
            fn = fn.__func__
        else:
            break
    if not isinstance(fn, types.FunctionType | type) and callable(fn):
        call = next((vars(c)["__call__"] for c in type(fn).__mro__ if "__call__" in vars(c)), None)
        if isinstance(call, types.FunctionType):
            return call
    return fn


def qualified_name(fn: Any) -> str:
    """``module.qualname`` of a step: of the function a partial or method runs, or of a callable
    object's class."""
    target = _code_owner(fn)
    if isinstance(fn, functools.partial):
        return f"{target.__module__}.{target.__qualname__}"
    if not isinstance(fn, types.FunctionType | types.MethodType):
        cls = type(fn)
        return f"{cls.__module__}.{cls.__qualname__}"
    return f"{fn.__module__}.{fn.__qualname__}"


def _describe(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if isinstance(name, str):
        return f"{type(fn).__name__} {name}"
    try:
        text = repr(fn)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = "..."
    return f"the {type(fn).__name__} {text[:40]}"


# The reuse layer (issue 4) installs a hook here for function-level reuse:
# ``hook(info, run, args, kwargs)`` returns the call's result, running ``run(*args, **kwargs)`` (the
# traced body) only when it cannot reuse an earlier call. Lineage itself knows nothing of caches.
StepHook = Callable[[StepInfo, Callable[..., Any], tuple, dict], Any]


def set_call_hook(hook: StepHook | None) -> StepHook | None:
    """Install ``hook`` around every step call (``None`` removes it); return the previous one."""
    old, STATE.call_hook = STATE.call_hook, hook
    return old


@overload
def step(fn: F) -> F: ...
@overload
def step(fn: None = None, *, name: str | None = None, reuse: bool = True) -> Callable[[F], F]: ...


def step(fn: Any = None, *, name: str | None = None, reuse: bool = True) -> Any:
    """Decorate a function as a step: its traced lineage is recorded once per control path.

    With reuse on (:func:`mlcontext.reuse`), a call whose function code and input lineage were seen
    before returns the earlier outputs without running the body; ``reuse=False`` opts a function out
    (use it for functions that read files, the clock or unseeded random numbers).

    Parameters
    ----------
    fn : callable, optional
        The function (``@mc.step``): a def, a lambda, a method or a ``functools.partial`` of one;
        omitted when options are given (``@mc.step(name=...)``).
    name : str, optional
        The step's name in lineage (default: the function's qualified name).
    reuse : bool
        ``False``: never reuse this function's results.

    Returns
    -------
    callable
        The decorated function (or, without ``fn``, a decorator).

    Raises
    ------
    UsageError
        ``fn`` has no Python code (a builtin, a class, not a callable), or ``name`` or ``reuse`` is
        of the wrong type.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> @mc.step
    ... def scale(a, k):
    ...     return (a - a.mean()) * k
    >>> out = scale(mc.array(np.arange(3.0)), 2.0)
    >>> out.lineage.opcode, out.lineage.inputs[0].opcode
    ('lineage.output', 'lineage.dedup')
    """
    if name is not None and (type(name) is not str or not name):
        raise UsageError(f"mc.step(name=...) takes a non-empty str, not {_describe(name)}")
    if type(reuse) is not bool:
        raise UsageError(f"mc.step(reuse=...) takes True or False, not {_describe(reuse)}")
    if fn is None:
        return functools.partial(step, name=name, reuse=reuse)
    code = code_hash(fn)  # first: it says what is wrong with something that is not a function
    info = StepInfo(name or qualified_name(fn), code, reuse, fn)

    def run(*args: Any, **kwargs: Any) -> Any:
        if not dedup.dedup_enabled():
            return fn(*args, **kwargs)
        scope = dedup.open_scope(info.label)
        try:
            return fn(*args, **kwargs)
        finally:
            dedup.close_scope(scope)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        hook = STATE.call_hook
        if hook is not None:
            return hook(info, run, args, kwargs)
        return run(*args, **kwargs)

    wrapper.__mlcontext_step__ = info  # type: ignore[attr-defined]
    return wrapper
