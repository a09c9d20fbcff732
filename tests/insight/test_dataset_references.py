"""Every dataset reference resolves the same way in every question, and one that names nothing is an
error saying what was wrong and what to pass, never an empty answer (docs/references.md).

A newcomer's project (a cleaning run saving ``diabetes-clean@1..3``, a test set ``diabetes-test``,
training runs logging ``test_r2``) found these wrong or empty:

1. ``NAME@VERSION`` silently ignored by the whole-dataset questions: ``testuse diabetes-test@1`` said
   "no test set has been evaluated yet", ``tried --dataset diabetes-clean@2`` returned ``[]``,
   ``versions diabetes-clean@1`` said "no dataset 'diabetes-clean@1'", ``mc.history("...@2")`` and
   ``mc.testuse("...@1")`` were empty (a hash and a ``DatasetVersion`` already named their dataset);
2. references naming nothing answered emptily: ``tried --metric typo`` (a table of ``-``),
   ``testuse nonexist`` and ``testuse diabetes-clean`` (exists, never a test set) alike, ``versions``
   of the 12-digit hash prefix its own table prints, ``drift NAME@1 RUN:model`` ("no dataset version").
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.errors import AmbiguousReferenceError, NotFoundError, ReferenceTypeError


def strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not RFC 8259 JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"bmi": rng.normal(size=n), "bp": rng.normal(size=n)})
    return frame.assign(target=2 * frame["bmi"] + rng.normal(size=n))


@pytest.fixture
def project(store):
    """``diabetes-clean@1..3`` (three cleanings), ``diabetes-test`` (role test), four training runs on
    versions 1, 2, 2 and 3, each evaluating the one test version and logging ``test_r2``."""
    data = _frame()
    for k in range(3):
        with mc.run("clean", project="diabetes"):
            mc.dataset(data.iloc[: 150 + 10 * k], "diabetes-clean")
    runs = []
    for alpha, version in ((1.0, 1), (0.5, 2), (2.0, 2), (4.0, 3)):
        with mc.run("train", project="diabetes") as run:
            mc.param("alpha", alpha)
            train = mc.dataset_version(f"diabetes-clean@{version}").frame()
            test = mc.dataset(data.iloc[180:], "diabetes-test", role="test").frame()
            model = mc.traced(Ridge(alpha=alpha)).fit(train[["bmi", "bp"]], train["target"])
            mc.log("test_r2", model.score(test[["bmi", "bp"]], test["target"]))
            mc.artifact("model", model)
        runs.append(run.id)
    return runs


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args))


def cli_json(*args: str) -> object:
    result = cli_run(*args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    return strict(result.output)


def fails(*args: str, kind: type[Exception] = NotFoundError) -> str:
    """The command fails (exit 1, the library's error: main() prints it as one line on stderr)."""
    result = cli_run(*args)
    assert result.exit_code == 1 and isinstance(result.exception, kind), (result.output, result.exception)
    return str(result.exception)


# -- 1. NAME@VERSION names its dataset in whole-dataset questions ----------------------------------------

def test_name_at_version_names_its_dataset_in_every_whole_dataset_question(project):
    latest, first = mc.dataset_version("diabetes-clean"), mc.dataset_version("diabetes-clean@1")
    for ref in ("diabetes-clean@1", "diabetes-clean@2", first, first.content_hash):
        assert mc.versions(ref)["version"].tolist() == [3, 2, 1], ref
        assert mc.history(ref).equals(mc.history("diabetes-clean")), ref
        assert mc.tried(ref, "test_r2").equals(mc.tried("diabetes-clean", "test_r2")), ref
    assert len(mc.tried("diabetes-clean@2", "test_r2").dropna(subset=["test_r2"])) == 4
    assert latest.ref == "diabetes-clean@3"
    use = mc.testuse("diabetes-test@1")  # was empty
    assert use["evaluations"].tolist() == [4] and use.equals(mc.testuse("diabetes-test"))


def test_name_at_version_on_the_command_line(project):
    assert [r["evaluations"] for r in cli_json("testuse", "diabetes-test@1")] == [4]
    assert "no test set" not in cli_run("testuse", "diabetes-test@1").output
    rows = cli_json("tried", "--dataset", "diabetes-clean@2", "--metric", "test_r2")  # was []
    assert sorted(r["run_id"] for r in rows if r["test_r2"] is not None) == sorted(project)
    assert [r["version"] for r in cli_json("versions", "diabetes-clean@1")] == [3, 2, 1]
    assert cli_json("history", "diabetes-clean@2") == cli_json("history", "diabetes-clean")


@pytest.mark.parametrize("ask", ["versions", "history", "tried", "testuse", "dataset_version", "derivation",
                                 "consumers", "find", "drift"])
def test_a_version_that_does_not_exist_is_not_found(project, ask):
    questions = {"versions": mc.versions, "history": mc.history, "testuse": mc.testuse,
                 "tried": lambda ref: mc.tried(ref, "test_r2"), "dataset_version": mc.dataset_version,
                 "derivation": mc.derivation, "consumers": mc.consumers,
                 "find": lambda ref: mc.find(data=ref),
                 "drift": lambda ref: mc.drift("diabetes-clean@1", ref)}
    with pytest.raises(NotFoundError, match=r"'diabetes-clean' has no version 99: its versions are 1, 2, 3"):
        questions[ask]("diabetes-clean@99")
    with pytest.raises(NotFoundError, match="a version is a number"):
        questions[ask]("diabetes-clean@two")


@pytest.mark.parametrize("command", [("versions",), ("history",), ("testuse",), ("lineage",), ("impact",),
                                     ("tried", "--metric", "test_r2", "--dataset"), ("find", "--data"),
                                     ("drift", "diabetes-clean@1"), ("diff", "diabetes-clean@1")])
def test_a_version_that_does_not_exist_fails_every_command(project, command):
    assert "has no version 99" in fails(*command, "diabetes-clean@99")


# -- 2. references that name nothing ---------------------------------------------------------------------

def test_a_metric_never_logged_is_an_error_listing_the_logged_ones(project):
    with pytest.raises(NotFoundError, match=r"metric 'typo' was never logged by the 7 run\(s\) that read "
                                            r"'diabetes-clean'; they logged: test_r2"):
        mc.tried("diabetes-clean", "typo")
    assert "did you mean 'test_r2'" in fails("tried", "--dataset", "diabetes-clean", "--metric", "test_R2")
    assert "they logged: test_r2" in fails("tried", "--dataset", "diabetes-clean", "--metric", "typo",
                                           "--json")
    assert not mc.tried("diabetes-clean", "test_r2")["test_r2"].dropna().empty


def test_testuse_tells_a_missing_dataset_from_one_never_tested(project):
    with pytest.raises(NotFoundError, match="no dataset 'nonexist'.*diabetes-clean, diabetes-test"):
        mc.testuse("nonexist")
    assert "no dataset 'nonexist'" in fails("testuse", "nonexist")
    assert mc.testuse("diabetes-clean").empty  # it exists: the answer is "never", not an error
    said = cli_run("testuse", "diabetes-clean")
    assert said.exit_code == 0 and "no test set has been evaluated yet" not in said.output
    assert "'diabetes-clean' has never been evaluated as a test set" in " ".join(said.output.split())
    assert cli_json("testuse", "diabetes-clean") == []


def test_a_hash_prefix_is_not_looked_up_and_the_error_says_what_to_pass(project):
    version = mc.dataset_version("diabetes-clean@2")
    shown = version.content_hash[:12]  # what the `versions` table prints
    for ask in (mc.versions, mc.history, mc.testuse, mc.dataset_version, mc.derivation,
                lambda ref: mc.tried(ref, "test_r2"), lambda ref: mc.find(data=ref)):
        with pytest.raises(NotFoundError, match=f"{shown}.* is the start of the hash of diabetes-clean@2 "
                                                r".*taken whole.*pass diabetes-clean@2, or the full "
                                                r"content_hash from `mlcontext versions diabetes-clean "
                                                r"--json`"):
            ask(shown)
    assert "pass diabetes-clean@2" in fails("versions", shown)
    assert "no dataset version's hash starts with it" in fails("versions", "abcdef123456")
    assert [r["version"] for r in cli_json("versions", version.content_hash)] == [3, 2, 1]


def test_a_name_nothing_has_is_not_found_with_the_names_that_exist(project):
    for ask in (mc.versions, mc.history, mc.testuse, lambda ref: mc.tried(ref, "test_r2"),
                mc.dataset_version, mc.derivation, mc.consumers, lambda ref: mc.find(data=ref)):
        with pytest.raises(NotFoundError, match="no dataset 'diabetes-cleen'; did you mean 'diabetes-clean'"):
            ask("diabetes-cleen")
    for command in (("versions",), ("history",), ("testuse",), ("lineage",), ("impact",),
                    ("tried", "--metric", "test_r2", "--dataset"), ("find", "--data")):
        assert "no dataset 'nonexist'" in fails(*command, "nonexist")
    with pytest.raises(NotFoundError, match=r"'train' is run .*diabetes/train.*takes a dataset"):
        mc.versions("train")


def test_run_name_of_a_model_where_a_dataset_is_asked_says_what_it_names(project):
    model = f"{project[0][:8]}:model"
    message = fails("drift", "diabetes-clean@1", model, kind=ReferenceTypeError)
    assert message.startswith("drift compares dataset versions and stored frames")
    assert "names a model (sklearn.linear_model._ridge.Ridge), artifact 'model' of run" in message
    with pytest.raises(ReferenceTypeError, match="^drift compares dataset versions and stored frames; .* "
                                                 "names a model"):
        mc.drift(model, "diabetes-clean@1")
    for ask in (lambda ref: mc.drift("diabetes-clean@1", ref), mc.dataset_version, mc.versions, mc.history,
                mc.testuse, lambda ref: mc.tried(ref, "test_r2"), lambda ref: mc.find(data=ref)):
        with pytest.raises(ReferenceTypeError, match="names a model .*not a dataset version; pass a dataset"):
            ask(model)
    read = f"{project[0][:8]}:diabetes-clean"  # what the run read: a dataset version, said by its name
    with pytest.raises(ReferenceTypeError,
                       match="names dataset version diabetes-clean@1 .*pass diabetes-clean@1"):
        mc.versions(read)
    with pytest.raises(NotFoundError, match="has no artifact 'modl'.*'model'"):
        mc.drift("diabetes-clean@1", f"{project[0][:8]}:modl")
    assert "has no artifact 'modl'" in fails("lineage", f"{project[0][:8]}:modl")
    with pytest.raises(NotFoundError, match="names nothing: no run"):
        mc.history("nosuchrun:model")


def test_name_at_version_pins_its_project_and_is_ambiguous_across_projects(store):
    # A reviewer's finding: `versions houses-raw@3` listed alpha's three versions and beta's one,
    # while the same version's hash and DatasetVersion pinned alpha.
    data = _frame()
    for k in range(3):
        mc.dataset(data.iloc[: 100 + 10 * k], "houses", project="alpha")
    mc.dataset(data.iloc[:100], "houses", project="beta")
    for text in ("houses@3", "houses@2"):
        assert set(mc.versions(text)["project"]) == {"alpha"}, text
        assert len(mc.versions(text)) == 3
    assert len(mc.versions(mc.dataset_version("houses@3"))) == 3
    with pytest.raises(AmbiguousReferenceError, match=r"\['alpha', 'beta'\]"):
        mc.versions("houses@1")
    assert len(mc.versions("houses@1", project="beta")) == 1
    result = CliRunner().invoke(cli, ["versions", "houses@3", "--json"])
    assert result.exit_code == 0 and {r["project"] for r in strict(result.output)} == {"alpha"}


def test_run_name_of_one_of_two_datasets_with_the_same_bytes_names_its_own(store):
    # A reviewer's finding: RUN:twin-a pointed to twin-b@1 (the version was found by its bytes only).
    data = _frame(50)
    with mc.run("twin", project="twins") as run:
        mc.dataset(data.iloc[:20].assign(bmi=data["bmi"].iloc[:20] * 2), "twin-a")
        mc.dataset(data.iloc[:20].assign(bmi=data["bmi"].iloc[:20] * 2), "twin-b")
    with pytest.raises(ReferenceTypeError, match="pass twin-a@1"):
        mc.versions(f"{run.id}:twin-a")


def test_a_name_of_another_project_is_named_as_such(store):
    # A reviewer's finding: with -p beta, a dataset of project alpha got "did you mean" other names.
    mc.dataset(_frame(30), "only-in-alpha", project="alpha")
    mc.dataset(_frame(30), "other", project="beta")
    with pytest.raises(NotFoundError, match="is a dataset of project 'alpha'; pass -p/--project alpha"):
        mc.versions("only-in-alpha", project="beta")


def test_a_hex_looking_name_with_a_typo_gets_the_close_name(store):
    mc.dataset(_frame(30), "cafe1234", project="hexes")
    with pytest.raises(NotFoundError, match="did you mean 'cafe1234'"):
        mc.versions("cafe12")


def test_diff_of_run_name_references_to_stored_frames_is_a_dataset_diff(store):
    # A reviewer's finding: `diff RUN:houses-clean houses-clean@2` said "cannot compare model", and
    # two RUN:NAME of dataset versions were compared as bytes.
    data = _frame(80)
    ids = []
    for k in range(2):
        with mc.run("clean", project="frames") as run:
            mc.dataset(data.iloc[: 40 + 10 * k].assign(extra=k) if k else data.iloc[:40], "frames-clean")
            ids.append(run.id)
    result = mc.diff("frames-clean@1", f"{ids[1]}:frames-clean")
    assert result.drift.added == ("extra",)
    both = mc.diff(f"{ids[0]}:frames-clean", f"{ids[1]}:frames-clean")
    assert both.drift.added == ("extra",)


def test_diff_project_narrows_the_run_reading_too(store):
    # A reviewer's finding: `diff NAME NAME@2 -p alpha` was ambiguous with a run of that name in beta.
    data = _frame(60)
    mc.dataset(data.iloc[:30], "shared-name", project="alpha")
    mc.dataset(data.iloc[:40], "shared-name", project="alpha")
    with mc.run("shared-name", project="beta"):
        mc.log("x", 1.0)
    result = mc.diff("shared-name", "shared-name@1", project="alpha")
    assert hasattr(result, "drift")


def test_project_narrows_run_name_references(store):
    # A second newcomer's finding: `lineage train:model -p cancer` answered about wine's run `train`.
    data = _frame(40)
    ids = {}
    for project in ("wine", "cancer"):
        with mc.run("train", project=project) as run:
            mc.artifact("model", mc.traced(Ridge()).fit(data[["bmi"]], data["target"]))
            ids[project] = run.id
    for project, run_id in ids.items():
        graph = mc.derivation("train:model", project=project)
        assert run_id[:8] in graph.root_label, (project, graph.root_label)
    with pytest.raises(NotFoundError, match="no project 'nosuch' \\(projects: cancer, wine\\)"):
        mc.derivation("train:model", project="nosuch")
    with pytest.raises(NotFoundError, match="projects 'alpha', 'beta'; pass -p/--project with one of them"):
        mc.dataset(data, "in-two", project="alpha")
        mc.dataset(data, "in-two", project="beta")
        mc.versions("in-two", project="gamma")
