"""Drift and profiles on messy data: labels, units, nulls, and a verdict that says why (issue 11, 6-10).

Peers with the same kinds of fault, kept here as small inputs of our own:
- Evidently #187 ("null handling in data drift check": nulls dropped before the test, so a column
  filling with nulls shows no drift) and #1480 (an empty column crashes the whole report);
- lux #202 and pandahouse #34 (``KeyError: '0'`` from integer column labels turned into text).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlcontext.errors import MLContextError
from mlcontext.insight.drift import DriftRule, drift, format_p
from mlcontext.tracking.profile import Profile, profile


def strict_json(data: object) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not RFC 8259 JSON: {constant}")

    return json.loads(json.dumps(data, allow_nan=False), parse_constant=refuse)


def test_integer_column_labels_are_compared_not_keyerror():
    a = pd.DataFrame(np.ones((5, 2)))
    b = pd.DataFrame(np.ones((5, 2)))
    report = drift(a, b)
    assert report.columns.index.tolist() == [0, 1] and report.drifted == []
    shifted = drift(pd.DataFrame(np.random.default_rng(0).normal(0, 1, (500, 2))),
                    pd.DataFrame(np.random.default_rng(1).normal(3, 1, (500, 2))))
    assert shifted.drifted == [0, 1]
    assert shifted.verdict in ("drift in 2 of 2 columns: 0, 1", "drift in 2 of 2 columns: 1, 0")
    assert strict_json(shifted.to_dict())["columns"][0]["column"] == 0


def test_timestamps_at_ns_and_us_resolution_are_the_same_data():
    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 30, 2000), unit="s")
    ns = pd.DataFrame({"t": pd.Series(stamps).astype("datetime64[ns]")})
    us = pd.DataFrame({"t": pd.Series(stamps).astype("datetime64[us]")})
    report = drift(ns, us)
    row = report.columns.loc["t"]
    assert row["statistic"] == 0.0 and not row["drifted"]
    assert report.retyped == {"t": ("datetime64[ns]", "datetime64[us]")}  # reported, and still compared
    assert "t" not in report.incomparable
    # The same instants in another time zone are the same data too.
    paris = pd.DataFrame({"t": ns["t"].dt.tz_localize("UTC").dt.tz_convert("Europe/Paris")})
    utc = pd.DataFrame({"t": ns["t"].dt.tz_localize("UTC")})
    assert drift(utc, paris).columns.loc["t", "statistic"] == 0.0
    # A real shift of the timestamps is seen, measured in seconds.
    later = pd.DataFrame({"t": us["t"] + pd.Timedelta(days=20)})
    shifted = drift(ns, later).columns.loc["t"]
    assert shifted["drifted"] and shifted["wasserstein"] == pytest.approx(20 * 86400)


def test_durations_in_different_units_are_compared_in_seconds():
    seconds = pd.DataFrame({"d": pd.to_timedelta(np.arange(100), unit="s")})
    millis = pd.DataFrame({"d": pd.to_timedelta(np.arange(100), unit="s").astype("timedelta64[ms]")})
    assert drift(seconds, millis).columns.loc["d", "statistic"] == 0.0


def test_a_column_that_becomes_all_null_is_drift():
    a = pd.DataFrame({"x": np.arange(10.0), "s": list("abcdeabcde")})
    b = pd.DataFrame({"x": [np.nan] * 10, "s": [None] * 10})
    report = drift(a, b)
    assert set(report.drifted) == {"x", "s"}
    row = report.columns.loc["x"]
    assert (row["null_fraction_a"], row["null_fraction_b"]) == (0.0, 1.0)
    assert "all values missing" in row["reason"] and "null fraction 0.0% → 100.0%" in row["reason"]
    # Even one row a side: losing every value is a break, not a question of significance.
    assert drift(a.iloc[:1], b.iloc[:1]).drifted == ["x", "s"]
    # A column all null on both sides has not drifted.
    assert drift(b, b).drifted == []


def test_a_column_filling_with_nulls_is_drift_though_the_rest_keeps_its_shape():
    # Evidently #187: the non-null values keep their distribution, only the null fraction moves.
    rng = np.random.default_rng(4)
    a = pd.DataFrame({"x": rng.normal(0, 1, 4000)})
    b = pd.DataFrame({"x": rng.normal(0, 1, 4000)})
    b.loc[b.sample(frac=0.3, random_state=1).index, "x"] = np.nan
    row = drift(a, b).columns.loc["x"]
    assert row["drifted"] and row["null_fraction_change"] == pytest.approx(0.3)
    assert not drift(a, b, null_threshold=0.5).columns.loc["x", "drifted"]


def test_columns_1_and_str_1_stay_apart_in_profiles_and_drift():
    frame = pd.DataFrame({1: [1.0, 2.0, 3.0], "1": ["a", "b", "a"]})
    p = profile(frame)
    assert list(p.columns) == [1, "1"]
    assert p.columns[1].kind == "numeric" and p.columns["1"].kind == "categorical"
    again = Profile.from_dict(strict_json(p.to_dict()))
    assert again == p and list(again.columns) == [1, "1"]
    report = drift(frame, frame.assign(**{"1": ["z", "z", "z"]}))
    assert report.columns.index.tolist() == [1, "1"] and report.columns.loc["1", "test"] == "chi2"


def test_profile_reads_the_older_form_keyed_by_name():
    p = profile(pd.DataFrame({"x": [1.0, 2.0]}))
    old = {"rows": 2, "columns": {"x": {k: v for k, v in p.to_dict()["columns"][0].items()
                                        if k != "label_type"}}}
    assert Profile.from_dict(old) == p


def test_integer_labels_written_to_csv_come_back_as_text_and_are_matched():
    a = pd.DataFrame(np.arange(20.0).reshape(10, 2))
    b = a.rename(columns=str)
    report = drift(a, b)
    assert report.relabeled == ((0, "0"), (1, "1")) and report.drifted == []
    assert "relabeled 0 → '0'" in report.verdict or "relabeled 0 → 0" in report.verdict


def test_schema_changes_are_named_with_both_dtypes():
    a = pd.DataFrame({"keep": [1, 2, 3], "gone": [1.0, 2.0, 3.0], "n": [1, 2, 3]})
    b = pd.DataFrame({"keep": [1, 2, 3], "n": [1.0, 2.0, None], "new": ["x", "y", "z"]})
    report = drift(a, b)
    assert report.added == ("new",) and report.removed == ("gone",)
    assert report.retyped == {"n": ("int64", "float64")}
    assert report.verdict.startswith(
        "schema changed: added new (str), removed gone (float64), retyped n (int64 → float64)")
    out = strict_json(report.to_dict())
    assert out["retyped"] == [{"column": "n", "a": "int64", "b": "float64", "compared": True}]
    assert out["rule"] == {"alpha": 0.05, "psi": 0.1, "ks": 0.1, "null": 0.1}


def test_the_verdict_explains_each_column_and_the_rule():
    rng = np.random.default_rng(5)
    a = pd.DataFrame({"x": rng.normal(0, 1, 300), "y": rng.normal(0, 1, 300)})
    b = pd.DataFrame({"x": rng.normal(0, 1, 300) * 1.5, "y": rng.normal(0, 1, 300)})
    report = drift(a, b)
    lines = report.explain()
    x_line = next(line for line in lines if line.startswith("x: "))
    assert x_line.startswith("x: drifted — distribution changed: ") and "p " in x_line
    assert any(line.startswith("y: no drift — no significant difference") for line in lines)
    assert lines[-1].startswith("rule: a column drifts when")


def test_small_p_values_are_printed_not_rounded_to_zero():
    rng = np.random.default_rng(6)
    a = pd.DataFrame({"x": rng.normal(0, 1, 1000)})
    b = pd.DataFrame({"x": rng.normal(0, 1, 1000) * 1.3})  # a scaled column: KS p about 2e-05
    p = drift(a, b).columns.loc["x", "p_value"]
    assert 0 < p < 1e-3
    assert format_p(4.6e-05) == "4.6e-05" and format_p(0.0) == "< 1e-300" and format_p(0.31) == "0.31"
    assert format_p(p) in " ".join(drift(a, b).explain())


def test_the_rule_is_configurable_and_validated():
    rng = np.random.default_rng(7)
    a = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    b = pd.DataFrame({"x": rng.normal(0.3, 1, 5000)})
    assert drift(a, b).drifted == ["x"]
    assert drift(a, b, rule=DriftRule(ks=0.5, psi=1.0)).drifted == []
    assert drift(a, b, rule=DriftRule(ks=0.5, psi=1.0), ks_threshold=0.01).drifted == ["x"]
    with pytest.raises(MLContextError, match="alpha"):
        drift(a, b, alpha=1.5)
    with pytest.raises(MLContextError, match="psi"):
        DriftRule(psi=-1)


def test_duplicated_labels_are_refused_clearly():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(MLContextError, match="duplicated"):
        drift(frame, frame)
    with pytest.raises(MLContextError, match="duplicated"):
        profile(frame)


def test_an_empty_column_does_not_break_the_report():
    # Evidently #1480: one empty column made the whole report fail.
    a = pd.DataFrame({"x": [1.0, 2.0, 3.0], "e": pd.Series([None] * 3, dtype="float64")})
    report = drift(a, a)
    assert report.drifted == [] and math.isnan(report.columns.loc["e", "statistic"])
    assert "no values" in report.columns.loc["e", "reason"]
    strict_json(report.to_dict())
