"""Scenario: a wine project asks for semantic diffs, drift, references and output (issue 11, 6-17, 21).

Scripts are run as a new user would run them: ``prepare.py`` writes versions of ``wine`` (timestamps at
another resolution, a scaled column, a column that becomes null, a column added) and of ``grid`` (a
frame with integer column labels); ``train.py`` fits models with ``--param`` overrides (``fold=08``),
one run crashes; ``clean.py`` derives ``wine-clean`` three times from the same raw file. Then ``mc.*``
and the CLI (``--json`` parsed strictly) are asked.
"""

from __future__ import annotations

import re

import pytest

import mlcontext as mc
from mlcontext.errors import AmbiguousReferenceError, NotFoundError

PREPARE = """
    import numpy as np
    import pandas as pd
    import mlcontext as mc

    with mc.run("prepare", project="wine") as run:
        scale = mc.param("scale", 1.0)
        null_col = mc.param("null_col", "")
        add_col = mc.param("add_col", "")
        unit = mc.param("unit", "ns")
        frame = pd.read_csv("wine.csv")
        frame["alcohol"] = frame["alcohol"] * scale
        if null_col:
            frame[null_col] = np.nan
        if add_col:
            frame[add_col] = np.linspace(2.9, 3.9, len(frame))
        hours = pd.to_timedelta(np.arange(len(frame)) * 3600, unit="s")
        frame["harvest"] = (pd.Timestamp("2020-09-01") + hours).astype(f"datetime64[{unit}]")
        mc.dataset(frame, name="wine")
        mc.dataset(pd.DataFrame(frame[["alcohol", "hue"]].to_numpy()), name="grid")  # labels 0, 1
        mc.dataset(pd.DataFrame({1: frame["hue"], "1": frame["target"].astype(str)}), name="labels")
        print(run.id)
"""

TRAIN = """
    import mlcontext as mc
    from sklearn.linear_model import LogisticRegression

    with mc.run("train", project="wine") as run:
        fold = mc.param("fold", 0)
        c = mc.param("C", 1.0)
        crash = mc.param("crash", False)
        frame = mc.dataset_version("wine@1").load()
        features = ["alcohol", "malic_acid", "ash", "hue", "proline"]
        test = frame.index % 10 == fold % 10
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(frame.loc[~test, features], frame.loc[~test, "target"])
        mc.log("acc", float(model.score(frame.loc[test, features], frame.loc[test, "target"])))
        mc.log("nan_metric", float("nan"))
        mc.artifact("model.pkl", model)
        if crash:
            raise RuntimeError("the evaluation server went away")
        print(run.id)
"""

CLEAN = """
    import mlcontext as mc

    with mc.run("clean", project="wine") as run:
        raw = mc.dataset("wine.csv", name="wine-raw")
        t = raw.frame()
        mc.dataset(t[t["alcohol"] > 11.5], name="wine-clean")
        print(run.id)
"""

TICK = """
    import mlcontext as mc

    with mc.run("tick", project="tick") as run:
        mc.log("x", 1.0)
        print(run.id)
"""

BAD_NAME = """
    import pandas as pd
    import mlcontext as mc

    with mc.run("bad", project="wine"):
        mc.dataset(pd.DataFrame({"x": [1, 2]}), name="sales@eu")
"""


@pytest.fixture(scope="module")
def wine(make_project, wine_csv):
    project = make_project("wine", {"prepare.py": PREPARE, "train.py": TRAIN, "clean.py": CLEAN,
                                    "tick.py": TICK, "bad_name.py": BAD_NAME})
    wine_csv(project.root / "wine.csv")
    project.commit("data")
    project.run("prepare.py")                                   # wine@1, grid@1
    project.run("prepare.py", params={"unit": "us"})            # wine@2: the same instants in µs
    project.run("prepare.py", params={"scale": 1.3, "null_col": "magnesium", "add_col": "ph"})  # @3
    project.trained = [project.run("train.py", params={"C": c}).last_line for c in (0.1, 10.0)]
    project.fold = project.run("train.py", params={"fold": "08"}).last_line
    project.crashed = project.run("train.py", params={"crash": True}, check=False)
    for _ in range(3):
        project.run("clean.py")
    project.ticks = [project.run("tick.py").last_line for _ in range(5)]
    return project


