"""`triage devices add|update|list|import`: the device register."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from triage.cli.base import command_context, emit, json_option, say
from triage.backlog.register import (
    BANDS,
    STATUSES,
    RegisterError,
    clean_fields,
    import_csv,
    register_view,
)

LIST_COLUMNS = ("label", "case_reference", "device_type", "risk_band", "status", "seized_on",
                "next_court_date", "flags", "files", "unique_images", "known_alert",
                "known_good", "unseen", "forecast_hours")


def _register_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--type", "device_type", help="Device type (phone, laptop, drive, ...)."),
        click.option("--seized", "seized_on", help="Date seized (YYYY-MM-DD or DD/MM/YYYY)."),
        click.option("--risk", "risk_band", type=click.Choice(BANDS, case_sensitive=False),
                     help="Suspect risk band (e.g. from KIRAT)."),
        click.option("--access-to-children/--no-access-to-children", default=None,
                     help="Suspect has access to children."),
        click.option("--child-at-risk/--no-child-at-risk", default=None,
                     help="A child is at immediate risk (tier 0: ranked above everything)."),
        click.option("--court-date", "next_court_date",
                     help="Next court or charging date ('none' clears it)."),
        click.option("--bail-rui/--no-bail-rui", default=None,
                     help="Suspect on bail or released under investigation."),
        click.option("--status", "register_status", type=click.Choice(STATUSES),
                     help="Register status."),
        click.option("--notes", help="Free text."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _fields(raw: dict[str, Any]) -> dict[str, Any]:
    clear_court = str(raw.get("next_court_date") or "").lower() == "none"
    if clear_court:
        raw = raw | {"next_court_date": None}
    fields, errors = clean_fields(raw)
    if errors:
        raise click.UsageError("; ".join(errors))
    if clear_court:
        fields["next_court_date"] = None
    return fields


@click.group("devices")
def devices_group() -> None:
    """The device register: risk, dates and flags of each exhibit, with its counts."""


@devices_group.command("add")
@click.argument("label")
@click.option("--case", "case", required=True, help="Case reference (created if new).")
@_register_options
@click.pass_context
def add_command(ctx: click.Context, label: str, case: str, **raw: Any) -> None:
    """Register device LABEL (use `update` to change a registered one)."""
    fields = _fields(raw)
    with command_context(ctx, "devices add") as run:
        known = {r["label"]: r for r in run.store.register_rows()}
        if label in known and known[label]["registered"]:
            raise click.ClickException(f"device {label!r} is already registered;"
                                       f" change it with `triage devices update {label}`")
        run.store.save_register_entries([(case, label, fields)])
        run.counts["device"] = label
        say(f"registered {label} (case {case})")


@devices_group.command("update")
@click.argument("label")
@_register_options
@click.pass_context
def update_command(ctx: click.Context, label: str, **raw: Any) -> None:
    """Change register fields of device LABEL (only the options given)."""
    fields = _fields(raw)
    if not fields:
        raise click.UsageError("nothing to update: give at least one option")
    with command_context(ctx, "devices update") as run:
        dev = run.store.device(label)
        run.store.save_register_entries([(dev["case_reference"], label, fields)])
        run.counts["changed"] = sorted(fields)
        say(f"updated {label}: " + ", ".join(f"{k}={v}" for k, v in fields.items()))


@devices_group.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only devices with this status (repeatable).")
@json_option
@click.pass_context
def list_command(ctx: click.Context, statuses: tuple[str, ...], as_json: bool) -> None:
    """Every device with its register entry, counts after ingest and review-hours forecast."""
    with command_context(ctx, "devices list") as run:
        ws = run.workspace
        rows = [r for r in register_view(run.store, ws.config("priority"), ws.config("backlog"))
                if not statuses or r["status"] in statuses]
        if not as_json:
            for r in rows:
                c = r["counts"]
                r["flags"] = " ".join(name for name, on in (
                    ("CHILD-AT-RISK", r["child_at_risk"]), ("access", r["access_to_children"]),
                    ("bail/RUI", r["bail_rui"])) if on)
                r["files"], r["unique_images"] = c["files"], c["unique_images"]
                r["known_alert"] = " ".join(f"{k}:{v}" for k, v in c["known_alert"].items())
                r["known_good"], r["unseen"] = c["known_good"], c["unseen"]
        run.counts["rows"] = emit(rows, as_json, LIST_COLUMNS, empty="(no devices)")


@devices_group.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, csv_file: Path) -> None:
    """Import a register from CSV: all rows or none (every bad row is listed)."""
    with command_context(ctx, "devices import") as run:
        try:
            result = import_csv(run.store, csv_file)
        except RegisterError as exc:
            raise click.ClickException(f"{csv_file}:\n  " + "\n  ".join(exc.errors)) from exc
        run.counts.update(rows=result.rows, created=result.created, updated=result.updated)
        say(f"imported {result.rows} rows: {result.created} new, {result.updated} updated")


def register(cli: click.Group) -> None:
    cli.add_command(devices_group)
