"""A newcomer's diabetes project: each edge lists its own operations, and history sees every edge.

A cleaning script registers ``diabetes-clean``; a training script adds a feature with an ``@mc.step``
function, splits features and target inside the script, registers the features as
``diabetes-train``/``diabetes-test``, standardises the training matrix with NumPy, fits a traced
Ridge on it and the target taken straight from ``clean``, and saves the model; it runs several times.
Found wrong before:

1. the ``clean -> model`` fit edge listed "drop target → take → to_numpy → mean → subtract → std →
   divide → getitem 'target' → Ridge.fit": the features' split and standardisation, which go
   through the registered ``diabetes-train`` (its own edges say them), and the target's branch
   interleaved after them, as if the target were taken out of the standardised matrix;
2. ``history diabetes-train`` said "no recorded transformation" although every run standardised it
   and fitted on it (``fit`` edges were not counted), and ``history diabetes-clean`` counted only
   ``lineage`` edges;
3. the step showed as "lineage.dedup → lineage.output", never by its name.
"""

from __future__ import annotations

import pytest

import mlcontext as mc

FEATURES = """
    def add_features(frame):
        return frame.assign(bmi_bp=frame["bmi"] * frame["bp"])
"""

CLEAN = """
    import mlcontext as mc
    from sklearn.datasets import load_diabetes

    load_diabetes(as_frame=True).frame.to_csv("data/diabetes.csv", index=False)
    with mc.run("clean", project="diabetes"):
        raw = mc.pd.read_csv("data/diabetes.csv", name="diabetes-raw")
        clean = raw.dropna()
        mc.dataset(clean[clean["bmi"] > -1], "diabetes-clean")
"""

TRAIN = """
    import mlcontext as mc
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    import features

    add_features = mc.step(features.add_features)
    with mc.run("train", project="diabetes") as run:
        alpha = mc.param("alpha", 1.0)
        seed = mc.param("seed", 0)
        clean = add_features(mc.dataset_version("diabetes-clean").frame())
        X_train, X_test, y_train, y_test = train_test_split(
            clean.drop(columns=["target"]), clean["target"], test_size=0.25, random_state=seed)
        mc.dataset(X_train, "diabetes-train", role="train")
        mc.dataset(X_test, "diabetes-test", role="test")
        X = X_train.to_numpy()
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        model = mc.traced(Ridge(alpha=alpha)).fit(X, y_train)
        mc.artifact("model", model)
        print(run.id)
"""

STEP = "features.add_features"
STANDARDISE = ["to_numpy", "ndarray.mean", "subtract", "ndarray.std", "divide", "Ridge.fit"]


@pytest.fixture(scope="module")
def diabetes(make_project):
    project = make_project("diabetes", {".gitignore": "data/\n", "features.py": FEATURES,
                                        "clean.py": CLEAN, "train.py": TRAIN})
    (project.root / "data").mkdir()
    project.run("clean.py")
    runs = [project.run("train.py", params=p).last_line
            for p in ({}, {"alpha": 0.5, "seed": 1}, {"alpha": 2.0})]
    return project, runs


def _edges(graph: dict) -> dict[tuple[str, str, str], dict]:
    labels = {n["hash"]: n["label"] for n in graph["nodes"]}
    return {(labels[e["src"]], labels[e["dst"]].split(" ")[0], e["kind"]): e for e in graph["edges"]}


def test_each_edge_lists_only_its_own_operations(diabetes):
    project, runs = diabetes
    edges = _edges(project.cli_json("lineage", f"{runs[0]}:model"))
    # The target came straight from clean: taken out, split, fitted on; nothing of the features.
    assert edges[("diabetes-clean@1", "model", "fit")]["operations"] == [
        STEP, "getitem 'target'", "take 331 rows by position", "Ridge.fit"]
    # The features went through the registered train set: standardised there, split on its edge.
    fit = edges[("diabetes-train@1", "model", "fit")]
    assert fit["operations"] == STANDARDISE
    assert edges[("diabetes-clean@1", "diabetes-train@1", "lineage")]["operations"] == [
        STEP, "drop columns=['target']", "take 331 rows by position"]
    # As branches: the mean and the deviation fork from the matrix and join its chain.
    branches = {tuple(b["operations"]): (b["after"], b["into"]) for b in fit["branches"]}
    assert branches == {("to_numpy", "subtract", "divide", "Ridge.fit"): (None, None),
                        ("ndarray.mean",): ("to_numpy", "subtract"),
                        ("ndarray.std",): ("to_numpy", "divide")}


def test_the_tree_never_reads_the_target_out_of_the_matrix(diabetes):
    project, runs = diabetes
    text = project.cli("lineage", f"{runs[0]}:model", env={"COLUMNS": "250"}).stdout
    assert (f"diabetes-clean@1 → {STEP} → getitem 'target' → take 331 rows by position → Ridge.fit → model"
            in text), text
    assert "divide → getitem" not in text and "lineage.dedup" not in text and "lineage.output" not in text
    assert "to_numpy → ndarray.mean → into subtract" in text


def test_history_counts_fits_and_every_edge(diabetes):
    project, runs = diabetes
    train = {r["transformation"]: r for r in project.cli_json("history", "diabetes-train")}
    assert set(train) == set(STANDARDISE)
    assert {r["runs"] for r in train.values()} == {3}
    clean = {r["transformation"]: r for r in project.cli_json("history", "diabetes-clean")}
    assert set(clean) == {STEP, "drop columns=['target']", "getitem 'target'", "take 331 rows by position",
                          "take 111 rows by position", "Ridge.fit"}  # the train and the test split
    assert clean["Ridge.fit"]["runs"] == 3
    with project.store():
        frame = mc.history("diabetes-train", project="diabetes")
    assert sorted(frame["transformation"]) == sorted(STANDARDISE)


def test_the_step_is_shown_by_its_name(diabetes):
    project, runs = diabetes
    graph = project.cli_json("lineage", f"{runs[1]}:model")
    ops = [op for e in graph["edges"] for op in e["operations"] or []]
    assert STEP in ops and not any(op.startswith("lineage.") for op in ops)
    assert not any(r["transformation"].startswith("lineage.")
                   for r in project.cli_json("history", "diabetes-clean"))
