"""Comparing two runs: params, metrics, code and environment (``mlcontext diff RUN RUN``)."""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store import RunRecord, Store
from ..tracking.code import CodeSnapshot, restore_code
from ..tracking.environment import Environment, diff_environments

__all__ = ["RunDiff", "diff_runs", "code_diff"]


@dataclass(frozen=True)
class RunDiff:
    """What differs between run ``a`` and run ``b``. Each mapping: name -> (value in a, value in b)."""

    a: RunRecord
    b: RunRecord
    params: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    metrics: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    code: str = ""
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def same_code(self) -> bool:
        return not self.code


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
    return RunDiff(
        a=a, b=b,
        params=_changed(dict(a.params), dict(b.params)),
        metrics=_changed(dict(a.metrics), dict(b.metrics), _same_float),
        code=code_diff(store, a, b),
        environment=diff_environments(env_a, env_b),
    )


def _env(record: RunRecord) -> dict[str, Any]:
    # What code capture said (warnings, the git-ignored paths it skipped) is not the environment.
    return {k: v for k, v in record.environment.items() if k not in ("code_warnings", "code_ignored")}


def code_diff(store: Store, a: RunRecord, b: RunRecord) -> str:
    """A unified diff of the two runs' source trees (commit plus uncommitted changes).

    Both trees are restored into temporary folders and compared with ``git diff --no-index``; when a
    tree cannot be restored (its repository is gone) the reason is returned instead of a diff.
    """
    if (a.git_commit, a.code_hash) == (b.git_commit, b.code_hash):
        return ""
    with tempfile.TemporaryDirectory(prefix="mlcontext-diff-") as tmp:
        try:
            _restore(store, a, Path(tmp) / "a")
            _restore(store, b, Path(tmp) / "b")
        except Exception as exc:  # noqa: BLE001 - any failure to restore becomes an explanation
            return (f"code differs (commit {a.git_commit or '-'} vs {b.git_commit or '-'}) but the trees "
                    f"could not be restored for a diff: {exc}\n")
        result = subprocess.run(
            ["git", "diff", "--no-index", "--no-color", "--no-prefix", "--", "a", "b"], cwd=tmp,
            capture_output=True, text=True, errors="replace", check=False)
        return result.stdout


def _restore(store: Store, record: RunRecord, dest: Path) -> Path:
    if record.code_hash is None:
        raise ValueError(f"run {record.id[:8]} recorded no code")
    # git diff --no-index compares links as links (their target text) and never follows them, so
    # links leaving the temporary folder are kept: a repository's `data -> /mnt/data` still diffs.
    # Writes through links, `..` paths and .git are refused by restore_code whatever this says.
    snapshot = CodeSnapshot.from_archive(store.artifacts.get(record.code_hash))
    restore_code(snapshot, dest, outside_links="keep")
    shutil.rmtree(dest / ".git", ignore_errors=True)  # compare the source trees, not git's files
    return dest
