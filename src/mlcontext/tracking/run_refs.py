"""Run references in text: a run id, an id prefix or a run name, and ``RUN:NAME`` (the last artifact
called NAME that the run saved or read), narrowed to a project when the question names one.

Every question that reads ``RUN:NAME`` (``diff``, ``lineage``, ``impact``, and the errors that say what
a ``RUN:NAME`` given for a dataset names instead) finds its run here, so ``-p/--project`` narrows it
everywhere the same way (``train:model -p cancer`` answered about wine's newest ``train`` in ``diff``).
"""

from __future__ import annotations

from collections.abc import Callable

from ..checks import did_you_mean
from ..errors import NotFoundError
from ..store import ArtifactRef, RunRecord, Store
from ..store.context import ContextStore
from .stores import known_project

__all__ = ["run_in", "run_artifact", "artifact_names"]


def run_in(store: Store, ref: str, project: str | None = None) -> RunRecord:
    """The run ``ref`` (an id, an id prefix or a name) names, in ``project`` when one is given: a name
    is then the newest run of that name there. An id (or id prefix) names its run exactly, whatever
    ``project`` says, as the objects the API returns do (``diff train:model RUNID:model -p cancer``
    compares cancer's newest ``train`` with that run).

    Raises
    ------
    NotFoundError
        No such run, or none of that name in ``project``.
    """
    metadata = store.metadata
    with metadata.read() as conn:
        run_id = metadata.resolve_run_id(conn, ref)  # (the record is read once, for the run chosen)
    if project is None or run_id.startswith(ref):
        return metadata.get_run(run_id)
    found = ContextStore(metadata).run_projects([run_id])[run_id]
    if found == project:
        return metadata.get_run(run_id)
    named = metadata.runs_frame(project, names=[ref], limit=1)
    if named.empty:
        known_project(store, project)  # (a typo in -p is said as such, not as a run it lacks)
        raise NotFoundError(f"run {ref!r} is {run_id[:8]} of project {found!r}, and project "
                            f"{project!r} has no run of that name (`mlcontext runs -p {project}`)")
    return metadata.get_run(str(named["id"].iloc[0]))


def run_artifact(store: Store, text: str, project: str | None = None) -> tuple[RunRecord, ArtifactRef | None]:
    """The run of ``RUN:NAME`` (:func:`run_in`) and its last artifact called NAME, or None when the run
    has none so called (the caller says what it has).

    Raises
    ------
    NotFoundError
        No such run (in ``project``).
    """
    run_ref, _, name = text.partition(":")
    record = run_in(store, run_ref, project)
    named = [a for a in record.artifacts if a.name == name]
    return record, (named[-1] if named else None)


def artifact_names(record: RunRecord) -> str:
    """The names of a run's artifacts, for an error that says what it has."""
    return ", ".join(sorted({repr(a.name) for a in record.artifacts})) or "none"


def no_artifact(store: Store, record: RunRecord, name: str, refer: Callable[[str], str],
                hint: str = "") -> NotFoundError:
    """The error for a run that has no artifact ``name``: how the run ended, the closest names, what it
    has (then ``hint``), and the newest run of the same name that saved one, referred to as
    ``refer(its id prefix)`` says (``mc.load_artifact(...)`` in Python, ``ID:NAME`` on the command line):
    a crashed run's "no artifact 'model'; did you mean 'code'?" did not say why (newcomers' findings)."""
    other = saved_by_another(store, record, name)
    elsewhere = (f"; the newest run named {record.name!r} that saved {name!r} is {other[0][:8]} "
                 f"({other[1]}): {refer(other[0][:8])}") if other else ""
    return NotFoundError(f"run {record.id[:8]} ({record.project}/{record.name}, {how_it_ended(record)}) has "
                         f"no artifact {name!r}; {closest_artifact(record, name)}its artifacts: "
                         f"{artifact_names(record)}{hint}{elsewhere}")


def closest_artifact(record: RunRecord, wanted: str) -> str:
    """``"did you mean 'model'? "`` for the run's artifact names closest to ``wanted``, or ``""``."""
    close = did_you_mean(wanted, {a.name for a in record.artifacts})
    return f"{close} " if close else ""


def how_it_ended(record: RunRecord) -> str:
    """How a run ended, as an error about it says it: ``failed: ValueError``, ``finished``."""
    return f"{record.status}: {record.error_type}" if record.error_type else record.status


def saved_by_another(store: Store, record: RunRecord, name: str) -> tuple[str, str] | None:
    """``(id, status)`` of the newest other run of the same name and project that saved an artifact
    ``name``, for the error about a run that has none (a run name means the newest run of that name,
    which may be one that crashed before it saved anything); None if no run did."""
    from sqlalchemy import select

    from ..store import schema as t

    query = (select(t.Run.id, t.Run.status).join(t.RunArtifact, t.RunArtifact.run_id == t.Run.id)
             .join(t.Project, t.Project.id == t.Run.project_id)
             .where(t.Run.name == record.name, t.Project.name == record.project, t.Run.id != record.id,
                    t.RunArtifact.name == name, t.RunArtifact.direction == "output")
             .order_by(t.Run.started_at.desc()).limit(1))
    with store.metadata.read() as conn:
        found = conn.execute(query).first()
    return None if found is None else (str(found[0]), str(found[1]))
