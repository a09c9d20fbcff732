"""Code capture and restore against real git repositories made in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_helpers import git
from mlcontext.errors import ArtifactCorruptedError, ConfigError, MLContextError, UnsafeArchiveError
from mlcontext.fingerprint import hash_bytes
from mlcontext.tracking.code import CodeSnapshot, capture_code, restore_code

BINARY = bytes(range(256)) * 8


pytestmark = pytest.mark.usefixtures("git_isolated")


def write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo with space"
    root.mkdir()
    git(root, "init", "--quiet", "-b", "main")
    write(root, ".gitignore", "*.log\nscratch/\n")
    write(root, "train.py", "print('train')\n")
    for rel in ("a.py", "b.py", "c.py", "d.py", "e.py", "my file.txt", "pkg/üni.py"):
        write(root, rel, f"# {rel}\nx = 1\n")
    write(root, "data.bin", BINARY)
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "initial")
    return root


def make_dirty(root: Path) -> None:
    write(root, "a.py", "x = 2  # unstaged\n")
    write(root, "b.py", "x = 3  # staged\n")
    git(root, "add", "b.py")
    write(root, "c.py", "x = 4  # staged\n")
    git(root, "add", "c.py")
    write(root, "c.py", "x = 5  # staged, then changed again\n")
    write(root, "new.py", "staged new file\n")
    git(root, "add", "new.py")
    (root / "d.py").unlink()
    git(root, "rm", "--quiet", "e.py")
    write(root, "data.bin", BINARY[::-1] + b"\0\0")
    write(root, "my file.txt", "spaces\n")
    (root / "train.py").chmod(0o755)
    write(root, "untracked.py", "u = 1\n")
    write(root, "sub dir/ünïcode.txt", "ü\n")
    write(root, "sub dir/blob.bin", b"\0\1\2\3")
    write(root, "run.log", "ignored\n")
    write(root, "scratch/notes.txt", "ignored too\n")


def tree(root: Path, *, skip: tuple[str, ...] = (".git",)) -> dict[str, tuple[bytes, bool]]:
    """Every file under root (bytes and executable bit), skipping ``skip`` and ignored files."""
    files = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(skip) and not rel.endswith(".log"):
            files[rel] = (path.read_bytes(), os.access(path, os.X_OK))
    return files


def test_clean_repo(repo: Path) -> None:
    snap = capture_code(repo / "train.py")
    assert snap.kind == "git"
    assert snap.repo_root == str(repo.resolve())
    assert snap.commit == git(repo, "rev-parse", "HEAD").strip()
    assert snap.branch == "main"
    assert not snap.dirty and snap.diff == b"" and dict(snap.untracked) == {}
    assert snap.script_path == "train.py"
    assert snap.script_hash == hash_bytes(b"print('train')\n")
    assert snap.script_source is None and snap.warnings == ()


def test_dirty_repo_captures_every_kind_of_change(repo: Path) -> None:
    make_dirty(repo)
    snap = capture_code(repo / "train.py")
    assert snap.dirty and snap.kind == "git"
    assert b"GIT binary patch" in snap.diff
    for name in (b"a.py", b"b.py", b"c.py", b"d.py", b"e.py", b"new.py", b"data.bin"):
        assert b"b/" + name in snap.diff or b"a/" + name in snap.diff
    assert set(snap.untracked) == {"untracked.py", "sub dir/ünïcode.txt", "sub dir/blob.bin"}
    assert snap.untracked["sub dir/blob.bin"] == b"\0\1\2\3"


@pytest.mark.parametrize("via_archive", [False, True])
def test_restore_recreates_the_working_tree(repo: Path, tmp_path: Path, via_archive: bool) -> None:
    make_dirty(repo)
    snap = capture_code(repo / "train.py")
    if via_archive:
        snap = CodeSnapshot.from_archive(snap.archive())
    dest = restore_code(snap, tmp_path / "restored")
    assert tree(dest, skip=(".git",)) == tree(repo, skip=(".git", "scratch/"))
    assert git(dest, "rev-parse", "HEAD").strip() == snap.commit


def test_detached_head(repo: Path, tmp_path: Path) -> None:
    write(repo, "a.py", "second\n")
    git(repo, "commit", "--quiet", "-am", "second")
    git(repo, "checkout", "--quiet", "--detach", "HEAD~1")
    write(repo, "b.py", "dirty on detached\n")
    snap = capture_code(repo / "train.py")
    assert snap.branch is None and snap.commit == git(repo, "rev-parse", "HEAD").strip()
    dest = restore_code(snap, tmp_path / "restored")
    assert tree(dest) == tree(repo)


def test_repo_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "--quiet", "-b", "main")
    write(root, "train.py", "print(1)\n")
    write(root, "staged.bin", BINARY)
    git(root, "add", ".")
    write(root, "train.py", "print(2)\n")
    write(root, "loose.txt", "untracked\n")
    snap = capture_code(root / "train.py")
    assert snap.kind == "git" and snap.commit is None and snap.branch == "main" and snap.dirty
    assert set(snap.untracked) == {"loose.txt"}
    dest = restore_code(snap, tmp_path / "restored")
    assert tree(dest) == tree(root)


def test_subdirectory_script_and_unicode_paths(repo: Path, tmp_path: Path) -> None:
    write(repo, "pkg/üni.py", "changed\n")
    snap = capture_code(repo / "pkg" / "üni.py")
    assert snap.script_path == "pkg/üni.py" and snap.script_source is None
    assert tree(restore_code(snap, tmp_path / "r")) == tree(repo)


def test_ignored_entry_script_is_stored(repo: Path, tmp_path: Path) -> None:
    script = write(repo, "scratch/try.py", "print('scratch')\n")
    snap = capture_code(script)
    assert snap.kind == "git" and snap.script_source == b"print('scratch')\n"
    assert any("source is stored" in w for w in snap.warnings)
    dest = restore_code(snap, tmp_path / "r")
    assert (dest / "scratch" / "try.py").read_bytes() == b"print('scratch')\n"


def test_untracked_caps_are_reported(repo: Path) -> None:
    write(repo, "big.dat", b"x" * 5000)
    write(repo, "small1.txt", b"y" * 600)
    write(repo, "small2.txt", b"z" * 600)
    snap = capture_code(repo / "train.py", max_file_bytes=1000, max_total_bytes=1000)
    assert set(snap.untracked) == {"small1.txt"}
    assert any("big.dat" in w and "per-file cap" in w for w in snap.warnings)
    assert any("small2.txt" in w and "total" in w for w in snap.warnings)


def test_no_git_binary_degrades_to_script(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    snap = capture_code(repo / "train.py")
    assert snap.kind == "script" and snap.script_source == b"print('train')\n"
    assert any("git binary not found" in w for w in snap.warnings)
    git_snap = CodeSnapshot(kind="git", repo_root=str(repo), commit="0" * 40)
    with pytest.raises(ConfigError, match="needs git"):
        restore_code(git_snap, tmp_path / "r")


def test_script_outside_git(tmp_path: Path) -> None:
    script = write(tmp_path / "plain", "run.py", "print('plain')\n")
    snap = capture_code(script)
    assert snap.kind == "script" and snap.commit is None and snap.warnings == ()
    assert snap.script_path == str(script.resolve())
    dest = restore_code(snap, tmp_path / "r")
    assert (dest / "run.py").read_bytes() == b"print('plain')\n"


def test_interactive_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    snap = capture_code(None)
    assert snap.kind == "none" and snap.script_path is None
    assert capture_code("-c").kind == "none"


def test_interactive_inside_git_captures_the_repository(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "pkg")
    snap = capture_code(None)
    assert snap.kind == "git" and snap.repo_root == str(repo.resolve()) and snap.script_path is None


def test_stray_git_directory_is_not_a_repository(tmp_path: Path) -> None:
    root = tmp_path / "fake"
    (root / ".git").mkdir(parents=True)
    script = write(root, "t.py", "1\n")
    snap = capture_code(script)
    assert snap.kind == "script" and any("git capture failed" in w for w in snap.warnings)


def test_restore_errors(repo: Path, tmp_path: Path) -> None:
    snap = capture_code(repo / "train.py")
    occupied = write(tmp_path / "occupied", "x", "x").parent
    with pytest.raises(ConfigError, match="not an empty directory"):
        restore_code(snap, occupied)
    missing = CodeSnapshot(kind="git", repo_root=str(repo), commit="1" * 40, branch="main")
    with pytest.raises(MLContextError, match="cannot restore commit"):
        restore_code(missing, tmp_path / "r1")
    bad_diff = CodeSnapshot(kind="git", repo_root=str(repo), commit=snap.commit, diff=b"garbage")
    with pytest.raises(MLContextError, match="does not apply"):
        restore_code(bad_diff, tmp_path / "r2")
    escape = CodeSnapshot(kind="none", untracked={"../evil": b"x"})
    with pytest.raises(UnsafeArchiveError, match="outside"):
        restore_code(escape, tmp_path / "r3")


def test_archive_is_deterministic(repo: Path) -> None:
    make_dirty(repo)
    snap = capture_code(repo / "train.py")
    again = capture_code(repo / "train.py")
    assert again == snap and again.archive() == snap.archive()
    assert CodeSnapshot.from_archive(snap.archive()) == snap


@pytest.mark.parametrize("data", [b"", b"not a tar", b"\0" * 1024])
def test_from_archive_rejects_garbage(data: bytes) -> None:
    with pytest.raises(ArtifactCorruptedError):
        CodeSnapshot.from_archive(data)


@settings(max_examples=60, deadline=None)
@given(
    untracked=st.dictionaries(st.text(min_size=1, max_size=30), st.binary(max_size=300),
                              max_size=6),
    source=st.none() | st.binary(max_size=100),
    warnings=st.lists(st.text(max_size=20), max_size=3).map(tuple),
)
def test_archive_round_trip(
    untracked: dict[str, bytes], source: bytes | None, warnings: tuple[str, ...]
) -> None:
    snap = CodeSnapshot(kind="git", repo_root="/r", commit="ab" * 20, branch="ü", dirty=True,
                        diff=b"d", untracked=untracked, script_path="t.py", script_hash="h",
                        script_source=source, warnings=warnings)
    data = snap.archive()
    assert CodeSnapshot.from_archive(data) == snap
    reordered = dict(reversed(list(untracked.items())))
    assert CodeSnapshot(**{**snap.__dict__, "untracked": reordered}).archive() == data


def test_independent_of_user_git_config_and_env(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in (("diff.noprefix", "true"), ("diff.mnemonicPrefix", "true"),
                       ("color.diff", "always"), ("diff.renames", "copies"),
                       ("status.showUntrackedFiles", "no")):
        git(repo, "config", key, value)
    make_dirty(repo)
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))  # as inside a git hook
    snap = capture_code(repo / "train.py")
    monkeypatch.delenv("GIT_DIR")
    assert "untracked.py" in snap.untracked
    assert tree(restore_code(snap, tmp_path / "r")) == tree(repo, skip=(".git", "scratch/"))


# -- the store is never code; what git ignores is skipped and named (issue 11, item 1) -------------

def test_store_folders_are_never_code_even_without_their_gitignore(repo: Path) -> None:
    """A store made by an older mlcontext (no ``.gitignore`` inside) or one whose ``.gitignore`` could
    not be written, at the root or in a sub-project: not untracked code, not dirty, not listed."""
    write(repo, ".mlcontext/mlcontext.db", b"\0" * 4096)
    write(repo, ".mlcontext/artifacts/ab/cdef", b"previous run's snapshot")
    write(repo, "pkg/.mlcontext/mlcontext.db", b"\0")
    snap = capture_code(repo / "train.py")
    assert snap.dirty is False and snap.untracked == {} and snap.diff == b""
    assert not any(".mlcontext" in p for p in snap.ignored)


def test_store_folder_changes_do_not_hide_real_changes(repo: Path) -> None:
    write(repo, ".mlcontext/mlcontext.db", b"\0")
    write(repo, "a.py", "x = 2\n")
    write(repo, "helper.py", "y = 1\n")
    snap = capture_code(repo / "train.py")
    assert snap.dirty and list(snap.untracked) == ["helper.py"] and b"a/a.py" in snap.diff


def test_ignored_paths_are_named_with_folders_collapsed(repo: Path) -> None:
    write(repo, "run.log", "ignored\n")
    for i in range(50):
        write(repo, f"scratch/part-{i}.txt", "ignored too\n")
    snap = capture_code(repo / "train.py")
    assert snap.ignored == ("run.log", "scratch/")
    assert not snap.dirty  # ignored files never make a run dirty
    assert CodeSnapshot.from_archive(snap.archive()).ignored == snap.ignored


def test_ignored_paths_are_capped(repo: Path) -> None:
    for i in range(130):
        write(repo, f"out-{i:03d}.log", "x\n")
    ignored = capture_code(repo / "train.py").ignored
    assert len(ignored) == 101 and ignored[0] == "out-000.log" and ignored[-1] == "... and 30 more"


def test_snapshots_without_ignored_paths_keep_the_older_format() -> None:
    """No ``ignored`` key when nothing was ignored: such snapshots keep the bytes (and hash) of the
    format before issue 11, and older snapshots read back with ``ignored == ()``."""
    import io
    import json
    import tarfile

    snap = CodeSnapshot(kind="script", script_path="/x/t.py", script_source=b"1")
    with tarfile.open(fileobj=io.BytesIO(snap.archive())) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert "ignored" not in manifest
    assert CodeSnapshot.from_archive(snap.archive()).ignored == ()
