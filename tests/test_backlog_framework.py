"""Performance framework: D/T and RAG boundaries, capacity maths, wait percentiles, snapshots."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.backlog_fixtures import add_user, json_lines
from triage.backlog.rank import overdue_ratio, percentile, rag_status, weeks_to_clear
from triage.workspace import default_config

CONFIG = default_config("backlog")


@pytest.mark.parametrize("dt,colour", [(0.0, "green"), (0.7499, "green"), (0.75, "amber"),
                                        (0.9, "amber"), (1.0, "amber"), (1.0001, "red"),
                                        (3.0, "red")])
def test_rag_boundaries(dt: float, colour: str):
    assert rag_status(dt, CONFIG) == colour


def test_overdue_ratio_is_days_over_band_target():
    assert overdue_ratio(7, CONFIG["targets_days"]["H"]) == 1.0
    assert overdue_ratio(21, CONFIG["targets_days"]["M"]) == 1.5
    assert CONFIG["targets_days"] == {"VH": 1, "H": 7, "M": 14, "L": 30}


def test_rag_boundaries_through_the_cli_with_lab_targets(triage, workspace):
    """Exactly 0.75 and exactly 1.0 are amber; the lab's own config targets are used."""
    cfg = workspace.config_dir / "backlog.toml"
    cfg.write_text(cfg.read_text().replace("M = 14", "M = 12"))
    today = date(2026, 3, 10)
    for label, days in (("D8", 8), ("D9", 9), ("D12", 12), ("D13", 13)):
        triage("devices", "add", label, "--case", "OP", "--risk", "M",
               "--seized", (today - timedelta(days=days)).isoformat())
    rows = {r["label"]: r for r in json_lines(
        triage("backlog", "--json", "--today", today.isoformat()).output)}
    assert {k: (r["dt"], r["rag"]) for k, r in rows.items()} == {
        "D8": (round(8 / 12, 4), "green"), "D9": (0.75, "amber"), "D12": (1.0, "amber"),
        "D13": (round(13 / 12, 4), "red")}
    report = json.loads(triage("backlog", "report", "--json", "--today", "2026-03-10").output)
    assert report["by_band"]["M"] | {"forecast_hours": 0} == {
        "waiting": 4, "green": 1, "amber": 2, "red": 1, "overdue": 1, "forecast_hours": 0}
    assert report["overdue"] == 1 and report["rag"] == {"green": 1, "amber": 2, "red": 1}


def test_capacity_maths():
    assert weeks_to_clear(400, 80) == 5.0
    assert weeks_to_clear(0, 80) == 0.0
    assert weeks_to_clear(10, 0) is None  # no reviewers: never clears


def test_capacity_uses_welfare_weekly_cap_and_reviewer_count(triage, workspace):
    (workspace.config_dir / "welfare.toml").write_text("[week]\nalert_hours = 15\n")
    for i in range(5):  # not ingested: forecast is the config estimate per device
        triage("devices", "add", f"E{i}", "--case", "OP", "--risk", "L", "--seized", "2026-03-01")
    per_device = CONFIG["forecast"]["hours_per_device_not_ingested"]
    report = json.loads(triage("backlog", "report", "--json", "--reviewers", "3",
                               "--today", "2026-03-10").output)
    cap = report["capacity"]
    assert cap["reviewers"] == 3 and cap["weekly_hours_per_reviewer"] == 15
    assert cap["hours_per_week"] == 45
    assert cap["weekly_hours_source"] == "config/welfare.toml week.alert_hours"
    assert report["forecast_hours"] == {"total": 5 * per_device, "measured": 0,
                                        "estimated": 5 * per_device}
    assert report["weeks_to_clear"] == round(5 * per_device / 45, 2)


def test_capacity_falls_back_to_backlog_default_and_reviewer_accounts(triage, workspace):
    (workspace.config_dir / "welfare.toml").write_text("[day]\nstop_hours = 5\n")
    store = workspace.open_store()
    try:
        add_user(store, "rev1")
        add_user(store, "rev2")
        add_user(store, "lead1", role="lead")
    finally:
        store.close()
    triage("devices", "add", "E1", "--case", "OP", "--risk", "L", "--seized", "2026-03-01")
    cap = json.loads(triage("backlog", "report", "--json", "--today", "2026-03-10").output)[
        "capacity"]
    assert cap["weekly_hours_per_reviewer"] == CONFIG["capacity"]["weekly_hours_per_reviewer"]
    assert cap["weekly_hours_per_reviewer"] == 20
    assert (cap["reviewers"], cap["reviewers_source"]) == (2, "active reviewer accounts")


def test_wait_percentiles():
    waits = list(range(1, 11))
    assert percentile(waits, 50) == 5.5
    assert percentile(waits, 90) == 9.1  # linear interpolation, as numpy.percentile
    assert percentile([4], 90) == 4 and percentile([], 50) is None


def test_wait_percentiles_and_status_counts_in_report(triage):
    today = date(2026, 3, 10)
    for d in range(1, 11):
        triage("devices", "add", f"W{d:02d}", "--case", "OP", "--risk", "L",
               "--seized", (today - timedelta(days=d)).isoformat())
    triage("devices", "add", "GONE", "--case", "OP", "--risk", "L", "--status", "returned",
           "--seized", "2025-01-01")
    r = json.loads(triage("backlog", "report", "--json", "--today", today.isoformat()).output)
    assert r["wait_days"] == {"median": 5.5, "p90": 9.1, "max": 10}
    assert r["waiting"] == 10 and r["devices"] == 11
    assert r["by_status"]["returned"] == 1 and r["by_status"]["awaiting"] == 10


def test_snapshots_build_a_daily_trend(triage):
    triage("devices", "add", "A", "--case", "OP", "--risk", "H", "--seized", "2026-03-01")
    out = triage("backlog", "snapshot", "--today", "2026-03-02").output
    assert "snapshot 2026-03-02: 1 waiting, 0 overdue" in out
    triage("backlog", "snapshot", "--today", "2026-03-02")  # same day: replaced, not added
    triage("devices", "add", "B", "--case", "OP", "--risk", "H", "--seized", "2026-03-05")
    r = json.loads(triage("backlog", "report", "--json", "--today", "2026-03-20").output)
    trend = [(s["taken_on"], s["waiting"], s["overdue"]) for s in r["trend"]]
    assert trend == [("2026-03-02", 1, 0), ("2026-03-20", 2, 2)]
