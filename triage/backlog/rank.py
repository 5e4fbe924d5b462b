"""Which device to open next, and how the backlog is performing.

Priority: tier 0 (a child at immediate risk) first, whatever else; then points from the rules in
config/backlog.toml (risk band, access to children, overdue ratio D/T, court date, bail/RUI,
known material already found). Every point is reported with its reason so a manager can defend
the order, and a lab can see what a change of weights does.

Performance framework: D/T = days waiting / target days for the band (HMICFRS timescales), RAG on
D/T, overdue counts per band, wait percentiles, forecast review hours against reviewer capacity,
and the trend from daily snapshots.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from triage import __version__
from triage.backlog.register import BANDS, STATUSES, WAITING_STATUSES
from triage.categories import SEVERE
from triage.store import Store

def overdue_ratio(days_waiting: int, target_days: float) -> float:
    """D/T: 1.0 means the device has waited exactly its band's target."""
    return days_waiting / float(target_days)


def rag_status(dt: float, config: Mapping[str, Any]) -> str:
    """green below amber_from; amber from amber_from up to and including red_above; red above."""
    rag = config.get("rag", {})
    if dt > float(rag.get("red_above", 1.0)):
        return "red"
    if dt >= float(rag.get("amber_from", 0.75)):
        return "amber"
    return "green"


def days_waiting(row: Mapping[str, Any], today: date) -> tuple[int, str]:
    """Days since seizure (or since registration when the register has no seizure date)."""
    if row.get("seized_on"):
        start, basis = date.fromisoformat(row["seized_on"]), "seized"
    else:
        start, basis = date.fromisoformat(str(row["created_at"])[:10]), "registered"
    return max(0, (today - start).days), basis


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def assess(row: Mapping[str, Any], today: date, config: Mapping[str, Any]) -> dict[str, Any]:
    """One waiting device's tier, points (by rule), D/T, RAG and the reasons, in words."""
    p = config.get("priority", {})
    targets = config.get("targets_days", {"VH": 1, "H": 7, "M": 14, "L": 30})
    points: dict[str, float] = {}
    reasons: list[str] = []
    tier = 0 if row.get("child_at_risk") else 1
    if tier == 0:
        reasons.append("tier 0: child at immediate risk (ranked above all others)")
    band = row.get("risk_band")
    scored_band = band or p.get("unassessed_band", "M")
    points["risk_band"] = float(p.get("band_points", {}).get(scored_band, 0))
    reasons.append(f"risk {band} +{points['risk_band']:g}" if band else
                   f"risk not assessed (scored as {scored_band}) +{points['risk_band']:g}")
    if row.get("access_to_children"):
        points["access_to_children"] = float(p.get("access_to_children_points", 0))
        reasons.append(f"access to children +{points['access_to_children']:g}")
    waited, basis = days_waiting(row, today)
    target = float(targets[scored_band])
    dt = overdue_ratio(waited, target)
    rag = rag_status(dt, config)
    points["overdue"] = round(float(p.get("overdue_points_per_unit", 0))
                              * min(dt, float(p.get("overdue_cap", 3.0))), 2)
    reasons.append(f"D/T {dt:.2f} ({_days(waited)} since {basis} / {target:g}-day target, {rag})"
                   f" +{points['overdue']:g}")
    court = row.get("next_court_date")
    if court:
        to_court = (date.fromisoformat(court) - today).days
        window = float(p.get("court_window_days", 28))
        share = 1.0 if to_court <= 0 else max(0.0, 1.0 - to_court / window)
        if share > 0:
            points["court_date"] = round(float(p.get("court_points", 0)) * share, 2)
            when = (f"in {_days(to_court)}" if to_court > 0 else "today" if to_court == 0
                    else f"passed {_days(-to_court)} ago: check register")
            reasons.append(f"court/charging date {court} {when} +{points['court_date']:g}")
    if row.get("bail_rui"):
        points["bail_rui"] = float(p.get("bail_rui_points", 0))
        reasons.append(f"suspect on bail / RUI +{points['bail_rui']:g}")
    counts = row.get("counts") or {}
    hits = int(counts.get("known_alert_total") or 0)
    if hits:
        points["known_hits"] = float(p.get("known_hit_points", 0))
        by_cat = counts.get("known_alert") or {}
        detail = ", ".join(f"{k} {v}" for k, v in by_cat.items())
        if any(by_cat.get(c) for c in SEVERE):
            points["known_hits"] += float(p.get("known_severe_points", 0))
        reasons.append(f"known alert material found: {hits} ({detail}) +{points['known_hits']:g}")
    return {"tier": tier, "score": round(sum(points.values()), 2), "points": points,
            "days_waiting": waited, "wait_basis": basis, "target_days": target,
            "dt": round(dt, 4), "rag": rag, "band": band, "scored_band": scored_band,
            "reasons": reasons}


def rank(view: Sequence[Mapping[str, Any]], today: date,
         config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Waiting devices in the order to open them: tier, then points, then D/T, then age."""
    ranked = []
    for row in view:
        if row["status"] not in WAITING_STATUSES:
            continue
        if row.get("seized_on") and row["seized_on"] > today.isoformat():
            continue  # not seized yet on that day (a report for a past date)
        a = assess(row, today, config)
        ranked.append({"label": row["label"], "case_reference": row["case_reference"],
                       "status": row["status"], "device_type": row.get("device_type"),
                       "seized_on": row.get("seized_on"),
                       "next_court_date": row.get("next_court_date"),
                       "forecast_hours": row.get("forecast_hours"),
                       "measured": row.get("measured"), "counts": row.get("counts")} | a)
    ranked.sort(key=lambda r: (r["tier"], -r["score"], -r["dt"], -r["days_waiting"], r["label"]))
    for i, r in enumerate(ranked, start=1):
        r["rank"] = i
    return ranked


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (NumPy's default, 'inclusive')."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return round(cuts[int(q) - 1], 2) if q < 100 else float(max(values))


def _weekly_cap(welfare: Mapping[str, Any]) -> tuple[float, str] | None:
    """The welfare policy's weekly hours cap, `[week] alert_hours` (the level at which team
    leads are alerted), when the workspace's welfare.toml sets one."""
    week = welfare.get("week")
    value = week.get("alert_hours") if isinstance(week, Mapping) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), "config/welfare.toml week.alert_hours"
    return None


