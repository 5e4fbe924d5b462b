"""Access control, sessions, CSRF, lockout, image serving and audit — at the HTTP level."""

from __future__ import annotations

import pytest

from tests.web_support import PASSWORD, FakeClock, build_lab, content_id_of, csrf_token, login
from triage.web import create_app


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return build_lab(tmp_path_factory.mktemp("lab"))


@pytest.fixture
def app(lab):
    return create_app(lab.ws, clock=FakeClock(), testing=True)


def _other_case_content(lab) -> int:
    return content_id_of(lab.ws, "D2", "DCIM/q201.jpg")


def test_pages_and_pictures_need_sign_in(app, lab):
    c = app.test_client()
    assert c.get("/review/D1").status_code == 302
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    r = c.get(f"/media/{cid}/blurred")
    assert r.status_code == 401 and r.mimetype == "application/json"


def test_session_cookie_is_httponly_strict_and_secure_off_loopback(lab):
    for host, secure in (("127.0.0.1", False), ("0.0.0.0", True)):
        c = create_app(lab.ws, host=host, testing=True).test_client()
        token = csrf_token(c.get("/login").get_data(as_text=True))
        r = c.post("/login", data={"name": "rev1", "password": PASSWORD, "csrf_token": token})
        cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert ("Secure" in cookie) == secure


def test_reviewer_cannot_see_another_cases_picture(app, lab):
    c = app.test_client()
    token = login(c, "rev1")
    other = _other_case_content(lab)
    assert c.get(f"/media/{other}/blurred").status_code == 404
    assert c.get(f"/media/{other}/revealed").status_code == 404
    assert c.get("/review/D2").status_code == 404
    r = c.post("/api/exposure/start", json={"mode": "revealed", "device_id": lab.d2,
                                            "content_id": other}, headers={"X-CSRFToken": token})
    assert r.status_code == 404
    r = c.post("/api/exposure/start", json={"mode": "revealed", "device_id": lab.d1,
                                            "content_id": other}, headers={"X-CSRFToken": token})
    assert r.status_code == 404
    # The owner of that case can.
    c2 = app.test_client()
    login(c2, "rev2")
    assert c2.get(f"/media/{other}/blurred").status_code == 200


def test_backlog_role_has_no_review_pages(app, lab):
    c = app.test_client()
    login(c, "boss")
    assert c.get("/review/D1").status_code == 403


