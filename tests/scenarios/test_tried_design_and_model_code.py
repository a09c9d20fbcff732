"""A newcomer's two wrong answers: ``tried`` named a pipeline's saved step as the design, and the model
diff called the code of two runs different where the run diff said "same code".

``train.py`` fits a StandardScaler + PCA + classifier pipeline on ``bc-train`` and saves ``model``, then
the fitted ``pca`` step of it. Found wrong before:

1. ``mlcontext tried --dataset bc-train --metric train_acc`` (``--json``, ``mc.tried`` alike) showed the
   SVC run (C=10) as ``sklearn.decomposition._pca.PCA {'n_components': 8}``: the design was whichever
   saved model the store returned last, the classifier and its ``C`` were lost and ``clf__C`` never
   showed as varied. A model another saved model holds (a step of it) is not the design now; of the
   others, the one fitted on the dataset, then one that predicted, then the last saved.
2. A run at a commit with ``train.py`` untracked, and a run at the next commit, which added that very
   file: ``mlcontext diff RUN RUN`` said "same code" (it compares the content of the code that ran),
   ``mlcontext diff RUN:model RUN:model`` "differs: 2a4070a0+dirty vs 6d92fe42" and
   ``ModelDiff.same_code`` was ``False`` (it compared commits). Both decide by content now, by one rule
   (:func:`mlcontext.insight.rundiff.same_code`).
"""

from __future__ import annotations

import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.insight.usage import varied_only

PREPARE = """
    import mlcontext as mc
    from sklearn.datasets import load_breast_cancer

    with mc.run("prepare", project="bc") as run:
        frame = load_breast_cancer(as_frame=True).frame
        mc.dataset(frame.iloc[:, list(range(8)) + [-1]], "bc-train", role="train")
        print(run.id)
"""

TRAIN = """
    import mlcontext as mc
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    with mc.run("train", project="bc") as run:
        C = mc.param("C", 1.0)
        kind = mc.param("model", "logreg")
        n_pca = mc.param("pca", 0)
        train = mc.dataset_version("bc-train").frame()
        X, y = train.drop(columns=["target"]), train["target"]
        clf = LogisticRegression(C=C, max_iter=2000) if kind == "logreg" else SVC(C=C, random_state=0)
        steps = [("scale", StandardScaler())]
        if n_pca:
            steps.append(("pca", PCA(n_components=n_pca, random_state=0)))
        model = mc.traced(Pipeline([*steps, ("clf", clf)]))
        model.fit(X, y)
        mc.log("train_acc", float(model.score(X, y)))
        mc.artifact("model", model)
        if n_pca:
            mc.artifact("pca", model.named_steps["pca"])
        print(run.id)
"""


@pytest.fixture(scope="module")
def newcomer(make_project):
    project = make_project("bc", {"prepare.py": PREPARE})
    project.run("prepare.py")
    project.write("train.py", TRAIN)  # untracked: the first run ran it uncommitted
    dirty = project.run("train.py").last_line
    project.commit("train v1", "train.py")  # the very file that ran
    logreg = project.run("train.py", params={"C": 0.1, "pca": 5}).last_line
    svm = project.run("train.py", params={"model": "svm", "C": 10.0, "pca": 8}).last_line
    return project, {"dirty": dirty, "logreg": logreg, "svm": svm}


def _designs(rows) -> dict[str, tuple[str, dict]]:
    return {r["run_id"]: (r["model"], r["model_params"]) for r in rows}


def test_tried_names_the_pipeline_not_the_step_saved_after_it(newcomer):
    project, ids = newcomer
    with project.store():
        frame = mc.tried("bc-train", "train_acc", project="bc")
    for rows in (frame.to_dict("records"),
                 project.cli_json("tried", "--dataset", "bc-train", "--metric", "train_acc")):
        designs = _designs(rows)
        for run in ("dirty", "logreg", "svm"):
            assert designs[ids[run]][0] == "sklearn.pipeline.Pipeline", run
        assert designs[ids["svm"]][1]["clf"] == "SVC" and designs[ids["svm"]][1]["clf__C"] == 10.0
        assert designs[ids["svm"]][1]["pca__n_components"] == 8
        assert designs[ids["logreg"]][1]["clf"] == "LogisticRegression"
        assert designs[ids["logreg"]][1]["clf__C"] == 0.1
    shown = varied_only(frame)
    varied = {r["run_id"]: r["model_params"] for r in shown.to_dict("records")}
    assert varied[ids["svm"]]["clf__C"] == 10.0 and varied[ids["logreg"]]["clf__C"] == 0.1
    out = " ".join(project.cli("tried", "--dataset", "bc-train", "--metric", "train_acc").stdout.split())
    assert "PCA {" not in out and "_pca.PCA" not in out


def test_model_diff_decides_the_code_as_the_run_diff_does(newcomer, strict_json):
    project, ids = newcomer
    dirty, logreg = ids["dirty"], ids["logreg"]
    with project.store():
        runs = mc.diff(dirty, logreg)
        models = mc.diff(f"{dirty}:model", f"{logreg}:model")
    assert runs.same_code is True
    assert models.same_code is True
    assert models.code[0]["dirty"] is True and models.code[1]["dirty"] is False
    assert models.code[0]["commit"] != models.code[1]["commit"]
    out = " ".join(project.cli("diff", f"{dirty}:model", f"{logreg}:model").stdout.split())
    assert "code: the same files ran (" in out and "code: differs" not in out
    answer = project.cli_json("diff", f"{dirty}:model", f"{logreg}:model")
    assert answer["same_code"] is True


