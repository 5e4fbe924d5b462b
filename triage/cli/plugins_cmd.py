"""`triage plugins`: what each registry has loaded (built-ins and a lab's own packages)."""

from __future__ import annotations

import click

from triage.cli.base import emit, json_option
from triage.plugins import all_registries


@click.command("plugins")
@json_option
def plugins_command(as_json: bool) -> None:
    """List the evidence sources, media handlers, signals, matchers, list formats and notifiers
    that are loaded, where each comes from, and any that failed to load (with why)."""
    rows = [row for registry in all_registries() for row in registry.describe()]
    emit(rows, as_json, ("registry", "name", "origin", "target", "problem"))
    if any(r["problem"] for r in rows):
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(plugins_command)
