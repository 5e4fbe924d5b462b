"""The HTML reports in a real browser (Debian Chromium via Playwright): key figures visible,
charts drawn, printable to PDF. Skips on a machine without Chromium, fails under TRIAGE_CI=1."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from tests.backlog_fixtures import ingest_pictures


def _figure(page, kpi: str) -> str:
    el = page.locator(f"#{kpi} .v")
    assert el.is_visible()
    return el.inner_text().strip()


def test_backlog_report_in_browser(browser, triage, tmp_path: Path):
    today = date(2026, 3, 10)
    plan = [("VH", 3, True), ("H", 2, False), ("H", 9, False), ("M", 10, False), ("M", 30, False),
            ("L", 5, False), ("L", 40, False), ("L", 100, False)]
    for i, (band, days, child) in enumerate(plan):
        triage("devices", "add", f"EXH-{i}", "--case", f"OP-{i % 3}", "--risk", band,
               "--seized", (today - timedelta(days=days)).isoformat(),
               *(["--child-at-risk"] if child else []))
    triage("backlog", "snapshot", "--today", "2026-03-03")
    html_file = tmp_path / "backlog.html"
    fw = json.loads(triage("backlog", "report", "--json", "--html", str(html_file),
                           "--today", today.isoformat()).output)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(html_file.as_uri())
    assert _figure(page, "kpi-waiting") == str(fw["waiting"]) == "8"
    assert _figure(page, "kpi-overdue") == str(fw["overdue"]) == "5"
    assert _figure(page, "kpi-tier0") == "1"
    assert _figure(page, "kpi-weeks") == str(fw["weeks_to_clear"])
    first = page.locator("#ranking tbody tr").first
    assert "EXH-0" in first.inner_text() and "tier 0" in first.inner_text()
    assert page.locator("#ranking tbody tr").count() == 8
    charts = page.locator("svg.chart")
    assert charts.count() == 4
    for i in range(4):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100
    assert page.locator("#trend tbody tr").count() == 2
    shot = tmp_path / "backlog.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    pdf = tmp_path / "backlog.pdf"
    page.pdf(path=str(pdf), format="A4", landscape=True)  # printable
    assert pdf.read_bytes()[:5] == b"%PDF-"
    page.close()


def test_device_report_in_browser(browser, triage, workspace, tmp_path: Path):
    ingest_pictures(workspace, tmp_path / "dump", "OP-B", "EXH-B", 6, seed=90)
    html_file = tmp_path / "device.html"
    rep = json.loads(triage("report", "--device", "EXH-B", "--json", "--html",
                            str(html_file), "--with-thumbnails").output)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(html_file.as_uri())
    assert _figure(page, "kpi-files") == str(rep["files"]) == "9"
    assert _figure(page, "kpi-unique") == str(rep["unique_images"]) == "6"
    assert _figure(page, "kpi-firstgen") == str(rep["first_generation"]["candidates"]) == "2"
    assert _figure(page, "kpi-dups") == "2"
    thumbs = page.locator("img.thumb")
    assert thumbs.count() == 2 and thumbs.first.is_visible()
    assert page.evaluate("document.querySelector('img.thumb').naturalWidth") > 0
    page.screenshot(path=str(tmp_path / "device.png"), full_page=True)
    assert (tmp_path / "device.png").stat().st_size > 20_000
    page.close()
