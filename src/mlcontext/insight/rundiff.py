"""Comparing two runs: params, metrics, code and environment (``mlcontext diff RUN RUN``)."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import RunRecord, Store
from ..tracking.code import CodeSnapshot, RefusedEntry, restore_tree
from ..tracking.environment import Environment, diff_environments

__all__ = ["RunDiff", "diff_runs", "code_diff", "code_diff_entries"]


@dataclass(frozen=True)
class RunDiff:
    """What differs between run ``a`` and run ``b``. Each mapping: name -> (value in a, value in b)."""

    a: RunRecord
    b: RunRecord
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    metrics: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    code: str = ""
    environment: dict[str, Any] = field(default_factory=dict)
    #: Entries of each side's code snapshot ("a", "b") that were not restored for the diff because
    #: they would leave the temporary folder (a link ``data -> /mnt/data``): named, never followed.
    code_refused: dict[str, list[RefusedEntry]] = field(default_factory=dict)

    @property
    def same_code(self) -> bool:
        return not self.code and not self.code_refused


_MISSING = None


def _changed(a: dict[str, Any], b: dict[str, Any], equal: Any = None) -> dict[str, tuple[Any, Any]]:
    equal = equal or (lambda x, y: x == y)
    return {k: (a.get(k, _MISSING), b.get(k, _MISSING)) for k in sorted(set(a) | set(b))
            if k not in a or k not in b or not equal(a[k], b[k])}


def _same_float(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def diff_runs(store: Store, a: RunRecord, b: RunRecord) -> RunDiff:
    """Compare two runs recorded in ``store``."""
    env_a, env_b = (Environment.from_dict(_env(r)) for r in (a, b))
    code, refused = code_diff_entries(store, a, b)
    return RunDiff(
        a=a, b=b,
        params=_changed(dict(a.params), dict(b.params)),
        metrics=_changed(dict(a.metrics), dict(b.metrics), _same_float),
        code=code,
        environment=diff_environments(env_a, env_b),
        code_refused=refused,
    )


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
