"""Sign-in, sign-out and lockout against a hostile client, at the HTTP level (Flask's client;
real threads for the races)."""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

import pytest
from click.testing import CliRunner

import triage.web.auth as auth
from tests.web_support import PASSWORD, FakeClock, build_lab, csrf_token, login
from triage.cli.main import cli
from triage.web import create_app

COOKIE = "triage_session"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return build_lab(tmp_path_factory.mktemp("auth"))


@pytest.fixture
def app(lab):
    return create_app(lab.ws, clock=FakeClock(), testing=True)


def _cli(ws, *args, input=None):
    r = CliRunner().invoke(cli, ["-w", str(ws.root), *args], input=input, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _user(ws, name):
    store = ws.open_store()
    try:
        return store.user_by_name(name)
    finally:
        store.close()


def _form(client, name="rev1", password=PASSWORD):
    return {"name": name, "password": password,
            "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))}


# -- sign-in only by POST ---------------------------------------------------------------------
def test_head_with_a_body_never_signs_in(app, lab):
    c = app.test_client()
    r = c.head("/login", data=_form(c))
    assert r.status_code == 200
    assert c.get("/").status_code == 302  # still signed out
    assert c.get("/review/D1").status_code == 302
    # Only a POST with the token signs in (the form keeps working).
    fresh = app.test_client()
    assert fresh.post("/login", data=_form(fresh)).status_code == 302
    assert fresh.get("/").status_code == 200


# -- next= and back= ------------------------------------------------------------------------
HOSTILE = ["/%09/evil.example/", "/%0a/evil.example/", "/%0d%0aSet-Cookie:%20x=1",
           "//evil.example/", "/%5Cevil.example", "https://evil.example/",
           "javascript:alert(1)", "/%E2%80%A8/evil.example", "%20/x", "evil.example"]


@pytest.mark.parametrize("raw", HOSTILE)
def test_next_after_sign_in_stays_on_this_site(app, raw):
    c = app.test_client()
    r = c.post(f"/login?next={raw}", data=_form(c))
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers.get("Location")


@pytest.mark.parametrize("raw", HOSTILE)
def test_back_after_settings_stays_on_this_site(app, raw):
    from urllib.parse import unquote

    c = app.test_client()
    token = login(c)
    page = c.get(f"/settings?back={raw}").get_data(as_text=True)
    assert re.search(r'name="back" value=""', page)
    r = c.post("/settings", data={"blur_px": "14", "back": unquote(raw), "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers.get("Location")


def test_same_site_next_and_back_are_kept(app):
    c = app.test_client()
    assert c.get("/review/D1").headers["Location"] == "/login?next=/review/D1"
    r = c.post("/login?next=" + quote("/review/D1?known=1", safe="/"), data=_form(c))
    assert r.headers["Location"] == "/review/D1?known=1"
    token = csrf_token(c.get("/").get_data(as_text=True))
    assert 'name="back" value="/review/D1"' in c.get("/settings?back=/review/D1").get_data(
        as_text=True)
    r = c.post("/settings", data={"blur_px": "14", "back": "/review/D1", "csrf_token": token})
    assert r.headers["Location"] == "/review/D1"


# -- sign-out ends the session on the server ----------------------------------------------------
def _copy_session(app, client):
    copy = app.test_client()
    copy.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return copy


def test_sign_out_ends_every_copy_of_the_session(app, lab):
    c = app.test_client()
    token = login(c)
    stolen = _copy_session(app, c)
    assert stolen.get("/").status_code == 200  # a copied cookie works while signed in
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert stolen.get("/").status_code == 302
    assert stolen.get("/review/D1").status_code == 302
    assert stolen.get("/welfare/status.json").status_code in (302, 401)
    # Signing in again gives a working session; the old copy stays dead.
    login(c)
    assert c.get("/").status_code == 200 and stolen.get("/").status_code == 302


def test_password_change_and_disabling_end_sessions(tmp_path):
    lab = build_lab(tmp_path)
    app = create_app(lab.ws, clock=FakeClock(), testing=True)
    c = app.test_client()
    login(c, "rev1")
    _cli(lab.ws, "users", "password", "rev1", "--password-stdin",
         input="a brand new passphrase\n")
    assert c.get("/").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data=_form(fresh)).status_code == 401  # old password
    fresh = app.test_client()
    login(fresh, "rev1", "a brand new passphrase")
    _cli(lab.ws, "users", "disable", "rev1")
    assert fresh.get("/").status_code == 302
    again = app.test_client()
    assert again.post("/login", data=_form(again, password="a brand new passphrase")
                      ).status_code == 401
    _cli(lab.ws, "users", "enable", "rev1")
    login(again, "rev1", "a brand new passphrase")
    assert again.get("/").status_code == 200
    short = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "users", "password", "rev1",
                                     "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "too short" in short.output


# -- lockout ------------------------------------------------------------------------------------
def _counting_verify(monkeypatch, hold: threading.Event | None = None):
    """Wrap the password check: record each call (True for a real hash, False for the
    placeholder) and, with `hold`, keep real checks waiting until it is set."""
    real = auth.verify_password
    calls: list[bool] = []
    cond = threading.Condition()

    def verify(stored, password):
        with cond:
            calls.append(stored is not None)
            cond.notify_all()
        if hold is not None and stored is not None:
            hold.wait(120)
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", verify)
    return calls, cond


def test_parallel_guesses_make_no_more_checks_than_allowed(tmp_path, monkeypatch):
    """15 wrong guesses in parallel, then the right password while they are in flight: at most
    `max_failed_logins` (5) passwords are checked, and the right one does not get in or lift the
    lock. Real checks are held until every guess has arrived, so the race is certain."""
    lab = build_lab(tmp_path)
    app = create_app(lab.ws, clock=FakeClock(), testing=True)
    hold = threading.Event()
    calls, cond = _counting_verify(monkeypatch, hold)
    statuses: dict[str, int] = {}
    finished = []
    ready = threading.Barrier(15)

    def guess(key: str, password: str, barrier: threading.Barrier | None) -> None:
        client = app.test_client()
        data = _form(client, "rev1", password)
        if barrier is not None:
            barrier.wait(60)
        statuses[key] = client.post("/login", data=data).status_code
        with cond:
            finished.append(key)
            cond.notify_all()

    wrong = [threading.Thread(target=guess, args=(f"w{i}", f"wrong {i}", ready))
             for i in range(15)]
    for t in wrong:
        t.start()
    try:
        with cond:  # every wrong guess is either being checked or already refused
            assert cond.wait_for(lambda: sum(calls) + len(finished) >= 15, timeout=120)
        right = threading.Thread(target=guess, args=("right", PASSWORD, None))
        right.start()
        with cond:
            assert cond.wait_for(lambda: "right" in finished or sum(calls) >= 16, timeout=120)
    finally:
        hold.set()
    for t in [*wrong, right]:
        t.join(120)
    assert sum(calls) == 5, f"{sum(calls)} passwords checked, 5 allowed"
    assert set(statuses.values()) == {401} and len(statuses) == 16
    user = _user(lab.ws, "rev1")
    assert user["locked_until"] is not None
    c = app.test_client()
    assert c.post("/login", data=_form(c)).status_code == 401  # still locked


def test_refusals_do_not_tell_which_names_exist(tmp_path, monkeypatch):
    """Unknown name, wrong password, locked account, disabled account: one status, one page,
    one password-hash computation each."""
    lab = build_lab(tmp_path)
    app = create_app(lab.ws, clock=FakeClock(), testing=True)
    store = lab.ws.open_store()
    try:
        store.conn.execute("UPDATE users SET active=0 WHERE name='rev2'")
    finally:
        store.close()
    for i in range(5):  # lock boss
        c = app.test_client()
        assert c.post("/login", data=_form(c, "boss", f"wrong {i}")).status_code == 401
    calls, _ = _counting_verify(monkeypatch)
    pages = {}
    for case, name, password in (("unknown", "nobody", "wrong"), ("wrong", "rev1", "wrong"),
                                 ("locked", "boss", PASSWORD), ("disabled", "rev2", PASSWORD)):
        c = app.test_client()
        form = _form(c, name, password)
        before = len(calls)
        r = c.post("/login", data=form)
        assert len(calls) - before == 1, case
        body = r.get_data(as_text=True).replace(form["csrf_token"], "TOKEN")
        body = re.sub(r'name="csrf-token" content="[^"]+"', "", body)
        body = re.sub(r'name="csrf_token" value="[^"]+"', "", body)
        pages[case] = (r.status_code, body.replace(f'value="{name}"', 'value="NAME"'),
                       tuple(sorted(k for k in r.headers.keys() if k != "Content-Length")))
    assert len(set(pages.values())) == 1, {k: v[0] for k, v in pages.items()}
    assert pages["unknown"][0] == 401 and "Sign-in refused" in pages["unknown"][1]
    # The audit trail (for administrators) still says what happened.
    store = lab.ws.open_store()
    try:
        reasons = [a["arguments"]["reason"] for a in store.audit_entries(40)
                   if a["command"] == "web:login"][:4]
    finally:
        store.close()
    assert reasons == ["disabled", "locked", "wrong password", "unknown name"]
