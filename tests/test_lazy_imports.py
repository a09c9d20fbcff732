"""What each entry point imports (issue 15: ``import mlcontext`` ≤ 0.25 s, ``mlcontext --help`` ≤ 0.3 s,
a logging process ≤ 120 MB). Timings are in ``bench/bench_hotpath.py``; these tests pin the mechanism:
the heavy libraries stay out of the processes that do not need them, and the public names still
resolve to the same objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import mlcontext as mc

HEAVY = ["pandas", "pyarrow", "sqlalchemy", "alembic", "numpy", "sklearn", "rich", "click",
         "mlcontext.lineage", "mlcontext.ops", "mlcontext.reuse", "mlcontext.insight", "mlcontext.store"]


def _loaded_after(code: str, tmp_path) -> set[str]:
    script = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
    """)
    env = dict(os.environ, MLCONTEXT_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_import_mlcontext_imports_nothing_heavy(tmp_path) -> None:
    assert _loaded_after("import mlcontext as mc", tmp_path) == set()


def test_a_logging_script_never_imports_pandas_or_traced_operations(tmp_path) -> None:
    loaded = _loaded_after("""
        import mlcontext as mc
        from mlcontext import loops
        with mc.run("log", project="lazy"):
            mc.param("lr", 0.1)
            for epoch in mc.loop("epoch", range(2)):
                mc.log("loss", 0.5)
            # no loop listener: nothing traced, so no lineage scope per iteration
            assert loops._listeners == (), loops._listeners
    """, tmp_path)
    assert not loaded & {"pandas", "pyarrow", "mlcontext.ops", "mlcontext.reuse", "mlcontext.insight",
                         "sklearn", "rich", "click", "alembic"}, loaded


def test_cli_help_imports_neither_pandas_nor_the_store(tmp_path) -> None:
    loaded = _loaded_after("""
        import sys
        from mlcontext.cli import main
        sys.argv = ["mlcontext", "--help"]
        try:
            main()
        except SystemExit:
            pass
    """, tmp_path)
    assert not loaded & {"pandas", "pyarrow", "sqlalchemy", "alembic", "numpy", "rich",
                         "mlcontext.store", "mlcontext.insight"}, loaded


@pytest.mark.parametrize("name", sorted(mc.__all__))
def test_every_public_name_resolves_to_what_it_was(name: str) -> None:
    value = getattr(mc, name)
    assert value is not None and name in dir(mc)


def test_mc_reuse_is_the_function_even_after_the_subpackage_is_imported() -> None:
    import mlcontext.reuse  # noqa: F401 - the import system sets mlcontext.reuse to the subpackage
    from mlcontext.reuse.api import reuse

    assert mc.reuse is reuse and callable(mc.reuse)
    assert mc.drift.__name__ == "drift_of" and mc.pd.__name__ == "mlcontext.ops.pandas_api"


def test_frames_are_cached_without_an_eager_registration() -> None:
    """The reuse layer learns how to freeze a frame the first time it meets one (it used to be told
    at ``import mlcontext``, which imported pandas)."""
    import pandas as pd

    from mlcontext.reuse.freeze import freeze_other

    frame = pd.DataFrame({"a": [1.0, 2.0]})
    frozen = freeze_other(frame)
    assert frozen is not None and frozen[1] > 0


@pytest.mark.parametrize("limit", [40, 60, 80, 300])
def test_the_help_summaries_main_shows_are_the_commands_own(limit: int) -> None:
    """``mlcontext --help`` prints each command's summary without importing it: it must be the one
    click would print from the command itself."""
    import click

    from mlcontext.cli.main import COMMANDS, _short_help, cli

    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name, (_module, _attr, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        assert _short_help(summary, limit) == command.get_short_help_str(limit), name


def test_names_that_are_also_submodules_stay_the_functions(tmp_path) -> None:
    """``mlcontext.tracking.run`` is a module and ``mc.run`` a function: importing the module first
    (as any ``from mlcontext.tracking.run import ...`` does) must not turn ``mc.run`` into it."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import mlcontext.tracking.run, mlcontext.reuse, mlcontext.tracking.profile
        import mlcontext as mc
        assert callable(mc.run) and callable(mc.reuse) and callable(mc.profile), (mc.run, mc.reuse)
        assert callable(mc.tracking.run) and callable(mc.find) and callable(mc.diff)
    """)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env=dict(os.environ, MLCONTEXT_HOME=str(tmp_path / "home")))
    assert proc.returncode == 0, proc.stderr


def test_recompute_in_a_fresh_process_finds_the_numpy_operations(tmp_path) -> None:
    """The registry of operations recompute may run is filled by importing ``mlcontext.ops``: a
    process that only calls ``mc.recompute`` (or ``mc.lineage.recompute``) must get it too."""
    import numpy as np

    x = mc.array(np.arange(4.0), name="x")
    (tmp_path / "log.txt").write_text(mc.lineage.dumps(x + 1.0))
    for call in ("mc.recompute", "mc.lineage.recompute"):
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import numpy as np, mlcontext as mc
            out = {call}(open("log.txt").read(), inputs={{"x": np.arange(4.0)}})
            assert np.array_equal(np.asarray(out), np.arange(4.0) + 1.0), out
        """)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env=dict(os.environ, MLCONTEXT_HOME=str(tmp_path / "home")))
        assert proc.returncode == 0, (call, proc.stderr)
