"""`triage welfare ...`: evaluate the rules, list and acknowledge alerts, care dates, report."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import click

from triage.cli.base import command_context, emit, emit_object, json_option, say

ALERT_COLUMNS = ("id", "reviewer", "rule", "level", "period", "figures", "raised_at", "state",
                 "ack_by", "ack_note")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _at(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


at_option = click.option("--at", "at", metavar="ISO-TIME", default=None,
                         help="Evaluate as at this time (UTC if no offset; default now).")


def welfare_policy(run: Any) -> Any:
    """The workspace's welfare policy; a broken welfare.toml is a clear error, not a traceback."""
    from triage.welfare.policy import PolicyError, load_policy

    try:
        return load_policy(run.workspace)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc


def _alert_row(a: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "reviewer", "rule", "level", "period", "figures", "raised_at", "state",
            "ack_by", "ack_note", "ack_at", "resolved_by", "resolved_note", "resolved_at",
            "notified_at", "notify_error")
    return {k: a.get(k) for k in keep}


def _figures_text(figures: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in figures.items() if not isinstance(v, (dict, list)))


@click.group("welfare")
def welfare_group() -> None:
    """Reviewer welfare: exposure caps, breaks, alerts to team leads, care schedule."""


@welfare_group.command("check")
@at_option
@json_option
@click.pass_context
def check_command(ctx: click.Context, at: str | None, as_json: bool) -> None:
    """Evaluate every rule for every reviewer now, raise new alerts and send them."""
    from triage.welfare.alerts import check

    with command_context(ctx, "welfare check") as run:
        result = check(run.store, welfare_policy(run), _at(at))
        run.counts.update(result.as_dict())
        obj = {**result.as_dict(), "new_alerts": [_alert_row(a) for a in result.raised]}
        if as_json:
            emit_object(obj, True)
            return
        say(f"{result.reviewers} reviewers checked: {len(result.raised)} new alerts,"
            f" {len(result.resolved)} resolved")
        for a in result.raised:
            say(f"  #{a['id']} {a['reviewer']} {a['rule']} ({a['period']}):"
                f" {_figures_text(a['figures'])}")
        for d in result.deliveries:
            for err in d["errors"]:
                say(f"  alert {d['alert_id']} not delivered: {err}", err=True)


@welfare_group.command("alerts")
@click.option("--state", type=click.Choice(["open", "acknowledged", "resolved", "all"]),
              default="all", show_default=True)
@click.option("--reviewer", default=None, help="Only this reviewer's alerts.")
@json_option
@click.pass_context
def alerts_command(ctx: click.Context, state: str, reviewer: str | None, as_json: bool) -> None:
    """List welfare alerts (JSON lines with --json)."""
    with command_context(ctx, "welfare alerts") as run:
        uid = run.store.welfare_person(reviewer)["id"] if reviewer else None
        rows = [_alert_row(a) for a in run.store.welfare_alerts(
            None if state == "all" else state, uid)]
        if not as_json:
            for r in rows:
                r["figures"] = _figures_text(r["figures"])
        run.counts["alerts"] = emit(rows, as_json, ALERT_COLUMNS, empty="(no alerts)")


@welfare_group.command("ack")
@click.argument("alert_id", type=int)
@click.option("--lead", required=True, help="The team lead acknowledging (a user with role lead).")
@click.option("--note", required=True, help="What the lead did or arranged.")
@at_option
@json_option
@click.pass_context
def ack_command(ctx: click.Context, alert_id: int, lead: str, note: str, at: str | None,
                as_json: bool) -> None:
    """Acknowledge an open alert with the lead's note."""
    from triage.welfare.alerts import acknowledge

    with command_context(ctx, "welfare ack") as run:
        alert = acknowledge(run.store, alert_id, lead, note, _at(at))
        emit_object(_alert_row(alert), as_json)


@welfare_group.command("resolve")
@click.argument("alert_id", type=int)
@click.option("--lead", required=True)
@click.option("--note", required=True)
@at_option
@json_option
@click.pass_context
def resolve_command(ctx: click.Context, alert_id: int, lead: str, note: str, at: str | None,
                    as_json: bool) -> None:
    """Close an alert once the matter is dealt with."""
    from triage.welfare.alerts import resolve

    with command_context(ctx, "welfare resolve") as run:
        emit_object(_alert_row(resolve(run.store, alert_id, lead, note, _at(at))), as_json)


def _date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def _days(value: str) -> str:
    """'mon-fri', 'mon,wed,fri' or '1-5' -> '1,2,3,4,5'."""
    def one(token: str) -> int:
        token = token.strip().lower()[:3]
        if token.isdigit() and 1 <= int(token) <= 7:
            return int(token)
        if token in WEEKDAYS:
            return WEEKDAYS.index(token) + 1
        raise click.BadParameter(f"{token!r} is not a weekday (mon..sun or 1..7)")

    out: list[int] = []
    for part in value.split(","):
        if "-" in part:
            a, b = (one(x) for x in part.split("-", 1))
            out += list(range(a, b + 1))
        else:
            out.append(one(part))
    return ",".join(str(d) for d in sorted(set(out)))


@welfare_group.command("care")
@click.option("--reviewer", required=True)
@click.option("--counselling", default=None, metavar="DATE", help="Last counselling session.")
@click.option("--assessment", default=None, metavar="DATE",
              help="Last psychological assessment.")
