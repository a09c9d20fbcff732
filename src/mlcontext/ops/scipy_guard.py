"""SciPy's ``overwrite_*`` permissions withdrawn for read-only inputs.

``scipy.linalg``'s solvers and factorisations take ``overwrite_a=True`` / ``overwrite_b=True`` as
leave to compute in the caller's buffer. Its f2py layer does not check NumPy's ``WRITEABLE`` flag
before doing so: ``scipy.linalg.cho_solve(c, b, overwrite_b=True)`` with ``b`` a traced array
(converted by ``np.asarray`` to a read-only view of the cached value) or any read-only array writes
the solution into that memory. For mlcontext that memory is the reuse cache's value of ``b``'s
lineage item, and every later reuse of it was wrong without a warning.

An overwrite flag is a permission, never a requirement (SciPy documents it as "may improve
performance"; with it off, SciPy copies and returns the same values), so each public
``scipy.linalg`` function with ``overwrite_*`` parameters is wrapped to turn a flag off when the
argument it names is a traced array or frame, or a read-only array (or array-like: a pandas object
whose array view is read-only). Calls that keep the defaults, and calls on writable arrays, are passed
through unchanged. The wrappers are installed when ``scipy.linalg`` is imported (before or after
mlcontext: a post-import hook, from ``wrapt``), in ``scipy.linalg`` and in every loaded module that
bound one of them by name before (``from scipy.linalg import cho_solve`` at the top of a script).

Not covered: the low-level wrappers of ``scipy.linalg.lapack`` and ``scipy.linalg.blas`` (``dpotrs``,
``get_lapack_funcs(...)``) called directly with an overwrite flag; they are f2py objects, not Python
functions (docs/reuse.md names this); nor a name bound in a function's closure or a class before
the guard is installed.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .traced import TracedArray

__all__ = ["install", "protect"]

_MARK = "_mlcontext_guard"


def _read_only(value: Any) -> bool:
    """Whether SciPy must not compute in ``value``'s memory: a traced array (its value is shared
    with the cache and the lineage), an ndarray that is not writeable, or any other array-like
    (a traced or copy-on-write pandas frame or series) whose array view is read-only."""
    if type(value) is TracedArray:
        return True
    if isinstance(value, np.ndarray):
        return not value.flags.writeable
    if hasattr(type(value), "__array__"):
        try:
            return not np.asarray(value).flags.writeable
        except Exception:  # (SciPy will say what is wrong with it)
            return False
    return False


def protect(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with each ``overwrite_<name>`` flag turned off when the argument ``<name>`` is read-only.

    Parameters
    ----------
    func : callable
        A function with parameters named ``overwrite_<name>`` (SciPy's convention: the flag allows
        computing in the argument ``<name>``). A flag whose argument is not a parameter of ``func``
        guards every array argument.

    Returns
    -------
    callable
        ``func`` itself when it has no such parameter, else a wrapper with its name, docstring and
        signature.
    """
    if getattr(func, _MARK, False):
        return func
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return func
    names = list(signature.parameters)
    flags = [p for p in names if p.startswith("overwrite_")]
    if not flags:
        return func
    targets = {flag: flag[len("overwrite_"):] for flag in flags}
    # A call that passes fewer positional arguments than the first flag's position and no flag by
    # keyword keeps SciPy's defaults (False): nothing to check.
    first = min(names.index(flag) for flag in flags)
    kinds = signature.parameters

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) <= first and not any(k in kwargs for k in flags):
            return func(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        arguments = bound.arguments
        changed = False
        for flag, target in targets.items():
            if not arguments.get(flag, False):
                continue
            if target in kinds:
                watched = [arguments.get(target)]
            else:
                watched = list(arguments.values())
            if any(_read_only(v) for v in watched):
                arguments[flag] = False
                changed = True
        if not changed:
            return func(*args, **kwargs)
        return func(*bound.args, **bound.kwargs)

    setattr(guarded, _MARK, True)
    return guarded


def _guard_module(module: ModuleType) -> None:
    """Wrap the public functions of ``scipy.linalg`` that take overwrite flags (idempotent), there
    and wherever a loaded module already bound one by name (``from scipy.linalg import cho_solve``
    run before this: the user's script, scikit-learn's modules)."""
    replaced: dict[int, Callable[..., Any]] = {}
    for name in getattr(module, "__all__", ()):
        func = getattr(module, name, None)
        if inspect.isfunction(func):
            wrapped = protect(func)
            if wrapped is not func:
                replaced[id(func)] = wrapped
                setattr(module, name, wrapped)
    if replaced:
        _rebind(replaced)


def _rebind(replaced: dict[int, Callable[..., Any]]) -> None:
    """Point every module-level name bound to a replaced function at its wrapper."""
    for other in list(sys.modules.values()):
        try:  # (a module object may be anything; none of them may break SciPy's import)
            namespace = getattr(other, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for key, value in list(namespace.items()):
                wrapped = replaced.get(id(value))
                if wrapped is not None and getattr(wrapped, "__wrapped__", None) is value:
                    namespace[key] = wrapped
        except Exception:
            continue


def install() -> None:
    """Guard ``scipy.linalg`` now if it is imported, else as soon as it is (idempotent)."""
    module = sys.modules.get("scipy.linalg")
    if module is not None:
        _guard_module(module)
        return
    try:
        import wrapt
    except ImportError:  # pragma: no cover - a declared dependency
        return
    wrapt.register_post_import_hook(_guard_module, "scipy.linalg")
