"""Simulated review activity: a fortnight for three reviewers, so a new user opening the lead
dashboard sees real charts and alerts. The same helpers drive the welfare tests' simulated week.

Only exposure *records* are made (times, mode, category): no picture is involved.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from typing import Any

from triage.welfare.alerts import check
from triage.welfare.policy import Policy


def record_view(store: Any, user_id: int, start: datetime, seconds: float, severity: str = "C",
                mode: str = "revealed") -> datetime:
    """One finished interval; returns when it ended."""
    end = start + timedelta(seconds=seconds)
    store.welfare_record_exposure(user_id, mode, severity, start.isoformat(), end.isoformat())
    return end


def record_work(store: Any, user_id: int, start: datetime, total_seconds: float,
                severity: str | Any = "C", stretch_seconds: float = 45 * 60,
                pause_seconds: float = 11 * 60) -> datetime:
    """Revealed viewing in stretches with pauses long enough to count as breaks, until
    `total_seconds` are recorded. `severity` may be a callable giving one per stretch."""
    t, left = start, float(total_seconds)
    while left > 0:
        n = min(stretch_seconds, left)
        t = record_view(store, user_id, t, n, severity() if callable(severity) else severity)
        left -= n
        if left > 0:
            t += timedelta(seconds=pause_seconds)
    return t


# name -> (revealed hours on a working day, share of category A/B/C/uncategorised, care dates)
DEMO_REVIEWERS: dict[str, tuple[float, tuple[float, float, float, float], dict[str, str]]] = {
    # Steady, within every cap, care up to date relative to the demo day.
    "demo-reviewer-1": (2.5, (0.05, 0.15, 0.6, 0.2), {"counselling_on": "-20",
                                                      "assessment_on": "-200",
                                                      "welfare_check_on": "-60"}),
    # Long days on a heavy exhibit: crosses the day warning, weighted units and the pattern rule.
    "demo-reviewer-2": (4.3, (0.35, 0.3, 0.2, 0.15), {"counselling_on": "-45",
                                                      "assessment_on": "-300",
                                                      "welfare_check_on": "-100"}),
    # Moderate hours, but assessment long overdue and one late session after the cut-off.
    "demo-reviewer-3": (3.2, (0.1, 0.2, 0.5, 0.2), {"counselling_on": "-10",
                                                    "assessment_on": "-400",
                                                    "welfare_check_on": "-30"}),
}


def seed_fortnight(store: Any, policy: Policy, user_ids: dict[str, int], now: datetime,
                   seed: int = 6) -> dict[str, Any]:
    """Record 14 days of simulated review up to `now` (today only as far as the clock has got),
    set care dates, run the rules.

    Returns counts for the demo's printout.
    """
    rng = random.Random(seed)
    cats = ("A", "B", "C", "uncategorised")
    intervals = 0
    today = now.astimezone(policy.timezone).date()
    for name, (hours, mix, care) in DEMO_REVIEWERS.items():
        uid = user_ids[name]
        for back in range(13, -1, -1):
            day = today - timedelta(days=back)
            if day.isoweekday() not in policy.contract_days:
                continue
            daily = hours * rng.uniform(0.85, 1.1)
            start_local = datetime.combine(day, time(8, 30), policy.timezone)
            if name == "demo-reviewer-3" and back == 3:
                start_local = datetime.combine(day, time(13, 30), policy.timezone)
            start = start_local.astimezone(timezone.utc)
            if back == 0:  # today: only what fits before now (45 min viewing per 56 elapsed)
                daily = min(daily, max(0.0, (now - start).total_seconds() / 3600 * 45 / 56 - 0.1))
                if daily <= 0:
                    continue
            record_work(store, uid, start, daily * 3600,
                        severity=lambda: rng.choices(cats, weights=mix)[0])
            intervals += int(daily * 3600 // (45 * 60)) + 1
        store.set_care_schedule(uid, {k: (today + timedelta(days=int(v))).isoformat()
                                      for k, v in care.items()}, "demo",
                                now.isoformat(timespec="seconds"))
    result = check(store, policy, now)
    return {"reviewers": len(DEMO_REVIEWERS), "intervals": intervals,
            "alerts": len(result.raised)}


DEMO_LEAD = "demo-lead"


def seed_demo(store: Any, policy: Policy, password_hash: str, now: datetime) -> list[str]:
    """`triage demo`: a team lead and three reviewers with a simulated fortnight, once.

    All demo accounts share the demo password, so the lead dashboard and each reviewer's own
    page can be tried straight away. Returns lines for the demo's printout.
    """
    created = (now - timedelta(days=21)).isoformat(timespec="seconds")
    if store.user_by_name(DEMO_LEAD) is None:
        store.add_user(DEMO_LEAD, "lead", password_hash, created)
    ids = {}
    fresh = False
    for name in DEMO_REVIEWERS:
        user = store.user_by_name(name)
        if user is None:
            fresh = True
            ids[name] = store.add_user(name, "reviewer", password_hash, created)
        else:
            ids[name] = user["id"]
    if not fresh:
        return [f"welfare: demo reviewers already seeded; lead dashboard at /welfare/ as"
                f" {DEMO_LEAD}"]
    counts = seed_fortnight(store, policy, ids, now)
    return [f"welfare: {counts['reviewers']} reviewers with a simulated fortnight of review,"
            f" {counts['alerts']} alerts raised; sign in as {DEMO_LEAD} (same password) and open"
            " /welfare/, or run `triage welfare report --html welfare.html`"]


def seed_demo_workspace(workspace: Any, store: Any) -> list[str]:
    """What `triage demo` calls: the workspace's policy, the demo password, the current time."""
    from triage.demo.phone import DEMO_PASSWORD
    from triage.accounts import hash_password
    from triage.welfare.policy import load_policy

    return seed_demo(store, load_policy(workspace), hash_password(DEMO_PASSWORD),
                     datetime.now(timezone.utc))
