"""`triage export --device D --format vics|csv [--profile us|uk] [--shape case|hashset] [-o FILE]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from triage.cli.base import command_context
from triage.reports.export import (
    PROFILES,
    SHAPES,
    ExportError,
    default_profile,
    write_csv,
    write_file,
    write_vics,
)


@click.command("export")
@click.option("--device", required=True, help="Device label.")
@click.option("--format", "fmt", type=click.Choice(["vics", "csv"]), default="vics",
              show_default=True)
@click.option("--profile", type=click.Choice(PROFILES), default=None,
              help="VICS profile: us (Project VIC 0-4) or uk (CAID codes from"
                   " config/categories.toml [schemes.uk] map). Default: the review scheme in"
                   " config/review.toml (vic -> us, uk -> uk).")
@click.option("--shape", type=click.Choice(SHAPES), default="case", show_default=True,
              help="VICS shape: case (value[0] with the case fields and Media[], as Project VIC"
                   " and CAID exchange) or hashset (value[] of Media, what IPED and other"
                   " tools import).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: standard output).")
@click.pass_context
def export_command(ctx: click.Context, device: str, fmt: str, profile: str | None,
                   shape: str, output: Path | None) -> None:
    """Export DEVICE's media with hashes and categories (VICS 2.0 case JSON, or CSV per file).

    A content goes out with its exact alert-list category (the most severe, when several
    lists hold it) or, where no list categorised it, the reviewer's current decision.
    """
    with command_context(ctx, "export") as run:
        ws = run.workspace
        if fmt == "vics":
            profile = profile or default_profile(ws.config("review"))
            run.counts.update(profile=profile, shape=shape)

            categories = ws.config("categories")
            config_path = str(ws.config_dir / "categories.toml")

            def write(f: TextIO) -> int:
                return write_vics(run.store, device, f, profile, categories, config_path,
                                  shape=shape, peer_categories=ws.config("review").get(
                                      "peer_check", {}).get("categories", []))
        else:
            if shape != "case":
                raise click.UsageError("--shape applies to --format vics only")

            def write(f: TextIO) -> int:
                return write_csv(run.store, device, f)
        try:
            if output is None:
                run.counts["rows"] = write(sys.stdout)
                return
            run.counts["rows"] = write_file(output, write)
        except ExportError as exc:
            raise click.ClickException(str(exc)) from exc
        what = (f"media ({profile.upper()} profile, {shape} shape)" if fmt == "vics"
                else "files")
        click.echo(f"wrote {run.counts['rows']} {what} to {output}", err=True)


def register(cli: click.Group) -> None:
    cli.add_command(export_command)
