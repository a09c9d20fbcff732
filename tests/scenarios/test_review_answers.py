"""Review of issue 11 on realistic flows the other scenarios do not cover.

One project (module scope): orders cleaned through two registered intermediates, merged with a
second dataset read from another file, split, fitted, scored, checkpoints saved in a loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc

TRAIN = """
    import numpy as np
    import mlcontext as mc
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    with mc.run("train", project="shop") as run:
        seed = mc.param("seed", 0)
        raw = mc.dataset("data/orders.csv", name="orders-raw").frame()
        pos = raw[raw.amount > 0]
        mc.dataset(pos, name="orders-pos")
        feat = pos.assign(log_amount=np.log1p(pos.amount))
        mc.dataset(feat, name="orders-feat")
        cust = mc.dataset("data/customers.csv", name="customers").frame()
        merged = feat.merge(cust, on="cid")
        mc.dataset(merged, name="orders-merged")
        train, test = train_test_split(merged, test_size=0.3, random_state=seed)
        mc.dataset(train, name="o-train", role="train")
        mc.dataset(test, name="o-test", role="test")
        model = mc.traced(LogisticRegression())
        model.fit(train[["log_amount", "age"]], train.y)
        mc.log("acc", model.score(test[["log_amount", "age"]], test.y))
        for epoch in mc.loop("epoch", range(3)):
            mc.artifact("ckpt.pkl", {"epoch": epoch, "seed": seed})
        mc.artifact("model.pkl", model)
        print(run.id)
"""


@pytest.fixture(scope="module")
def shop(make_project):
    project = make_project("shop", {".gitignore": "data/\n", "train.py": TRAIN})
    rng = np.random.default_rng(0)
    n = 200
    (project.root / "data").mkdir()
    pd.DataFrame({"cid": rng.integers(0, 30, n), "amount": rng.normal(50, 30, n),
                  "y": rng.integers(0, 2, n)}).to_csv(project.root / "data/orders.csv", index=False)
    pd.DataFrame({"cid": range(30), "age": rng.integers(18, 80, 30)}).to_csv(
        project.root / "data/customers.csv", index=False)
    run_id = project.run("train.py").last_line
    return project, run_id


def test_each_branch_of_a_merge_shows_only_its_own_operations(shop):
    # Found in review: the edge customers -> orders-merged listed the *orders* branch's cleaning
    # ("filter amount > 0", "log1p", ...) as if it had been applied to the customers.
    project, _ = shop
    graph = project.cli_json("lineage", "orders-merged")
    label = {n["hash"]: n["label"] for n in graph["nodes"]}
    ops = {label[e["src"]]: e["operations"] for e in graph["edges"]}
    assert ops["customers@1"] == ["merge customers on='cid'"]
    assert ops["orders-feat@1"] == ["merge customers on='cid'"]
    assert ops["orders-pos@1"] == ["getitem 'amount'", "log1p", "assign log_amount=…"]
    assert ops["orders-raw@1"] == ["filter amount > 0"]
    # The same edges answer `history`: nothing but the merge was done to the customers.
    history = project.cli_json("history", "customers")
    assert [r["transformation"] for r in history] == ["merge customers on='cid'"]


def test_the_model_reaches_both_inputs_of_the_merge(shop):
    project, run_id = shop
    graph = project.cli_json("lineage", f"{run_id}:model.pkl")
    labels = {n["label"] for n in graph["nodes"]}
    assert {"o-train@1", "o-test@1", "orders-merged@1", "customers@1", "orders-raw@1"} <= labels
    kinds = {(next(n["label"] for n in graph["nodes"] if n["hash"] == e["src"]), e["kind"])
             for e in graph["edges"]}
    assert ("o-train@1", "fit") in kinds and ("o-test@1", "evaluate") in kinds


def test_model_score_counts_as_an_evaluation(shop):
    project, _ = shop
    rows = project.cli_json("testuse")
    assert [(r["dataset"], r["version"], r["evaluations"]) for r in rows] == [("o-test", 1, 1)]


def test_artifacts_saved_in_a_loop_carry_their_loop_context(shop):
    project, run_id = shop
    with project.store():
        ckpts = [a for a in mc.get_run(run_id).artifacts if a.name == "ckpt.pkl"]
        assert [dict(a.context) for a in ckpts] == [{"epoch": 0}, {"epoch": 1}, {"epoch": 2}]
        assert [mc.load_artifact(a)["epoch"] for a in ckpts] == [0, 1, 2]
