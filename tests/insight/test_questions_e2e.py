"""The context questions end to end, from the scenarios of the "Context" paper (Garcia et al., 2018).

Taxi-like trips (canceled trips logged with duration -1) and a zones table; several people, simulated
through the login name the run environment reads (``LOGNAME``/``USER``); each test on SQLite and
PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.tree import DecisionTreeRegressor

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.errors import TestSetOveruseWarning
from mlcontext.insight.diff import DatasetDiff, ModelDiff

FEATURES = ["duration", "distance", "zone"]


def trips_frame(n: int = 2000, seed: int = 0, *, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    duration = rng.exponential(600, n) * (1 + shift)
    duration[rng.random(n) < 0.1] = -1.0  # canceled trips
    distance = rng.gamma(2, 1.5 + shift, n)
    return pd.DataFrame({
        "duration": duration,
        "distance": distance,
        "zone": rng.integers(1, 4, n),
        "payment": rng.choice(["card", "cash"], n, p=[0.7 - shift / 3, 0.3 + shift / 3]),
        "fare": 2.5 + 2.0 * distance + rng.normal(0, 1, n),
    })


ZONES = pd.DataFrame({"zone": [1, 2, 3], "borough": ["Manhattan", "Queens", "Bronx"]})


@pytest.fixture
def as_user(monkeypatch):
    """``as_user("alice")``: runs started afterwards belong to alice (getpass reads LOGNAME first)."""
    def switch(name: str) -> None:
        monkeypatch.setenv("LOGNAME", name)
        monkeypatch.setenv("USER", name)
    return switch


def clean(version: mc.DatasetVersion):
    t = version.frame()
    t = t[t.duration >= 0]
    return t.merge(mc.frame(ZONES, name="zones"), on="zone")


def train(frame: pd.DataFrame, model):
    plain = getattr(frame, "_value", frame)
    return model.fit(plain[FEATURES].to_numpy(), plain["fare"].to_numpy())


def cli_json(*args: str):
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_derivation_of_a_model_back_to_raw_trips(store, as_user):
    as_user("alice")
    with mc.run("clean", project="taxi") as cleaning:
        raw = mc.dataset(trips_frame(), "trips", role="train")
        cleaned = mc.dataset(clean(raw), "trips-clean", role="train")
    as_user("bob")
    with mc.run("train", project="taxi") as training:
        data = mc.dataset_version("trips-clean").load()
        mc.artifact("model", train(data, Ridge(alpha=1.0)))

    graph = mc.derivation(f"{training.id}:model")
    labels = set(graph.nodes["label"])
    assert {"trips@1", "trips-clean@1"} <= labels
    assert graph.nodes.set_index("label").loc["trips@1", "depth"] == 2
    step = graph.edges[graph.edges["dst"] == cleaned.artifact_hash]
    lineage = step[step["kind"] == "lineage"].iloc[0]
    assert lineage["run_id"] == cleaning.id and lineage["user"] == "alice"
    assert "filter duration >= 0" in lineage["operations"]
    assert any(op.startswith("merge zones") for op in lineage["operations"])
    assert set(graph.edges["user"]) == {"alice", "bob"}
    assert "git_commit" in graph.edges.columns
    dot = graph.to_dot()
    assert dot.startswith("digraph") and raw.artifact_hash in dot and '"trips@1"' in dot
    assert lineage["operations"] == ["filter duration >= 0", "merge zones on='zone'"]  # the mask is in it

    data = cli_json("lineage", f"{training.id}:model")
    assert {n["label"] for n in data["nodes"]} >= {"trips@1", "trips-clean@1"}
    assert data["direction"] == "upstream"
    dataset_lineage = cli_json("lineage", "trips-clean@1")
    assert {n["label"] for n in dataset_lineage["nodes"]} >= {"trips@1", "trips-clean@1"}


def test_versions_over_time_and_find(store, as_user):
    for i, (user, alpha) in enumerate([("alice", 0.1), ("bob", 1.0), ("bob", 10.0), ("carol", 5.0)]):
        as_user(user)
        with mc.run("train", project="taxi"):
            a = mc.param("alpha", alpha)
            version = mc.dataset(trips_frame(seed=i // 2), "trips", role="train")  # v1, v1, v2, v2
            model = train(version.load(), Ridge(alpha=a))
            mc.log("r2", 0.5 + alpha / 100)
            mc.artifact("model", model)

    table = mc.versions("trips")  # newest first, as every listing
    assert table["version"].tolist() == [2, 1]
    assert table["user"].tolist() == ["bob", "alice"]
    assert (table["rows"] == 2000).all() and (table["columns"] == 5).all()
    assert table["created"].is_monotonic_decreasing

    found = mc.find(params=["alpha>=1"], metrics=["r2>0.5"], data="trips@2")
    assert sorted(found["param.alpha"]) == [5.0, 10.0]
    assert mc.find(params=["alpha>=1"], data="trips@2", user="bob")["param.alpha"].tolist() == [10.0]
    assert mc.find(data="trips@1", user="carol").empty
    assert len(mc.find(data="trips")) == 4
    assert [r["version"] for r in cli_json("versions", "trips")] == [2, 1]
    assert len(cli_json("find", "--data", "trips@2", "--user", "carol")) == 1


def test_drift_of_training_data_against_live_data(store, as_user):
    as_user("alice")
    train_data = trips_frame(4000, seed=1)
    with mc.run("train", project="taxi"):
        mc.dataset(train_data, "trips-train", role="train")
    as_user("bob")
    with mc.run("monitor", project="taxi"):
        mc.dataset(trips_frame(4000, seed=2, shift=0.5), "trips-live", role="live")  # the city changed
        mc.dataset(trips_frame(4000, seed=3), "trips-live", role="live")  # a calm week, v2

    report = mc.drift("trips-train@1", "trips-live@1")
    assert {"duration", "distance", "payment", "fare"} <= set(report.drifted)
    assert "zone" not in report.drifted
    assert not report.schema_changed and report.verdict.startswith("drift in")
    calm = mc.drift("trips-train@1", "trips-live@2")
    assert calm.drifted == [] and calm.verdict == "no drift in 5 columns"
    assert cli_json("drift", "trips-train@1", "trips-live@1")["verdict"] == report.verdict


def test_impact_of_an_upstream_fix(store, as_user):
    as_user("alice")
    with mc.run("clean", project="taxi"):
        raw = mc.dataset(trips_frame(), "trips", role="train")
        cleaned = mc.dataset(clean(raw), "trips-clean")
    as_user("bob")
    with mc.run("train", project="taxi") as training:
        model = train(mc.dataset_version("trips-clean@1").load(), Ridge())
        model_ref = mc.artifact("model", model)
    as_user("carol")
    with mc.run("score", project="taxi") as scoring:
        mc.dataset_version("trips-clean@1").load()
        mc.artifact("predictions", np.zeros(3))
    as_user("dave")
    with mc.run("unrelated", project="taxi"):
        mc.dataset(trips_frame(100, seed=9), "other")

    graph = mc.consumers("trips@1")  # trips@1 had canceled trips with a bogus fare: who is affected?
    hashes = set(graph.nodes["hash"])
    assert {raw.artifact_hash, cleaned.artifact_hash, model_ref.hash} <= hashes
    labels = set(graph.nodes["label"])
    assert "trips-clean@1" in labels and any(label.startswith("predictions") for label in labels)
    assert {training.id, scoring.id} <= set(graph.readers["run_id"])
    assert {"bob", "carol"} <= set(graph.readers["user"])
    assert "dave" not in set(graph.readers["user"])

    fixed_model = mc.consumers(f"{training.id}:model")  # the model itself fixed: nothing read it
    assert set(fixed_model.nodes["hash"]) == {model_ref.hash}
    data = cli_json("impact", "trips@1")
    assert {r["user"] for r in data["readers"]} >= {"bob", "carol"}


def test_history_counts_runs_and_people(store, as_user):
    for i, user in enumerate(["alice", "alice", "bob", "carol", "bob"]):
        as_user(user)
        with mc.run("clean", project="taxi"):
            raw = mc.dataset(trips_frame(seed=i % 2), "trips", role="train")
            t = raw.frame()
            t = t[t.duration >= 0]
            if user == "carol":
                t = t.dropna()
            mc.dataset(t, f"trips-clean-{i}")

    table = mc.history("trips").set_index("transformation")
    row = table.loc["filter duration >= 0"]
    assert row["runs"] == 5 and row["people"] == 3
    assert row["users"] == ["alice", "bob", "carol"]
    assert row["versions"] == ["trips@1", "trips@2"]
    assert table.loc["dropna", "runs"] == 1 and table.loc["dropna", "users"] == ["carol"]
    assert table.index[0] == "filter duration >= 0"
    assert cli_json("history", "trips")[0]["transformation"] == "filter duration >= 0"


def test_tried_lists_past_designs_best_first(store, as_user):
    designs = [("alice", Ridge(alpha=10.0)), ("bob", LinearRegression()),
               ("carol", DecisionTreeRegressor(max_depth=2)), ("bob", DecisionTreeRegressor(max_depth=6))]
    test = trips_frame(500, seed=5)
    test = test[test.duration >= 0]
    for user, model in designs:
        as_user(user)
        with mc.run("design", project="taxi"):
            mc.param("estimator", type(model).__name__)
            data = mc.dataset(trips_frame(), "trips", role="train").load()
            train(data[data.duration >= 0], model)
            mc.log("r2", model.score(test[FEATURES].to_numpy(), test["fare"].to_numpy()))
            mc.artifact("model", model)

    table = mc.tried(dataset="trips", metric="r2")
    assert len(table) == 4 and table["r2"].is_monotonic_decreasing
    assert set(table["user"]) == {"alice", "bob", "carol"}
    assert (table["version"] == "trips@1").all()
    assert table.iloc[-1]["model"].endswith("DecisionTreeRegressor")
    assert table.iloc[-1]["model_params"]["max_depth"] == 2
    worst_first = mc.tried(dataset="trips", metric="r2", mode="min")
    assert worst_first["r2"].is_monotonic_increasing
    assert [r["run_id"] for r in cli_json("tried", "--dataset", "trips", "--metric", "r2")] == \
        table["run_id"].tolist()


def test_test_set_evaluated_thirty_times(store, as_user):
    test = trips_frame(300, seed=7)
    users = ["alice", "bob", "carol"]
    for i in range(30):
        as_user(users[i % 3])
        with mc.run("select", project="taxi"):
            if i < 10:
                mc.dataset(test, "trips-test", role="test")
            else:
                with pytest.warns(TestSetOveruseWarning, match=r"trips-test@1.* \d+ runs .*by 3 people"):
                    mc.dataset(test, "trips-test", role="test")
    table = mc.testuse()
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["dataset"], row["version"], row["evaluations"], row["people"]) == ("trips-test", 1, 30, 3)
    assert row["over_budget"] and row["budget"] == 10
    assert not mc.testuse(budget=50).iloc[0]["over_budget"]
    assert cli_json("testuse")[0]["evaluations"] == 30


def test_diff_of_dataset_versions_and_of_models(store, as_user):
    as_user("alice")
    with mc.run("v1", project="taxi") as first:
        mc.param("alpha", 0.1)
        v1 = mc.dataset(trips_frame(2000, seed=0), "trips", role="train")
        mc.log("r2", 0.8)
        mc.artifact("model", train(v1.load(), Ridge(alpha=0.1)))
    as_user("bob")
    newer = trips_frame(2500, seed=1, shift=0.5).drop(columns=["payment"]).assign(tip=1.0)
    with mc.run("v2", project="taxi") as second:
        mc.param("alpha", 1.0)
        v2 = mc.dataset(newer, "trips", role="train")
        mc.log("r2", 0.7)
        mc.artifact("model", train(v2.load(), Ridge(alpha=1.0)))

    data = mc.diff("trips@1", "trips@2")
    assert isinstance(data, DatasetDiff)
    assert data.rows == (2000, 2500)
    assert data.drift.added == ("tip",) and data.drift.removed == ("payment",)
    assert {"duration", "distance"} <= set(data.drift.drifted)
    assert "rows 2000 -> 2500 (+500)" in data.summary and "schema changed" in data.summary

    models = mc.diff(f"{first.id}:model", f"{second.id}:model")
    assert isinstance(models, ModelDiff)
    assert models.params == {"alpha": (0.1, 1.0)}
    assert models.metrics == {"r2": (0.8, 0.7)}
    assert models.training_data == (["trips@1"], ["trips@2"])

    out = cli_json("diff", "trips@1", "trips@2")
    assert out["rows"] == [2000, 2500] and out["drift"]["added"] == ["tip"]
    out = cli_json("diff", f"{first.id}:model", f"{second.id}:model")
    assert out["params"] == {"alpha": [0.1, 1.0]}


def test_drift_shares_one_sort_between_ks_and_wasserstein():
    from mlcontext.insight.stats import ks_2samp, ks_and_wasserstein, wasserstein_1d

    rng = np.random.default_rng(3)
    for n, m in [(1, 1), (10, 7), (3000, 1000)]:
        a, b = rng.normal(size=n), rng.normal(0.3, 1, m).round(1)
        d, p, w = ks_and_wasserstein(a, b)
        assert (d, p) == pytest.approx(ks_2samp(a, b)) and w == pytest.approx(wasserstein_1d(a, b))
