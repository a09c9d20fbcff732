"""Which registered data an output came from, and which data a run fit on and evaluated on (issue 11,
items 3 and 5), in one process on each backend. The scenarios in ``tests/scenarios`` run the same
questions on whole projects run as scripts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import mlcontext as mc
from mlcontext.errors import TestSetOveruseWarning


def frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (x[:, 0] + x[:, 1] > 0).astype(int)})


def split(raw: mc.DatasetVersion, seed: int = 0):
    data = raw.frame()
    clean = data[data.a > -3]
    mc.dataset(clean, "clean")
    train, test = train_test_split(clean, test_size=0.25, random_state=seed)
    return mc.dataset(train, "train", role="train"), mc.dataset(test, "test", role="test"), train, test


def labelled(graph: mc.Graph) -> set[tuple[str, str, str]]:
    labels = dict(zip(graph.nodes["hash"], graph.nodes["label"], strict=True))
    return {(labels[s], labels[d], k) for s, d, k in zip(graph.edges["src"], graph.edges["dst"],
                                                          graph.edges["kind"], strict=True)}


def test_a_pipeline_is_fitted_on_train_and_evaluated_on_test(store):
    with mc.run("fit", project="uses") as run:
        raw = mc.dataset(frame(), "raw")
        _, _, train, test = split(raw)
        model = mc.traced(Pipeline([("scale", StandardScaler()), ("clf", RidgeClassifier(random_state=0))]))
        model.fit(train[["a", "b", "c"]], train.y)
        model.score(test[["a", "b", "c"]], test.y)
        mc.artifact("model", model)
        mc.log("score", 0.5)  # tried ranks by a metric the runs logged (one never logged is an error)
    model = f"model (run {run.id[:8]})"
    assert labelled(mc.derivation(f"{run.id}:model")) == {
        ("train@1", model, "fit"), ("test@1", model, "evaluate"), ("clean@1", "train@1", "lineage"),
        ("clean@1", "test@1", "lineage"), ("raw@1", "clean@1", "lineage")}
    assert mc.testuse("test")["evaluations"].tolist() == [1]
    assert mc.tried("train", "score")["run_id"].tolist() == [run.id]


def test_preprocessing_the_test_set_is_no_evaluation(store):
    with mc.run("prep", project="uses"):
        _, _, train, test = split(mc.dataset(frame(), "raw"))
        scaler = mc.traced(StandardScaler()).fit(train[["a", "b"]])
        scaler.transform(test[["a", "b"]])
    assert mc.testuse("test").empty


def test_a_metric_computed_from_the_test_set_evaluates_it(store):
    with mc.run("metric", project="uses"):
        _, _, _, test = split(mc.dataset(frame(), "raw"))
        mc.log("share", test.y.to_numpy().mean())  # a traced 0-d value
        mc.log("plain", 0.5)
    assert mc.testuse("test")["evaluations"].tolist() == [1]


def test_each_run_fitting_a_split_counts_once(store):
    for seed in (0, 0, 1):
        with mc.run("fit", project="uses"):
            _, _, train, test = split(mc.dataset(frame(), "raw"), seed)
            model = mc.traced(RidgeClassifier(random_state=0)).fit(train[["a", "b"]], train.y)
            for _ in range(3):  # a search predicts many times: still one evaluation per run
                model.predict(test[["a", "b"]])
    use = mc.testuse("test").set_index("version")["evaluations"]
    assert use.to_dict() == {1: 2, 2: 1}


def test_the_budget_warns_for_a_test_set_split_in_the_script(store, monkeypatch):
    monkeypatch.setenv("MLCONTEXT_TEST_BUDGET", "1")
    for attempt in range(2):
        with mc.run("fit", project="uses"):
            _, _, train, test = split(mc.dataset(frame(), "raw"))
            model = mc.traced(RidgeClassifier(random_state=0)).fit(train[["a", "b"]], train.y)
            if attempt == 0:
                model.predict(test[["a", "b"]])
            else:
                over = r"test@1 has been evaluated in 2 runs"  # (the split's read counted it already)
                with pytest.warns(TestSetOveruseWarning, match=over) as seen:
                    model.predict(test[["a", "b"]])
                assert seen[0].filename == __file__


def test_registrations_of_another_run_are_not_sources(store):
    """Run 2 recomputes the cleaning run 1 registered, but registers nothing in between: its output
    comes from the raw data it read, not from run 1's ``clean``."""
    raw_frame = frame()
    with mc.run("one", project="uses"):
        data = mc.dataset(raw_frame, "raw").frame()
        mc.dataset(data[data.a > -3], "clean")
    with mc.run("two", project="uses") as two:
        data = mc.dataset(raw_frame, "raw").frame()
        mc.dataset(data[data.a > -3].assign(d=1.0), "wider")
    assert labelled(mc.derivation("wider")) == {("raw@1", "wider@1", "lineage")}
    assert set(mc.derivation("wider").edges["run_id"]) == {two.id}


