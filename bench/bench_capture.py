"""Code + environment capture at run start, in a git repository of 1,000 files.

Budget (issue 2): starting a run, git capture included, ≤ 150 ms; this part aims at ≤ 80 ms.
Baseline: one bare ``git status --porcelain`` subprocess in the same repository, the floor for any
capture that asks git.

Run: ``.venv/bin/python -m bench capture``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlcontext.tracking.code import capture_code
from mlcontext.tracking.environment import capture_environment

N_FILES = 1_000
N_DIRTY = 20
N_UNTRACKED = 10
REPEAT = 20
BUDGET_MS = 150.0


def git_env() -> dict[str, str]:
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"], env[f"GIT_{role}_EMAIL"] = "bench", "bench@example.com"
    return env


def build_repo(root: Path) -> Path:
    """1,000 committed files in 20 packages; 20 modified (half staged), 10 untracked."""
    env = git_env()

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    git("init", "--quiet", "-b", "main")
    for i in range(N_FILES):
        path = root / f"pkg{i % 20:02d}" / f"mod{i:04d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"# module {i}\n" + "x = 1\n" * 40)
    (root / "train.py").write_text("print('train')\n")
    git("add", ".")
    git("commit", "--quiet", "-m", "initial")
    for i in range(N_DIRTY):
        (root / f"pkg{i % 20:02d}" / f"mod{i:04d}.py").write_text(f"# changed {i}\n")
    git("add", *(f"pkg{i % 20:02d}/mod{i:04d}.py" for i in range(0, N_DIRTY, 2)))
    for i in range(N_UNTRACKED):
        (root / "scratch_untracked" / f"new{i}.py").parent.mkdir(exist_ok=True)
        (root / "scratch_untracked" / f"new{i}.py").write_text(f"y = {i}\n")
    return root / "train.py"


def _median_ms(fn: Callable[[], object]) -> float:
    fn()  # warm-up: page cache, git's own start-up files
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = build_repo(Path(tmp))
        start = time.perf_counter()
        snapshot = capture_code(script)
        capture_environment()
        first_ms = (time.perf_counter() - start) * 1e3
        assert snapshot.kind == "git" and snapshot.dirty and len(snapshot.untracked) == N_UNTRACKED
        code_ms = _median_ms(lambda: capture_code(script))
        env_ms = _median_ms(capture_environment)
        both_ms = _median_ms(lambda: (capture_code(script), capture_environment()))
        status_ms = _median_ms(lambda: subprocess.run(
            ["git", "status", "--porcelain"], cwd=tmp, check=True, capture_output=True))
    print(f"repository: {N_FILES} files, {N_DIRTY} modified, {N_UNTRACKED} untracked; "
          f"median of {REPEAT}")
    print(f"first call in process (code + env):   {first_ms:7.2f} ms")
    print(f"capture_code:                         {code_ms:7.2f} ms")
    print(f"capture_environment (cached):         {env_ms:7.2f} ms")
    print(f"capture_code + capture_environment:   {both_ms:7.2f} ms"
          f"  ({both_ms / BUDGET_MS:.0%} of the {BUDGET_MS:.0f} ms run-start budget)")
    print(f"baseline: bare `git status` subprocess: {status_ms:5.2f} ms"
          f"  (capture / baseline = {both_ms / status_ms:.1f}x)")


if __name__ == "__main__":
    main()
