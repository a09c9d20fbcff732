"""The context questions on the command line: lineage, impact, versions, find, drift, history, tried,
testuse. Each prints a rich rendering, or JSON with ``--json``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

import click
import pandas as pd

from ..insight.diff import drift_of
from ..insight.find import find, parse_condition
from ..insight.graph import Graph, consumers, derivation
from ..insight.history import history
from ..insight.usage import testuse, tried, varied_only
from ..store.metadata import MAX_LIMIT
from ..tracking.datasets import versions
from .options import (
    LIMIT,
    drift_rule_options,
    json_option,
    known_project,
    print_drift,
    project_option,
    rule_from,
)
from .render import console, frame_table, print_json
from .runs import STATUS_STYLE, limited_title, runs_answers, runs_shown


def _frame_out(frame: pd.DataFrame, as_json: bool, title: str, empty: str,
               keep: Iterable[str] = ()) -> None:
    """``keep``: the columns that answer the question, left out last on a narrow terminal."""
    if as_json:
        print_json(frame.to_dict(orient="records"))
    elif frame.empty:
        console.print(empty)
    else:
        console.print(frame_table(frame, title=title, keep=keep))


def _one_output(as_json: bool, dot: bool, svg: str | None) -> None:
    chosen = [flag for flag, given in (("--json", as_json), ("--dot", dot), ("--svg", svg)) if given]
    if len(chosen) > 1:  # (--json --dot printed JSON without a word about --dot)
        raise click.UsageError(f"{' and '.join(chosen)} are different outputs: give one of them")


def _graph_out(graph: Graph, as_json: bool, dot: bool, svg: str | None) -> None:
    if as_json:
        print_json(graph.to_dict())
        return
    if dot:
        click.echo(graph.to_dot(), nl=False)
        return
    if svg:
        try:
            subprocess.run(["dot", "-Tsvg", "-o", svg], input=graph.to_dot(), text=True, check=True)
        except FileNotFoundError:
            raise click.ClickException("--svg needs Graphviz's `dot` (apt-get install graphviz); "
                                       "--dot prints the DOT text instead") from None
        console.print(f"wrote {svg}")
        return
    console.print(graph.tree())


@click.command("lineage")
@click.argument("ref")
@project_option
@json_option
@click.option("--dot", is_flag=True, help="Print Graphviz DOT.")
@click.option("--svg", type=click.Path(dir_okay=False), help="Render an SVG picture to this file.")
def lineage_command(ref: str, project: str | None, as_json: bool, dot: bool, svg: str | None) -> None:
    """How REF was derived (NAME, NAME@VERSION, RUN:ARTIFACT or a hash): runs, operations, sources."""
    _one_output(as_json, dot, svg)
    _graph_out(derivation(ref, project=project), as_json, dot, svg)


@click.command("impact")
@click.argument("ref")
@project_option
@json_option
@click.option("--dot", is_flag=True, help="Print Graphviz DOT.")
@click.option("--svg", type=click.Path(dir_okay=False), help="Render an SVG picture to this file.")
def impact_command(ref: str, project: str | None, as_json: bool, dot: bool, svg: str | None) -> None:
    """Everything downstream of REF: derived data, models, and the runs that read them."""
    _one_output(as_json, dot, svg)
    graph = consumers(ref, project=project)
    _graph_out(graph, as_json, dot, svg)
    if not (as_json or dot or svg) and not graph.readers.empty:
        console.print(frame_table(graph.readers.assign(run_id=graph.readers["run_id"].str[:8]),
                                  title="runs that read them"))


@click.command("versions")
@click.argument("name")
@project_option
@json_option
def versions_command(name: str, project: str | None, as_json: bool) -> None:
    """Every version of dataset NAME: rows, columns, role, who recorded it, when, in which run."""
    frame = versions(name, project=project)
    shown = frame if frame.empty else frame.assign(content_hash=frame["content_hash"].str[:12],
                                                   run_id=frame["run_id"].str[:8],
                                                   registered_by=frame["registered_by"].str[:8])
    _frame_out(shown if not as_json else frame, as_json, f"versions of {name}", f"no dataset {name!r}",
               # (errors point at the hash's 12 digits; rows are latest first, as `registered` says)
               keep=("version", "rows", "content_hash", "role", "registered", "registered_by"))


@click.command("find")
@click.option("--param", "params", multiple=True, help="Condition on a param, e.g. lr>=0.01 (repeatable).")
@click.option("--metric", "metrics", multiple=True, help="Condition on a metric's last value, e.g. acc>0.9.")
@click.option("--data", help="A dataset (trips) or version (trips@2) the run read or wrote.")
@click.option("--code", help="A git commit (prefix) of the run's code.")
@click.option("--user", help="Who ran it.")
@click.option("--since", help="Started at or after (ISO date).")
@click.option("--until", help="Started at or before (ISO date or time, UTC; a date alone includes that day).")
@click.option("--text", help="A substring of the run or project name.")
@click.option("--status", type=click.Choice(list(STATUS_STYLE)), help="Only runs in this state.")
@click.option("--project", "-p", help="Only runs of this project (and the project of --data's dataset).")
@click.option("--limit", default=50, type=LIMIT, show_default=True,
              help="At most this many runs.")
@json_option
def find_command(params: tuple[str, ...], metrics: tuple[str, ...], data: str | None, code: str | None,
                 user: str | None, since: str | None, until: str | None, text: str | None,
                 status: str | None, project: str | None, limit: int, as_json: bool) -> None:
    """Search runs by params, metrics, data version, code version, time, user, name and status."""
    known_project(project)
    frame = find(params=params, metrics=metrics, data=data, code=code, user=user, since=since,
                 until=until, text=text, status=status, project=project, limit=min(limit + 1, MAX_LIMIT))
    more, frame = len(frame) > limit, frame.head(limit)
    # The same columns as `runs`: a dirty run's code is marked (its commit is not what ran).
    shown = frame if frame.empty or as_json else runs_shown(frame, project)
    # The columns the conditions were on answer the question: kept at any width (a newcomer's
    # `find --metric 'test_acc>0.98'` at 160 columns left out metric.test_acc).
    asked = [f"param.{parse_condition(c)[0]}" for c in params] + \
        [f"metric.{parse_condition(c)[0]}" for c in metrics]
    if not (frame.empty or as_json):  # (status, metrics and params kept as `runs` keeps them)
        shown, asked = runs_answers(shown, asked)
    _frame_out(shown, as_json, limited_title(len(frame), more, limit), "no run matches", keep=asked)


@click.command("drift")
@click.argument("reference")
@click.argument("current")
@project_option
@json_option
@drift_rule_options
def drift_command(reference: str, current: str, project: str | None, as_json: bool, **rule: float) -> None:
    """Distribution drift from REFERENCE to CURRENT (dataset versions, e.g. trips@1 trips-live@3).

    A column drifts when its distribution changed (p < alpha and (PSI >= psi or KS >= ks)) or its
    null fraction changed (by >= null with p < alpha, or all its values became null): docs/drift.md.
    """
    report = drift_of(reference, current, project=project, **rule_from(rule))
    if as_json:
        print_json(report.to_dict())
        return
    print_drift(report, f"{reference} -> {current}")


@click.command("history")
@click.argument("name")
@project_option
@json_option
def history_command(name: str, project: str | None, as_json: bool) -> None:
    """Transformations applied to dataset NAME (any version) across runs and people, most used first."""
    frame = history(name, project=project)
    _frame_out(frame, as_json, f"what was done to {name}",
               f"no recorded transformation of {name!r}: history lists the traced operations that made "
               f"registered data or models from it (mc.dataset/mc.artifact of traced values); outputs "
               f"made untraced and runs that only evaluated it are in `mlcontext impact {name}` and "
               f"`mlcontext testuse {name}`")


@click.command("tried")
@click.option("--dataset", "dataset_name", required=True, help="The dataset the designs were tried on.")
@click.option("--metric", required=True, help="The score to rank them by.")
@click.option("--mode", type=click.Choice(["max", "min"]), help="Higher or lower is better (guessed).")
@project_option
@json_option
def tried_command(dataset_name: str, metric: str, mode: str | None, project: str | None,
                   as_json: bool) -> None:
    """Past designs on a dataset (model, params) with their score, best first, across people."""
    frame = tried(dataset_name, metric, mode=mode, project=project)
    # The table shows what varied between designs; --json keeps every hyper-parameter.
    shown = frame if frame.empty or as_json else varied_only(frame.assign(run_id=frame["run_id"].str[:8]))
    answers = [metric, *(c for c in shown.columns if str(c).startswith("param."))]
    if "status" in shown.columns and not as_json:
        if set(shown["status"]) == {"finished"}:  # (nothing to tell apart: the width goes to the answer)
            shown = shown.drop(columns="status")
        else:
            answers.insert(1, "status")  # a failed or killed run's score is not a finished design's
    if "model" in shown.columns and shown["model"].nunique() > 1:  # designs of different classes
        answers.insert(1, "model")
    if "model_params" in shown.columns and any(isinstance(p, dict) and p for p in shown["model_params"]):
        answers.append("model_params")  # the hyper-parameters that varied (clf__C ...)
    if "version" in shown.columns and shown["version"].nunique() > 1:
        answers.insert(0, "version")  # designs on clean@1 and on clean@2 are told apart
    if not as_json and not shown.empty:
        # The score and the params first: kept columns are left out right to left, and a newcomer's
        # 80-column table kept a version, a wrapped class path and model_params, not the score.
        first = [c for c in ("run_id", "run_name", "status", metric) if c in shown.columns]
        params = [c for c in shown.columns if str(c).startswith("param.")]
        shown = shown[first + params + [c for c in shown.columns if c not in first and c not in params]]
    # NAME@VERSION names the dataset: the table is about every version of it, and says so.
    title = f"tried on {dataset_name.partition('@')[0]} (every version)" if "@" in dataset_name \
        else f"tried on {dataset_name}"
    _frame_out(shown, as_json, title, _nobody_read(dataset_name, project), keep=answers)


def _nobody_read(dataset_name: str, project: str | None) -> str:
    """What to say when no run read a dataset: ``tried`` lists the runs that read it (to fit or score
    on it); the runs that only made it are named, with where to look instead (a newcomer asked
    ``tried wine-clean kept`` of the cleaning run's own metric and got a bare "no run read")."""
    from ..tracking.datasets import versions

    said = f"no run read {dataset_name!r}: `tried` lists the runs that read a dataset (to fit or score on it)"
    try:
        made = versions(dataset_name.partition("@")[0], project=project)
    except Exception:  # noqa: BLE001 - the empty answer stands on its own
        return said
    runs = [r[:8] for r in dict.fromkeys(made["run_id"].dropna())] if "run_id" in made else []
    if not runs:
        return said
    many = len(runs) > 1
    return (f"{said}; run{'s' if many else ''} {', '.join(runs)} made it: ask `tried` about the data "
            f"{'they' if many else 'it'} read (`mlcontext lineage {dataset_name}` shows it)")


@click.command("testuse")
@click.argument("name", required=False)
@click.option("--budget", type=click.IntRange(min=0),
              help="Evaluations allowed per test version (default 10).")
@project_option
@json_option
def testuse_command(name: str | None, budget: int | None, project: str | None, as_json: bool) -> None:
    """How often each test set version was evaluated, by how many people; over-used ones flagged."""
    known_project(project)
    frame = testuse(name, budget=budget, project=project)
    _frame_out(frame, as_json, "test set use",
               "no test set has been evaluated yet" if name is None else _never_tested(name, project),
               keep=("evaluations", "over_budget"))


def _never_tested(name: str, project: str | None) -> str:
    """Why a dataset that exists (``testuse`` raised otherwise) has no test use: none of its versions
    was evaluated as a test set, and the roles its versions have."""
    found = versions(name, project=project)
    roles = sorted({r for r in found["role"] if isinstance(r, str)})
    dataset = f"dataset {name!r}" if "@" not in name else f"the dataset of {name!r}"
    said = f"roles: {', '.join(roles)}" if roles else "no role"
    return (f"{dataset} has never been evaluated as a test set: no run read a version of it with role "
            f"'test' ({len(found)} version(s), {said}); `mlcontext testuse` lists the test sets used")
