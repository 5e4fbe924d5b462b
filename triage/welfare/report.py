"""The welfare report: per reviewer, exposure today / this week / last 4 weeks with the caps
drawn, open alerts and care dates. One builder serves `triage welfare report` (JSON, HTML file)
and the lead dashboard, so the page and the offline report never disagree.

Charts: bars stacked by category (colour plus a legend and value labels) with the policy caps as
labelled dashed lines, drawn by the shared triage/reports/charts.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from triage.reports.charts import stacked_bars
from triage.welfare.policy import Policy
from triage.welfare.rules import (
    CARE_RULES, DayFigures, add_months, assess, contract_for, day_figures, day_start_utc,
    intervals, iso_week, local_day, utc,
)

# Category groups drawn on the charts; anything else (VIC labels, not indecent) is "other".
GROUPS = (("A", "#8e1b1b"), ("B", "#d9822b"), ("C", "#1f5fa8"), ("uncategorised", "#555555"),
          ("other", "#8fa3b8"))
CARE_NAMES = {"counselling_on": "counselling", "assessment_on": "assessment",
              "welfare_check_on": "welfare check"}


def _group(severity: str) -> str:
    return severity if severity in ("A", "B", "C", "uncategorised") else "other"


def _summ(figs: Sequence[DayFigures]) -> dict[str, Any]:
    by: dict[str, float] = {g: 0.0 for g, _ in GROUPS}
    for f in figs:
        for sev, secs in f.by_severity.items():
            by[_group(sev)] += secs / 3600
    return {"revealed_hours": round(sum(f.revealed_hours for f in figs), 2),
            "units": round(sum(f.units for f in figs), 1),
            "hours_by_category": {k: round(v, 3) for k, v in by.items()}}


def care_status(store: Any, policy: Policy, person: dict[str, Any], now: datetime) -> dict[str, Any]:
    today = local_day(policy, utc(now))
    care = store.care_schedule(person["id"])
    out: dict[str, Any] = {"reviewer": person["name"]}
    for column, (_, attr) in CARE_RULES.items():
        last = care.get(column)
        due = add_months(date.fromisoformat(last), getattr(policy, attr)) if last else None
        overdue = (today > due) if due else policy.missing_is_overdue
        out[CARE_NAMES[column]] = {"last": last, "due": due.isoformat() if due else None,
                                   "overdue": overdue,
                                   "every_months": getattr(policy, attr)}
    contract = contract_for(store, policy, person["id"])
    out["contract"] = {"start": contract.start.strftime("%H:%M"),
                       "end": contract.end.strftime("%H:%M"),
                       "days": ",".join(str(d) for d in contract.days)}
    return out


def reviewer_report(store: Any, policy: Policy, person: dict[str, Any],
                    now: datetime) -> dict[str, Any]:
    now = utc(now)
    today = local_day(policy, now)
    monday = today - timedelta(days=today.weekday())
    first_monday = monday - timedelta(weeks=3)
    rows = intervals(store, person["id"], day_start_utc(policy, first_monday), now)
    days = day_figures(rows, policy, contract_for(store, policy, person["id"]))
    week_days = [monday + timedelta(days=i) for i in range(7)]
    weeks = []
    for i in range(4):
        start = first_monday + timedelta(weeks=i)
        figs = [f for d, f in days.items() if start <= d < start + timedelta(days=7)]
        weeks.append({"week": iso_week(start), "monday": start.isoformat(), **_summ(figs)})
    a = assess(store, policy, person["id"], now)
    care = care_status(store, policy, person, now)
    return {
        "name": person["name"], "user_id": person["id"], "role": person["role"],
        "today": {"day": today.isoformat(), **_summ([days[today]] if today in days else [])},
        "week": {"week": iso_week(today), **_summ([f for d, f in days.items() if d >= monday]),
                 "days": [{"day": d.isoformat(), **_summ([days[d]] if d in days else [])}
                          for d in week_days]},
        "last_4_weeks": weeks,
        "status": {"locked": a.locked, "lock_reason": a.lock_reason, "break_due": a.break_due,
                   "continuous_minutes": round(a.stretch_minutes, 1)},
        "open_alerts": [{k: al[k] for k in ("id", "rule", "level", "period", "figures",
                                            "raised_at", "state")}
                        for al in store.welfare_alerts(user_id=person["id"])
                        if al["state"] != "resolved"],
        "care": {k: v for k, v in care.items() if k not in ("reviewer", "contract")},
        "contract": care["contract"],
    }


def build_report(store: Any, policy: Policy, now: datetime,
                 reviewer: str | None = None) -> dict[str, Any]:
    people = ([store.welfare_person(reviewer)] if reviewer else store.welfare_reviewers())
    return {
        "generated_at": utc(now).isoformat(timespec="seconds"),
        "caps": {"day_warn_hours": policy.day_warn_hours, "day_stop_hours": policy.day_stop_hours,
                 "week_alert_hours": policy.week_alert_hours,
                 "week_escalate_hours": policy.week_escalate_hours,
                 "day_stop_units": policy.day_stop_units,
                 "week_escalate_units": policy.week_escalate_units},
        "reviewers": [reviewer_report(store, policy, p, now) for p in people],
    }


# -- SVG ---------------------------------------------------------------------------------------
def capped_bars(labels: Sequence[str], stacks: Sequence[dict[str, float]],
                caps: Sequence[tuple[str, float, str]], title: str, unit: str = "h",
                width: int = 420, height: int = 230) -> str:
    """Hours stacked by category group, with the policy's caps drawn across (triage.charts)."""
    series = [(name, colour, [round(st.get(name, 0.0), 2) for st in stacks])
              for name, colour in GROUPS]
    return stacked_bars(labels, series, title, width=width, height=height, caps=caps, unit=unit)


