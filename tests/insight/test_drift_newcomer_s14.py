"""What changed between two versions of the data: a newcomer's wrong answers (session 14) and peers' kinds.

1. ``±inf`` were dropped silently: 30 % of a column becoming ``+inf`` was "no drift" (KS 0.014);
2. a table emptied to no rows (or filled from none) was "no drift in 3 columns";
3. near-unique text (dates written as text, e-mails) was judged by chi-squared/PSI over categories seen
   once: PSI 2.5 for two samples of one distribution, p 0.49 for samples with no value in common;
4. ``bool`` then ``0/1`` was "retyped, not compared", hiding a churn rate going from 20 % to 60 %;
5. ``mc.diff`` of the same rows reordered or re-indexed said "no drift" and nothing else;
6. docs/drift.md's "differs slightly" from SciPy's KS p-value was not a bound (kept here);
7. a column that only had ``None`` assigned was "retyped town (str -> object)": noise.

Peers' failure kinds, as small inputs of our own: whylogs/whylogs#492 (chi-squared of two samples of
different sizes with the same proportions called drift), evidentlyai/evidently#1929 (a constant column's
p-value is NaN), NannyML/nannyml#171 (a 0/1 flag judged as a continuous column), NannyML/nannyml#292
(high-cardinality text taken for numbers), capitalone/datacompy#399 (the same rows reordered reported
unequal) and capitalone/datacompy#7 (duplicate rows not counted), Data-Centric-AI-Community/
fg-data-profiling#397 (infinite values mishandled in a profile).
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.insight.diff import content_changes
from mlcontext.insight.drift import drift
from mlcontext.insight.stats import ks_and_wasserstein, wasserstein_1d


def _row(reference: pd.DataFrame, current: pd.DataFrame, column: str) -> pd.Series:
    return drift(reference, current).columns.loc[column]


# 1. infinities ------------------------------------------------------------------------------------------

def test_a_column_turning_to_inf_has_drifted_and_the_reason_says_so():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    y = x.copy()
    y[:300] = np.inf
    row = _row(pd.DataFrame({"ratio": x}), pd.DataFrame({"ratio": y}), "ratio")
    assert row["drifted"] and row["statistic"] == pytest.approx(0.3)  # SciPy's ks_2samp: D 0.30
    assert row["psi"] > 0.1  # the infinities sit in the top decile bin
    assert "+inf 0.0% → 30.0% of the values" in row["reason"]
    assert row["null_fraction_b"] == 0.0  # an infinity is a value, not a null
    # The Wasserstein distance is that of the finite values (700 of them equal on both sides).
    assert math.isfinite(row["wasserstein"])
    assert row["wasserstein"] == pytest.approx(wasserstein_1d(x, y[np.isfinite(y)]))


def test_minus_inf_goes_to_the_bottom_bin_and_a_few_infinities_are_not_drift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    low = x.copy()
    low[:400] = -np.inf
    row = _row(pd.DataFrame({"v": x}), pd.DataFrame({"v": low}), "v")
    assert row["drifted"] and "-inf 0.0% → 20.0%" in row["reason"]
    # Three infinities in 300 rows move the CDFs by 0.01: not significant, but named.
    few = np.r_[rng.normal(size=297), [np.inf] * 3]
    quiet = _row(pd.DataFrame({"v": rng.normal(size=300)}), pd.DataFrame({"v": few}), "v")
    assert not quiet["drifted"] and "+inf 0.0% → 1.0%" in quiet["reason"]


def test_infinities_kept_on_both_sides_are_no_drift():
    # fg-data-profiling#397 kind: infinite values broke the statistics; here they are values like any.
    rng = np.random.default_rng(2)
    a = np.r_[rng.normal(size=900), [np.inf] * 100]
    b = np.r_[rng.normal(size=900), [np.inf] * 100]
    row = _row(pd.DataFrame({"v": a}), pd.DataFrame({"v": b}), "v")
    assert not row["drifted"] and row["statistic"] < 0.1 and math.isfinite(row["wasserstein"])
    assert "→" not in row["reason"]  # the share of +inf did not change: nothing to say about it


def test_ks_and_wasserstein_with_infinities_matches_scipy_and_stays_finite():
    a = np.array([0.0, 1.0, 2.0, np.inf, -np.inf, 3.0])
    b = np.array([0.5, 1.5, np.inf, np.inf, np.inf, 2.5, 3.5])
    d, p, w = ks_and_wasserstein(a, b)
    # The two empirical CDFs' largest gap, written out (recent SciPy's ks_2samp gives the same; older
    # SciPy, the oldest supported, returns NaN for samples with infinities)
    both = np.sort(np.concatenate([a, b]))
    gap = np.abs(np.searchsorted(np.sort(a), both, "right") / a.size
                 - np.searchsorted(np.sort(b), both, "right") / b.size)
    assert d == pytest.approx(gap.max())
    assert 0 <= p <= 1 and w == pytest.approx(wasserstein_1d(a[np.isfinite(a)], b[np.isfinite(b)]))


# 2. emptied tables ---------------------------------------------------------------------------------------

@pytest.fixture
def base() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"n": rng.integers(0, 9, 500), "x": rng.normal(size=500),
                         "s": rng.choice(["a", "b", "c"], 500)})


def test_a_table_emptied_to_no_rows_lost_all_its_values(base):
    report = drift(base, base.iloc[:0])
    assert report.drifted == ["n", "x", "s"]
    assert report.verdict.startswith("the current table has no rows (500 → 0); drift in 3 of 3 columns")
    assert all("all values lost" in r for r in report.columns["reason"])
    back = drift(base.iloc[:0], base)
    assert back.drifted == ["n", "x", "s"] and back.verdict.startswith("the reference table has no rows")
    assert drift(base.iloc[:0], base.iloc[:0]).drifted == []  # nothing on either side: nothing changed
    json.dumps(report.to_dict(), allow_nan=False)


def test_a_header_only_csv_after_a_csv_with_rows_is_drift_not_a_retype():
    full = pd.read_csv(io.StringIO("n,x,s\n1,2.5,a\n2,3.5,b\n3,4.5,c\n"))
    header = pd.read_csv(io.StringIO("n,x,s\n"))  # every column object: the reader saw no values
    report = drift(full, header)
    assert report.drifted == ["n", "x", "s"] and report.retyped == {} and report.incomparable == ()


def test_a_column_of_none_is_not_retyped_noise():
    towns = pd.DataFrame({"town": ["Lyon", "Nice", "Metz"], "k": [1, 2, 3]})
    report = drift(towns, towns.assign(town=None))
    assert report.retyped == {} and "retyped" not in report.verdict
    assert report.drifted == ["town"] and "all values missing" in report.columns.loc["town", "reason"]


# 3. text dates and near-unique text ----------------------------------------------------------------------

def _signups(shift_days: int) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, 2000), unit="D")
    return pd.Series(days), pd.Series(days + pd.Timedelta(days=shift_days))


@pytest.mark.parametrize("shift_days", [0, 30, 200])
def test_a_date_column_read_from_csv_gets_the_verdict_of_the_same_column_as_dates(shift_days):
    before, after = _signups(shift_days)
    as_dates = _row(pd.DataFrame({"d": before}), pd.DataFrame({"d": after}), "d")
    as_text = _row(pd.DataFrame({"d": before.astype(str)}), pd.DataFrame({"d": after.astype(str)}), "d")
    assert as_text["drifted"] == as_dates["drifted"] == (shift_days == 200)
    assert as_text["kind"] == "datetime" and as_text["statistic"] == as_dates["statistic"]
    assert as_text["reason"].startswith("text read as dates; ")
    # A text date column against a datetime64 one (CSV against parquet) is compared too.
    mixed = drift(pd.DataFrame({"d": before.astype(str)}), pd.DataFrame({"d": after}))
    assert mixed.incomparable == () and mixed.columns.loc["d", "statistic"] == as_dates["statistic"]


def test_text_that_is_not_all_dates_stays_text():
    dates = pd.Series(pd.date_range("2021-01-01", periods=60, freq="D")).astype(str)
    odd = dates.copy()
    odd.iloc[0] = "2021-02-30"  # looks like a date, is none
    row = _row(pd.DataFrame({"d": dates}), pd.DataFrame({"d": odd}), "d")
    assert row["kind"] == "categorical" and "read as" not in row["reason"]


def test_text_durations_are_compared_as_durations():
    rng = np.random.default_rng(4)
    spans = pd.Series(pd.to_timedelta(rng.integers(0, 10_000, 400), unit="s"))
    row = _row(pd.DataFrame({"t": spans.astype(str)}), pd.DataFrame({"t": (spans * 2).astype(str)}), "t")
    assert row["kind"] == "timedelta" and row["drifted"]
    assert row["reason"].startswith("text read as durations")


def test_near_unique_identifiers_are_not_compared_and_their_overlap_is_said():
    e1 = pd.DataFrame({"email": [f"u{i}@x" for i in range(1000)]})
    e2 = pd.DataFrame({"email": [f"v{i}@x" for i in range(1000)]})
    row = _row(e1, e2, "email")
    assert not row["drifted"] and row["test"] == "none" and math.isnan(row["p_value"])
    assert "near-unique values (identifiers?)" in row["reason"] and "0 in common" in row["reason"]
    half = pd.DataFrame({"email": [f"u{i}@x" for i in range(500, 1500)]})
    assert "500 in common (50.0% of the current rows" in _row(e1, half, "email")["reason"]


def test_near_unique_numbers_written_as_text_are_compared_as_numbers():
    rng = np.random.default_rng(5)
    amounts = rng.gamma(2, 10, 1000).round(4)
    same = _row(pd.DataFrame({"a": amounts.astype(str)}),
                pd.DataFrame({"a": rng.gamma(2, 10, 1000).round(4).astype(str)}), "a")
    assert same["kind"] == "numeric" and not same["drifted"]  # (PSI over categories was about 12)
    more = _row(pd.DataFrame({"a": amounts.astype(str)}),
                pd.DataFrame({"a": (amounts * 1.5).astype(str)}), "a")
    assert more["drifted"] and more["reason"].startswith("near-unique text read as numbers")


def test_high_cardinality_text_that_is_not_numbers_is_never_read_as_numbers():
    # NannyML#292: many distinct values made text be taken for numbers (and the drift NaN).
    codes = [f"{i:05d}" for i in range(600)]
    postcodes = pd.DataFrame({"p": codes})
    mixed = pd.DataFrame({"p": codes[:-1] + ["SW1A 1AA"]})
    row = _row(postcodes, mixed, "p")
    assert row["kind"] == "categorical" and row["test"] == "none" and "599 in common" in row["reason"]


def test_a_category_filled_with_identifiers_is_still_drift():
    # Near-unique on one side only: the change of cardinality is itself what the test must see.
    rng = np.random.default_rng(6)
    levels = pd.DataFrame({"z": rng.choice(["a", "b", "c"], 1000)})
    ids = pd.DataFrame({"z": [f"id{i}" for i in range(1000)]})
    assert _row(levels, ids, "z")["drifted"]


# 4. bool and 0/1 -----------------------------------------------------------------------------------------

def test_a_flag_stored_as_bool_then_as_0_1_is_still_compared():
    # NannyML#171: a 0/1 flag judged as a continuous column; here bool and 0/1 are one flag.
    rng = np.random.default_rng(7)
    before = pd.DataFrame({"churn": rng.random(1000) < 0.2})
    after = pd.DataFrame({"churn": (rng.random(1000) < 0.6).astype(int)})
    report = drift(before, after)
    assert report.retyped == {"churn": ("bool", "int64")} and report.incomparable == ()
    assert report.drifted == ["churn"] and "0/1 read as False/True" in report.columns.loc["churn", "reason"]
    steady = pd.DataFrame({"churn": np.where(rng.random(1000) < 0.2, 1.0, 0.0)})
    steady.loc[:9, "churn"] = np.nan  # (an int column with a NaN is a float column)
    assert drift(before, steady).columns.loc["churn", "kind"] == "categorical"
    assert drift(before, steady).drifted == []
    counts = pd.DataFrame({"churn": rng.integers(0, 3, 1000)})  # 0, 1 and 2: not a flag
    assert drift(before, counts).incomparable == ("churn",)


# 5. what distributions cannot see ------------------------------------------------------------------------

@pytest.fixture
def trips() -> pd.DataFrame:
    return pd.DataFrame({"id": [10, 11, 12, 13, 14, 15], "zone": list("nsenss"),
                         "fare": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})


def test_the_same_rows_reordered_or_reindexed_are_said(trips):
    # datacompy#399: the same rows in another order were reported unequal.
    shuffled = trips.sample(frac=1.0, random_state=1)
    changes = content_changes(trips, shuffled)
    assert (changes.unchanged, changes.removed, changes.added, changes.reordered) == (6, 0, 0, True)
    assert changes.index == "the same labels in a new order" and changes.index_changed
    renumbered = content_changes(trips, shuffled.reset_index(drop=True))
    assert renumbered.lines() == ["the same rows in a new order"] and not renumbered.index_changed
    keyed = content_changes(trips, trips.set_index("id"))
    assert keyed.index_names == ([None], ["id"]) and "column id became the index" in keyed.index
    assert content_changes(trips, trips.copy()).lines() == []


def test_rows_are_counted_by_content_as_a_multiset(trips):
    # datacompy#7: duplicate rows were not counted.
    edited = trips.copy()
    edited.loc[2, "zone"] = "w"
    edited = pd.concat([edited, edited.iloc[[0]]], ignore_index=True)
    changes = content_changes(trips, edited)
    assert (changes.unchanged, changes.removed, changes.added) == (5, 1, 2)
    assert changes.duplicates == (0, 1)
    assert changes.levels == {"zone": {"new": 1, "vanished": 1, "new_examples": ["w"],
                                       "vanished_examples": ["e"]}}
    # By meaning: an int column stored as floats (and as nullable Int64) holds the same rows.
    assert content_changes(trips, trips.astype({"id": "Int64", "fare": "float32"})).lines() == []


def test_a_renamed_column_is_a_rename_candidate(trips):
    changes = content_changes(trips, trips.rename(columns={"fare": "fare_usd"}))
    assert changes.renamed == (("fare", "fare_usd"),)
    assert "rename candidate: fare -> fare_usd (the same values row by row)" in changes.lines()
    emptied = content_changes(trips.assign(gone=None), trips.assign(new=None))
    assert emptied.renamed == ()  # two columns with no values are not "identical"


def test_mc_diff_of_two_versions_says_what_changed_in_the_rows(store, trips):
    mc.dataset(trips, "trips", project="s14")
    mc.dataset(trips.iloc[::-1].reset_index(drop=True), "trips", project="s14")
    result = mc.diff("trips@1", "trips@2", project="s14")
    assert result.content is not None and result.content.reordered
    assert "the same rows in a new order" in result.summary and "no drift" in result.summary
    assert "  the same rows in a new order" in str(result).splitlines()
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["content"]["reordered"] and data["content"]["unchanged"] == 6
    from mlcontext.cli.main import cli

    out = CliRunner().invoke(cli, ["diff", "trips@1", "trips@2", "-p", "s14", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["content"]["lines"] == ["the same rows in a new order"]


# 6. the KS p-value against SciPy's exact one --------------------------------------------------------------

@pytest.mark.parametrize(("n", "m", "bound"), [(20, 20, 0.045), (100, 100, 0.02), (50, 400, 0.005)])
def test_the_ks_p_value_is_within_the_documented_distance_of_scipys_exact(n, m, bound):
    scipy_stats = pytest.importorskip("scipy.stats")
    from mlcontext.insight.stats import ks_2samp

    rng = np.random.default_rng(n * m)
    seen = 0
    for _ in range(150):
        a, b = rng.normal(size=n), rng.normal(rng.uniform(0, 2.5 / math.sqrt(n)), size=m)
        exact = scipy_stats.ks_2samp(a, b, method="exact").pvalue
        if 0.005 <= exact <= 0.2:  # where a verdict at alpha 0.05 is decided
            seen += 1
            assert abs(ks_2samp(a, b)[1] - exact) <= bound
    assert seen >= 20


# peers ----------------------------------------------------------------------------------------------------

def test_same_proportions_in_samples_of_different_sizes_are_no_drift():
    # whylogs#492: chi-squared of 500/100 against 250/50 said drift (p 1.7e-34); the proportions are equal.
    a = pd.DataFrame({"quality": ["bad"] * 500 + ["good"] * 100})
    b = pd.DataFrame({"quality": ["bad"] * 250 + ["good"] * 50})
    row = _row(a, b, "quality")
    assert row["p_value"] == pytest.approx(1.0) and row["psi"] == pytest.approx(0.0, abs=1e-12)
    assert not row["drifted"]


def test_a_constant_column_has_p_one_not_nan():
    # evidently#1929: a single-category column got p = NaN, and the share of drifted columns with it.
    same = pd.DataFrame({"flag": ["0"] * 50, "k": [3.0] * 50})
    report = drift(same, same.copy())
    assert report.columns["p_value"].tolist() == [1.0, 1.0] and report.drifted == []
    moved = drift(same, pd.DataFrame({"flag": ["1"] * 50, "k": [4.0] * 50}))
    assert moved.drifted == ["flag", "k"]