def test_pictures_are_not_cached_audited_and_unblurred_only_while_revealed(app, lab):
    c = app.test_client()
    token = login(c, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    r = c.get(f"/media/{cid}/blurred")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert "no-store" in r.headers["Cache-Control"]
    assert r.data[:2] == b"\xff\xd8"
    # The unblurred derivative only while an exposure interval is open for it.
    assert c.get(f"/media/{cid}/revealed").status_code == 403
    h = {"X-CSRFToken": token}
    e = c.post("/api/exposure/start", json={"mode": "revealed", "device_id": lab.d1,
                                            "content_id": cid}, headers=h).get_json()
    r = c.get(f"/media/{cid}/revealed")
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    store = lab.ws.open_store()
    try:
        derivative = store.viewable_content(store.user_by_name("rev1")["id"], cid)["derivative"]
        assert r.data == (lab.ws.derivative_dir / derivative).read_bytes()
        c.post("/api/exposure/stop", json={"id": e["id"]}, headers=h)
        assert c.get(f"/media/{cid}/revealed").status_code == 403
        views = [a for a in store.audit_entries(50) if a["command"] == "web:image"
                 and a["arguments"]["content_id"] == cid]
    finally:
        store.close()
    outcomes = sorted((a["arguments"]["variant"], a["outcome"]) for a in views)
    assert outcomes == [("blurred", "ok"), ("revealed", "ok"), ("revealed", "refused"),
                        ("revealed", "refused")]
    assert all(a["arguments"]["user"] == "rev1" for a in views)


def test_every_state_change_needs_the_csrf_token(app, lab):
    c = app.test_client()
    token = login(c, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    body = {"device_id": lab.d1, "content_id": cid, "category": "C"}
    assert c.post("/api/decide", json=body).status_code == 400
    assert c.post("/api/decide", json=body, headers={"X-CSRFToken": "forged"}).status_code == 400
    assert c.post("/api/exposure/start", json={"mode": "blurred", "device_id": lab.d1}
                  ).status_code == 400
    assert c.post("/api/undo", json={"device_id": lab.d1}).status_code == 400
    assert c.post("/settings", data={"blur_px": "6"}).status_code == 400
    assert c.post("/logout").status_code == 400
    assert c.get("/").status_code == 200  # still signed in: the forged logout did nothing
    # Sign-in itself is protected (login CSRF).
    fresh = app.test_client()
    fresh.get("/login")
    assert fresh.post("/login", data={"name": "rev1", "password": PASSWORD}).status_code == 400
    # With the token, it works; and the undo puts it back.
    r = c.post("/api/decide", json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.get_json()["rows"] >= 1
    assert c.post("/api/undo", json={"device_id": lab.d1}, headers={"X-CSRFToken": token}
                  ).status_code == 200
    r = c.post("/logout", data={"csrf_token": token})
    assert r.status_code == 302 and c.get("/").status_code == 302


def test_lockout_after_repeated_bad_passwords(tmp_path):
    lab = build_lab(tmp_path)
    clock = FakeClock()
    app = create_app(lab.ws, clock=clock, testing=True)
    c = app.test_client()
    token = csrf_token(c.get("/login").get_data(as_text=True))
    for _ in range(5):
        r = c.post("/login", data={"name": "rev1", "password": "wrong", "csrf_token": token})
        assert r.status_code == 401
    r = c.post("/login", data={"name": "rev1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 401 and "locked" in r.get_data(as_text=True)
    clock.advance(16 * 60)  # lockout_minutes = 15
    r = c.post("/login", data={"name": "rev1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    store = lab.ws.open_store()
    try:
        logins = [a for a in store.audit_entries(20) if a["command"] == "web:login"]
    finally:
        store.close()
    assert [a["outcome"] for a in logins[:2]] == ["ok", "refused"]


def test_settings_cannot_go_below_the_labs_limits(app, lab):
    c = app.test_client()
    token = login(c, "rev1")
    c.post("/settings", data={"blur_px": "0", "thumb_px": "2000", "reveal_seconds": "600",
                              "csrf_token": token})
    html = c.get("/review/D1").get_data(as_text=True)
    assert 'data-blur="6"' in html            # min_blur_px
    assert 'data-thumb="224"' in html         # max_thumb_px
    assert 'data-reveal-seconds="30"' in html  # max_reveal_seconds
    assert 'data-greyscale="1"' in html       # allow_colour = false
    c.post("/settings", data={"blur_px": "20", "csrf_token": token})
    assert 'data-blur="20"' in c.get("/review/D1").get_data(as_text=True)


def test_pages_load_nothing_from_elsewhere(app, lab):
    c = app.test_client()
    login(c, "rev1")
    r = c.get("/review/D1")
    html = r.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    for asset in ("triage.css", "review.js"):
        body = c.get(f"/static/{asset}").get_data(as_text=True)
        assert "http://" not in body and "https://" not in body and "@import" not in body


def test_serve_command_listens_on_loopback(lab, tmp_path):
    import os
    import re
    import subprocess
    import sys
    import urllib.request

    from triage.workspace import init_workspace

    empty = init_workspace(tmp_path / "empty")
    r = subprocess.run([sys.executable, "-m", "triage.cli", "-w", str(empty.root), "serve"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "no users yet" in r.stderr
    proc = subprocess.Popen([sys.executable, "-m", "triage.cli", "-w", str(lab.ws.root), "serve",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/login", timeout=10) as resp:
            assert resp.status == 200 and b"Sign in" in resp.read()
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_on_a_port_in_use_says_so_in_one_line(lab):
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "triage.cli", "-w", str(lab.ws.root), "serve",
                            "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: the port is already in use (another"
        " `triage serve`?); stop it or choose another with --port"], r.stderr


def test_grid_and_report_thumbnails_are_the_one_safe_thumbnail(app, lab):
    """The review grid and the device report make their blurred copies with the same function
    (triage.media.safe): same bytes for the same settings."""
    import base64

    from triage.media.safe import safe_thumbnail
    from triage.reports.device import blurred_thumbnail

    c = app.test_client()
    login(c, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    store = lab.ws.open_store()
    try:
        derivative = lab.ws.derivative_dir / store.viewable_content(
            store.user_by_name("rev1")["id"], cid)["derivative"]
    finally:
        store.close()
    served = c.get(f"/media/{cid}/blurred").data
    assert served == safe_thumbnail(derivative, 224, 14 / 2, greyscale=True)  # review.toml
    uri = blurred_thumbnail(derivative)
    assert base64.b64decode(uri.split(",", 1)[1]) == safe_thumbnail(derivative, 96, 6.0,
                                                                     quality=60)
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(served)) as im:
        assert im.mode == "L" and max(im.size) <= 224
