"""Peer check: a second reviewer's blind check of category A decisions, the lead's resolution of
a disagreement, and the VICS export refusing while a required check is open."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from tests.web_support import (PASSWORD, build_lab, content_id_of, reveal, set_review_config,
                               signed_in)
from triage.accounts import hash_password
from triage.cli.main import cli
from triage.web import create_app


@pytest.fixture
def env(tmp_path):
    lab = build_lab(tmp_path, reveal_first=True)
    set_review_config(lab.ws, "categories = []", 'categories = ["A"]')
    store = lab.ws.open_store()
    try:
        case = store.case_by_reference("C1")["id"]
        for name, role in (("rev1b", "reviewer"), ("lead1", "lead")):
            uid = store.add_user(name, role, hash_password(PASSWORD), "2026-05-01T00:00:00+00:00")
            store.assign_case(case, uid)
    finally:
        store.close()
    app = create_app(lab.ws, testing=True)
    return lab, app


def _export(lab, tmp_path, ok=True):
    out = tmp_path / "d1.json"
    r = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "export", "--device", "D1",
                                 "--profile", "us", "-o", str(out)])
    assert (r.exit_code == 0) is ok, r.output
    return r, out


def _decide(client, post, lab, path, category):
    cid = content_id_of(lab.ws, "D1", path)
    reveal(client, post, lab.d1, cid)
    r = post("/api/decide", device_id=lab.d1, content_id=cid, category=category)
    assert r.status_code == 200, r.get_json()
    return cid, r.get_json()


def test_a_second_reviewer_confirms_blind_and_export_waits_for_it(env, tmp_path):
    lab, app = env
    c1, p1 = signed_in(app, "rev1")
    cid, body = _decide(c1, p1, lab, "DCIM/p103.jpg", "A")
    assert body["peer_check"] is True
    r, out = _export(lab, tmp_path, ok=False)
    assert "wait for a second reviewer's check" in r.output and "Nothing was written" in r.output
    assert not out.exists()
    # Not one's own decision.
    assert 'id="peer-none"' in c1.get("/peer/").get_data(as_text=True)
    c2, p2 = signed_in(app, "rev1b")
    listing = c2.get("/peer/").get_data(as_text=True)
    action = int(re.search(r'href="/peer/(\d+)"', listing).group(1))
    assert action == body["action_id"]
    page = c2.get(f"/peer/{action}").get_data(as_text=True)
    # Nothing of the first decision on the page: no category, no reviewer, no history.
    assert re.search(r'id="peer-first">\s*</strong>', page)
    assert "rev1<" not in page and 'id="ctx-decisions"' not in page
    assert p2("/api/peer/check", action_id=action, category="A").status_code == 409  # unseen
    reveal(c2, p2, lab.d1, cid)
    r = p2("/api/peer/check", action_id=action, category="A")
    assert r.status_code == 200
    assert r.get_json()["agreed"] is True
    assert r.get_json()["first_label"] == "Category A" and r.get_json()["first_user"] == "rev1"
    again = p2("/api/peer/check", action_id=action, category="A")
    assert again.status_code == 409 and "already checked" in again.get_json()["error"]
    assert p1("/api/peer/check", action_id=action, category="A").status_code == 409
    _export(lab, tmp_path)
    # The device report says it.
    rep = json.loads(CliRunner().invoke(cli, ["-w", str(lab.ws.root), "report", "--device",
                                              "D1", "--json"]).output)
    assert rep["peer_check"] == {"categories": ["A"], "confirmed": 1, "waiting": 0,
                                 "disagreements": 0}


def test_a_disagreement_waits_for_a_lead_whose_category_stands(env, tmp_path):
    lab, app = env
    c1, p1 = signed_in(app, "rev1")
    cid, body = _decide(c1, p1, lab, "DCIM/a.jpg", "A")  # two copies on D1
    c2, p2 = signed_in(app, "rev1b")
    reveal(c2, p2, lab.d1, cid)
    r = p2("/api/peer/check", action_id=body["action_id"], category="B")
    assert r.get_json()["agreed"] is False
    r, _ = _export(lab, tmp_path, ok=False)
    assert "disagreement" in r.output
    # Reviewers cannot settle it; the lead can (not having been either reviewer).
    assert c1.get("/peer/disagreements").status_code == 403
    lead, lpost = signed_in(app, "lead1")
    page = lead.get("/peer/disagreements").get_data(as_text=True)
    check_id = int(re.search(r'action="/peer/resolve/(\d+)"', page).group(1))
    assert "Category A" in page and "Category B" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = lead.post(f"/peer/resolve/{check_id}", data={"category": "B", "note": "B on review",
                                                      "csrf_token": token})
    assert r.status_code == 302
    store = lab.ws.open_store()
    try:
        current = store.current_decisions(lab.d1)
        cats = store.file_categories(lab.d1)
    finally:
        store.close()
    assert current[cid]["category"] == "B" and current[cid]["via"] == "resolution"
    assert cats["DCIM/a.jpg"] == cats["WhatsApp/Sent/a-copy.jpg"] == "B"
    _export(lab, tmp_path)
    # A second resolution of the same check is refused.
    r = lead.post(f"/peer/resolve/{check_id}", data={"category": "A", "csrf_token": token},
                  follow_redirects=True)
    assert "already been resolved" in r.get_data(as_text=True)


def test_an_undone_decision_needs_no_check(env, tmp_path):
    lab, app = env
    c1, p1 = signed_in(app, "rev1")
    _decide(c1, p1, lab, "DCIM/p104.jpg", "A")
    _export(lab, tmp_path, ok=False)
    assert p1("/api/undo", device_id=lab.d1).status_code == 200
    c2, _ = signed_in(app, "rev1b")
    assert 'id="peer-none"' in c2.get("/peer/").get_data(as_text=True)
    _export(lab, tmp_path)
