"""`triage ingest SOURCE --case C --device D`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from triage.cli.base import command_context, emit_object, json_option
from triage.cli.classify_cmd import describe
from triage.cli.match_cmd import describe as describe_match
from triage.evidence import SourceError
from triage.pipeline import Pipeline


@click.command("ingest")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--case", "case", required=True, help="Case reference (created if new).")
@click.option("--device", "device", required=True, help="Device / exhibit label (unique).")
@click.option("--workers", type=int, default=None,
              help="Worker processes (default: config, else one per core; 0 = in-process).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: only on a terminal).")
@click.option("--classify/--no-classify", "classify", default=None,
              help="Score unseen pictures with the model cards afterwards (default: config).")
@json_option
@click.pass_context
def ingest_command(ctx: click.Context, source: Path, case: str, device: str,
                   workers: int | None, progress: bool | None, as_json: bool,
                   classify: bool | None = None) -> None:
    """Hash, identify and deduplicate every file of SOURCE (a folder or an archive: zip, tar,
    tar.gz, tar.xz; recognised by content, `triage plugins` lists the evidence sources).

    SOURCE is only read, never changed. Run the same command again after an interruption to
    finish the job: files already recorded are skipped.
    """
    with command_context(ctx, "ingest") as run:
        try:
            done = Pipeline(run.workspace, run.store, progress).process(
                source, case, device, workers=workers, classify=classify)
        except SourceError as exc:
            raise click.ClickException(str(exc)) from exc
        report, matched, classified = done.ingest, done.match, done.classify
        assert report is not None
        run.counts.update(report.as_dict())
        if done.state != "completed":
            run.counts["_outcome"] = "interrupted"
        summary: dict[str, Any] = done.as_dict()
        if as_json:
            emit_object(summary, True)
        else:
            click.echo(f"{report.state}: {report.counts.files} files recorded from {source}"
                       f" in {report.seconds:.1f}s"
                       + (f" ({report.counts.skipped_done} already done)"
                          if report.counts.skipped_done else ""))
            for status, n in sorted(report.counts.by_status.items()):
                click.echo(f"  {status:12s} {n}")
            if matched:
                click.echo(describe_match(matched))
            for line in describe(classified) if classified is not None else ():
                click.echo(line)
            if done.state != "completed":
                click.echo("interrupted: run the same command again to resume.")
        if done.state != "completed":
            ctx.exit(130)


def register(cli: click.Group) -> None:
    cli.add_command(ingest_command)
