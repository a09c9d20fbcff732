"""The README's promise: a run on a dirty tree can be restored exactly (``mc.restore_code`` and
``mlcontext restore RUN DEST``).

A project is committed, then edited (a tracked file changed, one deleted, untracked files added, one
binary, one in a new folder, an untracked link inside the tree and one to ``/mnt/data``), run with
several params and once crashing; each run's code is restored and compared byte for byte with the
tree as it was when the run started. Peers of the kind: breezy-team/breezy #101 (links that cannot be
created are warned about one by one and the rest of the tree is still checked out),
containerbuildsystem/cachito #643 (a repository with links pointing outside processed instead of
refused whole).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import mlcontext as mc

TRAIN = """\
import sys
import mlcontext as mc
from helpers import scale

with mc.run("train") as run:
    alpha = mc.param("alpha", 0.1)
    if mc.param("crash", False):
        raise RuntimeError("crashed on purpose")
    mc.log("score", scale(alpha))
    print(run.id)
"""


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every file (bytes) and link (its target text) under ``root``, ``.git`` and the store aside."""
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".mlcontext")]
        for name in dirs + files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = os.readlink(path)
            elif path.is_file():
                found[rel] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def dirty(make_project):
    project = make_project("restore", {"train.py": TRAIN, "helpers.py": "def scale(a):\n    return 2 * a\n",
                                       "old.txt": "to be deleted\n"})
    project.write("helpers.py", "def scale(a):\n    return 3 * a  # uncommitted\n")
    (project.root / "old.txt").unlink()
    project.write("notes/todo.md", "- try alpha 0.5\n")
    project.write("weights.bin", bytes(range(256)) * 4)
    os.symlink("notes/todo.md", project.root / "todo-link")
    trees, ids = [], []
    for alpha in (0.1, 0.5):
        ids.append(project.run("train.py", params={"alpha": alpha}).last_line)
        trees.append(_tree(project.root))
    crashed = project.run("train.py", params={"crash": True}, check=False)
    assert crashed.returncode != 0
    # A later edit: the restored code is the code at each run's start, not the tree now.
    project.write("helpers.py", "def scale(a):\n    return 4 * a\n")
    return project, ids, trees


def test_the_python_api_restores_a_dirty_tree_byte_for_byte(dirty, tmp_path):
    project, ids, trees = dirty
    with project.store():
        for run_id, tree in zip(ids, trees, strict=True):
            dest = mc.restore_code(run_id, tmp_path / run_id)
            assert _tree(dest) == tree
        crashed = mc.runs(project="restore", status="failed")["id"].iloc[0]
        assert _tree(mc.restore_code(crashed, tmp_path / "crashed")) == trees[-1]
    assert b"3 * a  # uncommitted" in trees[0]["helpers.py"] and "old.txt" not in trees[0]


def test_the_cli_restores_and_answers_json(dirty, tmp_path, strict_json):
    project, ids, trees = dirty
    dest = tmp_path / "cli"
    answer = project.cli_json("restore", ids[1], str(dest))
    assert answer["run"] == ids[1] and answer["dirty"] is True and answer["refused"] == []
    assert Path(answer["dest"]) == dest.resolve()
    assert _tree(dest) == trees[1]
    text = project.cli("restore", ids[0], str(tmp_path / "text"))
    assert ids[0][:8] in text.stdout and "uncommitted changes" in text.stdout


def test_a_non_empty_destination_is_refused(dirty, tmp_path):
    project, ids, _ = dirty
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "mine.txt").write_text("keep me\n")
    result = project.cli("restore", ids[0], str(occupied), check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "not an empty directory" in result.stderr
    assert [p.name for p in occupied.iterdir()] == ["mine.txt"]
    with project.store(), pytest.raises(mc.ConfigError, match="not an empty directory"):
        mc.restore_code(ids[0], occupied)
    with project.store(), pytest.raises(mc.NotFoundError):
        mc.restore_code("no-such-run", tmp_path / "none")


def test_an_untracked_link_outside_is_named_and_the_rest_restored(make_project, tmp_path):
    project = make_project("restore-links",
                           {"train.py": TRAIN, "helpers.py": "def scale(a):\n    return a\n"})
    project.write("extra.py", "X = 1\n")
    os.symlink("/mnt/data", project.root / "data")
    run_id = project.run("train.py").last_line
    dest = tmp_path / "dest"
    result = project.cli("restore", run_id, str(dest), check=False)
    assert result.returncode == 1
    assert "not restored: link 'data' -> '/mnt/data'" in result.stderr
    assert (dest / "extra.py").read_text() == "X = 1\n" and not os.path.lexists(dest / "data")
    answer = project.cli("restore", run_id, str(tmp_path / "json"), "--json", check=False)
    refused = json.loads(answer.stdout)["refused"]
    assert [(e["path"], e["kind"], e["target"]) for e in refused] == [("data", "link", "/mnt/data")]
    with project.store(), pytest.raises(mc.UnsafeArchiveError, match="'data' -> '/mnt/data'"):
        mc.restore_code(run_id, tmp_path / "api")
    assert (tmp_path / "api" / "extra.py").exists()