@click.option("--welfare-check", "welfare_check", default=None, metavar="DATE",
              help="Last welfare check.")
@click.option("--hours", default=None, metavar="HH:MM-HH:MM", help="Contracted hours.")
@click.option("--days", default=None, metavar="mon-fri", help="Contracted weekdays.")
@click.option("--by", default=None, help="Who records it (default: the OS user).")
@at_option
@json_option
@click.pass_context
def care_command(ctx: click.Context, reviewer: str, counselling: str | None,
                 assessment: str | None, welfare_check: str | None, hours: str | None,
                 days: str | None, by: str | None, at: str | None, as_json: bool) -> None:
    """Record a reviewer's care dates and contracted hours; show them with when each is due."""
    from triage.store.core import os_user
    from triage.welfare.report import care_status

    values: dict[str, str | None] = {}
    for key, value in (("counselling_on", counselling), ("assessment_on", assessment),
                       ("welfare_check_on", welfare_check)):
        if value is not None:
            values[key] = _date(value)
    if hours is not None:
        try:
            start, end = (datetime.strptime(x.strip(), "%H:%M").strftime("%H:%M")
                          for x in hours.split("-", 1))
        except ValueError as exc:
            raise click.BadParameter(f"{hours!r} is not HH:MM-HH:MM") from exc
        if start >= end:
            raise click.BadParameter("contracted hours must end after they start")
        values["contract_start"], values["contract_end"] = start, end
    if days is not None:
        values["contract_days"] = _days(days)
    with command_context(ctx, "welfare care") as run:
        person = run.store.welfare_person(reviewer)
        now = _at(at)
        if values:
            run.store.set_care_schedule(person["id"], values, by or os_user(),
                                        now.isoformat(timespec="seconds"))
            from triage.welfare.alerts import check

            check(run.store, welfare_policy(run), now, user_ids=[person["id"]])
        emit_object(care_status(run.store, welfare_policy(run), person, now), as_json)


@welfare_group.command("override")
@click.option("--reviewer", required=True)
@click.option("--lead", required=True, help="The team lead allowing it (role lead).")
@click.option("--reason", required=True)
@click.option("--minutes", type=float, default=None,
              help="Further revealed minutes allowed today (default: policy override_minutes).")
@at_option
@json_option
@click.pass_context
def override_command(ctx: click.Context, reviewer: str, lead: str, reason: str,
                     minutes: float | None, at: str | None, as_json: bool) -> None:
    """Lift today's day lock for a reviewer, for a limited number of minutes, on record."""
    from triage.welfare.rules import local_day

    with command_context(ctx, "welfare override") as run:
        policy = welfare_policy(run)
        now = _at(at)
        person = run.store.welfare_person(reviewer)
        minutes = policy.override_minutes if minutes is None else minutes
        if minutes <= 0:
            raise click.BadParameter("--minutes must be positive")
        oid = run.store.add_lock_override(person["id"], local_day(policy, now).isoformat(),
                                          minutes, lead, reason,
                                          now.isoformat(timespec="seconds"))
        emit_object({"override": oid, "reviewer": reviewer, "lead": lead, "minutes": minutes,
                     "day": local_day(policy, now).isoformat()}, as_json)


@welfare_group.command("status")
@click.option("--reviewer", required=True)
@at_option
@json_option
@click.pass_context
def status_command(ctx: click.Context, reviewer: str, at: str | None, as_json: bool) -> None:
    """What the review page would allow this reviewer now (break due, day lock, figures)."""
    from triage.welfare import status

    with command_context(ctx, "welfare status") as run:
        person = run.store.welfare_person(reviewer)
        emit_object(status(run.store, person["id"], _at(at), welfare_policy(run)), as_json)


@welfare_group.command("report")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write a self-contained HTML page with SVG charts.")
@click.option("--reviewer", default=None, help="Only this reviewer.")
@at_option
@json_option
@click.pass_context
def report_command(ctx: click.Context, html_path: Path | None, reviewer: str | None,
                   at: str | None, as_json: bool) -> None:
    """Per reviewer: exposure today, this week and the last 4 weeks, open alerts, care dates."""
    from triage.welfare.report import build_report, render_html

    with command_context(ctx, "welfare report") as run:
        policy = welfare_policy(run)
        now = _at(at)
        report = build_report(run.store, policy, now, reviewer=reviewer)
        if html_path is not None:
            html_path.write_text(render_html(report, policy), encoding="utf-8")
            run.counts["html"] = str(html_path)
        run.counts["reviewers"] = len(report["reviewers"])
        if as_json:
            emit_object(report, True)
            return
        for r in report["reviewers"]:
            t, w = r["today"], r["week"]
            say(f"{r['name']}: today {t['revealed_hours']:.2f} h ({t['units']:.0f} units),"
                f" week {w['revealed_hours']:.2f} h ({w['units']:.0f} units),"
                f" open alerts {len(r['open_alerts'])}")
            for kind, c in r["care"].items():
                say(f"  {kind}: last {c['last'] or '-'}, due {c['due'] or '-'}"
                    f"{' OVERDUE' if c['overdue'] else ''}")
        if html_path is not None:
            say(f"wrote {html_path}")


def register(cli: click.Group) -> None:
    cli.add_command(welfare_group)
