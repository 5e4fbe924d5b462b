"""`triage exposure`: what a reviewer was shown, per day or week."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from triage.cli.base import command_context, emit, json_option
from triage.cli.welfare_cmd import welfare_policy


def parse_since(text: str | None, now: datetime | None = None) -> str | None:
    """`2026-05-01`, an ISO date-time, or `7d` / `2w` back from now (UTC)."""
    if not text:
        return None
    m = re.fullmatch(r"(\d+)([dw])", text.strip())
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        start = (now or datetime.now(timezone.utc)) - timedelta(days=days)
        return start.isoformat(timespec="seconds")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter("use a date (2026-05-01), a date-time, or 7d / 2w") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds") if len(text) > 10 else parsed.date().isoformat()


@click.command("exposure")
@click.option("--reviewer", required=True, help="User name.")
@click.option("--since", default=None, help="From this date / date-time (UTC), or 7d, 2w.")
@click.option("--per", type=click.Choice(["day", "week"]), default="day", show_default=True,
              help="Totals per UTC day or per ISO week (starting Monday).")
@json_option
@click.pass_context
def exposure_command(ctx: click.Context, reviewer: str, since: str | None, per: str,
                     as_json: bool) -> None:
    """Revealed seconds, pictures revealed, blurred seconds and severity-weighted units.

    Units: each revealed minute counts its category's weight ([severity_weights] of
    config/welfare.toml); blurred minutes count its [units] `blurred_weight`.
    """
    with command_context(ctx, "exposure") as run:
        user = run.store.require_user(reviewer)
        # The welfare rules' own weights, so `triage exposure` units and alert thresholds agree.
        policy = welfare_policy(run)
        rows: list[dict[str, Any]] = [
            dict(r, reviewer=reviewer) for r in run.store.exposure_totals(
                user["id"], parse_since(since), per, policy.weights, policy.blurred_weight)]
        if not as_json:
            rows = [dict(r, revealed_by_severity=", ".join(
                f"{k} {v:g}s" for k, v in r["revealed_by_severity"].items())) for r in rows]
        run.counts["rows"] = emit(
            rows, as_json, ("period", "revealed_seconds", "items_revealed", "blurred_seconds",
                            "weighted_units", "revealed_by_severity"),
            empty=f"(no exposure recorded for {reviewer})")


def register(cli: click.Group) -> None:
    cli.add_command(exposure_command)
