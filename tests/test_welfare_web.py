"""Welfare pages: the lead dashboard (charts with caps, alerts, ack form, care dates), who may see
what, the status endpoint, server-side refusal, and — in a real browser — the review page's
break prompt and day lock."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.browser_kit import chromium, serving, sign_in
from tests.web_support import PASSWORD, FakeClock, build_lab, content_id_of, login
from triage.web import create_app
from triage.accounts import hash_password
from triage.demo.welfare import record_view, record_work



@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = build_lab(tmp_path_factory.mktemp("welfare-web"))
    store = lab.ws.open_store()
    store.add_user("lee", "lead", hash_password(PASSWORD), "2026-05-01T00:00:00+00:00")
    store.close()
    return lab


def _uid(lab, name: str) -> int:
    store = lab.ws.open_store()
    try:
        return store.welfare_person(name)["id"]
    finally:
        store.close()


def _with_store(lab, fn):
    store = lab.ws.open_store()
    try:
        return fn(store)
    finally:
        store.close()


def test_dashboard_access_charts_and_acknowledgement(lab):
    clock = FakeClock()
    clock.now = clock.now.replace(day=5)                 # Tuesday 5 May 2026, 10:00 London
    app = create_app(lab.ws, clock=clock, testing=True)
    _with_store(lab, lambda s: record_work(s, _uid(lab, "rev2"), clock.now - timedelta(days=1),
                                           4 * 3600, "B"))
    rev = app.test_client()
    login(rev, "rev1")
    r = rev.get("/welfare/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/welfare/reviewer/rev1")
    own = rev.get("/welfare/reviewer/rev1").get_data(as_text=True)
    assert "rev1" in own and "rev2" not in own and "Acknowledge" not in own
    assert rev.get("/welfare/reviewer/rev2").status_code == 404
    lead = app.test_client()
    token = login(lead, "lee")
    page = lead.get("/welfare/").get_data(as_text=True)
    assert 'id="reviewer-' in page and "rev1" in page and "rev2" in page
    assert page.count("<svg") >= 6 and 'class="cap"' in page and "stop 5 h" in page
    assert "day-hours-warn" in page and "counselling" in page and "Acknowledge" in page
    alert_id = _with_store(lab, lambda s: next(
        a["id"] for a in s.welfare_alerts(state="open") if a["rule"] == "day-hours-warn"))
    r = rev.post(f"/welfare/alerts/{alert_id}/ack", data={"note": "x", "csrf_token": token})
    assert r.status_code in (400, 403)                   # reviewers cannot acknowledge
    r = lead.post(f"/welfare/alerts/{alert_id}/ack",
                  data={"note": "moved rev2 to lighter work", "csrf_token": token})
    assert r.status_code == 302
    acked = _with_store(lab, lambda s: s.welfare_alert(alert_id))
    assert (acked["state"], acked["ack_by"], acked["ack_note"]) == (
        "acknowledged", "lee", "moved rev2 to lighter work")


def test_status_endpoint_and_server_refusal(lab):
    clock = FakeClock()
    clock.now = clock.now.replace(day=6)                 # Wednesday
    app = create_app(lab.ws, clock=clock, testing=True)
    c = app.test_client()
    token = login(c, "rev1")
    assert c.get("/welfare/status.json").get_json()["break_due"] is False
    end = _with_store(lab, lambda s: record_view(s, _uid(lab, "rev1"),
                                                 clock.now - timedelta(minutes=50), 50 * 60))
    assert end == clock.now
    st = c.get("/welfare/status.json").get_json()
    assert st["break_due"] and not st["allowed"] and st["break_remaining_seconds"] == 600
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    r = c.post("/api/exposure/start", json={"mode": "revealed", "device_id": lab.d1,
                                            "content_id": cid}, headers={"X-CSRFToken": token})
    assert r.status_code == 403 and "break" in r.get_json()["error"]
    html = c.get("/review/D1").get_data(as_text=True)
    assert '<script defer src="/welfare/prompt.js"></script>' in html
    assert c.get("/welfare/prompt.js").mimetype == "text/javascript"
    clock.advance(10 * 60)
    assert c.get("/welfare/status.json").get_json()["allowed"] is True


def test_break_prompt_and_day_lock_in_the_browser(lab):
    clock = FakeClock()
    clock.now = clock.now.replace(day=7)                 # Thursday
    uid = _uid(lab, "rev2")
    with chromium() as browser, serving(create_app(lab.ws, clock=clock)) as base:
        page = browser.new_page()
        sign_in(page, base, "rev2")
        page.goto(f"{base}/review/D2")
        page.locator(".tile img.media").first.wait_for()
        assert page.locator("#welfare-prompt").is_hidden()
        # 50 minutes of continuous revealed viewing: the page covers itself with the prompt.
        _with_store(lab, lambda s: record_view(s, uid, clock.now - timedelta(minutes=50),
                                               50 * 60, "C"))
        page.reload()
        prompt = page.locator("#welfare-prompt")
        prompt.wait_for(state="visible", timeout=5000)
        assert "10-minute break" in page.locator("#welfare-title").inner_text()
        assert re.search(r"\d+ min \d\d s left", page.locator("#welfare-countdown").inner_text())
        # A reveal is refused by the server, not just hidden by the page.
        refused = page.evaluate("""async () => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const cid = Number(document.querySelector('.tile').dataset.cid);
            const r = await fetch('/api/exposure/start', {method: 'POST',
              headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
              body: JSON.stringify({mode: 'revealed', device_id: %d, content_id: cid})});
            return r.status; }""" % lab.d2)
        assert refused == 403
        # After the break, the rest of a 5-hour day: the page shows the day lock.
        clock.advance(11 * 60)
        _with_store(lab, lambda s: record_work(s, uid, clock.now, 5 * 3600 - 50 * 60, "C"))
        clock.now += timedelta(hours=6)
        page.reload()
        page.locator("#welfare-title").wait_for(state="visible", timeout=5000)
        page.wait_for_function(
            "() => document.getElementById('welfare-title').textContent.includes('locked')")
        assert "lead's recorded override" in page.locator("#welfare-text").inner_text()
        # The lead's dashboard shows the lock alert with its figures.
        lead = browser.new_page()
        sign_in(lead, base, "lee")
        lead.goto(f"{base}/welfare/")
        section = lead.locator(f"#reviewer-{uid}")
        assert "locked for today" in section.locator("h2").inner_text()
        assert "day-hours-stop" in section.inner_text()
        assert section.locator("svg line.cap").count() >= 6
