"""``np.may_share_memory`` and ``np.shares_memory`` of traced arrays answer as NumPy does on the values,
without an UnhandledOperationWarning (a newcomer's FrozenEstimator pipeline warned about
``numpy.may_share_memory``: scikit-learn asks it before it copies; twelfth session). The suite turns
warnings into errors, so a warning fails these tests."""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc


@pytest.mark.parametrize("question", [np.may_share_memory, np.shares_memory])
def test_memory_questions_answer_as_on_the_values(question):
    base = np.arange(12.0)
    t, other = mc.array(base), mc.array(base + 1)
    assert question(t, t) is question(base, base)
    assert bool(question(t, other)) is False
    assert bool(question(t, t[:4])) is True
    assert bool(question(t, np.asarray(t))) is True
    assert bool(question(t[:4], t[6:])) is bool(question(base[:4], base[6:]))
