"""A run that reads another run's output and registers the same bytes again under another name is a
consumer of it, not a second maker (a reviewer's finding, twelfth session): ``impact`` of the model
behind the scores reaches the report the publishing run made from them, and ``lineage`` of the report
reaches back through the scores to the model and the batch they were computed from. Before, the
publisher's ``run`` edge into the shared node counted as its own derivation of the bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import mlcontext as mc


def test_a_run_registering_again_what_it_read_stays_downstream(store):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(int)
    with mc.run("train", project="p") as train:
        mc.dataset(pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": y}), "train")
        mc.artifact("model", LogisticRegression().fit(x, y))
    mc.dataset(pd.DataFrame({"a": rng.normal(size=20), "b": rng.normal(size=20)}), "batch", project="p")
    mc.dataset(pd.DataFrame({"t": [0.5]}), "thresholds", project="p")
    with mc.run("score", project="p"):
        model = mc.load_artifact(train.id, "model", project="p")
        batch = mc.dataset_version("batch@1", project="p").load()
        scores = pd.DataFrame({"p": model.predict_proba(batch[["a", "b"]].to_numpy())[:, 1]})
        mc.dataset(scores, "scores", direction="output")
    with mc.run("publish", project="p"):
        threshold = mc.dataset_version("thresholds@1", project="p").load()
        read = mc.dataset_version("scores@1", project="p").load()
        mc.dataset(read, "scores-published", direction="output")  # the same bytes, registered again
        mc.dataset(pd.DataFrame({"above": [(read["p"] > threshold["t"][0]).mean()]}), "report",
                   direction="output")
    downstream = set(mc.consumers(f"{train.id}:model", project="p").nodes["label"])
    assert "report@1" in downstream
    upstream = set(mc.derivation("report@1", project="p").nodes["label"])
    assert {"batch@1", "thresholds@1", f"model (run {train.id[:8]})"} <= upstream
