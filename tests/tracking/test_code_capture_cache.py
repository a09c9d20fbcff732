"""What the code capture caches between runs of one dirty tree (issue 15: start + end in a dirty
repository of 1,000 files as fast as MLflow's), and how it reads a tree that changes under it.

The cache keeps the last ``git diff`` of a repository in its git folder; it must never hand out a diff
that is not the tree's. The kinds of staleness peers met, as inputs here:

- a cache keyed by file times alone (DVC added inode and mtime checks to its cache files,
  treeverse/dvc#515; a same-size rewrite with its old mtime put back must still be seen: the change
  time moves);
- runs shown with the same commit although one ran on a changed tree (mlflow/mlflow#1912, #7017):
  a staged change, a newly dirty file, a file edited while or after the snapshot reads it;
- git's own "racily clean" entries (Documentation/technical/racy-git.txt: a write within the tick of
  the index's write): a cache entry is only made from files that had not changed for a second.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from git_helpers import git
from mlcontext.tracking import code
from mlcontext.tracking.code import capture_code

pytestmark = pytest.mark.usefixtures("git_isolated")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet", "-b", "main")
    (root / ".gitignore").write_text("scratch/\n")
    (root / "train.py").write_text("print('train')\n")
    for i in range(5):
        (root / f"m{i}.py").write_text(f"x = {i}\n")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "initial")
    (root / "m0.py").write_text("x = 'dirty'\n")
    (root / "m1.py").write_text("x = 'staged'\n")
    git(root, "add", "m1.py")
    return root


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The git subcommands each capture starts (the cache's point is to start fewer)."""
    calls: list[str] = []
    start = code._Git.start

    def counting(self: code._Git, *args: str) -> subprocess.Popen[bytes]:
        calls.append(args[0])
        return start(self, *args)

    monkeypatch.setattr(code._Git, "start", counting)
    return calls


def settled(repo: Path) -> None:
    """Let the files' times fall a second behind: only then is a diff cached (see _DiffCache)."""
    time.sleep(1.1)


def true_diff(repo: Path) -> bytes:
    return subprocess.run(["git", *code._DIFF_OPTIONS, "HEAD", *code._NOT_THE_STORE], cwd=repo,
                          check=True, capture_output=True).stdout


def test_a_second_capture_of_the_same_dirty_tree_runs_no_git_diff(repo: Path, git_calls: list[str]) -> None:
    settled(repo)
    first = capture_code(repo / "train.py")
    assert "diff" in git_calls and (repo / ".git" / code._DiffCache.NAME).exists()
    git_calls.clear()
    second = capture_code(repo / "train.py")
    assert git_calls == ["status"]  # no diff, no ls-files, no check-ignore
    assert second.diff == first.diff == true_diff(repo) and second.archive() == first.archive()


def test_a_same_size_rewrite_with_its_old_mtime_put_back_is_seen(repo: Path) -> None:
    """dvc#515's kind: a stat-keyed cache and a rewrite that keeps the size and the mtime."""
    settled(repo)
    capture_code(repo / "train.py")
    before = os.stat(repo / "m0.py")
    (repo / "m0.py").write_text("x = 'DIRTY'\n")  # same size
    os.utime(repo / "m0.py", ns=(before.st_atime_ns, before.st_mtime_ns))  # (ctime moves anyway)
    snap = capture_code(repo / "train.py")
    assert b"DIRTY" in snap.diff and snap.diff == true_diff(repo)


def test_a_change_staged_or_a_new_dirty_file_misses_the_cache(repo: Path, git_calls: list[str]) -> None:
    settled(repo)
    capture_code(repo / "train.py")
    git(repo, "add", "m0.py")  # the worktree's bytes unchanged, the index's hash of m0 is new
    assert capture_code(repo / "train.py").diff == true_diff(repo)
    (repo / "m2.py").write_text("x = 'also dirty'\n")
    git_calls.clear()
    snap = capture_code(repo / "train.py")
    assert "diff" in git_calls and b"also dirty" in snap.diff and snap.diff == true_diff(repo)


def test_a_cache_entry_of_files_written_just_now_is_not_made(repo: Path) -> None:
    """git's racily-clean kind: two writes within one tick of the file clock share their times."""
    capture_code(repo / "train.py")
    assert not (repo / ".git" / code._DiffCache.NAME).exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other diff"])
