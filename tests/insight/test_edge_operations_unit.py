"""An edge's operations: only its own, in an order the lineage allows, branches kept apart; history
counts every edge that carries them; steps and loops by their names (tests/scenarios/
test_diabetes_history.py is the whole project)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge

import mlcontext as mc


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "target": rng.normal(size=n)})


def _edges(graph) -> dict[tuple[str, str], dict]:
    labels = dict(zip(graph.nodes["hash"], graph.nodes["label"], strict=True))
    return {(labels[e["src"]], e["kind"]): e for e in graph.edges.to_dict(orient="records")}


def test_an_edge_skips_the_branch_through_another_registered_node(sqlite_store):
    clean = mc.dataset(_frame(), "clean", project="u")
    with mc.run("train", project="u"):
        frame = clean.frame()
        mc.dataset(frame.drop(columns=["target"]).iloc[:30], "train", role="train")
        X = frame.drop(columns=["target"]).iloc[:30].to_numpy()
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        y = frame["target"].iloc[:30]
        model = mc.traced(Ridge()).fit(X, y)
        mc.artifact("model", model)
    edges = _edges(mc.derivation("train:model"))
    assert edges[("clean@1", "fit")]["operations"] == [
        "getitem 'target'", "iloc.getitem slice(None, 30, None)", "Ridge.fit"]
    assert edges[("train@1", "fit")]["operations"] == [
        "to_numpy", "ndarray.mean", "subtract", "ndarray.std", "divide", "Ridge.fit"]


def test_two_branches_of_one_source_are_not_read_as_one_chain(sqlite_store):
    clean = mc.dataset(_frame(), "clean", project="u")
    with mc.run("train", project="u"):
        frame = clean.frame()
        X = frame.drop(columns=["target"]).iloc[:30]
        y = frame["target"].iloc[:30]
        mc.artifact("model", mc.traced(Ridge()).fit(X, y))
    [edge] = mc.derivation("train:model").edges.to_dict(orient="records")
    # Topological, each input branch whole: the second iloc (the target's) is not folded into the
    # first, and the target is not read as taken out of the features.
    assert edge["operations"] == ["drop columns=['target']", "iloc.getitem slice(None, 30, None)",
                                  "getitem 'target'", "iloc.getitem slice(None, 30, None)", "Ridge.fit"]
    branches = [(b["operations"], b["after"], b["into"]) for b in edge["branches"]]
    assert branches == [
        (["drop columns=['target']", "iloc.getitem slice(None, 30, None)", "Ridge.fit"], None, None),
        (["getitem 'target'", "iloc.getitem slice(None, 30, None)"], None, "Ridge.fit")]


def test_a_prediction_keeps_what_was_taken_from_the_test_set(sqlite_store):
    # The model is a registered node: its fit (and the target the fit read) is on its own edges,
    # not on test -> pred (listed there before); and its evaluate log says what it was used on, not
    # how it was made, so the features taken from the test set stay on this edge.
    with mc.run("train", project="u"):
        frame = mc.frame(_frame(), name="raw")
        train = mc.dataset(frame.iloc[:30], "train", role="train").frame()
        test = mc.dataset(frame.iloc[30:], "test", role="test").frame()
        model = mc.traced(Ridge()).fit(train[["a", "b"]], train["target"])
        model.score(test[["a", "b"]], test["target"])
        mc.artifact("model", model)
        mc.artifact("pred", model.predict(test[["a", "b"]]))
    edges = _edges(mc.derivation("train:pred"))
    assert edges[("test@1", "lineage")]["operations"] == ["getitem ['a', 'b']", "Ridge.predict"]


def test_history_counts_fit_and_evaluate_edges(sqlite_store):
    with mc.run("train", project="u"):
        frame = mc.frame(_frame(), name="raw")
        train = mc.dataset(frame.iloc[:30], "train", role="train").frame()
        test = mc.dataset(frame.iloc[30:], "test", role="test").frame()
        model = mc.traced(Ridge()).fit(np.log1p(train[["a", "b"]].abs()), train["target"])
        model.score(test[["a", "b"]], test["target"])
        mc.artifact("model", model)
    fitted = mc.history("train", project="u")["transformation"].tolist()
    assert {"abs", "log1p", "Ridge.fit", "getitem 'target'"} <= set(fitted), fitted
    assert "iloc.getitem slice(None, 30, None)" not in fitted  # how train was made
    evaluated = mc.history("test", project="u")["transformation"].tolist()
    assert {"getitem ['a', 'b']", "getitem 'target'"} <= set(evaluated), evaluated


def test_steps_and_loops_are_named(sqlite_store):
    @mc.step
    def features(f):
        return f.assign(ab=f["a"] * f["b"])

    clean = mc.dataset(_frame(), "clean", project="u")
    with mc.run("train", project="u"):
        out = features(clean.frame()).dropna()
        mc.dataset(out, "features")
    qualname = f"{__name__}.test_steps_and_loops_are_named.<locals>.features"
    [edge] = mc.derivation("features@1", project="u").edges.to_dict(orient="records")
    assert edge["operations"] == [qualname, "dropna"]
    assert mc.pd.transformations(out) == ["frame clean", qualname, "dropna"]
    assert mc.history("clean", project="u")["transformation"].tolist() == [qualname, "dropna"]


@pytest.mark.parametrize(("label", "name"), [("step:pkg.mod.clean:3f2a9c1b0d4e5f60", "pkg.mod.clean"),
                                             ("loop:epoch", "loop epoch")])
def test_scope_names(label, name):
    from mlcontext.insight.transformations import scope_name

    assert scope_name(label) == name


def test_a_multi_output_function_is_one_operation():
    w, _ = np.linalg.eigh(mc.array(np.eye(2), name="m"))
    assert mc.pd.transformations(w) == ["lineage.data m", "linalg.eigh"]


def test_a_branch_from_unregistered_data_joins_the_sources_chain(sqlite_store, tmp_path):
    # It has no edge of its own, so it stays on this one, as a branch of its own: the chain of the
    # source says where the source comes in (the add), the other branch which operation it joins.
    pd.DataFrame({"a": np.arange(40.0)}).to_csv(tmp_path / "raw.csv", index=False)
    with mc.run("merge", project="u"):
        raw = mc.pd.read_csv(tmp_path / "raw.csv", name="raw")
        clean = raw.iloc[4:]
        mc.dataset(clean, "clean")
        other = raw[raw["a"] > 3]
        mc.dataset(other.dropna() + clean, "t")
    [edge] = mc.derivation("t", project="u").edges.to_dict(orient="records")
    side, joined = edge["branches"]
    assert side["operations"] == ["filter a > 3", "dropna"] and not side["registered"]
    assert side["into"] == joined["operations"][0] and joined["operations"][0].startswith("add")
    assert joined["registered"] and joined["into"] is None


@pytest.mark.parametrize("scored_on", ["train", "test"])
def test_a_model_fitted_and_scored_keeps_its_fit_edge_beside_the_evaluation(sqlite_store, scored_on):
    """Found by a newcomer: a model fitted on ``train`` and scored on data scaled with train's
    statistics (train itself, or a test set) has a ``fit`` and an ``evaluate`` edge reaching it from
    ``train``; the graph kept one edge per source, target and run (``evaluate`` sorts first), so the
    fit vanished from ``lineage``/``impact`` (``history`` still counted it)."""
    clean = mc.dataset(_frame(60), "clean", project="u")
    with mc.run("train", project="u"):
        frame = clean.frame()
        train, test = frame.iloc[:40], frame.iloc[40:]
        mc.dataset(train, "train", role="train")
        mc.dataset(test, "test", role="test")
        X = train.drop(columns=["target"]).to_numpy(dtype=float)
        scored = X if scored_on == "train" else test.drop(columns=["target"]).to_numpy(dtype=float)
        mu, sd = X.mean(axis=0), X.std(axis=0)
        model = mc.traced(Ridge()).fit((X - mu) / sd, train["target"].to_numpy())
        model.predict((scored - mu) / sd)
        mc.artifact("model", model)
    graph = mc.derivation("train:model")
    edges = _edges(graph)
    assert ("train@1", "fit") in edges and (f"{scored_on}@1", "evaluate") in edges, list(edges)
    fit = edges[("train@1", "fit")]
    assert fit["operations"][-1] == "Ridge.fit" and "to_numpy" in fit["operations"]
    assert "run" not in set(graph.edges["kind"])  # a run edge beside one with operations says less
    assert graph.operations == [], graph.operations  # its edges say how it was made


def test_a_branch_from_unregistered_data_stays_when_a_later_run_registers_that_data(sqlite_store):
    # A reviewer's finding: run 1 merged raw with a lookup table it never registered; a later run
    # registered the lookup and made the same clean. Run 1's edge then lost its lookup branch
    # ("data not registered → rename"), shown nowhere: the later run's lookup edge was taken as
    # bounding run 1's log too.
    raw = pd.DataFrame({"k": np.arange(10) % 3, "x": np.arange(10.0)})
    lookup = pd.DataFrame({"key": [0, 1, 2], "label": ["a", "b", "c"]})
    mc.dataset(raw, "raw", project="u")
    for register in (False, True):
        with mc.run("clean", project="u"):
            frame = mc.dataset_version("raw", project="u").frame()
            table = mc.dataset(lookup, "lookup").frame() if register else mc.frame(lookup)
            mc.dataset(frame.merge(table.rename(columns={"key": "k"}), on="k"), "clean")
    graph = mc.derivation("clean", project="u")
    chains = [b for branches in graph.edges["branches"] for b in branches]
    unregistered = [b for b in chains if not b["registered"]]
    assert unregistered and unregistered[0]["operations"] == ["rename columns={'key': 'k'}"], chains


def test_two_runs_sharing_one_log_are_bounded_by_their_own_edges(sqlite_store):
    # A reviewer's finding: run 2 registered the lookup table before the same merge, so both runs
    # stored one content-addressed log; run 1's edge then lost its "data not registered" branch,
    # bounded by run 2's lookup edge.
    raw = pd.DataFrame({"k": np.arange(10) % 3, "x": np.arange(10.0)})
    lookup = pd.DataFrame({"key": [0, 1, 2], "label": ["a", "b", "c"]})
    mc.dataset(raw, "raw", project="u")
    runs = []
    for register in (False, True):
        with mc.run("clean", project="u") as run:
            frame = mc.dataset_version("raw", project="u").frame()
            if register:
                mc.dataset(lookup, "lookup")  # registered, the merge still uses a plain frame of it
            table = mc.frame(lookup)
            mc.dataset(frame.merge(table.rename(columns={"key": "k"}), on="k"), "clean")
        runs.append(run.id)
    graph = mc.derivation("clean", project="u")
    first = graph.edges[graph.edges["run_id"] == runs[0]]
    chains = [b for branches in first["branches"] for b in branches]
    rename = ["rename columns={'key': 'k'}"]
    assert any(not b["registered"] and b["operations"] == rename for b in chains), chains


def test_printing_a_graph_shows_its_tree(sqlite_store):
    # A newcomer's finding: print(mc.derivation(...).tree()) printed <rich.tree.Tree object ...>.
    clean = mc.dataset(_frame(), "clean", project="u")
    with mc.run("train", project="u"):
        frame = clean.frame()
        mc.dataset(frame[frame.a > 0], "train")
    text = str(mc.derivation("train", project="u"))
    assert text.splitlines()[0] == "train@1" and "clean@1" in text and "filter" in text, text
    assert "<rich" not in text and "[dim]" not in text


def test_each_step_of_a_pipeline_is_named_by_its_class(sqlite_store):
    # A newcomer's finding: a Pipeline's StandardScaler and PolynomialFeatures both showed as one
    # "sklearn.fit_transform"; and the evaluate chain followed the fit instead of the test data.
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    with mc.run("train", project="u"):
        frame = mc.frame(_frame(), name="raw")
        train = mc.dataset(frame.iloc[:30], "train", role="train").frame()
        test = mc.dataset(frame.iloc[30:], "test", role="test").frame()
        pipe = Pipeline([("scale", StandardScaler()), ("poly", PolynomialFeatures(2)), ("ridge", Ridge())])
        model = mc.traced(pipe).fit(train[["a", "b"]], train["target"])
        model.score(test[["a", "b"]], test["target"])
        mc.artifact("model", model)
    edges = _edges(mc.derivation("train:model"))
    fit = edges[("train@1", "fit")]
    assert [op for op in fit["operations"] if "." in op] == [
        "StandardScaler.fit_transform", "PolynomialFeatures.fit_transform", "Ridge.fit"]
    scored = edges[("test@1", "evaluate")]["branches"][0]["operations"]
    assert list(scored) == ["getitem ['a', 'b']", "StandardScaler.transform", "PolynomialFeatures.transform"]


def test_a_cleaning_step_that_changed_nothing_is_said_so(sqlite_store):
    # A newcomer's finding: a filter and dropna that kept every row made clean@1 the same bytes as
    # raw@1 (one node); lineage said "computed from data not registered", and history of clean
    # lost the split of clean@1 that the same run made.
    from sklearn.model_selection import train_test_split

    with mc.run("prep", project="u"):
        raw = mc.dataset(_frame(), "raw").frame()
        clean = raw[raw.a >= -100.0].dropna()
        mc.dataset(clean, "clean")
        train, _ = train_test_split(clean, test_size=0.25, random_state=0)
        mc.dataset(train, "train", role="train")
    graph = mc.derivation("clean@1")
    assert graph.unchanged and graph.operations[-1] == "dropna"
    assert "computed from these same bytes" in str(graph) and "not registered" not in str(graph)
    assert mc.history("clean")["transformation"].tolist() == ["take 30 rows by position"]


def test_steps_of_a_users_own_classes_and_repeated_classes_keep_their_names(sqlite_store):
    # A second reviewer's finding: a user's estimator was named after the step before it (its class
    # path is not sklearn.*), so a Clip between a scaler and a Ridge vanished; and two StandardScalers
    # were one step.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tests.insight.custom_steps import Clip, MeanRegressor

    with mc.run("train", project="u"):
        train = mc.dataset(_frame(), "train", role="train").frame()
        mc.artifact("mean", mc.traced(make_pipeline(StandardScaler(), MeanRegressor()))
                    .fit(train[["a", "b"]], train["target"]))
        mc.artifact("ridge", mc.traced(make_pipeline(StandardScaler(), Clip(2.0), StandardScaler(), Ridge()))
                    .fit(train[["a", "b"]], train["target"]))
    named = {name: [op for op in _edges(mc.derivation(f"train:{name}"))[("train@1", "fit")]["operations"]
                    if "." in op] for name in ("mean", "ridge")}
    assert named["mean"] == ["StandardScaler.fit_transform", "MeanRegressor.fit"]
    assert named["ridge"] == ["StandardScaler.fit_transform", "Clip.fit_transform",
                              "StandardScaler.fit_transform", "Ridge.fit"]


def test_history_of_clean_keeps_to_what_was_done_to_its_own_versions(sqlite_store):
    # A second reviewer's finding on the fix above: run B made clean@2 from raw@1 (= clean@1's
    # bytes); its cleaning was listed as done to clean@1.
    from sklearn.model_selection import train_test_split

    with mc.run("prepA", project="u"):
        raw = mc.dataset(_frame(), "raw").frame()
        clean = raw[raw.a >= -100.0]
        mc.dataset(clean, "clean")
        train, _ = train_test_split(clean, test_size=0.25, random_state=0)
        mc.dataset(train, "train", role="train")
    with mc.run("prepB", project="u"):
        raw = mc.dataset_version("raw@1").frame()
        mc.dataset(raw.dropna(subset=["b"]).assign(c=raw.a * 2), "clean")
    assert mc.history("clean")["transformation"].tolist() == ["take 30 rows by position"]


def test_two_fits_of_one_class_in_a_row_are_two_steps(sqlite_store):
    # A third reviewer's finding: SimpleImputer("median") then SimpleImputer("constant"), and two
    # FunctionTransformers, were one step each (only a loop's iterations are one step).
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    with mc.run("train", project="u"):
        train = mc.dataset(_frame(), "train", role="train").frame()
        pipe = make_pipeline(SimpleImputer(strategy="median"), SimpleImputer(strategy="constant"),
                             FunctionTransformer(np.log1p), FunctionTransformer(np.abs), Ridge())
        mc.artifact("model", mc.traced(pipe).fit(train[["a", "b"]].abs(), train["target"]))
    fit = _edges(mc.derivation("train:model"))[("train@1", "fit")]["operations"]
    assert [op for op in fit if "fit" in op] == [
        "SimpleImputer.fit_transform", "SimpleImputer.fit_transform", "FunctionTransformer.fit_transform",
        "FunctionTransformer.fit_transform", "Ridge.fit"]


def test_history_keeps_a_readers_edges_from_the_bytes_it_read(sqlite_store):
    # A third reviewer's finding: a run that read raw@1 (= clean@1's bytes) and clean@2 fitted a
    # Lasso on raw: history of clean listed the Lasso fit for clean@1.
    from sklearn.linear_model import Lasso

    with mc.run("prepA", project="u"):
        raw = mc.dataset(_frame(), "raw").frame()
        mc.dataset(raw[raw.a >= -100.0], "clean")  # removes nothing: clean@1 = raw@1
    with mc.run("prepB", project="u"):
        raw = mc.dataset_version("raw@1").frame()
        mc.dataset(raw[raw.a > 0], "clean")  # clean@2
    with mc.run("compare", project="u"):
        raw = mc.dataset_version("raw@1").frame()
        clean2 = mc.dataset_version("clean@2").frame()
        mc.artifact("lasso", mc.traced(Lasso()).fit(raw[["a"]], raw["target"]))
        mc.artifact("ridge", mc.traced(Ridge()).fit(clean2[["a"]], clean2["target"]))
    history = mc.history("clean")
    assert "Lasso.fit" not in set(history["transformation"])
    assert [v for t, v in zip(history["transformation"], history["versions"], strict=True)
            if t == "Ridge.fit"] == [["clean@2"]]


class Stamped(BaseEstimator):
    """Fitted deterministically from its data, but stamped with a counter its lineage does not
    see (as a model that records when it was trained)."""

    fits = 0

    def fit(self, X, y):
        Stamped.fits += 1
        self.coef_ = np.asarray(X).sum(axis=0)
        self.stamp_ = Stamped.fits
        return self


def test_a_second_model_with_the_same_lineage_but_other_bytes_keeps_its_operations(store):
    # The third newcomer of the tenth session: a log is stored once per content, with the first
    # writer's meta["of"]; a second run whose model came out in other bytes from the same lineage
    # lost the log of how its model was computed.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    saved = []
    for _ in range(2):
        with mc.run("train", project="stamped") as run, mc.reuse("none"):  # (two processes)
            Xt = mc.asarray(X) * 2.0  # traced, never registered: the model's only lineage
            mc.artifact("model", mc.traced(Stamped()).fit(Xt, y))
        saved.append(run.id)
    hashes = [next(a.hash for a in mc.get_run(r).artifacts if a.name == "model") for r in saved]
    assert hashes[0] != hashes[1]  # the stamps differ
    first, second = (mc.derivation(f"{r}:model", project="stamped").operations for r in saved)
    assert first and second == first, (first, second)


def test_a_split_says_how_many_rows_it_took(store):
    # The third newcomer of the tenth session: train_test_split read "take data axis=0", which said
    # neither how many rows nor that they were rows.
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=20), "b": rng.normal(size=20), "c": rng.normal(size=20)})
    with mc.run("split", project="take"):
        raw = mc.dataset(frame, "raw").frame()
        train, test = train_test_split(raw, test_size=0.25, random_state=0)
        mc.dataset(train, "train", role="train")
        mc.dataset(raw.take(np.array([0, 2]), axis=1), "narrow")
        mc.dataset(raw.take(np.array([0, 1]), 1), "narrow2")  # (the axis as the second argument)
        mc.artifact("flat", np.take(raw.to_numpy(), np.array([0, 5, 7, 11])))  # NumPy's: no axis, flat
    ops = mc.derivation("train", project="take").edges["operations"].tolist()
    assert ops == [["take 15 rows by position"]], ops
    for name in ("narrow", "narrow2"):
        ops = mc.derivation(name, project="take").edges["operations"].tolist()
        assert ops == [["take 2 columns by position"]], ops
    assert "raw@1 → to_numpy → take → flat" in str(mc.derivation("split:flat", project="take"))


def test_each_of_a_loops_saves_keeps_its_own_operations(store):
    # A reviewer's finding on the name match above: `w` saved at each epoch of a loop has a
    # `w.lineage` each; epoch 0's w was given epoch 1's operations.
    X = np.random.default_rng(0).normal(size=(50, 3))
    with mc.run("train", project="loop") as run, mc.reuse("none"):
        for epoch in mc.loop("epoch", range(2)):
            Xt = mc.asarray(X)
            mc.artifact("w", (Xt * 2.0) if epoch == 0 else np.log1p(np.abs(Xt)))
    saved = [a.hash for a in mc.get_run(run.id).artifacts if a.name == "w" and a.direction == "output"]
    assert [mc.derivation(h).operations for h in saved] == [["multiply"], ["absolute", "log1p"]]


def test_models_saved_in_loops_with_one_lineage_keep_their_operations(store):
    # A reviewer's finding on the name match that replaced "of": two runs each saving `model` at
    # every epoch (the same lineage, other bytes); the second run's model lost its operations.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    for _ in range(2):
        with mc.run("train", project="stamped-loop") as run, mc.reuse("none"):
            for epoch in mc.loop("epoch", range(2)):
                mc.artifact("model", mc.traced(Stamped()).fit(mc.asarray(X) * float(epoch + 1), y))
        assert mc.derivation(f"{run.id}:model", project="stamped-loop").operations == [
            "multiply", "Stamped.fit"]


def test_data_used_only_as_a_mask_or_as_assigned_values_has_the_step_that_used_it(sqlite_store):
    # A newcomer's B, used only in A[B["k"] > 1], and C, only assigned with A.loc[..., "x"] = C["z"]:
    # their edges listed no operation at all (the mask folded into the filter's description was
    # never traced back to B), and the tree showed them with nothing under them. The peers' kind:
    # OpenLineage/OpenLineage#4864 (lineage referenced only inside a FILTER predicate dropped) and
    # #2048 (join keys missing from a column's inputs).
    with mc.run("attr", project="u"):
        a = mc.dataset(pd.DataFrame({"id": range(6), "x": [1.0, 2, 3, 4, 5, 6]}), "A").frame()
        b = mc.dataset(pd.DataFrame({"k": [0, 2, 0, 3, 1, 5]}), "B").frame()
        c = mc.dataset(pd.DataFrame({"z": [7.0, 8, 9, 10, 11, 12]}), "C").frame()
        mc.dataset(a[b["k"] > 1], "masked")
        assigned = a.copy()
        assigned.loc[b["k"] > 1, "x"] = c["z"]
        mc.dataset(assigned, "assigned")
    masked = _edges(mc.derivation("masked"))
    assert masked[("A@1", "lineage")]["operations"] == ["filter k > 1"]
    assert masked[("B@1", "lineage")]["operations"] == ["filter k > 1"]
    edges = _edges(mc.derivation("assigned"))
    assert edges[("A@1", "lineage")]["operations"][0] == "copy"
    for source in ("B@1", "C@1"):
        operations = edges[(source, "lineage")]["operations"]
        assert len(operations) == 1 and operations[0].startswith("set (k > 1, 'x')"), operations
