"""Session 16: a newcomer's confusing answers, each kept as its input.

1. ``diff`` of a version with one column shifted said "0 unchanged, 442 removed, 442 added", which reads
   as a replaced table: rows edited in place (same index label, a minority of columns changed) are now
   counted and their columns named.
2. ``find --code`` with a commit no run started from said "no run matches" (exit 0), where a param typo
   is an error that lists what exists.
3. A ``--param`` given twice took the last value without a word.
4. ``runs --limit 0`` named a range ending at 4611686018427387904.
5. ``load_artifact(run, "modle")`` had no "did you mean 'model'".

Peers' failures of the kind: dolthub/dolt#7808 (a modified row shown only as one deleted and one
added), dolthub/dolt#5698 (a diff summary that stopped saying how many rows were modified),
mlflow/mlflow#7707 (``search_runs`` silently ignoring experiment names that name nothing).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mlcontext as mc
from git_helpers import committed_repo
from mlcontext.cli import cli
from mlcontext.errors import MLContextWarning, NotFoundError
from mlcontext.insight.diff import content_changes
from mlcontext.store import Store
from mlcontext.tracking.params import parse_overrides

# -- 1. rows edited in place ---------------------------------------------------------------------------


def _patients(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame({"age": rng.integers(20, 80, n), "bmi": rng.normal(27, 4, n).round(1),
                         "bp": rng.normal(90, 12, n).round(0), "sex": rng.choice(["f", "m"], n)})


def test_rows_edited_in_place_are_counted_and_their_columns_named() -> None:
    a = _patients()
    b = a.assign(age=a["age"] + 10)
    changes = content_changes(a, b)
    assert (changes.unchanged, changes.removed, changes.added) == (0, 300, 300)  # (by content, as before)
    assert changes.edited == 300 and changes.edited_cells == {"age": 300}
    assert "300 edited in place (age)" in changes.headline()
    assert any("300 rows edited in place" in line and "age 300" in line for line in changes.lines())
    data = json.loads(json.dumps(changes.to_dict(), allow_nan=False))
    assert data["edited"] == 300 and data["edited_cells"] == [{"column": "age", "cells": 300}]
    # a few rows edited in two columns, with rows added and the order shuffled: still found by label
    c = a.copy()
    c.loc[[3, 7], "bmi"] = 99.9
    c.loc[[7, 9], "sex"] = "x"
    c = pd.concat([c, _patients(5).set_axis(range(300, 305))]).sample(frac=1, random_state=0)
    changes = content_changes(a, c)
    assert changes.edited == 3 and changes.edited_cells == {"bmi": 2, "sex": 2}
    assert (changes.removed, changes.added) == (3, 8)


def test_other_rows_under_reused_labels_are_not_edits() -> None:
    # a filter then reset_index: label 0 now holds another patient; most columns differ, so no edit
    a = _patients()
    b = a[a["age"] > 50].reset_index(drop=True)
    changes = content_changes(a, b)
    assert changes.edited <= 0.05 * len(b)  # (only rows that happen to agree on most columns)
    # labels repeated on one side: which row is which cannot be told
    dup = a.set_axis([0] * 2 + list(range(2, 300)))
    assert content_changes(a, dup.assign(age=dup["age"] + 1)).edited == 0
    # a single shared column cannot tell an edit from another row
    one = content_changes(a[["age"]], a[["age"]] + 1)
    assert one.edited == 0


def test_no_edits_when_nothing_changed_in_place() -> None:
    a = _patients()
    changes = content_changes(a, a.iloc[::-1])
    assert changes.edited == 0 and changes.edited_cells == {} and "edited" not in changes.headline()


# -- 2. find --code of a commit no run started from ------------------------------------------------------


@pytest.fixture
def repo_with_runs(tmp_path: Path, git_isolated: None, monkeypatch, store: Store) -> tuple[Store, str]:
    root = tmp_path / "repo"
    commit = committed_repo(root, {"train.py": "width = 1\n", ".gitignore": ".mlcontext/\n"})
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(root / "train.py"), raising=False)
    with mc.use_store(store):  # (SQLite and PostgreSQL: the query groups and orders by an aggregate)
        mc.run("train", project="p").end()
        assert mc.get_run("train").git_commit == commit
    return store, commit


def test_a_commit_no_run_started_from_is_an_error_that_lists_the_commits(repo_with_runs) -> None:
    store, commit = repo_with_runs
    with mc.use_store(store):
        with pytest.raises(NotFoundError, match=rf"no run started from a commit 'deadbeef'.*{commit[:12]}"):
            mc.find(code="deadbeef")
        assert len(mc.find(code=commit[:8].upper())) == 1  # (a hash in capitals is the same commit)
        with pytest.raises(NotFoundError, match="no run in project 'p' started"):
            mc.find(code="deadbeef", project="p")
        # as the runs table shows a dirty run's code: that commit's dirty runs (this one is clean)
        assert mc.find(code=f"{commit[:8]}+dirty").empty
        result = CliRunner().invoke(cli, ["find", "--code", "deadbeef"])  # (main() prints it as one line)
        assert isinstance(result.exception, NotFoundError) and commit[:12] in str(result.exception)


# -- 3. and 4. command-line values ------------------------------------------------------------------------


def test_a_param_given_twice_is_said() -> None:
    with pytest.warns(MLContextWarning, match=r"--param alpha is given twice \('2', then '3'\)"):
        overrides, rest = parse_overrides(["--param", "alpha=2", "--param=alpha=3", "--epochs", "1"])
    assert overrides == {"alpha": "3"} and rest == ["--epochs", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_overrides(["--param", "a=1", "--param", "a=1"])[0] == {"a": "1"}  # (same value)


@pytest.mark.parametrize("command", ["runs", "find"])
def test_a_limit_out_of_range_says_so_in_words(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--limit", "0"])
    assert result.exit_code == 2 and "give 1 or more" in result.output
    assert "4611686018427387904" not in result.output


# -- 5. an artifact name with a typo ------------------------------------------------------------------


def test_an_artifact_name_with_a_typo_gets_a_suggestion(tmp_path: Path) -> None:
    with mc.use_store(Store.open(home=tmp_path / "home")):
        with mc.run("train", project="p"):
            mc.artifact("model", np.arange(3))
        with pytest.raises(NotFoundError, match="did you mean 'model'"):
            mc.load_artifact("train", "modle")


def test_rows_shifted_by_a_deletion_are_not_edits() -> None:
    # flag-like columns: a row and the next share most values, so positions shifted by a deletion and
    # reset_index looked "edited" though every row is still there by content
    rng = np.random.default_rng(5)
    flags = pd.DataFrame(rng.integers(0, 2, (400, 10)), columns=[f"f{k}" for k in range(10)])
    shifted = flags.drop(index=[10, 200]).reset_index(drop=True)
    changes = content_changes(flags, shifted)
    assert (changes.removed, changes.added) == (2, 0) and changes.edited == 0
    # a row edited after the deletion: under its new label it is another row of a, so no edit is claimed
    edited = shifted.copy()
    edited.loc[300, "f3"] = 1 - edited.loc[300, "f3"]
    changes = content_changes(flags, edited)
    assert changes.edited == 0 and changes.removed == 3 and changes.added == 1  # (label 300 was row 302)


def test_an_index_that_gained_a_level_is_compared_without_edits() -> None:
    # (it raised from the label intersection: a reviewer's finding)
    a = pd.DataFrame({"store": [1, 1, 2, 2], "day": [1, 2, 1, 2], "hour": [9, 9, 9, 9],
                      "sales": [10.0, 11.0, 12.0, 13.0]}).set_index(["store", "day"])
    b = a.reset_index().set_index(["store", "day", "hour"])
    b.loc[(1, 1, 9), "sales"] = 99.0
    changes = content_changes(a, b)
    assert changes.edited == 0
    assert "index names ['store', 'day'] -> ['store', 'day', 'hour']" in changes.lines()


def test_edits_counted_with_duplicates_as_a_multiset() -> None:
    # an edited row with an exact copy elsewhere was not an edit: its old content was still present
    # (a second newcomer's 52 of 54)
    a = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 1.0], "y": [10.0, 20.0, 30.0, 40.0, 10.0],
                      "z": ["p", "q", "r", "s", "p"]})
    b = a.copy()
    b.loc[[1, 4], "x"] = np.nan
    changes = content_changes(a, b)
    assert (changes.removed, changes.added, changes.edited) == (2, 2, 2)
    assert changes.edited_cells == {"x": 2}


def test_positions_of_shuffled_rows_are_no_edits() -> None:
    # labels 0..n-1 on both sides (a CSV read back) after a shuffle: the rows left at their old line by
    # chance were said "edited in place", the others not (a second newcomer's 2 of 218)
    a = _patients(200)
    b = a.assign(bmi=a["bmi"] * 1000).sample(frac=1, random_state=1).reset_index(drop=True)
    assert content_changes(a, b).edited == 0
    # in order, the same edit is one in place for every row
    assert content_changes(a, a.assign(bmi=a["bmi"] * 1000)).edited == 200


def test_an_index_reset_is_said_so_with_the_rows_that_got_another_label() -> None:
    a = _patients(50).sample(frac=1, random_state=2)
    b = a.reset_index(drop=True)
    moved = int((a.index.to_numpy() != np.arange(50)).sum())
    assert content_changes(a, b).index == f"index reset to 0..n-1: {moved} of 50 rows matched by content " \
        "have another label"


def test_an_artifact_of_a_crashed_run_is_refused_with_how_it_ended_and_where_it_is(tmp_path: Path) -> None:
    # lineage/impact of RUN:model of a run that crashed said only "did you mean 'code'?", and show of
    # RUN:NAME "no run named" (a second newcomer's findings); load_artifact already said both
    with mc.use_store(Store.open(home=tmp_path / "home")):
        with mc.run("train", project="p") as good:
            mc.artifact("model", np.arange(3))
        with pytest.raises(RuntimeError), mc.run("train", project="p") as bad:
            raise RuntimeError("crash before saving")
        for command in ("lineage", "impact"):
            result = CliRunner().invoke(cli, [command, f"{bad.id[:8]}:model"])
            said = str(result.exception)
            assert "failed: builtins.RuntimeError" in said and f"{good.id[:8]}:model" in said, said
        result = CliRunner().invoke(cli, ["show", f"{bad.id[:8]}:model"])
        said = str(result.exception)
        assert "show takes a run" in said and f"lineage {bad.id[:8]}:model" in said


def test_the_lineage_of_untraced_data_says_who_stored_it(tmp_path: Path) -> None:
    # the tree of a dataset registered from a plain frame was its name alone (a second newcomer)
    with mc.use_store(Store.open(home=tmp_path / "home")):
        with mc.run("prep", project="p") as run:
            mc.dataset(_patients(20), name="patients")
        graph = mc.derivation("patients@1")
        said = f"no recorded derivation: stored by run prep {run.id[:8]}"
        assert said in str(graph) and graph.source.startswith(said)
        data = json.loads(json.dumps(graph.to_dict(), default=str))
        assert data["source"].startswith(said)
        with mc.run("clean", project="p"):
            mc.dataset(mc.dataset_version("patients@1").frame().dropna(), name="clean")
        assert mc.derivation("clean@1").source == ""  # (its edges say it)
