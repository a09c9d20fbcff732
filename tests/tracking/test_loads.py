"""What ``mc.load_artifact`` records: the artifact under the name it was asked for, as the loading
run's input (``show``, ``diff``, ``RUN:NAME``), and a dataset version's frame or file as a read of that
very version, as ``mc.dataset_version(...).load()`` reads it.

Each case is a reviewer's finding on the first version of this change, which inferred the load's
name from any run that had saved the same bytes and found a version by bytes alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

import mlcontext as mc


def frame(seed: int = 0, n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


def inputs(run_id: str) -> list[tuple]:
    return sorted((a.name, a.meta.get("version"), a.meta.get("project"), tuple(a.meta.get("runs", ())))
                  for a in mc.get_run(run_id).artifacts if a.direction == "input")


def model() -> Ridge:
    return Ridge(alpha=0.5).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])


def test_a_load_is_named_as_asked_with_the_runs_that_had_saved_it(store):
    with mc.run("base", project="alpha") as alpha:
        mc.artifact("baseline", model())  # the same bytes, another project, another name
    with mc.run("train", project="beta") as train:
        mc.artifact("best", model())
        mc.artifact("final", model())  # the last epoch was the best: identical bytes
    with mc.run("score", project="beta") as score:
        mc.load_artifact(train.id, "final")
    with mc.run("later", project="beta"):
        mc.artifact("final", model())  # saved after the load: not where it came from
    assert inputs(score.id) == [("final", None, None, (train.id,))]
    # what a run loaded is found again by the name it was loaded as
    assert mc.load_artifact(score.id, "final").alpha == 0.5
    assert alpha.id not in inputs(score.id)[0][3]


def test_a_file_version_loaded_from_its_run_is_a_read_of_it(store, tmp_path):
    path = tmp_path / "train.csv"
    frame().to_csv(path, index=False)
    with mc.run("prep", project="p") as prep:
        mc.dataset(path, "train", role="train")
    mc.dataset(path, "train", project="q")  # the same bytes in another project
    with mc.run("fit", project="p") as fit:
        mc.load_artifact(prep.id, "train")
    assert inputs(fit.id) == [("train", 1, None, ())]
    ids = set(mc.find(data=mc.dataset_version("train@1", project="p"))["id"])
    assert fit.id in ids
    assert fit.id not in set(mc.find(data=mc.dataset_version("train@1", project="q"))["id"])


def test_an_artifact_ref_alone_of_a_version_is_a_read_of_it(store):
    with mc.run("prep", project="p") as prep:
        mc.dataset(frame(), "snap")
    mc.dataset(frame(), "snap", project="q")  # a twin
    ref = next(a for a in mc.get_run(prep.id).artifacts if a.name == "snap")
    with mc.run("use", project="p") as use:
        mc.load_artifact(ref)
    assert inputs(use.id) == [("snap", 1, None, ())]
    assert use.id in set(mc.find(data=mc.dataset_version("snap@1", project="p"))["id"])


def test_a_saved_artifact_with_a_datasets_bytes_is_no_read_of_that_dataset(store):
    data = frame()
    mc.dataset(data, "clean", project="p1")
    with mc.run("feat", project="p2") as feat:
        mc.artifact("features", data)
    with mc.run("use", project="p2") as use:
        mc.load_artifact(feat.id, "features")
    assert inputs(use.id) == [("features", None, None, (feat.id,))]
    assert use.id not in set(mc.find(data=mc.dataset_version("clean@1", project="p1"))["id"])


def test_loading_a_test_version_counts_as_reading_it(store):
    # as mc.dataset_version("test@1").load() does: counted as evaluated when the run finishes
    with mc.run("prepare", project="p") as prepare:
        mc.dataset(frame(1), "test", role="test")
    with mc.run("evaluate", project="p"):
        mc.load_artifact(prepare.id, "test")
    with mc.run("evaluate", project="p"):
        mc.dataset_version("test@1", project="p").load()
    assert mc.testuse("test")["evaluations"].tolist() == [3]


def test_a_version_read_and_loaded_is_listed_once(store):
    with mc.run("prep", project="p") as prep:
        mc.dataset(frame(), "train", role="train")
    with mc.run("fit", project="p") as fit:
        mc.dataset_version("train@1", project="p").load()
        mc.load_artifact(prep.id, "train")
    assert inputs(fit.id) == [("train", 1, None, ())]


def test_a_run_diff_says_which_model_each_run_loaded(sqlite_store, monkeypatch):
    # A reviewer's and a newcomer's finding: two scoring runs that loaded the models of different
    # training runs were "the same" in params, metrics, data read, code and environment.
    from click.testing import CliRunner

    from mlcontext.cli.main import cli

    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    monkeypatch.setenv("COLUMNS", "120")
    trained = []
    for alpha in (0.5, 5.0):
        with mc.run("train", project="p") as run:
            mc.artifact("model", Ridge(alpha=alpha).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]))
        trained.append(run.id)
    scored = []
    for source in (*trained, trained[1]):
        with mc.run("score", project="p") as run:
            mc.load_artifact(source, "model")
        scored.append(run.id)
    diff = mc.diff(scored[0], scored[1])
    (a,), (b,) = diff.loaded["model"]
    assert a != b and a == next(x.hash for x in mc.get_run(trained[0]).artifacts if x.name == "model")
    out = CliRunner().invoke(cli, ["diff", scored[0], scored[1]]).output
    assert "loaded from other runs: 1 differ" in out and a[:12] in out and b[:12] in out
    same = CliRunner().invoke(cli, ["diff", scored[1], scored[2]]).output
    assert f"loaded: the same, model {b[:12]}" in same
    assert mc.diff(scored[1], scored[2]).to_dict()["loaded"] == {}


def test_a_run_name_that_picks_a_crashed_run_says_so_and_names_the_one_that_saved_it(store):
    # A newcomer's finding: load_artifact("train", "model") took the newest run named train, which had
    # crashed, and said only "has no artifact named 'model'; it has ['code']".
    import pytest

    with mc.run("train", project="p") as good:
        mc.artifact("model", model())
    with pytest.raises(ValueError), mc.run("train", project="p"):
        raise ValueError("alpha=abc")
    with pytest.raises(mc.NotFoundError) as raised:
        mc.load_artifact("train", "model", project="p")
    message = str(raised.value)
    assert "failed: builtins.ValueError" in message and good.id[:8] in message
    assert f"mc.load_artifact('{good.id[:8]}', 'model')" in message
    assert mc.load_artifact(good.id[:8], "model").alpha == 0.5  # the hint works as printed


def test_a_load_does_not_hide_a_read_of_a_dataset_with_the_same_bytes(store):
    # A second reviewer's finding: features (saved with clean@1's bytes) loaded, and clean@1 read:
    # only features was listed, and the run diff said the run never read clean.
    data = frame()
    with mc.run("prep", project="p"):
        mc.dataset(data, "clean")
    with mc.run("feat", project="p") as feat:
        mc.artifact("features", data)
    with mc.run("use", project="p") as use:
        mc.dataset_version("clean@1", project="p").load()
        mc.load_artifact(feat.id, "features")
    with mc.run("only", project="p") as only:
        mc.load_artifact(feat.id, "features")
    assert inputs(use.id) == [("clean", 1, None, ()), ("features", None, None, (feat.id,))]
    # a run that only loaded the artifact read no clean, in its own project too
    found = set(mc.find(data="clean", project="p")["id"])
    assert use.id in found and only.id not in found


def _loaded_as_before_0007(project: str = "p", name: str = "model"):
    """A run saves a model as ``name``; another loads it, recorded as stores before revision 0007
    recorded loads (an access without a version, no input row): the two runs."""
    from mlcontext.store.context import ContextStore

    with mc.run("train", project=project) as train:
        mc.artifact(name, model())
    digest = next(a.hash for a in mc.get_run(train.id).artifacts if a.name == name)
    with mc.run("score", project=project) as score:
        pass
    ContextStore(mc.get_store().metadata).record_access(score.id, digest, role=None, user="old")
    return train, score


def test_loads_recorded_before_loads_were_named_still_show(store):
    # A second reviewer's finding: an upgraded store (loads recorded as accesses without a version,
    # no input row) lost every load from show and load_artifact(RUN, NAME).
    train, score = _loaded_as_before_0007()
    assert inputs(score.id) == [("model", None, None, (train.id,))]
    assert mc.load_artifact(score.id, "model").alpha == 0.5


def test_reading_old_content_with_direction_input_keeps_the_latest(store, tmp_path):
    # A second reviewer's finding: a run that only read last month's file made it the latest again
    jan, feb = tmp_path / "jan.csv", tmp_path / "feb.csv"
    frame(1).to_csv(jan, index=False)
    frame(2).to_csv(feb, index=False)
    for path in (jan, feb):
        with mc.run("ingest", project="p"):
            mc.dataset(path, "trips", direction="output")
    with mc.run("look", project="p"):
        mc.dataset(jan, "trips", role="train", direction="input")
    assert mc.dataset_version("trips", project="p").version == 2
    with mc.run("clean", project="p"):  # the raw file rolled back and registered: the latest again
        mc.dataset(jan, "trips", role="train")
    assert mc.dataset_version("trips", project="p").version == 1
    with mc.run("ingest", project="p"):
        mc.dataset(feb, "trips", direction="output")
    assert mc.dataset_version("trips", project="p").version == 2
    with mc.run("ingest", project="p"):  # made again: the latest again
        mc.dataset(jan, "trips", direction="output")
    assert mc.dataset_version("trips", project="p").version == 1


def test_an_old_load_is_named_as_its_projects_writer_before_it_named_it(store):
    # A third reviewer's finding: an upgraded store's load was named after another project's run
    # ("baseline"), and runs listed one that saved the bytes after the load.
    with mc.run("base", project="alpha"):
        mc.artifact("baseline", model())
    train, score = _loaded_as_before_0007("beta", "final")
    with mc.run("later", project="beta"):
        mc.artifact("final", model())
    assert inputs(score.id) == [("final", None, None, (train.id,))]
    assert mc.load_artifact(score.id, "final").alpha == 0.5


def _loaded_from_beta():
    """A run of project alpha saves a model as baseline; a run of beta saves the same bytes as final,
    and another run of beta loads beta's final: the three runs."""
    with mc.run("base", project="alpha") as alpha:
        mc.artifact("baseline", model())
    with mc.run("train", project="beta") as train:
        mc.artifact("final", model())
    with mc.run("score", project="beta") as score:
        mc.load_artifact(train.id, "final")
    return alpha, train, score


