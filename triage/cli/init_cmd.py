"""`triage init`: create a lab workspace."""

from __future__ import annotations

from pathlib import Path

import click

from triage.store import StoreError
from triage.workspace import init_workspace


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False), default=".")
def init_command(directory: str) -> None:
    """Create a workspace in DIRECTORY (database in WAL mode + the lab's config files)."""
    try:
        ws = init_workspace(Path(directory))
        store = ws.open_store()
    except StoreError as exc:  # an existing database that is empty or damaged: never replaced
        raise click.ClickException(str(exc)) from exc
    from triage import __version__

    audit = store.audit_start("init", {"directory": str(ws.root)}, __version__)
    store.audit_finish(audit, "ok", {})
    store.close()
    click.echo(f"workspace ready: {ws.root}")
    click.echo(f"  database: {ws.db_path}")
    click.echo(f"  config:   {ws.config_dir}")


def register(cli: click.Group) -> None:
    cli.add_command(init_command)
