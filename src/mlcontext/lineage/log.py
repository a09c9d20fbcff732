"""The lineage log: a line-oriented text form of a lineage DAG, each item once, roots last.

Grammar (every line is one JSON array; ``ref`` is an earlier item id, or ``[id, k]`` for output ``k`` of
a multi-output item such as ``eigh`` or a dedup item)::

    log     := header patch* (leaf | item)* roots
    header  := ["mlcontext-lineage", 1]
    patch   := ["p", pid, n_placeholders, n_holes, [out, ...], [[opcode, [pref, ...], literal],
    ...]]
    leaf    := ["l", id, opcode, literal, label | null, payload | recipe | null]
    item    := ["i", id, opcode, [ref, ...], literal]
    roots   := ["r", [ref, ...]]

Ids count up from 0 in line order and a ref must point backwards, so the log is a DAG by
construction and parsing is one linear pass. In a patch, ``pref >= 0`` is an earlier template node
and ``pref < 0`` placeholder ``-pref - 1``. ``literal`` is the canonical literal tree of
:mod:`.literals`; ``payload`` is the base64 bytes of a small embedded array, ``recipe`` the literal
of a constant array by its constructor (:mod:`.leaves`). The parser never imports or calls anything
named in a log.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any, cast

from ..errors import LineageError, NoLineageError, UsageError
from .item import DATA, Item, leaf, make, outside_scope, walk
from .leaves import check_recipe
from .literals import Literals, Node, from_json
from .patch import DEDUP, OUTPUT, PATCHES, Patch, register_patch
from .policy import current as current_policy

__all__ = ["dumps", "loads", "FORMAT", "VERSION", "roots_of"]

FORMAT = "mlcontext-lineage"
VERSION = 1
_OPCODE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_OUTPUT_INDEX = 1 << 20


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def roots_of(x: Any) -> list[Item]:
    """The items of a traced value, an item, or a list/tuple of either."""
    if isinstance(x, Item):
        return [x]
    item = getattr(x, "lineage", None)
    if isinstance(item, Item):
        return [item]
    if isinstance(x, list | tuple) and x:
        return [r for part in x for r in roots_of(part)]
    raise NoLineageError(f"no lineage in a value of type {type(x).__name__}: pass a traced value (made "
                         "by mc.array, mc.frame or an operation on one), a lineage item, or a list of them")


def dumps(x: Any) -> str:
    """The lineage log of ``x`` (a traced array, an item, or a list of them).

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> x = mc.array(np.arange(3.0), name="x")
    >>> print(mc.lineage.dumps(x + 1).splitlines()[-2])
    ["i",1,"numpy.add",[0],["T",[["T",[["r",0],["i",1]]],["D",[]]]]]
    """
    roots = roots_of(x)
    items = [i for i in walk(roots) if not _is_output(i)]
    writer = _Writer()
    writer.lines += [_patch_line(p) for p in _patches_of(items)]
    for item in items:
        writer.add(item)
    writer.flush()
    writer.lines.append(_json(["r", [writer.ref(r) for r in roots]]))
    return "\n".join(writer.lines) + "\n"


def _is_output(item: Item) -> bool:
    return item.opcode == OUTPUT and len(item.inputs) == 1


class _Writer:
    """Numbers items in walk order and writes their lines, folding loop iterations into runs.

    Items are told apart by identity (tracing hash-conses them already), leaves by their hash, so
    writing a log computes no hashes of operations: a deduplicated log never expands its patches.
    """

    def __init__(self) -> None:
        self.lines = [_json([FORMAT, VERSION])]
        self.ids: dict[int, int] = {}
        self.leaf_ids: dict[bytes, int] = {}
        self.count = 0
        self.run: list[Item] = []
        self.spec: list | None = None

    def ref(self, item: Item) -> int | list[int]:
        if _is_output(item):
            return [self.ids[id(item.inputs[0])], Literals(item.literals).output]
        return self.ids[id(item)]

    def _number(self, item: Item) -> int:
        ident = self.ids[id(item)] = self.count
        self.count += 1
        return ident

    def add(self, item: Item) -> None:
        if item.opcode == DEDUP:
            if not self._extends_run(item):
                self.flush()
                self.run = [item]
            self._number(item)
            return
        self.flush()
        if not item.inputs:
            known = self.leaf_ids.get(item.digest)  # equal content: one leaf line
            if known is not None:
                self.ids[id(item)] = known
                return
            self.leaf_ids[item.digest] = self._number(item)
            payload = _leaf_payload(item.extra)
            self.lines.append(_json(["l", self.ids[id(item)], item.opcode, item.literals,
                                     item.label, payload]))
            return
        ident = self._number(item)
        self.lines.append(_json(["i", ident, item.opcode, [self.ref(i) for i in item.inputs],
                                 item.literals]))

    def _extends_run(self, item: Item) -> bool:
        if not self.run:
            return False
        this, first = Literals(item.literals), Literals(self.run[0].literals)
        if this.patch != first.patch or this.label != first.label:
            return False
        prev = self.run[-1]
        refs = [self.ref(i) for i in item.inputs]
        if self.spec is None:  # the second iteration tells constant inputs from carried ones
            previous_refs = [self.ref(i) for i in prev.inputs]
            spec: list = []
            for r0, r in zip(previous_refs, refs, strict=True):
                if r == r0:
                    spec.append(("c", r0))
                elif isinstance(r, list) and r[0] == self.ids[id(prev)]:
                    spec.append(("prev", r[1], r0))
                else:
                    return False
            self.spec = spec
            self.run.append(item)
            return True
        last = self.ids[id(prev)]
        for s, r in zip(self.spec, refs, strict=True):
            if s[0] == "c" and r != s[1] or s[0] == "prev" and r != [last, s[1]]:
                return False
        self.run.append(item)
        return True

    def flush(self) -> None:
        run, spec = self.run, self.spec
        self.run, self.spec = [], None
        if not run:
            return
        first = self.ids[id(run[0])]
        if len(run) == 1:
            item = run[0]
            self.lines.append(_json(["i", first, item.opcode, [self.ref(i) for i in item.inputs],
                                     item.literals]))
            return
        head = Literals(run[0].literals)
        inputs = [s[1] if s[0] == "c" else ["prev", s[1], s[2]] for s in spec or ()]
        holes = [Literals(it.literals).holes for it in run]  # (each item's view made once)
        columns = [_column([h[j] for h in holes]) for j in range(len(head.holes))]
        self.lines.append(_json(["d", first, len(run), head.patch, head.label, inputs, columns]))


def _leaf_payload(extra: dict | None) -> Any:
    if not extra:
        return None
    if extra.get("data") is not None:
        return base64.b64encode(extra["data"]).decode()
    return extra.get("recipe")  # a constant's recipe literal, or None


def _column(values: list) -> list:
    if all(v == values[0] for v in values):
        return ["c", values[0]]
    if all(v[0] == "i" for v in values):
        return ["vi", [v[1] for v in values]]
    return ["v", values]


def _patches_of(items: Iterable[Item]) -> list[Patch]:
    # Patches used by dedup items, nested patches first, each once.
    order: list[Patch] = []
    seen: set[str] = set()

    def visit(pid: str) -> None:
        stack = [(pid, False)]
        while stack:
            pid, done = stack.pop()
            if done:
                order.append(PATCHES[pid])
                continue
            if pid in seen:
                continue
            seen.add(pid)
            stack.append((pid, True))
            stack.extend((Literals(lit).patch, False) for op, _, lit in PATCHES[pid].nodes if op == DEDUP)

    for item in items:
        if item.opcode == DEDUP:
            visit(Literals(item.literals).patch)
    return order


def _patch_line(p: Patch) -> str:
    nodes = [[op, list(refs), lit] for op, refs, lit in p.nodes]
    return _json(["p", p.pid, p.n_placeholders, p.n_holes, list(p.outputs), nodes])


def loads(text: str) -> Item | tuple[Item, ...]:
    """Parse a lineage log; the root item, or a tuple of them when the log has several.

    Raises :class:`~mlcontext.errors.LineageError` on anything malformed, truncated or inconsistent.
    """
    if not isinstance(text, str):
        raise UsageError(f"a lineage log is text (what mc.lineage.dumps returns), got {type(text).__name__}")
    lines = text.splitlines()
    if not lines or _header(lines[0]) != [FORMAT, VERSION]:
        raise LineageError(f"not a lineage log: the first line must be {_json([FORMAT, VERSION])}; pass "
                           "the text mc.lineage.dumps wrote (or the traced value itself)")
    reader = _Reader()
    reader.budget = 100 * len(text) + 10_000  # runs cannot blow a small log up into a huge DAG
    reader.max_nodes = current_policy().max_nodes
    with outside_scope():  # items parsed from a log are never part of the caller's dedup patch
        for number, line in enumerate(lines[1:], start=2):
            if reader.roots is not None:
                raise LineageError(f"line {number}: text after the roots line")
            reader.line(_parse(line, number), number)
    if reader.roots is None:
        raise LineageError("truncated lineage log: no roots line at the end")
    return reader.roots[0] if len(reader.roots) == 1 else tuple(reader.roots)


def _header(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None  # not JSON: not a lineage log


def _parse(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise LineageError(f"line {number}: not valid JSON ({str(exc)[:80]})") from None


class _Reader:
    """One pass over the lines of a log, building items in order."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.roots: list[Item] | None = None
        self.budget = 0  # items that runs may still expand to: bounded by the log's size
        # Operations the dedup items expand to (what hashing and recompute will execute), nested
        # patches included: a few KB of nested loops must not declare hours of work.
        self.expanded = 0
        self.max_nodes = 0

    def _expand(self, nodes: int) -> None:
        self.expanded += nodes
        if self.expanded > self.max_nodes:
            raise LineageError(f"the log's loops expand to more than {self.max_nodes:,} operations "
                               "(raise max_nodes= or MLCONTEXT_LINEAGE_MAX_NODES for a log you trust)")

    def line(self, row: Any, number: int) -> None:
        if not isinstance(row, list) or not row or row[0] not in ("p", "l", "i", "d", "r"):
            raise LineageError(f"line {number}: expected a [\"p\"|\"l\"|\"i\"|\"d\"|\"r\", ...] row")
        try:
            getattr(self, "_" + row[0])(row, number)
        except LineageError as exc:
            if str(exc).startswith("line "):
                raise
            raise LineageError(f"line {number}: {exc}") from None

    def _p(self, row: list, number: int) -> None:
        if len(row) != 6 or not all(type(x) is int and x >= 0 for x in row[2:4]):
            raise LineageError("a patch row is [\"p\", pid, placeholders, holes, outputs, nodes]")
        _, pid, n_ph, n_holes, outputs, nodes = row
        if not isinstance(outputs, list) or not all(type(o) is int for o in outputs):
            raise LineageError("patch outputs must be a list of ints")
        if not isinstance(nodes, list):
            raise LineageError("patch nodes must be a list")
        parsed = [self._template_node(n) for n in nodes]
        for op, refs, lit in parsed:
            if op == DEDUP:
                self._check_dedup(lit, len(refs))
        patch = Patch.make(parsed, n_ph, n_holes, outputs)
        if patch.pid != pid:
            raise LineageError(f"patch id {str(pid)[:40]!r} does not match its template "
                               f"({patch.pid})")
        register_patch(patch)

    def _template_node(self, node: Any) -> tuple[str, tuple[int, ...], Node]:
        if not (isinstance(node, list) and len(node) == 3 and isinstance(node[1], list)):
            raise LineageError("a patch node is [opcode, [refs], literal]")
        refs = node[1]
        if not all(type(r) is int for r in refs):
            raise LineageError("patch refs must be ints")
        return (_opcode(node[0]), tuple(refs), from_json(node[2]))

    def _l(self, row: list, number: int) -> None:
        if len(row) != 6:
            raise LineageError("a leaf row is [\"l\", id, opcode, literal, label, payload]")
        _, ident, opcode, lit, label, payload = row
        self._expect_id(ident)
        if label is not None and (type(label) is not str or len(label) > 255):
            raise LineageError("a leaf label must be a string of at most 255 characters")
        extra: dict[str, Any] | None = None
        if isinstance(payload, list):
            extra = {"recipe": check_recipe(from_json(payload))}
        elif payload is not None:
            extra = {"data": _payload(payload)}
        if opcode in (DEDUP, OUTPUT):
            raise LineageError(f"a {opcode} item needs inputs")
        self.items.append(leaf(_opcode(opcode), from_json(lit), label, extra))

    def _i(self, row: list, number: int) -> None:
        if len(row) != 5 or not isinstance(row[3], list):
            raise LineageError("an item row is [\"i\", id, opcode, [refs], literal]")
        _, ident, opcode, refs, lit = row
        self._expect_id(ident)
        opcode, lit = _opcode(opcode), from_json(lit)
        inputs = tuple(self._resolve(r) for r in refs)
        if opcode == DEDUP:
            self._check_dedup(lit, len(inputs))
            self._expand(PATCHES[Literals(lit).patch].size)
        if opcode == OUTPUT:
            raise LineageError("outputs are written as [id, k] references, not as items")
        self.items.append(make(opcode, inputs, lit))

    def _d(self, row: list, number: int) -> None:
        if len(row) != 7 or not all(isinstance(x, list) for x in row[5:]):
            raise LineageError("a run row is [\"d\", first_id, count, pid, label, inputs, columns]")
        _, ident, count, pid, label, inputs, columns = row
        self._expect_id(ident)
        if type(count) is not int or not 2 <= count <= self.budget:
            raise LineageError(f"bad run length {str(count)[:20]} (at most {self.budget} here)")
        self.budget -= count
        if type(pid) is str and pid in PATCHES:
            self._expand(PATCHES[pid].size * count)
        if type(pid) is not str or type(label) is not str:
            raise LineageError("a run names its patch and label as strings")
        first_lit = ("T", (("s", pid), ("s", label), ("T", tuple(self._cell(c, 0, count)
                                                                 for c in columns))))
        self._check_dedup(first_lit, len(inputs))
        n_out = len(PATCHES[pid].outputs)
        if any(_is_prev(s) and s[1] >= n_out for s in inputs):
            raise LineageError(f"a carried input names an output beyond the patch's {n_out}")
        fixed = [None if _is_prev(s) else self._resolve(s) for s in inputs]
        initial = [self._resolve(s[2]) if _is_prev(s) else None for s in inputs]
        for t in range(count):
            # where an input is carried (its fixed value None), its initial value was resolved
            bound = cast("tuple[Item, ...]", tuple(
                f if f is not None else (initial[j] if t == 0 else
                                         make(OUTPUT, (self.items[-1],), ("k", inputs[j][1])))
                for j, f in enumerate(fixed)))
            holes = ("T", tuple(self._cell(c, t, count) for c in columns))
            self.items.append(make(DEDUP, bound, ("T", (("s", pid), ("s", label), holes))))

    def _cell(self, column: Any, t: int, count: int) -> Node:
        if not isinstance(column, list) or len(column) != 2 or column[0] not in ("c", "v", "vi"):
            raise LineageError("a run column is [\"c\", literal], [\"v\", [...]] or [\"vi\", [...]]")
        kind, payload = column
        if kind == "c":
            return from_json(payload)
        if not isinstance(payload, list) or len(payload) != count:
            raise LineageError(f"a run column needs {count} values")
        if kind == "vi":
            if type(payload[t]) is not int:
                raise LineageError("a \"vi\" column holds ints")
            return ("i", payload[t])
        return from_json(payload[t])

    def _r(self, row: list, number: int) -> None:
        if len(row) != 2 or not isinstance(row[1], list) or not row[1]:
            raise LineageError("the roots row is [\"r\", [ref, ...]] with at least one ref")
        self.roots = [self._resolve(r) for r in row[1]]

    def _expect_id(self, ident: Any) -> None:
        if type(ident) is not int or ident != len(self.items):
            raise LineageError(f"expected item id {len(self.items)}, got {str(ident)[:20]}")

    def _resolve(self, ref: Any) -> Item:
        if type(ref) is int:
            return self._earlier(ref)
        if (isinstance(ref, list) and len(ref) == 2 and type(ref[1]) is int
                and 0 <= ref[1] < MAX_OUTPUT_INDEX):
            parent = self._earlier(ref[0])
            if parent.opcode == DEDUP:
                patch = PATCHES[Literals(parent.literals).patch]
                if ref[1] >= len(patch.outputs):
                    raise LineageError(f"output {ref[1]} of a patch with {len(patch.outputs)}")
            return make(OUTPUT, (parent,), ("k", ref[1]))
        raise LineageError(f"bad reference {str(ref)[:40]}")

    def _earlier(self, ident: Any) -> Item:
        if type(ident) is not int or not 0 <= ident < len(self.items):
            raise LineageError(f"reference {str(ident)[:20]} is not an earlier item")
        return self.items[ident]

    def _check_dedup(self, lit: Node, n_inputs: int) -> None:
        try:
            tag, (pid_node, label_node, holes_node) = lit
            pid, holes = pid_node[1], holes_node[1]
            ok = tag == "T" and pid_node[0] == "s" and label_node[0] == "s" and holes_node[0] == "T"
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise LineageError("a dedup literal is [\"T\", [pid, label, holes]]")
        patch = PATCHES.get(pid)
        if patch is None:
            raise LineageError(f"dedup item refers to patch {str(pid)[:40]!r}, "
                               "not defined before it")
        if patch.n_placeholders != n_inputs or patch.n_holes != len(holes):
            raise LineageError(f"dedup item does not fit patch {pid}: "
                               f"{n_inputs} inputs for {patch.n_placeholders} placeholders, "
                               f"{len(holes)} values for {patch.n_holes} holes")


def _is_prev(spec: Any) -> bool:
    if isinstance(spec, list) and spec and spec[0] == "prev":
        if len(spec) != 3 or type(spec[1]) is not int or spec[1] < 0:
            raise LineageError("a carried input is [\"prev\", k, ref]")
        return True
    return False


def _opcode(opcode: Any) -> str:
    if type(opcode) is not str or len(opcode) > 200 or not _OPCODE.match(opcode):
        raise LineageError(f"bad opcode {str(opcode)[:60]!r}")
    return opcode


def _payload(payload: Any) -> bytes:
    if type(payload) is not str:
        raise LineageError("a leaf payload is a base64 string")
    try:
        return base64.b64decode(payload, validate=True)
    except ValueError:
        raise LineageError("a leaf payload is not valid base64") from None


__all__ += ["DATA"]
