"""Profiles, the statistical tests, and drift, against plain pandas/NumPy and SciPy."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlcontext.errors import MLContextError
from mlcontext.insight.drift import drift
from mlcontext.insight.stats import chi2_contingency, chi2_sf, ks_2samp, psi, wasserstein_1d
from mlcontext.tracking.profile import Profile, profile

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.fixture(scope="module")
def trips() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 50_000
    duration = rng.exponential(600, n)
    duration[rng.random(n) < 0.02] = -1  # canceled trips are logged with duration -1
    return pd.DataFrame({
        "duration": duration,
        "passengers": rng.integers(1, 5, n),
        "zone": pd.Categorical(rng.choice(["north", "south", "east"], n)),
        "vendor": rng.choice(["a", "b"], n).astype(object),
        "tip": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2, 1.5, n)),
        "pickup": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 30, n), unit="s"),
        "cash": rng.random(n) < 0.3,
    })


def test_profile_matches_pandas(trips):
    p = profile(trips, sample_size=10_000)
    assert p.rows == len(trips) and p.schema == {c: str(t) for c, t in trips.dtypes.items()}
    tip = p.columns["tip"]
    assert tip.count == len(trips) and tip.nulls == int(trips["tip"].isna().sum())
    assert tip.mean == pytest.approx(trips["tip"].mean()) and tip.std == pytest.approx(trips["tip"].std())
    assert (tip.min, tip.max) == (trips["tip"].min(), trips["tip"].max())
    assert p.columns["duration"].min == -1
    assert p.columns["passengers"].distinct == 4 and p.columns["zone"].distinct == 3
    assert set(p.columns["vendor"].top) == {"a", "b"} and p.columns["cash"].kind == "boolean"
    assert p.columns["pickup"].kind == "datetime" and p.columns["pickup"].min.startswith("2024-01-01")
    assert sum(p.columns["duration"].histogram["counts"]) == 10_000  # from the sample
    q = p.columns["duration"].quantiles
    assert q["0.5"] == pytest.approx(trips["duration"].median(), rel=0.05)


def test_distinct_estimate_is_close_for_high_cardinality():
    values = pd.Series(np.arange(300_000) * 7 % 1_000_003)
    estimate = profile(pd.DataFrame({"v": values})).columns["v"].distinct
    assert abs(estimate - 300_000) / 300_000 < 0.1


def test_profile_is_deterministic_and_json_round_trips(trips):
    a, b = profile(trips, sample_size=5000), profile(trips, sample_size=5000)
    assert a == b
    text = json.dumps(a.to_dict())
    assert Profile.from_dict(json.loads(text)) == a


def test_profile_edge_cases():
    empty = profile(pd.DataFrame({"x": pd.Series([], dtype=float), "s": pd.Series([], dtype=object)}))
    assert empty.rows == 0 and empty.columns["x"].count == 0 and empty.columns["x"].mean is None
    nan_only = profile(pd.DataFrame({"x": [np.nan, np.nan]}))
    assert nan_only.columns["x"].nulls == 2 and nan_only.columns["x"].min is None
    infinite = profile(pd.DataFrame({"x": [1.0, np.inf, -np.inf]}))
    assert (infinite.columns["x"].min, infinite.columns["x"].max) == (1.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200),
       st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200))
def test_ks_and_wasserstein_agree_with_scipy(a, b):
    a, b = np.array(a), np.array(b)
    stat, p = ks_2samp(a, b)
    assert stat == pytest.approx(scipy_stats.ks_2samp(a, b, method="asymp").statistic, abs=1e-12)
    assert 0.0 <= p <= 1.0
    assert wasserstein_1d(a, b) == pytest.approx(scipy_stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-6)


def test_ks_p_value_is_close_to_scipy_for_moderate_samples():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=2000), rng.normal(0.05, size=3000)
    assert ks_2samp(a, b)[1] == pytest.approx(scipy_stats.ks_2samp(a, b).pvalue, abs=0.02)


def test_the_kolmogorov_tail_matches_scipy_down_to_a_statistic_of_zero():
    # A newcomer's two 0/1 columns with proportions 0.0002 apart had p = 0.17 (SciPy: 1): below about
    # 1.2 the alternating series converges too slowly, and 100 of its terms were summed.
    from mlcontext.insight.stats import _kolmogorov_sf

    for lam in np.r_[np.linspace(1e-4, 3.0, 600), 1.18, np.nextafter(1.18, 0)]:
        assert _kolmogorov_sf(float(lam)) == pytest.approx(scipy_stats.kstwobign.sf(lam), abs=1e-12)
    a, b = np.r_[np.ones(300), np.zeros(189)], np.r_[np.ones(295), np.zeros(186)]
    assert ks_2samp(a, b)[1] == pytest.approx(1.0, abs=1e-9)
    # (drift tests a column of two values by chi-squared over its values, which agrees)
    row = drift(pd.DataFrame({"t": a}), pd.DataFrame({"t": b})).columns.loc["t"]
    assert row["test"] == "chi2" and row["p_value"] > 0.99 and not row["drifted"]


@pytest.mark.parametrize(("x", "dof"), [(0.5, 1), (3.0, 2), (10.0, 3), (200.0, 150), (1e-3, 7), (80.0, 5)])
def test_chi2_sf_matches_scipy(x, dof):
    assert chi2_sf(x, dof) == pytest.approx(scipy_stats.chi2.sf(x, dof), rel=1e-9, abs=1e-15)


def test_chi2_contingency_matches_scipy():
    a, b = np.array([10, 20, 30, 5]), np.array([12, 25, 20, 9])
    stat, p = chi2_contingency(a, b)
    expected = scipy_stats.chi2_contingency(np.vstack([a, b]), correction=False)
    assert (stat, p) == (pytest.approx(expected[0]), pytest.approx(expected[1]))


def test_psi_is_zero_for_equal_histograms_and_grows_with_shift():
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0, abs=1e-9)
    assert psi([30, 20, 10], [10, 20, 30]) > psi([30, 20, 10], [25, 20, 15]) > 0


def test_drift_finds_shifted_columns_and_schema_changes(trips):
    live = trips.copy()
    rng = np.random.default_rng(2)
    live["duration"] = live["duration"] * 1.6
    live["zone"] = pd.Categorical(rng.choice(["north", "south", "east"], len(live), p=[0.7, 0.2, 0.1]))
    live = live.drop(columns=["cash"]).assign(weather="rain")
    live["passengers"] = live["passengers"].astype(str)
    report = drift(trips, live)
    assert set(report.drifted) == {"duration", "zone"}
    assert report.added == ("weather",) and report.removed == ("cash",)
    assert list(report.retyped) == ["passengers"] and report.retyped["passengers"][0] == "int64"
    # (text that is all numbers against numbers is compared as numbers, the retype still said)
    assert report.verdict.startswith("schema changed: added weather (str), removed cash (bool), retyped "
                                     "passengers (int64 → str); drift in 2 of")
    assert report.columns.loc["passengers", "reason"].startswith("text read as numbers")
    assert json.loads(json.dumps(report.to_dict(), default=str))["verdict"] == report.verdict


def test_no_drift_between_halves_of_the_same_data(trips):
    shuffled = trips.sample(frac=1.0, random_state=0)
    half = len(trips) // 2
    report = drift(shuffled.iloc[:half], shuffled.iloc[half:])
    assert report.drifted == [] and report.verdict == f"no drift in {trips.shape[1]} columns"
    assert (report.columns["p_value"] > 0.001).all()


def test_drift_refuses_non_frames():
    with pytest.raises(MLContextError, match="needs DataFrames"):
        drift([1, 2], pd.DataFrame())
    assert math.isnan(ks_2samp(np.array([]), np.array([1.0]))[0])


def _psi_by_hand(a: np.ndarray, b: np.ndarray) -> float:
    """docs/drift.md's rule, written independently: a reference with at most 10 distinct values is
    binned value by value (each value one bin, and the gaps around them), else over its deciles."""
    values = sorted(set(a.tolist()))
    if len(values) <= 10 and len(a) >= 2 * len(values):
        def bin_of(x: float) -> int:
            below = sum(v < x for v in values)
            return 2 * below + (1 if x in values else 0)
        k = 2 * len(values) + 1
    else:
        inner = sorted(set(np.quantile(a, [q / 10 for q in range(1, 10)]).tolist()))

        def bin_of(x: float) -> int:
            return sum(e <= x for e in inner)
        k = len(inner) + 1
    pa = np.bincount([bin_of(x) for x in a], minlength=k) / len(a)
    pb = np.bincount([bin_of(x) for x in b], minlength=k) / len(b)
    pa, pb = np.clip(pa, 1e-6, None), np.clip(pb, 1e-6, None)
    return float(np.sum((pb - pa) * np.log(pb / pa)))


@pytest.mark.parametrize("case", ["flag", "counts", "new value between", "constant", "continuous", "ties",
                                  "few continuous draws"])
def test_psi_of_discrete_and_continuous_columns_follows_the_documented_bins(case):
    # A newcomer's 0/1 flag going from 25 % to 90 % ones had PSI 0: its deciles are 0 and 1, and the
    # bins left after dropping the lowest and the highest unique quantile were one. Peers:
    # ing-bank/probatus#112 (quantile bins of data with many ties merge) and #115 (an empty bin makes
    # PSI infinite: here it counts as 1e-6 of its side).
    rng = np.random.default_rng(3)
    a, b = {
        "flag": (np.r_[np.zeros(750), np.ones(250)], np.r_[np.zeros(100), np.ones(900)]),
        "counts": (np.repeat([1.0, 2, 3, 4, 5], 200),
                   np.r_[np.repeat([1.0, 2, 3], 200), np.repeat([5.0], 400)]),
        "new value between": (np.repeat([1.0, 2, 3], 100), np.repeat([1.0, 1.5, 3], 100)),
        "constant": (np.full(300, 3.0), np.full(300, 4.0)),
        "continuous": (rng.normal(size=600), rng.normal(0.3, 1.2, size=500)),
        "ties": (np.r_[np.zeros(400), rng.normal(size=200)], np.r_[np.zeros(100), rng.normal(size=500)]),
        # a reviewer's: 8 draws of one normal distribution against 10,000 more (no ties: deciles)
        "few continuous draws": (rng.normal(size=8), rng.normal(size=10_000)),
    }[case]
    got = drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b})).columns.loc["x", "psi"]
    assert got == pytest.approx(_psi_by_hand(a, b), rel=1e-9)
    if case == "few continuous draws":
        assert got < 2  # binned value by value it was 23
    elif case != "continuous":
        assert got > 0.5  # each a material change


def test_a_one_row_column_has_no_standard_deviation():
    """A newcomer's one-row version showed std 0.0 (no spread) where pandas gives NaN: it is None
    (what a profile says for "no value"), and count includes the nulls, as documented."""
    p = profile(pd.DataFrame({"x": [3.0], "y": [None]}))
    assert p.columns["x"].std is None
    assert p.columns["y"].count == 1 and p.columns["y"].nulls == 1
    two = profile(pd.DataFrame({"x": [1.0, 3.0]}))
    assert two.columns["x"].std == pytest.approx(pd.Series([1.0, 3.0]).std())
