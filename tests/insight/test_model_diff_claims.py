"""A model diff claims only what the lineage says; artifacts that are not models are described as what
they are (newcomer 13, point 4).

``mlcontext diff RUN:pickle RUN:pickle2`` showed "(None)" classes, "hyper-parameters: 0 differ" and, as
training data, datasets the run registered after storing the artifacts.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.cli.main import cli


class Blob:
    """A plain object: stored as a pickle, not a model."""

    def __init__(self, n: int) -> None:
        self.n = n


def _runs(store) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(size=40)})
    with mc.run("untraced", project="claims") as untraced:
        mc.dataset(train, name="claims-train", role="train")
        model = Ridge().fit(train[["x"]], train.y)  # plain pandas: the fit is not traced
        mc.artifact("model", model)
        mc.artifact("blob", Blob(1))
        mc.artifact("blob2", Blob(2))
        mc.dataset(train.assign(x=train.x + 1), name="claims-later")  # after the artifacts
    with mc.run("traced", project="claims") as traced:
        version = mc.dataset(train, name="claims-train", role="train")
        data = version.frame()
        fitted = mc.traced(Ridge(alpha=2.0)).fit(data[["x"]], data.y)
        mc.artifact("model", fitted)
    return untraced.id, traced.id


def test_artifacts_that_are_not_models_are_described_not_diffed_as_models(store, monkeypatch):
    untraced, _ = _runs(store)
    diff = mc.diff(f"{untraced}:blob", f"{untraced}:blob2")
    assert diff.models == (False, False)
    assert diff.training_data == (None, None)
    assert [a["kind"] for a in diff.artifacts] == ["pickle", "pickle"]
    assert all(a["size"] > 0 and len(a["hash"]) == 32 for a in diff.artifacts)
    monkeypatch.setenv("COLUMNS", "200")
    out = CliRunner().invoke(cli, ["diff", f"{untraced}:blob", f"{untraced}:blob2"]).output
    assert "not a model: pickle" in out and "different bytes" in out
    assert "hyper-parameters" not in out and "training data" not in out and "None" not in out
    answer = json.loads(CliRunner().invoke(cli, ["diff", f"{untraced}:blob", f"{untraced}:blob2",
                                                 "--json"]).output)
    assert answer["models"] == [False, False] and answer["training_data"] == [None, None]


def test_training_data_is_what_the_fit_read_or_not_claimed(store):
    untraced, traced = _runs(store)
    diff = mc.diff(f"{untraced}:model", f"{traced}:model")
    assert diff.models == (True, True)
    # The traced fit: its lineage. The untraced one: what its run read as training data before
    # storing it, said as such; never claims-later (no role, registered after the model).
    assert diff.training_data == (["claims-train@1"], ["claims-train@1"])
    assert diff.fit_traced == (False, True)
    assert diff.params["alpha"] == (1.0, 2.0)
    out = CliRunner().invoke(cli, ["diff", f"{untraced}:model", f"{traced}:model"]).output
    assert "claims-later" not in out and "the fit was not traced" in out
