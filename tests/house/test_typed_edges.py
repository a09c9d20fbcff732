"""Behaviour pinned while making ops/ and reuse/ type-clean (issue 12.8): the places where the types
showed a value could be of a kind the code did not expect."""

from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.reuse.freeze import freeze
from mlcontext.reuse.stats import Counters, ReuseStats


def test_counters_declare_every_stat_the_cache_does_not_know_itself():
    declared = set(Counters.__annotations__)
    assert declared == {f.name for f in dataclasses.fields(ReuseStats)} - {"entries", "bytes"}
    c = Counters()
    assert all(getattr(c, name) == 0 for name in declared)
    assert isinstance(c.saved_s, float)


def test_a_traced_numpy_scalar_behaves_as_a_numpy_scalar():
    s = mc.array(np.arange(3), name="x").sum()  # a traced NumPy scalar (np.int64)
    plain = np.arange(3).sum()
    with pytest.raises(TypeError):
        len(plain)
    with pytest.raises(TypeError):
        len(s)
    with pytest.raises(TypeError):
        1 in plain  # noqa: B015 - the error is the point
    with pytest.raises(TypeError):
        1 in s  # noqa: B015
    assert [10, 11, 12, 13][s] == 13  # an integer scalar is an index
    with pytest.raises(TypeError):
        [1, 2][mc.array(np.arange(3.0), name="f").sum()]  # a float one is not


def test_a_traced_0d_array_and_a_vector_keep_their_container_behaviour():
    v = mc.array(np.arange(3), name="v")
    assert len(v) == 3 and 2 in v and 5 not in v
    assert len(list(v)) == 3


def test_freeze_keeps_a_namedtuple_of_arrays_and_refuses_views():
    Pair = namedtuple("Pair", "a b")
    a, b = np.ones(2), np.zeros(3)
    frozen = freeze(Pair(a, b), ())
    assert type(frozen) is Pair and not frozen.a.flags.writeable
    assert type(freeze((a, b), ())) is tuple
    assert freeze((a, b), (a,)) is None  # a view of (here: the same as) an argument: not kept


def test_valid_names_memo_checks_once_refuses_non_text_and_stays_bounded(monkeypatch):
    from mlcontext.errors import InvalidNameError
    from mlcontext.names import ValidNames

    memo = ValidNames("metric")
    assert memo.check("loss") == "loss" and "loss" in memo
    with pytest.raises(TypeError):
        memo.check(["loss"])  # unhashable: refused as a name, never 'unhashable type'
    with pytest.raises(InvalidNameError):
        memo.check("a\nb")
    assert memo == {"loss"}
    monkeypatch.setattr(ValidNames, "MAX", 3)
    for i in range(10):
        memo.check(f"loss_{i}")
    assert len(memo) <= 3 and "loss_9" in memo
