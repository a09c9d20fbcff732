"""Dataset references in text: what ``NAME``, ``NAME@VERSION`` and a content hash name.

Every question about data (``dataset_version``, ``diff``, ``drift``, ``lineage``, ``impact``,
``versions``, ``history``, ``tried``, ``testuse``, ``find --data``) resolves its text here, so that
each form means the same everywhere and a text that names nothing is a :class:`NotFoundError` saying
what was looked for and what to pass instead, never an empty answer (``docs/references.md``):

- a name no dataset has: the datasets that do exist (the closest first);
- ``NAME@VERSION`` of a version that does not exist: the versions that do;
- a hash prefix (the 12 digits the ``versions`` table shows): a hash is taken whole; the version
  whose hash starts so, and where its full hash is printed;
- ``RUN:NAME`` (never a dataset name: a dataset name holds no ``:``): what it names instead (a
  model, another artifact, or a dataset version to pass as ``NAME@VERSION``).
"""

from __future__ import annotations

from typing import Any

from ..checks import did_you_mean
from ..errors import MLContextError, NotFoundError, ReferenceTypeError
from ..store import ArtifactRef, RunRecord, Store
from ..store.context import ContextStore, VersionRow, one_project
from .refs import dataset_name, dataset_ref, is_hash
from .run_refs import artifact_names, closest_artifact, run_artifact
from .stores import unknown_project

__all__ = ["version_by_hash", "in_other_projects", "version_row", "versions_named", "dataset_of",
           "no_dataset", "version_of_artifact", "version_of_run_artifact"]

_HEX = frozenset("0123456789abcdef")
#: A shorter text of hex digits is as likely a name as the start of a hash: no hint for it.
_MIN_PREFIX = 6


def version_by_hash(store: Store, digest: str, project: str | None = None) -> VersionRow:
    """The dataset version with content hash (or artifact hash) ``digest``; both name it.

    Raises
    ------
    NotFoundError
        No version has that hash: said as such, with what to pass instead (never an empty answer).
    AmbiguousReferenceError
        Several datasets hold that content.
    """
    context = ContextStore(store.metadata)
    found = context.version_by_hash(digest, project)
    if found is None:
        text = f"no dataset version has hash {digest}" + (f" in project {project}" if project else "")
        beside = in_other_projects(context, digest, project)
        raise NotFoundError(text + (beside or ": pass NAME or NAME@VERSION instead (`mlcontext versions "
                                              "NAME` shows each version's content_hash)"))
    return found


def in_other_projects(context: ContextStore, digest: str, project: str | None) -> str:
    """``; it is clean@1 of project 'cancer' (pass -p cancer)`` when the versions whose hash starts
    with ``digest`` are all in projects other than ``project``; ``""`` otherwise."""
    if project is None:
        return ""
    others = [v for v in context.versions_by_prefix(digest) if v.project != project]
    if not others:
        return ""
    named = ", ".join(f"{v.ref} of project {v.project!r}" for v in others)
    return f"; it is {named} (pass {others[0].ref} with -p {others[0].project})"


def versions_named(store: Store, text: str, project: str | None = None) -> list[VersionRow]:
    """Every version ``text`` names: the one of a hash, each version of ``NAME``, version VERSION of
    ``NAME@VERSION``; oldest first. A name is that of one project's dataset: ``project``'s, else the
    one project that has a dataset so named.

    Raises
    ------
    NotFoundError
        ``text`` names no version: no such dataset, no such version of it, a hash nothing has (a
        prefix included), a ``RUN:NAME`` whose run or artifact does not exist.
    ReferenceTypeError
        ``text`` is a ``RUN:NAME`` that names something else than a dataset version (a model).
    AmbiguousReferenceError
        A hash held by versions of several datasets, a ``RUN:NAME`` whose run reference is, or a
        name (``NAME@VERSION`` too) that several projects have and ``project`` is None: answers about
        two projects' datasets are never merged as one (``docs/references.md``).
    """
    if is_hash(text):
        return [version_by_hash(store, text, project)]
    if ":" in text:
        raise not_a_version(store, text, project)
    name, at, number = text.partition("@")
    if at and not (number.isascii() and number.isdigit()):
        raise NotFoundError(f"{text!r}: a version is a number, as in {name}@2 "
                            f"({_versions_command(name, project)} lists them)")
    found = ContextStore(store.metadata).versions(name, project)
    if not found:
        raise NotFoundError(no_dataset(store, name, project))
    if at:
        matching = [v for v in found if v.version == int(number)]
        if not matching:
            if project is None:
                one_project(found)  # (the versions of which project's dataset to list?)
            where = f" in project {project!r}" if project else ""
            raise NotFoundError(f"dataset {name!r}{where} has no version {int(number)}: its versions are "
                                f"{_numbers(found)} ({_versions_command(name, project)} lists them)")
        found = matching
    if project is None:
        one_project(found)
    return found


