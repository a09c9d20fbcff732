"""The lineage of a realistic cleaning pipeline reads as the transformations a person would describe,
and the pipeline replays from its log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas_data import make_trips, make_zones

import mlcontext as mc


def clean(trips: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    """The pipeline, written once, run on plain and on traced frames."""
    trips = trips[trips.duration >= 0]  # canceled trips are logged with duration -1
    trips = trips.dropna(subset=["fare"])
    trips["payment"] = trips.payment.str.strip().str.lower()
    trips["speed"] = trips.distance / (trips.duration / 3600)
    trips = trips.merge(zones, on="zone", how="left")
    summary = trips.groupby("borough").agg(trips=("fare", "count"), mean_fare=("fare", "mean"),
                                           mean_speed=("speed", "mean"))
    return summary.sort_values("trips", ascending=False)


def test_taxi_lineage_reads_as_the_pipeline(tmp_path: Path) -> None:
    trips, zones = make_trips(500, seed=3), make_zones()
    trips.to_csv(tmp_path / "trips.csv", index=False)
    plain = clean(pd.read_csv(tmp_path / "trips.csv"), zones)

    traced = clean(mc.read_csv(tmp_path / "trips.csv"), mc.frame(zones, name="zones"))
    pd.testing.assert_frame_equal(traced.to_pandas(), plain)
    assert mc.pd.transformations(traced) == [
        "read_csv trips.csv",
        "filter duration >= 0",
        "dropna subset=['fare']",
        "set 'payment' = payment.strip().lower()",
        "set 'speed' = distance / (duration / 3600)",
        "merge zones how='left' on='zone'",
        "groupby 'borough' agg trips=('fare', 'count') mean_fare=('fare', 'mean') "
        "mean_speed=('speed', 'mean')",
        "sort_values 'trips' ascending=False",
    ]
    opcodes = [i.opcode for i in mc.lineage.walk(traced.lineage)]
    assert opcodes[0] == "pandas.read_csv" and opcodes[-1] == "pandas.DataFrame.sort_values"
    assert "pandas.data" in opcodes  # the zones table is a leaf of its own

    text = mc.lineage.dumps(traced)
    again = mc.lineage.recompute(text, inputs={"trips.csv": tmp_path / "trips.csv", "zones": zones})
    pd.testing.assert_frame_equal(again, plain)


def test_to_numpy_hands_over_to_traced_numpy() -> None:
    trips = mc.frame(make_trips(), name="trips")
    x = trips[trips.duration >= 0][["distance", "duration"]].to_numpy()
    assert isinstance(x, mc.TracedArray)
    assert x.lineage.opcode == "pandas.DataFrame.to_numpy"
    assert x.lineage.inputs[0].opcode == "pandas.DataFrame.__getitem__"
    centred = (x - x.mean(axis=0)) / x.std(axis=0)
    assert centred.lineage.opcode == "numpy.divide"
    raw = make_trips()
    expected = raw[raw.duration >= 0][["distance", "duration"]].to_numpy()
    expected = (expected - expected.mean(axis=0)) / expected.std(axis=0)
    got = mc.lineage.recompute(mc.lineage.dumps(centred), inputs={"trips": raw})
    np.testing.assert_array_equal(got, expected)


def test_same_cleaning_twice_is_the_same_lineage() -> None:
    zones = mc.frame(make_zones(), name="zones")
    a = clean(mc.frame(make_trips(), name="monday"), zones)
    b = clean(mc.frame(make_trips(), name="again"), zones)
    c = clean(mc.frame(make_trips(seed=1), name="other"), zones)
    assert a.lineage.hash == b.lineage.hash != c.lineage.hash


def test_cleaning_again_is_reused_from_the_cache() -> None:
    zones = make_zones()
    with mc.reuse("full"), mc.reuse_events() as events:
        mc.reuse_clear()
        first = clean(mc.frame(make_trips(2000), name="trips"), mc.frame(zones, name="zones"))
        second = clean(mc.frame(make_trips(2000), name="trips"), mc.frame(zones, name="zones"))
    pd.testing.assert_frame_equal(first.to_pandas(), second.to_pandas())
    kinds = [e.kind for e in events if e.name == "pandas.DataFrame.groupby.agg"]
    assert kinds == ["computed", "reused"]
    reused = {e.name for e in events if e.kind == "reused"}
    assert {"pandas.DataFrame.merge", "pandas.DataFrame.sort_values"} <= reused


def test_windows_on_groups_and_deferred_calls_read_as_pandas_code():
    # A newcomer's `set 'roll_amt' = ….transform(('customer_id',), {}, 'amount', lambda …)` showed the
    # internal arguments, and a groupby rolling window was not traced at all.
    df = pd.DataFrame({"id": [1, 1, 2, 2, 1], "x": [1.0, 3.0, 2.0, 5.0, 0.5]})
    t = mc.frame(df, name="df")
    t["top"] = t.groupby("id")["x"].transform("max")
    t["roll"] = t.groupby(["id"], sort=False)["x"].rolling(window=2, min_periods=1).max() \
        .reset_index(level=0, drop=True)
    steps = mc.pd.transformations(t)
    assert steps[-2] == "set 'top' = df.groupby('id')['x'].transform('max')"
    assert steps[-1] == ("set 'roll' = df.__setitem__('top', …).groupby(['id'], sort=False)['x']"
                         ".rolling({'window': 2, 'min_periods': 1}).max().reset_index()")
    window = t.groupby("id")["x"].ewm(alpha=0.5).mean()
    assert mc.pd.transformations(window)[-1] == "groupby 'id' ['x'] ewm alpha=0.5 mean"
    assert mc.pd.transformations(t.rename(columns={"x": "a", "id": "b"}))[-1] == \
        "rename columns={'x': 'a', 'id': 'b'}"


def test_a_concatenation_names_every_frame_it_joined():
    # A newcomer's three monthly files read as ['read_csv orders_01', 'concat']: the other months and
    # how they were cut were named nowhere in the transformations.
    a = mc.frame(pd.DataFrame({"k": [1, 2], "x": [1.0, 2.0]}), name="orders_01")
    b = mc.frame(pd.DataFrame({"k": [3], "x": [3.0]}), name="orders_02")
    joined = mc.pd.concat([a, b[b.x > 0], b.iloc[:1], b.loc[b.x > 0, ["k"]]], ignore_index=True)
    assert mc.pd.transformations(joined)[-1] == (
        "concat [orders_01, orders_02[x > 0], orders_02.iloc[:1], orders_02.loc[x > 0, ['k']]] "
        "ignore_index=True")
