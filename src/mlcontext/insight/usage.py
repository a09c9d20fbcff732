"""How data was used: past designs tried on it (``tried``) and how often test sets were evaluated."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Collection
from typing import Any, cast

import pandas as pd
from sqlalchemy import func, select

from ..checks import check_choice, check_count
from ..errors import NotFoundError, UsageError
from ..store import Store
from ..store import schema as t
from ..store.context import ContextStore
from ..store.frames import TESTUSE, TRIED, typed_empty
from ..tracking.dataset_refs import dataset_of
from ..tracking.queries import query_store
from ..tracking.stores import known_project
from ..tracking.uses import test_budget

__all__ = ["tried", "testuse", "varied_only"]

_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "perplexity")


def tried(dataset: Any, metric: str, *, mode: str | None = None, project: str | None = None,
          store: Store | None = None) -> pd.DataFrame:
    """Past designs on ``dataset`` (any version) and their ``metric``, best first, across people.

    Parameters
    ----------
    dataset : str or DatasetVersion
        The dataset (runs that read any version of it): ``NAME``, ``NAME@VERSION``, a content hash
        or a ``DatasetVersion``, each naming its dataset.
    metric : str
        The score to rank by (its last value in each run).
    mode : {"max", "min"}, optional
        Whether higher is better; by default ``min`` for names like loss/error/mse, else ``max``.
    project : str, optional
        The project of a dataset name that exists in several projects.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        One row per run that read a version of the dataset: ``run_id, run_name, status, user,
        start, version, model, model_params, model_from, model_artifact``, the metric, and
        ``param.<name>`` columns; best first.
        ``status`` tells a design that finished from one whose run failed or was killed after
        logging its score (``running``, ``finished``, ``failed``, ``killed``). ``model`` and
        ``model_params`` are the class and hyper-parameters of the design the run saved
        (``model_from`` "saved"), or else of the model it loaded (``"loaded"``: a scoring run); of several
        models, the one no other saved model holds as a component (a Pipeline, not its ``pca`` step
        saved too; a search, not its ``best_estimator_``), then the one whose traced fit read the
        dataset, then one that predicted or scored, then the last saved; ``model_artifact`` is the
        name the run saved (or loaded) it under.
        Empty, with these columns, for a dataset nobody read.

    Raises
    ------
    NotFoundError
        ``dataset`` names no dataset (no such name, version or hash), or no run that read it
        logged ``metric`` (the message lists the metrics they logged).
    ReferenceTypeError
        ``dataset`` is a ``RUN:NAME`` that names something else (a model).
    InvalidArgumentError
        ``mode`` is neither ``"max"`` nor ``"min"``.
    UsageError
        ``metric`` is not a string.
    AmbiguousReferenceError
        The name exists in several projects and ``project`` is not given.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"x": [1.0, 2.0]})
    >>> for depth in (2, 8):
    ...     with mc.run("tree", project="doc"):
    ...         _ = mc.dataset(data, "trips", role="train", project="doc")
    ...         mc.log("acc", 0.7 + depth / 100)
    ...         _ = mc.param("depth", depth)
    >>> mc.tried("trips", "acc", project="doc")[["version", "acc", "param.depth"]]
      version   acc  param.depth
    0  trips@1  0.78            8
    1  trips@1  0.72            2
    """
    if not isinstance(metric, str):
        raise UsageError(f"tried(dataset, metric): metric must be a metric's name, got "
                         f"{type(metric).__name__}: {metric!r}")
    check_choice(mode, ("max", "min"), "mode")
    store = query_store(store)
    dataset, project = dataset_of(store, dataset, project)
    rows_of = ContextStore(store.metadata).versions(dataset, project)
    versions = {v.id: v.ref for v in rows_of}
    version_hashes = {h for v in rows_of for h in (v.artifact_hash, v.content_hash)}
    if not versions:
        return typed_empty(TRIED | {metric: "float64"})
    with store.metadata.read() as conn:
        # Newest run first, so that designs with the same score keep the listings' order.
        reads = conn.execute(select(t.Access.run_id, func.min(t.Access.version_id))
                             .join(t.Run, t.Run.id == t.Access.run_id)
                             .where(t.Access.version_id.in_(list(versions)))
                             .group_by(t.Access.run_id, t.Run.started_at)
                             .order_by(t.Run.started_at.desc(), t.Access.run_id.desc())).all()
        run_ids = [r[0] for r in reads]
        runs = {r[0]: r[1:] for r in conn.execute(
            select(t.Run.id, t.Run.name, t.Run.status, t.Run.user, t.Run.started_at)
            .where(t.Run.id.in_(run_ids)))}
        logged = conn.execute(select(t.LatestMetric.name).where(t.LatestMetric.run_id.in_(run_ids))
                              .distinct()).scalars().all()
        scores = dict(conn.execute(select(t.LatestMetric.run_id, t.LatestMetric.value)
                                   .where(t.LatestMetric.run_id.in_(run_ids),
                                          t.LatestMetric.name == metric)).all())
        params: dict[str, dict] = {}
        for run_id, name, value in conn.execute(select(t.Param.run_id, t.Param.name, t.Param.value)
                                                .where(t.Param.run_id.in_(run_ids))):
            params.setdefault(run_id, {})[name] = json.loads(value)
        saved: dict[str, list[tuple[str, dict]]] = {}  # per run, its models in the order saved
        loaded: dict[str, list[tuple[str, dict]]] = {}  # ... and those it loaded (a scoring run's)
        named: dict[tuple[str, str], str] = {}  # (run, model hash) -> the name the run gave it
        for run_id, digest, meta, direction, artifact in conn.execute(
                select(t.RunArtifact.run_id, t.RunArtifact.artifact_hash, t.Artifact.meta,
                       t.RunArtifact.direction, t.RunArtifact.name)
                .join(t.Artifact, t.Artifact.hash == t.RunArtifact.artifact_hash)
                .where(t.RunArtifact.run_id.in_(run_ids), t.RunArtifact.direction.in_(["output", "input"]))
                .order_by(t.RunArtifact.time, t.RunArtifact.id)):
            if meta and "model_class" in meta:
                (saved if direction == "output" else loaded).setdefault(run_id, []).append((digest, meta))
                named[run_id, digest] = artifact
        several = [r for r, found in saved.items() if len(found) > 1]
        uses: dict[str, set[tuple[str, str]]] = {}  # per run, (model, "fit on the dataset"/"evaluate")
        if several:  # which of a run's models was fitted on the dataset, and which predicted
            for by, src, dst, kind in conn.execute(
                    select(t.Edge.run_id, t.Edge.src_hash, t.Edge.dst_hash, t.Edge.kind)
                    .where(t.Edge.run_id.in_(several), t.Edge.kind.in_(["fit", "evaluate"]))):
                if kind == "evaluate" or src in version_hashes:
                    uses.setdefault(str(by), set()).add((dst, kind))
        designs = {run_id: _design_of(found, uses.get(run_id, set())) for run_id, found in saved.items()}
        # A run that saved no model evaluated the one it loaded: the test set's leaderboard names it
        # (a newcomer's twelve scoring runs all showed `-`)
        origin = dict.fromkeys(designs, "saved") | {r: "loaded" for r in loaded if r not in designs}
        designs |= {run_id: _design_of(found) for run_id, found in loaded.items() if run_id not in designs}
    if not reads:
        return typed_empty(TRIED | {metric: "float64"})
    if metric not in logged:
        raise NotFoundError(_never_logged(metric, sorted(logged), len(reads), dataset))
    rows = []
    for run_id, version_id in reads:
        name, status, user, started = runs[run_id]
        digest, model = designs.get(run_id, ("", {}))
        score = scores.get(run_id, math.nan) if run_id in scores else math.nan
        rows.append({"run_id": run_id, "run_name": name, "status": status, "user": user, "start": started,
                     "version": versions[cast(int, version_id)], "model": model.get("model_class"),
                     "model_params": model.get("params"), "model_from": origin.get(run_id),
                     # which artifact: a run that saved two models (the search's best and a refit on
                     # all data) showed the second's settings beside a score of the first, unnamed
                     "model_artifact": named.get((run_id, digest)),
                     metric: math.nan if score is None else score,
                     **{f"param.{k}": v for k, v in params.get(run_id, {}).items()}})
    frame = pd.DataFrame(rows)
    for column in [c for c in frame.columns if str(c).startswith("param.")]:
        # Object, as mc.runs keeps params: an int param that some runs did not set stays an int
        # (a float column would print `epochs` 15 as 15.0; a newcomer's finding), missing is NaN.
        frame[column] = pd.Series([r.get(column, math.nan) for r in rows], index=frame.index, dtype=object)
    frame["start"] = pd.to_datetime(frame["start"], unit="s", utc=True)
    lower = (mode == "min") if mode else any(w in metric.lower() for w in _LOWER_IS_BETTER)
    ranked = frame.sort_values(metric, ascending=lower, na_position="last", kind="stable")
    return ranked.reset_index(drop=True)


def _design_of(saved: list[tuple[str, dict]], uses: Collection[tuple[str, str]] = ()) -> tuple[str, dict]:
    """The design among the models a run saved: ``(hash, metadata)`` of the one :func:`tried` lists.

    ``saved``: ``(hash, metadata)`` of each model the run saved, in the order saved; ``uses``:
    ``(hash, kind)`` of the run's edges into them, ``"fit"`` for a traced fit that read the dataset
    asked about, ``"evaluate"`` for a model that predicted or scored. The rule:

    1. A model that another model of the run holds as a component is not the design: a Pipeline's
       step (at any depth: its hyper-parameters are those of the step ``pca`` under ``pca__``, and
       the step is named by its class), or a search's ``best_estimator_`` (the search's template
       with what it chose, ``best_params_``). A run that saved ``model`` (a scaler + PCA + SVC
       pipeline) and then its fitted ``pca`` tried the pipeline, not a PCA (a newcomer's finding: the
       SVC and its ``C`` were lost), in whichever order they were saved.
    2. Of the models no other holds (a ``model`` and a ``scaler`` saved side by side; a model per
       epoch), the one whose traced fit read the dataset asked about; of those, one that predicted or
       scored (a scaler only transforms); of those, the last saved (the last epoch's).

    A run whose models all hold one another (the same hyper-parameters nested both ways) has rule 2
    applied to all of them.
    """
    if len(saved) == 1:
        return saved[0]
    top = [(i, model) for i, model in enumerate(saved)
           if not any(j != i and _holds(other[1], model[1]) for j, other in enumerate(saved))]
    top = top or list(enumerate(saved))
    _, chosen = max(top, key=lambda found: ((found[1][0], "fit") in uses,
                                            (found[1][0], "evaluate") in uses, found[0]))
    return chosen


def _holds(outer: dict, inner: dict) -> bool:
    """Whether model ``outer`` holds model ``inner`` as a component, by their recorded hyper-parameters
    (deep ``get_params()``): some step of ``outer`` is ``inner``'s class, and each hyper-parameter of
    ``inner`` is that step's (``pca__n_components`` for ``n_components``); for the ``estimator`` of
    a fitted search, what the search chose (``best_params_``) where it chose, its template elsewhere:
    the best estimator it refitted."""
    params, own = outer.get("params"), inner.get("params")
    cls = str(inner.get("model_class") or "")
    if not isinstance(params, dict) or not isinstance(own, dict):
        return False
    for step, value in params.items():
        if not isinstance(value, str) or not cls.endswith(f".{value}"):
            continue
        chosen = params.get("best_params_") if step == "estimator" else None
        chosen = chosen if isinstance(chosen, dict) else {}
        if all(_held_value(key, v, params.get(f"{step}__{key}", _ABSENT), chosen)
               for key, v in own.items() if key != "best_params_"):
            return True
    return False


def _held_value(key: str, value: object, template: object, chosen: dict) -> bool:
    """Whether a component's hyper-parameter ``key`` is ``value`` in its holder: what a search chose
    for it (an estimator chosen is ``{"Class": {...}}`` there, its class name in the component, and its
    own parameters are not compared), else the holder's value of it (``template``)."""
    for name, best in chosen.items():
        if key == name:
            return _same_value(value, best) or (isinstance(best, dict) and list(best) == [value])
        if key.startswith(f"{name}__") and isinstance(best, dict):
            return True
    return _same_value(value, template)


# A value no text shows whole carries a token of its own, taken when each model was saved.
_NOT_COMPARABLE = re.compile(r" \(not comparable #[0-9a-f]+\)")


def _same_value(x: object, y: object) -> bool:
    if x is _ABSENT or y is _ABSENT:
        return x is y
    return x == y or _NOT_COMPARABLE.sub("", _text(x)) == _NOT_COMPARABLE.sub("", _text(y))


def _never_logged(metric: str, logged: list[str], runs: int, dataset: str) -> str:
    """A metric none of the runs logged would rank them by nothing (a column of ``-``): say so, and
    which metrics they did log."""
    text = f"metric {metric!r} was never logged by the {runs} run(s) that read {dataset!r}"
    if not logged:
        return f"{text}; they logged no metric (mc.log records one)"
    close = difflib.get_close_matches(metric, logged, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{text}{hint}; they logged: {', '.join(logged)}"


def varied_only(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (from :func:`tried`) with only what varied between its designs.

    ``model_params`` keeps the hyper-parameters whose values differ between rows of one model class
    (a pipeline's whole ``get_params()`` repeats dozens of defaults; a RandomForest's parameters do
    not "vary" because a Ridge has none of them: the ``model`` column says the classes differ),
    without those of a step whose class differs (the step's own entry says it), and what a search
    chose (``best_params_``), which is its design; ``param.*`` columns with one value are dropped.
    """
    shown = frame.copy()
    if "model_params" in shown.columns:
        params = [p if isinstance(p, dict) else None for p in shown["model_params"]]
        classes = list(shown["model"]) if "model" in shown.columns else [None] * len(params)
        # runs that saved no model compare nothing
        models = [(_text(c), p) for c, p in zip(classes, params, strict=True) if p is not None]
        keys = dict.fromkeys(k for _, p in models for k in p)
        varying = [k for k in keys if k == "best_params_" or _varies_within_its_step(k, models)]
        shown["model_params"] = [None if p is None else {k: p[k] for k in varying if k in p}
                                 for p in params]
    constant = [c for c in shown.columns if str(c).startswith("param.")
                and len({_text(v) for v in shown[c]}) <= 1]
    return shown.drop(columns=constant)


_ABSENT = object()


def _varies_within_its_step(key: str, models: list[tuple[str, dict]]) -> bool:
    """Whether hyper-parameter ``key`` takes several values among designs of one model class whose
    steps above it are alike: ``clf__C`` varies between two LogisticRegression designs, but not
    merely because a third design's ``clf`` is a Ridge (the step's own entry says that; each of its
    parameters would repeat it, some 250 lines at 80 columns), nor because a design has no
    ``logisticregression`` step, nor ``n_estimators`` because one design is a RandomForest and
    another a Ridge. ``models``: ``(model class, hyper-parameters)`` of each design."""
    parts = key.split("__")
    steps = ["__".join(parts[:n]) for n in range(1, len(parts))]
    groups: dict[tuple[str, ...], set[str]] = {}
    for cls, p in models:
        step_values = tuple(_text(p.get(s, _ABSENT)) for s in steps)
        if steps and _text(_ABSENT) in step_values:
            continue  # a design without this step: nothing to compare the parameter with
        groups.setdefault((cls, *step_values), set()).add(_text(p.get(key, _ABSENT)))
    return any(len(values) > 1 for values in groups.values())


def _text(value: object) -> str:
    if value is _ABSENT:
        return "<absent>"
    return json.dumps(value, sort_keys=True, default=repr)


def testuse(dataset: Any = None, *, budget: int | None = None, project: str | None = None,
            store: Store | None = None) -> pd.DataFrame:
    """How often each test version was evaluated: runs, people, first and last time, over budget?

    Parameters
    ----------
    dataset : str or DatasetVersion, optional
        Only this dataset's test versions (default: every dataset's): ``NAME``, ``NAME@VERSION``, a
        content hash or a ``DatasetVersion``, each naming its dataset.
    budget : int, optional
        Evaluations allowed per test version (default 10, ``MLCONTEXT_TEST_BUDGET``).
    project : str, optional
        Only this project's datasets.
    store : Store, optional
        Where to look (default: :func:`mlcontext.get_store`).

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, version, project, evaluations, people, first, last, budget,
        over_budget``, most evaluated first; empty, with these columns, when no test set was used
        (or no version of ``dataset`` was evaluated as one).

    Raises
    ------
    NotFoundError
        ``dataset`` names no dataset (no such name, version or hash), or ``project`` no project
        (the message lists those that exist).
    InvalidArgumentError
        ``budget`` is negative.
    UsageError
        ``budget`` is not an integer.

    Examples
    --------
    >>> import pandas as pd
    >>> with mc.run("eval", project="doc"):
    ...     _ = mc.dataset(pd.DataFrame({"y": [0, 1]}), "holdout", role="test", project="doc")
    >>> mc.testuse("holdout", project="doc")[["dataset", "version", "evaluations", "over_budget"]]
       dataset  version  evaluations  over_budget
    0  holdout        1            1        False
    """
    budget = test_budget() if budget is None else check_count(budget, "budget")
    store = query_store(store)
    if dataset is not None:
        dataset, project = dataset_of(store, dataset, project)
    known_project(store, project)  # (a typo would list no dataset, as if none had been evaluated)
    query = (select(t.Dataset.name, t.DatasetVersion.version, t.Project.name,
                    func.count(func.distinct(t.Access.run_id)), func.count(func.distinct(t.Access.user)),
                    func.min(t.Access.time), func.max(t.Access.time))
             .join(t.DatasetVersion, t.DatasetVersion.id == t.Access.version_id)
             .join(t.Dataset, t.Dataset.id == t.DatasetVersion.dataset_id)
             .join(t.Project, t.Project.id == t.Dataset.project_id)
             .where(t.Access.role == "test")
             .group_by(t.Dataset.name, t.DatasetVersion.version, t.Project.name, t.DatasetVersion.id)
             .order_by(t.DatasetVersion.id))  # equal counts: the order the versions were recorded
    if dataset is not None:
        query = query.where(t.Dataset.name == dataset)
    if project is not None:
        query = query.where(t.Project.name == project)
    with store.metadata.read() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return typed_empty(TESTUSE)
    frame = pd.DataFrame(rows, columns=["dataset", "version", "project", "evaluations", "people", "first",
                                        "last"])
    frame["budget"] = budget
    frame["over_budget"] = frame["evaluations"] > budget
    for column in ("first", "last"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame.sort_values("evaluations", ascending=False, kind="stable").reset_index(drop=True)
