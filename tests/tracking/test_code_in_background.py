"""A run's code snapshot is captured in the background from its start (issue 15: start + end in a
dirty repository of 1,000 files as fast as MLflow's) and never lost at exit: the process ends right
after ``end()`` in every way but ``kill -9``, and the snapshot is there, with the run's git columns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import mlcontext as mc
from git_helpers import committed_repo
from mlcontext.store import Store
from mlcontext.store.metadata import settle_background
from mlcontext.tracking.code import CodeSnapshot


@pytest.fixture
def repo(tmp_path: Path, git_isolated: None) -> Path:
    root = tmp_path / "repo"
    committed_repo(root, {"model.py": "width = 1\n", ".gitignore": ".mlcontext/\n"})
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


# -- git starts first; a start that fails leaves nothing behind ----------------------------------
# Peers' kind: git processes left running or unreaped by a tool that started them and then failed
# (zendesk/samson#166, git-lfs/git-lfs#1017: zombies piling up in long-lived processes).


def _children() -> set[int]:
    """This process's child processes, zombies included (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            with open(task / "children") as fh:
                found.update(int(pid) for pid in fh.read().split())
        except FileNotFoundError:  # a thread that ended meanwhile
            pass
    return found


def _fail_insert(*_args, **_kwargs):
    raise mc.StoreError("the database refused the run (simulated)")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads children from Linux /proc")
@pytest.mark.parametrize("failure", ["bad run name", "bad --param", "insert fails"])
def test_a_start_that_fails_leaves_no_git_process_and_no_thread(
        repo: Path, monkeypatch, tmp_path: Path, failure: str) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "model.py"), raising=False)
    store = Store.open(home=tmp_path / "home")
    if failure == "insert fails":
        monkeypatch.setattr(store.metadata, "create_run", _fail_insert)
    before = _children()
    with mc.use_store(store):
        with pytest.raises(mc.MLContextError):
            if failure == "bad run name":
                mc.run("two\nlines", project="bg")
            elif failure == "bad --param":
                mc.Run("ok", project="bg", argv=["train.py", "--param", "lr"])
            else:
                mc.run("ok", project="bg")
        assert mc.active_run() is None
        settle_background(timeout=10)
        assert not any(t.name.startswith("mlcontext-code-") for t in threading.enumerate())
        assert _children() <= before  # git was reaped (no zombie) or never outlived the failure
        assert "bg" not in set(mc.runs()["project"]) and list(store.artifacts) == []  # no snapshot stored
    store.close()


def test_git_reads_the_tree_while_the_run_records_its_start(repo: Path, monkeypatch, tmp_path: Path) -> None:
    """``git status`` (most of a capture) is started before the run's row is inserted, and the
    snapshot is attached to the row all the same."""
    from mlcontext.store.metadata import MetadataStore
    from mlcontext.tracking import code

    order: list[str] = []
    start_read, create_run = code._start_read, MetadataStore.create_run

    def status_first(git, cache):
        order.append("git status")
        return start_read(git, cache)

    def insert(self, *args, **kwargs):
        order.append("insert run")
        return create_run(self, *args, **kwargs)

    monkeypatch.setattr(code, "_start_read", status_first)
    monkeypatch.setattr(MetadataStore, "create_run", insert)
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "model.py"), raising=False)
    store = Store.open(home=tmp_path / "home")
    with mc.use_store(store):
        mc.run("overlapped", project="bg").end()
    # (the fixture has just written the files: the capture may read them again, before or after
    # the insert)
    assert order[0] == "git status" and order.count("insert run") == 1
    _assert_snapshot(store, "overlapped", b"width = 2")


# -- a fresh reviewer's findings on starting git first --------------------------------------------


