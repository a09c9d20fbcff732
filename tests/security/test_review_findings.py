"""Holes found by the issue-13 review of main (a colleague with write access to the shared store).

Each test is the smallest attack or fault that shows one hole. Those not fixed yet are strict xfails
(the fix flips them to XPASS, which fails: remove the mark with the fix).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli import cli
from mlcontext.fingerprint import hash_frame
from mlcontext.store import Store
from mlcontext.store.context import ContextStore


class _Payload:
    """Pickles to "create the folder ``path``": code the writer chose, run by whoever unpickles."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def _as_mallory(store: Store, run_id: str) -> None:
    # The row a colleague's process would have written: the run is theirs, not the reader's.
    with store.metadata.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET \"user\" = 'mallory' WHERE id = :i"), {"i": run_id})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLCONTEXT_HOME", str(tmp_path / "home"))
    opened = Store.open(home=tmp_path / "home")
    mc.set_store(opened)
    yield opened
    if mc.active_run() is not None:
        mc.active_run().end()
    mc.set_store(None)
    opened.close()


# -- item 3: pickles from the store ---------------------------------------------------------------

def test_load_artifact_never_unpickles_a_colleagues_artifact(home: Store, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with mc.run("mallory-train") as run:
        mc.artifact("model", _Payload(marker))
    _as_mallory(home, run.id)
    with pytest.raises(mc.UntrustedArtifactError):
        mc.load_artifact(run.id, "model")
    assert not marker.exists()


def _crafted_dataset_versions(store: Store, marker: Path) -> None:
    """``trips@1`` honest, ``trips@2`` a pickle payload recorded as a dataset version (kind frame)."""
    mc.dataset(pd.DataFrame({"x": [1.0, 2.0]}), "trips", project="p")
    payload = pickle.dumps(_Payload(marker))
    digest = store.artifacts.put(payload)
    store.metadata.add_artifact(None, "dataset", digest, size=len(payload), kind="frame", meta={})
    fake = pd.DataFrame({"x": [3.0, 4.0]})
    ContextStore(store.metadata).add_version(
        "p", "trips", content_hash=hash_frame(fake), artifact_hash=digest, role=None, rows=2,
        profile=mc.dataset(fake, "shadow", project="p").profile.to_dict(), run_id=None, user="mallory")


@pytest.mark.parametrize("command", ["diff", "drift"])
def test_cli_of_dataset_versions_never_unpickles(home: Store, tmp_path: Path, command: str) -> None:
    marker = tmp_path / "pwned"
    _crafted_dataset_versions(home, marker)
    result = CliRunner().invoke(cli, [command, "trips@1", "trips@2", "--project", "p", "--json"])
    assert not marker.exists(), "a read-only CLI command ran code from the store"
    assert result.exit_code != 0 or "x" in result.output


def test_dataset_frame_of_a_crafted_version_runs_no_code(home: Store, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _crafted_dataset_versions(home, marker)
    with pytest.raises(mc.MLContextError):
        mc.dataset_version("trips@2", project="p").load()
    assert not marker.exists()


# -- item 8: forks (both failed on main at review time; fixed by the fork work that landed since) --

@pytest.mark.timeout(60)
def test_a_fork_childs_exit_does_not_end_the_parents_run(home: Store) -> None:
    run = mc.run("parent")
    mc.log("loss", 1.0)
    pid = os.fork()
    if pid == 0:  # the child exits normally: its atexit handlers run (pytest would catch SystemExit)
        try:
            atexit._run_exitfuncs()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert home.metadata.get_run(run.id).status == "running"
    run.end()


def _log_in_child(k: int) -> int:
    for i in range(100):
        mc.log("child", float(i))
    return k


@pytest.mark.timeout(120)
def test_values_logged_in_fork_pool_children_are_stored_or_refused(home: Store) -> None:
    with mc.run("parent") as run:
        try:
            with multiprocessing.get_context("fork").Pool(2) as pool:
                pool.map(_log_in_child, range(4))
        except mc.MLContextError:
            return  # a clear error is an allowed answer
    time.sleep(0.2)
    stored = home.metadata.metric_points(run.id, "child")
    assert len(stored) == 400