def test_model_diff_still_says_when_the_code_differs(newcomer):
    project, ids = newcomer
    project.write("train.py", TRAIN.replace("max_iter=2000", "max_iter=3000"))  # uncommitted edit
    edited = project.run("train.py").last_line
    project.write("train.py", TRAIN)
    with project.store():
        runs = mc.diff(ids["dirty"], edited)
        models = mc.diff(f"{ids['dirty']}:model", f"{edited}:model")
    assert runs.same_code is False and models.same_code is False
    assert models.code_text().startswith("differs: ")


# -- the rule among several saved models, in process -------------------------------------------------

def _frame() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.iloc[:, list(range(6)) + [-1]]


def _design(name: str, project: str) -> tuple[str, dict]:
    rows = mc.tried(name, "acc", project=project).to_dict("records")
    assert len(rows) == 1
    return rows[0]["model"], rows[0]["model_params"]


def test_a_model_and_its_scaler_saved_side_by_side(store):
    # Neither holds the other: the one that predicted is the design, though the scaler was saved last.
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    with mc.run("fit", project="siblings"):
        train = mc.dataset(_frame(), "sib-train", role="train").frame()
        X, y = train.drop(columns=["target"]), train["target"]
        scaler = mc.traced(StandardScaler()).fit(X)
        model = mc.traced(LogisticRegression(C=0.5, max_iter=2000)).fit(scaler.transform(X), y)
        mc.log("acc", float(model.score(scaler.transform(X), y)))
        mc.artifact("model", model)
        mc.artifact("scaler", scaler)
    cls, params = _design("sib-train", "siblings")
    assert cls.endswith("LogisticRegression") and params["C"] == 0.5


def test_a_model_saved_per_epoch_is_the_last_one(store):
    from sklearn.linear_model import SGDClassifier

    with mc.run("fit", project="epochs"):
        train = mc.dataset(_frame(), "ep-train", role="train").frame()
        X, y = train.drop(columns=["target"]), train["target"]
        for epoch in mc.loop("epoch", range(3)):
            model = mc.traced(SGDClassifier(max_iter=epoch + 1, tol=None, random_state=0)).fit(X, y)
            mc.log("acc", float(model.score(X, y)))
            mc.artifact("model", model)
    cls, params = _design("ep-train", "epochs")
    assert cls.endswith("SGDClassifier") and params["max_iter"] == 3


def test_a_search_and_its_best_estimator(store):
    # The best estimator is the search's refit: the search (and what it chose) is the design, in
    # either order of saving.
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    for order, project in (("best first", "search-a"), ("search first", "search-b")):
        with mc.run("search", project=project):
            train = mc.dataset(_frame(), "gs-train", role="train").frame()
            X, y = train.drop(columns=["target"]), train["target"]
            pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=2000))])
            search = mc.traced(GridSearchCV(pipe, {"clf__C": [0.01, 10.0]}, cv=3)).fit(X, y)
            mc.log("acc", float(search.score(X, y)))
            saves = [("best", search.best_estimator_), ("search", search)]
            for name, model in saves if order == "best first" else saves[::-1]:
                mc.artifact(name, model)
        cls, params = _design("gs-train", project)
        assert cls.endswith("GridSearchCV"), order
        assert params["best_params_"] == {"clf__C": 10.0}, order


def test_a_pipeline_saved_after_its_component(store):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    with mc.run("fit", project="component-first"):
        train = mc.dataset(_frame(), "cf-train", role="train").frame()
        X, y = train.drop(columns=["target"]), train["target"]
        pca = mc.traced(PCA(n_components=3)).fit(X)
        mc.artifact("pca", pca)
        model = mc.traced(Pipeline([("pca", pca), ("clf", LogisticRegression(C=2.0, max_iter=2000))]))
        model.fit(X, y)
        mc.log("acc", float(model.score(X, y)))
        mc.artifact("model", model)
    cls, params = _design("cf-train", "component-first")
    assert cls == "sklearn.pipeline.Pipeline" and params["clf__C"] == 2.0


def test_untraced_siblings_the_last_saved(store):
    # Nothing traced says which was fitted or predicted: the last saved top-level model, documented.
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    with mc.run("fit", project="untraced"):
        mc.dataset(_frame(), "un-train", role="train").frame()  # read; fitted below on plain data
        X, y = _frame().drop(columns=["target"]), _frame()["target"]
        scaler = StandardScaler().fit(X)
        mc.artifact("scaler", scaler)
        model = Ridge(alpha=3.0).fit(scaler.transform(X), y)
        mc.log("acc", float(model.score(scaler.transform(X), y)))
        mc.artifact("model", model)
    cls, params = _design("un-train", "untraced")
    assert cls.endswith("Ridge") and params["alpha"] == 3.0
