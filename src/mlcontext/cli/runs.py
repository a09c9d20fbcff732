"""``mlcontext runs``, ``show`` and ``diff``."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click
import pandas as pd
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from ..checks import did_you_mean
from ..errors import UsageError
from ..insight.diff import ABSENT, DatasetDiff, ModelDiff
from ..insight.diff import diff as semantic_diff
from ..insight.rundiff import RunDiff, environment_rows, side_text
from ..insight.text import the_same
from ..store.metadata import MAX_LIMIT, NO_HEARTBEAT
from ..store.records import ArtifactRef, RunRecord, code_version
from ..tracking import get_run, runs
from .options import LIMIT, drift_rule_options, known_project, print_drift, project_option, rule_from
from .render import console, fmt, frame_table, print_json

STATUS_STYLE = {"running": "cyan", "finished": "green", "failed": "red", "killed": "yellow"}


@click.command("runs")
@click.option("--project", "-p", help="Only runs of this project.")
@click.option("--name", "-n", help="Only runs with this name.")
@click.option("--status", type=click.Choice(list(STATUS_STYLE)), help="Only runs in this state.")
@click.option("--user", help="Only runs of this user.")
@click.option("--limit", default=20, type=LIMIT, show_default=True,
               help="At most this many (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def runs_command(project: str | None, name: str | None, status: str | None, user: str | None,
                 limit: int, as_json: bool) -> None:
    """List runs, newest first, with their params and last metric values."""
    known_project(project)
    # one more than asked for, to say when the limit left runs out (a newcomer read "20 run(s)" as all)
    frame = runs(project, name=name, status=status, user=user, limit=min(limit + 1, MAX_LIMIT))
    more, frame = len(frame) > limit, frame.head(limit)
    if as_json:
        print_json(frame.to_dict(orient="records"))
        return
    if frame.empty:
        console.print(_no_runs(project, name=name, status=status, user=user))
        return
    shown, answers = runs_answers(runs_shown(frame, project))
    console.print(frame_table(shown, title=limited_title(len(frame), more, limit), keep=answers))


def _no_runs(project: str | None, **conditions: str | None) -> str:
    """What to say when no run matched: the conditions that left them all out, when some were given
    and runs exist (a newcomer's `runs --user nobody` said "No runs recorded yet" of a store with 30)."""
    given = {k: v for k, v in conditions.items() if v is not None}
    if given and not (every := runs(project, limit=MAX_LIMIT)).empty:
        said = ", ".join(f"{k} {v!r}" for k, v in given.items())
        # (`runs -n trian` said only "No run matches", where `show trian` suggests 'train')
        hints = [f"{k}: {close}" for k, v in given.items() if k in ("name", "user")
                 and (close := did_you_mean(str(v), every[k].dropna().astype(str).unique().tolist()))]
        return f"No run matches {said}" + (f" in project {project!r}" if project else "") + \
            (f" ({'; '.join(hints)})" if hints else " (`mlcontext runs` lists them all)")
    return "No runs recorded yet. Start one with `with mlcontext.run(...)` in a script."


def limited_title(count: int, more: bool, limit: int) -> str:
    """A runs table's title: how many it lists, and whether ``--limit`` left older ones out."""
    return f"the {count} newest runs (older ones left out: --limit {min(limit * 2, MAX_LIMIT)} for more)" \
        if more else f"{count} run(s)"


def runs_answers(shown: pd.DataFrame, asked: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """A runs table's columns in the order they are left out last, and those to keep: how each run
    ended, how long it took and what runs are compared by are kept before who ran them, when, and
    from which commit (two newcomers read an 80-column table of ids, users and commits without a
    score). ``asked`` (the columns a ``find`` condition was on) first, then metrics, then params, as
    kept columns are left out right to left."""
    asked = [c for c in asked if c in shown.columns]
    metrics = [c for c in shown.columns if str(c).startswith("metric.") and c not in asked]
    params = [c for c in shown.columns if str(c).startswith("param.") and c not in asked]
    rest = [c for c in shown.columns if c not in asked and c not in metrics and c not in params]
    answers = [c for c in ("name", "status", "duration") if c in shown.columns]
    return shown[rest + asked + metrics + params], [*answers, *asked, *metrics, *params]


def runs_shown(frame: pd.DataFrame, project: str | None = None) -> pd.DataFrame:
    """A frame of runs (``mc.runs``, ``mc.find``) as the tables show it: short ids, and the code
    version with ``+dirty`` where uncommitted changes ran (the commit alone is not that code), in
    place of the ``git_dirty`` column; the project column only when several may be listed.
    The param./metric. prefixes stay: a param and a metric may share a name (issue 11, 21)."""
    code = [code_version(c, d) for c, d in zip(frame["git_commit"], frame["git_dirty"], strict=True)]
    shown = frame.assign(id=frame["id"].str[:8], git_commit=code)
    return shown.drop(columns=["host", "git_dirty"] + (["project"] if project else []))


@click.command("show")
@click.argument("run")
@click.option("--project", "-p", help="A run name is the newest run of that name in this project.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def show_command(run: str, project: str | None, as_json: bool) -> None:
    """Show everything recorded about RUN (an id, an id prefix, or a run name)."""
    if ":" in run:  # (run names cannot hold one: RUN:NAME names an artifact)
        owner, _, name = run.partition(":")
        raise UsageError(f"show takes a run, and {run!r} names artifact {name!r} of run {owner!r}: "
                         f"`mlcontext show {owner}` lists its artifacts, `mlcontext lineage {run}` "
                         "says how it was made")
    record = get_run(run, project=project)
    if as_json:
        print_json(dataclasses.asdict(record))
        return
    console.print(_summary(record))
    same_name = _same_name_note(run, record)
    if same_name:
        console.print(same_name)
    for title, mapping in (("params", record.params), ("metrics (last value)", record.metrics)):
        if mapping:
            values = _recorded(mapping).values()
            frame = pd.DataFrame({"name": list(mapping), "value": [fmt(v) for v in values]})
            console.print(frame_table(frame, title=title))
    if record.artifacts:
        frame = pd.DataFrame([(_artifact_name(a), a.kind, f"{a.size:,}", a.hash, _direction(a))
                              for a in record.artifacts],
                             columns=["name", "kind", "size", "hash", "direction"])
        # (the direction tells a version read from one written: train@2 may be both)
        console.print(frame_table(frame, title="artifacts", keep=("name", "direction")))
    if record.traceback:
        console.print(Syntax(record.traceback, "pytb", theme="ansi_dark"))


def _same_name_note(ref: str, record: RunRecord) -> str:
    """When RUN was a name that several runs share, which one this is and how to pick another: two
    people's runs named ``fit`` showed the newest, whoever made it, and nothing said there were more
    (a newcomer's finding)."""
    if ref != record.name:
        return ""  # an id or an id prefix: one run, named exactly
    same = runs(record.project, name=record.name)
    if len(same) < 2:
        return ""
    people = sorted(set(same["user"].dropna()))
    by = f" by {', '.join(people)}" if len(people) > 1 else ""
    return (f"[dim]{len(same)} runs are named {escape(repr(record.name))} in {escape(record.project)}{by}: "
            f"this is the newest; give an id to see another (mlcontext runs -p {escape(record.project)} "
            f"-n {escape(record.name)})[/dim]")


def _direction(artifact: ArtifactRef) -> str:
    """``input``, ``output``, or for what the run loaded (``mc.load_artifact``) the run it came from:
    ``input, loaded from run 7b5a266a`` (a newcomer saw a scoring run's model as a plain input)."""
    if artifact.direction != "input" or not (artifact.meta or {}).get("loaded"):
        return artifact.direction
    runs = [r for r in artifact.meta.get("runs") or [] if isinstance(r, str)]
    if not runs:
        return "input, loaded"
    return f"input, loaded from run {runs[0][:8]}" + (f" and {len(runs) - 1} more" if len(runs) > 1 else "")


def _artifact_name(artifact: ArtifactRef) -> str:
    """A dataset version as its reference (``trips@2``: a version the run read or registered, as
    ``get_run`` says it; ``other/trips@2`` for one registered into another project), other
    artifacts by name."""
    version = artifact.meta.get("version") if "dataset" in artifact.meta else None
    where = f"{artifact.meta['project']}/" if isinstance(artifact.meta.get("project"), str) else ""
    if type(version) is int:
        return f"{where}{artifact.name}@{version}"
    # (an artifact saved at each epoch of a loop: one row per epoch, told apart by its loop indices)
    loops = ", ".join(f"{k}={v}" for k, v in (artifact.context or {}).items())
    return f"{artifact.name} [{loops}]" if loops else artifact.name


def _duration_text(record: RunRecord) -> str:
    if record.duration is None:
        return "still running"
    if record.error_type == NO_HEARTBEAT:  # ended at its last sign of life: it ran at least this long
        return f"at least {record.duration:.3f} s (its last heartbeat or value; the process died)"
    return f"{record.duration:.3f} s"


def _summary(record: RunRecord) -> Table:
    table = Table.grid(padding=(0, 2))
    style = STATUS_STYLE.get(record.status, "")
    rows = [
        ("run", f"{record.id}  [bold]{record.project}/{record.name}[/bold]"),
        ("status", f"[{style}]{record.status}[/{style}]" + (
            f"  {record.error_type}: {record.error_message}" if record.error_type else "")),
        ("who", f"{record.user}@{record.host} pid {record.pid}"),
        ("when", f"{fmt(record.start)} UTC, " + _duration_text(record)),
        ("code", f"{record.git_commit or 'not in git'}"
                 + (" + uncommitted changes" if record.git_dirty else "")
                 + (f" (branch {record.git_branch})" if record.git_branch else "")),
        ("skipped", _ignored(record)),
        *(("code warning", escape(w)) for w in _code_warnings(record)),
        ("entry", f"{record.entry_point or '-'}  argv {list(record.argv)}"),
        ("python", f"{record.python}, {len(record.environment.get('packages', {}))} packages"),
    ]
    for key, value in rows:
        table.add_row(f"[dim]{key}[/dim]", value)
    return table


def _code_warnings(record: RunRecord) -> list[str]:
    """What the code capture said about the snapshot (a file that changed after the run started
    is held as it was a moment later, a file over the size cap was left out ...)."""
    return [str(w) for w in record.environment.get("code_warnings") or []]


def _ignored(record: RunRecord) -> str:
    """What code capture left out because git ignores it (``.mlcontext`` is never code)."""
    paths = record.environment.get("code_ignored") or []
    return ("git-ignored, not in the code snapshot: " + ", ".join(paths)) if paths else "nothing git-ignored"


@click.command("diff")
@click.argument("run_a", metavar="A")
@click.argument("run_b", metavar="B")
@project_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@drift_rule_options
def diff_command(run_a: str, run_b: str, project: str | None, as_json: bool, **rule: float) -> None:
    """Compare two runs (params, metrics, code, environment), two dataset versions (trips@1 trips@2:
    schema by name and dtype, rows, null fractions, distributions, and why) or two models
    (RUN:NAME RUN:NAME: class, params, their runs' metrics, data). The drift options apply to dataset
    versions."""
    diff = semantic_diff(run_a, run_b, project=project, **rule_from(rule))
    if isinstance(diff, DatasetDiff | ModelDiff):
        _other_diff(diff, as_json)
        return
    if as_json:
        print_json(diff.to_dict())
        return
    a, b = diff.a.id[:8], diff.b.id[:8]
    for record in (diff.a, diff.b):
        style = STATUS_STYLE.get(record.status, "")
        error = f": {record.error_type}: {record.error_message}" if record.error_type else ""
        console.print(f"{record.id[:8]} ({escape(record.project)}/{escape(record.name)}): "
                      f"[{style}]{record.status}[/{style}]{escape(error)}", highlight=False)
    for title, changes, shared in (("params", diff.params, diff.a.params),
                                   ("metrics (last value)", diff.metrics, diff.a.metrics)):
        if changes:
            changes = {k: (_set_value(x), _set_value(y)) for k, (x, y) in changes.items()}
            console.print(_changes_table(_changes_title(title, changes), changes, a, b))
        else:  # (an empty table said nothing the line does not, and hid what the runs share)
            console.print(f"{title}: {the_same(_recorded(shared))}", markup=False, highlight=False)
    _data_parts(diff, a, b)
    console.rule("code")
    # Wrapped, never cropped: a diff line or a reason cut at the terminal's width says less than it did.
    if diff.code and not console.is_terminal:
        # Piped or redirected: the diff as git wrote it, never wrapped (a line folded at 80 columns
        # made `mlcontext diff A B > x.patch` a corrupt patch, a newcomer found).
        console.print(diff.code.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(Syntax(diff.code, "diff", theme="ansi_dark", word_wrap=True) if diff.code else
                      ("same code" if not diff.code_refused else "no other difference"),
                      soft_wrap=not diff.code)
    for side, entries in diff.code_refused.items():
        run_id = (diff.a if side == "a" else diff.b).id[:8]
        for entry in entries:
            # Wrapped at word boundaries (rich's default), never cropped.
            console.print(f"not compared in {run_id}: {entry}", markup=False, highlight=False)
    console.rule("environment")
    console.print(_environment_table(diff.environment, a, b) if any(diff.environment.values())
                  else "same environment")


def _data_parts(diff: RunDiff, a: str, b: str) -> None:
    """What each run read, wrote and loaded: the same, or a table of what differs."""
    for part in diff.data_parts():
        if part.rows:
            title = "loaded from other runs" if part.label == "loaded" else part.title
            frame = pd.DataFrame([(k, *v) for k, v in part.rows.items()], columns=[part.label, a, b])
            console.print(frame_table(frame, title=f"{title}: {len(part.rows)} differ"))
        elif part.same is not None:
            console.print(f"{part.title}: {part.same}", markup=False, highlight=False)


def _environment_table(changes: dict, a: str, b: str) -> Table:
    """One row per changed field or package: what it was in A and what it is in B."""
    rows = environment_rows(changes)
    table = Table("what", a, b, title=f"{len(rows)} differ")
    for row in rows:
        table.add_row(*map(str, row))
    return table


def _other_diff(diff: DatasetDiff | ModelDiff, as_json: bool) -> None:
    if as_json:
        print_json(diff.to_dict())
        return
    if isinstance(diff, DatasetDiff):
        console.print(f"[bold]{diff.a} -> {diff.b}[/]: rows {diff.rows[0]} -> {diff.rows[1]} "
                      f"({diff.rows[1] - diff.rows[0]:+d})")
        for line in diff.content.lines() if diff.content is not None else []:
            _say(f"  {line}")  # (first, as in the summary: they were printed after the wide table)
        print_drift(diff.drift, "per column")
        return
    if not all(diff.models) or None in diff.classes:
        _artifacts_diff(diff)
        return
    console.print(f"[bold]{escape(diff.a)}[/] ({diff.classes[0]})  vs  [bold]{escape(diff.b)}[/] "
                  f"({diff.classes[1]})")
    if diff.same_bytes:
        _say(f"the same bytes (hash {diff.artifacts[0]['hash'][:12]}): one model")
    if diff.classes[0] != diff.classes[1]:
        console.print("different classes: a hyper-parameter of one class is (absent) from the other",
                      markup=False, highlight=False)
    for title, changes in (("hyper-parameters", diff.params),
                           ("metrics of the runs that stored them (last value)", diff.metrics)):
        if changes is diff.metrics and not all(diff.runs_known):
            _say(next(line for line in str(diff).splitlines() if line.startswith("metrics of the runs")))
        elif changes:
            console.print(_changes_table(_changes_title(title, changes), changes, diff.a, diff.b))
        elif changes is diff.metrics:  # (the values: "the same" alone did not say whether any was logged)
            _say(f"{title}: {the_same(diff.metrics_shared)}")
        else:
            _say(f"{title}: the same")
        if changes is diff.params:
            _say(f"input features: {diff.features_text()}")
    for line in diff.training_lines():
        _say(line)
    _say(f"code: {diff.code_text()}")


def _say(text: str) -> None:
    """Plain text, wrapped, never read as markup."""
    console.print(text, markup=False, highlight=False)


def _artifacts_diff(diff: ModelDiff) -> None:
    """Artifacts that are not both models: say what each is, claim no hyper-parameters or data."""
    for line in diff.artifact_lines():
        _say(line)

def _set_value(value: object) -> object:
    """A value a run recorded, for the tables: a NaN param or metric is ``nan`` (``-`` is a name
    the run did not record at all, as in ``runs``' columns; ``--json`` writes ``null``)."""
    return "nan" if isinstance(value, float) and math.isnan(value) else value


def _recorded(mapping: Mapping[str, object]) -> dict[str, object]:
    return {name: _set_value(value) for name, value in mapping.items()}


def _changes_title(title: str, changes: dict) -> str:
    """``params: 3 differ``; with the names only one side has counted apart (they are shown as
    ``(absent)``, distinct from a ``None`` value)."""
    absent = sum(ABSENT in pair for pair in changes.values())
    if not absent:
        return f"{title}: {len(changes)} differ"
    return (f"{title}: {len(changes)} differ ({len(changes) - absent} in value, {absent} absent from one "
            "side)")


def _changes_table(title: str, changes: dict, a: str, b: str) -> Table:
    """name | value in a | value in b, through :func:`frame_table` (names whole at any width)."""
    rows = [(key, side_text(left), side_text(right)) for key, (left, right) in changes.items()]
    # Two runs may show the same label (a model compared with itself): columns need distinct names.
    labels = [a, b] if a != b else [f"{a} (A)", f"{b} (B)"]
    return frame_table(pd.DataFrame(rows, columns=["name", *labels]), title=title)


@click.command("restore")
@click.argument("run")
@click.argument("dest")
@click.option("--repo", help="Clone the commit from here (a path or URL) instead of the recorded repository.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def restore_command(run: str, dest: str, repo: str | None, as_json: bool) -> None:
    """Recreate the code RUN executed in DEST (an empty folder): its commit, uncommitted changes and
    untracked files, byte for byte. Entries that would leave DEST (a link to /mnt/data) are never
    written or followed: each is named, and the exit status is 1."""
    from ..tracking.restore import restore_run_code

    record, refused = restore_run_code(run, dest, repo=repo)
    if as_json:
        print_json({"run": record.id, "dest": str(Path(dest).resolve()), "commit": record.git_commit,
                    "dirty": record.git_dirty, "refused": [e.to_dict() for e in refused],
                    "code_warnings": _code_warnings(record)})
    else:
        console.print(f"restored the code of run {record.id[:8]} ({record.project}/{record.name}) in {dest}"
                      + (f": commit {record.git_commit[:12]}" if record.git_commit else "")
                      + (" + uncommitted changes" if record.git_dirty else ""),
                      markup=False, highlight=False)
        for entry in refused:
            click.echo(f"not restored: {entry}", err=True)
        for warning in _code_warnings(record):  # what ran may differ from what is restored
            click.echo(f"code warning: {warning}", err=True)
    if refused:
        sys.exit(1)