def _versions_command(name: str, project: str | None, json: bool = False) -> str:
    """The command that lists ``name``'s versions, with the project when the question had one (the
    hint must work as printed: without it, a name of several projects is ambiguous)."""
    return f"`mlcontext versions {name}{f' -p {project}' if project else ''}{' --json' if json else ''}`"


def version_row(store: Store, text: str, project: str | None = None) -> VersionRow:
    """The one version ``text`` names (``NAME``: its latest). Raises as :func:`versions_named`, and
    :class:`~mlcontext.errors.AmbiguousReferenceError` for a name in several projects."""
    if is_hash(text):
        return version_by_hash(store, text, project)
    versions_named(store, text, project)  # a text that names nothing: said as such
    name, at, number = text.partition("@")
    return ContextStore(store.metadata).version(name, int(number) if at else None, project)


def dataset_of(store: Store, ref: Any, project: str | None = None) -> tuple[str, str | None]:
    """``(name, project)`` of the dataset a whole-dataset question (``versions``, ``history``,
    ``tried``, ``testuse``) is about: a name, the dataset of ``NAME@VERSION``, of a
    ``DatasetVersion`` or of the version a content hash names (a hash pins its project).

    A reference that names no dataset, or a version that does not exist, raises
    :class:`NotFoundError`: an empty answer would say "nobody used it" of a thing that is not there.
    A name several projects have raises :class:`AmbiguousReferenceError` unless ``project`` says
    which: the answer is then always about one project's dataset (the project returned).
    """
    if not isinstance(ref, str):
        return dataset_name(ref, project)
    text, project = dataset_ref(ref, project)
    found = versions_named(store, text, project)  # (all of one project: versions_named sees to it)
    return found[0].name, found[0].project


def not_a_version(store: Store, text: str, project: str | None = None) -> MLContextError:
    """The error for ``RUN:NAME`` where a dataset version is asked for: what it names instead (the
    run narrowed to ``project`` as everywhere, :func:`~.run_refs.run_in`)."""
    what = f"{text!r} is RUN:NAME, no dataset name (a dataset name holds no ':')"
    instead = "pass a dataset as NAME, NAME@VERSION or a content hash (`mlcontext versions NAME`)"
    try:
        record, artifact = run_artifact(store, text, project)
    except NotFoundError as exc:
        return NotFoundError(f"{what}, and it names nothing: {exc}; {instead}")
    name = text.partition(":")[2]
    run = f"run {record.id[:8]} ({record.project}/{record.name})"
    if artifact is None:
        return NotFoundError(f"{what}, and {run} has no artifact {name!r} ({closest_artifact(record, name)}"
                             f"its artifacts: {artifact_names(record)}); {instead}")
    version = version_of_run_artifact(store, record, artifact)
    if version is not None:
        return ReferenceTypeError(f"{what}: it names dataset version {version.ref} (project "
                                  f"{version.project}), which {run} "
                                  f"{'read' if artifact.direction == 'input' else 'wrote'}; pass "
                                  f"{version.ref} (with -p/--project {version.project} if needed)")
    meta = artifact.meta or {}
    kind = "a model" if artifact.kind == "model" or meta.get("model_class") else f"a {artifact.kind}"
    cls = meta.get("model_class") or meta.get("class")
    return ReferenceTypeError(f"{what}: it names {kind}{f' ({cls})' if cls else ''}, artifact {name!r} "
                              f"of {run}, not a dataset version; {instead}")


