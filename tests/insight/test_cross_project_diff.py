"""Diffs between two projects that use the same dataset names (a newcomer's two-project setup:
``wine`` and ``cancer``, each with ``clean`` and ``train``): ``clean@2`` of one is not ``clean@2`` of the
other, and a drift over zero rows is no answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.errors import InvalidArgumentError


def _run(project: str, seed: int) -> str:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"a": rng.normal(size=40), "y": rng.normal(size=40)})
    with mc.run("train", project=project) as run:
        train = mc.dataset(data, "train", role="train").frame()
        model = mc.traced(Ridge(alpha=1.0, random_state=0)).fit(train[["a"]], train["y"])
        mc.artifact("model", model)
    return run.id


def test_runs_of_two_projects_read_two_datasets_of_one_name(store):
    a, b = _run("wine", 0), _run("cancer", 1)
    runs = mc.diff(a, b)
    assert set(runs.data) == {"wine/train", "cancer/train"}, runs.data  # was {}: "the same data read"
    models = mc.diff(f"{a}:model", f"{b}:model")
    assert models.training_data == (["wine/train@1"], ["cancer/train@1"])


def test_drift_refuses_a_sample_of_no_rows(store):
    frame = pd.DataFrame({"x": np.arange(10.0)})
    for size in (0, -5, 2.5):
        with pytest.raises(InvalidArgumentError, match="sample_size"):
            mc.drift(frame, frame + 1, sample_size=size)
