"""Recompute values from lineage: replay a log (or items) through the registered operations only.

Leaves are found, in this order, in the payload embedded in the log (small constants), in ``inputs`` by
leaf name or by content hash, and through ``resolver(content_hash)`` (the tracking layer plugs the
artifact store in here). A value handed in must have the recorded content hash. Intermediate values are
dropped as soon as their last reader has run, so long loops recompute in bounded memory.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import LineageError
from ..fingerprint import hash_array
from .item import DATA, Item, walk
from .literals import build, build_call
from .log import loads, roots_of
from .operations import SOURCES, fresh_out, operation
from .patch import DEDUP, OUTPUT, PATCHES, Patch

__all__ = ["recompute", "Resolver", "OPAQUE", "leaf_fields"]

OPAQUE = "lineage.opaque"  # an unhandled operation: identified by the hash of its output


class Resolver(Protocol):
    """Finds a leaf's value by content hash (e.g. in the artifact store); ``None`` if unknown."""

    def __call__(self, content_hash: str, /) -> np.ndarray | None: ...


def leaf_fields(item: Item) -> dict[str, Any]:
    """The fields of a data (or opaque) leaf: ``hash``, ``dtype``, ``shape``."""
    lit = item.literals
    if item.opcode == OPAQUE:
        lit = lit[1][1]
    try:
        fields = {k: build(v, ()) for k, v in lit[1]}
        return {"hash": fields["hash"], "dtype": np.dtype(fields["dtype"]),
                "shape": tuple(fields["shape"])}
    except (KeyError, TypeError, ValueError, IndexError):
        raise LineageError(f"malformed data leaf literal in {item.opcode}") from None


def recompute(lineage: Any, inputs: Mapping[str, Any] | None = None,
              resolver: Resolver | Callable[[str], Any] | None = None) -> Any:
    """Reproduce the value(s) a lineage log (or item, or traced value) describes.

    Parameters
    ----------
    lineage
        Log text from :func:`mlcontext.lineage.dumps`, an :class:`Item`, or a traced value.
    inputs
        Leaf values by leaf name or by content hash.
    resolver
        ``content_hash -> ndarray | None`` for leaves found neither in the log nor in ``inputs``.

    Returns
    -------
    The plain value of the root, or a tuple of them for a log with several roots.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(4.0), name="x")
    >>> text = mc.lineage.dumps(np.cumsum(x * 2))
    >>> mc.recompute(text, inputs={"x": np.arange(4.0)})
    array([ 0.,  2.,  6., 12.])
    """
    if isinstance(lineage, str):
        parsed = loads(lineage)
        roots = list(parsed) if isinstance(parsed, tuple) else [parsed]
    else:
        roots = roots_of(lineage)
    values = _Evaluator(dict(inputs or {}), resolver).run(roots)
    return values[0] if len(values) == 1 else tuple(values)


def _needs(item: Item) -> tuple[Item, ...]:
    # An opaque item's value comes by its content hash; its inputs are lineage, not arguments.
    return () if item.opcode == OPAQUE or item.opcode in SOURCES else item.inputs


def _order(roots: Sequence[Item]) -> list[Item]:
    """Items needed to evaluate ``roots``, inputs first."""
    return list(walk(list(roots), inputs=_needs))


