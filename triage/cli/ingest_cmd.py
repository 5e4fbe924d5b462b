"""`triage ingest SOURCE --case C --device D`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from triage.cli.base import command_context, emit_object, json_option
from triage.cli.classify_cmd import classify_step, describe
from triage.cli.match_cmd import describe as describe_match
from triage.ingest.coordinator import IngestOptions, ingest
from triage.evidence import SourceError
from triage.match.matcher import match_device
from triage.evidence.base import Limits
from triage.workspace import Workspace


def options_from_config(ws: Workspace, workers: int | None, progress: bool | None) -> IngestOptions:
    cfg = ws.config("ingest")
    lim = cfg.get("limits", {})
    limits = Limits(
        in_memory_bytes=int(lim.get("in_memory_mib", Limits.in_memory_bytes >> 20)) << 20,
        max_pixels=int(lim.get("max_pixels", Limits.max_pixels)),
        max_archive_depth=int(lim.get("max_archive_depth", Limits.max_archive_depth)),
        max_compression_ratio=int(lim.get("max_compression_ratio", Limits.max_compression_ratio)),
    )
    opts = IngestOptions(limits=limits, progress=progress, derivative_dir=str(ws.derivative_dir))
    configured = workers if workers is not None else int(cfg.get("ingest", {}).get("workers", 0))
    if configured > 0 or workers == 0:
        opts.workers = configured
    return opts


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
    """Hash, identify and deduplicate every file of SOURCE (a folder, .zip, .tar or .tar.gz).

    SOURCE is only read, never changed. Run the same command again after an interruption to
    finish the job: files already recorded are skipped.
    """
    with command_context(ctx, "ingest") as run:
        opts = options_from_config(run.workspace, workers, progress)
        try:
            report = ingest(run.store, source, case, device, opts)
        except SourceError as exc:
            raise click.ClickException(str(exc)) from exc
        run.counts.update(report.as_dict())
        if report.state != "completed":
            run.counts["_outcome"] = "interrupted"
        summary: dict[str, Any] = report.as_dict()
        matched = match_device(run.store, device) if report.state == "completed" else None
        summary["match"] = matched.as_dict() if matched else None
        classified = (classify_step(run, device, classify, progress)
                      if report.state == "completed" else None)
        if classified is not None:
            summary["classify"] = classified.as_dict()
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
            if report.state != "completed":
                click.echo("interrupted: run the same command again to resume.")
        if report.state != "completed":
            ctx.exit(130)


def register(cli: click.Group) -> None:
    cli.add_command(ingest_command)
