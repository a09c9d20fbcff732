"""``@mc.step``: a function whose traced lineage is deduplicated per call (and, later, reused).

A step is identified by its qualified name and a hash of its code (bytecode, constants and names,
nested functions included; not the file name or line numbers, so moving a function does not change
it). Each call is one dedup scope labelled ``step:<qualname>:<code hash>``; the reuse layer keys
function-level reuse on the same identity plus the lineage of the inputs.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import xxhash

from . import dedup

__all__ = ["step", "StepInfo", "code_hash"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class StepInfo:
    """What identifies a step: its qualified name and the hash of its code."""

    qualname: str
    code_hash: str

    @property
    def label(self) -> str:
        return f"step:{self.qualname}:{self.code_hash[:16]}"


def code_hash(fn: Callable[..., Any]) -> str:
    """A stable hash of a function's code: bytecode, constants (nested code too), names."""
    h = xxhash.xxh3_128()
    stack = [getattr(fn, "__code__", None)]
    if stack[0] is None:
        raise TypeError(f"{fn!r} has no Python code to hash")
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


@overload
def step(fn: F) -> F: ...
@overload
def step(fn: None = None, *, name: str | None = None) -> Callable[[F], F]: ...


def step(fn: Any = None, *, name: str | None = None) -> Any:
    """Decorate a function as a step: its traced lineage is recorded once per control path.

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
    if fn is None:
        return functools.partial(step, name=name)
    info = StepInfo(name or f"{fn.__module__}.{fn.__qualname__}", code_hash(fn))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not dedup.dedup_enabled():
            return fn(*args, **kwargs)
        scope = dedup.open_scope(info.label)
        try:
            return fn(*args, **kwargs)
        finally:
            dedup.close_scope(scope)

    wrapper.__mlcontext_step__ = info  # type: ignore[attr-defined]
    return wrapper
