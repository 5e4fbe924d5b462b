"""The backlog page of the web app: backlog, lead and admin roles see the framework; a reviewer
does not. Skipped when the web app is not installed in this checkout."""

from __future__ import annotations

import re

import pytest

web = pytest.importorskip("triage.web", reason="the web app (issue 5) is not installed")
from triage.accounts import hash_password  # noqa: E402

PASSWORD = "correct horse battery"


def _login(client, name: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (302, 303), r.get_data(as_text=True)[:300]


@pytest.fixture
def app(triage, workspace):
    for i, band in enumerate(("VH", "H", "L")):
        triage("devices", "add", f"EXH-{i}", "--case", "OP-W", "--risk", band,
               "--seized", "2026-01-05")
    store = workspace.open_store()
    try:
        for name, role in (("manager", "backlog"), ("lead1", "lead"), ("rev1", "reviewer")):
            store.add_user(name, role, hash_password(PASSWORD), "2026-01-01T00:00:00+00:00")
    finally:
        store.close()
    return web.create_app(workspace, testing=True)


@pytest.mark.parametrize("who", ["manager", "lead1"])
def test_backlog_page_for_backlog_and_lead_roles(app, who: str):
    client = app.test_client()
    _login(client, who)
    r = client.get("/backlog/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="kpi-waiting"><div class="v">3</div>' in html
    assert html.count("<svg") == 4 and "EXH-0" in html and "<style" not in html
    css = client.get("/backlog/report.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_backlog_page_refuses_reviewers_and_anonymous(app):
    client = app.test_client()
    assert client.get("/backlog/").status_code in (302, 303)  # to the sign-in page
    _login(client, "rev1")
    assert client.get("/backlog/").status_code == 403
