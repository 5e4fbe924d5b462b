"""Reviewer welfare: caps, breaks, alerts to team leads and the care schedule.

The review app calls `gate(store, user_id, now)` before it records revealed exposure or serves an
unblurred picture; a refusal is how the server enforces a break or the day lock (the page only
shows what the server decided). The same call evaluates the rules for that reviewer, so alerts
reach leads while the reviewer works, not at the next scheduled check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from triage.welfare.alerts import check
from triage.welfare.policy import Policy, policy_for_store
from triage.welfare.rules import Assessment, assess


@dataclass(frozen=True)
class Gate:
    allowed: bool
    reason: str
    break_due: bool


def gate(store: Any, user_id: int, now: datetime, policy: Policy | None = None) -> Gate:
    policy = policy or policy_for_store(store)
    check(store, policy, now, user_ids=[user_id], retry_undelivered=False)
    a = assess(store, policy, user_id, now)
    return gate_from(a, policy)


def gate_from(a: Assessment, policy: Policy) -> Gate:
    if a.locked:
        return Gate(False, f"review locked for today: {a.lock_reason}. It reopens tomorrow or"
                           " with a team lead's recorded override.", a.break_due)
    if a.break_due:
        left = int(round(a.break_remaining_seconds))
        text = (f"break due: {a.stretch_minutes:.0f} min of continuous revealed viewing;"
                f" take a {policy.break_minutes:g}-minute break ({left // 60} min {left % 60} s"
                " left)")
        return Gate(not policy.enforce_break, text, True)
    return Gate(True, "; ".join(a.warnings) or "ok", False)


def status(store: Any, user_id: int, now: datetime, policy: Policy | None = None) -> dict[str, Any]:
    """What the review page shows (polled as /welfare/status.json): the gate plus its figures."""
    policy = policy or policy_for_store(store)
    a = assess(store, policy, user_id, now)
    g = gate_from(a, policy)
    return {
        "allowed": g.allowed, "reason": g.reason, "break_due": g.break_due,
        "locked": a.locked, "lock_reason": a.lock_reason,
        "break_remaining_seconds": round(a.break_remaining_seconds),
        "break_minutes": policy.break_minutes,
        "continuous_minutes": round(a.stretch_minutes, 1),
        "continuous_cap_minutes": policy.continuous_minutes,
        "today_revealed_hours": round(a.today.revealed_hours, 2),
        "today_units": round(a.today.units, 1),
        "day_warn_hours": policy.day_warn_hours, "day_stop_hours": policy.day_stop_hours,
        "day_stop_units": policy.day_stop_units,
        "week_revealed_hours": round(a.week_hours, 2), "week_units": round(a.week_units, 1),
        "override_remaining_minutes": (None if a.override_remaining_minutes is None
                                       else round(a.override_remaining_minutes, 1)),
        "warnings": a.warnings, "day": a.day.isoformat(),
    }


__all__ = ["Gate", "gate", "status", "check"]
