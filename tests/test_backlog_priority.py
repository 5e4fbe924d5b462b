"""Priority order, rule by rule: each rule in config/backlog.toml moves a device as documented."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.backlog_fixtures import json_lines
from triage.backlog.rank import assess, rank
from triage.workspace import default_config

TODAY = date(2026, 3, 10)
CONFIG = default_config("backlog")
P = CONFIG["priority"]


def device(label: str, **over: Any) -> dict[str, Any]:
    """A waiting device seized today, band M, no flags: every rule off."""
    row = {"label": label, "case_reference": "OP-T", "status": "awaiting", "device_type": "phone",
           "seized_on": TODAY.isoformat(), "created_at": "2026-01-01T00:00:00",
           "risk_band": "M", "access_to_children": False, "child_at_risk": False,
           "next_court_date": None, "bail_rui": False, "forecast_hours": 1.0, "measured": False,
           "counts": {"known_alert_total": 0, "known_alert": {}}}
    return row | over


def order(*rows: dict[str, Any]) -> list[str]:
    return [r["label"] for r in rank(rows, TODAY, CONFIG)]


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


def test_identical_devices_tie_break_by_label_so_each_rule_below_is_isolated():
    assert order(device("B"), device("A")) == ["A", "B"]


def test_tier0_child_at_immediate_risk_outranks_every_other_rule_combined():
    loaded = device("LOADED", risk_band="VH", access_to_children=True, seized_on=ago(400),
                    next_court_date=TODAY.isoformat(), bail_rui=True,
                    counts={"known_alert_total": 9, "known_alert": {"A": 9}})
    tier0 = device("TIER0", risk_band="L", child_at_risk=True)
    ranked = rank([loaded, tier0], TODAY, CONFIG)
    assert [r["label"] for r in ranked] == ["TIER0", "LOADED"]
    assert ranked[0]["score"] < ranked[1]["score"]  # it wins on tier, not on points
    assert ranked[0]["reasons"][0].startswith("tier 0: child at immediate risk")


@pytest.mark.parametrize("higher,lower", [("VH", "H"), ("H", "M"), ("M", "L")])
def test_risk_band_orders_devices(higher: str, lower: str):
    assert order(device("X", risk_band=lower), device("Y", risk_band=higher)) == ["Y", "X"]
    a = assess(device("Y", risk_band=higher), TODAY, CONFIG)
    assert a["points"]["risk_band"] == P["band_points"][higher]
    assert f"risk {higher} +{P['band_points'][higher]:g}" in a["reasons"]


def test_unassessed_band_is_scored_as_configured_and_said_so():
    a = assess(device("U", risk_band=None), TODAY, CONFIG)
    assert a["points"]["risk_band"] == P["band_points"][P["unassessed_band"]]
    assert any("risk not assessed" in r for r in a["reasons"])
    assert order(device("U", risk_band=None), device("L", risk_band="L"))[0] == "U"


def test_access_to_children_moves_a_device_up():
    assert order(device("A"), device("Z", access_to_children=True)) == ["Z", "A"]
    assert assess(device("Z", access_to_children=True), TODAY, CONFIG)["points"][
        "access_to_children"] == P["access_to_children_points"]


def test_overdue_ratio_moves_older_device_up_and_is_capped():
    assert order(device("NEW", seized_on=ago(1)), device("OLD", seized_on=ago(20))) == ["OLD",
                                                                                        "NEW"]
    a = assess(device("OLD", seized_on=ago(21)), TODAY, CONFIG)  # M: 21 / 14 = 1.5
    assert a["dt"] == 1.5 and a["points"]["overdue"] == 1.5 * P["overdue_points_per_unit"]
    very_old = assess(device("V", seized_on=ago(1400)), TODAY, CONFIG)
    assert very_old["points"]["overdue"] == P["overdue_cap"] * P["overdue_points_per_unit"]
    # The cap keeps a fresh VH above an ancient L (age alone cannot outrank risk).
    assert order(device("ANCIENT", risk_band="L", seized_on=ago(3000)),
                 device("FRESH", risk_band="VH")) == ["FRESH", "ANCIENT"]


def test_court_date_inside_window_moves_device_up_proportionally():
    window = P["court_window_days"]
    far = device("FAR", next_court_date=(TODAY + timedelta(days=window + 5)).isoformat())
    near = device("NEAR", next_court_date=(TODAY + timedelta(days=window // 4)).isoformat())
    assert "court_date" not in assess(far, TODAY, CONFIG)["points"]
    assert order(far, near) == ["NEAR", "FAR"]
    pts = assess(near, TODAY, CONFIG)["points"]["court_date"]
    assert pts == pytest.approx(P["court_points"] * (1 - (window // 4) / window), abs=0.01)
    today_pts = assess(device("D", next_court_date=TODAY.isoformat()), TODAY, CONFIG)
    assert today_pts["points"]["court_date"] == P["court_points"]


def test_bail_or_rui_moves_device_up():
    assert order(device("A"), device("Z", bail_rui=True)) == ["Z", "A"]
    assert assess(device("Z", bail_rui=True), TODAY, CONFIG)["points"]["bail_rui"] == P[
        "bail_rui_points"]


def test_known_hits_move_device_up_and_category_a_more():
    c = {"known_alert_total": 3, "known_alert": {"C": 3}}
    a = {"known_alert_total": 1, "known_alert": {"A": 1}}
    assert order(device("NONE"), device("HITS_C", counts=c), device("HITS_A", counts=a)) == [
        "HITS_A", "HITS_C", "NONE"]
    got = assess(device("HITS_A", counts=a), TODAY, CONFIG)
    assert got["points"]["known_hits"] == P["known_hit_points"] + P["known_severe_points"]
    assert any("known alert material found: 1 (A 1)" in r for r in got["reasons"])


def test_only_waiting_devices_are_ranked():
    rows = [device("W"), device("R", status="reviewed"), device("RET", status="returned"),
            device("FUTURE", seized_on=(TODAY + timedelta(days=3)).isoformat())]
    assert order(*rows) == ["W"]


def test_cli_ranking_follows_the_register_with_reasons(triage):
    triage("devices", "add", "L-OLD", "--case", "OP-1", "--risk", "L", "--seized", "2026-01-01")
    triage("devices", "add", "H-NEW", "--case", "OP-1", "--risk", "H", "--seized", "2026-03-09",
           "--access-to-children")
    triage("devices", "add", "M-CHILD", "--case", "OP-2", "--risk", "M", "--seized", "2026-03-10",
           "--child-at-risk")
    triage("devices", "add", "DONE", "--case", "OP-2", "--risk", "VH", "--status", "reviewed")
    rows = json_lines(triage("backlog", "--json", "--today", "2026-03-10").output)
    assert [r["label"] for r in rows] == ["M-CHILD", "H-NEW", "L-OLD"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[1]["points"] == {"risk_band": 30.0, "access_to_children": 20.0,
                                 "overdue": round(10 * 1 / 7, 2)}
    # A change of register moves the device: the court date tomorrow lifts L-OLD above H-NEW.
    triage("devices", "update", "L-OLD", "--court-date", "2026-03-11")
    rows = json_lines(triage("backlog", "--json", "--today", "2026-03-10").output)
    assert [r["label"] for r in rows] == ["M-CHILD", "L-OLD", "H-NEW"]
    text = triage("backlog", "--today", "2026-03-10").output
    assert "court/charging date 2026-03-11 in 1 day +" in text
