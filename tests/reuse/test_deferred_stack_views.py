"""A deferred stack never reads a block later than NumPy would (newcomer trial, issue 14).

NumPy copies a stack's blocks when ``np.vstack`` is called; with partial reuse mlcontext may leave the
stack uncomputed and read the blocks on first use. A plain writable block was copied first, but a
*read-only view of writable memory* (``np.broadcast_to(bias, ...)``, ``v = p.view(); v.flags.writeable
= False``) was not: a write to its base after the call leaked into the stacked result (and the lineage
hash, taken from the old values, no longer described it). Differential against plain NumPy, every
stacking function, with the base written after the call.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc

STACKS = {
    "vstack": lambda t, b: np.vstack([t, b]),
    "hstack": lambda t, b: np.hstack([t, b]),
    "concatenate": lambda t, b: np.concatenate([t, b], axis=1),
    "column_stack": lambda t, b: np.column_stack([t, b]),
    "block": lambda t, b: np.block([t, b]),
}


def _read_only_views(base: np.ndarray) -> dict[str, np.ndarray]:
    view = base.view()
    view.flags.writeable = False
    return {"broadcast_to": np.broadcast_to(base[0], base.shape), "read-only view": view,
            "read-only slice": view[:, :]}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("kind", ["broadcast_to", "read-only view", "read-only slice"])
def test_a_read_only_view_of_writable_memory_is_read_when_numpy_reads_it(stack, kind):
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        plain_base = np.arange(6.0).reshape(3, 2) + 1
        traced_base = plain_base.copy()
        t = np.zeros((3, 2))
        want = STACKS[stack](t, _read_only_views(plain_base)[kind])
        got = STACKS[stack](mc.asarray(t.copy()), _read_only_views(traced_base)[kind])
        plain_base[:] = 9.0
        traced_base[:] = 9.0  # after the call: NumPy's result has the old values
        assert np.array_equal(np.asarray(got), want)
        assert not np.array_equal(want, STACKS[stack](t, _read_only_views(plain_base)[kind]))


def test_a_block_over_immutable_bytes_is_not_copied_and_is_right():
    raw = np.arange(6.0).tobytes()
    block = np.frombuffer(raw, dtype=float).reshape(3, 2)  # read-only, its memory a bytes object
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        got = np.vstack([mc.asarray(np.zeros((3, 2))), block])
        assert np.array_equal(np.asarray(got), np.vstack([np.zeros((3, 2)), block]))


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("values", ["ones", "random"])
def test_read_only_memory_its_owner_makes_writable_again_is_read_when_numpy_reads_it(stack, values):
    # A newcomer's column, made read-only by its own code, went into np.hstack with traced data; the
    # owner then set the flag back and wrote: the deferred stack read the new values, and the Gram
    # computed from them was cached under the old content's lineage, served to later, correct code.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        column = np.ones((40, 2)) if values == "ones" else rng.normal(size=(40, 2))
        kept = column.copy()
        column.flags.writeable = False
        got = STACKS[stack](mc.asarray(X.copy()), column)
        want = STACKS[stack](X, column)
        column.flags.writeable = True
        column[0, 0] = 99.0
        assert np.array_equal(np.asarray(got), want)
        assert np.allclose(np.asarray(got.T @ got), want.T @ want)
        again = STACKS[stack](mc.asarray(X.copy()), kept)  # the old content: its products reused
        assert np.allclose(np.asarray(again.T @ again), want.T @ want)


def test_the_traced_leaves_mlcontext_holds_are_not_copied_into_a_stack():
    # mc.array's own copy and mc.asarray's frozen input are memory nothing writes: a deferred stack
    # keeps reading them (HLM's 38 MB input is never copied).
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        big = np.random.default_rng(1).normal(size=(50, 3))
        for leaf in (mc.array(big), mc.asarray(big.copy())):
            stacked = np.hstack([leaf, np.asarray(leaf)])  # the second block: a view of held memory
            assert stacked.lineage is not None
            deferred = stacked._data
            blocks = deferred.call[1][0]
            assert all(np.shares_memory(b, np.asarray(leaf)) for b in blocks)
            assert np.array_equal(np.asarray(stacked), np.hstack([big, big]))
