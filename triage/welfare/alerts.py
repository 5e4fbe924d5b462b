"""Turning findings into alerts: raise once per (reviewer, rule, period), notify, acknowledge.

Alert life: open -> acknowledged (a lead's note says what was done) -> resolved. Care alerts
resolve themselves once a new date is recorded, because the condition they report is gone; the
others are history (a day over the cap stays over the cap) and a lead resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.welfare.notify import deliver
from triage.welfare.policy import Policy
from triage.welfare.rules import CARE_RULES, evaluate, utc

SYSTEM = "triage"


@dataclass
class CheckResult:
    raised: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    reviewers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"reviewers": self.reviewers, "raised": len(self.raised),
                "resolved": len(self.resolved),
                "delivered": sum(1 for d in self.deliveries if d["sent"]),
                "undelivered": sum(1 for d in self.deliveries if d["errors"] and not d["sent"])}


def raise_for(store: Any, policy: Policy, user: dict[str, Any], now: datetime,
              result: CheckResult) -> None:
    stamp = utc(now).isoformat(timespec="seconds")
    findings = evaluate(store, policy, user, now)
    raised = store.welfare_alert_keys(user["id"])
    for f in findings:
        if (f.rule, f.period) in raised:  # the gate runs this on every page: no write to skip
            continue
        alert_id = store.raise_welfare_alert(user["id"], f.rule, f.period, f.level, f.figures,
                                             stamp)
        if alert_id is not None:
            result.raised.append(store.welfare_alert(alert_id))
    holding = {(f.rule, f.period) for f in findings}
    care_rules = {rule for rule, _ in CARE_RULES.values()}
    for alert in store.welfare_alerts(user_id=user["id"], rule_prefix="care-"):
        if (alert["state"] != "resolved" and alert["rule"] in care_rules
                and (alert["rule"], alert["period"]) not in holding):
            store.resolve_welfare_alert(alert["id"], SYSTEM, "care date recorded", stamp)
            result.resolved.append(alert["id"])


def check(store: Any, policy: Policy, now: datetime, user_ids: list[int] | None = None,
          retry_undelivered: bool = True) -> CheckResult:
    """Evaluate every rule for every reviewer (or the given ones) at `now` and notify.

    `retry_undelivered` also resends alerts a channel failed to take earlier; the review page's
    gate passes False so one broken mail relay cannot slow every page by its timeout.
    """
    result = CheckResult()
    if user_ids is None:
        people = store.welfare_reviewers()
    else:  # the gate's case: just these people, without listing every reviewer first
        people = [p for uid in user_ids if (p := store.welfare_person_by_id(uid)) is not None]
    for person in people:
        raise_for(store, policy, person, now, result)
    result.reviewers = len(people)
    stamp = utc(now).isoformat(timespec="seconds")
    pending = (store.undelivered_welfare_alerts() if retry_undelivered
               else [store.welfare_alert(a["id"]) for a in result.raised])
    if pending:
        result.deliveries = deliver(store, policy, pending, stamp)
    return result


def acknowledge(store: Any, alert_id: int, lead: str, note: str, now: datetime) -> dict[str, Any]:
    store.acknowledge_welfare_alert(alert_id, lead, note, utc(now).isoformat(timespec="seconds"))
    return store.welfare_alert(alert_id)


def resolve(store: Any, alert_id: int, lead: str, note: str, now: datetime) -> dict[str, Any]:
    store.welfare_lead(lead)
    store.resolve_welfare_alert(alert_id, lead, note, utc(now).isoformat(timespec="seconds"))
    return store.welfare_alert(alert_id)
