"""Crafted code snapshots never write outside the restore destination (issue 13 item 2, tar-slip).

Anyone who can write to a shared store can record a code snapshot; restoring or diffing it runs in the
reader's process. Each test builds an attack from a real git repository (symlinks from the commit, from
the diff, or recorded as links) or from a hand-made archive, and asserts that nothing appeared outside
the destination.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlcontext as mc
from git_helpers import git
from mlcontext.cli import cli
from mlcontext.errors import ArtifactCorruptedError, UnsafeArchiveError
from mlcontext.store import Store
from mlcontext.tracking.code import CodeSnapshot, capture_code, restore_code, restore_tree
from mlcontext.tracking.safe_tree import check_relative, escaping_links, make_link, write_file

pytestmark = pytest.mark.usefixtures("git_isolated")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder the attacker aims at; it must stay empty."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet", "-b", "main")
    (root / "train.py").write_text("print('train')\n")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "initial")
    return root


def snapshot_with_link_in_diff(repo: Path, name: str, target: str) -> CodeSnapshot:
    """A real snapshot whose diff adds the link ``name -> target`` (staged, not committed)."""
    os.symlink(target, repo / name)
    git(repo, "add", name)
    snap = capture_code(repo / "train.py")
    git(repo, "rm", "--quiet", "--cached", name)
    (repo / name).unlink()
    assert b"new file mode 120000" in snap.diff
    return snap


def assert_empty(folder: Path) -> None:
    assert list(folder.iterdir()) == [], f"something was written outside: {list(folder.iterdir())}"


# -- writes through links placed by the diff, the commit or the recorded links ---------------------

def test_untracked_file_through_a_link_added_by_the_diff_is_refused(repo, outside, tmp_path):
    # DVC #11101 (`outlink -> ../outside` then output `outlink/payload.bin`), rarfile #114.
    snap = snapshot_with_link_in_diff(repo, "evil", str(outside))
    crafted = dataclasses.replace(snap, untracked={"evil/pwned.txt": b"owned"})
    with pytest.raises(UnsafeArchiveError, match="links are never followed"):
        restore_code(crafted, tmp_path / "dest")
    assert_empty(outside)


def test_a_link_planted_on_the_script_path_is_not_written_through(repo, outside, tmp_path):
    # mholt/archiver #69: a link, then a file of the same name, overwrote the link's target.
    target = outside / "victim.py"
    snap = snapshot_with_link_in_diff(repo, "run.py", str(target))
    crafted = dataclasses.replace(snap, script_path="run.py", script_source=b"evil")
    with pytest.raises(UnsafeArchiveError):
        restore_code(crafted, tmp_path / "dest")
    assert_empty(outside)


def test_a_committed_link_is_not_written_through(repo, outside, tmp_path):
    # dulwich GHSA-8w8g-wq8h-fq33 / PR #2308: checkout entries written through leading symlinks.
    os.symlink(str(outside), repo / "data")
    git(repo, "add", "data")
    git(repo, "commit", "--quiet", "-m", "a link to a data folder")
    snap = dataclasses.replace(capture_code(repo / "train.py"), untracked={"data/x": b"owned"})
    with pytest.raises(UnsafeArchiveError):
        restore_code(snap, tmp_path / "dest")
    assert_empty(outside)


def test_a_link_into_git_hooks_installs_no_hook(repo, tmp_path):
    # DVC #11101 second effect: `hookdir -> .git/hooks` then `hookdir/pre-commit`.
    snap = snapshot_with_link_in_diff(repo, "hookdir", ".git/hooks")
    crafted = dataclasses.replace(snap, untracked={"hookdir/post-commit": b"#!/bin/sh\ntouch pwned\n"})
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError):
        restore_code(crafted, dest)
    assert not (dest / ".git" / "hooks" / "post-commit").exists()


@pytest.mark.parametrize("rel", ["../evil", "/tmp/evil", "a/../../evil", ".git/hooks/post-checkout",
                                 ".GIT/config", "", ".", "a/\0b"])
def test_unsafe_untracked_paths_are_refused(rel, tmp_path):
    with pytest.raises(UnsafeArchiveError):
        restore_code(CodeSnapshot(kind="none", untracked={rel: b"x"}), tmp_path / "dest")
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("script_path", ["/x/..", "/"])
def test_a_script_snapshot_writes_only_its_file_name(script_path, tmp_path):
    with pytest.raises(UnsafeArchiveError):
        restore_code(CodeSnapshot(kind="script", script_path=script_path, script_source=b"x"),
                     tmp_path / "dest")


# -- recorded links: recreated as links, never followed, never leaving -----------------------------

def test_untracked_links_are_captured_and_restored_as_links(repo, tmp_path):
    (repo / "configs").mkdir()
    (repo / "configs" / "base.yaml").write_text("lr: 1\n")
    os.symlink("configs/base.yaml", repo / "current.yaml")
    snap = CodeSnapshot.from_archive(capture_code(repo / "train.py").archive())
    assert snap.links == {"current.yaml": "configs/base.yaml"}
    dest = restore_code(snap, tmp_path / "dest")
    assert os.readlink(dest / "current.yaml") == "configs/base.yaml"
    assert (dest / "current.yaml").read_text() == "lr: 1\n"


@pytest.mark.parametrize(("links", "why"), [
    ({"l": "/etc"}, "not a relative path"),
    ({"sub/l": "../../x"}, "outside"),
    ({"l": ".."}, "outside"),
    ({"../l": "x"}, "outside"),
])
def test_recorded_links_that_leave_are_refused(links, why, tmp_path):
    with pytest.raises(UnsafeArchiveError, match=why):
        restore_code(CodeSnapshot(kind="none", links=links), tmp_path / "dest")
    assert not (tmp_path / "l").exists() and not (tmp_path / "x").exists()


def test_a_chain_of_links_that_leaves_is_found_by_resolving_it(tmp_path):
    # Each target is lexically inside, but `a -> .` makes `b -> a/..` the destination's parent: a
    # lexical check misses it (unblob #179, swift-package-manager #9979 resolve with realpath).
    crafted = CodeSnapshot(kind="none", links={"a": ".", "b": "a/.."})
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match="resolving outside"):
        restore_code(crafted, dest)
    assert not os.path.lexists(dest / "b") and os.path.islink(dest / "a")


def test_links_leaving_a_restored_commit_are_removed_unless_kept(repo, outside, tmp_path):
    os.symlink(str(outside), repo / "data")
    git(repo, "add", "data")
    git(repo, "commit", "--quiet", "-m", "a link to a data folder")
    snap = capture_code(repo / "train.py")
    with pytest.raises(UnsafeArchiveError, match="'data'"):
        restore_code(snap, tmp_path / "refused")
    assert not os.path.lexists(tmp_path / "refused" / "data")
    kept = restore_code(snap, tmp_path / "kept", outside_links="keep")
    assert os.readlink(kept / "data") == str(outside)
    assert escaping_links(kept) == ["data"]


# -- the diff itself, and what git is asked to run --------------------------------------------------

def _patch_adding(path: str) -> bytes:
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            "@@ -0,0 +1 @@\n+owned\n").encode()


@pytest.mark.parametrize("path", ["../outside/evil", ".git/hooks/post-checkout"])
def test_a_diff_naming_paths_outside_or_in_git_is_refused_by_git_apply(path, repo, outside, tmp_path):
    snap = dataclasses.replace(capture_code(repo / "train.py"), diff=_patch_adding(path))
    dest = tmp_path / "dest"
    with pytest.raises(mc.StoreError, match="does not apply"):
        restore_code(snap, dest)
    assert_empty(outside)
    assert not (dest / ".git" / "hooks" / "post-checkout").exists()


def test_a_diff_writing_through_its_own_link_is_refused(repo, outside, tmp_path):
    link = snapshot_with_link_in_diff(repo, "evil", str(outside))
    snap = dataclasses.replace(link, diff=link.diff + _patch_adding("evil/pwned"))
    with pytest.raises(mc.StoreError):
        restore_code(snap, tmp_path / "dest")
    assert_empty(outside)


@pytest.mark.parametrize("field", ["commit", "branch"])
def test_a_commit_or_branch_that_looks_like_an_option_is_refused(field, repo, tmp_path):
    marker = tmp_path / "pwned"
    value = f"--upload-pack=touch {marker};true"
    snap = dataclasses.replace(capture_code(repo / "train.py"), **{field: value})
    with pytest.raises(UnsafeArchiveError, match="not a"):
        restore_code(snap, tmp_path / "dest")
    assert not marker.exists()


# -- the archive format: crafted manifests fail on reading, not in the middle of a restore ----------

def _archive(manifest: dict, members: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"manifest.json": json.dumps(manifest).encode(), **(members or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD = {"format": "mlcontext-code/1", "kind": "none", "repo_root": None, "commit": None, "branch": None,
        "dirty": False, "untracked": [], "script_path": None, "script_hash": None,
        "script_source": False, "warnings": []}


@pytest.mark.parametrize("change", [{"untracked": [1]}, {"untracked": ["a", "a"]}, {"kind": "exe"},
                                    {"links": ["a"]}, {"links": {"a": 3}}, {"commit": 5},
                                    {"warnings": "x"}, {"dirty": "yes"}])
def test_malformed_manifests_are_corrupted_archives(change):
    members = {"untracked/000000": b"x", "untracked/000001": b"y"}
    with pytest.raises(ArtifactCorruptedError):
        CodeSnapshot.from_archive(_archive({**GOOD, **change}, members))


def test_link_and_device_members_of_the_tar_are_never_extracted(tmp_path):
    # The archive is read into memory: a symlink or hard-link member is not a file, and its name is
    # never a path on disk (CVE-2007-4559, Python's tarfile extraction filters).
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        manifest = json.dumps({**GOOD, "untracked": ["a"]}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        link = tarfile.TarInfo("untracked/000000")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ArtifactCorruptedError):
        CodeSnapshot.from_archive(buffer.getvalue())


def test_snapshots_without_links_keep_their_archive_bytes():
    snap = CodeSnapshot(kind="script", script_path="/x/t.py", script_source=b"1")
    assert b'"links"' not in snap.archive()
    assert b'"links"' in dataclasses.replace(snap, links={"a": "b"}).archive()


# -- the safe writer on its own ---------------------------------------------------------------------

def test_write_file_and_make_link_stay_inside(tmp_path, outside):
    dest = tmp_path / "d"
    dest.mkdir()
    write_file(dest, "a/b/c.txt", b"1")
    make_link(dest, "a/l", "b/c.txt")
    assert (dest / "a" / "l").read_bytes() == b"1"
    os.symlink(str(outside), dest / "planted")  # appears between checks and writes: still refused
    with pytest.raises(UnsafeArchiveError):
        write_file(dest, "planted/x", b"owned")
    with pytest.raises(UnsafeArchiveError):
        write_file(dest, "a/l", b"owned")  # the final component is a link
    assert (dest / "a" / "b" / "c.txt").read_bytes() == b"1"
    assert_empty(outside)
    assert check_relative("./a//b") == ("a", "b")


# -- the read-only commands: `mlcontext diff RUN RUN` -----------------------------------------------

def _record_run(store: Store, name: str) -> str:
    with mc.run(name, project="sec", store=store) as r:
        pass
    return r.id


def _set_code(store: Store, run_id: str, snapshot: CodeSnapshot) -> None:
    """What a store writer can do: point a run at a crafted snapshot."""
    digest = store.artifacts.put(snapshot.archive())
    with store.metadata.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE runs SET code_hash = ? WHERE id = ?", (digest, run_id))


def test_cli_diff_of_a_crafted_snapshot_writes_nothing_outside(repo, outside, tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    store = Store.open(home=home)
    try:
        first, second = _record_run(store, "a"), _record_run(store, "b")
        clean = capture_code(repo / "train.py")
        evil = snapshot_with_link_in_diff(repo, "evil", str(outside))
        _set_code(store, first, clean)
        _set_code(store, second, dataclasses.replace(evil, untracked={"evil/pwned.txt": b"owned"}))
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["diff", first, second, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    # Refused per entry: the rest (the diff's link, compared as a link) is still shown.
    assert "could not be restored" not in answer["code"] and "new file mode 120000" in answer["code"]
    assert [e["path"] for e in answer["code_refused"]["b"]] == ["evil/pwned.txt"]
    assert "links are never followed" in answer["code_refused"]["b"][0]["reason"]
    assert_empty(outside)


# The newcomer's links (an untracked `data -> /mnt/data`, `leak -> /etc/hostname`, `up -> ..`) made
# the whole code diff "could not be restored". Peers: breezy-team/breezy #101 and
# containerbuildsystem/cachito #643 handle such links one by one and keep the rest of the tree.
NEWCOMER_LINKS = {"data": "/mnt/data", "leak": "/etc/hostname", "up": ".."}


def _dirty_tree_with_outside_links(repo: Path) -> CodeSnapshot:
    (repo / "train.py").write_text("print('train v2')\n")
    (repo / "notes.txt").write_text("untracked notes\n")
    for name, target in NEWCOMER_LINKS.items():
        os.symlink(target, repo / name)
    return CodeSnapshot.from_archive(capture_code(repo / "train.py").archive())


def test_restore_refuses_outside_links_one_by_one_and_restores_the_rest(repo, tmp_path):
    snap = _dirty_tree_with_outside_links(repo)
    assert snap.links == NEWCOMER_LINKS
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError) as raised:
        restore_code(snap, dest)
    message = str(raised.value)
    for name, target in NEWCOMER_LINKS.items():
        assert f"link {name!r} -> {target!r}" in message
    assert (dest / "train.py").read_text() == "print('train v2')\n"
    assert (dest / "notes.txt").read_text() == "untracked notes\n"
    assert not any(os.path.lexists(dest / name) for name in NEWCOMER_LINKS)
    refused = restore_tree(snap, tmp_path / "again")
    assert [(e.path, e.kind, e.target) for e in refused] == \
        [(n, "link", t) for n, t in NEWCOMER_LINKS.items()]


@pytest.mark.parametrize("columns", ["60", "200"])
def test_cli_diff_with_untracked_outside_links_shows_the_rest_and_names_them(repo, tmp_path, monkeypatch,
                                                                             columns):
    home = tmp_path / "home"
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    monkeypatch.setenv("COLUMNS", columns)
    store = Store.open(home=home)
    try:
        first, second = _record_run(store, "a"), _record_run(store, "b")
        _set_code(store, first, capture_code(repo / "train.py"))
        _set_code(store, second, _dirty_tree_with_outside_links(repo))
    finally:
        store.close()
    answer = json.loads(CliRunner().invoke(cli, ["diff", first, second, "--json"]).output)
    assert "-print('train')" in answer["code"] and "+print('train v2')" in answer["code"]
    assert "notes.txt" in answer["code"]
    assert {(e["path"], e["kind"], e["target"]) for e in answer["code_refused"]["b"]} == \
        {(n, "link", t) for n, t in NEWCOMER_LINKS.items()}
    assert "a" not in answer["code_refused"]
    text = CliRunner().invoke(cli, ["diff", first, second])
    assert text.exit_code == 0, text.output
    assert "could not be restored" not in text.output and "train v2" in text.output
    flat = " ".join(text.output.split())  # wrapped at the terminal's width, never cut
    for name, target in NEWCOMER_LINKS.items():
        reason = next(e["reason"] for e in answer["code_refused"]["b"] if e["path"] == name)
        assert f"link {name!r} -> {target!r}: {reason}" in flat


def test_cli_diff_compares_links_that_leave_without_following_them(repo, outside, tmp_path, monkeypatch):
    (outside / "secret").write_text("do not print me\n")
    home = tmp_path / "home"
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    store = Store.open(home=home)
    try:
        first, second = _record_run(store, "a"), _record_run(store, "b")
        _set_code(store, first, capture_code(repo / "train.py"))
        _set_code(store, second, snapshot_with_link_in_diff(repo, "data", str(outside)))
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["diff", first, second, "--json"])
    assert result.exit_code == 0, result.output
    code = json.loads(result.output)["code"]
    assert "new file mode 120000" in code and str(outside) in code
    assert "do not print me" not in code
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
