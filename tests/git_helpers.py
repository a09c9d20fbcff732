"""git for tests: an environment isolated from the machine's configuration, and a runner.

Importable from any test module (``from git_helpers import git``): pytest puts ``tests/`` on the
path for its root ``conftest.py``; the ``git_isolated`` fixture there applies :func:`isolate`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate git from the machine's configuration and give commits an author."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


def git(repo: Path, *args: str) -> str:
    """``git args`` in ``repo``; its stdout. Raises CalledProcessError when git fails."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def committed_repo(root: Path, files: dict[str, str]) -> str:
    """A new repository at ``root`` (branch ``main``) holding ``files`` (path -> text) in one commit;
    that commit's hash. Needs the isolation of :func:`isolate` for its author."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "init"]):
        git(root, *args)
    return git(root, "rev-parse", "HEAD").strip()
