"""Where the store lives: the nearest project marker, and a store folder that git ignores.

Issue 11, items 1 and 2. Peers: wandb #4444 (a ``.gitignore`` with ``*`` inside the tracker's own
folder), ddev #8321 (a marker folder further up captured the wrong project).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from mlcontext.store import Store, project_root, resolve_config
from mlcontext.store.config import claim_home

MARKERS = (".mlcontext", ".git", "pyproject.toml")


def _mark(folder: Path, marker: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if marker == "pyproject.toml":
        (folder / marker).write_text("[project]\nname = 'x'\n")
    else:
        (folder / marker).mkdir()


@pytest.mark.parametrize(("outer", "inner"), list(itertools.product(MARKERS, MARKERS)))
def test_the_nearest_marker_wins_whatever_the_markers(tmp_path: Path, outer: str, inner: str) -> None:
    _mark(tmp_path, outer)
    _mark(tmp_path / "proj", inner)
    work = tmp_path / "proj" / "src" / "deep"
    work.mkdir(parents=True)
    assert project_root(work) == tmp_path / "proj"
    assert project_root(tmp_path / "proj") == tmp_path / "proj"
    assert project_root(tmp_path) == tmp_path


def test_no_marker_means_the_start_folder(tmp_path: Path) -> None:
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    if any((p / m).exists() for p in start.parents for m in MARKERS):
        pytest.skip("an ancestor of the temporary folder is itself marked")
    assert project_root(start) == start


def test_default_store_is_inside_the_nearest_project(tmp_path: Path, monkeypatch) -> None:
    for name in ("MLCONTEXT_HOME", "MLCONTEXT_STORE", "MLCONTEXT_ARTIFACTS"):
        monkeypatch.delenv(name, raising=False)
    _mark(tmp_path, ".mlcontext")
    _mark(tmp_path / "proj", ".git")
    monkeypatch.chdir(tmp_path / "proj")
    config = resolve_config()
    assert config.home == str(tmp_path / "proj" / ".mlcontext")
    assert config.metadata_url == f"sqlite:///{tmp_path / 'proj' / '.mlcontext' / 'mlcontext.db'}"


def test_a_store_folder_ignores_itself(tmp_path: Path) -> None:
    store = Store.open(home=tmp_path / "proj" / ".mlcontext")
    store.close()
    assert (tmp_path / "proj" / ".mlcontext" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_remote_stores_claim_no_folder(tmp_path: Path) -> None:
    config = resolve_config(tmp_path / "home", metadata_url="sqlite:///" + str(tmp_path / "elsewhere.db"),
                            artifacts_url="memory://bucket")
    assert config.home is None


@pytest.mark.parametrize("state", ["new", "empty", "named .mlcontext", "holds a store"])
def test_the_gitignore_goes_where_the_folder_is_the_stores(tmp_path: Path, state: str) -> None:
    folder = tmp_path / (".mlcontext" if state == "named .mlcontext" else "home")
    if state != "new":
        folder.mkdir()
    if state == "named .mlcontext":
        (folder / "notes.txt").write_text("x")
    if state == "holds a store":
        (folder / "mlcontext.db").write_bytes(b"")
    claim_home(folder)
    assert (folder / ".gitignore").read_text().endswith("*\n")


def test_a_users_folder_and_gitignore_are_left_alone(tmp_path: Path) -> None:
    """MLCONTEXT_HOME pointed at a folder of the user's: no ``*`` that would hide their files."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    claim_home(mine)
    assert not (mine / ".gitignore").exists()
    own = tmp_path / ".mlcontext"
    own.mkdir()
    (own / ".gitignore").write_text("custom\n")
    claim_home(own)
    assert (own / ".gitignore").read_text() == "custom\n"
