"""Literal arguments of lineage items: a canonical, hashable, JSON-exact encoding.

An operation's non-array arguments (``axis=0``, a slice, ``0.1``, a dtype) are its *literals*. They are
stored as a small tree of ``(tag, payload)`` tuples so that

* the tree is hashable and type-exact (``1``, ``1.0`` and ``True`` differ, as do ``0.0`` and
  ``-0.0``, because NumPy gives them different results), which lets identical calls be hash-consed;
* ``json.dumps`` of the tree is its canonical text: the same text goes into the lineage log and into
  the item's 128-bit hash, so the log and the hash can never disagree;
* the tree rebuilds the exact Python arguments for recompute (:func:`build`).

Tags::

    r  input reference (index into the item's inputs)     k  structural int (output index)
    i  int      f  float (finite non-zero as number, else "0.0" "-0.0" "nan" "inf" "-inf")
    b  bool     n  None     s  str     c  complex ["re", "im"]     g  NumPy scalar ["<f8", "hex"]
    d  dtype    T  tuple    L  list    D  dict [[key, node], ...] sorted by key
    S  slice [start, stop, step]       E  Ellipsis     h  hole (a per-iteration value in a patch)

Dedup patches abstract the *values* ``i f c g`` into holes (:func:`abstract`), so that loop iterations
which differ only in numbers (a batch offset, a step count) share one patch. :func:`map_leaves` is the
one walk over a tree that rebuilds it; :class:`Literals` names the parts of the trees items carry.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import LineageError

__all__ = [
    "Node",
    "parse_dtype",
    "ref",
    "scalar",
    "float_node",
    "dumps_literal",
    "loads_literal",
    "from_json",
    "build",
    "build_call",
    "abstract",
    "fill",
    "map_leaves",
    "Literals",
    "EMPTY_KWARGS",
    "MAX_DEPTH",
]

# (tag, payload); payload is a scalar, a tuple of nodes, or a tuple of (key, node) pairs
Node = tuple

MAX_DEPTH = 64  # literal trees deeper than this are refused when parsing (no recursion bombs)

_REFS = tuple(("r", k) for k in range(256))
EMPTY_KWARGS: Node = ("D", ())
_SPECIAL_FLOATS = {"0.0": 0.0, "-0.0": -0.0, "nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def ref(k: int) -> Node:
    """The literal node that stands for input ``k``."""
    return _REFS[k] if k < 256 else ("r", k)


def float_node(value: float) -> Node:
    # Finite non-zero floats compare and hash exactly; zeros and NaN do not, so they become strings.
    if value != 0.0 and value - value == 0.0:
        return ("f", value)
    return ("f", repr(value))


def _np_scalar(value: np.generic) -> Node:
    if value.dtype.hasobject:
        raise TypeError("object scalars have no literal form")
    return ("g", (value.dtype.str, value.tobytes().hex()))


_SCALARS: dict[type, Any] = {
    int: lambda v: ("i", v),
    float: float_node,
    bool: lambda v: ("b", v),
    str: lambda v: ("s", v),
    type(None): lambda v: ("n", None),
    complex: lambda v: ("c", (repr(v.real), repr(v.imag))),
    type(Ellipsis): lambda v: ("E", None),
}


def scalar(value: Any) -> Node | None:
    """The node of a plain scalar, a NumPy scalar or a dtype; ``None`` for anything else."""
    fn = _SCALARS.get(type(value))
    if fn is not None:
        return fn(value)
    if isinstance(value, np.generic):
        return _np_scalar(value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        dt = np.dtype(value)
        if dt.fields is not None or dt.subdtype is not None:
            raise TypeError("structured dtypes have no literal form yet")
        return ("d", dt.str)
    # (by identity: ``in`` compares with ``==``, which an array, an Index or a frame answers
    # elementwise, and pd.NA with NA; any of them must come out as "no literal form", not raise)
    if value is float or value is int or value is bool or value is complex:
        return ("d", np.dtype(value).str)
    return None


def dumps_literal(node: Node) -> str:
    """Canonical JSON text of a literal tree (what the log stores and the hash covers)."""
    if _ENCODE is None:
        return json.dumps(node, separators=(",", ":"), allow_nan=False)
    return "".join(_ENCODE(node, 0))


def _c_encoder() -> Callable[[Any, int], Sequence[str]] | None:
    """The C encoder ``json.dumps`` builds on every call with these options, built once: the hash
    of every new literal tree (a new scalar in a loop) encodes one, and building it was two thirds
    of the time. The same function gives the same text; None where the interpreter has none."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    default = json.JSONEncoder().default  # (raises TypeError for what JSON cannot hold)
    # markers=None: no cycle check (literal trees are finite tuples); allow_nan=False
    return make(None, default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)


