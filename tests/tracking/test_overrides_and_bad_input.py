"""`--param` overrides from the command line, and the store failing under the user."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import mlcontext as mc
from mlcontext.errors import MLContextWarning, ParamError, ReadOnlyStoreError
from mlcontext.store import Store
from mlcontext.tracking.params import coerce_override, parse_overrides


@pytest.mark.parametrize(("default", "raw", "expected"), [
    (0.01, "0.1", 0.1), (3, "7", 7), (3, "0x10", 16), (True, "no", False), (False, "1", True),
    ("adam", "sgd", "sgd"), ([1, 2], "[3, 4]", [3, 4]), ({"a": 1}, '{"b": 2}', {"b": 2}),
    (None, "5", 5), (None, '"text"', "text"), ((1, 2), "[5]", (5,)),
])
def test_overrides_are_typed_like_the_default(default, raw, expected):
    value = coerce_override("p", raw, default)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("default", "raw"), [
    (3, "0.5"), (0.1, "fast"), (True, "maybe"), ([1], '{"a": 1}'), ({"a": 1}, "[1]"), ([1], "not json"),
])
def test_bad_override_values_are_clear_errors(default, raw):
    with pytest.raises(ParamError, match=r"--param p=.*cannot use it as a"):
        coerce_override("p", raw, default)


def test_parse_overrides_leaves_other_arguments_alone():
    overrides, rest = parse_overrides(["--epochs", "3", "--param", "lr=0.1", "--param=k=a=b", "x"])
    assert overrides == {"lr": "0.1", "k": "a=b"}
    assert rest == ["--epochs", "3", "x"]
    with pytest.raises(ParamError, match="expected name=value"):
        parse_overrides(["--param", "lr"])
    with pytest.raises(ParamError, match="needs a value"):
        parse_overrides(["--param"])


def test_command_line_override_in_a_real_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import mlcontext as mc
        with mc.run("ridge", project="cli") as run:
            lr = mc.param("lr", 0.01)
            epochs = mc.param("epochs", 10)
            import sys
            print(repr(lr), repr(epochs), run.id, sys.argv[1:])
    """))
    env = os.environ | {"MLCONTEXT_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, str(script), "--param", "lr=0.1"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[:2] == ["0.1", "10"] and out[3] == "[]"  # our pairs are gone from sys.argv
    store = Store.open(home=tmp_path / "home")
    record = store.metadata.get_run(out[2])
    assert record.params == {"lr": 0.1, "epochs": 10}
    assert record.argv == (str(script), "--param", "lr=0.1")
    store.close()

    bad = subprocess.run([sys.executable, str(script), "--param", "epochs=ten"], env=env, cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "ParamError: --param epochs='ten': cannot use it as an int" in bad.stderr


def test_every_run_of_a_sweep_script_reads_the_overrides(tmp_path):
    # A newcomer's sweep (the README's loop of runs) with --param epochs=3: the first run took the pairs
    # out of sys.argv for the script's own parser, and the second silently used the default.
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent("""
        import sys
        import mlcontext as mc
        for rate in (0.01, 0.1):
            with mc.run(f"ridge-{rate}", project="cli") as run:
                mc.param("lr", rate)
                print(run.id, mc.param("epochs", 10), sys.argv[1:])
    """))
    env = os.environ | {"MLCONTEXT_HOME": str(tmp_path / "home")}
    lines = subprocess.run([sys.executable, str(script), "--param", "epochs=3", "--fast"], env=env,
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["3 ['--fast']", "3 ['--fast']"]
    store = Store.open(home=tmp_path / "home")
    for line in lines:
        record = store.metadata.get_run(line.split()[0])
        assert record.params["epochs"] == 3
        assert record.argv == (str(script), "--param", "epochs=3", "--fast")  # as the process got it
    store.close()


def test_a_script_that_sets_its_own_argv_is_taken_at_its_word(tmp_path):
    # A reviewer's: a script that assigned sys.argv between runs got the --param pairs back in a
    # later run once its list equalled the one the first run left.
    script = tmp_path / "stages.py"
    script.write_text(textwrap.dedent("""
        import sys
        import mlcontext as mc
        with mc.run("a", project="cli") as run:
            print(dict(run.overrides))
        sys.argv = [sys.argv[0]]
        with mc.run("b", project="cli") as run:
            print(dict(run.overrides))
    """))
    env = os.environ | {"MLCONTEXT_HOME": str(tmp_path / "home")}
    lines = subprocess.run([sys.executable, str(script), "--param", "lr=0.5"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines == ["{'lr': '0.5'}", "{}"]


def test_unused_override_warns_about_spelling(sqlite_store, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["train.py", "--param", "lrr=0.1"])
    run = mc.run("typo", project="p")
    mc.param("lr", 0.01)
    with pytest.warns(MLContextWarning, match=r"\['lrr'\] never used"):
        run.end()


def test_read_only_sqlite_store_gives_a_clear_error(tmp_path):
    home = tmp_path / "home"
    Store.open(home=home).close()
    url = f"sqlite:///file:{home / 'mlcontext.db'}?mode=ro&uri=true"
    store = Store.open(metadata_url=url, artifacts_url=str(home / "artifacts"))
    with pytest.raises(ReadOnlyStoreError, match="read-only.*MLCONTEXT_HOME"):
        mc.run("ro", project="p", store=store)
    assert mc.active_run() is None
    assert store.metadata.runs_frame().empty  # reading a read-only store still works
    store.close()


def test_runs_start_without_a_git_binary(sqlite_store, monkeypatch, tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    with mc.run("nogit", project="p") as run:
        mc.log("m", 1.0)
    record = mc.get_run(run.id)
    assert record.status == "finished" and record.git_commit is None
    assert any("git" in w for w in record.environment["code_warnings"])


def test_a_word_for_an_int_param_is_not_called_a_float():
    # Newcomer trial: "--param epochs=abc" said "cannot use it as a int ... (could not convert string
    # to float: 'abc')": the wrong article, and a float the user never asked for.
    from mlcontext.tracking.params import coerce_override

    with pytest.raises(ParamError) as err:
        coerce_override("epochs", "abc", 3)
    assert "as an int" in str(err.value) and "float" not in str(err.value)
