"""Named views of literal trees (``Literals``) read the parts each kind of item's maker writes, and the
one tree walk (``map_leaves``) visits leaves in order."""

from __future__ import annotations

import warnings

import numpy as np

import mlcontext as mc
from mlcontext.errors import UnhandledOperationWarning
from mlcontext.fingerprint import hash_array
from mlcontext.lineage.literals import EMPTY_KWARGS, Literals, abstract, fill, map_leaves
from mlcontext.lineage.patch import DEDUP, OUTPUT, PATCHES

X = np.arange(12.0).reshape(4, 3)


def test_call_parts() -> None:
    x = mc.array(X)
    call = Literals(x.sum(axis=0).lineage.literals)
    assert call.is_call
    assert call.args == (("r", 0),)
    assert call.kwargs == ("D", (("axis", ("i", 0)),))
    indexed = Literals(x[1:, 2].lineage.literals)
    assert indexed.arg(1) == ("T", (("S", (("i", 1), ("n", None), ("n", None))), ("i", 2)))
    assert indexed.kwargs == EMPTY_KWARGS


def test_output_parts() -> None:
    q, r = np.linalg.qr(mc.array(X))
    assert q.lineage.opcode == OUTPUT
    assert (Literals(q.lineage.literals).output, Literals(r.lineage.literals).output) == (0, 1)
    assert not Literals(q.lineage.literals).is_call


def test_dedup_parts() -> None:
    w = mc.array(np.zeros(3))
    for i in mc.loop("epoch", range(3)):
        w = w + float(i)
    dedup = w.lineage.inputs[0]
    assert dedup.opcode == DEDUP
    view = Literals(dedup.literals)
    assert view.patch in PATCHES
    assert view.label == "loop:epoch"
    assert len(view.holes) == PATCHES[view.patch].n_holes
    assert ("f", 2.0) in view.holes  # the last iteration's number


def test_opaque_and_leaf_parts() -> None:
    x = mc.array(np.arange(8, dtype=np.uint8))
    with warnings.catch_warnings():  # (warned once per process: maybe already)
        warnings.simplefilter("ignore", UnhandledOperationWarning)
        packed = np.packbits(x)
    view = Literals(packed.lineage.literals)
    assert view.name == "numpy.packbits"
    assert Literals(view.fields).field("hash") == ("s", hash_array(np.packbits(np.arange(8, dtype=np.uint8))))
    leaf = Literals(x.lineage.literals)
    assert leaf.field("hash") == ("s", hash_array(np.arange(8, dtype=np.uint8)))
    assert leaf.field("no such field") is None and not leaf.is_call
    assert Literals(("k", 2)).field("hash") is None


def test_map_leaves_visits_leaves_in_order_and_rebuilds() -> None:
    tree = ("T", (("i", 1), ("L", (("f", 2.5), ("s", "a"))), ("D", (("b", ("i", 3)), ("c", ("n", None)))),
                  ("S", (("n", None), ("i", 4), ("n", None)))))
    seen: list = []
    assert map_leaves(tree, lambda leaf: seen.append(leaf) or leaf) == tree
    assert seen == [("i", 1), ("f", 2.5), ("s", "a"), ("i", 3), ("n", None), ("n", None), ("i", 4),
                    ("n", None)]
    holes: list = []
    abstracted = abstract(tree, holes)
    assert holes == [("i", 1), ("f", 2.5), ("i", 3), ("i", 4)]
    assert fill(abstracted, holes) == tree
