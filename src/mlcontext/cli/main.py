"""Entry point and command group of ``mlcontext``."""

from __future__ import annotations

import sys

import click

from ..errors import MLContextError
from . import cache, context, db, runs

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlcontext")
def cli() -> None:
    """mlcontext: what code, data, params and people produced which model and score.

    The store is the embedded default (.mlcontext/ at the project root) unless MLCONTEXT_HOME,
    MLCONTEXT_STORE or MLCONTEXT_ARTIFACTS say otherwise.
    """


cli.add_command(runs.runs_command)
cli.add_command(runs.show_command)
cli.add_command(runs.diff_command)
cli.add_command(db.db_group)
for command in context.COMMANDS:
    cli.add_command(command)
cli.add_command(cache.cache_command)


def main() -> None:
    """Run the CLI; errors of the library become one clear line and exit status 1."""
    try:
        cli.main(standalone_mode=False)
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
