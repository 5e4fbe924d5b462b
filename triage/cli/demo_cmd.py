"""`triage demo`: build the synthetic phone dump and run the whole pipeline on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from triage import __version__
from triage.demo.backlog import seed_register
from triage.cli.queue_cmd import classify_and_show_top
from triage.cli.users_cmd import ensure_demo_reviewer
from triage.demo.phone import build_phone_dump
from triage.demo.lists import import_demo_lists
from triage.demo.welfare import seed_demo_workspace
from triage.pipeline import Pipeline
from triage.workspace import init_workspace

DEMO_CASE = "DEMO-2026-001"
DEMO_DEVICE = "DEMO-PHONE-01"


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo"), show_default=True, help="Where to build it.")
@click.option("--fresh", is_flag=True, help="Delete an earlier demo in DIR first.")
def demo_command(directory: Path, fresh: bool) -> None:
    """Generate a benign synthetic phone dump and run the whole pipeline on it.

    Ingest, demo hash lists (hashes of some of the generated pictures) and matching, the
    classifier and the review queue, a demo reviewer, a simulated fortnight of review for the
    welfare dashboard, and a register of 40 devices for the backlog.
    """
    directory = directory.absolute()
    evidence = directory / "evidence" / "phone-01"
    if fresh and directory.exists():
        shutil.rmtree(directory)
    if not evidence.exists():
        click.echo(f"building synthetic phone dump in {evidence} ...")
        layout = build_phone_dump(evidence)
        click.echo(f"  {layout.files} files written")
    ws = init_workspace(directory / "workspace")
    store = ws.open_store()
    exe = _triage_executable()
    try:
        audit = store.audit_start("demo", {"directory": str(directory)}, __version__)
        pipeline = Pipeline(ws, store)
        report = pipeline.ingest(evidence, DEMO_CASE, DEMO_DEVICE)
        summary = store.device_summary(store.device(DEMO_DEVICE)["id"])
        click.echo(f"ingest {report.state}: {report.counts.files} files in {report.seconds:.1f}s")
        click.echo(f"  unique contents {summary['unique_contents']}, duplicate files"
                   f" {summary['duplicate_files']}, images {summary['image_files']}"
                   f" ({summary['unique_images']} unique), extension mismatches"
                   f" {summary['ext_mismatches']}")
        click.echo("  by status: " + ", ".join(f"{k} {v}"
                                              for k, v in summary["by_status"].items()))
        matched = import_demo_lists(pipeline, evidence, directory / "lists", DEMO_DEVICE)
        click.echo(f"hash lists: {matched.known_contents} known contents"
                   f" ({matched.known_good_contents} known-good), {matched.near} near candidates")
        queue_lines = classify_and_show_top(pipeline, DEMO_DEVICE)
        click.echo(ensure_demo_reviewer(store, DEMO_CASE))
        click.echo("\n".join(seed_demo_workspace(ws, store)))
        registered = seed_register(store, ws.config, DEMO_CASE, DEMO_DEVICE)
        click.echo(f"backlog: {registered} devices registered; see"
                   f" `triage -w {ws.root} backlog report --html backlog.html`")
        store.audit_finish(audit, "ok", report.as_dict())
    finally:
        store.close()
    click.echo("")
    click.echo(f"workspace: {ws.root}")
    click.echo("look at the results with:")
    click.echo(f"  {exe} -w {ws.root} summary --device {DEMO_DEVICE}")
    click.echo(f"  {exe} -w {ws.root} files --device {DEMO_DEVICE}")
    click.echo(f"  {exe} -w {ws.root} queue --device {DEMO_DEVICE}")
    click.echo(f"  {exe} -w {ws.root} serve")
    for line in queue_lines:  # last, so the top of the review queue is what the user sees
        click.echo(line)


def _triage_executable() -> str:
    """How the user can call triage again: `triage` if on PATH, else the venv's script."""
    import os
    import sys

    beside = Path(sys.executable).parent / "triage"
    if shutil.which("triage") == str(beside) or not beside.exists():
        return "triage"
    try:
        return os.path.relpath(beside)
    except ValueError:
        return str(beside)


def register(cli: click.Group) -> None:
    cli.add_command(demo_command)
