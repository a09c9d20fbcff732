"""A dataset name two projects use: a question that does not say which project is an
``AmbiguousReferenceError`` naming both, never an answer that merges them (``docs/references.md``,
"Ambiguity is an error"). A second newcomer's two-project setup (``wine`` and ``cancer``, each with
``clean``) got ``history clean`` showing two different ``clean@2`` as one dataset's history."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.errors import AmbiguousReferenceError, NotFoundError


def _project(project: str, seed: int, runs: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(2):  # two versions of clean in each project
        frame = pd.DataFrame({"a": rng.normal(size=30), "y": rng.normal(size=30)})
        with mc.run("prep", project=project):
            raw = mc.dataset(frame, "raw").frame()
            mc.dataset(raw[raw["a"] > -1.0], "clean", role="test")
    for k in range(runs):
        with mc.run("train", project=project):
            mc.param("k", k)
            clean = mc.dataset_version("clean", project=project).frame()
            mc.log("score", float(clean["a"].mean()) + k)


@pytest.fixture
def two_projects(store):
    _project("wine", 0, runs=3)
    _project("cancer", 1, runs=2)
    return store


QUESTIONS = {
    "history": lambda **kw: mc.history("raw", **kw),
    "tried": lambda **kw: mc.tried("clean", "score", **kw),
    "testuse": lambda **kw: mc.testuse("clean", **kw),
    "versions": lambda **kw: mc.versions("clean", **kw),
    "find": lambda **kw: mc.find(data="clean", **kw),
}


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_a_name_of_two_projects_is_ambiguous_without_a_project(two_projects, question):
    with pytest.raises(AmbiguousReferenceError, match=r"\['cancer', 'wine'\]"):
        QUESTIONS[question]()


@pytest.mark.parametrize("question", sorted(QUESTIONS))
def test_with_a_project_the_answer_is_that_projects_alone(two_projects, question):
    wine, cancer = QUESTIONS[question](project="wine"), QUESTIONS[question](project="cancer")
    if question == "versions":
        assert list(wine["version"]) == [2, 1] and list(cancer["version"]) == [2, 1]
        assert set(wine["content_hash"]).isdisjoint(cancer["content_hash"])
    elif question == "tried":
        assert (len(wine), len(cancer)) == (3, 2)
    elif question == "find":  # the runs that read or wrote clean: 2 prep and the train runs
        assert set(wine["project"]) == {"wine"} and set(cancer["project"]) == {"cancer"}
        assert (len(wine), len(cancer)) == (5, 4)
    elif question == "testuse":
        assert wine["evaluations"].tolist() == [3] and cancer["evaluations"].tolist() == [2]
    else:  # history of raw: each project's two prep runs filtered it
        assert wine["runs"].tolist() == [2] and cancer["runs"].tolist() == [2]


@pytest.mark.parametrize("command", [["history", "raw"], ["tried", "--dataset", "clean", "--metric", "score"],
                                     ["testuse", "clean"], ["versions", "clean"],
                                     ["find", "--data", "clean"]])
def test_the_cli_names_both_projects_and_answers_with_p(two_projects, command):
    result = CliRunner().invoke(cli, [*command, "--json"])
    assert result.exit_code == 1 and isinstance(result.exception, AmbiguousReferenceError), result.output
    assert "['cancer', 'wine']" in str(result.exception)
    answered = CliRunner().invoke(cli, [*command, "-p", "wine", "--json"])
    assert answered.exit_code == 0, answered.output
    json.loads(answered.output)


def test_the_same_bytes_in_another_project_are_not_its_runs(store):
    """A project that registered byte-identical versions (``twin``, copying ``wine``'s data) but
    trained nothing: ``-p twin`` must not count ``wine``'s runs, which read the same bytes."""
    _project("wine", 0, runs=3)
    _project("twin", 0, runs=0)  # the same seed: the same frames, the same hashes
    wine_hashes = set(mc.versions("clean", project="wine")["content_hash"])
    assert set(mc.versions("clean", project="twin")["content_hash"]) == wine_hashes
    assert len(mc.tried("clean", "score", project="twin")) == 0
    assert mc.testuse("clean", project="twin").empty
    assert set(mc.find(data="clean", project="twin")["project"]) == {"twin"}
    assert mc.history("raw", project="twin")["runs"].tolist() == [2]
    assert mc.history("raw", project="wine")["runs"].tolist() == [2]


def test_a_hash_two_datasets_hold_names_both_in_lineage(store):
    """``lineage HASH`` of bytes two projects registered labelled the graph with one of them, picked
    silently; the graph is the bytes' (one node), labelled with both, or with a project's alone."""
    _project("wine", 0, runs=0)
    _project("twin", 0, runs=0)
    digest = mc.versions("clean", project="wine")["content_hash"].iloc[0]
    for question in (mc.derivation, mc.consumers):
        assert question(digest).root_label == "twin/clean@2 = wine/clean@2"
        for project in ("wine", "twin"):
            graph = question(digest, project=project)
            assert graph.root_label == graph.nodes["label"].iloc[0] == "clean@2", graph.nodes


def _two_cleans() -> str:
    for project, rows in (("wine", 10), ("cancer", 12)):
        mc.dataset(pd.DataFrame({"x": np.arange(float(rows))}), "clean", project=project)
    return str(mc.versions("clean", project="cancer")["content_hash"].iloc[0])


def test_a_hash_of_another_project_is_pointed_to(store):
    """A hash (or the 12 digits the table shows) of cancer's version, asked with -p wine, was "no
    dataset version's hash starts with it"; the prefix hint without -p said "pass clean@1", which
    is ambiguous (both projects have a clean@1)."""
    digest = _two_cleans()
    for call in (lambda: mc.versions(digest, project="wine"),
                 lambda: mc.versions(digest[:12], project="wine"),
                 lambda: mc.derivation(digest, project="wine")):
        with pytest.raises(NotFoundError, match=r"of project 'cancer' \(pass clean@1 with -p cancer\)"):
            call()
    with pytest.raises(NotFoundError, match=r"pass clean@1 with -p cancer"):
        mc.versions(digest[:12])


def _copied_project() -> dict[str, str]:
    """``wine``: raw -> clean (run clean) -> a model (run train); ``winecopy``: byte-identical raw and
    clean, copied by run import-copy, and nothing downstream."""
    raw = pd.DataFrame({"a": np.arange(12.0), "y": np.arange(12.0) % 2})
    runs = {}
    for project, run_name in (("wine", "clean"), ("winecopy", "import-copy")):
        version = mc.dataset(raw, "raw", project=project)
        with mc.run(run_name, project=project) as run:
            frame = version.frame()
            mc.dataset(frame[frame["a"] > 1.0], "clean", project=project)
        runs[project] = run.id
    with mc.run("train", project="wine") as run:
        clean = mc.dataset_version("clean", project="wine").frame()
        model = mc.traced(Ridge(alpha=1.0)).fit(clean[["a"]], clean["y"])
        mc.artifact("model", model)
    runs["train"] = run.id
    return runs


def test_impact_of_a_copied_dataset_is_its_projects_own(store):
    """A newcomer's finding: ``impact raw@1 -p winecopy`` showed wine's whole downstream (its clean
    versions, models and runs) as if winecopy had them, because the bytes are one node."""
    runs = _copied_project()
    copy = mc.consumers("raw@1", project="winecopy")
    assert set(copy.edges["run_id"]) == {runs["winecopy"]}, copy.edges
    assert set(copy.readers["run_id"]) == {runs["winecopy"]}
    assert sorted(copy.nodes["label"]) == ["clean@1", "raw@1"]
    wine = mc.consumers("raw@1", project="wine")
    assert set(wine.edges["run_id"]) == {runs["wine"], runs["train"]}
    assert runs["winecopy"] not in set(wine.readers["run_id"])


def test_lineage_of_a_model_follows_its_projects_runs_only(store):
    """``lineage wine-run:model`` said ``raw@1 lineage · 2 runs: run clean, run import-copy``: the
    other project's copying run was shown making wine's clean@1."""
    runs = _copied_project()
    graph = mc.derivation(f"{runs['train']}:model")
    assert runs["winecopy"] not in set(graph.edges["run_id"]), graph.edges
    assert "clean@1" in set(graph.nodes["label"]) and "raw@1" in set(graph.nodes["label"])
    whole = mc.derivation(mc.versions("clean", project="wine")["content_hash"].iloc[0])
    assert whole.root_label == "wine/clean@1 = winecopy/clean@1"  # no project: both, every edge
    assert {runs["wine"], runs["winecopy"]} <= set(whole.edges["run_id"])


def test_run_colon_name_of_a_dataset_version_is_labelled_as_the_version(store):
    """``lineage import-copy:clean`` labelled the root ``clean (run 510e2a7f)``, not ``clean@1``."""
    _copied_project()
    assert mc.derivation("import-copy:clean").root_label == "clean@1"


def test_a_node_held_by_two_datasets_is_labelled_with_the_projects_own(store):
    """A reviewer's finding: with ``raw`` in wine and a byte copy ``raw-backup`` in project zzz,
    ``lineage clean -p wine`` labelled the source ``raw-backup@1``, picked silently."""
    raw = pd.DataFrame({"a": np.arange(8.0)})
    mc.dataset(raw, "raw-backup", project="zzz")
    version = mc.dataset(raw, "raw", project="wine")
    with mc.run("prep", project="wine"):
        frame = version.frame()
        mc.dataset(frame[frame["a"] > 2.0], "clean", project="wine")
    labels = set(mc.derivation("clean", project="wine").nodes["label"])
    assert labels == {"clean@1", "raw@1"}, labels
    assert set(mc.derivation("raw", project="wine").nodes["label"]) == {"raw@1"}
    assert mc.derivation(version.content_hash).root_label == "wine/raw@1 = zzz/raw-backup@1"


def test_history_keeps_another_projects_run_that_read_this_dataset(store):
    """A reviewer's finding: a run of project ``analysis`` that read wine's raw@1 (by its project) and
    filtered it vanished from ``history raw -p wine`` once history kept to wine's own runs."""
    version = mc.dataset(pd.DataFrame({"a": np.arange(8.0)}), "raw", project="wine")
    mc.dataset(pd.DataFrame({"a": np.arange(8.0)}), "raw", project="copy")  # the same bytes
    with mc.run("look", project="analysis"):
        frame = mc.dataset_version("raw", project="wine").frame()
        mc.dataset(frame[frame["a"] > 3.0], "subset", project="analysis")
    assert version.content_hash == mc.versions("raw", project="copy")["content_hash"].iloc[0]
    assert mc.history("raw", project="wine")["transformation"].tolist() == ["filter a > 3.0"]
    assert mc.history("raw", project="copy").empty  # its bytes were read, but as wine's version


def test_find_data_keeps_to_the_dataset_not_its_bytes(store):
    """A reviewer's finding: ``find --data clean-copy`` (a name only in project ``other``, holding
    wine's clean bytes) listed wine's prep and train runs, which never touched it."""
    _project("wine", 0, runs=2)
    clean = mc.dataset_version("clean@1", project="wine")
    data = clean.load()  # (outside the run: the copying run itself never reads wine's version)
    with mc.run("copy", project="other") as copying:
        mc.dataset(data, "clean-copy", project="other")
    assert mc.find(data="clean-copy")["id"].tolist() == [copying.id]
    assert copying.id not in set(mc.find(data=clean)["id"])
    assert set(mc.find(data=clean)["project"]) == {"wine"}


def test_hints_work_as_printed_when_a_name_is_in_two_projects(store):
    """A newcomer's finding: ``find --data clean@3 -p wine`` ended "(`mlcontext versions clean` lists
    them)", and that command is ambiguous; the prefix hint's "versions clean --json" too."""
    digest = _two_cleans()
    with pytest.raises(NotFoundError, match=r"`mlcontext versions clean -p wine` lists them"):
        mc.find(data="clean@3", project="wine")
    with pytest.raises(AmbiguousReferenceError):  # which project's versions to list is not known
        mc.versions("clean@3")
    with pytest.raises(NotFoundError, match=r"`mlcontext versions clean -p cancer --json`"):
        mc.versions(digest[:12])


def test_narrow_tables_keep_the_columns_that_answer(store, monkeypatch):
    """A newcomer's findings at 80 columns: ``versions`` left out rows and content_hash (which errors
    refer to) but kept user and run_id; ``tried`` left out version, so designs on clean@1 and
    clean@2 could not be told apart; ``tried --dataset clean@2`` was titled as if about clean@2."""
    _project("wine", 0, runs=2)
    with mc.run("train", project="wine"):
        mc.dataset_version("clean@1", project="wine").frame()
        mc.log("score", 0.5)
    monkeypatch.setenv("COLUMNS", "80")
    shown = CliRunner().invoke(cli, ["versions", "clean", "-p", "wine"]).output
    for column in ("version", "rows", "content_hash"):
        assert column not in shown.split("left out")[-1] and column in shown, shown
    tried = CliRunner().invoke(
        cli, ["tried", "--dataset", "clean@2", "--metric", "score", "-p", "wine"]).output
    assert "clean@1" in tried and "clean@2" in tried and "every version" in tried, tried


def test_graph_edges_say_the_project_of_their_run(store):
    """A newcomer's finding: nodes and edges in ``lineage --json`` had no project; byte-identical data
    of two projects is one node, and only the edge can say whose run made it."""
    runs = _copied_project()
    whole = mc.derivation(mc.versions("clean", project="wine")["content_hash"].iloc[0])
    made = dict(zip(whole.edges["run_id"], whole.edges["project"], strict=True))
    assert made[runs["wine"]] == "wine" and made[runs["winecopy"]] == "winecopy"
    shown = CliRunner().invoke(cli, ["lineage", "clean@1", "-p", "wine", "--json"])
    assert {e["project"] for e in json.loads(shown.output)["edges"]} == {"wine"}, shown.output
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(whole.tree())
    assert f"{runs['winecopy'][:8]} (winecopy)" in console.export_text(), console.export_text()


def test_runs_of_other_projects_that_used_this_projects_version_stay_in_its_graph(store):
    """A reviewer's findings, once lineage/impact kept to the project's runs at bytes other projects
    hold too: a run of project analysis that read wine's raw@1 by its project vanished from
    ``impact raw@1 -p wine``; a run of project etl that created wine's clean@1 vanished from its
    lineage; a model fitted on wine's raw@1 by a run of analysis (which keeps a byte copy) lost the
    ingest edge and was labelled with the copy."""
    src = mc.dataset(pd.DataFrame({"a": np.arange(20.0), "y": np.arange(20.0) % 3}), "src", project="wine")
    with mc.run("ingest", project="wine") as ingest:
        frame = src.frame()
        raw = mc.dataset(frame[frame["a"] > 1], "raw", project="wine")
    mc.dataset(raw.load(), "raw-import", project="analysis")  # a byte copy
    with mc.run("look", project="analysis") as look:
        data = mc.dataset_version("raw", project="wine").frame()
        mc.dataset(data[data["a"] > 5], "subset", project="analysis")
        model = mc.traced(Ridge(alpha=1.0)).fit(data[["a"]], data["y"])
        mc.artifact("model", model)
    with mc.run("etl", project="etl") as etl:
        data = mc.dataset_version("raw", project="wine").frame()
        mc.dataset(data[data["a"] > 10], "clean", project="wine")
    mc.dataset(mc.dataset_version("clean", project="wine").load(), "clean", project="backup")
    impact = mc.consumers("raw@1", project="wine")
    assert {look.id, etl.id} <= set(impact.edges["run_id"]) and look.id in set(impact.readers["run_id"])
    assert set(mc.derivation("clean", project="wine").edges["run_id"]) == {etl.id, ingest.id}
    fitted = mc.derivation(f"{look.id}:model")
    assert ingest.id in set(fitted.edges["run_id"]), fitted.edges
    # (the question is analysis's run: wine's versions are named with their project)
    assert "wine/raw@1" in set(fitted.nodes["label"]) and "raw-import" not in " ".join(fitted.nodes["label"])
    copy = mc.consumers("raw-import@1", project="analysis")  # nobody used the copy
    assert copy.edges.empty and copy.readers.empty, (copy.edges, copy.readers)


def test_a_graph_of_several_projects_names_every_version_with_its_project(store):
    """A newcomer's finding: one tree showed ``clean@1`` (churn's) beside ``archive/clean@1 =
    churn/clean@2``, and ``lineage RUN:model -p churn`` of another project's run showed that
    project's versions unqualified, as if churn's."""
    runs = _copied_project()
    digest = mc.versions("raw", project="wine")["content_hash"].iloc[0]
    labels = [label for label in mc.consumers(digest).nodes["label"] if "@" in label]
    assert labels and all("/" in label for label in labels), labels
    other = mc.derivation(f"{runs['train']}:model", project="winecopy").nodes["label"].tolist()
    assert "wine/clean@1" in other, other


def test_a_plain_copy_has_no_operations_of_the_project_that_computed_those_bytes(store):
    """A newcomer's finding: ``lineage clean -p archive`` (archive stored a plain copy of wine's
    clean) said "computed from data not registered → filter ...": wine's operation, without its run."""
    _copied_project()
    mc.dataset(mc.dataset_version("clean", project="wine").load(), "clean", project="archive")
    assert mc.derivation("clean", project="archive").operations == []
    assert mc.derivation("clean", project="wine").edges["kind"].tolist() == ["lineage"]


def test_find_data_keeps_readers_by_artifact_and_registrations_from_other_projects(store):
    """A reviewer's findings on find --data keeping to the dataset: runs that read the version
    through ``load_artifact`` (no version recorded then; now the version the writer registered) were
    dropped, and so was a second run of
    project etl that registered wine's clean again (the same bytes: not its creator). Such uses
    record no version: once another project holds the same bytes as its own dataset, they could be
    either's, and only what was recorded is counted."""
    mc.dataset(pd.DataFrame({"a": np.arange(12.0)}), "raw", project="wine")
    etl = []
    for _ in range(2):
        with mc.run("etl", project="etl") as run:
            frame = mc.dataset_version("raw", project="wine").frame()
            mc.dataset(frame[frame["a"] > 3], "clean", project="wine")
        etl.append(run.id)
    with mc.run("report", project="analysis") as report:
        mc.load_artifact(etl[0], "clean")
    assert set(mc.find(data="clean")["id"]) == {*etl, report.id}  # (find's -p keeps to its runs)
    wine_clean = mc.dataset_version("clean", project="wine")
    data = wine_clean.load()  # (outside the run: it never reads wine's version)
    with mc.run("mine", project="other") as own:  # its own clean, byte-identical
        mc.dataset(data, "clean", project="other")
    # its creator, and the run that loaded the creator's frame (a read of that very version, since
    # load_artifact records it); etl's second registration of the same bytes records no version
    assert set(mc.find(data=wine_clean)["id"]) == {etl[0], report.id}
    assert set(mc.find(data=mc.dataset_version("clean", project="other"))["id"]) == {own.id}


def test_a_version_made_by_another_projects_run_keeps_its_operations(store, tmp_path):
    """A reviewer's finding: ``lineage clean -p wine`` of a version a run of project etl computed from
    a file lost its operations (``filter a > 3``) once they were kept to wine's own runs."""
    path = tmp_path / "raw.csv"
    pd.DataFrame({"a": np.arange(10.0)}).to_csv(path, index=False)
    with mc.run("etl", project="etl"):
        raw = mc.pd.read_csv(path, name="raw")
        mc.dataset(raw[raw["a"] > 3], "clean", project="wine")
    assert mc.derivation("clean", project="wine").operations == ["filter a > 3"]


def test_a_copy_made_by_a_run_links_the_two_projects_lineage(store):
    """A reviewer's finding: run import of project mirror read wine's clean@1 and registered it as
    mirror's clean; the lineage of mirror's model lost wine's computation, and wine's impact lost
    mirror's model."""
    src = mc.dataset(pd.DataFrame({"a": np.arange(20.0), "y": np.arange(20.0) % 3}), "src", project="wine")
    with mc.run("clean", project="wine") as cleaning:
        frame = src.frame()
        mc.dataset(frame[frame["a"] > 2], "clean", project="wine")
    with mc.run("import", project="mirror"):
        mc.dataset(mc.dataset_version("clean", project="wine").frame(), "clean", project="mirror")
    with mc.run("train", project="mirror") as train:
        frame = mc.dataset_version("clean", project="mirror").frame()
        mc.artifact("model", mc.traced(Ridge(alpha=1.0)).fit(frame[["a"]], frame["y"]))
    lineage = mc.derivation(f"{train.id}:model")
    assert cleaning.id in set(lineage.edges["run_id"]) and "wine/src@1" in set(lineage.nodes["label"])
    assert train.id in set(mc.consumers("src", project="wine").edges["run_id"])


def test_history_leaves_out_a_run_that_read_another_projects_twin(store):
    """A reviewer's finding: run peek of project wine read mirror's raw@1 (wine's bytes) and filtered
    it; ``history raw -p wine`` counted it as wine's, where impact/find/tried said mirror's."""
    for project in ("wine", "mirror"):
        mc.dataset(pd.DataFrame({"a": np.arange(10.0)}), "raw", project=project)
    with mc.run("peek", project="wine"):
        frame = mc.dataset_version("raw", project="mirror").frame()
        mc.dataset(frame[frame["a"] > 7], "top", project="wine")
    assert mc.history("raw", project="wine").empty
    assert mc.history("raw", project="mirror")["runs"].tolist() == [1]


def test_loading_a_runs_registered_frame_is_a_read_of_that_version(store):
    """Left open last session: ``load_artifact`` of a frame a run registered recorded no version, so
    with the same bytes in two projects ``find --data`` and ``consumers`` could not say which one was
    read. The load is now a read of the version the writing run registered."""
    frame = pd.DataFrame({"a": np.arange(6.0)})
    with mc.run("prep", project="wine") as prep:
        mc.dataset(frame, "clean")
    mc.dataset(frame, "clean", project="archive")  # the same bytes, another project's version
    with mc.run("look", project="analysis") as look:
        loaded = mc.load_artifact(prep.id, "clean")
    pd.testing.assert_frame_equal(loaded, frame)
    reads = [(a.meta.get("dataset"), a.meta.get("version"), a.meta.get("project"))
             for a in mc.get_run(look.id).artifacts if a.direction == "input"]
    assert reads == [("clean", 1, "wine")]
    wine = mc.dataset_version("clean@1", project="wine")
    archive = mc.dataset_version("clean@1", project="archive")
    assert look.id in set(mc.find(data=wine)["id"])
    assert look.id not in set(mc.find(data=archive)["id"])
    assert mc.testuse().empty  # a load is no evaluation