def _move_load_back(run_id: str, seconds: float) -> None:
    """As if the loading host's clock were ``seconds`` behind the saving host's."""
    from sqlalchemy import update

    from mlcontext.store import schema as t

    with mc.get_store().metadata.write() as conn:
        conn.execute(update(t.RunArtifact).where(t.RunArtifact.run_id == run_id)
                     .values(time=t.RunArtifact.time - seconds))
        conn.execute(update(t.Access).where(t.Access.run_id == run_id).values(time=t.Access.time - seconds))


def test_a_load_keeps_its_savers_when_the_loading_hosts_clock_is_behind(store):
    # Found in the final read of the tenth session: only loads recorded by older stores fell back
    # to every saver when none had saved before the load by the clocks; a named load lost them all.
    alpha, train, score = _loaded_from_beta()
    _move_load_back(score.id, 3600.0)
    assert inputs(score.id) == [("final", None, None, (train.id,))]  # saved under the name asked for
    assert alpha.id not in inputs(score.id)[0][3]


def test_an_old_load_keeps_its_savers_when_the_loading_hosts_clock_is_behind(store):
    train, score = _loaded_as_before_0007()
    _move_load_back(score.id, 3600.0)
    assert inputs(score.id) == [("model", None, None, (train.id,))]


def test_run_name_of_a_loaded_model_is_the_model_its_saving_run_saved(store, monkeypatch):
    # The first newcomer of the eleventh session: `lineage SCORE:model` and `diff SCORE:model
    # TRAIN:model` took the scoring run, which only loaded the model, for the run that made it: its
    # label, code and metrics, and "the fit was not traced" on one side of one and the same bytes.
    from click.testing import CliRunner

    from mlcontext.cli.main import cli

    with mc.run("train", project="p") as train:
        mc.artifact("model", model())
        mc.log("r2", 0.9)
    with mc.run("score", project="p") as score:
        mc.load_artifact(train.id, "model")
        mc.log("scored", 3.0)
    graph = mc.derivation(f"{score.id}:model")
    assert graph.root_label == f"model (run {train.id[:8]})"
    diff = mc.diff(f"{score.id}:model", f"{train.id}:model")
    assert diff.a == diff.b == f"model (run {train.id[:8]})"
    assert diff.metrics == {} and diff.metrics_shared == {"r2": 0.9}
    assert diff.code[0]["run"] == train.id
    monkeypatch.setenv("COLUMNS", "200")
    out = CliRunner().invoke(cli, ["diff", f"{score.id}:model", f"{train.id}:model"]).output
    assert "the same bytes" in out and "one model" in out
    # saved by two runs: no run is picked, the label says who loaded it
    with mc.run("retrain", project="p"):
        mc.artifact("model", model())
    with mc.run("score", project="p") as again:
        mc.load_artifact(train.id, "model")
    assert mc.derivation(f"{again.id}:model").root_label == f"model (loaded by run {again.id[:8]})"


