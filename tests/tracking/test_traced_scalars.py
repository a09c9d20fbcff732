"""A reduction of a traced array is a 0-d traced array; where plain code would have had a NumPy scalar
it acts as one: ``round`` and ``mc.param`` take it (a newcomer's ``round(t.mean(), 2)`` raised
TypeError and ``mc.param("best", t.max())`` raised ParamError; twelfth session)."""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc

VALUES = np.array([0.125, 2.5675, 3.9, -1.25])


@pytest.mark.parametrize("ndigits", [None, 0, 2])
def test_round_is_as_on_the_numpy_scalar(ndigits):
    t = mc.array(VALUES)
    for traced, plain in ((t.mean(), VALUES.mean()), (t.max(), VALUES.max()), (t[1], VALUES[1])):
        got, want = round(traced, ndigits), round(plain, ndigits)
        assert got == want and type(got) is type(want)


def test_round_of_an_array_with_dimensions_raises_as_numpy_does():
    with pytest.raises(TypeError, match="__round__"):
        round(np.asarray(VALUES))
    with pytest.raises(TypeError, match="__round__"):
        round(mc.array(VALUES))


def test_a_param_takes_a_traced_scalar_as_its_number(store):
    t = mc.array(VALUES)
    with mc.run("scalars", project="scalars") as run:
        assert mc.param("best", t.max()) == t.max()
        mc.param("count", mc.array(np.arange(3)).sum())
        mc.param("plain", np.array(1.5))
    params = mc.get_run(run.id).params
    assert params == {"best": 3.9, "count": 3, "plain": 1.5}
    assert type(params["count"]) is int