def test_diff_of_wine_versions_names_schema_changes_nulls_and_distributions(wine):
    out = wine.cli_json("diff", "wine@1", "wine@3")
    d = out["drift"]
    assert d["added"] == ["ph"] and d["removed"] == []
    columns = {c["column"]: c for c in d["columns"]}
    assert columns["magnesium"]["drifted"] and columns["magnesium"]["null_fraction_b"] == 1.0
    assert "all values missing" in columns["magnesium"]["reason"]
    assert columns["alcohol"]["drifted"] and 0 < columns["alcohol"]["p_value"] < 1e-3
    assert not columns["hue"]["drifted"]
    assert d["verdict"].startswith("schema changed: added ph (float64)")
    text = wine.cli("diff", "wine@1", "wine@3").stdout
    assert "added ph (float64)" in text and "magnesium: drifted" in text
    assert "rule: a column drifts when" in text
    p_text = mc.insight.drift.format_p(columns["alcohol"]["p_value"])
    assert "e-" in p_text and p_text in text  # written out, not rounded to 0


def test_timestamps_at_another_resolution_are_no_drift(wine):
    d = wine.cli_json("diff", "wine@1", "wine@2")["drift"]
    assert d["verdict"].endswith("no drift in 15 columns") or "drift in" not in d["verdict"]
    harvest = next(c for c in d["columns"] if c["column"] == "harvest")
    assert harvest["statistic"] == 0.0 and not harvest["drifted"]
    assert {"column": "harvest", "a": "datetime64[ns]", "b": "datetime64[us]", "compared": True} \
        in d["retyped"]


def test_integer_column_labels_drift_without_keyerror(wine):
    out = wine.cli_json("drift", "grid@1", "grid@2")
    assert [c["column"] for c in out["columns"]] == [0, 1]
    assert [c["drifted"] for c in out["columns"]] == [True, False]
    with wine.store():
        assert mc.drift("grid@1", "grid@2").drifted == [0]


def test_columns_1_and_str_1_stay_apart(wine):
    with wine.store():
        profile = mc.dataset_version("labels@1").profile
        assert list(profile.columns) == [1, "1"]
        assert (profile.columns[1].kind, profile.columns["1"].kind) == ("numeric", "categorical")
    rows = wine.cli_json("versions", "labels")
    assert rows[0]["columns"] == 2


def test_the_rule_is_an_option_of_the_cli(wine):
    strict = wine.cli_json("drift", "wine@1", "wine@3", "--ks", "1.01", "--psi", "100", "--null", "1.01")
    assert strict["rule"] == {"alpha": 0.05, "psi": 100.0, "ks": 1.01, "null": 1.01}
    drifted = [c["column"] for c in strict["columns"] if c["drifted"]]
    assert drifted == ["magnesium"]  # losing every value is drift whatever the thresholds
    help_text = wine.cli("drift", "--help").stdout
    assert "--alpha" in help_text and "--null" in help_text


def test_objects_the_api_returns_are_references(wine):
    with wine.store():
        one, three = mc.dataset_version("wine@1"), mc.dataset_version("wine@3")
        assert mc.diff(one, three).drift.added == ("ph",)
        record = mc.get_run(wine.trained[0])
        assert mc.get_run(record).id == record.id
        assert type(mc.load_artifact(record, "model.pkl")).__name__ == "LogisticRegression"
        assert mc.diff(record, mc.get_run(wine.trained[1])).params["C"] == (0.1, 10.0)


def test_fold_08_is_eight(wine):
    with wine.store():
        assert mc.get_run(wine.fold).params["fold"] == 8


