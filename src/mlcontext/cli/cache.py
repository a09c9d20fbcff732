"""``mlcontext cache``: the persistent tier of the lineage cache."""

from __future__ import annotations

import click

from ..tracking.persistent_cache import cache_summary, clear_cache, writer_key
from ..tracking.stores import get_store
from .render import console, print_json


@click.command("cache")
@click.option("--clear", is_flag=True, help="Delete every persistent cache entry.")
@click.option("--whoami", is_flag=True,
              help="Print this user's writer identity (name:key), the form teammates add to MLCONTEXT_TRUST.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def cache_command(clear: bool, whoami: bool, as_json: bool) -> None:
    """Show the persistent reuse cache: entries, bytes, hits and the compute time they saved."""
    if whoami and clear:
        # Two different actions: doing one and silently ignoring the other hides what happened.
        raise click.UsageError("--whoami and --clear are two different actions: run them one at a time")
    if whoami:
        key = writer_key()
        if as_json:
            print_json({"name": key.name, "public": key.public, "label": key.label})
        else:
            click.echo(key.label)
        return
    store = get_store()
    if clear:
        n = clear_cache(store)
        if as_json:
            print_json({"deleted": n})
        else:
            console.print(f"deleted {n} cache entries")
        return
    s = cache_summary(store)
    if as_json:
        print_json({"entries": s.entries, "bytes": s.bytes, "hits": s.hits, "saved_s": s.saved_s,
                    "cost_s": s.cost_s})
        return
    console.print(f"entries      {s.entries}\nsize         {s.bytes / 1e6:.1f} MB\nhits         {s.hits}\n"
                  f"saved        {s.saved_s:.3f} s of compute\n"
                  f"stored cost  {s.cost_s:.3f} s to recompute everything")
