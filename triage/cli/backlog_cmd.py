"""`triage backlog [report|snapshot]`: which device next, and how the backlog performs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from triage.backlog import rank as backlog
from triage.cli.base import Run, command_context, emit, emit_object, json_option, say
from triage.backlog.register import today_from

today_option = click.option("--today", "today", hidden=True, envvar="TRIAGE_TODAY",
                            help="Pretend today is this date (tests, reproducible reports).")


def _build(run: Run, today: str | None, snapshot: bool,
           reviewers: int | None = None) -> dict[str, Any]:
    parent = click.get_current_context().parent
    if today is None and parent is not None:  # `triage backlog --today D report`
        today = parent.params.get("today")
    return backlog.build(run.store, run.workspace.config, today_from(today),
                         reviewers=reviewers, snapshot=snapshot)


@click.group("backlog", invoke_without_command=True)
@json_option
@today_option
@click.pass_context
def backlog_group(ctx: click.Context, as_json: bool, today: str | None) -> None:
    """Rank waiting devices (tier 0 first, then points), with the reasons for each position."""
    if ctx.invoked_subcommand is not None:
        return
    with command_context(ctx, "backlog") as run:
        fw = _build(run, today, snapshot=False)
        rows = fw["ranked"]
        run.counts["rows"] = len(rows)
        if as_json:
            emit(({k: v for k, v in r.items() if k != "counts"} for r in rows), True)
            return
        if not rows:
            say("(no device waiting)")
        for r in rows:  # a table cannot hold the reasons, and the reasons are the point
            say(f"{r['rank']:>3}. {r['label']}  case {r['case_reference']}  band"
                f" {r['band'] or '?'}  {r['status']}  {r['days_waiting']} days  D/T"
                f" {r['dt']:.2f} {r['rag']}  points {r['score']:g}  forecast"
                f" {r['forecast_hours']:g} h")
            for why in r["reasons"]:
                say(f"       - {why}")


@backlog_group.command("report")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the framework as a printable HTML page with charts.")
@click.option("--reviewers", type=click.IntRange(min=0),
              help="Reviewers available (default: active reviewer accounts, else config).")
@json_option
@today_option
@click.pass_context
def report_command(ctx: click.Context, html_file: Path | None, reviewers: int | None,
                   as_json: bool, today: str | None) -> None:
    """Performance framework: RAG by band, overdue, waits, hours vs capacity, trend.

    Each run also records today's snapshot for the trend.
    """
    from triage.reports.device import render_backlog_html

    as_json = as_json or bool(ctx.parent and ctx.parent.params.get("as_json"))
    with command_context(ctx, "backlog report") as run:
        fw = _build(run, today, snapshot=True, reviewers=reviewers)
        run.counts.update(waiting=fw["waiting"], overdue=fw["overdue"])
        if html_file is not None:
            html_file.write_text(render_backlog_html(fw), encoding="utf-8")
            run.counts["html"] = str(html_file)
        if as_json:
            emit_object(fw, True)
            return
        if html_file is not None:
            say(f"wrote {html_file}")
        summary = {k: fw[k] for k in ("today", "devices", "waiting", "overdue", "tier0", "rag",
                                      "wait_days", "forecast_hours", "capacity",
                                      "weeks_to_clear")}
        summary["by_band"] = {b: f"waiting {v['waiting']}, green {v['green']}, amber"
                                 f" {v['amber']}, red {v['red']}, {v['forecast_hours']} h"
                              for b, v in fw["by_band"].items()}
        summary["snapshots"] = len(fw["trend"])
        emit_object(summary, False)


@backlog_group.command("snapshot")
@today_option
@click.pass_context
def snapshot_command(ctx: click.Context, today: str | None) -> None:
    """Record today's backlog figures for the trend (run daily, e.g. from cron)."""
    with command_context(ctx, "backlog snapshot") as run:
        fw = _build(run, today, snapshot=True)
        run.counts.update(waiting=fw["waiting"], overdue=fw["overdue"])
        say(f"snapshot {fw['today']}: {fw['waiting']} waiting, {fw['overdue']} overdue,"
            f" {fw['forecast_hours']['total']} forecast hours")


def register(cli: click.Group) -> None:
    cli.add_command(backlog_group)
