"""A run's code snapshot is captured in the background from its start (issue 15: start + end in a
dirty repository of 1,000 files as fast as MLflow's) and never lost at exit: the process ends right
after ``end()`` in every way but ``kill -9``, and the snapshot is there, with the run's git columns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlcontext as mc
from mlcontext.store import Store
from mlcontext.tracking.code import CodeSnapshot


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "model.py").write_text("width = 1\n")
    (root / ".gitignore").write_text(".mlcontext/\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    (root / "model.py").write_text("width = 2  # changed, not committed\n")
    return root


ENDINGS = {
    "falls off the end": "",
    "sys.exit(3)": "sys.exit(3)",
    "raises": "raise RuntimeError('after the run')",
    "SIGTERM to itself": "os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)",
    "SIGINT to itself": "os.kill(os.getpid(), signal.SIGINT); time.sleep(30)",
}


@pytest.mark.parametrize("ending", list(ENDINGS), ids=list(ENDINGS))
def test_the_snapshot_is_stored_however_the_process_ends_right_after_end(repo: Path, ending: str) -> None:
    script = repo / "train.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys, time
        import mlcontext as mc
        mc.run("quick", project="bg").end()
        {ENDINGS[ending]}
    """))
    env = dict(os.environ, MLCONTEXT_HOME=str(repo / ".mlcontext"))
    env.pop("MLCONTEXT_STORE", None)
    env.pop("MLCONTEXT_ARTIFACTS", None)
    proc = subprocess.run([sys.executable, str(script)], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 or ending in ("falls off the end",), proc.stderr
    if ending.startswith("SIGTERM"):
        assert proc.returncode == -signal.SIGTERM
    _assert_snapshot(Store.open(home=repo / ".mlcontext"), "quick", b"width = 2")


def test_a_multiprocessing_child_with_its_own_run_stores_its_snapshot(repo: Path) -> None:
    """A fork child ends with os._exit (no interpreter shutdown): its exit finalizers wait."""
    script = repo / "train.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing as mp
        import mlcontext as mc

        def child():
            mc.run("in-child", project="bg").end()

        if __name__ == "__main__":
            p = mp.get_context("fork").Process(target=child)
            p.start(); p.join()
            assert p.exitcode == 0
    """))
    env = dict(os.environ, MLCONTEXT_HOME=str(repo / ".mlcontext"))
    proc = subprocess.run([sys.executable, str(script)], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    _assert_snapshot(Store.open(home=repo / ".mlcontext"), "in-child", b"width = 2")


def test_a_query_right_after_end_sees_the_snapshot(repo: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(repo)
    store = Store.open(home=tmp_path / "home")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "model.py"), raising=False)
    with mc.use_store(store):
        run = mc.run("in-process", project="bg")
        run.end()
        record = mc.get_run(run.id)  # no wait of our own: the read waits for the capture
        assert record.git_commit is not None and record.git_dirty is True and record.code_hash
    _assert_snapshot(store, "in-process", b"width = 2")


def test_a_file_changed_between_two_runs_is_captured_anew(repo: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "model.py"), raising=False)
    store = Store.open(home=tmp_path / "home")
    with mc.use_store(store):
        for width in (3, 4):
            (repo / "model.py").write_text(f"width = {width}\n")
            mc.run(f"w{width}", project="bg").end()
    _assert_snapshot(store, "w3", b"width = 3")
    _assert_snapshot(store, "w4", b"width = 4")


def _assert_snapshot(store: Store, run_name: str, expected: bytes) -> None:
    try:
        record = store.metadata.get_run(run_name)
        assert record.git_commit and record.git_branch == "main" and record.git_dirty is True
        assert [a.name for a in record.artifacts] == ["code"] and record.artifacts[0].hash == record.code_hash
        snapshot = CodeSnapshot.from_archive(store.artifacts.get(record.code_hash))
        assert expected in snapshot.diff
        assert "code_warnings" in record.environment and "packages" in record.environment
    finally:
        store.close()