def reviewer_charts(r: dict[str, Any], policy: Policy) -> dict[str, str]:
    day_caps = [("warn", policy.day_warn_hours, "#b26a00"),
                ("stop", policy.day_stop_hours, "#c62828")]
    week_caps = [("alert", policy.week_alert_hours, "#b26a00"),
                 ("escalate", policy.week_escalate_hours, "#c62828")]
    return {
        "today": capped_bars([r["today"]["day"]], [r["today"]["hours_by_category"]], day_caps,
                             "Today, revealed hours", width=330),
        "week": capped_bars([date.fromisoformat(d["day"]).strftime("%a %d")
                             for d in r["week"]["days"]],
                            [d["hours_by_category"] for d in r["week"]["days"]], day_caps,
                            f"This week ({r['week']['week']}), revealed hours a day"),
        "weeks": capped_bars([w["week"] for w in r["last_4_weeks"]],
                             [w["hours_by_category"] for w in r["last_4_weeks"]], week_caps,
                             "Last 4 weeks, revealed hours a week"),
    }


def reviewer_section(r: dict[str, Any], policy: Policy, ack_form: Any = None) -> str:
    """One reviewer's block of the report and dashboard (HTML fragment).

    `ack_form(alert) -> str` lets the web dashboard add its acknowledgement form to each alert.
    """
    charts = reviewer_charts(r, policy)
    st = r["status"]
    state = ("locked for today" if st["locked"] else "break due" if st["break_due"]
             else "reviewing allowed")
    out = [f'<section class="welfare-reviewer" id="reviewer-{r["user_id"]}">',
           f'<h2>{escape(r["name"])} <small>({escape(r["role"])}; {escape(state)})</small></h2>',
           f'<p>Today {r["today"]["revealed_hours"]:.2f} h revealed, {r["today"]["units"]:.0f}'
           f' weighted units. Week {escape(r["week"]["week"])}:'
           f' {r["week"]["revealed_hours"]:.2f} h, {r["week"]["units"]:.0f} units.'
           f' Contracted {escape(r["contract"]["start"])}–{escape(r["contract"]["end"])}.</p>',
           '<div class="welfare-charts">', charts["today"], charts["week"], charts["weeks"],
           "</div>", "<h3>Open alerts</h3>"]
    if r["open_alerts"]:
        out.append('<table class="welfare-alerts"><tr><th>#</th><th>rule</th><th>level</th>'
                   "<th>period</th><th>figures</th><th>raised</th><th>state</th><th></th></tr>")
        for a in r["open_alerts"]:
            figures = ", ".join(f"{escape(str(k))} {escape(str(v))}"
                                for k, v in a["figures"].items() if not isinstance(v, dict))
            out.append(f'<tr class="alert-{escape(a["level"])}"><td>{a["id"]}</td>'
                       f'<td>{escape(a["rule"])}</td><td>{escape(a["level"])}</td>'
                       f'<td>{escape(a["period"])}</td><td>{figures}</td>'
                       f'<td>{escape(a["raised_at"])}</td><td>{escape(a["state"])}</td>'
                       f'<td>{ack_form(a) if ack_form and a["state"] == "open" else ""}</td></tr>')
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append('<h3>Care dates</h3><table class="welfare-care"><tr><th>kind</th><th>last</th>'
               "<th>due</th><th></th></tr>")
    for kind, c in r["care"].items():
        out.append(f"<tr><td>{escape(kind)} (every {c['every_months']} months)</td>"
                   f"<td>{escape(c['last'] or 'not recorded')}</td>"
                   f"<td>{escape(c['due'] or '-')}</td>"
                   f"<td>{'<strong>overdue</strong>' if c['overdue'] else ''}</td></tr>")
    out.append("</table></section>")
    return "".join(out)


STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:1.5em;color:#222}
.welfare-reviewer{border-top:2px solid #ccc;margin-top:1.5em}
.welfare-charts{display:flex;flex-wrap:wrap;gap:1em}
table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 6px}
tr.alert-lock td,tr.alert-escalation td{background:#fbe9e9}small{font-weight:normal;color:#555}
@page{size:A4 portrait;margin:14mm 12mm 16mm;
@bottom-left{content:"Reviewer welfare report";font-size:8pt;color:#444}
@bottom-right{content:"page " counter(page) " of " counter(pages);font-size:8pt;color:#444}}
@media print{body{margin:0}svg,tr{break-inside:avoid}}
"""


def render_html(report: dict[str, Any], policy: Policy) -> str:
    """A self-contained page (inline CSS and SVG, no script, no external asset)."""
    body = "".join(reviewer_section(r, policy) for r in report["reviewers"])
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Reviewer welfare report</title>"
            f"<style>{STYLE}</style></head><body><h1>Reviewer welfare report</h1>"
            f"<p>Generated {escape(report['generated_at'])}. Caps: day warn"
            f" {policy.day_warn_hours:g} h, stop {policy.day_stop_hours:g} h; week alert"
            f" {policy.week_alert_hours:g} h, escalate {policy.week_escalate_hours:g} h.</p>"
            f"{body or '<p>No reviewers yet.</p>'}</body></html>")
