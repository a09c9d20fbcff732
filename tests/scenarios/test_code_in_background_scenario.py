"""A run's code snapshot is captured in the background from its start (issue 15); whatever the script
does right after ``mc.run()`` (raise, ``os._exit``, fork, finish), the snapshot is stored and what
``mc.*`` and the CLI answer (``show``, ``diff``, ``restore``) is what a snapshot taken before the
script went on would give: the tree as it was when the run started, never an edit made after it.

Peers of the kind: MLflow shows a changed tree's run with the plain commit (mlflow/mlflow#1912,
#7017: the uncommitted changes lost); a capture that a process's exit cuts short must not leave
a run that looks complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mlcontext as mc

TRAIN = """\
import os, sys
import mlcontext as mc
from helpers import scale

how = sys.argv[sys.argv.index("--how") + 1]
run = mc.run("train")
print(run.id, flush=True)
alpha = mc.param("alpha", 0.1)
if how == "raise":
    raise RuntimeError("crashed right after the start")
if how == "os._exit":
    os._exit(0)
if how == "fork":
    pid = os.fork()
    if pid == 0:  # (a child that ends with os._exit writes nothing it logged: no exit handler runs)
        mc.log("child", 1.0)
        sys.exit(0)
    os.waitpid(pid, 0)
mc.log("score", scale(alpha))
run.end()
"""

HOWS = ("finish", "raise", "os._exit", "fork")


def _tree(root: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", ".mlcontext", "__pycache__")]
        for name in files:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def runs(make_project):
    project = make_project("background", {"train.py": TRAIN,
                                          "helpers.py": "def scale(a):\n    return 2 * a\n"})
    project.write("helpers.py", "def scale(a):\n    return 3 * a  # uncommitted\n")
    project.write("notes.md", "untracked\n")
    found = {}
    for i, how in enumerate(HOWS):
        project.write("notes.md", f"untracked, before run {i}\n")
        tree = _tree(project.root)
        result = project.run("train.py", params={"alpha": 0.1 * (i + 1)}, args=("--how", how),
                             check=False)
        assert result.returncode == (1 if how == "raise" else 0), str(result)
        # An edit right after the process: never in the snapshot of the run before it.
        project.write("helpers.py", f"def scale(a):\n    return {i + 4} * a  # after run {i}\n")
        found[how] = (result.stdout.split()[0], tree)
    return project, found


@pytest.mark.parametrize("how", HOWS)
def test_the_snapshot_is_stored_and_restores_the_tree_at_the_start(runs, how, tmp_path, strict_json):
    project, found = runs
    run_id, tree = found[how]
    shown = project.cli_json("show", run_id)
    assert shown["git_commit"] and shown["git_branch"] == "main" and shown["git_dirty"] is True
    assert shown["code_hash"] and [a["name"] for a in shown["artifacts"]] == ["code"]
    assert "packages" in shown["environment"] and "code_warnings" in shown["environment"]
    assert shown["status"] == {"finish": "finished", "fork": "finished", "raise": "failed",
                               "os._exit": "finished"}[how]  # (os._exit(0) now ends the run)
    dest = tmp_path / "restored"
    answer = project.cli_json("restore", run_id, str(dest))
    assert answer["dirty"] is True and answer["refused"] == []
    assert _tree(dest) == tree
    with project.store():
        assert _tree(mc.restore_code(run_id, tmp_path / "api")) == tree


def test_diff_between_two_runs_shows_the_code_each_started_with(runs):
    project, found = runs
    answer = project.cli_json("diff", found["finish"][0], found["raise"][0])
    # The edit made between the two runs, and nothing of later edits
    assert "-    return 3 * a  # uncommitted\n+    return 4 * a  # after run 0" in answer["code"]
    assert "after run 1" not in answer["code"]
    assert "-untracked, before run 0\n+untracked, before run 1" in answer["code"]


def test_the_fork_child_logged_into_the_parents_run(runs):
    project, found = runs
    shown = project.cli_json("show", found["fork"][0])
    assert shown["metrics"]["child"] == 1.0 and "score" in shown["metrics"]


SLOW_GIT = """#!/bin/sh
# git on a slow disk or a huge repository: it reads the tree a moment after the run started
sleep 0.3
exec {git} "$@"
"""


def test_a_file_deleted_after_the_start_is_named_wherever_the_snapshot_is_shown(make_project, tmp_path):
    """A newcomer's case: the script deletes files right after ``mc.run()`` while git (slow here) has
    not read the tree yet. The snapshot then lacks them, which is only right if it says so: in
    ``show`` (text and JSON) and ``restore`` (text and JSON)."""
    import shutil

    project = make_project("deleted", {
        "train.py": "import os\nimport mlcontext as mc\nwith mc.run('train') as r:\n"
                    "    print(r.id, flush=True)\n    os.remove('clean.py')\n    os.remove('dirty.py')\n",
        "clean.py": "a = 1\n", "dirty.py": "b = 1\n"})
    project.write("dirty.py", "b = 2  # uncommitted\n")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "git").write_text(SLOW_GIT.format(git=shutil.which("git")))
    (shim / "git").chmod(0o755)
    env = {"PATH": f"{shim}{os.pathsep}{project.env['PATH']}"}
    run_id = project.run("train.py", env=env).stdout.split()[0]
    warnings = project.cli_json("show", run_id)["environment"]["code_warnings"]
    late = [w for w in warnings if "deleted after the run started" in w]
    assert len(late) == 1 and "clean.py" in late[0] and "dirty.py" in late[0], warnings
    shown = project.cli("show", run_id).stdout
    assert "code warning" in shown and "clean.py" in shown
    restored = project.cli("restore", run_id, str(tmp_path / "then"), in_subprocess=True)
    assert "code warning:" in restored.stderr and "clean.py" in restored.stderr
    answer = project.cli_json("restore", run_id, str(tmp_path / "again"))
    assert any("clean.py" in w for w in answer["code_warnings"])
