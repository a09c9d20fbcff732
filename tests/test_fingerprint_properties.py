"""Hypothesis: equal fingerprint ⇒ equal value (with its type), for scalars, object arrays and record
dtypes; the same value built twice ⇒ the same fingerprint."""

from __future__ import annotations

import datetime
import decimal
import math
import uuid

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcontext.fingerprint import hash_array, hash_value

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, width=32),
    st.just(math.nan), st.just(-0.0),
    st.sampled_from(["", "1", "a", "1.0", "None", "True"]), st.binary(max_size=2),
    st.dates(datetime.date(2024, 1, 1), datetime.date(2024, 1, 3)),
    st.datetimes(datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 1, 0, 0, 2)),
    st.decimals(min_value=-2, max_value=2, places=1, allow_nan=False),
    st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=1)]),
)


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)  # type: ignore[arg-type]
    if isinstance(a, decimal.Decimal):
        return a.as_tuple() == b.as_tuple()  # type: ignore[union-attr]
    if isinstance(a, datetime.datetime):  # fold is part of the value: it decides tz conversions
        return a == b and a.fold == b.fold  # type: ignore[union-attr]
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and a == b  # type: ignore[arg-type]
    return a == b


@settings(max_examples=300, deadline=None)
@given(SCALARS, SCALARS)
def test_equal_fingerprint_means_equal_value_of_the_same_type(a, b) -> None:
    assert (hash_value(a) == hash_value(b)) == _same(a, b), (a, b)


@settings(max_examples=150, deadline=None)
@given(st.lists(SCALARS, min_size=1, max_size=4), st.lists(SCALARS, min_size=1, max_size=4))
def test_object_arrays_are_hashed_element_by_element(xs, ys) -> None:
    a, b = np.empty(len(xs), dtype=object), np.empty(len(ys), dtype=object)
    a[:], b[:] = xs, ys
    same = len(xs) == len(ys) and all(_same(x, y) for x, y in zip(xs, ys, strict=True))
    assert (hash_array(a) == hash_array(b)) == same, (xs, ys)


FIELDS = st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["<i4", ">i4", "<f4", "<u4", "|S4"])),
                  min_size=1, max_size=3, unique_by=lambda f: f[0])


@settings(max_examples=150, deadline=None)
@given(FIELDS, FIELDS, st.binary(min_size=24, max_size=24))
def test_record_arrays_with_the_same_bytes_differ_unless_their_dtypes_are_equal(fa, fb, raw) -> None:
    da, db = np.dtype(fa), np.dtype(fb)
    if da.itemsize != db.itemsize or 24 % da.itemsize:
        return
    a, b = np.frombuffer(raw, da), np.frombuffer(raw, db)
    assert hash_array(a) == hash_array(np.frombuffer(raw, np.dtype(list(fa))))  # rebuilt: same digest
    if hash_array(a) == hash_array(b):
        assert da == db and da.names == db.names
    if da != db:
        assert hash_array(a) != hash_array(b)
