"""Entry point and command group of ``mlcontext``."""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

import click

from ..errors import MLContextError

__all__ = ["cli", "main", "COMMANDS"]

#: Every command: the module defining it, its name there, and the first sentence of its help, which
#: ``mlcontext --help`` shows without importing the module (issue 15: ≤ 0.3 s; the command modules
#: import pandas, the store and the insight layer). A test checks the sentences against the commands.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "cache": ("cache", "cache_command",
              "Show the persistent reuse cache: entries, bytes, hits and the compute time they saved."),
    "db": ("db", "db_group", "Manage the metadata store's schema."),
    "diff": ("runs", "diff_command",
             "Compare two runs (params, metrics, code, environment), two dataset versions (trips@1 "
             "trips@2: schema by name and dtype, rows, null fractions, distributions, and why) or two "
             "models (RUN:NAME RUN:NAME: class, params, their runs' metrics, data)."),
    "drift": ("context", "drift_command", "Distribution drift from REFERENCE to CURRENT (dataset "
              "versions, e.g. trips@1 trips-live@3)."),
    "find": ("context", "find_command",
             "Search runs by params, metrics, data version, code version, time, user, name and status."),
    "history": ("context", "history_command", "Transformations applied to dataset NAME (any version) "
                "across runs and people, most used first."),
    "impact": ("context", "impact_command",
               "Everything downstream of REF: derived data, models, and the runs that read them."),
    "lineage": ("context", "lineage_command", "How REF was derived (NAME, NAME@VERSION, RUN:ARTIFACT "
                "or a hash): runs, operations, sources."),
    "restore": ("runs", "restore_command", "Recreate the code RUN executed in DEST (an empty folder): its "
                "commit, uncommitted changes and untracked files, byte for byte."),
    "runs": ("runs", "runs_command", "List runs, newest first, with their params and last metric values."),
    "show": ("runs", "show_command",
             "Show everything recorded about RUN (an id, an id prefix, or a run name)."),
    "testuse": ("context", "testuse_command", "How often each test set version was evaluated, by how "
                "many people; over-used ones flagged."),
    "tried": ("context", "tried_command",
              "Past designs on a dataset (model, params) with their score, best first, across people."),
    "versions": ("context", "versions_command", "Every version of dataset NAME: rows, columns, role, "
                 "who recorded it, when, in which run."),
}


class _LazyGroup(click.Group):
    """A group whose commands are imported when one is run (or listed through ``commands``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        return {name: self._load(name) for name in sorted(COMMANDS)}  # type: ignore[misc]

    @commands.setter
    def commands(self, _value: Any) -> None:
        pass  # click.Group.__init__ sets it; the commands are COMMANDS

    def _load(self, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _summary = COMMANDS[name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # (click itself would exit with status 1: seen here first)
            _reader_gone()

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, _short_help(COMMANDS[name][2], limit)) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _short_help(summary: str, limit: int) -> str:
    return click.Command(None, help=summary).get_short_help_str(limit)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlcontext")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """mlcontext: what code, data, params and people produced which model and score.

    The store is the embedded default (.mlcontext/ at the project root) unless MLCONTEXT_HOME,
    MLCONTEXT_STORE or MLCONTEXT_ARTIFACTS say otherwise.
    """
    # Reading a store never runs code its writers chose: no command unpickles (docs/security.md).
    from ..tracking.formats import no_unpickling  # here, not at import: --help stays fast
    from .render import follow_terminal

    follow_terminal()
    ctx.with_resource(no_unpickling())


def _reader_gone() -> None:
    """The reader closed the pipe (`mlcontext runs | head -1`): what it wanted it has. Stop as tools
    killed by SIGPIPE do, silently with status 141, writing nothing more to stdout."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(128 + signal.SIGPIPE)


def main() -> None:
    """Run the CLI; errors of the library become one clear line and exit status 1."""
    try:
        cli.main(standalone_mode=False)
        sys.stdout.flush()  # (a reader that went away is seen here, not at interpreter exit)
    except BrokenPipeError:
        _reader_gone()
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        # One line, like every other error (click's usage errors would print the usage first).
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see `{exc.ctx.command_path} --help`)"
        click.secho(f"Error: {exc.format_message()}{hint}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except MLContextError as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(1)
