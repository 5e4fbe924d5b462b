"""Exposure intervals from the page's reports, the welfare gate, and `triage exposure`."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.web_support import FakeClock, build_lab, content_id_of, csrf_token, login, signed_in
from triage.web import create_app


@pytest.fixture
def env(tmp_path):
    lab = build_lab(tmp_path)
    clock = FakeClock()
    client, post = signed_in(create_app(lab.ws, clock=clock, testing=True), "rev1")
    return SimpleNamespace(lab=lab, clock=clock, client=client, post=post)


def _intervals(lab, name="rev1"):
    store = lab.ws.open_store()
    try:
        return store.exposure_intervals(store.user_by_name(name)["id"])
    finally:
        store.close()


def test_revealed_interval_follows_reports_and_a_closed_tab_stops_at_last_beat(env):
    lab = env.lab
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    e = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)
    assert e.status_code == 200
    eid = e.get_json()["id"]
    for _ in range(3):
        env.clock.advance(2.0)
        assert env.post("/api/exposure/beat", id=eid).status_code == 200
    env.clock.advance(1.5)
    assert env.post("/api/exposure/stop", id=eid).get_json()["seconds"] == pytest.approx(7.5)
    # A later beat for a stopped interval extends nothing and tells the page it is closed.
    env.clock.advance(10)
    assert env.post("/api/exposure/beat", id=eid).status_code == 409
    # Tab closed while revealed: no stop ever arrives; counting ends at the last heartbeat.
    e2 = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                  content_id=cid).get_json()["id"]
    env.clock.advance(2.0)
    env.post("/api/exposure/beat", id=e2)
    env.clock.advance(120)  # the tab is gone
    rows = {r["id"]: r for r in _intervals(lab)}
    assert rows[eid]["seconds"] == pytest.approx(7.5) and rows[eid]["mode"] == "revealed"
    assert rows[e2]["seconds"] == pytest.approx(2.0)
    assert rows[e2]["severity"] == "uncategorised" and rows[e2]["content_id"] == cid


def test_one_picture_revealed_at_a_time_and_blurred_time_kept_apart(env):
    lab = env.lab
    a = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    b = content_id_of(lab.ws, "D1", "DCIM/p104.jpg")
    g = env.post("/api/exposure/start", mode="blurred", device_id=lab.d1).get_json()["id"]
    ea = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                  content_id=a).get_json()["id"]
    env.clock.advance(3)
    eb = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                  content_id=b).get_json()["id"]
    assert env.post("/api/exposure/beat", id=ea).status_code == 409  # ended by the new reveal
    env.clock.advance(4)
    env.post("/api/exposure/stop", id=eb)
    env.post("/api/exposure/stop", id=g)
    rows = {r["id"]: r for r in _intervals(lab)}
    assert rows[ea]["seconds"] == pytest.approx(3)
    assert rows[eb]["seconds"] == pytest.approx(4)
    assert rows[g]["mode"] == "blurred" and rows[g]["seconds"] == pytest.approx(7)
    assert rows[g]["content_id"] is None


def test_exposure_takes_the_category_once_decided(env):
    lab = env.lab
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    eid = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                   content_id=cid).get_json()["id"]
    env.clock.advance(5)
    env.post("/api/exposure/stop", id=eid)
    assert env.post("/api/decide", device_id=lab.d1, content_id=cid, category="B").status_code == 200
    assert {r["id"]: r for r in _intervals(lab)}[eid]["severity"] == "B"
    env.post("/api/undo", device_id=lab.d1)
    assert {r["id"]: r for r in _intervals(lab)}[eid]["severity"] == "uncategorised"


def test_welfare_gate_refuses_reveal_and_unblurred_bytes(env, monkeypatch):
    import triage.welfare as welfare

    lab = env.lab
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    eid = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                   content_id=cid).get_json()["id"]
    calls = []

    def gate(store, user_id, now):
        calls.append((user_id, now))
        return SimpleNamespace(allowed=False, reason="Break due: 60 minutes revealed.",
                               break_due=True)

    monkeypatch.setattr(welfare, "gate", gate, raising=False)
    assert env.client.get(f"/media/{cid}/revealed").status_code == 403
    r = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)
    assert r.status_code == 403 and "Break due" in r.get_json()["error"]
    assert calls and calls[0][1] == env.clock.now
    # A warning that does not refuse is passed on to the page.
    monkeypatch.setattr(welfare, "gate", lambda store, uid, now: SimpleNamespace(
        allowed=True, reason="break due soon", break_due=True))
    r = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)
    assert r.status_code == 200 and r.get_json()["notice"] == "break due soon"
    env.post("/api/exposure/stop", id=r.get_json()["id"])
    # Blurred thumbnails stay available during a break.
    assert env.client.get(f"/media/{cid}/blurred").status_code == 200
    env.post("/api/exposure/stop", id=eid)


def test_exposure_command_reports_days_weeks_and_weighted_units(env, triage_at):
    lab = env.lab
    a = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    b = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    for cid, secs in ((a, 60), (b, 30), (a, 30)):
        eid = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                       content_id=cid).get_json()["id"]
        env.clock.advance(secs)
        env.post("/api/exposure/stop", id=eid)
    env.post("/api/decide", device_id=lab.d1, content_id=a, category="A")
    g = env.post("/api/exposure/start", mode="blurred", device_id=lab.d1).get_json()["id"]
    env.clock.advance(600)
    env.post("/api/exposure/stop", id=g)
    env.clock.advance(86400)  # next day: 30 s of another picture
    eid = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1,
                   content_id=b).get_json()["id"]
    env.clock.advance(30)
    env.post("/api/exposure/stop", id=eid)

    out = triage_at(lab.ws, "exposure", "--reviewer", "rev1", "--json").output
    days = [json.loads(line) for line in out.splitlines()]
    assert [d["period"] for d in days] == ["2026-05-04", "2026-05-05"]
    first = days[0]
    assert first["revealed_seconds"] == 120 and first["items_revealed"] == 2
    assert first["blurred_seconds"] == 600
    assert first["revealed_by_severity"] == {"A": 90, "uncategorised": 30}
    # 1.5 min x A(3) + 0.5 min x uncategorised(2) + 10 blurred min x 0.1
    assert first["weighted_units"] == pytest.approx(4.5 + 1.0 + 1.0)
    week = [json.loads(x) for x in triage_at(lab.ws, "exposure", "--reviewer", "rev1",
                                             "--per", "week", "--json").output.splitlines()]
    assert len(week) == 1 and week[0]["period"] == "2026-05-04"
    assert week[0]["revealed_seconds"] == 150 and week[0]["items_revealed"] == 2
    since = triage_at(lab.ws, "exposure", "--reviewer", "rev1", "--since", "2026-05-05",
                      "--json").output.splitlines()
    assert len(since) == 1
    table = triage_at(lab.ws, "exposure", "--reviewer", "rev1").output
    assert "2026-05-04" in table and "A 90s" in table
    assert "no exposure" in triage_at(lab.ws, "exposure", "--reviewer", "rev2").output
    assert "no user" in triage_at(lab.ws, "exposure", "--reviewer", "nobody", ok=(1,)).output


@pytest.fixture
def triage_at():
    from click.testing import CliRunner

    from triage.cli.main import cli

    def run(ws, *args, ok=(0,), input=None):
        r = CliRunner().invoke(cli, ["-w", str(ws.root), *args], input=input,
                               catch_exceptions=False)
        assert r.exit_code in ok, r.output
        return r

    return run


def test_users_and_assign_commands(env, triage_at):
    ws = env.lab.ws
    r = triage_at(ws, "users", "add", "alice", "--role", "lead", "--password-stdin",
                  input="a long enough passphrase\n")
    assert "alice" in r.output
    assert "too short" in triage_at(ws, "users", "add", "bob", "--role", "reviewer",
                                    "--password-stdin", input="short\n", ok=(1,)).output
    assert "already exists" in triage_at(ws, "users", "add", "alice", "--role", "lead",
                                         "--password-stdin", input="another long one!!\n",
                                         ok=(1,)).output
    # Prompted password: hidden and typed twice.
    triage_at(ws, "users", "add", "carol", "--role", "reviewer",
              input="carol's passphrase\ncarol's passphrase\n")
    triage_at(ws, "assign", "--case", "C1", "--user", "carol")
    assert "no case" in triage_at(ws, "assign", "--case", "NOPE", "--user", "carol",
                                  ok=(1,)).output
    users = {u["name"]: u for u in map(json.loads, triage_at(ws, "users", "list", "--json")
                                       .output.splitlines())}
    assert users["carol"]["cases"] == ["C1"] and users["alice"]["role"] == "lead"
    assert "password_hash" not in users["carol"]
    c = create_app(ws, testing=True).test_client()
    login(c, "carol", "carol's passphrase")
    assert c.get("/review/D1").status_code == 200
    store = ws.open_store()
    try:
        audit = [a for a in store.audit_entries(20) if a["command"] == "users add"]
    finally:
        store.close()
    assert audit and "passphrase" not in json.dumps(audit)


# -- the server charges what it delivers ----------------------------------------------------
def _reveal(env, cid, fetch=True):
    """Start a revealed interval and (like the page) fetch the unblurred picture."""
    r = env.post("/api/exposure/start", mode="revealed", device_id=env.lab.d1, content_id=cid)
    assert r.status_code == 200, r.get_json()
    if fetch:
        assert env.client.get(f"/media/{cid}/revealed").status_code == 200
    return r.get_json()["id"]


def _seconds(lab, eid):
    return {r["id"]: r for r in _intervals(lab)}[eid]["seconds"]


def test_a_delivered_picture_is_charged_until_the_next_or_the_reblur_time(env):
    lab = env.lab
    a, b, c = (content_id_of(lab.ws, "D1", f"DCIM/p{n}.jpg") for n in (102, 103, 104))
    # Start, fetch, stop at once: charged the re-blur time (reveal_seconds = 8), not 0.
    ea = _reveal(env, a)
    env.post("/api/exposure/stop", id=ea)
    assert _seconds(lab, ea) == pytest.approx(8)
    # The next picture delivered 3 s into a reveal ends the earlier charge there.
    env.clock.advance(20)
    eb = _reveal(env, b)
    env.clock.advance(3)
    ec = _reveal(env, c)
    assert _seconds(lab, eb) == pytest.approx(3)
    # Heartbeats extend past the charge; a stop never shortens it.
    for _ in range(6):
        env.clock.advance(2)
        env.post("/api/exposure/beat", id=ec)
    env.post("/api/exposure/stop", id=ec)
    assert _seconds(lab, ec) == pytest.approx(12)
    env.clock.advance(30)
    ed = _reveal(env, a)
    env.clock.advance(1)
    assert env.post("/api/exposure/stop", id=ed).get_json()["seconds"] == pytest.approx(8)
    # Revealed but never fetched: only the reports count (the page failed to load it).
    env.clock.advance(30)
    ee = _reveal(env, b, fetch=False)
    env.clock.advance(1)
    env.post("/api/exposure/stop", id=ee)
    assert _seconds(lab, ee) == pytest.approx(1)
    # The reviewer's own re-blur time (lowered to 2 s) is what a delivery is charged.
    token = csrf_token(env.client.get("/").get_data(as_text=True))
    env.client.post("/settings", data={"reveal_seconds": "2", "csrf_token": token})
    env.clock.advance(30)
    ef = _reveal(env, c)
    env.post("/api/exposure/stop", id=ef)
    assert _seconds(lab, ef) == pytest.approx(2)


def test_head_on_a_picture_sends_and_charges_nothing(env):
    cid = content_id_of(env.lab.ws, "D1", "DCIM/p103.jpg")
    eid = _reveal(env, cid, fetch=False)
    assert env.client.head(f"/media/{cid}/revealed").status_code == 405
    env.post("/api/exposure/stop", id=eid)
    assert _seconds(env.lab, eid) == 0


def test_the_welfare_gate_counts_the_charged_time(env):
    """A client reporting start, fetch, stop at once is still sent into its break: a
    1-minute continuous limit is reached after 8 pictures at the 8 s re-blur time."""
    lab = env.lab
    (lab.ws.config_dir / "welfare.toml").write_text(
        "[break]\ncontinuous_minutes = 1\nbreak_minutes = 1\n")
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    for _ in range(8):
        eid = _reveal(env, cid)
        env.post("/api/exposure/stop", id=eid)
        env.clock.advance(8)
    status = env.client.get("/welfare/status.json").get_json()
    assert status["continuous_minutes"] == pytest.approx(64 / 60, abs=0.05)
    assert status["today_revealed_hours"] == pytest.approx(64 / 3600, abs=0.005)  # 2 places
    r = env.post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)
    assert r.status_code == 403 and "break due" in r.get_json()["error"]
