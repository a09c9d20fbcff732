"""Failure kinds of peers' drift and data-diff tools, as tests of mlcontext's answers (own inputs).

- yakew7/Fair-Code#461: a column collapsing to mostly missing showed no drift, the distribution of
  the values left being computed alone.
- evidentlyai/evidently#1480: one empty column made the whole report fail.
- harvard-lil/binoc#92: the same rows in another order reported as millions of changed cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import mlcontext as mc
from mlcontext.insight.diff import content_changes

RNG = np.random.default_rng(14)


def test_a_column_collapsing_to_missing_drifts_though_its_values_keep_their_split():
    a = pd.DataFrame({"group": ["w"] * 500 + ["b"] * 500})
    b = pd.DataFrame({"group": ["w"] * 25 + ["b"] * 25 + [None] * 950})
    row = mc.drift(a, b).columns.loc["group"]
    assert bool(row["drifted"]) and "null fraction" in row["reason"]


def test_an_empty_column_leaves_the_others_compared():
    a = pd.DataFrame({"x": RNG.normal(size=300), "empty": np.nan})
    b = pd.DataFrame({"x": RNG.normal(3, 1, 300), "empty": np.nan})
    report = mc.drift(a, b)
    assert bool(report.columns.loc["x", "drifted"])
    assert not bool(report.columns.loc["empty", "drifted"])


def test_the_same_rows_in_another_order_are_no_changed_rows():
    a = pd.DataFrame({"id": range(200), "v": RNG.normal(size=200)})
    b = a.sample(frac=1, random_state=0)
    changes = content_changes(a, b)
    assert changes.reordered and changes.added == 0 and changes.removed == 0
    assert not mc.drift(a, b).columns["drifted"].any()


def test_a_newcomers_monthly_table_by_content():
    """A newcomer's monthly sales: CSV one month (dates as text), Parquet the next (timestamps) counted
    every row as changed; a nullable flag read back from CSV (True/False/NaN objects) likewise; a rename
    that came with appended rows was not spotted; moving the id into the index compared positions with
    ids."""
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(RNG.integers(0, 100, 50), unit="D")
    text = pd.DataFrame({"id": range(50), "date": dates.astype(str), "v": RNG.normal(size=50)})
    stamps = text.assign(date=pd.to_datetime(text.date))
    assert content_changes(text, stamps).unchanged == 50
    flag = pd.DataFrame({"id": range(6), "flag": pd.array([True, False, None, True, False, True], "boolean")})
    read_back = flag.assign(flag=flag.flag.astype(object).where(flag.flag.notna(), np.nan))
    assert content_changes(flag, read_back).unchanged == 6
    month = pd.DataFrame({"id": range(100), "revenue": RNG.normal(size=100)})
    next_month = pd.concat([month, month.iloc[:5]]).rename(columns={"revenue": "revenue_usd"})
    assert content_changes(month, next_month).renamed == (("revenue", "revenue_usd"),)
    indexed = content_changes(month, month.set_index("id"))
    assert "became the index" in indexed.index and "removed" not in indexed.index


def test_strings_with_nan_for_missing_register_and_read_back(store):
    """`.astype(object)` of strings with NaN was refused: 'does not survive a round trip through
    Arrow' (NaN came back as None)."""
    frame = pd.DataFrame({"s": pd.Series(["a", np.nan, "c"], dtype=object),
                          "mixed": pd.Series([None, np.nan, "x"], dtype=object)})
    version = mc.dataset(frame, name="strings", project="p")
    back = version.load()
    assert back["s"].tolist()[0] == "a" and back["s"].tolist()[1] != back["s"].tolist()[1]  # NaN
    assert back["mixed"].tolist()[0] is None and back["mixed"].tolist()[1] != back["mixed"].tolist()[1]
    assert mc.fingerprint.hash_frame(back) == mc.fingerprint.hash_frame(frame)


def test_unrelated_flags_or_mostly_zero_columns_are_no_renames():
    """A reviewer's false renames: with rows added, two unrelated 3 %-True flags (or two columns of
    mostly zeros, or mostly NaN) shared 90 % of their values."""
    n = 200
    a = pd.DataFrame({"id": range(n), "is_fraud": RNG.random(n) < 0.03,
                      "zeros_a": np.where(RNG.random(n) < 0.05, RNG.integers(1, 9, n), 0)})
    b = pd.concat([a, a.iloc[:10]]).drop(columns=["is_fraud", "zeros_a"]).assign(
        is_returned=RNG.random(n + 10) < 0.03, zeros_b=np.where(RNG.random(n + 10) < 0.05, 3, 0))
    assert content_changes(a, b).renamed == ()


def test_numpy_nan_in_an_object_column_survives_the_round_trip(store):
    frame = pd.DataFrame({"s": pd.Series(["a", np.float64("nan"), "c"], dtype=object)})
    back = mc.dataset(frame, name="npnan", project="p").load()
    assert type(back["s"][1]) is np.float64
    assert mc.fingerprint.hash_frame(back) == mc.fingerprint.hash_frame(frame)