def test_a_damaged_cache_entry_is_a_miss(repo: Path, damage: str) -> None:
    settled(repo)
    capture_code(repo / "train.py")
    path = repo / ".git" / code._DiffCache.NAME
    data = path.read_bytes()
    header, _, diff = data.partition(b"\n")
    path.write_bytes({"garbage": b"\xff\x00not json", "truncated": data[:-5],
                      "other diff": header + b"\n" + diff.replace(b"dirty", b"DIRTY")}[damage])
    assert capture_code(repo / "train.py").diff == true_diff(repo)


def test_the_ignored_script_is_found_without_check_ignore(repo: Path, git_calls: list[str]) -> None:
    (repo / "scratch").mkdir()
    (repo / "scratch" / "try.py").write_text("print('scratch')\n")
    (repo / "scratchy.py").write_text("print('not ignored: only a prefix of scratch/')\n")
    ignored = capture_code(repo / "scratch" / "try.py")
    assert ignored.script_source == b"print('scratch')\n" and ignored.ignored == ("scratch/",)
    untracked = capture_code(repo / "scratchy.py")
    assert untracked.script_source is None and "scratchy.py" in untracked.untracked
    tracked = capture_code(repo / "train.py")
    assert tracked.script_source is None
    assert "check-ignore" not in git_calls and "ls-files" not in git_calls


@pytest.mark.parametrize("rewrites", [1, 2, 5])
def test_a_file_rewritten_while_it_is_read_is_read_again_until_it_stands_still(
        repo: Path, monkeypatch: pytest.MonkeyPatch, rewrites: int) -> None:
    """mlflow#1912's kind: the code changes while it is recorded. The file is rewritten right after
    git has read the tree, ``rewrites`` times: the capture reads again until a read finds the file
    as it left it (the snapshot then holds the last version, whole), and says so when three reads
    never did."""
    query = code._query_git
    done = []

    def query_then_rewrite(*args, **kwargs):
        found = query(*args, **kwargs)
        if len(done) < rewrites:
            done.append(1)
            (repo / "m0.py").write_text(f"x = 'version {len(done)}'\n")
        return found

    monkeypatch.setattr(code, "_query_git", query_then_rewrite)
    snap = capture_code(repo / "train.py")
    unsettled = [w for w in snap.warnings if w.startswith("files kept changing")]
    if rewrites < code._READS:
        assert not unsettled and f"+x = 'version {rewrites}'".encode() in snap.diff
    else:
        assert len(unsettled) == 1 and "m0.py" in unsettled[0]


def test_a_file_changed_after_the_run_started_is_named(repo: Path) -> None:
    started = time.time_ns()
    time.sleep(0.05)  # past the file clock's tick
    (repo / "m0.py").write_text("x = 'edited after the start'\n")
    snap = capture_code(repo / "train.py", since_ns=started)
    assert any("changed or deleted after the run started" in w and "m0.py" in w for w in snap.warnings)
    quiet = capture_code(repo / "train.py", since_ns=time.time_ns())
    assert not any("after the run started" in w for w in quiet.warnings)
    assert not any("kept changing" in w for w in quiet.warnings)


@pytest.mark.parametrize("which", ["m0.py", "m2.py", "sub/deep.py"],
                         ids=["a modified file", "a clean tracked file", "a file in a folder removed"])
def test_a_file_deleted_after_the_run_started_is_named(repo: Path, which: str) -> None:
    """A file deleted after the start has no times of its own: its folder's tell when (a newcomer
    found such a file missing from the snapshot without a word)."""
    (repo / "sub").mkdir()
    (repo / "sub" / "deep.py").write_text("y = 1\n")
    git(repo, "add", "sub/deep.py")
    git(repo, "commit", "--quiet", "-m", "sub")
    time.sleep(0.05)
    started = time.time_ns()
    time.sleep(0.05)  # past the file clock's tick
    if which.startswith("sub/"):
        (repo / which).unlink()
        (repo / "sub").rmdir()
    else:
        (repo / which).unlink()
    snap = capture_code(repo / "train.py", since_ns=started)
    late = [w for w in snap.warnings if "changed or deleted after the run started" in w]
    assert len(late) == 1 and which in late[0], snap.warnings
    before = capture_code(repo / "train.py", since_ns=time.time_ns() + 10**9)  # deleted before it
    assert not any("after the run started" in w for w in before.warnings)


def test_a_change_of_the_repository_configuration_misses_the_cache(repo: Path, git_calls: list[str]) -> None:
    """Line endings and filters are the repository's configuration: a diff made under another one is
    not this tree's diff."""
    settled(repo)
    capture_code(repo / "train.py")
    git(repo, "config", "core.autocrlf", "true")
    git_calls.clear()
    snap = capture_code(repo / "train.py")
    assert "diff" in git_calls and snap.diff == true_diff(repo)
