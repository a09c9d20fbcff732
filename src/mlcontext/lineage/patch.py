"""Dedup patches: the lineage of a loop body or step call, recorded once per distinct control path.

A patch is a template: a list of nodes ``(opcode, refs, literals)`` in execution order, where a ref ``>=
0`` points to an earlier node and a ref ``< 0`` to placeholder ``-ref - 1`` (a value that came from
outside the body), and number literals are holes (``("h", j)``). ``outputs`` names the nodes whose values
outlive the body. A patch is identified by the hash of its template, so the same body recorded in two
processes is the same patch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import xxhash

from ..errors import LineageError
from .digest import node_digest
from .literals import Literals, Node, dumps_literal, fill, iter_leaves

__all__ = ["Patch", "PATCHES", "register_patch", "DEDUP", "OUTPUT"]

DEDUP = "lineage.dedup"  # opcode of the one item per iteration / call that points to a patch
OUTPUT = "lineage.output"  # opcode of "output k of a multi-output item"

TemplateNode = tuple[str, tuple[int, ...], Node]


@dataclass(frozen=True, slots=True, eq=False)
class Patch:
    """A recorded body: template nodes, placeholder count, hole count, output node indices."""

    pid: str
    nodes: tuple[TemplateNode, ...]
    n_placeholders: int
    n_holes: int
    outputs: tuple[int, ...]
    size: int  # nodes of the fully expanded body (nested patches counted per call)
    hole_counts: tuple[int, ...]  # holes of each node

    @staticmethod
    def make(nodes: Sequence[TemplateNode], n_placeholders: int, n_holes: int,
             outputs: Sequence[int]) -> Patch:
        """Build a patch and derive its id from the template alone."""
        nodes, outputs = tuple(nodes), tuple(outputs)
        size = _validate(nodes, n_placeholders, n_holes, outputs)
        counts = tuple(_count_holes(lit) for _, _, lit in nodes)
        if sum(counts) != n_holes:
            raise LineageError(f"patch has {sum(counts)} holes, says {n_holes}")
        text = dumps_literal(("T", (("k", n_placeholders), ("k", n_holes),
                                    ("T", tuple(("k", o) for o in outputs)))))
        h = xxhash.xxh3_128(text.encode())
        for opcode, refs, lit in nodes:
            h.update(b"%s\x00%s\x00%s\x00" % (opcode.encode(), repr(refs).encode(),
                                             dumps_literal(lit).encode()))
        return Patch(h.hexdigest(), nodes, n_placeholders, n_holes, outputs, size, counts)

    def filled(self, holes: Sequence[Node]) -> Iterator[tuple[str, tuple[int, ...], Node]]:
        """The template nodes with one call's hole values put in."""
        if len(holes) != self.n_holes:
            raise LineageError(f"{len(holes)} hole values for a patch with {self.n_holes}")
        at = 0
        for (opcode, refs, lit), count in zip(self.nodes, self.hole_counts, strict=True):
            yield opcode, refs, (fill(lit, holes[at:at + count]) if count else lit)
            at += count

    def expand_digests(self, input_digests: Sequence[bytes], holes: Sequence[Node]) -> list[bytes]:
        """Hashes of the output nodes for actual inputs: the hashes of the expanded lineage."""
        digests: list[bytes] = []
        outs_of: dict[int, list[bytes]] = {}
        for index, (opcode, refs, lit) in enumerate(self.filled(holes)):
            if opcode == OUTPUT and refs[0] in outs_of:
                digests.append(outs_of[refs[0]][Literals(lit).output])
                continue
            ins = [digests[r] if r >= 0 else input_digests[-r - 1] for r in refs]
            if opcode == DEDUP:
                view = Literals(lit)
                inner = PATCHES.get(view.patch)
                if inner is None:
                    raise LineageError(f"unknown patch {view.patch!r}")
                outs_of[index] = inner.expand_digests(ins, view.holes)
            digests.append(node_digest(opcode, ins, lit))
        return [digests[o] for o in self.outputs]


MAX_EXPANDED = 10_000_000  # refuse patches whose expansion would take minutes to hash (log bombs)


def _validate(nodes: tuple, n_placeholders: int, n_holes: int, outputs: tuple) -> int:
    size = 0
    for index, (opcode, refs, lit) in enumerate(nodes):
        for r in refs:
            if not (-n_placeholders <= r < index):
                raise LineageError(f"patch node {index} refers to {r}: "
                                   "not an earlier node or placeholder")
        if opcode == OUTPUT and (len(refs) != 1 or lit[0] != "k"):
            raise LineageError(f"patch node {index}: an output node has one input, a 'k' literal")
        if opcode == DEDUP:
            inner = PATCHES.get(Literals(lit).patch) if lit[0] == "T" and len(lit[1]) == 3 else None
            if inner is None:
                raise LineageError(f"patch node {index} refers to an unknown patch")
            size += inner.size
        size += 1
    if size > MAX_EXPANDED:
        raise LineageError(f"patch expands to {size} nodes, more than {MAX_EXPANDED}")
    for o in outputs:
        if not (0 <= o < len(nodes)):
            raise LineageError(f"patch output {o} is not a node")
    return size


def _count_holes(node: Node) -> int:
    # Holes of one node must be numbered 0, 1, ... in the order they appear (as abstract() does).
    seen = [leaf[1] for leaf in iter_leaves(node) if leaf[0] == "h"]
    if seen != list(range(len(seen))):
        raise LineageError("holes in a patch node must be numbered 0, 1, ... in order")
    return len(seen)


PATCHES: dict[str, Patch] = {}


def register_patch(patch: Patch) -> Patch:
    """Keep ``patch`` in the process-wide table (patches are few and small); return it."""
    return PATCHES.setdefault(patch.pid, patch)