def _set_times(run_id: str, when: float) -> None:
    from sqlalchemy import update

    from mlcontext.store import schema as t

    with mc.get_store().metadata.write() as conn:
        conn.execute(update(t.RunArtifact).where(t.RunArtifact.run_id == run_id).values(time=when))
        conn.execute(update(t.Access).where(t.Access.run_id == run_id).values(time=when))


def test_a_round_trip_load_names_no_later_saver(store):
    # A reviewer's finding on the eleventh session's fallback: a run that loaded back what it had
    # saved itself was said to have loaded a run that saved the same bytes after it ended.
    with mc.run("train", project="p") as own:
        mc.artifact("model", model())
        mc.load_artifact(own.id, "model")
    with mc.run("train", project="p"):
        mc.artifact("model", model())
    assert inputs(own.id) == [("model", None, None, ())]


def test_a_load_behind_the_clocks_names_the_first_saver_not_a_later_one(store):
    # Peer kind: dotCMS/core#37513, a node whose clock ran behind its peers compared its own time
    # with theirs and silently lost every event; here a load stamped before every save.
    with mc.run("train", project="q") as train:
        mc.artifact("final", model())
    with mc.run("score", project="q") as score:
        mc.load_artifact(train.id, "final")
    _move_load_back(score.id, 3600.0)
    with mc.run("retrain", project="q"):  # the same bytes, saved after the load in any clock
        mc.artifact("final", model())
    assert inputs(score.id) == [("final", None, None, (train.id,))]


