"""``tried`` keeps params as the runs logged them (a newcomer's finding: the int param ``epochs``,
set by some runs only, came back as 15.0 in the table and the JSON while ``runs`` showed 15)."""

from __future__ import annotations

import pandas as pd

import mlcontext as mc


def test_an_int_param_set_by_some_runs_stays_an_int(store) -> None:
    data = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 1.1, 1.9, 3.2]})
    for epochs in (15, None):
        with mc.run("fit", project="tried-params"):
            if epochs is not None:
                mc.param("epochs", epochs)
            mc.param("alpha", 0.5)
            mc.dataset(data, "tried-train", role="train").frame()
            mc.log("score", 0.5)
    frame = mc.tried("tried-train", "score", project="tried-params")
    set_by = [v for v in frame["param.epochs"] if not pd.isna(v)]
    assert set_by == [15] and type(set_by[0]) is int and frame["param.epochs"].isna().sum() == 1
    runs = mc.runs(project="tried-params")  # the same values as `runs` gives
    assert [v for v in runs["param.epochs"] if not pd.isna(v)] == set_by
