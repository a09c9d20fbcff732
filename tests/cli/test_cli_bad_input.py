"""Every CLI command, given bad input, answers with one line on stderr and a non-zero exit, never a
traceback (issue 13 item 11: ``mlcontext find --since <bad date>`` printed one).

The commands are enumerated from the click group, so a new command is checked too. Peers with the
kind: treeverse/dvc#136 ("DVC should never output Python stack to console": missing arguments gave
tracebacks), mlflow/mlflow#188 (``mlflow run`` printed a traceback for a user error).
"""

from __future__ import annotations

import sys

import click
import pytest

import mlcontext as mc
from mlcontext.cli import cli, main

BAD_TEXT = ["@@bad@@", "", "x" * 300, "trips@x", "RUN:", ":", "../../etc/passwd", "\x00"]
BAD_INT = ["x", "-5", "99999999999999999999999999"]
BAD_DATES = ["notadate", "2021-13-45", "yesterday"]
BAD_FIND = {"--params": ["lr>>x", "lr", "=1", "lr<abc"], "--metrics": ["loss<abc", "loss", ">"],
            "--data": ["nope@3", "@"], "--since": BAD_DATES, "--until": BAD_DATES,
            "--code": ["not-a-commit"]}


Commands = list[tuple[tuple[str, ...], click.Command]]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Commands:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command))
    return found


def _bad_invocations() -> list[list[str]]:
    """Bad arguments for every command: unknown options, missing and malformed arguments, and bad
    values of each option (by its type)."""
    calls: list[list[str]] = []
    for path, command in _commands(cli):
        base = list(path)
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        calls.append([*base, "--no-such-option"])
        if arguments:
            calls.append(base)  # missing arguments
            for text in BAD_TEXT:
                calls.append([*base, *[text] * len(arguments)])
        for option in command.params:
            if not isinstance(option, click.Option) or option.is_flag:
                continue
            flag = option.opts[0]
            values = BAD_FIND.get(flag, []) if path == ("find",) else []
            values += BAD_INT if isinstance(option.type, click.types.IntParamType) else BAD_TEXT[:3]
            for value in values:
                calls.append([*base, *["@@bad@@"] * len(arguments), flag, value])
            calls.append([*base, flag])  # an option without its value
    calls.append(["db", "upgrade", "--revision", "zz99"])
    calls.append(["lineage", "@@bad@@", "--svg", "/nonexistent/folder/graph.svg"])
    return calls


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A store with one finished run and one dataset version."""
    path = tmp_path_factory.mktemp("cli-bad")
    with mc.use_store(mc.Store.open(home=path)):
        with mc.run("r", project="p"):
            mc.param("lr", 0.1)
            mc.log("loss", 1.0)
            import pandas as pd

            mc.dataset(pd.DataFrame({"a": [1, 2, 3]}), "trips")
    return path


def _invoke(argv: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["mlcontext", *argv])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_answers_bad_input_with_one_line_and_no_traceback(home, monkeypatch, capsys):
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    problems = []
    calls = _bad_invocations()
    assert len(calls) > 100
    for argv in calls:
        try:
            code, out, err = _invoke(argv, monkeypatch, capsys)
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            problems.append(f"{argv}: raised {type(exc).__name__}: {exc}")
            continue
        lines = [line for line in err.splitlines() if line.strip()]
        if "Traceback" in err + out:
            problems.append(f"{argv}: traceback")
        elif code != 0 and len(lines) != 1:
            problems.append(f"{argv}: exit {code} with {len(lines)} lines on stderr: {err!r}")
        elif code != 0 and not lines[0].startswith("Error: "):
            problems.append(f"{argv}: stderr is not an error line: {err!r}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("since", BAD_DATES)
def test_find_since_a_bad_date_says_which_format(home, monkeypatch, capsys, since):
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    code, _, err = _invoke(["find", "--since", since], monkeypatch, capsys)
    assert code != 0
    assert err.count("\n") == 1 and "ISO" in err and since in err


def test_find_since_a_bad_date_from_python_is_an_mlcontext_error(home):
    with mc.use_store(mc.Store.open(home=home)):
        with pytest.raises(mc.MLContextError, match="ISO"):
            mc.find(since="notadate")
        with pytest.raises(ValueError):  # also the matching builtin
            mc.find(until="2021-13-45")
