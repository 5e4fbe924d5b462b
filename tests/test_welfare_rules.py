"""Welfare rules through a simulated week on an injectable clock: each rule fires exactly at its
threshold and not before, severity weights apply, the gate enforces breaks and the day lock,
acknowledgements are recorded and overdue care dates raise alerts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from triage.store import StoreError
from triage.welfare import check, gate, status
from triage.demo.welfare import record_view, record_work
from triage.welfare.policy import PolicyError, load_policy, parse_policy

MONDAY = datetime(2026, 1, 12, tzinfo=timezone.utc)  # January: Europe/London local time is UTC
H = 3600


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hh, minutes=mm, seconds=ss)


@pytest.fixture
def store(workspace):
    s = workspace.open_store()
    yield s
    s.close()


@pytest.fixture
def policy(workspace):
    return load_policy(workspace)


@pytest.fixture
def alice(store):
    return store.add_user("alice", "reviewer", "x", "2026-01-05T08:00:00+00:00")


@pytest.fixture
def lead(store):
    store.add_user("lee", "lead", "x", "2026-01-05T08:00:00+00:00")
    return "lee"


def fired(store, policy, now, rule_prefix):
    """Alerts of these rules raised by a check at `now` (exposure-based rules only)."""
    check(store, policy, now)
    return [a for a in store.welfare_alerts() if a["rule"].startswith(rule_prefix)]


def test_break_due_after_exactly_50_continuous_minutes(store, alice, policy):
    end = record_view(store, alice, at(0, 9), 49 * 60 + 59, "C")
    g = gate(store, alice, end)
    assert g.allowed and not g.break_due
    end = record_view(store, alice, end, 1, "C")  # 50:00 of continuous revealed viewing
    g = gate(store, alice, end)
    assert g.break_due and not g.allowed and "break" in g.reason
    # 9 minutes' pause is not a break: still refused; 10 minutes is.
    assert not gate(store, alice, end + timedelta(minutes=9, seconds=59)).allowed
    g = gate(store, alice, end + timedelta(minutes=10))
    assert g.allowed and not g.break_due


def test_short_pauses_do_not_reset_the_stretch_but_a_break_does(store, alice, policy):
    end = record_view(store, alice, at(0, 9), 25 * 60)
    end = record_view(store, alice, end + timedelta(minutes=9), 25 * 60)  # 9-min pause: joined
    assert gate(store, alice, end).break_due
    end = record_view(store, alice, at(1, 9), 25 * 60)
    end = record_view(store, alice, end + timedelta(minutes=10), 25 * 60)  # a real break
    assert not gate(store, alice, end).break_due


def test_blurred_viewing_never_makes_a_break_due(store, alice, policy):
    end = record_view(store, alice, at(0, 9), 2 * H, mode="blurred")
    assert gate(store, alice, end) .allowed


def test_prompt_only_when_enforcement_is_off(workspace, store, alice):
    (workspace.config_dir / "welfare.toml").write_text("[break]\nenforce = false\n")
    end = record_view(store, alice, at(0, 9), 50 * 60)
    g = gate(store, alice, end)
    assert g.break_due and g.allowed


def test_day_warning_and_stop_fire_exactly_at_4h_and_5h(store, alice, policy):
    end = record_work(store, alice, at(0, 8), 4 * H - 1)  # category C: units stay below caps
    assert fired(store, policy, end, "day-") == []
    end = record_view(store, alice, end + timedelta(minutes=11), 1)
    alerts = fired(store, policy, end, "day-")
    assert [(a["rule"], a["period"]) for a in alerts] == [("day-hours-warn", "2026-01-12")]
    assert alerts[0]["figures"] == {"revealed_hours": 4.0, "cap_hours": 4.0}
    assert gate(store, alice, end).allowed
    end = record_view(store, alice, end + timedelta(minutes=11), H - 1)
    assert {a["rule"] for a in fired(store, policy, end, "day-")} == {"day-hours-warn"}
    assert gate(store, alice, end + timedelta(minutes=11)).allowed
    end = record_view(store, alice, end + timedelta(minutes=11), 1)  # 5 h exactly
    assert {a["rule"] for a in fired(store, policy, end, "day-")} == {"day-hours-warn",
                                                                    "day-hours-stop"}
    g = gate(store, alice, end + timedelta(minutes=30))
    assert not g.allowed and "locked" in g.reason and not g.break_due
    # Locked until the next day.
    assert gate(store, alice, at(1, 8)).allowed


def test_lead_override_lifts_the_lock_for_its_minutes_only(store, alice, lead, policy):
    end = record_work(store, alice, at(0, 8), 5 * H)
    assert not gate(store, alice, end + timedelta(minutes=15)).allowed
    with pytest.raises(StoreError, match="not an active team lead"):
        store.add_lock_override(alice, "2026-01-12", 20, "alice", "self-service", "x")
    t = end + timedelta(minutes=15)
    store.add_lock_override(alice, "2026-01-12", 20, lead, "finish the exhibit for court",
                            t.isoformat())
    assert gate(store, alice, t).allowed
    done = record_view(store, alice, t, 19 * 60)
    assert gate(store, alice, done).allowed
    done = record_view(store, alice, done, 60)
    g = gate(store, alice, done + timedelta(minutes=11))
    assert not g.allowed and "override" in g.reason


def test_severity_weights_drive_the_units_rules(store, alice, policy):
    # Category A weighs 3 units a revealed minute: 600 units (the day stop) at 3 h 20 min,
    # long before the 4 h / 5 h hour caps.
    end = record_work(store, alice, at(0, 8), 160 * 60 - 1, "A")
    assert fired(store, policy, end, "day-") == []
    end = record_view(store, alice, end + timedelta(minutes=11), 1, "A")   # 480 units
    (warn,) = fired(store, policy, end, "day-")
    assert warn["rule"] == "day-units-warn" and warn["figures"]["weighted_units"] == 480.0
    end = record_view(store, alice, end + timedelta(minutes=11), 40 * 60 - 1, "A")
    assert [a["rule"] for a in fired(store, policy, end, "day-")] == ["day-units-warn"]
    assert gate(store, alice, end + timedelta(minutes=11)).allowed
    end = record_view(store, alice, end + timedelta(minutes=11), 1, "A")   # 600 units
    alerts = fired(store, policy, end, "day-")
    assert {a["rule"] for a in alerts} == {"day-units-warn", "day-units-stop"}
    stop = next(a for a in alerts if a["rule"] == "day-units-stop")
    assert stop["figures"]["weighted_units"] == 600.0
    assert stop["figures"]["revealed_minutes_by_category"] == {"A": 200.0}
    g = gate(store, alice, end + timedelta(minutes=11))
    assert not g.allowed and "weighted units" in g.reason


def test_uncategorised_and_blurred_weights(store, alice, policy):
    record_view(store, alice, at(0, 9), 30 * 60, "uncategorised")   # 30 x 2 = 60
    record_view(store, alice, at(0, 10), 30 * 60, "B")               # 30 x 2 = 60
    record_view(store, alice, at(0, 11), 100 * 60, mode="blurred")   # 100 x 0.1 = 10
    s = status(store, alice, at(0, 14))
    assert s["today_units"] == 130.0 and s["today_revealed_hours"] == 1.0


def test_outside_hours_alert_needs_the_configured_minimum(store, alice, policy, workspace):
    """A stray look before work is not worth a lead's attention; sustained viewing is."""
    assert policy.outside_min_minutes == 5
    end = record_view(store, alice, at(0, 7, 44), 1)                 # 1 s at 07:44, a Monday
    assert fired(store, policy, end, "outside-hours") == []
    end = record_view(store, alice, at(0, 7, 50), 4 * 60 + 58)       # 4:59 outside hours
    assert fired(store, policy, end, "outside-hours") == []
    end = record_view(store, alice, at(0, 7, 56), 1)                 # 5:00: fires
    alerts = fired(store, policy, end, "outside-hours")
    assert [(a["period"], a["figures"]["minutes_outside_contract"]) for a in alerts] == [
        ("2026-01-12", 5.0)]
    # The minimum is the lab's: 0 alerts on any viewing outside hours.
    (workspace.config_dir / "welfare.toml").write_text("[contract]\noutside_min_minutes = 0\n")
    strict = load_policy(workspace)
    record_view(store, alice, at(1, 7, 44), 1)
    assert "2026-01-13" in [a["period"] for a in fired(store, strict, at(1, 9), "outside-hours")]
    (workspace.config_dir / "welfare.toml").write_text("[contract]\noutside_min_minutes = -1\n")
    with pytest.raises(PolicyError, match="outside_min_minutes"):
        load_policy(workspace)


