"""A table of values whose digests ``tests/test_fingerprint_pinned.py`` pins (one entry per kind of value
that :mod:`mlcontext.fingerprint` normalises; pandas' private layouts included)."""

from __future__ import annotations

import datetime
import decimal
import math
import uuid

import numpy as np
import pandas as pd


def _record() -> np.ndarray:
    a = np.zeros(2, [("a", "<i8"), ("b", "<f8")])
    a["a"], a["b"] = [1, 2], [0.5, -1.5]
    return a


def values() -> dict[str, object]:
    """Name -> value; every value is built deterministically."""
    day = datetime.date(2024, 2, 29)
    return {
        "none": None, "true": True, "int": 12345678901234567890, "neg_int": -7, "float": 0.1,
        "nan": math.nan, "neg_zero": -0.0, "inf": math.inf, "complex": 1 + 2j, "str": "héllo\x1f",
        "bytes": b"\x00\xff", "tuple": (1, "a", (2.0,)), "list": [1, [2, 3]], "dict": {"b": 1, "a": [2]},
        "set": {3, 1, 2}, "slice": slice(1, None, -1), "ellipsis": Ellipsis, "type": float,
        "date": day, "datetime": datetime.datetime(2024, 2, 29, 13, 5, 7, 123456),
        "datetime_utc": datetime.datetime(2024, 2, 29, 13, tzinfo=datetime.UTC),
        "time": datetime.time(1, 2, 3), "timedelta": datetime.timedelta(days=2, microseconds=5),
        "decimal": decimal.Decimal("1.10"), "uuid": uuid.UUID(int=42),
        "np_f8": np.arange(6.0).reshape(2, 3),
        "np_f8_fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "np_i4_big": np.arange(4, dtype=">i4"), "np_bool": np.array([True, False]),
        "np_M8": np.array(["2024-01-01", "NaT"], dtype="M8[ns]"), "np_m8": np.array([1, 2], dtype="m8[s]"),
        "np_U": np.array(["ab", "c"]), "np_S": np.array([b"ab", b"c"]), "np_record": _record(),
        "np_object": np.array([1, "1", None, 2.5, day, decimal.Decimal("3")], dtype=object),
        "np_object_str": np.array(["a", "bc"], dtype=object), "np_empty": np.zeros((0, 3)),
        "np_scalar_f4": np.float32(1.5), "np_dtype_record": _record().dtype,
        "frame": pd.DataFrame({"x": [1, 2], "y": ["a", "b"], 1: [0.5, np.nan]}),
        "frame_nullable": pd.DataFrame({"i": pd.array([1, None], dtype="Int64"),
                                        "b": pd.array([True, None], dtype="boolean"),
                                        "f": pd.array([0.5, None], dtype="Float64")}),
        "frame_category": pd.DataFrame({"c": pd.Categorical(["b", "a", "b"], categories=["b", "a"],
                                                            ordered=True)}),
        "index_with_freq": pd.date_range("2024-03-30", periods=3, freq="D"),
        "np_f8_strided": np.arange(12.0).reshape(3, 4)[:, ::2],
        "frame_tz": pd.DataFrame({"t": pd.date_range("2024-03-30", periods=2, freq="D", tz="Europe/Paris")}),
        "frame_objects": pd.DataFrame({"d": [day, None], "m": [decimal.Decimal("1"), 2]}),
        "frame_multi": pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("x", "min"), ("x", "max")]),
                                    index=pd.Index(["r"], name="row")),
        "series": pd.Series([1.0, 2.0], index=[10, 20], name="s"),
        "index_range": pd.RangeIndex(2, 10, 3), "timestamp_ns": pd.Timestamp("2024-01-01 00:00:00.000000001"),
        "timestamp_tz": pd.Timestamp("2024-01-01", tz="UTC"), "nat": pd.NaT, "na": pd.NA,
        # unit explicit: pd.Timedelta(5, "s") has unit "s" on pandas 3.0 and "us" on 3.1 (the unit is
        # part of a Timedelta's identity, so those are two values; the oldest-deps pass runs 3.0)
        "timedelta_pd": pd.Timedelta(5, "s").as_unit("us"), "period": pd.Period("2024-01", "M"),
        "interval": pd.Interval(0, 1, closed="left"),
    }