def test_a_load_is_of_the_name_asked_for_before_the_clocks_are_asked(store):
    # The clock of the loading host is a little behind: after another project's save of the same
    # bytes under another name, before the save of the run asked for.
    alpha, train, score = _loaded_from_beta()
    _set_times(alpha.id, 1000.0)
    _set_times(score.id, 1001.0)
    _set_times(train.id, 1002.0)
    assert inputs(score.id) == [("final", None, None, (train.id,))]


def test_show_says_which_run_a_loaded_artifact_came_from(store, monkeypatch):
    # The first newcomer of the eleventh session: `show` listed a scoring run's model as a plain
    # input; only --json said it was loaded, and from which run.
    from click.testing import CliRunner

    from mlcontext.cli.main import cli

    with mc.run("train", project="p") as train:
        mc.artifact("model", model())
    with mc.run("score", project="p") as score:
        mc.load_artifact(train.id, "model")
    monkeypatch.setenv("COLUMNS", "200")
    out = CliRunner().invoke(cli, ["show", score.id]).output
    assert f"input, loaded from run {train.id[:8]}" in out, out


def test_a_load_behind_the_clocks_is_no_round_trip_of_bytes_saved_under_another_name(store):
    # A reviewer's finding: the loader had saved the same bytes as "candidate" before loading
    # base's "model" (base's host an hour ahead), and the load was taken for a round trip.
    with mc.run("base", project="g") as base:
        mc.artifact("model", model())
    _set_times(base.id, 4_000_000_000.0)  # its host's clock far ahead
    with mc.run("cand", project="g") as cand:
        mc.artifact("candidate", model())
        mc.load_artifact(base.id, "model")
    assert inputs(cand.id) == [("model", None, None, (base.id,))]


def test_the_model_loaded_is_the_one_asked_for_when_its_run_saved_several(store):
    # Peer kind: mlflow/mlflow#8150, a model version's "source run" link pointed at the last model
    # artifact its run logged, not the one registered. Here: a run saves `best` and `last` (other
    # bytes); a scoring run loads `best`; what it loaded, and RUN:NAME of it, is `best`.
    with mc.run("train", project="p") as train:
        mc.artifact("best", model())
        mc.artifact("last", Ridge(alpha=2.0).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]))
    with mc.run("score", project="p") as score:
        mc.load_artifact(train.id, "best")
    best = next(a.hash for a in mc.get_run(train.id).artifacts if a.name == "best")
    assert inputs(score.id) == [("best", None, None, (train.id,))]
    graph = mc.derivation(f"{score.id}:best")
    assert graph.root == best and graph.root_label == f"best (run {train.id[:8]})"
