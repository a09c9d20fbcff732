"""Comparing two runs: status, params, metrics, data read, code and environment
(``mlcontext diff RUN RUN``)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..store import RunRecord, Store
from ..tracking.code import CodeSnapshot, RefusedEntry, restore_tree
from ..tracking.environment import Environment, diff_environments
from .text import fmt, the_same

__all__ = ["ABSENT", "RunDiff", "diff_runs", "code_diff", "code_diff_entries", "same_code",
           "no_code_difference", "pairs_text", "side_text", "environment_rows"]


class _Absent:
    """The value of a name one side does not have (a param one run never set, a hyper-parameter of
    another model class): distinct from ``None``, which is a value (``max_iter=None``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "(absent)"

    def __reduce__(self) -> str:
        return "ABSENT"  # a copy or a pickle is the one ABSENT (compared with ``is``)


#: In a diff's ``(a, b)`` pair, the side that does not have the name at all (``None`` is a value).
ABSENT: Final = _Absent()


@dataclass(frozen=True)
class DataPart:
    """One part of what two runs read, wrote or loaded (:meth:`RunDiff.data_parts`): its title, the
    label of its names, the rows that differ (name -> (a's, b's), as text), and the line said where
    none does (``None``: nothing to say)."""

    title: str
    label: str
    rows: dict[str, tuple[str, str]]
    same: str | None


@dataclass(frozen=True)
class RunDiff:
    """What differs between run ``a`` and run ``b``. Each mapping: name -> (value in a, value in b);
    a side that does not have the name holds :data:`ABSENT` (never ``None``, which is a value).

    ``data`` holds the datasets the two runs read in different versions: name -> (the versions ``a``
    read, those ``b`` read), an empty tuple for a run that did not read it; ``data_read`` every version
    each run read (``trips@2``). ``written`` and ``data_written`` say the same of the versions each
    run made (its registered outputs: ``prepare.py`` run with two thresholds wrote ``clean@1`` and
    ``clean@2``). How each run ended is ``a.status``/``b.status`` (``failed``, with
    ``error_type``, against ``finished``)."""

    a: RunRecord
    b: RunRecord
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    code: str = ""
    environment: dict[str, Any] = field(default_factory=dict)
    #: Entries of each side's code snapshot ("a", "b") that were not restored for the diff because
    #: they would leave the temporary folder (a link ``data -> /mnt/data``): named, never followed.
    code_refused: dict[str, list[RefusedEntry]] = field(default_factory=dict)
    #: Datasets read in different versions: name -> (versions a read, versions b read).
    data: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    #: Per side, every dataset version the run read (``trips@2``), sorted.
    data_read: tuple[list[str], list[str]] = ([], [])
    #: Datasets written (registered as the run's outputs) in different versions: name -> (versions
    #: a wrote, versions b wrote).
    written: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    #: Per side, every dataset version the run wrote, sorted.
    data_written: tuple[list[str], list[str]] = ([], [])
    #: Artifacts loaded from other runs (``mc.load_artifact``) that differ: name -> (the hashes a
    #: loaded under that name, those b loaded), an empty tuple for a run that loaded none.
    loaded: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    #: Per side, what the run loaded: ``NAME HASH12`` (the first 12 characters of the bytes' hash).
    loaded_all: tuple[list[str], list[str]] = ([], [])

    @property
    def same_code(self) -> bool:
        """Whether the two runs ran the same code: the content of their source trees (:func:`same_code`)."""
        return no_code_difference(self.code, self.code_refused)

    def __str__(self) -> str:
        """The comparison as plain text, so ``print(mc.diff(a, b))`` reads as ``mlcontext diff a b``
        says it (the dataclass printed both run records, packages and all)."""
        lines = [_ended(r) for r in (self.a, self.b)]
        lines.append(f"params: {pairs_text(self.params, self.a.params)}")
        lines.append(f"metrics (last value): {pairs_text(self.metrics, self.a.metrics)}")
        for part in self.data_parts():
            if part.rows:
                differ = (f"{name} {x} -> {y}" for name, (x, y) in part.rows.items())
                lines.append(f"{part.title}: {', '.join(differ)}")
            elif part.same is not None:
                lines.append(f"{part.title}: {part.same}")
        lines.append(_code_line(self.code, self.code_refused))
        for side, entries in self.code_refused.items():
            run_id = (self.a if side == "a" else self.b).id[:8]
            lines += [f"not compared in {run_id}: {entry}" for entry in entries]
        rows = environment_rows(self.environment)
        lines.append("environment: " + ("; ".join(f"{what} {x} -> {y}" for what, x, y in rows)
                                        if rows else "the same"))
        return "\n".join(lines)

    def data_parts(self) -> list[DataPart]:
        """What each run read, wrote and loaded from other runs, as the command line and ``print``
        say it: per part, the rows that differ (versions as ``@2``, loads by hash and the run that
        saved them) or, where none does, what both share."""
        saved_by = {a.hash: (a.meta or {}).get("runs") or [] for r in (self.a, self.b) for a in r.artifacts
                    if a.direction == "input" and (a.meta or {}).get("loaded")}

        def loads(hashes: tuple[str, ...]) -> str:  # (the run it came from says more than 12 digits)
            return ", ".join(f"{h[:12]} (run {runs[0][:8]})" if len(runs := saved_by.get(h) or []) == 1
                             else h[:12] for h in hashes) or "(not loaded)"

        def at(none: str) -> Callable[[tuple[int, ...]], str]:
            return lambda versions: ", ".join(f"@{v}" for v in versions) or f"({none})"

        def same(every: list[str], otherwise: str | None) -> str | None:
            return f"the same, {', '.join(every)}" if every else otherwise

        return [DataPart("data read", "dataset", _texts(self.data, at("not read")),
                         same(self.data_read[0], "none recorded by either run")),
                DataPart("data written", "dataset", _texts(self.written, at("not written")),
                         same(self.data_written[0], None)),
                DataPart("loaded", "loaded", _texts(self.loaded, loads), same(self.loaded_all[0], None))]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``null`` for an absent side, named under ``absent`` (``None`` is a value)."""
        return {"a": self.a.id, "b": self.b.id, "status": [self.a.status, self.b.status],
                "errors": [_error(r) for r in (self.a, self.b)],
                "params": pairs_json(self.params), "metrics": pairs_json(self.metrics),
                "absent": {"params": absent_names(self.params), "metrics": absent_names(self.metrics)},
                "data": {k: [list(x), list(y)] for k, (x, y) in self.data.items()},
                "data_read": [list(x) for x in self.data_read],
                "written": {k: [list(x), list(y)] for k, (x, y) in self.written.items()},
                "data_written": [list(x) for x in self.data_written],
                "loaded": {k: [list(x), list(y)] for k, (x, y) in self.loaded.items()},
                "loaded_all": [list(x) for x in self.loaded_all],
                "code": self.code, "environment": self.environment,
                "code_refused": {side: [e.to_dict() for e in entries]
                                 for side, entries in self.code_refused.items()}}


def _ended(record: RunRecord) -> str:
    error = f": {record.error_type}: {record.error_message}" if record.error_type else ""
    return f"{record.id[:8]} ({record.project}/{record.name}): {record.status}{error}"


def _texts(changes: Mapping[str, tuple[Any, Any]], text: Callable[[Any], str]) -> dict[str, tuple[str, str]]:
    return {name: (text(x), text(y)) for name, (x, y) in changes.items()}

def _code_line(code: str, refused: Mapping[str, list[RefusedEntry]]) -> str:
    """``code: the same``, ``code: differs (N changed lines ...)`` for a unified diff (its ``+++`` and
    ``---`` headers are no changed lines), or the explanation ``code`` holds when the trees could
    not be compared."""
    if not code:
        return "code: the same" if not refused else "code: no other difference"
    lines = code.splitlines()
    if not any(line.startswith("@@") for line in lines):
        return f"code: {code.strip()}"
    changed = sum(1 for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return f"code: differs ({changed} changed lines; .code has the unified diff)"


def environment_rows(changes: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(what, in a, in b)`` per changed environment field or package (``-`` where there is none)."""
    rows = [(name, fmt(a), fmt(b)) for name, (a, b) in changes.get("fields", {}).items()]
    rows += [(f"package {name}", "-", str(version)) for name, version in changes.get("added", {}).items()]
    rows += [(f"package {name}", str(version), "-") for name, version in changes.get("removed", {}).items()]
    rows += [(f"package {name}", str(a), str(b)) for name, (a, b) in changes.get("changed", {}).items()]
    return rows


def _error(record: RunRecord) -> dict[str, Any] | None:
    return ({"type": record.error_type, "message": record.error_message} if record.error_type else None)


def changed(a: dict[str, Any], b: dict[str, Any], equal: Any = None) -> dict[str, tuple[Any, Any]]:
    """The names whose values differ: name -> (a's, b's), :data:`ABSENT` for a side without it."""
    equal = equal or (lambda x, y: x == y)
    return {k: (a.get(k, ABSENT), b.get(k, ABSENT)) for k in sorted(set(a) | set(b))
            if k not in a or k not in b or not equal(a[k], b[k])}


def pairs_text(changes: dict[str, tuple[Any, Any]], shared: Mapping[str, object] | None = None) -> str:
    """``alpha 1.0 -> 2.0, limit None -> (absent)``: what differs, name by name; where nothing
    does, what both share (:func:`~.text.the_same` of ``shared``)."""
    if not changes:
        return the_same(shared or {})
    return ", ".join(f"{name} {side_text(a)} -> {side_text(b)}" for name, (a, b) in changes.items())


def side_text(value: Any) -> str:
    """A changed value: ``(absent)`` where that side does not have the name, ``None`` for None (a
    value, never shown as ``-`` here: both would look alike), else :func:`~.text.fmt`."""
    if value is ABSENT:
        return "(absent)"
    return "None" if value is None else fmt(value)


def pairs_json(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    """``changes`` for JSON: an absent side is ``null`` (:func:`absent_names` says which)."""
    return {k: [None if v is ABSENT else v for v in pair] for k, pair in changes.items()}


def absent_names(changes: dict[str, tuple[Any, Any]]) -> dict[str, list[str]]:
    """Per side (``a``, ``b``), the names of ``changes`` that side does not have at all."""
    return {side: [k for k, pair in changes.items() if pair[i] is ABSENT] for i, side in enumerate("ab")}


def _same_float(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def _same_value(x: Any, y: Any) -> bool:
    """Equal params: a NaN both runs set is the same value (``nan != nan`` counted it as differing)."""
    return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))


def diff_runs(store: Store, a: RunRecord, b: RunRecord) -> RunDiff:
    """Compare two runs recorded in ``store``."""
    env_a, env_b = (Environment.from_dict(_env(r)) for r in (a, b))
    code, refused = code_diff_entries(store, a, b)
    # Runs of two projects read two datasets even under one name (`clean@2` of wine and of cancer
    # were "the same data read"; a newcomer's finding): their names carry the project then.
    qualify = a.project != b.project
    read_a, read_b = _versions(a, "input", qualify), _versions(b, "input", qualify)
    wrote_a, wrote_b = _versions(a, "output", qualify), _versions(b, "output", qualify)
    load_a, load_b = _loaded(a), _loaded(b)
    return RunDiff(
        a=a, b=b,
        params=changed(dict(a.params), dict(b.params), _same_value),
        metrics=changed(dict(a.metrics), dict(b.metrics), _same_float),
        code=code,
        environment=diff_environments(env_a, env_b),
        code_refused=refused,
        data={name: (read_a.get(name, ()), read_b.get(name, ()))
              for name in sorted(set(read_a) | set(read_b)) if read_a.get(name) != read_b.get(name)},
        data_read=(_refs(read_a), _refs(read_b)),
        written={name: (wrote_a.get(name, ()), wrote_b.get(name, ()))
                 for name in sorted(set(wrote_a) | set(wrote_b)) if wrote_a.get(name) != wrote_b.get(name)},
        data_written=(_refs(wrote_a), _refs(wrote_b)),
        loaded={name: (load_a.get(name, ()), load_b.get(name, ()))
                for name in sorted(set(load_a) | set(load_b)) if load_a.get(name) != load_b.get(name)},
        loaded_all=([f"{n} {h[:12]}" for n, hs in sorted(load_a.items()) for h in hs],
                    [f"{n} {h[:12]}" for n, hs in sorted(load_b.items()) for h in hs]),
    )


def _versions(record: RunRecord, direction: str, qualify: bool = False) -> dict[str, tuple[int, ...]]:
    """The dataset versions ``record`` read (``direction`` ``"input"``) or wrote (``"output"``):
    name (``project/name`` when ``qualify``) -> versions."""
    read: dict[str, set[int]] = {}
    for artifact in record.artifacts:
        name, version = (artifact.meta or {}).get("dataset"), (artifact.meta or {}).get("version")
        if artifact.direction == direction and isinstance(name, str) and type(version) is int:
            where = artifact.meta.get("project")  # (a version of another project than the run's)
            key = f"{where or record.project}/{name}" if qualify or where else name
            read.setdefault(key, set()).add(version)
    return {k: tuple(sorted(v)) for k, v in read.items()}


def _loaded(record: RunRecord) -> dict[str, tuple[str, ...]]:
    """What ``record`` loaded from other runs (its ``input`` artifacts with ``meta["loaded"]``):
    name -> the hashes of the bytes loaded under that name, sorted (two scoring runs that loaded
    the model of different training runs differ here, and said "the same" in everything else)."""
    loaded: dict[str, set[str]] = {}
    for artifact in record.artifacts:
        if artifact.direction == "input" and (artifact.meta or {}).get("loaded"):
            loaded.setdefault(artifact.name, set()).add(artifact.hash)
    return {k: tuple(sorted(v)) for k, v in loaded.items()}


def _refs(read: dict[str, tuple[int, ...]]) -> list[str]:
    return sorted(f"{name}@{version}" for name, versions in read.items() for version in versions)


def same_code(store: Store, a: RunRecord, b: RunRecord) -> bool | None:
    """Whether runs ``a`` and ``b`` ran the same code: the content of the code that ran, as
    ``mlcontext diff RUN RUN`` decides it (:func:`no_code_difference` of :func:`code_diff_entries`),
    not the commit it ran at. A run at a commit with an untracked ``train.py`` and a run at the next
    commit, which added that very file, ran the same code (the model diff said "differs:
    2a4070a0+dirty vs 6d92fe42" where the run diff said "same code": a newcomer's finding); two
    snapshots that differ only by what the tree diff leaves out (data written next to the code) too.
    ``None`` when neither run recorded any code."""
    if a.code_hash is None and b.code_hash is None and a.git_commit is None and b.git_commit is None:
        return None
    if (a.git_commit, a.code_hash) == (b.git_commit, b.code_hash):
        return True  # one commit and one snapshot: nothing to restore and compare
    return no_code_difference(*code_diff_entries(store, a, b))


def no_code_difference(code: str, refused: Mapping[str, list[RefusedEntry]]) -> bool:
    """The rule of "the same code", given :func:`code_diff_entries`' answer: the restored trees do not
    differ (no diff, no explanation of why they could not be compared) and no entry was left out of
    the comparison (a refused link might differ)."""
    return not code and not refused


def _env(record: RunRecord) -> dict[str, Any]:
    # What code capture said (warnings, the git-ignored paths it skipped) is not the environment.
    return {k: v for k, v in record.environment.items() if k not in ("code_warnings", "code_ignored")}


def code_diff(store: Store, a: RunRecord, b: RunRecord) -> str:
    """A unified diff of the two runs' source trees (commit plus uncommitted changes).

    Both trees are restored into temporary folders and compared with ``git diff --no-index``; when a
    tree cannot be restored (its repository is gone) the reason is returned instead of a diff. Entries
    refused for safety are left out of the diff (:func:`code_diff_entries` names them).
    """
    return code_diff_entries(store, a, b)[0]


def code_diff_entries(store: Store, a: RunRecord, b: RunRecord) -> tuple[str, dict[str, list[RefusedEntry]]]:
    """:func:`code_diff` and, per side (``"a"``, ``"b"``), the snapshot entries refused for safety
    (an untracked link to ``/mnt/data``): refusal is per entry, everything else is still compared."""
    if (a.git_commit, a.code_hash) == (b.git_commit, b.code_hash):
        return "", {}
    refused: dict[str, list[RefusedEntry]] = {}
    with tempfile.TemporaryDirectory(prefix="mlcontext-diff-") as tmp:
        try:
            for side, record in (("a", a), ("b", b)):
                entries = _restore(store, record, Path(tmp) / side)
                if entries:
                    refused[side] = entries
        except Exception as exc:  # noqa: BLE001 - any failure to restore becomes an explanation
            return (f"code differs (commit {a.code_version or '-'} vs {b.code_version or '-'}) but the trees "
                    f"could not be restored for a diff: {exc}\n"), refused
        result = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", "--no-prefix", "--", "a", "b"], cwd=tmp,
            capture_output=True, text=True, errors="replace", check=False)
        return _SAME_SIDE_HEADER.sub(r"diff --git a/\2 b/\2", result.stdout), refused


# The folders compared are named a and b, so git's paths carry them as its usual prefixes; but for
# a file only one side has, git names that side twice ("diff --git b/new.py b/new.py"). Written as
# git itself writes an added or deleted file: "a/new.py b/new.py".
_SAME_SIDE_HEADER = re.compile(r"^diff --git ([ab])/(.+) \1/\2$", re.MULTILINE)


def _restore(store: Store, record: RunRecord, dest: Path) -> list[RefusedEntry]:
    if record.code_hash is None:
        raise ValueError(f"run {record.id[:8]} recorded no code")
    # git diff --no-index compares links as links (their target text) and never follows them, so
    # links of the commit leaving the temporary folder are kept: a committed `data -> /mnt/data`
    # still diffs. Recorded entries that would leave it (an untracked link to an absolute path, a
    # `..` path, .git) are refused one by one and named; the rest of the tree is compared.
    snapshot = CodeSnapshot.from_archive(store.artifacts.get(record.code_hash))
    refused = restore_tree(snapshot, dest, outside_links="keep")
    shutil.rmtree(dest / ".git", ignore_errors=True)  # compare the source trees, not git's files
    return refused
