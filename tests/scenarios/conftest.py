"""Shared helpers of the scenario suite: whole small projects in temporary git repositories.

A scenario is what a new user does: a git repository with committed scripts, each script run as a
subprocess (``python train.py --param k=v``) several times, one of them crashing, then questions asked
through ``mc.*`` and through the CLI with ``--json``. The store is the default one, ``.mlcontext/`` at
the project root: no ``MLCONTEXT_*`` variable is passed to the scripts or the CLI.

Typical use (a module-scoped project keeps a scenario's runs shared by its tests)::

    @pytest.fixture(scope="module")
    def wine(make_project):
        project = make_project("wine", {"train.py": TRAIN})
        first = project.run("train.py", params={"alpha": 0.1})
        crashed = project.run("train.py", params={"crash": True}, check=False)
        return project

    def test_runs(wine):
        rows = wine.cli_json("runs")
        with wine.store():
            assert len(mc.runs(project="wine")) == 2

Helpers
-------
``make_project(name, files)``
    A :class:`Project`: a fresh git repository (a user configured, the machine's git configuration
    ignored) with ``files`` written and committed.
``Project.run(script, params=..., args=..., check=True)``
    Run a script of the project with ``sys.executable`` (``PYTHONPATH`` inherited, so the worktree's
    ``src`` is imported); returns a :class:`ScriptResult` (return code, stdout, stderr).
``Project.cli(*args)`` / ``Project.cli_json(*args)``
    Run ``mlcontext ARGS`` in the project (in this process, as the console script would; pass
    ``in_subprocess=True`` for ``python -m mlcontext``); ``cli_json`` appends ``--json``, requires exit
    status 0 and parses the output *strictly* (:func:`strict_json`: bare ``NaN``/``Infinity`` fail).
``Project.store()``
    A ``with`` block inside which ``mc.*`` reads (and writes) the project's store.
``wine_csv(path)``
    scikit-learn's bundled wine data written to a CSV (178 rows, 13 features and ``target``).
``make_wine_project(name)``
    The project of issue 11: ``data/wine.csv`` (git-ignored) and a committed ``train.py`` running
    raw -> clean -> train/test split -> model (:data:`WINE_TRAIN`; params ``test_size``, ``seed``,
    ``alpha``, ``crash``). Each run prints its id last.
``wine_runs``
    One wine project, run once per test session and shared: :class:`WineRuns` (``first``: defaults;
    ``other``: seed 1, alpha 0.5, another split; ``again``: the params of ``first``, so the same model
    bytes and a second evaluation of the same test version, over ``MLCONTEXT_TEST_BUDGET=1``;
    ``crashed``: fails after the fit). Read-only: run nothing more in it (make your own project).

Test modules reach the helpers through fixtures (``make_project``, ``strict_json``, ``wine_csv``):
``conftest`` modules are not imported by name.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import mlcontext as mc
from mlcontext.store import Store

# Variables that would move the store away from the project, or make git read the machine's settings.
_STORE_VARIABLES = ("MLCONTEXT_HOME", "MLCONTEXT_STORE", "MLCONTEXT_ARTIFACTS")
_GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
SCRIPT_TIMEOUT_S = 120

#: The wine flow of issue 11, as a new user writes it.
WINE_TRAIN = """
    import mlcontext as mc
    from sklearn.linear_model import RidgeClassifier
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split

    with mc.run("train", project="wine") as run:
        test_size = mc.param("test_size", 0.25)
        seed = mc.param("seed", 0)
        alpha = mc.param("alpha", 1.0)
        crash = mc.param("crash", False)
        raw = mc.dataset("data/wine.csv", name="wine-raw")
        df = raw.frame()
        clean = df[df.alcohol > 0].dropna()
        clean["phenol_ratio"] = clean.flavanoids / clean.total_phenols
        mc.dataset(clean, name="wine-clean")
        train_df, test_df = train_test_split(clean, test_size=test_size, random_state=seed,
                                             stratify=clean.target.to_numpy())
        mc.dataset(train_df, name="wine-train", role="train")
        mc.dataset(test_df, name="wine-test", role="test")
        features = [c for c in clean.columns if c != "target"]
        model = mc.traced(RidgeClassifier(alpha=alpha, random_state=0))
        model.fit(train_df[features], train_df.target)
        if crash:
            raise RuntimeError("crash requested")
        predicted = model.predict(test_df[features])
        mc.log("accuracy", accuracy_score(test_df.target.to_numpy(), predicted))
        mc.artifact("model.pkl", model)
        print(run.id)