_ENCODE = _c_encoder()


def loads_literal(text: str) -> Node:
    """Parse and validate the JSON text of a literal tree."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LineageError(f"malformed literal JSON: {exc}") from None
    return from_json(raw)


def from_json(raw: Any, depth: int = 0) -> Node:
    """Validate a JSON-decoded literal tree and turn its lists into tuples."""
    if depth > MAX_DEPTH:
        raise LineageError(f"literal nested deeper than {MAX_DEPTH}")
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[0], str):
        raise LineageError(f"a literal node must be [tag, payload], got {_short(raw)}")
    tag, payload = raw
    check = _CHECKS.get(tag)
    if check is None:
        raise LineageError(f"unknown literal tag {tag!r}")
    return (tag, check(payload, depth + 1))


def _short(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) < 80 else text[:77] + "..."


def _int(p: Any, depth: int) -> int:
    if type(p) is not int:
        raise LineageError(f"expected an int, got {_short(p)}")
    return p


def _nonneg(p: Any, depth: int) -> int:
    if type(p) is not int or p < 0:
        raise LineageError(f"expected a non-negative int, got {_short(p)}")
    return p


def _float_payload(p: Any, depth: int) -> float | str:
    if type(p) is float and p != 0.0 and p - p == 0.0:
        return p
    if type(p) is str and p in _SPECIAL_FLOATS:
        return p
    raise LineageError(f"bad float literal {_short(p)}")


def _str(p: Any, depth: int) -> str:
    if type(p) is not str:
        raise LineageError(f"expected a string, got {_short(p)}")
    return p


def _bool(p: Any, depth: int) -> bool:
    if type(p) is not bool:
        raise LineageError(f"expected a bool, got {_short(p)}")
    return p


def _none(p: Any, depth: int) -> None:
    if p is not None:
        raise LineageError(f"expected null, got {_short(p)}")
    return None


def _pair_of_str(p: Any, depth: int) -> tuple[str, str]:
    if not (isinstance(p, list) and len(p) == 2 and all(type(x) is str for x in p)):
        raise LineageError(f"expected two strings, got {_short(p)}")
    return (p[0], p[1])


def _complex(p: Any, depth: int) -> tuple[str, str]:
    pair = _pair_of_str(p, depth)
    try:
        float(pair[0]), float(pair[1])
    except ValueError:
        raise LineageError(f"bad complex literal {_short(p)}") from None
    return pair


def _dtype(p: Any, depth: int) -> str:
    if type(p) is not str or len(p) > 32:
        raise LineageError(f"bad dtype literal {_short(p)}")
    parse_dtype(p)
    return p


def parse_dtype(text: str) -> np.dtype:
    """``np.dtype(text)`` for a dtype string read from a lineage log.

    Raises
    ------
    LineageError
        ``text`` is no dtype. (NumPy says so with TypeError, ValueError or, for a malformed
        comma-separated string such as ``"(1,f8"``, a SyntaxError from its parser.)
    """
    if isinstance(text, str) and text.startswith("StringDType("):
        return _string_dtype(text)
    try:
        return np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        raise LineageError(f"unknown dtype {_short(text)}") from None


_STRING_DTYPE = re.compile(r"StringDType\((?:na_object=(?P<na>None|nan"
                           r"|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))?"  # (a quoted string, escapes kept)
                           r"(?:, )?(?:coerce=(?P<coerce>True|False))?\)")


def _string_dtype(text: str) -> np.dtype:
    """NumPy 2's variable-width string dtype from its ``str`` (``StringDType(na_object=nan,
    coerce=False)``): ``np.dtype`` does not parse it. Only the missing values a log can hold
    (None, NaN, a string) are read back."""
    found = _STRING_DTYPE.fullmatch(text)
    if found is None:
        raise LineageError(f"unknown dtype {_short(text)}")
    kwargs: dict[str, Any] = {}
    na = found.group("na")
    if na is not None:
        kwargs["na_object"] = None if na == "None" else float("nan") if na == "nan" else ast.literal_eval(na)
    if found.group("coerce") is not None:
        kwargs["coerce"] = found.group("coerce") == "True"
    return np.dtypes.StringDType(**kwargs)


def _np_scalar_payload(p: Any, depth: int) -> tuple[str, str]:
    dt, data = _pair_of_str(p, depth)
    _dtype(dt, depth)
    try:
        raw = bytes.fromhex(data)
    except ValueError:
        raise LineageError(f"bad scalar bytes {_short(data)}") from None
    if np.dtype(dt).hasobject or len(raw) != np.dtype(dt).itemsize:
        raise LineageError(f"scalar bytes do not fit dtype {dt!r}")
    return (dt, data)


def _seq(p: Any, depth: int) -> tuple:
    if not isinstance(p, list):
        raise LineageError(f"expected a list of nodes, got {_short(p)}")
    return tuple(from_json(x, depth) for x in p)


def _dict(p: Any, depth: int) -> tuple:
    if not isinstance(p, list):
        raise LineageError(f"expected a list of [key, node], got {_short(p)}")
    out = []
    for pair in p:
        if not (isinstance(pair, list) and len(pair) == 2 and type(pair[0]) is str):
            raise LineageError(f"bad dict entry {_short(pair)}")
        out.append((pair[0], from_json(pair[1], depth)))
    keys = [k for k, _ in out]
    if keys != sorted(set(keys)):
        raise LineageError("dict literal keys must be unique and sorted")
    return tuple(out)


def _slice(p: Any, depth: int) -> tuple:
    nodes = _seq(p, depth)
    if len(nodes) != 3:
        raise LineageError("a slice literal has three parts")
    return nodes


_CHECKS = {
    "r": _nonneg, "k": _nonneg, "h": _nonneg, "i": _int, "f": _float_payload, "b": _bool,
    "n": _none, "s": _str, "c": _complex, "g": _np_scalar_payload, "d": _dtype, "T": _seq,
    "L": _seq, "D": _dict, "S": _slice, "E": _none,
}


def build(node: Node, values: Sequence[Any]) -> Any:
    """Rebuild the Python value of a literal tree; ``("r", k)`` becomes ``values[k]``."""
    tag, p = node
    if tag == "r":
        if p >= len(values):
            raise LineageError(f"literal refers to input {p} of {len(values)}")
        return values[p]
    fn = _BUILD.get(tag)
    if fn is None:
        raise LineageError(f"literal tag {tag!r} cannot be built (an unfilled hole?)")
    return fn(p, values)


def _build_float(p: float | str, values: Any) -> float:
    return _SPECIAL_FLOATS[p] if isinstance(p, str) else p


def _build_scalar(p: tuple[str, str], values: Any) -> np.generic:
    return np.frombuffer(bytes.fromhex(p[1]), dtype=np.dtype(p[0]))[0]


_BUILD = {
    "i": lambda p, v: p, "k": lambda p, v: p, "b": lambda p, v: p, "s": lambda p, v: p,
    "n": lambda p, v: None, "E": lambda p, v: Ellipsis, "f": _build_float,
    "c": lambda p, v: complex(float(p[0]), float(p[1])), "g": _build_scalar,
    "d": lambda p, v: np.dtype(p),
    "T": lambda p, v: tuple(build(x, v) for x in p),
    "L": lambda p, v: [build(x, v) for x in p],
    "D": lambda p, v: {k: build(x, v) for k, x in p},
    "S": lambda p, v: slice(*(build(x, v) for x in p)),
}


def build_call(node: Node, values: Sequence[Any]) -> tuple[tuple, dict]:
    """Rebuild ``(args, kwargs)`` from a call literal ``("T", (args_node, kwargs_node))``."""
    if node[0] != "T" or len(node[1]) != 2 or node[1][0][0] != "T" or node[1][1][0] != "D":
        raise LineageError("a call literal is a tuple of (args tuple, kwargs dict)")
    args_node, kwargs_node = node[1]
    return build(args_node, values), build(kwargs_node, values)


_VALUE_TAGS = frozenset("ifcg")


def map_leaves(node: Node, fn: Callable[[Node], Node]) -> Node:
    """The tree with every leaf node (any tag but ``T L S D``) replaced by ``fn(leaf)``, leaves
    visited left to right (a dict's in key order); containers are rebuilt around them."""
    tag, p = node
    if tag in "TLS":
        return (tag, tuple(map_leaves(x, fn) for x in p))
    if tag == "D":
        return (tag, tuple((k, map_leaves(x, fn)) for k, x in p))
    return fn(node)


def iter_leaves(node: Node) -> Iterator[Node]:
    """The leaf nodes of a tree in :func:`map_leaves`'s order, without rebuilding the tree."""
    tag, p = node
    if tag in "TLS":
        for x in p:
            yield from iter_leaves(x)
    elif tag == "D":
        for _, x in p:
            yield from iter_leaves(x)
    else:
        yield node


def abstract(node: Node, holes: list) -> Node:
    """Replace every value (int, float, complex, NumPy scalar) by a hole; append it to ``holes``."""

    def hole(leaf: Node) -> Node:
        if leaf[0] in _VALUE_TAGS:
            holes.append(leaf)
            return ("h", len(holes) - 1)
        return leaf

    return map_leaves(node, hole)


def fill(node: Node, values: Sequence[Any]) -> Node:
    """Put the hole values back: the inverse of :func:`abstract`."""

    def value(leaf: Node) -> Node:
        if leaf[0] != "h":
            return leaf
        if leaf[1] >= len(values):
            raise LineageError(f"hole {leaf[1]} has no value ({len(values)} given)")
        return values[leaf[1]]

    return map_leaves(node, value)


class Literals:
    """Named parts of the literal tree of an item, by the shape the item's maker writes.

    ==================  ====================================================================
    operation call      ``("T", (("T", (arg, ...)), ("D", ((keyword, node), ...))))``
    output ``k``        ``("k", k)`` (opcode ``lineage.output``)
    dedup call          ``("T", (("s", patch id), ("s", label), ("T", (hole value, ...))))``
    opaque result       ``("T", (("s", name), ("D", fields)))`` (``lineage.opaque``, ``pandas.opaque``)
    leaf                ``("D", fields)`` (data: ``dtype``, ``hash``, ``shape``; files: ``hash`` ...)
    leaf recipe         ``("T", (("s", kind), param, ...))`` (``full``, ``eye``, ``arange``)
    ==================  ====================================================================

    The accessors read the tree as it is: one of another shape raises ``IndexError`` or
    ``TypeError`` (check :attr:`is_call` first where the shape is not known).

    Examples
    --------
    >>> Literals(("T", (("T", (("r", 0), ("i", 2))), ("D", (("axis", ("i", 0)),))))).arg(1)
    ('i', 2)
    """

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    @property
    def is_call(self) -> bool:
        """Whether the tree has the shape of an operation call."""
        n = self.node
        return (n[0] == "T" and len(n[1]) == 2 and n[1][0][0] == "T" and isinstance(n[1][0][1], tuple)
                and n[1][1][0] == "D")

    @property
    def args(self) -> tuple[Node, ...]:
        """The nodes of a call's positional arguments."""
        return self.node[1][0][1]

    def arg(self, k: int) -> Node:
        """The node of a call's positional argument ``k``."""
        return self.node[1][0][1][k]

    @property
    def kwargs(self) -> Node:
        """The dict node of a call's keyword arguments (:data:`EMPTY_KWARGS` when none)."""
        return self.node[1][1]

    @property
    def output(self) -> int:
        """Which output of its input an output item is."""
        return self.node[1]

    @property
    def patch(self) -> str:
        """The patch id of a dedup call."""
        return self.node[1][0][1]

    @property
    def label(self) -> str:
        """The label of a dedup call (the loop or step it stands for)."""
        return self.node[1][1][1]

    @property
    def holes(self) -> tuple[Node, ...]:
        """The hole values of a dedup call."""
        return self.node[1][2][1]

    @property
    def name(self) -> str:
        """The name of an opaque result's operation, or the kind of a leaf recipe (``"full"``)."""
        return self.node[1][0][1]

    @property
    def params(self) -> tuple[Node, ...]:
        """The parameters of a leaf recipe (the nodes after its kind)."""
        return self.node[1][1:]

    @property
    def fields(self) -> Node:
        """The dict node of an opaque result's fields (``hash``, ``dtype``, ``shape``, ``kind``)."""
        return self.node[1][1]

    def field(self, key: str) -> Node | None:
        """The node of ``key`` in a dict tree (a leaf's fields), or None (no such key, not a dict)."""
        n = self.node
        if not (isinstance(n, tuple) and len(n) == 2 and n[0] == "D"):
            return None
        for k, v in n[1]:
            if k == key:
                return v
        return None
