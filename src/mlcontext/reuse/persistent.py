"""The persistent tier: a protocol the reuse layer talks to, and the codec of what it stores.

The reuse layer knows nothing of the store (layers point down); :mod:`mlcontext.tracking` implements
:class:`PersistentTier` on the artifact store plus a ``cache_entries`` index (lineage hash → artifact
hash, compute cost, size, hits). Values cross it as bytes made here: ``.npy`` for an operation's array,
a small JSON document plus an ``.npz`` for a step's outputs (lineage as log text). No pickles, so a
shared store cannot make a reader execute code.
"""

from __future__ import annotations

import io
import json
from typing import Any, Protocol

import numpy as np

from ..lineage import dumps, loads
from ..lineage.item import Item
from .spill import decode_array, encode_array, npy_keeps_layout

__all__ = ["PersistentTier", "encode_value", "decode_value", "Frozen"]

_ARRAY, _STEP = b"A", b"S"


class PersistentTier(Protocol):
    """Where entries outlive the process. Keys are lineage hashes as 32 hex characters."""

    def keys(self) -> set[str]:
        """The keys held now (probing a set is cheaper than a query per operation)."""
        ...

    def get(self, key: str) -> tuple[bytes, float] | None:
        """``(bytes, compute cost in seconds)`` of ``key``, ``None`` if absent; raises
        ``ArtifactCorruptedError`` (after discarding the entry) when the stored bytes do not match
        their content hash."""
        ...

    def put(self, key: str, data: bytes, cost_s: float, size: int) -> None:
        """Store ``data`` for ``key``; ``cost_s`` is the measured compute time, ``size`` bytes."""
        ...

    def hit(self, key: str, saved_s: float) -> None:
        """Count a reuse of ``key`` that saved ``saved_s`` seconds."""
        ...

    def discard(self, key: str) -> None:
        """Forget ``key`` (its bytes could not be decoded)."""
        ...


class Frozen:
    """The outputs of a step call as the cache keeps them: arrays read-only, lineage items kept.

    ``tree`` nodes: ``("traced", array, item)``, ``("array", array)``, ``("scalar", np.generic)``,
    ``("tuple"|"list", [nodes])``, ``("dict", [(str key, node)])``, ``("py", value)`` for ints, floats,
    strings, bools and None, ``("frame", DataFrame or Series)`` and ``("traced_frame", (class, value,
    item))`` (frames stay in memory: the persistent tier does not hold them). Anything else cannot be
    frozen: the call is then not reused at all.

    ``shared``: outputs that were one object, or views of one another (``return y, y[:2]``), are
    nodes met more than once in the tree (``("alias", buffer node, ...)`` for plain arrays,
    ``("traced_view", ...)`` for traced ones: see :mod:`.multilevel`); such calls stay in memory too,
    as do ndarray subclasses (a masked array's mask, a matrix's class: ``.npy`` keeps neither).
    """

    __slots__ = ("tree", "nbytes", "shared")

    def __init__(self, tree: tuple, nbytes: int, shared: bool = False) -> None:
        self.tree = tree
        self.nbytes = nbytes
        self.shared = shared


def encode_value(value: Any) -> bytes | None:
    """Bytes for the persistent tier, or ``None`` for values it does not hold (tuples of arrays,
    ndarray subclasses)."""
    if type(value) is np.ndarray and not value.dtype.hasobject:
        return _ARRAY + encode_array(value) if npy_keeps_layout(value) else None
    if isinstance(value, Frozen):
        return _encode_frozen(value)
    return None


def decode_value(data: bytes) -> Any:
    """The value of :func:`encode_value` bytes; ``ValueError`` when they are malformed.

    Entries come from a shared store: whatever is wrong with their bytes (an index out of range, a
    node of the wrong shape, a log that does not parse) makes them a miss, never an error of the
    caller's ``@mc.step`` call.
    """
    tag, body = data[:1], data[1:]
    try:
        if tag == _ARRAY:
            return decode_array(body)
        if tag == _STEP:
            return _decode_frozen(body)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to decode untrusted bytes is "malformed"
        raise ValueError(f"malformed persistent entry: {type(exc).__name__}: {exc}") from None
    raise ValueError("unknown persistent entry tag")


def _encode_frozen(frozen: Frozen) -> bytes | None:
    if frozen.shared:  # (one object met twice would come back as two)
        return None
    arrays: list[np.ndarray] = []
    items: list[Item] = []

    def enc(node: tuple) -> Any:
        kind = node[0]
        if kind == "traced":
            value = node[1]
            arrays.append(np.asarray(value))
            items.append(node[2])
            # (a traced NumPy scalar, ``t.sum()``'s, comes back as one, not as a 0-d array)
            scalar = [True] if isinstance(value, np.generic) else []
            return ["traced", len(arrays) - 1, len(items) - 1, *scalar]
        if kind == "array" and type(node[1]) is not np.ndarray:
            # A masked array's mask and fill value, a matrix's class (``*`` is its product), a record
            # array's fields as attributes: ``.npy`` keeps none of them, so subclasses stay in memory.
            raise TypeError(f"a {type(node[1]).__name__} is not written to the persistent tier")
        if kind in ("array", "scalar"):
            arrays.append(np.asarray(node[1]))
            return [kind, len(arrays) - 1]
        if kind in ("tuple", "list"):
            return [kind, [enc(c) for c in node[1]]]
        if kind == "dict":
            return ["dict", [[k, enc(c)] for k, c in node[1]]]
        if kind != "py":  # frames: kept in memory only (no format here keeps their dtypes and index)
            raise TypeError(f"a {kind} is not written to the persistent tier")
        return ["py", node[1]]

    try:
        doc = enc(frozen.tree)
        if any(a.dtype.hasobject or not npy_keeps_layout(a) for a in arrays):
            return None
        header = json.dumps({"tree": doc, "log": dumps(items) if items else None},
                            allow_nan=True).encode()
    except (TypeError, ValueError):
        return None
    buf = io.BytesIO()
    np.savez(buf, *arrays)
    return _STEP + len(header).to_bytes(8, "little") + header + buf.getvalue()


def _decode_frozen(body: bytes) -> Frozen:
    try:
        n = int.from_bytes(body[:8], "little")
        header = json.loads(body[8:8 + n])
        with np.load(io.BytesIO(body[8 + n:]), allow_pickle=False) as npz:
            arrays = [npz[f"arr_{k}"] for k in range(len(npz.files))]
    except (OSError, EOFError, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed step entry: {exc}") from None
    items: list[Item] = []
    if header["log"] is not None:
        loaded = loads(header["log"])
        items = [loaded] if isinstance(loaded, Item) else list(loaded)
    for a in arrays:
        a.flags.writeable = False

    def dec(node: list) -> tuple:
        kind = node[0]
        if kind == "traced":
            value = arrays[node[1]]
            return ("traced", value[()] if node[3:] == [True] else value, items[node[2]])
        if kind == "array":
            return ("array", arrays[node[1]])
        if kind == "scalar":
            return ("scalar", arrays[node[1]][()])
        if kind in ("tuple", "list"):
            return (kind, [dec(c) for c in node[1]])
        if kind == "dict":
            return ("dict", [(k, dec(c)) for k, c in node[1]])
        if kind == "py":
            return ("py", node[1])
        raise ValueError(f"unknown node {kind!r}")

    return Frozen(dec(header["tree"]), sum(a.nbytes for a in arrays))
