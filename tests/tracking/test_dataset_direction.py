"""``mc.dataset(..., direction=)``: a plain value a run *made* (a scoring script's predictions, a file
it wrote) recorded as the run's output, linked to what the run read and loaded, instead of as a read.

Before, predictions registered from a plain frame were a read of the scoring run: ``lineage`` of
them was the version alone, and ``impact`` of the model never reached them.

Peers' failures of the same kind, as inputs of ours: Marquez #2492 (a job with two inputs and two
outputs linked only one output), renku-graph #172 (a file a script wrote had no lineage).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlcontext as mc
from mlcontext.errors import InvalidArgumentError, UsageError


def frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)})


def labels_of(graph: mc.Graph) -> set[tuple[str, str, str]]:
    labels = dict(zip(graph.nodes["hash"], graph.nodes["label"], strict=True))
    return {(labels[s], labels[d], k) for s, d, k in zip(graph.edges["src"], graph.edges["dst"],
                                                          graph.edges["kind"], strict=True)}


def train_and_score(direction: str | None):
    with mc.run("train", project="score") as train:
        data = mc.dataset(frame(), "train", role="train").frame().to_pandas()
        model = LogisticRegression().fit(data[["a", "b"]], data.y)  # plain scikit-learn
        mc.artifact("model", model)
    with mc.run("score", project="score") as score:
        batch = mc.dataset(frame(30, seed=1), "batch").frame().to_pandas()
        loaded = mc.load_artifact(train.id, "model")
        predictions = pd.DataFrame({"p": loaded.predict_proba(batch[["a", "b"]])[:, 1]})
        kwargs = {} if direction is None else {"direction": direction}
        version = mc.dataset(predictions, "predictions", **kwargs)
    return train, score, version


def test_a_plain_output_comes_from_what_the_run_read_and_loaded(store):
    train, score, version = train_and_score("output")
    assert version.ref == "predictions@1" and version.run_id == score.id
    model = f"model (run {train.id[:8]})"
    assert labels_of(mc.derivation("predictions@1")) >= {
        ("batch@1", "predictions@1", "run"), (model, "predictions@1", "run")}
    # who is downstream of the model: the scoring run's predictions
    assert "predictions@1" in set(mc.consumers(f"{train.id}:model").nodes["label"])
    record = mc.get_run(score.id)
    made = [a for a in record.artifacts if a.name == "predictions"]
    assert [a.direction for a in made] == ["output"]
    assert made[0].meta["dataset"] == "predictions" and made[0].meta["version"] == 1


def test_without_direction_a_plain_value_stays_a_read(store):
    # the default is unchanged: a plain value is data the run read (a raw file, a query's result)
    _, score, _ = train_and_score(None)
    assert labels_of(mc.derivation("predictions@1")) == set()
    record = mc.get_run(score.id)
    assert [a.direction for a in record.artifacts if a.name == "predictions"] == ["input"]


def test_an_output_file_is_linked_too(store, tmp_path):
    path = tmp_path / "out.csv"
    with mc.run("export", project="score"):
        data = mc.dataset(frame(), "raw").frame().to_pandas()
        data.assign(z=data.a * 2).to_csv(path, index=False)
        mc.dataset(path, "exported", direction="output")
    assert labels_of(mc.derivation("exported@1")) == {("raw@1", "exported@1", "run")}


def test_two_outputs_of_one_run_both_come_from_its_reads_and_later_reads_are_no_source(store):
    with mc.run("two", project="score"):
        mc.dataset(frame(), "left")
        mc.dataset(frame(seed=2), "right")
        mc.dataset(frame(seed=3), "out1", direction="output")
        mc.dataset(frame(seed=4), "out2", direction="output")
        mc.dataset(frame(seed=5), "late")  # read after both outputs were made
    for out in ("out1@1", "out2@1"):
        assert labels_of(mc.derivation(out)) == {("left@1", out, "run"), ("right@1", out, "run")}
    assert mc.consumers("late@1").edges.empty


def test_an_output_test_set_is_not_an_evaluation(store):
    # making a held-out set is not evaluating on it; reading it (the default) is
    with mc.run("split", project="score"):
        mc.dataset(frame(), "raw")
        mc.dataset(frame(20, seed=5), "holdout", role="test", direction="output")
    assert mc.testuse("holdout").empty
    with mc.run("eval", project="score"):
        mc.dataset(frame(20, seed=5), "holdout", role="test")
    assert mc.testuse("holdout")["evaluations"].tolist() == [1]


def test_input_keeps_a_traced_value_a_read(store):
    # a traced frame derived in the run is an output by default; direction="input" says otherwise
    with mc.run("read", project="score") as run:
        raw = mc.dataset(frame(), "raw").frame()
        mc.dataset(raw[raw.a > 0], "positive", direction="input")
    assert labels_of(mc.derivation("positive@1")) == set()
    record = mc.get_run(run.id)
    assert [a.direction for a in record.artifacts if a.name == "positive"] == ["input"]


def test_the_first_output_of_a_run_that_read_nothing_has_no_sources(store):
    with mc.run("gen", project="score"):
        mc.dataset(frame(), "synthetic", direction="output")
    assert labels_of(mc.derivation("synthetic@1")) == set()
    assert mc.dataset_version("synthetic@1").run_id is not None


def test_bad_directions_say_what_to_do(store):
    with pytest.raises(InvalidArgumentError, match=r"direction must be one of \('input', 'output'\)"):
        with mc.run("bad", project="score"):
            mc.dataset(frame(), "x", direction="out")
    with pytest.raises(UsageError, match=r"no run is active: call it inside `with mc.run"):
        mc.dataset(frame(), "x", direction="output", project="score")
    with pytest.raises(mc.NotFoundError):  # neither call recorded anything
        mc.versions("x", project="score")


def test_an_output_comes_from_a_test_set_read_as_plain_data_before_it(store):
    # A reviewer's finding, the getting-started example itself: a plain test read is counted only
    # when the run ends, and the output made after it had no edge from it.
    train, _, _ = train_and_score("output")
    with mc.run("eval", project="score"):
        model = mc.load_artifact(train.id, "model")
        test = mc.dataset(frame(30, seed=7), "test", role="test").frame().to_pandas()
        scores = pd.DataFrame({"p": model.predict_proba(test[["a", "b"]])[:, 1]})
        mc.dataset(scores, "scores", direction="output")
    model_label = f"model (run {train.id[:8]})"
    assert labels_of(mc.derivation("scores@1")) >= {("test@1", "scores@1", "run"),
                                                     (model_label, "scores@1", "run")}
    assert mc.testuse("test")["evaluations"].tolist() == [1]


def test_content_registered_again_is_the_latest_again(store):
    # A newcomer's finding: prepare.py re-run with its default params made train@1's content again,
    # and `dataset_version("train")` still answered train@2 (an older run's data), silently.
    # (prepare.py makes train with plain pandas, as the newcomer's second project did)
    with mc.run("prepare", project="score"):
        mc.dataset(frame(seed=1), "train", role="train")
    with mc.run("prepare", project="score"):
        mc.dataset(frame(seed=2), "train", role="train")
    assert mc.dataset_version("train", project="score").version == 2
    with mc.run("look", project="score"):  # a run that says it only reads the old snapshot
        mc.dataset(frame(seed=1), "train", role="train", direction="input")
    assert mc.dataset_version("train", project="score").version == 2
    with mc.run("prepare", project="score"):
        again = mc.dataset(frame(seed=1), "train", role="train")
    assert (again.version, again.new) == (1, False)
    latest = mc.dataset_version("train", project="score")
    assert latest.version == 1
    pd.testing.assert_frame_equal(latest.load(), frame(seed=1))
    listed = mc.versions("train", project="score")
    assert listed["version"].tolist() == [1, 2]  # latest first: what `train` alone names
    assert listed["registered"].iloc[0] > listed["created"].iloc[0]


def test_versions_say_which_run_registered_each_content_last(store, tmp_path):
    # Peer kind: treeverse/dvc#1667, a stage re-run whose output "didn't change" was skipped, so what
    # was recorded no longer said which run produced the current output.
    # The third newcomer's finding: `versions` showed the run that made train@1 beside the time a
    # later run registered it again, so the re-run looked like the first run's work.
    with mc.run("prepare", project="score") as first:
        mc.dataset(frame(seed=1), "train", role="train")
    with mc.run("prepare", project="score") as second:
        mc.dataset(frame(seed=2), "train", role="train")
    with mc.run("look", project="score"):  # reads the old snapshot only: registers nothing
        mc.dataset(frame(seed=1), "train", role="train", direction="input")
    with mc.run("prepare", project="score") as third:
        mc.dataset(frame(seed=1), "train", role="train")
    listed = mc.versions("train", project="score").set_index("version")
    assert listed.loc[1, "run_id"] == first.id and listed.loc[1, "registered_by"] == third.id
    assert listed.loc[2, "run_id"] == second.id and listed.loc[2, "registered_by"] == second.id
    mc.dataset(frame(seed=2), "train", project="score")  # outside a run: no run registered it
    listed = mc.versions("train", project="score").set_index("version")
    assert listed.loc[2, "run_id"] == second.id and pd.isna(listed.loc[2, "registered_by"])
    from click.testing import CliRunner

    from mlcontext.cli.main import cli

    out = CliRunner().invoke(cli, ["versions", "train", "-p", "score", "--json"])
    assert out.exit_code == 0, out.output
    import json

    rows = {r["version"]: r for r in json.loads(out.output)}
    assert rows[1]["registered_by"] == third.id and rows[2]["registered_by"] is None


def test_versions_of_a_store_from_before_registered_by(store):
    # Rows a store at revision 0007 wrote have no registered_by: the creating run registered a
    # content never registered again; one registered again was registered by a run not recorded.
    from sqlalchemy import update

    from mlcontext.store import schema as t

    with mc.run("prepare", project="old") as first:
        mc.dataset(frame(seed=1), "train")
    with mc.run("prepare", project="old") as second:
        mc.dataset(frame(seed=2), "train")
    with mc.run("prepare", project="old"):
        mc.dataset(frame(seed=1), "train")
    with mc.get_store().metadata.write() as conn:
        conn.execute(update(t.DatasetVersion).values(registered_by=None))
    listed = mc.versions("train", project="old").set_index("version")
    assert listed.loc[1, "run_id"] == first.id and pd.isna(listed.loc[1, "registered_by"])
    assert listed.loc[2, "registered_by"] == second.id
    with mc.get_store().metadata.write() as conn:  # from before revision 0007: created_at counts
        conn.execute(update(t.DatasetVersion).values(registered_at=None))
    listed = mc.versions("train", project="old").set_index("version")
    assert listed.loc[1, "registered_by"] == first.id and listed.loc[2, "registered_by"] == second.id


def test_registered_again_within_one_clock_tick_names_the_run_that_did(store, monkeypatch):
    # A reviewer's finding: a content registered again in the clock tick it was made in (a coarse
    # clock) was said registered by the run that made it.
    import mlcontext.store.context as context

    class Tick:
        @staticmethod
        def time() -> float:
            return 1_000_000.0

    monkeypatch.setattr(context, "time", Tick)
    with mc.run("prepare", project="tick") as first:
        mc.dataset(frame(seed=1), "train")
    with mc.run("prepare", project="tick") as again:
        mc.dataset(frame(seed=1), "train")
    listed = mc.versions("train", project="tick").set_index("version")
    assert listed.loc[1, "run_id"] == first.id and listed.loc[1, "registered_by"] == again.id


def test_a_deleted_run_registered_nothing(store):
    with mc.run("prepare", project="gone") as first:
        mc.dataset(frame(seed=1), "train")
    with mc.run("prepare", project="gone") as again:
        mc.dataset(frame(seed=1), "train")
    mc.get_store().metadata.delete_run(again.id)
    listed = mc.versions("train", project="gone").set_index("version")
    assert listed.loc[1, "run_id"] == first.id and pd.isna(listed.loc[1, "registered_by"])


def test_a_dataset_registered_in_a_loop_carries_its_indices(store):
    # A newcomer's finding: mc.load_artifact(run, "preds", day=1) said the run saved 'preds' only at
    # {} though it registered one version per day; artifacts carried the indices, datasets did not.
    with mc.run("batch", project="score") as run:
        for day in mc.loop("day", range(3)):
            mc.dataset(frame(5, seed=day), "preds", direction="output")
    assert [dict(a.context) for a in mc.get_run(run.id).artifacts if a.name == "preds"] == \
        [{"day": 0}, {"day": 1}, {"day": 2}]
    loaded = mc.load_artifact(run.id, "preds", day=1)
    assert loaded.equals(frame(5, seed=1))


def test_a_test_split_the_run_made_is_no_source_of_its_untraced_model(store):
    # A reviewer's finding (twelfth session): what a run derived with traced lineage became a run-edge
    # source of the plain outputs it made later, the test split included: a model fitted untraced on
    # the train split then read as fitted on the test set too (leakage, to an audit of test-set use).
    mc.dataset(frame(200), "raw", project="score")
    with mc.run("split-train", project="score") as run:
        data = mc.dataset_version("raw@1", project="score").frame()
        train, test = data.iloc[:150], data.iloc[150:]
        mc.dataset(train, "train", direction="output")
        mc.dataset(test, "test", role="test", direction="output")
        mc.artifact("model", {"coef": float(train.to_pandas()["a"].mean())})  # made untraced from train
    sources = {src for src, dst, kind in labels_of(mc.derivation(f"{run.id}:model"))}
    assert "train@1" in sources and "test@1" not in sources
    assert mc.consumers("test@1").edges.empty


def test_plain_predictions_come_from_the_plain_model_the_run_saved_before(store):
    # A reviewer's finding (twelfth session, older than it): one script fitting a model untraced,
    # saving it and registering its plain predictions left them unlinked: impact of the model missed
    # them. Split into a training and a scoring script they were linked (the scoring run loads it).
    from sklearn.linear_model import Ridge

    train, test = frame(80, seed=1), frame(20, seed=2)
    with mc.run("train-and-predict", project="score") as run:
        mc.dataset(train, "train", role="train")
        held_out = mc.dataset(test, "test", role="test").frame().to_pandas()
        model = Ridge().fit(train[["a", "b"]], train["y"])
        mc.artifact("model", model)
        mc.dataset(pd.DataFrame({"p": model.predict(held_out[["a", "b"]])}), "preds", direction="output")
    model_label = f"model (run {run.id[:8]})"
    assert "preds@1" in set(mc.consumers(f"{run.id}:model").nodes["label"])
    assert (model_label, "preds@1", "run") in labels_of(mc.derivation("preds@1"))
