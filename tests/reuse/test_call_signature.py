"""The executor's call signature (``_signature``): what decides that a call is cheap and stops being
probed. Two call shapes must never share a signature (one's cheapness would be taken for the
other's), and calls whose cost the signature cannot describe get none (they are always probed)."""

from __future__ import annotations

import numpy as np

from mlcontext.reuse.executor import _signature


def test_a_stack_has_no_signature() -> None:
    assert _signature("numpy.hstack", "stack", (np.zeros(2),), {}) is None


def test_each_argument_is_spelled() -> None:
    a = np.zeros((2, 3))
    assert _signature("op", None, (a, 1.0, (slice(None), 2)), {"axis": 0}) == \
        ("op", ((2, 3), "d"), float, tuple, ("axis", int))
    assert _signature("op", None, (2, np.float64(1.0)), {}) == ("op", int, np.float64)
    assert _signature("op", None, (a, [1, 2]), {}) is None  # a list: always probed
    assert _signature("op", None, (a,), {"out": a}) is None  # a keyword array: always probed


def test_different_shapes_and_dtypes_have_different_signatures() -> None:
    a, b = np.zeros((2, 3)), np.zeros((3, 2))
    assert _signature("numpy.matmul", None, (a, b), {}) != _signature("numpy.matmul", None, (b, a), {})
    assert _signature("numpy.add", None, (a, 1.0), {}) != _signature("numpy.add", None, (1.0, a), {})
    assert _signature("numpy.add", None, (a, 1.0), {}) != _signature("numpy.add", None, (a, 1), {})
    assert _signature("numpy.add", None, (a,), {}) != _signature("numpy.add", None, (a.astype("f4"),), {})
