"""References take the API's own objects, errors are never hidden by a fallback, output people and
programs rely on (issue 11, items 11-17).

Peers with the same kinds of fault, kept as small inputs of our own:
- MLflow #16555/#16628 and fasttrackml #435 (the Aim API): NaN metric values break JSON consumers;
- MLflow #25858 and #6227: ties in an ordering broken by nothing, so pages and listings disagree;
- MLflow #7416: listings ordered differently by different calls (insertion order vs name).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli.main import cli
from mlcontext.cli.render import fmt_duration, json_text
from mlcontext.errors import AmbiguousReferenceError, InvalidNameError, NotFoundError, ReferenceTypeError
from mlcontext.insight.diff import DatasetDiff
from mlcontext.tracking.params import coerce_override


def strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"not RFC 8259 JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def frame(seed: int, n: int = 300, scale: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(0, 1, n) * scale, "city": rng.choice(["a", "b"], n)})


def test_diff_and_drift_take_dataset_versions(store):
    a = mc.dataset(frame(0), name="t", project="p")
    b = mc.dataset(frame(1, scale=3.0), name="t", project="p")
    result = mc.diff(a, b)  # was: TypeError: argument of type 'DatasetVersion' is not iterable
    assert isinstance(result, DatasetDiff) and (result.a, result.b) == ("t@1", "t@2")
    assert result.drift.drifted == ["x"]
    assert mc.drift(a, b).drifted == ["x"] and mc.drift(a, "t@2").drifted == ["x"]
    assert mc.dataset_version(b).ref == "t@2"
    assert mc.versions(a)["version"].tolist() == [2, 1]  # newest first, as every listing
    assert mc.derivation(a).root_label == "t@1" and mc.consumers(b).root_label == "t@2"
    assert mc.history(a).empty and mc.tried(a, "acc").empty
    assert mc.find(data=a).empty


def test_run_objects_are_references(store):
    with mc.run("r", project="p") as run:
        mc.log("acc", 0.5)
        mc.artifact("w.bin", b"weights")
    with mc.run("r", project="p") as other:
        mc.log("acc", 0.7)
    record = mc.get_run(run)
    assert record.id == run.id and mc.get_run(record).id == run.id
    assert mc.metrics("acc", run=record)["value"].tolist() == [0.5]
    assert mc.metrics("acc", run=[run, other])["value"].tolist() == [0.5, 0.7]
    assert mc.load_artifact(run, "w.bin") == b"weights"
    weights = next(a for a in record.artifacts if a.name == "w.bin")
    assert mc.load_artifact(weights) == b"weights"
    assert mc.diff(run, other).metrics == {"acc": (0.5, 0.7)}
    assert mc.diff(record, mc.get_run(other)).metrics == {"acc": (0.5, 0.7)}
    with pytest.raises(ReferenceTypeError, match="cannot compare"):
        mc.diff(run, mc.dataset(frame(0), name="t", project="p"))
    with pytest.raises(ReferenceTypeError, match="expected a run"):
        mc.get_run(42)


def test_a_name_in_two_projects_is_an_ambiguity_not_a_missing_run(store):
    mc.dataset(frame(0), name="trips", project="east")
    mc.dataset(frame(1), name="trips", project="east")
    mc.dataset(frame(2), name="trips", project="west")
    mc.dataset(frame(3), name="trips", project="west")
    with pytest.raises(AmbiguousReferenceError, match=r"projects \['east', 'west'\]"):
        mc.diff("trips@1", "trips@2")  # was: "no run named 'trips@1'"
    assert mc.diff("trips@1", "trips@2", project="west").a == "trips@1"
    result = CliRunner().invoke(cli, ["diff", "trips@1", "trips@2"])
    assert result.exit_code != 0 and "east" in str(result.exception or result.output)
    out = CliRunner().invoke(cli, ["diff", "trips@1", "trips@2", "-p", "west", "--json"])
    assert out.exit_code == 0, out.output
    assert strict(out.output)["a"] == "trips@1"


def test_both_readings_missing_says_both(store):
    with pytest.raises(NotFoundError, match="no dataset version and no run") as info:
        mc.diff("nothing@1", "nothing@2")
    assert "dataset version" in str(info.value) and "no run" in str(info.value)


def test_a_name_that_is_both_a_dataset_and_a_run_is_ambiguous(store):
    mc.dataset(frame(0), name="baseline", project="p")
    with mc.run("baseline", project="p"):
        pass
    with pytest.raises(AmbiguousReferenceError, match="names both dataset version baseline@1"):
        mc.diff("baseline", "baseline")


@pytest.mark.parametrize("name", ["sales@eu", "sales:eu", "0123456789abcdef0123456789abcdef"])
def test_dataset_names_that_cannot_be_referenced_are_refused(store, name):
    with pytest.raises(InvalidNameError, match="invalid dataset name"):
        mc.dataset(frame(0), name=name, project="p")


def test_run_names_with_the_artifact_separator_are_refused(store):
    with pytest.raises(InvalidNameError, match="RUN:ARTIFACT"):
        mc.run("a:b", project="p")
    with mc.run("a@b", project="p") as run:  # '@' does not separate the parts of a run reference
        pass
    assert mc.get_run("a@b").id == run.id


@pytest.mark.parametrize(("raw", "default", "expected"), [
    ("08", 3, 8), ("8", 3, 8), ("007", 3, 7), ("-08", 3, -8), ("1_000", 3, 1000), ("0x1f", 3, 31),
    ("1e3", 3, 1000), ("08", np.int64(3), 8), ("0.5", 0.1, 0.5), ("08", 0.1, 8.0),
])
def test_int_overrides_are_decimal(raw, default, expected):
    value = coerce_override("fold", raw, default)
    assert value == expected and type(value) is type(default)


@pytest.mark.parametrize("raw", ["1.5", "abc", "inf", ""])
def test_bad_int_overrides_are_refused(raw):
    with pytest.raises(mc.ParamError, match="fold"):
        coerce_override("fold", raw, 3)


def test_empty_results_keep_their_dtypes(store):
    with mc.run("r", project="p"):
        mc.param("lr", 0.1)
        mc.log("acc", 0.5)
        mc.dataset(frame(0), name="d", role="test")
    mc.dataset(frame(1), name="unused", project="p")  # exists; nobody read, tested or derived it
    with mc.run("quiet", project="p") as quiet:  # logged nothing
        pass
    queries = {
        "runs": (lambda: mc.runs(project="p"), lambda: mc.runs(project="p", status="killed")),
        "find": (lambda: mc.find(text="r"), lambda: mc.find(text="no match at all")),
        "metrics": (lambda: mc.metrics("acc"), lambda: mc.metrics(run=quiet.id)),
        "testuse": (lambda: mc.testuse(), lambda: mc.testuse("unused")),
    }
    for name, (full, empty) in queries.items():
        some, none = full(), empty()
        assert len(some) and none.empty, name
        for column in none.columns:
            assert str(none[column].dtype) == str(some[column].dtype), (name, column)
    assert mc.runs(project="p", status="killed").id.str[:8].tolist() == []
    assert mc.find(text="no match at all").start.dt.date.tolist() == []
    assert str(mc.history("unused")["runs"].dtype) == "int64"
    assert str(mc.tried("unused", "acc")["acc"].dtype) == "float64"
    for ask in (mc.versions, mc.testuse, mc.history, lambda ref: mc.tried(ref, "acc")):
        with pytest.raises(NotFoundError, match="no dataset 'nosuch'"):  # an answer about nothing
            ask("nosuch")


def test_json_text_is_strict():
    data = {"nan": float("nan"), "inf": float("inf"), "np": np.float64("-inf"), "int": np.int64(3),
            "when": pd.Timestamp("2024-01-01", tz="UTC"), "none": pd.NA, "nat": pd.NaT,
            "nested": [{"x": np.nan}], 1: "int key"}
    parsed = strict(json_text(data))
    assert parsed == {"nan": None, "inf": None, "np": None, "int": 3, "when": "2024-01-01T00:00:00+00:00",
                      "none": None, "nat": None, "nested": [{"x": None}], "1": "int key"}


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0421, "0.0421 s"), (12.34, "12.3 s"), (185, "3 min 05 s"), (7620, "2 h 07 min"), (None, "-"),
    (float("nan"), "-"),
])
def test_durations_have_units(seconds, text):
    assert fmt_duration(seconds) == text


def test_tried_table_keeps_only_what_varied():
    from mlcontext.insight.usage import varied_only

    frame = pd.DataFrame({
        "run_id": ["a", "b", "c"],
        "model_params": [{"C": 1.0, "max_iter": 2000, "tol": 1e-4}, {"C": 10.0, "max_iter": 2000,
                                                                       "tol": 1e-4}, None],
        "param.seed": [1, 1, 1], "param.C": [1.0, 10.0, None]})
    shown = varied_only(frame)
    assert shown["model_params"].tolist() == [{"C": 1.0}, {"C": 10.0}, None]
    assert "param.seed" not in shown and "param.C" in shown
    assert frame["model_params"][0]["tol"] == 1e-4  # the frame given is left alone


def test_a_run_name_that_is_also_an_id_prefix_is_ambiguous(store):
    with mc.run("first", project="p") as first:
        pass
    # A name of 8 hex digits or more that starts a run's id is refused (a newcomer's saved references
    # turned ambiguous); a shorter one is not looked up, and a reference to it is then refused.
    with pytest.raises(InvalidNameError, match="start of the id of run"):
        mc.run(first.id[:8], project="p")
    prefix = first.id[:4]
    with mc.run(prefix, project="p") as named:
        pass
    with pytest.raises(AmbiguousReferenceError, match="both the start of run id"):
        mc.get_run(prefix)
    assert mc.get_run(named.id).name == prefix and mc.get_run(first.id[:12]).id == first.id


def test_a_version_is_named_by_its_content_hash_and_its_artifact_hash(store):
    """``versions`` prints the content hash, the graph keys the version by its artifact hash: both
    name the one version, in every question (was: lineage by the content hash came back empty)."""
    data = frame(0)
    raw = mc.dataset(data.assign(x=data["x"].where(data["x"] > -1)), name="raw", project="p")
    with mc.run("clean", project="p"):
        clean = mc.dataset(raw.frame().dropna(), name="clean", project="p")
    assert raw.content_hash != raw.artifact_hash and clean.rows < raw.rows
    for digest in (raw.content_hash, raw.artifact_hash):
        assert mc.consumers(digest).nodes["label"].tolist() == ["raw@1", "clean@1"]
        assert mc.dataset_version(digest).ref == "raw@1"
        assert mc.versions(digest)["version"].tolist() == [1]  # the dataset of that version
        assert mc.history(digest)["transformation"].tolist() == ["dropna"]
    assert mc.derivation(clean.content_hash).nodes["label"].tolist() == ["clean@1", "raw@1"]
    assert mc.find(data=clean.content_hash)["name"].tolist() == ["clean"]


def test_a_hash_nothing_has_is_an_error_never_an_empty_answer(store):
    mc.dataset(frame(0), name="raw", project="p")
    unknown = "ab" * 16
    questions = {"derivation": mc.derivation, "consumers": mc.consumers, "versions": mc.versions,
                 "history": mc.history, "dataset_version": mc.dataset_version, "testuse": mc.testuse,
                 "tried": lambda ref: mc.tried(ref, "acc"), "find": lambda ref: mc.find(data=ref)}
    for name, ask in questions.items():
        with pytest.raises(NotFoundError, match=f"{unknown}.*NAME@VERSION"):
            ask(unknown)
            pytest.fail(f"{name} answered")


def test_a_dirty_run_code_version_is_marked():
    from mlcontext.cli.runs import runs_shown
    from mlcontext.insight.graph import _made_by
    from mlcontext.store.records import code_version

    assert code_version("967eb976a1b2c3", True) == "967eb976+dirty"
    assert code_version("967eb976a1b2c3", np.bool_(False)) == "967eb976"
    assert code_version(float("nan"), None) is None
    runs = pd.DataFrame({"id": ["a" * 32, "b" * 32], "host": ["h", "h"], "git_commit": ["967eb976aa", None],
                         "git_dirty": [True, None]})
    shown = runs_shown(runs)["git_commit"].tolist()
    assert shown[0] == "967eb976+dirty" and pd.isna(shown[1]) and "git_dirty" not in runs_shown(runs)
    edges = pd.DataFrame({"run_id": ["c" * 32], "run_name": ["train"], "user": ["root"],
                          "git_commit": ["967eb976aa"], "git_dirty": [True]})
    assert _made_by(edges) == f"run train {'c' * 8} by root @ 967eb976+dirty"


def test_a_missing_value_is_a_dash_in_every_table():
    from mlcontext.cli.render import fmt

    assert fmt(float("nan")) == fmt(np.float64("nan")) == fmt(None) == fmt(pd.NA) == "-"


def test_a_hash_held_by_versions_of_two_datasets_is_ambiguous_where_the_dataset_matters(store):
    same = frame(0)
    a = mc.dataset(same, name="a", project="p")
    mc.dataset(same, name="b", project="p")
    for ask in (mc.dataset_version, mc.versions, lambda ref: mc.find(data=ref)):
        with pytest.raises(AmbiguousReferenceError, match="a@1.*b@1.*NAME@VERSION"):
            ask(a.content_hash)
    # the graph has one node for the one content, whichever name it is asked by
    assert mc.derivation(a.content_hash).root == a.artifact_hash
    assert mc.derivation(a.content_hash).root_label == "a@1 = b@1"  # both names, none picked
