"""The executor's call signature (``_signature``): what decides that a call is cheap and stops being
probed. Its fast path for one or two positional arrays or scalars must give exactly the tuple the
general loop gives, or one call shape would count under two signatures (probed forever) or two
call shapes under one (one's cheapness taken for the other's)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcontext.reuse.executor import _PLAIN_SCALARS, _signature


def _reference(opcode: str, args: tuple, kwargs: dict) -> tuple | None:
    sig: list = [opcode]
    for a in args:
        t = type(a)
        if t is np.ndarray:
            sig.append((a.shape, a.dtype.char))
        elif t in _PLAIN_SCALARS:
            sig.append(t)
        elif t is tuple:
            if any(type(k) not in _PLAIN_SCALARS for k in a):
                return None
            sig.append(t)
        else:
            return None
    for k, v in kwargs.items():
        t = type(v)
        if t is tuple:
            if any(type(e) not in _PLAIN_SCALARS for e in v):
                return None
        elif t not in _PLAIN_SCALARS:
            return None
        sig.append((k, t))
    return tuple(sig)


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
    assert _signature("numpy.add", None, args, kwargs) == _reference("numpy.add", args, kwargs)


def test_a_stack_has_no_signature() -> None:
    assert _signature("numpy.hstack", "stack", (np.zeros(2),), {}) is None


def test_different_shapes_and_dtypes_have_different_signatures() -> None:
    a, b = np.zeros((2, 3)), np.zeros((3, 2))
    assert _signature("numpy.matmul", None, (a, b), {}) != _signature("numpy.matmul", None, (b, a), {})
    assert _signature("numpy.add", None, (a, 1.0), {}) != _signature("numpy.add", None, (1.0, a), {})
    assert _signature("numpy.add", None, (a, 1.0), {}) != _signature("numpy.add", None, (a, 1), {})
    assert _signature("numpy.add", None, (a,), {}) != _signature("numpy.add", None, (a.astype("f4"),), {})
