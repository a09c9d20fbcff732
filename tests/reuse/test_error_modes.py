"""A cached value never stands in for a computation whose floating-point errors the code asks to see.

A newcomer's differential fuzzer: once ``1 / a`` was cached, ``1 / a`` under
``np.errstate(divide="raise")`` returned the cached ``[1, inf]`` instead of raising
``FloatingPointError``, so code that detects bad data by the error took another path depending on
whether the value had been computed before. Under "raise", "call" and "log" the operation is
computed; under the default ("warn") and "ignore" the cache serves it.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc

POLICIES = ["full", "partial", "exact", "hybrid"]  # (multilevel reuses @mc.step calls, not operations)


def _cached(policy):
    a = mc.array(np.array([1.0, 0.0, 4.0]), name="a")
    for _ in range(3):
        with np.errstate(divide="ignore"):
            y = 1 / a
    return a, y


@pytest.mark.parametrize("policy", POLICIES)
def test_raise_is_raised_after_the_value_was_cached(policy):
    with mc.reuse(policy, min_compute_s=0, eager_s_per_byte=0):
        a, _ = _cached(policy)
        assert mc.reuse_stats().hits >= 1
        with pytest.raises(FloatingPointError, match="divide by zero"), np.errstate(divide="raise"):
            1 / a
        old = np.seterr(all="raise")
        try:
            with pytest.raises(FloatingPointError):
                1 / a
        finally:
            np.seterr(**old)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_callback_is_called_after_the_value_was_cached(policy):
    seen = []
    with mc.reuse(policy, min_compute_s=0, eager_s_per_byte=0):
        a, _ = _cached(policy)
        with np.errstate(divide="call", call=lambda kind, flag: seen.append(kind)):
            y = 1 / a
    assert seen == ["divide by zero"]
    assert np.array_equal(np.asarray(y), [1.0, np.inf, 0.25])


def test_the_default_mode_still_reuses():
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        a, _ = _cached("hybrid")
        before = mc.reuse_stats().hits
        with np.errstate(divide="ignore"):
            1 / a
        assert mc.reuse_stats().hits == before + 1


def test_a_step_hit_and_a_rewrite_from_cached_pieces_raise_too():
    """A reviewer's siblings: a `@mc.step` served from the cache, and a product of a stack built from
    cached blocks under hybrid, skipped the FloatingPointError the code asked for."""
    @mc.step
    def logs(x):
        return np.log(x)

    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        a = mc.array(np.array([1.0, 0.0]), name="a")
        with np.errstate(divide="ignore"):
            logs(a)
            logs(a)
        with pytest.raises(FloatingPointError), np.errstate(divide="raise"):
            logs(a)
        X = mc.array(np.full((50, 3), 1e200), name="X")
        Y = mc.array(np.ones((50, 2)), name="Y")
        with np.errstate(over="ignore"):
            X.T @ X
        H = np.hstack([X, Y])
        with pytest.raises(FloatingPointError), np.errstate(over="raise"):
            np.asarray(H.T @ H)


def test_modes_set_before_reuse_was_first_used(tmp_path):
    """np.seterr(divide="raise") before the first mc.reuse was taken for NumPy's default modes."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import numpy as np, mlcontext as mc
        np.seterr(divide="raise")
        with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
            a = mc.array(np.array([1.0, 0.0]), name="a")
            with np.errstate(divide="ignore"):
                np.log(a)
            try:
                np.log(a)
            except FloatingPointError:
                print("raised")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.strip() == "raised", done.stderr
