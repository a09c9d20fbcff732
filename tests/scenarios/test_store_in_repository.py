"""Issue 11, items 1 and 2: the store inside the repository is never code, and the nearest project
marker says where the store is.

Peers' bugs of the same kind, each kept here as a small input of ours:
- wandb #4444 ("Add wandb/.gitignore" holding ``*``) and wandb PR #6135 (gitignore the ``.wandb``
  run directory): a tracker's own folder inside the repository showed up as thousands of changes; the
  store here writes ``.gitignore`` with ``*`` inside itself.
- wandb #3862 ("large upstream_diff.patch although the code is committed and pushed"): a clean,
  committed tree must give a small snapshot and a clean run, however many runs came before.
- ddev #8321 (a ``.ddev`` folder further up was picked up instead of the intended project): the
  nearest project marker wins.
"""

from __future__ import annotations

import pytest

import mlcontext as mc
from mlcontext.tracking.code import CodeSnapshot


@pytest.fixture(scope="module")
def wine(make_wine_project):
    """Three finished runs of identical, committed code with different params, and one crash."""
    project = make_wine_project("wine")
    ids = [project.run("train.py", params=p).last_line
           for p in ({}, {"seed": 1, "alpha": 0.5}, {"seed": 2, "test_size": 0.3})]
    crashed = project.run("train.py", params={"crash": True}, check=False)
    assert crashed.returncode != 0 and "crash requested" in crashed.stderr
    return project, ids


def test_runs_of_a_committed_tree_are_clean(wine):
    project, ids = wine
    with project.store():
        runs = mc.runs(project="wine")
    assert sorted(runs["status"]) == ["failed", "finished", "finished", "finished"]
    assert runs["git_dirty"].tolist() == [False] * 4
    assert [project.cli_json("show", i)["git_dirty"] for i in ids] == [False] * 3


def test_the_store_ignores_itself(wine):
    project, _ = wine
    assert (project.store_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    # git sees nothing new: neither the store nor anything the runs wrote.
    assert project.git("status", "--porcelain", "--untracked-files=all") == ""


def test_code_snapshots_never_hold_the_store_and_do_not_grow(wine):
    project, ids = wine
    with project.store() as store:
        snapshots = []
        for run_id in ids:
            record = mc.get_run(run_id)
            data = store.artifacts.get(record.code_hash)
            snapshots.append((len(data), CodeSnapshot.from_archive(data)))
    for size, snapshot in snapshots:
        assert not snapshot.dirty and snapshot.untracked == {} and snapshot.diff == b""
        assert not any(".mlcontext" in p for p in snapshot.ignored)
        assert size <= 10240, "a clean tree's snapshot is a manifest in one tar record"
    assert len({size for size, _ in snapshots}) == 1  # no growth from one run to the next


def test_snapshots_say_what_git_ignored(wine):
    project, ids = wine
    with project.store():
        record = mc.get_run(ids[0])
    assert record.environment["code_ignored"] == ["data/"]
    shown = project.cli("show", ids[0]).stdout
    assert "git-ignored, not in the code snapshot: data/" in shown


def test_diff_of_identical_code_shows_no_code_change(wine):
    project, ids = wine
    diff = project.cli_json("diff", ids[0], ids[1])
    assert diff["code"] == ""
    assert diff["params"]["alpha"] == [1.0, 0.5]
    assert "same code" in project.cli("diff", ids[0], ids[2]).stdout


def test_an_edit_is_the_only_code_change(wine):
    """The control: a real change is reported, and only it (no store files beside it)."""
    project, ids = wine
    script = project.root / "train.py"
    original = script.read_text()
    script.write_text(original.replace("df.alcohol > 0", "df.alcohol > 1"))
    try:
        edited = project.run("train.py").last_line
    finally:
        script.write_text(original)
    assert project.cli_json("show", edited)["git_dirty"] is True
    code = project.cli_json("diff", ids[0], edited)["code"]
    lines = code.splitlines()
    assert [line for line in lines if line.startswith("diff ")] == ["diff --git a/a/train.py b/b/train.py"]
    assert [line for line in lines if line.startswith(("+ ", "- "))] == [
        "-    clean = df[df.alcohol > 0].dropna()", "+    clean = df[df.alcohol > 1].dropna()"]