"""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON (RFC 8259): bare {name}")


def strict_json(text: str) -> Any:
    """Parse ``text`` as strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` are errors.

    Examples
    --------
    >>> strict_json('{"a": 1.5, "b": null}')
    {'a': 1.5, 'b': None}
    >>> strict_json('{"a": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: not strict JSON (RFC 8259): bare NaN
    """
    return json.loads(text, parse_constant=_reject_constant)


@dataclass(frozen=True)
class ScriptResult:
    """How one script (or CLI) process ended."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"$ {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}"
                f"--- stderr\n{self.stderr}")

    @property
    def last_line(self) -> str:
        """The last line printed on stdout (scripts print their run id there by convention)."""
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""


@dataclass
class Project:
    """A temporary git repository holding a small ML project; see the module docstring."""

    root: Path
    env: dict[str, str] = field(repr=False)

    # -- files and git ---------------------------------------------------------------------------------
    def write(self, rel: str, content: str | bytes, *, dedent: bool = True) -> Path:
        """Write ``content`` to ``rel`` (text is dedented); returns the path. Nothing is committed."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content) if dedent else content)
        return path

    def git(self, *args: str) -> str:
        """Run git in the project; returns its stdout."""
        done = subprocess.run(["git", *args], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def commit(self, message: str = "change", *paths: str) -> str:
        """Stage ``paths`` (default: everything git does not ignore) and commit; returns the commit."""
        self.git("add", *(paths or ("-A",)))
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    @property
    def store_dir(self) -> Path:
        """The default store of the project."""
        return self.root / ".mlcontext"

    # -- processes -------------------------------------------------------------------------------------
    def _process(self, args: list[str], cwd: Path | None, env: Mapping[str, str] | None) -> ScriptResult:
        done = subprocess.run(args, cwd=cwd or self.root, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)
        return ScriptResult(args, done.returncode, done.stdout, done.stderr)

    def run(self, script: str, *, params: Mapping[str, Any] | None = None, args: tuple[str, ...] = (),
            check: bool = True, cwd: Path | None = None,
            env: Mapping[str, str] | None = None) -> ScriptResult:
        """Run ``python SCRIPT --param k=v ... ARGS`` in the project.

        ``params`` values are written as the command line would (``True`` -> ``true``). With
        ``check`` (default) a non-zero exit fails the test with the script's output; pass
        ``check=False`` for a run that is meant to crash and assert on ``returncode`` yourself.
        """
        argv = [sys.executable, script]
        for key, value in (params or {}).items():
            argv += ["--param", f"{key}={_cli_value(value)}"]
        result = self._process([*argv, *args], cwd, env)
        if check and result.returncode != 0:
            pytest.fail(f"script failed:\n{result}", pytrace=False)
        return result

    def cli(self, *args: str, check: bool = True, cwd: Path | None = None,
            env: Mapping[str, str] | None = None, in_subprocess: bool = False) -> ScriptResult:
        """``mlcontext ARGS`` in the project (or in ``cwd``); exit status 0 required with ``check``.

        Runs in this process by default (the same ``main()`` as the console script, with the
        project's environment, working directory and ``argv``; about 2 s faster per call on a busy
        machine); ``in_subprocess=True`` runs ``python -m mlcontext`` instead.
        """
        if in_subprocess:
            result = self._process([sys.executable, "-m", "mlcontext", *args], cwd, env)
        else:
            result = _cli_in_process(list(args), cwd or self.root, {**self.env, **(env or {})})
        if check and result.returncode != 0:
            pytest.fail(f"mlcontext failed:\n{result}", pytrace=False)
        return result

    def cli_json(self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Any:
        """``mlcontext ARGS --json``, parsed with :func:`strict_json`."""
        result = self.cli(*args, "--json", cwd=cwd, env=env)
        try:
            return strict_json(result.stdout)
        except ValueError as exc:
            pytest.fail(f"--json output is not strict JSON ({exc}):\n{result}", pytrace=False)

    # -- the store from Python -------------------------------------------------------------------------
    @contextmanager
    def store(self) -> Iterator[Store]:
        """Inside the block, ``mc.*`` uses the project's store (opened afresh, closed afterwards)."""
        opened = Store.open(home=self.store_dir)
        try:
            with mc.use_store(opened):
                yield opened
        finally:
            opened.close()


def _cli_in_process(args: list[str], cwd: Path, env: Mapping[str, str]) -> ScriptResult:
    """Run the CLI's ``main()`` here with ``env`` as the whole environment, ``cwd`` and ``argv``."""
    from mlcontext.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["mlcontext", *args]
    code: int = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            err.write(exc.code)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        sys.argv = saved_argv
    return ScriptResult(["mlcontext", *args], code, out.getvalue(), err.getvalue())


def _cli_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict | tuple) or value is None:
        return json.dumps(value)
    return str(value)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _STORE_VARIABLES}
    env.update(_GIT_ENV)
    # The scripts import the mlcontext under test: the worktree's src first, then what was there.
    src = str(Path(mc.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    env.setdefault("COLUMNS", "200")
    # Two cores shared by many processes: BLAS threads only make small fits slower.
    for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(threads, "1")
    return env


def new_project(folder: Path, files: Mapping[str, str | bytes] | None = None) -> Project:
    """A git repository in ``folder`` (created) with ``files`` written and committed."""
    folder.mkdir(parents=True, exist_ok=True)
    project = Project(folder.resolve(), _environment())
    project.git("init", "--quiet", "-b", "main")
    project.git("config", "user.name", "Scenario Tester")
    project.git("config", "user.email", "tester@example.com")
    project.git("config", "commit.gpgsign", "false")
    for rel, content in (files or {}).items():
        project.write(rel, content)
    project.commit("initial")
    return project


@pytest.fixture(scope="module")
def make_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Project]:
    """``make_project(name, files)``: a new committed git repository (module scope, so several tests
    can share one project's runs)."""

    def make(name: str = "project", files: Mapping[str, str | bytes] | None = None) -> Project:
        return new_project(tmp_path_factory.mktemp(name) / name, files)

    return make


@pytest.fixture(name="strict_json", scope="session")
def _strict_json_fixture() -> Callable[[str], Any]:
    """:func:`strict_json`, for test modules."""
    return strict_json


@pytest.fixture(name="wine_csv", scope="session")
def _wine_csv_fixture() -> Callable[[Path], Path]:
    """:func:`wine_csv`, for test modules."""
    return wine_csv


def wine_csv(path: Path) -> Path:
    """scikit-learn's bundled wine data as a CSV: 13 feature columns and ``target`` (178 rows)."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def make_wine_project(make_project: Callable[..., Project]) -> Callable[..., Project]:
    """``make_wine_project(name)``: the wine project (see the module docstring), committed, no runs."""

    def make(name: str = "wine", *, script: str = WINE_TRAIN) -> Project:
        project = make_project(name, {".gitignore": "data/\n*.pkl\n", "train.py": script})
        wine_csv(project.root / "data" / "wine.csv")
        return project

    return make


@pytest.fixture(name="wine_train_script", scope="session")
def _wine_train_script() -> str:
    """:data:`WINE_TRAIN`, to derive variants of the script from."""
    return WINE_TRAIN


@dataclass(frozen=True)
class WineRuns:
    """The shared wine project and its runs (see ``wine_runs``)."""

    project: Project
    results: dict[str, ScriptResult]
    ids: dict[str, str]


@pytest.fixture(scope="session")
def wine_runs(tmp_path_factory: pytest.TempPathFactory) -> WineRuns:
    """Four runs of the wine project, shared by every test of the session (read-only)."""
    project = new_project(tmp_path_factory.mktemp("wine-shared") / "wine",
                          {".gitignore": "data/\n*.pkl\n", "train.py": WINE_TRAIN})
    wine_csv(project.root / "data" / "wine.csv")
    budget = {"MLCONTEXT_TEST_BUDGET": "1"}
    results = {}
    for name, params in (("first", {}), ("other", {"seed": 1, "alpha": 0.5}), ("again", {})):
        results[name] = project.run("train.py", params=params, env=budget)
    results["crashed"] = project.run("train.py", params={"crash": True}, env=budget, check=False)
    if results["crashed"].returncode == 0 or "crash requested" not in results["crashed"].stderr:
        pytest.fail(f"the crashing run did not crash as asked:\n{results['crashed']}", pytrace=False)
    with project.store():
        crashed = mc.runs(project="wine", status="failed")["id"].tolist()
    ids = {name: r.last_line for name, r in results.items() if name != "crashed"} | {"crashed": crashed[0]}
    return WineRuns(project, results, ids)
