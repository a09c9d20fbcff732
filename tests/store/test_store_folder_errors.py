"""A store folder that cannot be created is a ConfigError naming the folder and what to do, not a bare
OSError from deep in pathlib (a newcomer's ``MLCONTEXT_HOME`` under a file, or in ``/proc``). Peers
of the kind: MLflow's file store on a folder it cannot write fails with a raw ``PermissionError``
from ``os.makedirs`` deep in its artifact repository (mlflow/mlflow#212, #13573), and Lightning's
MLflow logger assumes the working directory is writable (Lightning-AI/pytorch-lightning#20641)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlcontext as mc


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a folder\n")
    return tmp_path / "a-file" / "store"


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
def test_a_store_folder_that_cannot_be_created_is_a_config_error(tmp_path: Path, monkeypatch,
                                                                  where: str) -> None:
    home = _under_a_file(tmp_path) if where == "under a file" else Path("/proc/mlcontext-no-such-store")
    if where == "in /proc" and not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    with pytest.raises(mc.ConfigError, match="cannot create the store's folder") as caught:
        mc.run("never", project="errors")
    assert str(home) in str(caught.value) and "MLCONTEXT_HOME" in str(caught.value)
    assert mc.active_run() is None
    with pytest.raises(mc.ConfigError, match="cannot create the store's folder"):
        mc.Store.open(home=home)
