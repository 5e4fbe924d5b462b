"""`triage export --device D --format vics|csv [-o FILE]`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from triage.cli.base import command_context
from triage.export import write_csv, write_vics


@click.command("export")
@click.option("--device", required=True, help="Device label.")
@click.option("--format", "fmt", type=click.Choice(["vics", "csv"]), default="vics",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: standard output).")
@click.pass_context
def export_command(ctx: click.Context, device: str, fmt: str, output: Path | None) -> None:
    """Export DEVICE's media with hashes and categories (VICS 2.0 case JSON, or CSV per file)."""
    writer = write_vics if fmt == "vics" else write_csv
    with command_context(ctx, "export") as run:
        if output is None:
            run.counts["rows"] = writer(run.store, device, sys.stdout)
            return
        tmp = output.with_name(output.name + ".part")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            run.counts["rows"] = writer(run.store, device, f)
        tmp.replace(output)  # a reader never finds half an export
        click.echo(f"wrote {run.counts['rows']} {'media' if fmt == 'vics' else 'files'}"
                   f" to {output}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(export_command)
