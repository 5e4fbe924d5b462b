"""The `triage` command."""

from __future__ import annotations

from typing import Any

import click

from triage import __version__, interrupts
from triage.cli.base import Interrupted
from triage.cli import demo_cmd, files_cmd, ingest_cmd, init_cmd
from triage.cli import classify_cmd, models_cmd, queue_cmd
from triage.cli import exposure_cmd, serve_cmd, users_cmd
from triage.cli import backlog_cmd, devices_cmd, report_cmd
from triage.cli import welfare_cmd
from triage.cli import doctor_cmd, export_cmd, hashsets_cmd, match_cmd, plugins_cmd


class TriageGroup(click.Group):
    """The root command: SIGINT and SIGTERM mean the same everywhere (see triage.interrupts),
    including in commands that never open the workspace."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with interrupts.handled():
            interrupts.clear()
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", type=click.Path(file_okay=False), default=None,
              help="Workspace folder (default: $TRIAGE_WORKSPACE, else the current folder).")
@click.version_option(__version__, prog_name="triage")
def cli(workspace: str | None) -> None:
    """Triage seized-device media: hash, match, prioritise, review safely."""


for module in (init_cmd, ingest_cmd, files_cmd, demo_cmd, users_cmd, serve_cmd, exposure_cmd, devices_cmd, backlog_cmd, report_cmd, models_cmd, classify_cmd, queue_cmd, welfare_cmd, hashsets_cmd, match_cmd, export_cmd, plugins_cmd,
               doctor_cmd):
    module.register(cli)
