"""``tried`` on a test set lists the scoring runs' designs: a run that saved no model evaluated the one
it loaded (``model_from="loaded"``); a newcomer's twelve scoring runs all showed ``-`` (twelfth
session). A run that saved a model keeps it (``"saved"``), and a run with neither has none."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

import mlcontext as mc


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x[:, 0] - x[:, 1]})


def test_a_scoring_run_tried_the_model_it_loaded(store):
    train, test = _frame(60, 0), _frame(20, 1)
    ids = {}
    for alpha in (0.1, 10.0):
        with mc.run(f"train-{alpha}", project="tried-loaded") as run:
            mc.dataset(train, "train", role="train")
            model = Ridge(alpha=alpha).fit(train[["a", "b"]], train.y)
            mc.artifact("model", model)
            mc.dataset(test, "test", role="test")
            mc.log("test_r2", float(model.score(test[["a", "b"]], test.y)))
        ids[alpha] = run.id
    with mc.run("score", project="tried-loaded") as scoring:
        model = mc.load_artifact(ids[10.0], "model", project="tried-loaded")
        mc.dataset(test, "test", role="test")
        mc.log("test_r2", float(model.score(test[["a", "b"]], test.y)))
    with mc.run("look", project="tried-loaded") as looking:
        mc.dataset(test, "test", role="test")
        mc.log("test_r2", 0.0)
    tried = mc.tried("test", "test_r2", project="tried-loaded").set_index("run_id")
    assert tried.loc[scoring.id, "model_from"] == "loaded"
    assert tried.loc[scoring.id, "model"] == "sklearn.linear_model._ridge.Ridge"
    assert tried.loc[scoring.id, "model_params"]["alpha"] == 10.0
    assert tried.loc[ids[0.1], "model_from"] == "saved"
    assert tried.loc[ids[0.1], "model_params"]["alpha"] == 0.1
    assert pd.isna(tried.loc[looking.id, "model_from"]) and pd.isna(tried.loc[looking.id, "model"])
