"""Function identity through templates: a function reading mutable globals (a dict, a list, an array)
keeps the bytes of its hash stream with a slot per such global, fed again at every call.

The invariant: the digest is always the one that hashing everything from scratch gives, whatever was
mutated in place or rebound in between (the differential tests below clear the snapshots to get it).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mlcontext as mc
from mlcontext.fingerprint import functions as fnid
from mlcontext.fingerprint import hash_function

CFG = {"a": 1, "b": [1, 2]}
STEPS = [0.1, 0.2, 0.3]
WEIGHTS = np.linspace(0.0, 1.0, 8)
SCALE = 2.0


def inner(x):
    return x * CFG["a"] + STEPS[0]


def outer(x):
    return inner(x) * SCALE + WEIGHTS[0]


def plain(x):
    return x * SCALE


def _from_scratch(fn) -> str:
    saved = dict(fnid._SNAPS)
    fnid._SNAPS.clear()
    try:
        return hash_function(fn)
    finally:
        fnid._SNAPS.clear()
        fnid._SNAPS.update(saved)


def _reset() -> None:
    global CFG, STEPS, WEIGHTS, SCALE
    CFG, STEPS, WEIGHTS, SCALE = {"a": 1, "b": [1, 2]}, [0.1, 0.2, 0.3], np.linspace(0.0, 1.0, 8), 2.0


def test_a_function_with_mutable_globals_keeps_a_template_not_a_digest():
    _reset()
    hash_function(inner)
    hash_function(outer)
    assert fnid._SNAPS[inner].template is not None
    assert fnid._SNAPS[outer].template is not None  # it reads inner, whose digest can change
    hash_function(plain)
    assert fnid._SNAPS[plain].template is None


def test_in_place_changes_of_mutable_globals_change_the_digest():
    _reset()
    seen = {hash_function(outer)}
    CFG["a"] = 3  # in place, no rebinding: the dict is the same object
    seen.add(hash_function(outer))
    CFG["b"].append(3)  # nested
    seen.add(hash_function(outer))
    STEPS[0] = 0.5
    seen.add(hash_function(outer))
    WEIGHTS[0] = 7.0
    seen.add(hash_function(outer))
    assert len(seen) == 5
    assert hash_function(outer) == _from_scratch(outer)
    CFG["a"], CFG["b"], STEPS[0], WEIGHTS[0] = 1, [1, 2], 0.1, 0.0  # back as at first
    assert hash_function(outer) in seen and hash_function(outer) == _from_scratch(outer)


def test_rebinding_a_global_or_a_helper_changes_the_digest():
    global SCALE, inner
    _reset()
    before = hash_function(outer)
    SCALE = 3.0
    assert hash_function(outer) != before
    SCALE = 2.0
    assert hash_function(outer) == before
    original = inner

    def inner(x):  # noqa: F811 - a notebook re-running an edited cell
        return x * CFG["a"] - STEPS[0]

    try:
        assert hash_function(outer) != before
        assert hash_function(outer) == _from_scratch(outer)
    finally:
        inner = original
    assert hash_function(outer) == before


def test_a_step_reading_a_mutated_dict_is_not_served_the_old_result():
    _reset()
    step = mc.step(inner)
    x = mc.array(np.arange(4.0))
    with mc.reuse("hybrid", min_compute_s=0.0):
        first = np.asarray(step(x)).copy()
        np.testing.assert_array_equal(np.asarray(step(x)), first)
        CFG["a"] = 10
        np.testing.assert_array_equal(np.asarray(step(x)), np.arange(4.0) * 10 + 0.1)
    _reset()


_mutation = st.sampled_from(["cfg_a", "cfg_b", "steps", "weights", "scale", "cfg_rebind", "none"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_mutation, st.integers(-3, 3)), max_size=8))
def test_the_digest_is_always_the_one_hashing_everything_gives(mutations):
    # Property: whatever sequence of in-place mutations and rebindings happens between calls, the
    # templated digest equals the from-scratch digest, for the function and for its caller.
    global CFG, SCALE
    _reset()
    for what, k in mutations:
        if what == "cfg_a":
            CFG["a"] = k
        elif what == "cfg_b":
            CFG["b"].append(k)
        elif what == "steps":
            STEPS[abs(k) % 3] = float(k)
        elif what == "weights":
            WEIGHTS[abs(k) % 8] = float(k)
        elif what == "scale":
            SCALE = float(k)
        elif what == "cfg_rebind":
            CFG = {"a": k, "b": []}
        assert hash_function(inner) == _from_scratch(inner)
        assert hash_function(outer) == _from_scratch(outer)
    _reset()
