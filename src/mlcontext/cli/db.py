"""``mlcontext db``: the metadata store's schema."""

from __future__ import annotations

import click

from ..store.config import resolve_config
from ..store.engine import make_engine
from ..store.migrate import current_revision, head_revision, upgrade
from .render import console


@click.group("db")
def db_group() -> None:
    """Manage the metadata store's schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target schema revision.")
def upgrade_command(revision: str) -> None:
    """Migrate the store's schema to the version this mlcontext expects."""
    config = resolve_config()
    engine = make_engine(config.metadata_url)
    before, after = upgrade(engine, revision)
    console.print(f"{config.metadata_url}: schema {before or 'empty'} -> {after}")


@db_group.command("current")
def current_command() -> None:
    """Print the store's schema revision and the one this mlcontext expects."""
    config = resolve_config()
    current = current_revision(make_engine(config.metadata_url))
    console.print(f"{config.metadata_url}: schema {current or 'empty'} (expected {head_revision()})")
