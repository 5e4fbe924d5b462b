"""`triage match --device D`: match a device again, e.g. after a list update."""

from __future__ import annotations

import click

from triage.cli.base import command_context, emit_object, json_option
from triage.match.matcher import MatchReport
from triage.pipeline import Pipeline


def describe(report: MatchReport) -> str:
    return (f"matched {report.contents} contents against {len(report.lists)} lists:"
            f" {report.known_contents} known ({report.known_good_contents} known-good),"
            f" {report.near} near candidates ({report.near_certain} near-certain)")


@click.command("match")
@click.option("--device", required=True, help="Device label.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: only on a terminal).")
@json_option
@click.pass_context
def match_command(ctx: click.Context, device: str, progress: bool | None,
                  as_json: bool) -> None:
    """Match DEVICE's contents against every list in the library (exact and near PDQ)."""
    with command_context(ctx, "match") as run:
        report = Pipeline(run.workspace, run.store, progress).match(device)
        run.counts.update(report.as_dict())
        if as_json:
            emit_object(report.as_dict(), True)
        else:
            click.echo(describe(report))


def register(cli: click.Group) -> None:
    cli.add_command(match_command)