def test_after_cutoff_and_outside_contracted_hours(store, alice, policy, triage):
    record_view(store, alice, at(0, 15, 50), 9 * 60)                 # ends 15:59
    assert fired(store, policy, at(0, 17), "after-cutoff") == []
    assert fired(store, policy, at(0, 17), "outside-hours") == []
    record_view(store, alice, at(1, 16), 5 * 60)                     # starts 16:00 exactly
    alerts = fired(store, policy, at(1, 17), "after-cutoff")
    assert [(a["period"], a["figures"]["minutes_after_cutoff"]) for a in alerts] == [
        ("2026-01-13", 5.0)]
    assert [a["period"] for a in fired(store, policy, at(1, 17), "outside-hours")] == [
        "2026-01-13"]
    record_view(store, alice, at(5, 10), 5 * 60)                     # Saturday
    assert "2026-01-17" in [a["period"] for a in fired(store, policy, at(5, 12), "outside-hours")]
    # A reviewer's own contracted hours replace the lab default.
    triage("welfare", "care", "--reviewer", "alice", "--hours", "10:00-18:00", "--days", "mon-fri")
    record_view(store, alice, at(2, 9, 30), 5 * 60)
    assert "2026-01-14" in [a["period"] for a in fired(store, policy, at(2, 12), "outside-hours")]


