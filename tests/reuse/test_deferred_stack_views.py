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
