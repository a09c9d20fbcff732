"""Failure kinds that peers' trackers report for DLPack export and concurrently swept caches, each
turned into a test on mlcontext's own inputs:

- PyTorch has no read-only tensors: ``torch.from_dlpack(a)`` shares ``a``'s memory and a write to the
  tensor changes the array (Quansight-Labs/numpy_pytorch_interop#132);
- NumPy refused to export read-only arrays through DLPack (numpy/numpy#20337), and every cached or
  ``mc.asarray`` value is read-only;
- a DLPack capsule can be consumed once only (pytorch/pytorch#57110);
- a cache swept by one thread while another inserts: "dictionary changed size during iteration"
  (probabl-ai/skore#2205, ilastik/lazyflow#199), or a ``KeyError`` deleting a key another thread
  deleted first (cachetools#80, stucchio/Python-LRU-cache#9).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from racing import race

import mlcontext as mc
from mlcontext.lineage import item as items


def test_writing_a_torch_tensor_from_dlpack_never_changes_the_traced_value() -> None:
    torch = pytest.importorskip("torch")
    plain = np.arange(12.0).reshape(3, 4)
    x = mc.array(plain, name="x")
    t = torch.from_dlpack(x)
    t[0, 0] = 42.0
    assert np.asarray(x)[0, 0] == 0.0 and plain[0, 0] == 0.0
    assert np.array_equal(np.asarray(x * 2), plain * 2)


def test_a_read_only_value_exports() -> None:
    frozen = np.linspace(0.0, 1.0, 7)
    frozen.flags.writeable = False
    x = mc.asarray(frozen)  # no copy: the traced value is the read-only array itself
    assert np.array_equal(np.from_dlpack(x), frozen)
    y = np.sqrt(x)
    assert np.array_equal(np.from_dlpack(y), np.sqrt(frozen))


def test_each_export_is_a_new_capsule_and_a_new_copy() -> None:
    torch = pytest.importorskip("torch")
    x = mc.array(np.arange(5, dtype=np.int64), name="x")
    a, b = torch.from_dlpack(x), torch.from_dlpack(x)
    a += 10
    assert b.tolist() == [0, 1, 2, 3, 4] and a.tolist() == [10, 11, 12, 13, 14]


def test_a_value_served_by_the_reuse_cache_after_its_export_was_written() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    plain = rng.standard_normal((400, 30))
    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=0.0, eager_s_per_byte=0.0):  # admitted at once, however fast
        x = mc.asarray(plain)
        first = x.T @ x
        torch.as_tensor(first).fill_(0.0)  # the importer writes into what it got
        torch.from_dlpack(first).fill_(0.0)
        again = x.T @ x  # a full hit: the cached value
        assert mc.reuse_stats().hits >= 1
    assert np.array_equal(np.asarray(again), plain.T @ plain)
    mc.reuse_clear()


def test_sweeping_while_other_threads_make_items() -> None:
    errors: list[BaseException] = []
    leaf = items.leaf("test.peer-sweep-leaf", ("i", 0))
    held: dict[int, list] = {}

    def maker(k: int) -> None:
        try:
            mine = held[k] = []
            for j in range(20_000):
                it = items.make("test.peer-sweep", (leaf,), ("i", j % 500))
                if j % 97 == 0:
                    mine.append((j % 500, it))  # kept: must never lose its identity's digest
        except BaseException as exc:  # noqa: BLE001 - what the test looks for
            errors.append(exc)

    def sweeper() -> None:
        try:
            for _ in range(30):
                items.sweep()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    race([threading.Thread(target=maker, args=(k,)) for k in range(3)]
         + [threading.Thread(target=sweeper) for _ in range(2)])
    assert errors == []
    # An item a thread holds keeps its lineage hash: made again, the same key gives the same digest
    # (the item itself, or an equal one where a sweep had dropped the key between two makes).
    for kept in held.values():
        for j, it in kept:
            assert items.make("test.peer-sweep", (leaf,), ("i", j)).digest == it.digest