def test_simulated_week_weekly_alert_and_escalation_at_20h_and_25h(store, alice, policy):
    # Monday to Thursday 5 h a day = 20 h minus one second left on Thursday.
    for day in range(4):
        end = record_work(store, alice, at(day, 8), 5 * H - (1 if day == 3 else 0))
        assert fired(store, policy, end, "week-") == [], f"day {day}"
    end = record_view(store, alice, at(4, 8), 1)                     # Friday: 20 h exactly
    assert [a["rule"] for a in fired(store, policy, end, "week-")] == ["week-hours-alert"]
    end = record_work(store, alice, at(4, 8, 11), 5 * H - 1)         # 25 h minus one second
    assert [a["rule"] for a in fired(store, policy, end, "week-")] == ["week-hours-alert"]
    end = record_view(store, alice, end + timedelta(minutes=11), 1)  # 25 h exactly
    alerts = fired(store, policy, end, "week-")
    assert [(a["rule"], a["period"], a["figures"]["revealed_hours"]) for a in alerts] == [
        ("week-hours-alert", "2026-W03", 20.0), ("week-hours-escalate", "2026-W03", 25.0)]
    # Category C all week: 25 h x 60 = 1500 units, below the unit caps.
    assert fired(store, policy, end, "week-units") == []
    # The next week starts from zero.
    assert gate(store, alice, at(7, 8)).allowed


def test_pattern_three_consecutive_working_days_at_80_percent(store, alice, policy):
    record_work(store, alice, at(0, 8), 4 * H)                       # Mon 80 % of 5 h
    record_work(store, alice, at(1, 8), 4 * H)                       # Tue
    end = record_work(store, alice, at(2, 8), 4 * H - 1)             # Wed just below
    assert fired(store, policy, end, "pattern") == []
    end = record_view(store, alice, end + timedelta(minutes=11), 1)  # Wed reaches 4 h
    alerts = fired(store, policy, end, "pattern")
    assert [(a["period"], a["figures"]["days"]) for a in alerts] == [("2026-01-12", 3)]
    # Thursday and Friday continue the same run: still one alert.
    record_work(store, alice, at(3, 8), 4 * H)
    record_work(store, alice, at(4, 8), 4 * H)
    assert len(fired(store, policy, at(4, 15), "pattern")) == 1


def test_pattern_skips_the_weekend_but_not_a_light_working_day(store, alice, policy):
    record_work(store, alice, at(3, 8), 4 * H)                       # Thu
    record_work(store, alice, at(4, 8), 4 * H)                       # Fri
    end = record_work(store, alice, at(7, 8), 4 * H)                 # Mon (weekend off)
    assert [a["period"] for a in fired(store, policy, end, "pattern")] == ["2026-01-15"]
    record_work(store, alice, at(8, 8), 1 * H)                       # Tue light: run broken
    record_work(store, alice, at(9, 8), 4 * H)
    end = record_work(store, alice, at(10, 8), 4 * H)
    assert [a["period"] for a in fired(store, policy, end, "pattern")] == ["2026-01-15"]