def test_an_untraced_fit_keeps_the_coarse_run_edges(store):
    with mc.run("plain", project="uses") as run:
        raw = mc.dataset(frame(), "raw")
        data = raw.load()
        mc.artifact("model", RidgeClassifier().fit(data[["a", "b"]], data.y))
    graph = mc.derivation(f"{run.id}:model")
    assert labelled(graph) == {("raw@1", f"model (run {run.id[:8]})", "run")}


def test_predictions_come_from_the_saved_model_and_the_test_set(store):
    with mc.run("predict", project="uses") as run:
        _, _, train, test = split(mc.dataset(frame(), "raw"))
        model = mc.traced(RidgeClassifier(random_state=0)).fit(train[["a", "b"]], train.y)
        mc.artifact("model", model)
        mc.artifact("predictions", model.predict(test[["a", "b"]]))
    model, predictions = (f"{name} (run {run.id[:8]})" for name in ("model", "predictions"))
    assert {e for e in labelled(mc.derivation(f"{run.id}:predictions")) if e[1] == predictions} == {
        (model, predictions, "lineage"), ("test@1", predictions, "lineage")}
    assert predictions in set(mc.consumers(f"{run.id}:model").nodes["label"])


def test_a_split_of_plain_data_after_derived_data_warns_that_lineage_is_lost(store):
    # A newcomer's flow: clean.to_pandas() before train_test_split drops the lineage, and impact /
    # lineage then silently miss train and test. Registering such a plain value warns; the traced split,
    # new plain data registered first, and file paths do not.
    from mlcontext.errors import LineageLostWarning

    with mc.run("lost", project="uses"):
        mc.dataset(frame(seed=1), "other")  # plain data, nothing derived yet: no warning
        raw = mc.dataset(frame(), "raw")
        data = raw.frame()
        clean = data[data.a > -3]
        mc.dataset(clean, "clean")
        train, _ = train_test_split(clean, test_size=0.25, random_state=0)
        mc.dataset(train, "train", role="train")  # traced: no warning (filterwarnings=error)
        plain_train, _ = train_test_split(clean.to_pandas(), test_size=0.25, random_state=0)
        with pytest.warns(LineageLostWarning, match=r"train@2 is a plain value without lineage") as seen:
            mc.dataset(plain_train.iloc[:50], "train", role="train")
        assert seen[0].filename == __file__  # points at the user's line


