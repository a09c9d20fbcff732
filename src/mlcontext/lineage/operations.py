"""The registry of operations that recompute (and later, reuse) may execute, by opcode.

Only functions registered here ever run when a log is recomputed: an opcode read from a log is a key
into this table, never an import path, so a hostile log cannot call anything else. The
traced-operation
layer (:mod:`mlcontext.ops`) fills the table; this layer only reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import LineageError

__all__ = ["Operation", "OPERATIONS", "register_operation", "operation"]


@dataclass(frozen=True, slots=True)
class Operation:
    """An executable operation: ``fn(*args, **kwargs)`` rebuilt from the item's literals."""

    opcode: str
    fn: Callable[..., Any]


OPERATIONS: dict[str, Operation] = {}


def register_operation(opcode: str, fn: Callable[..., Any]) -> Operation:
    """Register ``fn`` under ``opcode`` (re-registering the same opcode replaces it)."""
    op = Operation(opcode, fn)
    OPERATIONS[opcode] = op
    return op


def operation(opcode: str) -> Operation:
    """The registered operation for ``opcode``, or a :class:`LineageError` naming it."""
    op = OPERATIONS.get(opcode)
    if op is None:
        raise LineageError(f"no registered operation {opcode!r}: it cannot be recomputed")
    return op
