"""NumPy attributes and setters on a traced array, and Generator members on a traced generator, as a
newcomer's code used them: each behaves as NumPy's, or is refused with what to write instead.

Before, ``a.shape = (3, 2)``, ``a.flat = 7``, ``c.real = 3`` raised "has no setter", ``a.flags`` and
``a.resize`` and ``g.spawn(2)`` raised a bare AttributeError.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.errors import UntracedAttributeError, UsageError

STATEMENTS = ["a.shape = (3, 2)", "a.shape = -1", "a.flat = 7", "a.flat = [1, 2]", "a.flat = np.arange(6)",
              "a.real = 3", "a.real[0] = 9", "a.shape = (4, 2)"]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_a_setter_does_what_numpy_does(statement):
    plain = {"a": np.arange(6.0).reshape(2, 3), "np": np}
    traced = {"a": mc.array(np.arange(6.0).reshape(2, 3), name="a"), "np": np}
    try:
        exec(statement, plain)
    except ValueError:
        with pytest.raises(ValueError):
            exec(statement, traced)
        return
    exec(statement, traced)
    got = np.asarray(traced["a"])
    assert got.shape == plain["a"].shape and np.array_equal(got, plain["a"])
    replayed = mc.recompute(mc.lineage.dumps(traced["a"]), inputs={"a": np.arange(6.0).reshape(2, 3)})
    assert np.array_equal(replayed, plain["a"])


def test_flags_describe_the_value():
    a = mc.array(np.asfortranarray(np.ones((3, 2))), name="a")
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    assert not a.flags.writeable  # the value never changes; writes make a new version


def test_resize_and_the_imaginary_part_of_a_real_array_are_refused_with_advice():
    a = mc.array(np.arange(4.0), name="a")
    with pytest.raises(UsageError, match="np.resize"):
        a.resize((2, 2))
    with pytest.raises(TypeError, match="read-only"):  # NumPy raises TypeError too
        a.imag = 1.0


@pytest.mark.parametrize("member, advice", [("spawn", "default_rng"), ("bytes", "integers"),
                                            ("bit_generator", "lineage")])
def test_untraced_generator_members_say_what_to_write(member, advice):
    g = mc.random.default_rng(3)
    with pytest.raises(UntracedAttributeError, match=advice):
        getattr(g, member)
    assert not hasattr(g, member)  # still an AttributeError: probing code answers as for any object
    assert getattr(g, member, None) is None