def test_a_run_that_crashes_before_it_evaluates_does_not_count(store):
    # A newcomer's flow: the test split is registered as plain data, the run crashes in its training
    # loop before any predict: no evaluation. A run that finishes counts it (it may have evaluated with
    # a plain model, which nothing reports), once, as does a run that evaluates it traced.
    test = frame(40, seed=3)
    with pytest.raises(RuntimeError, match="crash"), mc.run("crashes", project="uses"):
        mc.dataset(test, "test", role="test")
        raise RuntimeError("crash in epoch 1")
    assert mc.testuse("test").empty
    with mc.run("finishes", project="uses"):
        version = mc.dataset(test, "test", role="test")
        version.frame()  # read again: still one evaluation
    assert mc.testuse("test")["evaluations"].tolist() == [1]
    with mc.run("evaluates", project="uses"):
        train = mc.dataset(frame(), "train-plain", role="train").frame()
        model = mc.traced(RidgeClassifier()).fit(train[["a", "b", "c"]], train.y)
        held_out = mc.dataset(test, "test", role="test").frame()
        model.score(held_out[["a", "b", "c"]], held_out.y)
    assert mc.testuse("test")["evaluations"].tolist() == [2]


def test_the_budget_warns_when_the_test_set_is_registered_before_it_is_evaluated(store):
    test = frame(40, seed=4)
    for i in range(3):
        with mc.run(f"r{i}", project="uses"):
            if i < 2:
                mc.dataset(test, "test", role="test", budget=2)
            else:
                over = r"test@1: this run makes 3 runs that evaluate it \(2 before it\), by 1 person"
                with pytest.warns(TestSetOveruseWarning, match=over):
                    mc.dataset(test, "test", role="test", budget=2)
    assert mc.testuse("test")["evaluations"].tolist() == [3]


def test_the_warning_of_a_run_that_then_fails_counts_it_as_about_to_evaluate(store):
    # A reviewer's finding: the warning said "evaluated in 3 runs" and the run then failed, so
    # testuse said 2. The warning is said before the evaluation counts: it says this run makes 3.
    test = frame(40, seed=5)
    for i in range(2):
        with mc.run(f"r{i}", project="uses"):
            mc.dataset(test, "test", role="test", budget=2)
    with pytest.warns(TestSetOveruseWarning) as seen, pytest.raises(RuntimeError), \
            mc.run("crash", project="uses"):
        mc.dataset(test, "test", role="test", budget=2)
        raise RuntimeError("crash before any evaluation")
    assert "this run makes 3 runs that evaluate it (2 before it)" in str(seen[0].message)
    assert mc.testuse("test")["evaluations"].tolist() == [2]


