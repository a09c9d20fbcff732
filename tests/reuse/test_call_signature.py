"""The executor's call signature (``_signature``): what decides that a call is cheap and stops being
probed. Its fast path for one or two positional arrays or scalars must give exactly the tuple the
general loop gives, or one call shape would count under two signatures (probed forever) or two
call shapes under one (one's cheapness taken for the other's). The general loop is
``signature_by_loop``; the expected forms are spelled out in the last test."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcontext.reuse.executor import _signature, signature_by_loop

_ARGS = st.one_of(
    st.builds(lambda shape, dt: np.zeros(shape, dt), st.lists(st.integers(0, 3), max_size=3).map(tuple),
              st.sampled_from(["f8", "f4", "i8", "c16", "?"])),
    st.floats(allow_nan=False), st.integers(), st.booleans(), st.none(), st.just(np.float64(2.0)),
    st.just(np.float32(2.0)), st.just(slice(1, 3)), st.just((slice(None), 2)), st.just(("a", 1)),
    st.just([1, 2]), st.just("text"))


@settings(max_examples=2000, deadline=None)
@given(args=st.lists(_ARGS, max_size=3).map(tuple),
       kwargs=st.dictionaries(st.sampled_from(["axis", "keepdims", "out"]), _ARGS, max_size=2))
def test_the_fast_path_gives_the_general_signature(args: tuple, kwargs: dict) -> None:
    assert _signature("numpy.add", None, args, kwargs) == signature_by_loop("numpy.add", args, kwargs)


def test_a_stack_has_no_signature() -> None:
    assert _signature("numpy.hstack", "stack", (np.zeros(2),), {}) is None


def test_different_shapes_and_dtypes_have_different_signatures() -> None:
    a, b = np.zeros((2, 3)), np.zeros((3, 2))
    assert _signature("numpy.matmul", None, (a, b), {}) != _signature("numpy.matmul", None, (b, a), {})
    assert _signature("numpy.add", None, (a, 1.0), {}) != _signature("numpy.add", None, (1.0, a), {})
    assert _signature("numpy.add", None, (a, 1.0), {}) != _signature("numpy.add", None, (a, 1), {})
    assert _signature("numpy.add", None, (a,), {}) != _signature("numpy.add", None, (a.astype("f4"),), {})


def test_the_general_loop_spells_each_argument() -> None:
    a = np.zeros((2, 3))
    assert signature_by_loop("op", (a, 1.0, (slice(None), 2)), {"axis": 0}) == \
        ("op", ((2, 3), "d"), float, tuple, ("axis", int))
    assert signature_by_loop("op", (a, [1, 2]), {}) is None  # a list: always probed
    assert signature_by_loop("op", (a,), {"out": a}) is None  # a keyword array: always probed
