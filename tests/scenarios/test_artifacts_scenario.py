"""Scenario: checkpoints per epoch, a typo'd path, a folder, a custom object (issue 11 items 18-20,
issue 13 item 3), across processes as a user runs them.

``train.py`` saves weights each epoch inside ``mc.loop``, a checkpoint folder, a scikit-learn model and
an object no data format holds; one run passes a misspelled path and crashes. A later process (not
the one that wrote them) reads everything back: data formats without trust, the pickle only with it.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.errors import NotFoundError, UntrustedArtifactError
from mlcontext.tracking.trees import StoredTree

TRAIN = """
    import sys
    from pathlib import Path

    import numpy as np
    from sklearn.linear_model import Ridge

    import mlcontext as mc

    with mc.run("train", project="ckpt") as run:
        epochs = mc.param("epochs", 3)
        checkpoint = mc.param("checkpoint", "checkpoints")
        w = np.zeros(4)
        for epoch in mc.loop("epoch", range(epochs)):
            w = w + epoch
            mc.artifact("weights.npy", w)
            mc.log("loss", float(10 - epoch))
        Path("checkpoints").mkdir(exist_ok=True)
        Path("checkpoints/model.txt").write_text(str(w.tolist()))
        mc.artifact("checkpoint", checkpoint)
        X = np.arange(12.0).reshape(6, 2)
        mc.artifact("model", Ridge(alpha=0.5).fit(X, X.sum(axis=1)))
        mc.artifact("vocab", frozenset({"a", "b"}))
    print(run.id)
"""


@pytest.fixture(scope="module")
def project(make_project):
    project = make_project("ckpt", {"train.py": TRAIN, ".gitignore": "checkpoints/\n"})
    good = project.run("train.py", params={"epochs": 4})
    typo = project.run("train.py", params={"checkpoint": "checkpoints/modle.pt"}, check=False)
    return project, good.last_line, typo


def test_the_typo_run_crashed_with_the_path_named_and_is_failed(project):
    proj, _, typo = project
    assert typo.returncode != 0 and "checkpoints/modle.pt" in typo.stderr
    assert "NotFoundError" in typo.stderr
    runs = proj.cli_json("runs")
    assert sorted(r["status"] for r in runs) == ["failed", "finished"]


def test_weights_of_every_epoch_are_npy_and_selected_by_epoch(project):
    proj, run_id, _ = project
    with proj.store() as store:
        for epoch, expected in enumerate([0, 1, 3, 6]):
            np.testing.assert_array_equal(mc.load_artifact(run_id, "weights.npy", epoch=epoch),
                                          np.full(4, float(expected)))
        saved = [a for a in mc.get_run(run_id).artifacts if a.name == "weights.npy"]
        assert [a.context for a in saved] == [{"epoch": e} for e in range(4)]
        raw = store.artifacts.get(saved[-1].hash)
        np.testing.assert_array_equal(np.load(io.BytesIO(raw), allow_pickle=False), np.full(4, 6.0))


def test_the_folder_is_a_tree_and_the_model_is_skops(project):
    proj, run_id, _ = project
    with proj.store():
        tree = mc.load_artifact(run_id, "checkpoint")
        assert isinstance(tree, StoredTree) and tree["model.txt"] == b"[6.0, 6.0, 6.0, 6.0]"
        model = mc.load_artifact(run_id, "model")  # another process wrote it: skops needs no trust
        assert model.alpha == 0.5 and model.predict(np.ones((1, 2))).shape == (1,)


def test_a_pickle_from_another_process_needs_trust(project):
    proj, run_id, _ = project
    with proj.store():
        with pytest.raises(UntrustedArtifactError, match="trusted=True"):
            mc.load_artifact(run_id, "vocab")
        assert mc.load_artifact(run_id, "vocab", trusted=True) == frozenset({"a", "b"})
        with pytest.raises(NotFoundError, match=r"saved no 'weights.npy' at \{'epoch': 9\}"):
            mc.load_artifact(run_id, "weights.npy", epoch=9)