def test_the_budget_warns_once_per_run_not_at_the_read_and_again_at_the_evaluation(store, monkeypatch):
    # A newcomer's finding: the warning came at `test.frame()` and again at `model.predict(X_te)`.
    monkeypatch.setenv("MLCONTEXT_TEST_BUDGET", "1")
    raw = mc.dataset(frame(), "raw")
    for seed in range(3):
        with mc.run(f"fit{seed}", project="uses"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, test, train_frame, _ = split(raw)
            model = mc.traced(Pipeline([("s", StandardScaler()), ("m", RidgeClassifier())]))
            model.fit(train_frame[["a", "b", "c"]], train_frame["y"])
            te = test.frame()
            model.predict(te[["a", "b", "c"]])
            model.score(te[["a", "b", "c"]], te["y"])
        overuse = [w for w in caught if issubclass(w.category, TestSetOveruseWarning)]
        assert len(overuse) == (0 if seed == 0 else 1), [str(w.message) for w in overuse]


def test_a_crashed_runs_read_of_the_test_set_is_recorded_but_not_counted(store):
    # A newcomer's finding: the crashed run read the test set (test.frame()), and `show` and the
    # readers in `impact` left the read out altogether; it is a read, only not an evaluation.
    test = frame(40, seed=5)
    with pytest.raises(RuntimeError, match="crash"), mc.run("crashes", project="uses") as run:
        version = mc.dataset(test, "test", role="test")
        version.frame()
        raise RuntimeError("crash in epoch 6")
    assert mc.testuse("test").empty  # no evaluation counted
    readers = mc.consumers("test@1").readers
    assert run.id in readers["run_id"].tolist()
    assert readers.loc[readers["run_id"] == run.id, "role"].isna().all()


def test_an_evaluate_edge_says_the_data_was_predicted_on_not_fed_to_the_model(store):
    # A newcomer's finding: the evaluate edge rendered `test@1 → getitem 'y' → model`, which reads as
    # if the target had been fitted on; the evaluation log ends at the data given to predict/score.
    from rich.console import Console

    with mc.run("fit", project="uses") as run:
        raw = mc.dataset(frame(), "raw")
        _, _, train, test = split(raw)
        model = mc.traced(RidgeClassifier(random_state=0)).fit(train[["a", "b", "c"]], train.y)
        model.score(test[["a", "b", "c"]], test.y)
        mc.artifact("model", model)
    console = Console(width=200, record=True)
    console.print(mc.derivation(f"{run.id}:model").tree())
    text = console.export_text()
    evaluate = [line for line in text.splitlines() if "test@1 →" in line]
    assert evaluate and all("predicted on or scored by model" in line for line in evaluate), text
    assert any("train@1 →" in line and "RidgeClassifier.fit" in line for line in text.splitlines()), text


def test_a_pipelines_evaluate_edge_does_not_call_its_training_set_unregistered(store):
    # A reviewer's finding: a traced Pipeline fitted on train@1 and scored on test@1 showed, on the
    # evaluate edge, "data not registered → getitem → sklearn.fit_transform": the fit is in the
    # evaluation's log, and train@1 (the fit edge's source) was not known as registered there.
    from rich.console import Console

    data = frame(60, seed=6)
    with mc.run("fit", project="uses") as run:
        train = mc.dataset(data.iloc[:40], "train", role="train").frame()
        test = mc.dataset(data.iloc[40:], "test", role="test").frame()
        pipe = mc.traced(Pipeline([("standardscaler", StandardScaler()),
                                   ("clf", RidgeClassifier(random_state=0))]))
        model = pipe.fit(train[["a", "b", "c"]], train.y)
        model.score(test[["a", "b", "c"]], test.y)
        mc.artifact("model", model)
    console = Console(width=200, record=True)
    console.print(mc.derivation(f"{run.id}:model").tree())
    text = console.export_text()
    assert "not registered" not in text, text
    evaluate = text.split("evaluate")[1]
    scored = "test@1 → getitem ['a', 'b', 'c'] → StandardScaler.transform → predicted on or scored by"
    assert scored in evaluate, text
    assert "fit_transform" not in evaluate, text  # the fit is on the fit edge, from train@1
    fitted = "train@1 → getitem ['a', 'b', 'c'] → StandardScaler.fit_transform → RidgeClassifier.fit"
    assert fitted in text, text


class Vocabulary:
    def __init__(self, words):
        self.words = words


def test_a_load_refused_as_untrusted_reads_nothing(store):
    # A newcomer's flow: a scoring run failed to load a pickled model (untrusted) and was still
    # listed as the model's reader, and its outputs would have come from the model.
    from mlcontext.errors import UntrustedArtifactError

    with mc.run("make", project="uses") as maker:
        mc.artifact("vocab", Vocabulary(["a", "b"]))  # no data format holds it: a pickle
    with mc.run("refused", project="uses") as refused:
        with pytest.raises(UntrustedArtifactError):
            mc.load_artifact(maker.id, "vocab", trusted=False)
        mc.dataset(frame(), "made", direction="output")
    assert [a.name for a in mc.get_run(refused.id).artifacts if a.direction == "input"] == []
    assert mc.derivation("made@1").edges.empty
    with mc.run("loaded", project="uses") as loaded:
        assert mc.load_artifact(maker.id, "vocab", trusted=True).words == ["a", "b"]
    assert [a.name for a in mc.get_run(loaded.id).artifacts if a.direction == "input"] == ["vocab"]


def test_a_search_and_its_best_estimator_saved_in_one_run_keep_their_own_lineage(store):
    # A newcomer's finding: mc.artifact("search", search) then mc.artifact("model",
    # search.best_estimator_) gave the model an "evaluate" edge from the search, and both fit edges
    # lost their operations (the search had registered the refit's items as its own).
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    with mc.run("search", project="uses") as run:
        raw = mc.dataset(frame(), "raw")
        _, _, train, test = split(raw)
        pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
        search = mc.traced(GridSearchCV(pipe, {"clf__C": [0.1, 1.0]}, cv=2))
        search.fit(train[["a", "b", "c"]], train.y)
        search.score(test[["a", "b", "c"]], test.y)
        mc.artifact("search", search)
        mc.artifact("model", search.best_estimator_)
    model = f"model (run {run.id[:8]})"
    edges = mc.derivation(f"{run.id}:model").edges
    labels = dict(zip(mc.derivation(f"{run.id}:model").nodes["hash"],
                      mc.derivation(f"{run.id}:model").nodes["label"], strict=True))
    kinds = {(labels[s], k) for s, d, k in zip(edges["src"], edges["dst"], edges["kind"], strict=True)
             if labels[d] == model}
    assert ("train@1", "fit") in kinds and not any(src.startswith("search") for src, _ in kinds), kinds
    fit = next(e for e in edges.to_dict(orient="records")
               if labels[e["src"]] == "train@1" and e["kind"] == "fit" and labels[e["dst"]] == model)
    assert "LogisticRegression.fit" in fit["operations"], fit["operations"]


def test_a_component_saved_on_its_own_stays_upstream_of_the_pipeline_built_from_it(store):
    # A third reviewer's finding on the fix above: a PCA saved, then a Pipeline of that PCA and a new
    # Ridge saved: impact of the PCA no longer reached the Pipeline.
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge

    with mc.run("deploy", project="uses") as run:
        train = mc.dataset(frame(), "train", role="train").frame()
        pca = mc.traced(PCA(2)).fit(train[["a", "b", "c"]])
        mc.artifact("pca", pca)
        clf = mc.traced(Ridge()).fit(pca.transform(train[["a", "b", "c"]]), train.y)
        mc.artifact("deploy", Pipeline([("pca", pca), ("clf", clf)]))
    assert f"deploy (run {run.id[:8]})" in set(mc.consumers(f"{run.id}:pca").nodes["label"])



def test_a_run_that_logs_a_training_loss_and_crashes_evaluated_nothing(store):
    # A reviewer's finding (twelfth session): counting a failed run's plain test read once it logged
    # any metric after it counted a script that loads every split up front, logs its training loss
    # per epoch and crashes before it touches the test set. A plain metric says nothing of what it
    # was computed from: not counted (tried still lists the run's score, marked failed).
    test = frame(40, seed=7)
    with pytest.raises(RuntimeError, match="crash"), mc.run("trains-then-crashes", project="uses"):
        mc.dataset(frame(), "train-plain", role="train").frame()
        mc.dataset(test, "test", role="test").frame()
        for epoch in mc.loop("epoch", range(3)):
            mc.log("train_loss", 1.0 / (epoch + 1))
        raise RuntimeError("crash in epoch 3")
    assert mc.testuse("test").empty


@pytest.mark.parametrize("kind", ["frame", "array"])
def test_a_model_fitted_and_evaluated_on_the_registered_splits_themselves_uses_them(store, kind):
    # A newcomer fitted on the very objects it had registered as `train` and `test` (not on columns
    # taken from them): the fit and evaluate edges started at `clean`, and `testuse` said the test set
    # had never been evaluated. The split's own lineage must keep its operations once a model has
    # predicted on it (the evaluation's log and the split's log are the same bytes).
    with mc.run("fit", project="uses") as run:
        data = mc.dataset(frame(), "raw").frame()
        clean = data[data.a > -3]
        mc.dataset(clean, "clean")
        X, y = clean[["a", "b", "c"]], clean["y"]
        if kind == "array":
            X, y = X.to_numpy(), y.to_numpy()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        mc.dataset(X_train, "train", role="train")
        mc.dataset(X_test, "test", role="test")
        model = mc.traced(RidgeClassifier(random_state=0)).fit(X_train, y_train)
        model.predict(X_test)
        mc.artifact("model", model)
    model = f"model (run {run.id[:8]})"
    graph = mc.derivation(f"{run.id}:model")
    edges = labelled(graph)
    assert ("train@1", model, "fit") in edges and ("test@1", model, "evaluate") in edges
    assert ("clean@1", model, "evaluate") not in edges
    assert ("clean@1", model, "fit") in edges  # the target, taken from clean, not from a registered split
    assert mc.testuse("test")["evaluations"].tolist() == [1]
    split = mc.derivation("test")
    labels = dict(zip(split.nodes["hash"], split.nodes["label"], strict=True))
    operations = {(labels[s], labels[d]): o for s, d, o in zip(split.edges["src"], split.edges["dst"],
                                                               split.edges["operations"], strict=True)}
    assert any("take" in o or "getitem" in o for o in operations[("clean@1", "test@1")])


def test_an_evaluate_edge_from_unregistered_data_keeps_to_the_target_branch(store):
    # A reviewer's case: the edge `raw -> model` (evaluate) exists for the target taken from raw, but it
    # listed the registered test split's own chain (scaling included) once the split's edge was allowed
    # to run through the log's roots: only the edge's own target is never a boundary.
    from sklearn.linear_model import Ridge

    data = frame()
    with mc.run("fit", project="uses") as run:
        raw = mc.dataset(data, "raw").frame()
        clean = raw[raw.a > -2]
        X, y = clean[["a", "b"]].to_numpy(), clean["c"].to_numpy()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        scaler = mc.traced(StandardScaler()).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        mc.dataset(X_train, "train", role="train")
        mc.dataset(X_test, "test", role="test")
        model = mc.traced(Ridge()).fit(X_train, y_train)
        model.score(X_test, y_test)
        mc.artifact("model", model)
    graph = mc.derivation(f"{run.id}:model")
    labels = dict(zip(graph.nodes["hash"], graph.nodes["label"], strict=True))
    operations = {(labels[s], k, labels[d].split()[0]): o for s, d, k, o in zip(
        graph.edges["src"], graph.edges["dst"], graph.edges["kind"], graph.edges["operations"], strict=True)}
    assert operations[("test@1", "evaluate", "model")] == []
    assert not any("StandardScaler" in o for o in operations[("raw@1", "evaluate", "model")])
    assert "getitem 'c'" in operations[("raw@1", "evaluate", "model")]
    assert "StandardScaler.transform" in operations[("raw@1", "lineage", "test@1")]


def test_a_traced_slice_of_data_is_not_downstream_of_a_model_the_run_only_loaded(store):
    # A newcomer's scoring run loaded a model, cut a batch from clean data (traced) and registered it:
    # the batch had a run edge from the model, and `impact` of the model listed every batch. A
    # traced output whose lineage accounts for every value it came from has no run edge from a loaded
    # model; one built on plain values (the model's plain predictions wrapped again) keeps it.
    from sklearn.linear_model import LogisticRegression

    data = frame()
    with mc.run("train", project="uses") as train:
        raw = mc.dataset(data, "raw").frame()
        mc.artifact("model", mc.traced(LogisticRegression()).fit(raw[["a", "b"]], raw["y"]))
    with mc.run("score", project="uses"):
        model = mc.load_artifact(train.id, "model", project="uses")
        rows = mc.dataset_version("raw@1", project="uses").frame()
        batch = rows.iloc[0:40]
        mc.dataset(batch, "batch")
        plain = pd.DataFrame({"p": model.predict(batch.to_pandas()[["a", "b"]])})
        mc.dataset(mc.frame(plain) * 1, "wrapped", direction="output")
    model_node = f"model (run {train.id[:8]})"
    assert set(mc.derivation("batch@1", project="uses").nodes["label"]) == {"batch@1", "raw@1"}
    assert model_node in set(mc.derivation("wrapped@1", project="uses").nodes["label"])
    downstream = set(mc.consumers(f"{train.id}:model", project="uses").nodes["label"])
    assert "batch@1" not in downstream and "wrapped@1" in downstream


def test_a_loaded_search_wrapped_by_traced_predicts_through_its_traced_refit(store):
    # A newcomer's mc.traced(<loaded GridSearchCV>).predict(traced frame): scikit-learn warned that
    # X had no feature names (the refit, a fitted attribute, stayed untraced and got plain arrays)
    # and np.may_share_memory on a traced frame warned as an unhandled operation.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    data = frame()
    with mc.run("train", project="uses") as train:
        rows = mc.dataset(data, "raw").frame()
        search = mc.traced(GridSearchCV(Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]),
                                         {"lr__C": [0.1, 1.0]}, cv=3))
        search.fit(rows[["a", "b"]], rows["y"])
        mc.artifact("model", search)
    with mc.run("eval", project="uses"):
        test = mc.dataset(data.iloc[:40], "test", role="test").frame()
        loaded = mc.traced(mc.load_artifact(train.id, "model", project="uses"))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            predicted = loaded.predict(test[["a", "b"]])
    np.testing.assert_array_equal(np.asarray(predicted), search.predict(data.iloc[:40][["a", "b"]]))
    assert mc.testuse("test")["evaluations"].tolist() == [1]