def test_crashed_run_and_nan_metrics_keep_json_strict(wine):
    assert wine.crashed.returncode != 0
    rows = wine.cli_json("runs", "-p", "wine")
    crashed = [r for r in rows if r["status"] == "failed"]
    assert len(crashed) == 1 and crashed[0]["metric.nan_metric"] is None
    for args in (("show", crashed[0]["id"]), ("versions", "wine"), ("tried", "--dataset", "wine",
                                                                     "--metric", "acc"),
                 ("lineage", "wine-clean"), ("impact", "wine-raw"), ("find", "--data", "wine@1"),
                 ("history", "wine-raw"), ("testuse",), ("cache",)):
        wine.cli_json(*args)


def test_runs_in_quick_succession_come_back_newest_first(wine):
    rows = wine.cli_json("runs", "-p", "tick")
    assert [r["id"] for r in rows] == wine.ticks[::-1]


def test_unreferable_names_are_refused_at_creation(wine):
    result = wine.run("bad_name.py", check=False)
    assert result.returncode != 0
    assert "invalid dataset name 'sales@eu'" in result.stderr and "sales-eu" in result.stderr


def test_empty_results_keep_dtypes(wine):
    with wine.store():
        assert mc.runs(project="wine", status="killed").id.str[:8].tolist() == []
        with pytest.raises(NotFoundError, match="no project 'nosuch'"):  # a typo: never an empty answer
            mc.runs(project="nosuch")
        assert mc.find(params=["C>1000"]).start.dt.date.tolist() == []
        with pytest.raises(NotFoundError, match="no dataset 'nosuch'"):  # never an empty answer
            mc.versions("nosuch")


def test_tables_keep_ids_prefixes_and_units_at_160_columns(wine):
    out = wine.cli("runs", "-p", "wine", env={"COLUMNS": "160"}).stdout
    rows = [line for line in out.splitlines() if line.startswith("│ ") and line[2:10].strip()]
    assert len(rows) == 11 and all(len(line) <= 160 for line in out.splitlines())
    for line in rows:  # one line per run: its id and status whole, its duration with a unit
        assert re.match(r"│ [0-9a-f]{8} │", line) and re.search(r"│ (finished|failed) +│", line)
        assert re.search(r"│ \d[\d.]* (s|min \d\d s) +│", line)
    assert {r[2:10] for r in rows} >= {run_id[:8] for run_id in wine.trained}
    assert "param." in out and "metric" in out


def test_tried_shows_only_what_varied(wine):
    out = wine.cli("tried", "--dataset", "wine", "--metric", "acc", env={"COLUMNS": "200"}).stdout
    assert "'C'" in out and "max_iter" not in out and "'tol'" not in out
    full = wine.cli_json("tried", "--dataset", "wine", "--metric", "acc")
    assert "max_iter" in full[0]["model_params"]  # --json keeps everything


def test_lineage_prints_a_shared_input_once(wine):
    out = wine.cli("lineage", "wine-clean", env={"COLUMNS": "200"}).stdout
    # (node lines carry " · " and the runs; an edge's operations line names its source too)
    nodes = [line for line in out.splitlines() if "wine-raw" in line and " · " in line]
    assert len(nodes) == 1 and "3 runs" in out


def test_a_name_in_two_projects_is_ambiguous_and_diff_takes_a_project(make_project):
    other = make_project("east", {"make.py": """
        import sys
        import pandas as pd
        import mlcontext as mc

        for project in ("east", "west"):
            for k in range(2):
                mc.dataset(pd.DataFrame({"x": [k, k + 1, k + 2]}), name="trips", project=project)
    """})
    other.run("make.py")
    result = other.cli("diff", "trips@1", "trips@2", check=False)
    assert result.returncode != 0 and "no run" not in result.stderr
    assert "exists in projects ['east', 'west']" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback
    out = other.cli_json("diff", "trips@1", "trips@2", "-p", "west")
    assert out["a"] == "trips@1" and out["rows"] == [3, 3]
    with other.store(), pytest.raises(AmbiguousReferenceError):
        mc.diff("trips@1", "trips@2")
