"""A ``@mc.step`` reading a traced array or frame as a global is reused while the global names the same
lineage, and runs again when it is rebound to another (a newcomer's traced global made every call
run, with an UnidentifiedWarning: traced values had no fingerprint; twelfth session)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import mlcontext as mc

BASE = np.arange(6.0).reshape(3, 2)
W = mc.array(BASE)
F = mc.frame(pd.DataFrame({"a": [1.0, 2.0]}))


@mc.step
def apply(x):
    return x @ W + F["a"].sum()


def test_a_traced_global_is_identified_by_its_lineage():
    global W, F
    x = mc.array(np.ones((4, 3)))
    with mc.reuse_events() as events:
        first, again = apply(x), apply(x)
        W = mc.array(BASE * 2)
        rebound = apply(x)
        F = mc.frame(pd.DataFrame({"a": [1.0, 5.0]}))
        reframed = apply(x)
    kinds = [e.kind for e in events if e.kind.startswith("step")]
    assert kinds == ["step_computed", "step_reused", "step_computed", "step_computed"]
    ones = np.ones((4, 3))
    assert np.array_equal(np.asarray(first), ones @ BASE + 3)
    assert np.array_equal(np.asarray(again), np.asarray(first))
    assert np.array_equal(np.asarray(rebound), ones @ (BASE * 2) + 3)
    assert np.array_equal(np.asarray(reframed), ones @ (BASE * 2) + 6)
    W, F = mc.array(BASE), mc.frame(pd.DataFrame({"a": [1.0, 2.0]}))


def test_the_fingerprint_is_the_lineage_hash_not_the_bytes():
    a, b = mc.array(BASE), mc.array(BASE)  # one leaf: the same content
    assert mc.fingerprint.hash_value(a) == mc.fingerprint.hash_value(b)
    assert mc.fingerprint.hash_value(a) != mc.fingerprint.hash_value(a + 0)  # another lineage
    assert mc.fingerprint.hash_value(a) != mc.fingerprint.hash_value(BASE)  # a plain array is its bytes
