"""Downstream of data is what was made from it *after* it existed (a newcomer's finding, thirteenth
session): a new raw version cleaned into the same bytes as an older clean version made ``impact`` list
every model ever trained on those bytes, trained before the raw version existed. A node reached by an
edge goes on to what was done with it after that edge, by runs that did not derive it themselves, and
only those runs' reads are listed (MarquezProject/marquez#2640 and #3085 are the same kind: lineage
that merges what different runs did with one dataset)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

import mlcontext as mc

RAW_1 = pd.DataFrame({"x": [1.0, 2.0, 3.0, -1.0], "y": [2.0, 4.0, 7.0, 0.0]})
# raw@2: one more row, which the cleaning drops: clean@1's bytes again
RAW_2 = pd.DataFrame({"x": [1.0, 2.0, 3.0, -1.0, -5.0], "y": [2.0, 4.0, 7.0, 0.0, 9.0]})


def _clean(raw: pd.DataFrame) -> None:
    with mc.run("clean", project="p"):
        frame = mc.dataset(raw, "raw").frame()
        mc.dataset(frame[frame.x >= 0], "clean")


def _train(derive_from: pd.DataFrame | None = None, intercept: bool = True) -> str:
    with mc.run("train", project="p") as run:
        if derive_from is None:
            clean = mc.dataset_version("clean@1", project="p").frame()
        else:  # cleans again itself: the bytes are its own derivation
            raw = mc.dataset(derive_from, "raw").frame()
            clean = raw[raw.x >= 0]
            mc.dataset(clean, "clean")
        model = LinearRegression(fit_intercept=intercept)  # (other bytes: another node)
        mc.artifact("model", mc.traced(model).fit(clean[["x"]], clean["y"]))
    return f"model (run {run.id[:8]})"


def test_a_model_trained_before_a_new_raw_version_is_not_downstream_of_it(store):
    _clean(RAW_1)
    before = _train()
    _clean(RAW_2)  # raw@2 -> the same clean bytes, clean@1
    impact = mc.consumers("raw@2", project="p")
    assert set(impact.nodes["label"]) == {"raw@2", "clean@1"}
    assert set(impact.readers["run_name"]) == {"clean"}  # the training run read clean@1 before
    assert before in set(mc.consumers("raw@1", project="p").nodes["label"])
    assert "raw@2" not in set(mc.derivation(f"{before.split()[-1][:-1]}:model", project="p").nodes["label"])


def test_a_model_trained_after_it_is_downstream_unless_its_run_cleaned_again_itself(store):
    _clean(RAW_1)
    _clean(RAW_2)
    after = _train()  # read clean@1 after both raw versions were cleaned into it
    own = _train(derive_from=RAW_1, intercept=False)  # made clean@1 again itself, from raw@1
    on_2 = set(mc.consumers("raw@2", project="p").nodes["label"])
    assert after in on_2 and own not in on_2
    on_1 = set(mc.consumers("raw@1", project="p").nodes["label"])
    assert after in on_1 and own in on_1


def test_a_reader_on_a_machine_with_a_slow_clock_stays_a_reader(store, monkeypatch):
    # A reviewer's: readers were placed by the runs' own clocks while the walk orders edges as the
    # store recorded them; a training machine 2 minutes behind lost its read of clean@1 from impact's
    # readers although its model was in the graph. A run with edges out of a node is placed as its
    # edges are.
    import time as clock

    _clean(RAW_1)
    real = clock.time
    monkeypatch.setattr(clock, "time", lambda: real() - 120)
    model = _train()
    monkeypatch.setattr(clock, "time", real)
    impact = mc.consumers("raw@1", project="p")
    assert model in set(impact.nodes["label"])
    assert set(impact.readers["run_name"]) == {"clean", "train"}


def test_an_output_stored_by_two_runs_is_named_after_the_run_on_the_path(store):
    # A newcomer's impact of raw@3 named an output `test_pred (run 88782a5a)`, a run from before
    # raw@3 existed; the edge was another run's, which made the same bytes after it.
    def derive() -> str:
        with mc.run("derive", project="p") as run:
            clean = mc.dataset_version("clean@1", project="p").frame()
            mc.artifact("out", (clean.x * 2).to_numpy())
        return run.id

    _clean(RAW_1)
    before = derive()
    _clean(RAW_2)
    after = derive()
    labels = set(mc.consumers("raw@2", project="p").nodes["label"])
    assert f"out (run {after[:8]})" in labels and f"out (run {before[:8]})" not in labels
    assert f"out (run {before[:8]})" in set(mc.consumers("raw@1", project="p").nodes["label"])


def test_impact_of_a_runs_output_leaves_out_what_was_done_with_the_same_bytes_before_it(store):
    # A newcomer's: run B saved a model with the bytes run A's had; impact of B's model listed the
    # scores a run computed from A's model before B ran.
    from sklearn.linear_model import LogisticRegression

    data = pd.DataFrame({"a": np.arange(20.0)})
    data["y"] = (data.a > 9).astype(int)
    with mc.run("prep", project="m"):
        mc.dataset(data, "data")

    def train() -> str:
        with mc.run("train", project="m") as run:
            rows = mc.dataset_version("data@1", project="m").load()
            mc.artifact("model", LogisticRegression(random_state=0).fit(rows[["a"]], rows.y))
        return run.id

    def score(model_run: str, name: str) -> None:
        with mc.run("score", project="m"):
            model = mc.load_artifact(model_run, "model", project="m")
            scores = pd.DataFrame({name: model.predict_proba(data[["a"]])[:, 1]})  # (bytes of its own)
            mc.dataset(scores, name, direction="output")

    first = train()
    score(first, "scores")
    second = train()  # the same bytes again
    score(second, "later-scores")
    assert set(mc.consumers(f"{second}:model", project="m").nodes["label"]) == {
        f"model (run {second[:8]})", "later-scores@1"}
    assert "scores@1" in set(mc.consumers(f"{first}:model", project="m").nodes["label"])


def test_a_run_that_read_nothing_is_placed_by_when_it_saved(store):
    # A newcomer's exact case: run B fitted its model on data it read from nowhere mlcontext saw (no
    # edge into the model), so nothing placed it in time, and impact of B's model listed the scores a
    # run had computed from run A's identical model before B ran.
    from sklearn.linear_model import LogisticRegression

    data = pd.DataFrame({"a": np.arange(20.0)})
    labels = (data.a > 9).astype(int)
    with mc.run("trainA", project="m") as first:
        mc.artifact("model", LogisticRegression(random_state=0).fit(data, labels))
    with mc.run("scoreS", project="m"):
        model = mc.load_artifact(first.id, "model", project="m")
        mc.dataset(pd.DataFrame({"p": model.predict_proba(data)[:, 1]}), "scores", direction="output")
    with mc.run("trainB", project="m") as second:
        mc.artifact("model", LogisticRegression(random_state=0).fit(data, labels))
    impact = mc.consumers(f"{second.id}:model", project="m")
    assert set(impact.nodes["label"]) == {f"model (run {second.id[:8]})"}
    assert impact.readers.empty
    assert "scores@1" in set(mc.consumers(f"{first.id}:model", project="m").nodes["label"])