def test_rows_picked_by_a_loaded_models_predictions_keep_the_model_as_a_source(store):
    # A reviewer's: positions or values taken from a loaded model's plain predictions become literals
    # (rows.iloc[positions], isin(values)); the lineage then looked complete and the model's run edge,
    # the only record of the dependency, was dropped.
    from sklearn.linear_model import LogisticRegression

    data = frame()
    with mc.run("train", project="uses") as train:
        mc.artifact("model", LogisticRegression().fit(data[["a", "b"]], data["y"]))
    with mc.run("score", project="uses"):
        model = mc.load_artifact(train.id, "model", project="uses")
        rows = mc.dataset(data, "raw").frame()
        picked = np.flatnonzero(model.predict(data[["a", "b"]]) == 1).tolist()
        mc.dataset(rows.iloc[picked], "flagged", direction="output")
        mc.dataset(rows[rows.a.isin(data.a[picked].tolist())], "flagged-by-value", direction="output")
    model_node = f"model (run {train.id[:8]})"
    for name in ("flagged@1", "flagged-by-value@1"):
        assert model_node in set(mc.derivation(name, project="uses").nodes["label"]), name


def test_a_traced_test_split_scored_by_a_plain_model_counts_when_the_run_finishes(store):
    # A newcomer's: a test split made from traced data, registered with role test, scored by a plain
    # model on `te.to_pandas()` (the fit inside an @mc.step gives one): testuse never counted it, so the
    # budget could never warn. Taken out of lineage, it counts when the run finishes, as plain test
    # data does; a run that fails does not, and preprocessing alone (transform) is still no evaluation.
    from sklearn.linear_model import LogisticRegression

    def score(fail: bool) -> None:
        with mc.run("eval", project="uses"):
            rows = mc.dataset(frame(), "raw").frame()
            train, test = train_test_split(rows, test_size=0.3, random_state=0)
            mc.dataset(test, "test", role="test")
            plain_train, plain_test = train.to_pandas(), test.to_pandas()
            model = LogisticRegression().fit(plain_train[["a", "b"]], plain_train.y)
            mc.log("acc", float(model.score(plain_test[["a", "b"]], plain_test.y)))
            if fail:
                raise RuntimeError("after the score")

    score(fail=False)
    assert mc.testuse("test")["evaluations"].tolist() == [1]
    with pytest.raises(RuntimeError):
        score(fail=True)
    assert mc.testuse("test")["evaluations"].tolist() == [1]
