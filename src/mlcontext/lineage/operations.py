"""The registry of operations that recompute (and later, reuse) may execute, by opcode.

Only functions registered here ever run when a log is recomputed: an opcode read from a log is a key into
this table, never an import path, so a hostile log cannot call anything else. The traced-operation layer
(:mod:`mlcontext.ops`) fills the table; this layer only reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import LineageError

__all__ = ["Operation", "OPERATIONS", "register_operation", "operation", "fresh_out", "SOURCES",
           "register_source"]


@dataclass(frozen=True, slots=True)
class Operation:
    """An executable operation: ``fn(*args, **kwargs)`` rebuilt from the item's literals."""

    opcode: str
    fn: Callable[..., Any]
    # ``out=`` buffers are always replaced by fresh copies before ``fn`` runs, so an operation never
    # writes into a value that other items still describe; True marks ufuncs, whose ``out`` is a tuple.
    fresh_out: bool = False


OPERATIONS: dict[str, Operation] = {}


def register_operation(opcode: str, fn: Callable[..., Any], *, fresh_out: bool = False) -> Operation:
    """Register ``fn`` under ``opcode`` (re-registering the same opcode replaces it)."""
    op = Operation(opcode, fn, fresh_out)
    OPERATIONS[opcode] = op
    return op


def fresh_out(out: Any, ufunc: bool = True) -> Any:
    """Copies of ``out=`` buffers (a tuple, as ufuncs take them; a single array for functions such
    as ``np.clip`` or ``np.cumsum``): a traced operation never writes into an existing value."""
    outs = out if isinstance(out, tuple) else (out,)
    copies = tuple(None if o is None else np.array(o, copy=True) for o in outs)
    return copies if ufunc or isinstance(out, tuple) else copies[0]


def operation(opcode: str) -> Operation:
    """The registered operation for ``opcode``, or a :class:`LineageError` naming it."""
    op = OPERATIONS.get(opcode)
    if op is None:
        raise LineageError(f"no registered operation {opcode!r}: it cannot be recomputed")
    return op


# Sources: opcodes whose value is found rather than computed from their inputs (a frame read from a
# file, a function by its code hash, an unhandled pandas call by its output's content hash). Recompute
# calls ``fn(item, inputs, resolver)`` with the ``inputs=`` mapping and the resolver it was given; a
# source's own item inputs, if any, are lineage only and are not evaluated.
SOURCES: dict[str, Callable[[Any, Any, Any], Any]] = {}


def register_source(opcode: str, fn: Callable[[Any, Any, Any], Any]) -> None:
    """Register how recompute finds the value of a source item with ``opcode``."""
    SOURCES[opcode] = fn
