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
@click.option("--unlock", "unlock", multiple=True, metavar="VOLUME=KEY",
              help="Recovery key or password of an encrypted volume of a disk image (p3=KEY,"
                   " or image=KEY without a partition table); repeatable. Never stored.")
@click.option("--verify-image", "verify_image", is_flag=True,
              help="After ingest, verify each disk image's media against the MD5/SHA-1 stored"
                   " at acquisition (reads the whole image once more).")
@json_option
@click.pass_context
def ingest_command(ctx: click.Context, source: Path, case: str, device: str,
                   workers: int | None, progress: bool | None, as_json: bool,
                   classify: bool | None = None, unlock: tuple[str, ...] = (),
                   verify_image: bool = False) -> None:
    """Hash, identify and deduplicate every file of SOURCE (a folder or an archive: zip, tar,
    tar.gz, tar.xz; recognised by content, `triage plugins` lists the evidence sources).

    SOURCE is only read, never changed. Run the same command again after an interruption to
    finish the job: files already recorded are skipped.
    """
    keys = _unlock_keys(unlock)
    with command_context(ctx, "ingest") as run:
        try:
            done = Pipeline(run.workspace, run.store, progress).process(
                source, case, device, workers=workers, classify=classify, unlock=keys,
                verify_image=verify_image)
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
            for image in done.verify.images if done.verify is not None else ():
                click.echo(f"verify {image['image']}: {image['state']}"
                           + (f" — {image['reason']}" if image["reason"] else ""))


def _unlock_keys(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """`p3=KEY` pairs; the audit trail records the command's arguments, so the keys are
    removed from what it sees (see `command_context`) and live only in this process's memory
    and its workers'."""
    keys = []
    for value in values:
        label, sep, key = value.partition("=")
        if not sep or not label or not key:
            raise click.BadParameter(f"expected VOLUME=KEY (p3=KEY), got {value.split('=')[0]!r}"
                                     "=...", param_hint="--unlock")
        keys.append((label.strip(), key))
    return tuple(keys)


def register(cli: click.Group) -> None:
    cli.add_command(ingest_command)