def capacity(store: Store, config: Mapping[str, Any], welfare: Mapping[str, Any],
             reviewers: int | None = None) -> dict[str, Any]:
    """Reviewer hours per week: reviewers x the welfare policy's weekly cap."""
    cap = config.get("capacity", {})
    found = _weekly_cap(welfare)
    if found:
        weekly, weekly_source = found
    else:
        weekly = float(cap.get("weekly_hours_per_reviewer", 20))
        weekly_source = "config/backlog.toml capacity.weekly_hours_per_reviewer"
    if reviewers is not None:
        source = "--reviewers"
    else:
        accounts = store.active_reviewer_count()
        if accounts:
            reviewers, source = accounts, "active reviewer accounts"
        else:
            reviewers, source = int(cap.get("reviewers", 0)), "config/backlog.toml capacity.reviewers"
    return {"reviewers": reviewers, "reviewers_source": source,
            "weekly_hours_per_reviewer": weekly, "weekly_hours_source": weekly_source,
            "hours_per_week": reviewers * weekly}


def weeks_to_clear(forecast_hours: float, hours_per_week: float) -> float | None:
    """None when there is no capacity at all (the backlog never clears)."""
    if hours_per_week <= 0:
        return None
    return round(forecast_hours / hours_per_week, 2)


def framework(view: Sequence[Mapping[str, Any]], today: date, config: Mapping[str, Any],
              cap: Mapping[str, Any], snapshots: Sequence[Mapping[str, Any]] = ()
              ) -> dict[str, Any]:
    """The performance framework figures (the report, the web page and snapshots share them)."""
    ranked = rank(view, today, config)
    band_keys = [*BANDS, "unassessed"]
    by_band = {b: {"waiting": 0, "green": 0, "amber": 0, "red": 0, "overdue": 0,
                   "forecast_hours": 0.0} for b in band_keys}
    for r in ranked:
        b = by_band[r["band"] or "unassessed"]
        b["waiting"] += 1
        b[r["rag"]] += 1
        b["overdue"] += r["dt"] > 1.0
        b["forecast_hours"] = round(b["forecast_hours"] + (r["forecast_hours"] or 0), 2)
    if not by_band["unassessed"]["waiting"]:
        del by_band["unassessed"]
    waits = [r["days_waiting"] for r in ranked]
    measured = round(sum(r["forecast_hours"] or 0 for r in ranked if r["measured"]), 2)
    estimated = round(sum(r["forecast_hours"] or 0 for r in ranked if not r["measured"]), 2)
    total = round(measured + estimated, 2)
    by_status = {s: 0 for s in STATUSES}
    for row in view:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    rag_totals = {c: sum(b[c] for b in by_band.values()) for c in ("green", "amber", "red")}
    return {
        "today": today.isoformat(),
        "tool_version": __version__,
        "targets": dict(config.get("targets_days", {})),
        "devices": len(view),
        "waiting": len(ranked),
        "by_status": by_status,
        "by_band": by_band,
        "rag": rag_totals,
        "overdue": sum(b["overdue"] for b in by_band.values()),
        "tier0": sum(1 for r in ranked if r["tier"] == 0),
        "wait_days": {"median": percentile(waits, 50), "p90": percentile(waits, 90),
                      "max": max(waits) if waits else None},
        "forecast_hours": {"total": total, "measured": measured, "estimated": estimated},
        "capacity": dict(cap),
        "weeks_to_clear": weeks_to_clear(total, float(cap["hours_per_week"])),
        "ranked": ranked,
        "trend": [dict(s) for s in snapshots],
    }


def snapshot_figures(fw: Mapping[str, Any]) -> dict[str, Any]:
    """What the trend keeps per day: totals, not device lists."""
    return {"waiting": fw["waiting"], "overdue": fw["overdue"], "rag": fw["rag"],
            "tier0": fw["tier0"], "forecast_hours": fw["forecast_hours"]["total"],
            "weeks_to_clear": fw["weeks_to_clear"], "median_wait": fw["wait_days"]["median"],
            "p90_wait": fw["wait_days"]["p90"],
            "overdue_by_band": {b: v["overdue"] for b, v in fw["by_band"].items()}}


def build(store: Store, workspace_config: Any, today: date, *, reviewers: int | None = None,
          snapshot: bool = False) -> dict[str, Any]:
    """Everything from the store and config: the entry point for the CLI and the web page.

    `workspace_config` is `Workspace.config` (name -> dict).
    """
    from triage.backlog.register import register_view

    config = workspace_config("backlog")
    view = register_view(store, workspace_config("priority"), config)
    cap = capacity(store, config, workspace_config("welfare"), reviewers)
    fw = framework(view, today, config, cap)
    if snapshot:
        store.save_backlog_snapshot(today.isoformat(), snapshot_figures(fw))
    fw["trend"] = store.backlog_snapshots()
    return fw
