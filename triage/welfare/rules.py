"""Welfare rules: measured exposure -> figures per day and week -> findings and the review gate.

Everything takes `now` from the caller (the web app's injectable clock, the CLI's `--at`), so a
simulated week is tested without sleeping. Days, the cut-off and contracted hours are local to
the lab (`[clock] timezone`); the store keeps UTC. An interval counts on the day it started, and
only the part before `now` counts, so an interval still being extended is measured fairly.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from triage.store.review import is_direct
from triage.welfare.policy import Policy

RULE_LEVELS = {
    "day-hours-warn": "warning",
    "day-hours-stop": "lock",
    "day-units-warn": "warning",
    "day-units-stop": "lock",
    "week-hours-alert": "alert",
    "week-hours-escalate": "escalation",
    "week-units-alert": "alert",
    "week-units-escalate": "escalation",
    "after-cutoff": "warning",
    "outside-hours": "warning",
    "pattern-near-cap": "escalation",
    "care-counselling-overdue": "alert",
    "care-assessment-overdue": "alert",
    "care-welfare-check-overdue": "alert",
}

# care_schedule column -> (rule, policy attribute holding the interval in months)
CARE_RULES = {
    "counselling_on": ("care-counselling-overdue", "counselling_months"),
    "assessment_on": ("care-assessment-overdue", "assessment_months"),
    "welfare_check_on": ("care-welfare-check-overdue", "welfare_check_months"),
}


@dataclass(frozen=True)
class Finding:
    """A rule that holds for a reviewer in a period: what an alert is raised from."""

    rule: str
    period: str
    figures: dict[str, Any]

    @property
    def level(self) -> str:
        return RULE_LEVELS[self.rule]


@dataclass
class DayFigures:
    day: date
    revealed_seconds: float = 0.0
    blurred_seconds: float = 0.0
    units: float = 0.0
    after_cutoff_seconds: float = 0.0
    outside_hours_seconds: float = 0.0
    by_severity: dict[str, float] = field(default_factory=dict)

    @property
    def revealed_hours(self) -> float:
        return self.revealed_seconds / 3600


@dataclass(frozen=True)
class Contract:
    start: time
    end: time
    days: tuple[int, ...]

    def covers(self, local: datetime) -> bool:
        return local.isoweekday() in self.days and self.start <= local.time() < self.end


@dataclass
class Assessment:
    """Where a reviewer stands at `now`: what the gate and the status endpoint report."""

    now: datetime
    day: date
    today: DayFigures
    week_hours: float
    week_units: float
    stretch_minutes: float
    break_due: bool
    break_remaining_seconds: float
    locked: bool
    lock_reason: str
    override_remaining_minutes: float | None
    warnings: list[str]


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("welfare rules need an aware datetime (UTC)")
    return now.astimezone(timezone.utc)


def local_day(policy: Policy, moment: datetime) -> date:
    return moment.astimezone(policy.timezone).date()


def day_start_utc(policy: Policy, day: date) -> datetime:
    return datetime.combine(day, time(0), policy.timezone).astimezone(timezone.utc)


def iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def contract_for(store: Any, policy: Policy, user_id: int) -> Contract:
    care = store.care_schedule(user_id)
    days = policy.contract_days
    if care.get("contract_days"):
        days = tuple(int(x) for x in str(care["contract_days"]).split(","))
    return Contract(
        time.fromisoformat(care["contract_start"]) if care.get("contract_start")
        else policy.contract_start,
        time.fromisoformat(care["contract_end"]) if care.get("contract_end")
        else policy.contract_end,
        days)


def intervals(store: Any, user_id: int, since: datetime, now: datetime) -> list[dict[str, Any]]:
    """Exposure started in [since, now] with `counted` seconds: none after `now`."""
    out = []
    for row in store.welfare_exposure(user_id, since, now):
        end = min(row["end"], now)
        counted = max(0.0, min(float(row["seconds"]), (end - row["start"]).total_seconds()))
        out.append({**row, "end": end, "counted": counted})
    return out


def day_figures(rows: list[dict[str, Any]], policy: Policy,
                contract: Contract) -> dict[date, DayFigures]:
    days: dict[date, DayFigures] = {}
    for r in rows:
        local = r["start"].astimezone(policy.timezone)
        f = days.setdefault(local.date(), DayFigures(local.date()))
        secs = r["counted"]
        if is_direct(r["mode"]):
            f.revealed_seconds += secs
            f.units += secs / 60 * policy.weight(r["severity"])
            f.by_severity[r["severity"]] = f.by_severity.get(r["severity"], 0.0) + secs
            if local.time() >= policy.cutoff:
                f.after_cutoff_seconds += secs
            if not contract.covers(local):
                f.outside_hours_seconds += secs
        else:
            f.blurred_seconds += secs
            f.units += secs / 60 * policy.blurred_weight
    return days


def stretch(rows: list[dict[str, Any]], policy: Policy, now: datetime) -> tuple[float, float]:
    """(minutes of the current continuous revealed stretch, seconds since it last had viewing).

    A pause of at least `break_minutes` is a break taken; the stretch then restarts at zero.
    """
    gap = policy.break_minutes * 60
    start = end = None
    for r in rows:
        if not is_direct(r["mode"]):
            continue
        if end is None or (r["start"] - end).total_seconds() >= gap:
            start, end = r["start"], r["end"]
        else:
            end = max(end, r["end"])
    if start is None or end is None:
        return 0.0, float("inf")
    idle = (now - end).total_seconds()
    if idle >= gap:
        return 0.0, idle
    return (end - start).total_seconds() / 60, idle


def _r(x: float) -> float:
    return round(x, 2)


def evaluate(store: Any, policy: Policy, user: dict[str, Any], now: datetime) -> list[Finding]:
    """Every finding that holds for this reviewer at `now`, over the lookback window.

    Findings are facts, not events: evaluating twice gives the same list, and the alert table's
    uniqueness turns them into one alert each.
    """
    now = utc(now)
    today = local_day(policy, now)
    first = today - timedelta(days=policy.lookback_days + policy.pattern_days + 7)
    contract = contract_for(store, policy, user["id"])
    rows = intervals(store, user["id"], day_start_utc(policy, first), now)
    days = day_figures(rows, policy, contract)
    window_start = today - timedelta(days=policy.lookback_days)
    out: list[Finding] = []
    weeks: dict[str, list[DayFigures]] = defaultdict(list)
    for d, f in sorted(days.items()):
        weeks[iso_week(d)].append(f)
        if d < window_start:
            continue
        out += _day_findings(policy, f)
    for week, figs in weeks.items():
        if max(f.day for f in figs) >= window_start:
            out += _week_findings(policy, week, figs)
    out += _pattern_findings(policy, contract, days, first, today)
    out += care_findings(store, policy, user, today)
    return out


def _day_findings(policy: Policy, f: DayFigures) -> list[Finding]:
    period = f.day.isoformat()
    out = []
    hours = f.revealed_hours
    for rule, cap in (("day-hours-warn", policy.day_warn_hours),
                      ("day-hours-stop", policy.day_stop_hours)):
        if hours >= cap:
            out.append(Finding(rule, period, {"revealed_hours": _r(hours), "cap_hours": cap}))
    for rule, cap in (("day-units-warn", policy.day_warn_units),
                      ("day-units-stop", policy.day_stop_units)):
        if f.units >= cap:
            out.append(Finding(rule, period, {
                "weighted_units": _r(f.units), "cap_units": cap,
                "revealed_minutes_by_category": {k: _r(v / 60)
                                                 for k, v in sorted(f.by_severity.items())}}))
    if f.after_cutoff_seconds > 0:
        out.append(Finding("after-cutoff", period, {
            "minutes_after_cutoff": _r(f.after_cutoff_seconds / 60),
            "cutoff": policy.cutoff.strftime("%H:%M")}))
    if f.outside_hours_seconds > 0 and f.outside_hours_seconds >= policy.outside_min_minutes * 60:
        out.append(Finding("outside-hours", period, {
            "minutes_outside_contract": _r(f.outside_hours_seconds / 60)}))
    return out


def _week_findings(policy: Policy, week: str, figs: list[DayFigures]) -> list[Finding]:
    hours = sum(f.revealed_hours for f in figs)
    units = sum(f.units for f in figs)
    out = []
    for rule, cap in (("week-hours-alert", policy.week_alert_hours),
                      ("week-hours-escalate", policy.week_escalate_hours)):
        if hours >= cap:
            out.append(Finding(rule, week, {"revealed_hours": _r(hours), "cap_hours": cap}))
    for rule, cap in (("week-units-alert", policy.week_alert_units),
                      ("week-units-escalate", policy.week_escalate_units)):
        if units >= cap:
            out.append(Finding(rule, week, {"weighted_units": _r(units), "cap_units": cap}))
    return out


def _pattern_findings(policy: Policy, contract: Contract, days: dict[date, DayFigures],
                      first: date, today: date) -> list[Finding]:
    """Runs of consecutive working days at or above the fraction of the day cap. A day off
    (not contracted, nothing viewed) neither breaks nor extends a run."""
    threshold = policy.pattern_fraction * policy.pattern_cap
    out: list[Finding] = []
    run: list[tuple[date, float]] = []
    d = first
    while d <= today:
        f = days.get(d)
        working = d.isoweekday() in contract.days or (f is not None and f.revealed_seconds > 0)
        if working:
            value = 0.0 if f is None else (f.revealed_hours if policy.pattern_measure == "hours"
                                           else f.units)
            if value >= threshold:
                run.append((d, value))
                if len(run) == policy.pattern_days:
                    out.append(Finding("pattern-near-cap", run[0][0].isoformat(), {
                        "days": len(run), "measure": policy.pattern_measure,
                        "values": [_r(v) for _, v in run], "threshold": _r(threshold)}))
            elif d != today:  # today may still reach it
                run = []
        d += timedelta(days=1)
    return out


def care_findings(store: Any, policy: Policy, user: dict[str, Any], today: date) -> list[Finding]:
    care = store.care_schedule(user["id"])
    out = []
    for column, (rule, attr) in CARE_RULES.items():
        last = care.get(column)
        if last:
            due = add_months(date.fromisoformat(last), getattr(policy, attr))
            if today > due:
                out.append(Finding(rule, f"due {due.isoformat()}", {
                    "last": last, "due": due.isoformat(), "days_overdue": (today - due).days,
                    "interval_months": getattr(policy, attr)}))
        elif policy.missing_is_overdue:
            added = datetime.fromisoformat(user["created_at"].replace("Z", "+00:00"))
            added_day = added.date() if added.tzinfo is None else local_day(policy, added)
            if today > added_day:
                out.append(Finding(rule, "not recorded", {
                    "last": None, "due": added_day.isoformat(),
                    "days_overdue": (today - added_day).days,
                    "interval_months": getattr(policy, attr)}))
    return out


def assess(store: Any, policy: Policy, user_id: int, now: datetime) -> Assessment:
    now = utc(now)
    today = local_day(policy, now)
    monday = today - timedelta(days=today.weekday())
    contract = contract_for(store, policy, user_id)
    rows = intervals(store, user_id, day_start_utc(policy, monday - timedelta(days=1)), now)
    days = day_figures(rows, policy, contract)
    f = days.get(today, DayFigures(today))
    week = [x for d, x in days.items() if monday <= d <= today]
    minutes, idle = stretch(rows, policy, now)
    break_due = minutes >= policy.continuous_minutes
    remaining = max(0.0, policy.break_minutes * 60 - idle) if break_due else 0.0
    reasons = []
    if f.revealed_hours >= policy.day_stop_hours:
        reasons.append(f"{_r(f.revealed_hours)} h revealed today reaches the"
                       f" {policy.day_stop_hours:g} h day limit")
    if policy.lock_on_day_stop and f.units >= policy.day_stop_units:
        reasons.append(f"{_r(f.units)} weighted units today reach the"
                       f" {policy.day_stop_units:g} unit day limit")
    override_left = None
    if reasons:
        overrides = store.lock_overrides(user_id, today.isoformat())
        if overrides:
            last = overrides[-1]
            since = datetime.fromisoformat(last["created_at"].replace("Z", "+00:00"))
            used = sum(r["counted"] for r in rows
                       if is_direct(r["mode"]) and r["start"] >= since) / 60
            override_left = max(0.0, float(last["minutes"]) - used)
            if override_left > 0:
                reasons = []
            else:
                reasons.append(f"the {last['minutes']:g}-minute override by {last['lead']}"
                               " is used up")
    warnings = []
    if f.revealed_hours >= policy.day_warn_hours:
        warnings.append(f"{_r(f.revealed_hours)} h revealed today"
                        f" (warning at {policy.day_warn_hours:g} h)")
    if f.units >= policy.day_warn_units:
        warnings.append(f"{_r(f.units)} weighted units today"
                        f" (warning at {policy.day_warn_units:g})")
    return Assessment(
        now=now, day=today, today=f,
        week_hours=sum(x.revealed_hours for x in week), week_units=sum(x.units for x in week),
        stretch_minutes=minutes, break_due=break_due, break_remaining_seconds=remaining,
        locked=bool(reasons), lock_reason="; ".join(reasons),
        override_remaining_minutes=override_left, warnings=warnings)
