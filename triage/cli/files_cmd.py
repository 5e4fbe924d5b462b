"""`triage files` and `triage summary`: what ingest found on a device."""

from __future__ import annotations

import click

from triage.cli.base import command_context, emit, emit_object, json_option
from triage.pipeline import Pipeline
from triage.store.hashsets import known_category_of
from triage.store.ingest import FILE_FIELDS

TABLE_COLUMNS = ("path", "detected_type", "ext_mismatch", "size", "width", "height", "status",
                 "duplicate_count", "category", "sha256")


def _for_people(row: dict) -> dict:
    """The table's row: the category with the other lists' categories beside it ("A (also C)")."""
    known = known_category_of(row.get("matches") or [])
    return row | {"category": known.label if known else None}


@click.command("files")
@click.option("--device", required=True, help="Device label.")
@click.option("--status", "statuses", multiple=True, help="Only files with this status (repeatable).")
@json_option
@click.pass_context
def files_command(ctx: click.Context, device: str, statuses: tuple[str, ...],
                  as_json: bool) -> None:
    """One row per file of DEVICE (JSON lines with --json; fields in the README)."""
    with command_context(ctx, "files") as run:
        dev = run.store.device(device)
        rows = (r for r in run.store.iter_files(dev["id"]) if not statuses or r["status"] in statuses)
        if as_json:
            rows = ({k: r[k] for k in FILE_FIELDS} | {k: v for k, v in r.items()
                                                      if k not in FILE_FIELDS} for r in rows)
        else:
            rows = (_for_people(r) for r in rows)
        run.counts["rows"] = emit(rows, as_json, TABLE_COLUMNS, empty="(no files)")


@click.command("summary")
@click.option("--device", required=True, help="Device label.")
@json_option
@click.pass_context
def summary_command(ctx: click.Context, device: str, as_json: bool) -> None:
    """Counts by type and status, unique vs duplicate, for DEVICE."""
    with command_context(ctx, "summary") as run:
        dev = run.store.device(device)
        summary = {"device": dev["label"], "case": dev["case_reference"], "status": dev["status"]}
        summary |= run.store.device_summary(dev["id"])
        summary["review_workload"] = Pipeline(run.workspace, run.store).workload(dev["id"])
        emit_object(summary, as_json)


def register(cli: click.Group) -> None:
    cli.add_command(files_command)
    cli.add_command(summary_command)