def version_of_run_artifact(store: Store, record: RunRecord, artifact: ArtifactRef) -> VersionRow | None:
    """The dataset version a run's artifact is: the one its record names (``get_run`` says which
    version a run read or registered, in which project), else :func:`version_of_artifact` in the
    run's project (wine's raw@2 read by a run of analysis is not analysis's byte twin raw@1)."""
    meta = artifact.meta or {}
    name, number = meta.get("dataset"), meta.get("version")
    if isinstance(name, str) and type(number) is int:
        where = meta.get("project") if isinstance(meta.get("project"), str) else record.project
        named = [v for v in ContextStore(store.metadata).versions(name, where) if v.version == number]
        if named:
            return named[0]
    return version_of_artifact(store, record.project, artifact.name, artifact.hash)


def version_of_artifact(store: Store, project: str, name: str, digest: str) -> VersionRow | None:
    """The dataset version a run's artifact ``name`` with hash ``digest`` is: the version of that name
    in ``project`` (two datasets may hold the same bytes), else any version with these bytes."""
    context = ContextStore(store.metadata)
    same = [v for v in context.versions(name, project) if digest in (v.artifact_hash, v.content_hash)]
    return same[-1] if same else context.versions_by_hash([digest]).get(digest)


def no_dataset(store: Store, name: str, project: str | None = None) -> str:
    """Why ``name`` names no dataset, and what to pass instead."""
    where = f" in project {project!r}" if project else ""
    text = f"no dataset {name!r}{where}"
    context = ContextStore(store.metadata)
    missing = unknown_project(store, project)  # (a typo in -p: said first, then the projects that
    text = missing or text                     # do have the dataset, if any)
    if project is not None:
        elsewhere = sorted({v.project for v in context.versions(name)})
        if not elsewhere and missing is not None and project:
            return f"{text}, so no dataset {name!r} there"
        if elsewhere:
            if len(elsewhere) == 1:
                return (f"{text}: {name!r} is a dataset of project {elsewhere[0]!r}; pass -p/--project "
                        f"{elsewhere[0]} (project={elsewhere[0]!r})")
            return (f"{text}: {name!r} is a dataset of projects {', '.join(map(repr, elsewhere))}; pass "
                    "-p/--project with one of them")
    names = context.dataset_names(project)
    lowered = name.lower()
    if _MIN_PREFIX <= len(lowered) <= 32 and set(lowered) <= _HEX:
        whole = ("a hash is taken whole, all 32 hex digits in lowercase (the `versions` table shows the "
                 "first 12, `versions --json` the whole hash)")
        near = context.versions_by_prefix(lowered, project)
        if not near and project is not None:
            return f"{text}{in_other_projects(context, lowered, project)}, but {whole}"
        if near:
            refs = ", ".join(f"{v.ref} (project {v.project})" for v in near)
            first = near[0]
            # (a name other projects have too needs the project to name this version)
            several = any(v.project != first.project for v in context.versions(first.name))
            pin = f" with -p {first.project}" if several else ""
            listing = _versions_command(first.name, first.project if several else None, json=True)
            return (f"{text}; {name!r} is the start of the hash of {refs}, but {whole}: pass "
                    f"{first.ref}{pin}, or the full content_hash from {listing}")
        close = did_you_mean(name, names)
        if close:  # a hex-looking name with a typo (`cafe12` for `cafe1234`)
            return f"{text}; {close} (no dataset version's hash starts with it either)"
        return (f"{text}, and no dataset version's hash starts with it; {whole}: pass NAME@VERSION, or "
                "the full content_hash from `mlcontext versions NAME --json`")
    run = _run_named(store, name)
    if run:
        text += f" ({name!r} is {run}: this question takes a dataset)"
    if not names:
        return f"{text}: no dataset has been recorded{where} (mc.dataset records one)"
    close = did_you_mean(name, names)
    if close:
        return f"{text}; {close} (`mlcontext versions NAME`)"
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return f"{text}; the datasets recorded{where}: {shown}"


def _run_named(store: Store, text: str) -> str | None:
    """``run 3f2a9c1b (project/name)`` when ``text`` names a run, else ``None`` (a hint only)."""
    try:
        record = store.metadata.get_run(text)
    except MLContextError:
        return None
    if record.name != text:  # a short text that starts some run's id is no run's name
        return None
    return f"run {record.id[:8]} ({record.project}/{record.name})"


def _numbers(versions: list[VersionRow]) -> str:
    numbers = sorted({v.version for v in versions})
    if len(numbers) > 8:
        return f"{numbers[0]} to {numbers[-1]}"
    return ", ".join(map(str, numbers))