def test_a_store_folder_inside_the_repository_is_never_code(repo: Path) -> None:
    """The store is opened (which makes git ignore its folder) before git reads the tree: a store in
    the repository under another name than .mlcontext, made by an older version without its own
    .gitignore, was stored as untracked code (its database and artifacts) by a fresh process (whose
    store opens slowly: it imports SQLAlchemy) and the clean tree recorded as dirty."""
    subprocess.run(["git", "checkout", "-q", "model.py"], cwd=repo, check=True)  # a clean tree
    script = repo / "train.py"
    script.write_text("import mlcontext as mc\nmc.run('fresh', project='bg').end()\n")
    subprocess.run(["git", "add", "train.py"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "train"], cwd=repo, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLCONTEXT_")}
    env["MLCONTEXT_HOME"] = str(repo / "store")
    for attempt in range(2):
        if attempt:
            (repo / "store" / ".gitignore").unlink()  # as an older mlcontext left it
        proc = subprocess.run([sys.executable, str(script)], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    store = Store.open(home=repo / "store")
    try:
        ids = list(store.metadata.runs_frame(project="bg")["id"])
        assert len(ids) == 2
        for record in map(store.metadata.get_run, ids):
            assert record.git_dirty is False, record.environment["code_warnings"]
            snapshot = CodeSnapshot.from_archive(store.artifacts.get(record.code_hash))
            assert snapshot.untracked == {} and not snapshot.diff
    finally:
        store.close()


def _interrupt(*_args, **_kwargs):
    raise KeyboardInterrupt


def test_an_interrupt_right_after_the_code_thread_started_leaves_nothing_waiting(
        repo: Path, monkeypatch, tmp_path: Path) -> None:
    """Ctrl-C (a notebook's interrupt) between the code thread's start and the row's insert: the
    thread waited for ever for the row, later reads of the store waited 30 s each, and the
    interpreter could not exit."""
    run_module = sys.modules["mlcontext.tracking.run"]  # (mlcontext.tracking.run is also a function)
    finish_at_exit = run_module._finish_at_multiprocessing_exit
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "model.py"), raising=False)
    store = Store.open(home=tmp_path / "home")
    with mc.use_store(store):
        monkeypatch.setattr(run_module, "_finish_at_multiprocessing_exit", _interrupt)
        with pytest.raises(KeyboardInterrupt):
            mc.run("interrupted", project="bg")
        monkeypatch.setattr(run_module, "_finish_at_multiprocessing_exit", finish_at_exit)
        settle_background(timeout=20)
        assert not any(t.name.startswith("mlcontext-code-") for t in threading.enumerate())
        with mc.run("after", project="bg"):
            pass
        assert list(mc.runs(project="bg")["name"]) == ["after"]
    _assert_snapshot(store, "after", b"width = 2")


def test_a_sigterm_while_the_row_is_inserted_dies_at_once(repo: Path) -> None:
    """The code thread waits for the row; a process dying of SIGTERM during the insert waited for
    that thread (10 s, the grace period for background writes) instead of dying."""
    script = repo / "train.py"
    script.write_text(textwrap.dedent("""
        import os, signal, sys, time
        import mlcontext as mc
        from mlcontext.store.metadata import MetadataStore
        insert = MetadataStore.create_run
        def killed_meanwhile(self, *args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # (the handler runs before this returns)
            return insert(self, *args, **kwargs)
        MetadataStore.create_run = killed_meanwhile
        mc.run("killed", project="bg")
        print("never reached")
    """))
    env = dict(os.environ, MLCONTEXT_HOME=str(repo / ".mlcontext"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(script)], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=60)
    waited = time.monotonic() - started
    assert proc.returncode == -signal.SIGTERM and "never reached" not in proc.stdout, proc.stderr
    from mlcontext.tracking.run import BACKGROUND_GRACE_S
    assert waited < BACKGROUND_GRACE_S / 2  # (a hang check: it waited the whole grace period)


def test_a_failing_look_for_the_repository_does_not_fail_the_run(repo: Path, monkeypatch,
                                                                  tmp_path: Path) -> None:
    """Capture must never fail a user's run, also now that it begins in the run's own thread."""
    from mlcontext.tracking import code

    def unreadable(_start):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(code, "_find_repo_root", unreadable)
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(repo / "model.py"), raising=False)
    store = Store.open(home=tmp_path / "home")
    with mc.use_store(store):
        with mc.run("no-repo", project="bg") as run:
            pass
        record = mc.get_run(run.id)
        assert record.status == "finished" and record.git_commit is None
        assert any("Permission denied" in w for w in record.environment["code_warnings"])
    store.close()