class _Evaluator:
    def __init__(self, inputs: dict[str, Any], resolver: Callable[[str], Any] | None) -> None:
        self.inputs = inputs  # values are checked (and turned into arrays) where a leaf takes them
        self.resolver = resolver

    def run(self, roots: Sequence[Item]) -> list[Any]:
        order = _order(roots)
        self._check_leaves(order)
        readers: dict[int, int] = {}
        for item in order:
            for i in _needs(item):
                readers[id(i)] = readers.get(id(i), 0) + 1
        keep = {id(r) for r in roots}
        values: dict[int, Any] = {}
        for item in order:
            values[id(item)] = self.value(item, [values[id(i)] for i in _needs(item)])
            for i in _needs(item):  # free what no later item reads
                readers[id(i)] -= 1
                if readers[id(i)] == 0 and id(i) not in keep:
                    del values[id(i)]
        return [values[id(r)] for r in roots]

    def _check_leaves(self, order: list[Item]) -> None:
        missing = [f"{i.label or '?'} ({leaf_fields(i)['hash']})" for i in order
                   if i.opcode == DATA and self._leaf(i, required=False) is None]
        if missing:
            raise LineageError("cannot recompute: no value for leaves " + ", ".join(missing)
                               + "; pass them in inputs= by name or content hash, or a resolver=")

    def value(self, item: Item, args: list[Any]) -> Any:
        if item.opcode == DATA:
            return self._leaf(item, required=True)
        if item.opcode == OPAQUE:
            return self._opaque(item)
        source = SOURCES.get(item.opcode)
        if source is not None:
            return source(item, self.inputs, self.resolver)
        if item.opcode == OUTPUT:
            return args[0][item.literals[1]]
        if item.opcode == DEDUP:
            lit = item.literals[1]
            return run_patch(PATCHES[lit[0][1]], args, lit[2][1])
        return call(item.opcode, item.literals, args)

    def _leaf(self, item: Item, required: bool) -> Any:
        f = leaf_fields(item)
        candidates = []
        if item.extra and "data" in item.extra:
            candidates.append(_decode_payload(item.extra["data"], f))
        if item.label is not None and item.label in self.inputs:
            candidates.append(self.inputs[item.label])
        if f["hash"] in self.inputs:
            candidates.append(self.inputs[f["hash"]])
        for value in candidates:
            return _checked(value, f, item)
        if self.resolver is not None:
            found = self.resolver(f["hash"])
            if found is not None:
                return _checked(np.asarray(found), f, item)
        if required:
            raise LineageError(f"no value for leaf {item.label or f['hash']}")
        return None

    def _opaque(self, item: Item) -> Any:
        f = leaf_fields(item)
        value = self.inputs.get(f["hash"])
        if value is None and self.resolver is not None:
            value = self.resolver(f["hash"])
        if value is None:
            name = build(item.literals[1][0], ())
            raise LineageError(f"cannot recompute the unhandled operation {name}: its output "
                               f"({f['hash']}) is neither in inputs= nor found by the resolver")
        return _checked(np.asarray(value), f, item)


def _decode_payload(data: bytes, f: dict[str, Any]) -> np.ndarray:
    raw = data if isinstance(data, bytes) else base64.b64decode(data)
    count = int(np.prod(f["shape"], dtype=np.int64))
    if f["dtype"].hasobject or len(raw) != count * f["dtype"].itemsize:
        raise LineageError("embedded leaf payload does not fit its dtype and shape")
    return np.frombuffer(raw, dtype=f["dtype"]).reshape(f["shape"]).copy()


def _checked(value: Any, f: dict[str, Any], item: Item) -> np.ndarray:
    arr = np.asarray(value)
    if hash_array(arr) != f["hash"]:
        raise LineageError(f"the value given for leaf {item.label or f['hash']} has content hash "
                           f"{hash_array(arr)}, the lineage recorded {f['hash']}")
    return arr


def call(opcode: str, literals: Any, args: Sequence[Any]) -> Any:
    """Execute one registered operation on input values: the one place recompute runs code."""
    op = operation(opcode)
    pos, kw = build_call(literals, args)
    if kw.get("out") is not None:
        kw["out"] = fresh_out(kw["out"], op.fresh_out)
    return op.fn(*pos, **kw)


def run_patch(patch: Patch, inputs: Sequence[Any], holes: Sequence[Any]) -> tuple:
    """Execute a dedup patch's template for one iteration / call; its output values."""
    values: list[Any] = []
    for opcode, refs, lit in patch.filled(holes):
        args = [values[r] if r >= 0 else inputs[-r - 1] for r in refs]
        if opcode == OUTPUT:
            values.append(args[0][lit[1]])
        elif opcode == DEDUP:
            values.append(run_patch(PATCHES[lit[1][0][1]], args, lit[1][2][1]))
        else:
            values.append(call(opcode, lit, args))
    return tuple(values[o] for o in patch.outputs)
