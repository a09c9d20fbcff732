"""The registry of operations that recompute and reuse may execute, by opcode, with their traits.

Only functions registered here ever run when a log is recomputed: an opcode read from a log is a key
into this table, never an import path, so a hostile log cannot call anything else. The
traced-operation layer (:mod:`mlcontext.ops`) fills the table; this layer only reads it.

Each operation declares its reuse :class:`Traits` when it is registered (pint's operation families
are the model): whether its result is determined by its inputs, its shape family (a stack, a
transpose, a matrix product, a slice, an elementwise ufunc) and a cost class. The reuse layer reads
the traits, never opcode names, so renaming an operation cannot silently switch a rewrite off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import LineageError

__all__ = ["Operation", "OPERATIONS", "register_operation", "operation", "PROVIDERS",
           "register_provider", "fresh_out", "SOURCES", "register_source", "Traits", "traits_of",
           "STACK", "TRANSPOSE", "PRODUCT", "SLICE",
           "ELEMENTWISE", "VIEW", "LINEAR", "HEAVY", "FACTOR", "COARSE", "AT_ONCE", "CHECKS",
           "register_check", "SIZES", "register_size"]

# Shape families the partial-reuse rewrites know (``Traits.family``).
STACK = "stack"  # concatenation of blocks along one axis (hstack, vstack, concatenate, column_stack)
TRANSPOSE = "transpose"  # the transpose of one 2-D argument
PRODUCT = "product"  # a matrix product of two arguments (matmul, dot)
SLICE = "slice"  # indexing a value (a[key])
ELEMENTWISE = "elementwise"  # a ufunc applied element by element, one output

# Cost classes (``Traits.cost``): what computing the value costs relative to its inputs' size.
VIEW = "view"  # nothing, or a copy at most (transpose, slicing)
LINEAR = "linear"  # one pass over the inputs (elementwise, stacks, reductions)
HEAVY = "heavy"  # more than a pass over the inputs, but not over the output (products, fits)
# Factorisations and solves (SVD, QR, Cholesky, eigen-decompositions, solve, inverse, lstsq): their
# cost grows faster than their output (O(n d^2) for an n x d SVD), so their compute time per byte
# of output says nothing reliable; they are admitted to the cache the first time they are computed.
FACTOR = "factor"
# Whole-object operations (pandas methods, a frame turned into an array by ``to_numpy``/``values``):
# people re-run them whole, per model or per notebook cell; their frames are cached at once, and so
# is the array a frame is converted into (its cost per byte is that of a copy, yet it is the costliest
# step of a feature pipeline).
COARSE = "coarse"
# The cost classes whose results are admitted the first time they are computed.
AT_ONCE = frozenset({FACTOR, COARSE})


@dataclass(frozen=True, slots=True)
class Traits:
    """What the reuse layer may assume of an operation.

    Attributes
    ----------
    deterministic : bool
        The result is determined by the operation's lineage (inputs and literals). False for draws
        of randomness: they are never probed or cached.
    family : str or None
        One of :data:`STACK`, :data:`TRANSPOSE`, :data:`PRODUCT`, :data:`SLICE`,
        :data:`ELEMENTWISE`, or None (no rewrite applies).
    cost : str
        :data:`VIEW`, :data:`LINEAR`, :data:`HEAVY`, :data:`FACTOR` or :data:`COARSE`. The cache
        measures the actual time; the reuse executor admits a result of a class in
        :data:`AT_ONCE` the first time it is computed (if it took at least ``min_compute_s``), the
        others when their measured cost per byte is high or their lineage comes round again
        (delayed admission).
    aliases_args : bool
        Its results may be views of its arguments (``broadcast_arrays``, ``atleast_2d`` of several
        arrays, ``split`` at traced indices): a plain array among them is copied before the call,
        or writing into it later would change the result under its lineage.
    """

    deterministic: bool = True
    family: str | None = None
    cost: str = LINEAR
    aliases_args: bool = False


DEFAULT_TRAITS = Traits()


@dataclass(frozen=True, slots=True)
class Operation:
    """An executable operation: ``fn(*args, **kwargs)`` rebuilt from the item's literals."""

    opcode: str
    fn: Callable[..., Any]
    # ``out=`` buffers are always replaced by fresh copies before ``fn`` runs, so an operation never
    # writes into a value that other items still describe; True marks ufuncs, whose ``out`` is a tuple.
    fresh_out: bool = False
    traits: Traits = DEFAULT_TRAITS


OPERATIONS: dict[str, Operation] = {}


def register_operation(opcode: str, fn: Callable[..., Any], *, fresh_out: bool = False,
                       traits: Traits = DEFAULT_TRAITS) -> Operation:
    """Register ``fn`` under ``opcode`` with its reuse ``traits`` (re-registering replaces it)."""
    op = Operation(opcode, fn, fresh_out, traits)
    OPERATIONS[opcode] = op
    return op


def traits_of(opcode: str) -> Traits:
    """The traits ``opcode`` was registered with (an unregistered opcode has the defaults)."""
    op = OPERATIONS.get(opcode)
    return DEFAULT_TRAITS if op is None else op.traits


def fresh_out(out: Any, ufunc: bool = True) -> Any:
    """Copies of ``out=`` buffers (a tuple, as ufuncs take them; a single array for functions such
    as ``np.clip`` or ``np.cumsum``): a traced operation never writes into an existing value."""
    outs = out if isinstance(out, tuple) else (out,)
    copies = tuple(None if o is None else np.array(o, copy=True) for o in outs)
    return copies if ufunc or isinstance(out, tuple) else copies[0]


# Opcode prefix -> a function that registers that family's operations (a module imported on use:
# scikit-learn's operations register when ``mlcontext.ops.sklearn_steps`` is imported, which a fresh
# process that only recomputes a model's log has not done). Filled by the layer that owns the family.
PROVIDERS: dict[str, Callable[[], None]] = {}


def register_provider(prefix: str, load: Callable[[], None]) -> None:
    """Let :func:`operation` call ``load`` to register the operations whose opcode starts with
    ``prefix`` when one is asked for before they are registered."""
    PROVIDERS[prefix] = load


def operation(opcode: str) -> Operation:
    """The registered operation for ``opcode``, or a :class:`LineageError` naming it."""
    op = OPERATIONS.get(opcode)
    if op is None:
        for prefix, load in list(PROVIDERS.items()):
            if opcode.startswith(prefix):
                load()
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


# What recompute checks before it calls an operation read from a log (:mod:`.policy`). A check
# ``fn(args, kwargs)`` raises :class:`LineageError` for arguments a log must not pass (an expression
# that is more than column arithmetic, a method named by a string); a size estimate
# ``fn(args, kwargs) -> bytes | None`` bounds the output from the input shapes and the literals, so a
# bomb (``np.tile(x, 2**32)``) is refused before anything is allocated. Both are registered by the
# traced-operation layer next to the operations.
CHECKS: dict[str, Callable[[tuple, dict], None]] = {}
SIZES: dict[str, Callable[[tuple, dict], int | None]] = {}


def register_check(opcode: str, fn: Callable[[tuple, dict], None]) -> None:
    """Register the argument check recompute runs before ``opcode``."""
    CHECKS[opcode] = fn


def register_size(opcode: str, fn: Callable[[tuple, dict], int | None]) -> None:
    """Register the output-size estimate (bytes) recompute checks before running ``opcode``."""
    SIZES[opcode] = fn