def test_alerts_are_deduplicated_per_rule_reviewer_and_period(store, alice, policy):
    end = record_work(store, alice, at(0, 8), 4 * H)
    first = check(store, policy, end)
    again = check(store, policy, end + timedelta(minutes=30))
    assert first.raised and not again.raised
    assert len([a for a in store.welfare_alerts() if a["rule"] == "day-hours-warn"]) == 1
    record_work(store, alice, at(1, 8), 4 * H)
    check(store, policy, at(1, 15))
    assert [a["period"] for a in store.welfare_alerts() if a["rule"] == "day-hours-warn"] == [
        "2026-01-12", "2026-01-13"]


def test_care_dates_raise_overdue_alerts_and_resolve_when_recorded(store, alice, policy, triage):
    triage("welfare", "care", "--reviewer", "alice", "--counselling", "2026-01-01",
           "--assessment", "2025-06-01", "--welfare-check", "2025-09-01",
           "--at", "2026-01-12T09:00:00Z")
    care = lambda now: {a["rule"]: a for a in store.welfare_alerts(state="open")  # noqa: E731
                        if a["rule"].startswith("care-")}
    check(store, policy, datetime(2026, 2, 1, 12, tzinfo=timezone.utc))
    assert care(None) == {}                                          # counselling due 1 Feb
    check(store, policy, datetime(2026, 2, 2, 9, tzinfo=timezone.utc))
    alerts = care(None)
    assert set(alerts) == {"care-counselling-overdue"}
    assert alerts["care-counselling-overdue"]["figures"]["due"] == "2026-02-01"
    check(store, policy, datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    assert set(care(None)) == {"care-counselling-overdue", "care-welfare-check-overdue"}
    out = triage("welfare", "care", "--reviewer", "alice", "--counselling", "2026-03-02",
                 "--welfare-check", "2026-03-02", "--at", "2026-03-02T10:00:00+00:00",
                 "--json").output
    shown = json.loads(out)
    assert shown["counselling"] == {"last": "2026-03-02", "due": "2026-04-02", "overdue": False,
                                    "every_months": 1}
    assert care(None) == {}
    resolved = store.welfare_alerts(state="resolved")
    assert {a["resolved_note"] for a in resolved} == {"care date recorded"}


def test_missing_care_dates_are_overdue(store, alice, policy):
    check(store, policy, at(0, 9))
    rules = {a["rule"]: a["period"] for a in store.welfare_alerts()}
    assert rules == {"care-counselling-overdue": "not recorded",
                     "care-assessment-overdue": "not recorded",
                     "care-welfare-check-overdue": "not recorded"}


def test_cli_check_alerts_ack_resolve(store, alice, lead, triage):
    record_work(store, alice, at(0, 8), 4 * H)
    out = json.loads(triage("welfare", "check", "--at", "2026-01-12T13:00:00Z", "--json").output)
    assert out["raised"] >= 1
    lines = [json.loads(x) for x in
             triage("welfare", "alerts", "--json").output.splitlines()]
    warn = next(a for a in lines if a["rule"] == "day-hours-warn")
    assert warn["reviewer"] == "alice" and warn["state"] == "open"
    assert warn["figures"] == {"revealed_hours": 4.0, "cap_hours": 4.0}
    r = triage("welfare", "ack", str(warn["id"]), "--lead", "alice", "--note", "x", ok=(1,))
    assert "not an active team lead" in r.output
    triage("welfare", "ack", str(warn["id"]), "--lead", lead,
           "--note", "spoke to alice; rest of day on admin work")
    acked = store.welfare_alert(warn["id"])
    assert (acked["state"], acked["ack_by"], acked["ack_note"]) == (
        "acknowledged", "lee", "spoke to alice; rest of day on admin work")
    assert acked["ack_at"]
    r = triage("welfare", "ack", str(warn["id"]), "--lead", lead, "--note", "again", ok=(1,))
    assert "already acknowledged" in r.output
    triage("welfare", "resolve", str(warn["id"]), "--lead", lead, "--note", "done")
    states = [json.loads(x)["state"] for x in
              triage("welfare", "alerts", "--state", "resolved", "--json").output.splitlines()]
    assert states == ["resolved"]
    text = triage("welfare", "alerts").output
    assert "care-counselling-overdue" in text
    audit = [e["command"] for e in store.audit_entries()]
    assert "welfare ack" in audit and "welfare check" in audit


def test_cli_override_and_status(store, alice, lead, triage):
    record_work(store, alice, at(0, 8), 5 * H)
    st = json.loads(triage("welfare", "status", "--reviewer", "alice", "--at",
                           "2026-01-12T15:00:00Z", "--json").output)
    assert st["locked"] and not st["allowed"]
    triage("welfare", "override", "--reviewer", "alice", "--lead", lead, "--reason", "court",
           "--at", "2026-01-12T15:00:00Z")
    st = json.loads(triage("welfare", "status", "--reviewer", "alice", "--at",
                           "2026-01-12T15:01:00Z", "--json").output)
    assert st["allowed"] and st["override_remaining_minutes"] == 30.0


def test_report_json_and_html_draw_caps(store, alice, triage, tmp_path):
    record_work(store, alice, at(0, 8), 3 * H, "A")
    record_work(store, alice, at(1, 8), 2 * H, "C")
    html = tmp_path / "welfare.html"
    rep = json.loads(triage("welfare", "report", "--at", "2026-01-13T15:00:00Z", "--json",
                            "--html", str(html)).output)
    (r,) = rep["reviewers"]
    assert r["name"] == "alice"
    assert r["today"]["revealed_hours"] == 2.0
    assert r["week"]["revealed_hours"] == 5.0
    assert r["week"]["days"][0]["hours_by_category"]["A"] == 3.0
    assert [w["week"] for w in r["last_4_weeks"]] == ["2025-W52", "2026-W01", "2026-W02",
                                                      "2026-W03"]
    assert r["last_4_weeks"][-1]["units"] == 3 * 60 * 3 + 2 * 60
    assert r["care"]["counselling"]["overdue"] is True
    page = html.read_text()
    assert page.count("<svg") == 3 and "<script" not in page and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert 'class="cap"' in page and "stop 5 h" in page and "escalate 25 h" in page


def test_policy_rejects_bad_values_and_keeps_defaults(workspace):
    p = parse_policy({"day": {"warn_hours": 3}})
    assert p.day_warn_hours == 3 and p.day_stop_hours == 5 and p.weight("A") == 3
    assert p.weight("some-new-label") == 2
    with pytest.raises(PolicyError, match="stop_hours"):
        parse_policy({"day": {"stop_hours": "five"}})
    with pytest.raises(PolicyError, match="timezone"):
        parse_policy({"clock": {"timezone": "Mars/Olympus"}})
    (workspace.config_dir / "welfare.toml").write_text('[day]\ncutoff = "4pm"\n')
    from click.testing import CliRunner

    from triage.cli.main import cli

    r = CliRunner().invoke(cli, ["-w", str(workspace.root), "welfare", "check"])
    assert r.exit_code == 1 and "cutoff must be HH:MM" in r.output


def test_demo_fortnight_gives_the_lead_charts_and_alerts(workspace, store, policy):
    from triage.demo.welfare import DEMO_LEAD, DEMO_REVIEWERS, seed_demo
    from triage.welfare.report import build_report

    now = datetime(2026, 11, 23, 11, tzinfo=timezone.utc)            # a Monday morning
    lines = seed_demo(store, policy, "x", now)
    assert "alerts raised" in lines[0]
    assert store.welfare_person(DEMO_LEAD)["role"] == "lead"
    open_alerts = store.welfare_alerts(state="open")
    assert {"week-hours-alert", "pattern-near-cap", "care-assessment-overdue"} <= {
        a["rule"] for a in open_alerts}
    report = build_report(store, policy, now)
    by_name = {r["name"]: r for r in report["reviewers"]}
    assert set(DEMO_REVIEWERS) <= set(by_name)
    for name in DEMO_REVIEWERS:
        weeks = by_name[name]["last_4_weeks"]
        assert sum(w["revealed_hours"] for w in weeks[-3:-1]) > 20
        assert 0 < by_name[name]["today"]["revealed_hours"] < 2.5
    # Seeding again adds nothing.
    before = store.conn.execute("SELECT COUNT(*) FROM exposure").fetchone()[0]
    assert "already seeded" in seed_demo(store, policy, "x", now)[0]
    assert store.conn.execute("SELECT COUNT(*) FROM exposure").fetchone()[0] == before
