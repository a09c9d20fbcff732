"""Lineage items: hashes from (opcode, inputs, literals) alone, hash-consing, deep chains, pickling."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.lineage.item import Item, walk


def test_hash_depends_on_computation_not_on_value_bytes() -> None:
    x = mc.array(np.arange(4.0), name="x")
    assert (x + 1).lineage == (x + 1).lineage
    assert (x + 1).lineage != (1 + x).lineage  # different literal layout, different computation
    assert (x * 2).lineage != (x + x).lineage  # same values, different lineage
    assert (x + 1).lineage != (x + 1.0).lineage != (x + True).lineage  # int, float, bool differ
    assert (x * 0.0).lineage != (x * -0.0).lineage


def test_hash_consing_identical_subcomputations_are_one_item() -> None:
    x = mc.array(np.arange(4.0), name="x")
    a, b = x.T @ x, x.T @ x
    assert a.lineage is b.lineage
    assert len(a.lineage.hash) == 32 and len(a.lineage.digest) == 16


def test_leaf_hash_is_content_not_name() -> None:
    a = mc.array(np.arange(3.0), name="a")
    b = mc.array(np.arange(3.0), name="b")
    assert a.lineage == b.lineage and a.lineage.label == "a" and b.lineage.label == "b"
    assert mc.array(np.arange(3)).lineage != a.lineage  # int64 vs float64


def test_heights() -> None:
    x = mc.array(np.ones(2))
    y = (x + 1) * x
    assert x.lineage.height == 0 and y.lineage.height == 2


SCRIPT = """
import numpy as np, mlcontext as mc
x = mc.array(np.arange(6.0).reshape(2, 3), name="x")
print(np.linalg.norm(x.T @ x + 0.5, axis=0).lineage.hash)
"""


def test_hash_equal_in_another_process() -> None:
    x = mc.array(np.arange(6.0).reshape(2, 3), name="x")
    here = np.linalg.norm(x.T @ x + 0.5, axis=0).lineage.hash
    there = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here


def test_pickle_round_trip_keeps_hash() -> None:
    x = mc.array(np.arange(3.0), name="x")
    item = np.cumsum(x * 2).lineage
    again = pickle.loads(pickle.dumps(item))
    assert again == item and again.hash == item.hash and again.opcode == item.opcode


def _chain(n: int) -> mc.TracedArray:
    y = mc.array(np.zeros(1), name="y")
    with mc.lineage.no_dedup():
        for _ in range(n):
            y = y + 1
    return y


@pytest.mark.timeout(600)  # a guard against a hang, not a timing: bench_lineage measures the cost
def test_deep_chain_hash_compare_serialize_without_recursion() -> None:
    y = _chain(100_000)
    z = _chain(100_000)
    assert y.lineage.height == 100_000
    assert y.lineage == z.lineage  # iterative hashing, no RecursionError
    text = mc.lineage.dumps(y)
    assert text.count("\n") == 100_000 + 3
    back = mc.lineage.loads(text)
    assert back == y.lineage and back.height == 100_000
    assert pickle.loads(pickle.dumps(y.lineage)) == y.lineage
    assert sum(1 for _ in walk(back)) == 100_001


def test_item_repr_and_equality_with_other_types() -> None:
    item = mc.array(np.ones(1), name="w").lineage
    assert "lineage.data" in repr(item) and "'w'" in repr(item)
    assert item != "not an item"
    assert isinstance(hash(item), int)
    assert Item.__eq__(item, 3) is NotImplemented
