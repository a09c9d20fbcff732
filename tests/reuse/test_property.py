"""Reuse never changes results: generated programs run with reuse on (twice, so the second run hits)
and off give the same values (equal to floating-point tolerance; rewrites reorder sums)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mlcontext as mc

N = 12


def _ops():
    # Each op takes the list of available (traced or plain) 2-D arrays, all with N rows.
    return st.sampled_from([
        "gram", "hstack", "vstack_gram", "matmul_prefix", "exp_stack", "add", "scale", "tproduct",
        "kfold", "stack_matvec", "prefix_sweep",
    ])


def _run(program, seed):
    rng = np.random.default_rng(seed)
    arrays = [mc.array(rng.normal(size=(N, 3))), mc.array(rng.normal(size=(N, 2)))]
    outputs = []
    for op, i, j in program:
        a, b = arrays[i % len(arrays)], arrays[j % len(arrays)]
        if op == "gram":
            out = a.T @ a
        elif op == "hstack":
            out = np.hstack([a, b])
            arrays.append(out)
        elif op == "vstack_gram":
            z = np.vstack([a, a[: N // 2]])
            out = z.T @ z
        elif op == "matmul_prefix":
            g = a.T @ a
            out = a @ g[:, : 1 + (j % g.shape[1])]
        elif op == "exp_stack":
            out = np.exp(np.hstack([a, b]) * 0.1)
        elif op == "add":
            out = a[:, :1] + b[:, :1]
            arrays.append(out)
        elif op == "scale":
            out = a * 0.5
            arrays.append(out)
        elif op == "tproduct":
            out = np.hstack([a, b]).T @ b
        elif op == "stack_matvec":
            z = np.hstack([a, b])
            out = np.concatenate([z @ np.ones(z.shape[1]), z.T @ a[:, 0]])
        elif op == "prefix_sweep":  # PCA-like: P = a @ V[:, :k] for growing k, its Gram and P'a
            g = a.T @ a
            parts = []
            for k in range(1, g.shape[1] + 1):
                p = a @ g[:, :k]
                parts += [np.asarray(p.T @ p).ravel(), np.asarray(p.T @ a[:, 0]).ravel()]
            out = np.concatenate(parts)
        else:
            blocks = [a[k * 4:(k + 1) * 4] for k in range(3)]
            out = [np.vstack([blk for m, blk in enumerate(blocks) if m != k]) for k in range(3)]
            out = sum(np.asarray(z.T @ z) for z in out)
        outputs.append(np.asarray(out).copy())
    return outputs


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_ops(), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=8),
       st.integers(0, 3))
def test_reuse_never_changes_results(program, seed) -> None:
    with mc.reuse("none"):
        expect = _run(program, seed)
    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=0.0):
        first = _run(program, seed)
        second = _run(program, seed)
    mc.reuse_clear()
    with mc.reuse("hybrid", min_compute_s=0.0, eager_s_per_byte=1.0):  # every value delayed
        delayed = [_run(program, seed) for _ in range(3)]
    for e, f, s, *d in zip(expect, first, second, *delayed, strict=True):
        np.testing.assert_allclose(f, e, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(s, f)  # a full hit returns exactly what was computed
        for v in d:
            np.testing.assert_allclose(v, e, rtol=1e-10, atol=1e-10)


@mc.step
def _pipeline(X, k):
    Z = np.hstack([X, np.ones((X.shape[0], 1))])
    return Z.T @ Z + k, np.exp(X * 0.1).sum()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 4), st.floats(-2, 2))
def test_step_reuse_never_changes_results(seed, k) -> None:
    X = mc.array(np.random.default_rng(seed).normal(size=(10, 3)))
    with mc.reuse("none"):
        g0, s0 = _pipeline(X, k)
    g1, s1 = _pipeline(X, k)
    g2, s2 = _pipeline(X, k)
    np.testing.assert_allclose(np.asarray(g1), np.asarray(g0), rtol=1e-12)
    assert np.array_equal(np.asarray(g2), np.asarray(g1)) and float(s1) == float(s2)
