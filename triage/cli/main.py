"""The `triage` command."""

from __future__ import annotations

import importlib
from typing import Any

import click

from triage import __version__, interrupts

# The modules of triage.cli that register commands (`register(cli)`), imported when needed.
COMMAND_MODULES = ("init_cmd", "ingest_cmd", "files_cmd", "demo_cmd", "users_cmd", "serve_cmd",
                   "exposure_cmd", "devices_cmd", "backlog_cmd", "report_cmd", "models_cmd",
                   "classify_cmd", "queue_cmd", "welfare_cmd", "hashsets_cmd", "match_cmd",
                   "export_cmd", "plugins_cmd", "doctor_cmd")


class TriageGroup(click.Group):
    """The root command: SIGINT and SIGTERM mean the same everywhere (see triage.interrupts),
    including in commands that never open the workspace.

    A command's module is imported when the command runs, not every module at start-up:
    importing all of them (the web server, the demo, numba through the backlog) took 0.6 s of
    CPU before `triage ingest` did anything, paid again by the ingest's forkserver, which
    imports the `triage` script. NAME is looked for in NAME_cmd first; a command living
    elsewhere (`summary`, `assign`) and the command list load every module.
    """

    _loaded: set[str]

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with interrupts.handled():
            interrupts.clear()
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from triage.cli.base import Interrupted

            raise Interrupted() from None

    def _load(self, module: str) -> None:
        loaded = self.__dict__.setdefault("_loaded", set())
        if module not in loaded:
            loaded.add(module)
            importlib.import_module(f"triage.cli.{module}").register(self)

    def _load_all(self) -> None:
        for module in COMMAND_MODULES:
            self._load(module)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and f"{cmd_name}_cmd" in COMMAND_MODULES:
            self._load(f"{cmd_name}_cmd")
        if cmd_name not in self.commands:
            self._load_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_all()
        return super().list_commands(ctx)


@click.group(cls=TriageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", type=click.Path(file_okay=False), default=None,
              help="Workspace folder (default: $TRIAGE_WORKSPACE, else the current folder).")
@click.version_option(__version__, prog_name="triage")
def cli(workspace: str | None) -> None:
    """Triage seized-device media: hash, match, prioritise, review safely."""
