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


@pytest.fixture
def wine(wine_runs):
    """Three finished runs of identical, committed code with different params, and one crash."""
    return wine_runs.project, [wine_runs.ids[r] for r in ("first", "other", "again")]


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
    assert "same code" in project.cli("diff", ids[1], ids[2]).stdout


def test_an_edit_is_the_only_code_change(make_project):
    """The control: a real change is reported, and only it (no store files beside it)."""
    project = make_project("edit", {".gitignore": "out/\n", "count.py": """
        import mlcontext as mc
        with mc.run("count") as run:
            n = mc.param("n", 3)
            mc.log("total", sum(range(n)))
            print(run.id)
    """})
    before = project.run("count.py").last_line
    same = project.run("count.py", params={"n": 4}).last_line
    script = project.root / "count.py"
    script.write_text(script.read_text().replace("sum(range(n))", "sum(range(n + 1))"))
    edited = project.run("count.py").last_line
    assert [project.cli_json("show", r)["git_dirty"] for r in (before, same, edited)] == [False, False, True]
    assert project.cli_json("diff", before, same)["code"] == ""
    lines = project.cli_json("diff", before, edited)["code"].splitlines()
    assert [line for line in lines if line.startswith("diff ")] == ["diff --git a/count.py b/count.py"]
    assert [line for line in lines if line.startswith(("+ ", "- "))] == [
        '-    mc.log("total", sum(range(n)))', '+    mc.log("total", sum(range(n + 1)))']


def test_a_store_in_an_ancestor_does_not_capture_the_project(make_project):
    """Item 2: a ``.mlcontext`` somebody made in an ancestor (here the temporary folder holding the
    project) holds a store; the project's nearer ``.git`` wins, for the store and the project name."""
    project = make_project("nested", {"hello.py": """
        import mlcontext as mc
        with mc.run("hello") as run:
            mc.log("x", 1.0)
            print(run.id, run.project)
    """})
    outer = project.root.parent
    (outer / ".mlcontext").mkdir()
    foreign = project.run(str(project.root / "hello.py"), cwd=outer)  # a run made in the ancestor
    foreign_id, foreign_project = foreign.stdout.split()
    assert foreign_project == outer.name
    run_id, name = project.run("hello.py").stdout.split()
    assert name == project.root.name
    assert (project.store_dir / "mlcontext.db").is_file()
    rows = project.cli_json("runs")
    assert [r["id"] for r in rows] == [run_id] and rows[0]["project"] == project.root.name
    (project.root / "src").mkdir()
    assert [r["id"] for r in project.cli_json("runs", cwd=project.root / "src")] == [run_id]
    assert [r["id"] for r in project.cli_json("runs", cwd=outer)] == [foreign_id]
