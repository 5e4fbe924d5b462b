"""The second look: pictures marked 'uncertain' leave the queue but stay listed on the device
grid until a reviewer gives them a real category; and the known-material toggle."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from click.testing import CliRunner

from tests.web_support import (PASSWORD, FakeClock, add_second_exhibit, build_lab, content_id_of,
                               signed_in)
from triage.cli.main import cli
from triage.web import create_app
from triage.accounts import hash_password


@pytest.fixture
def env(tmp_path):
    lab = build_lab(tmp_path)
    # A second exhibit of case C1 holding the same picture as D1's a.jpg, and a second
    # reviewer of C1 who did not make the 'uncertain' mark.
    add_second_exhibit(lab, tmp_path)
    store = lab.ws.open_store()
    try:
        uid = store.add_user("rev3", "reviewer", hash_password(PASSWORD), "2026-05-01T00:00:00")
        store.assign_case(store.case_by_reference("C1")["id"], uid)
    finally:
        store.close()
    clock = FakeClock()
    app = create_app(lab.ws, clock=clock, testing=True)
    return lab, app, clock


def _tile_ids(client, url):
    html = client.get(url).get_data(as_text=True)
    return [int(x) for x in re.findall(r'data-cid="(\d+)"', html)]


def _queue(client, label="D1"):
    return _tile_ids(client, f"/review/{label}")


def _second_look(client, label="D1"):
    return _tile_ids(client, f"/review/{label}?uncertain=1")


def _categories(lab, label, path):
    store = lab.ws.open_store()
    try:
        return store.file_categories(store.device(label)["id"])[path]
    finally:
        store.close()


def test_uncertain_leaves_the_queue_and_waits_for_a_second_look(env):
    lab, app, clock = env
    client, post = signed_in(app, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    assert cid in _queue(client) and _second_look(client) == []
    assert "Needs a second look" not in client.get("/review/D1").get_data(as_text=True)

    r = post("/api/decide", device_id=lab.d1, content_id=cid, category="uncertain")
    assert r.status_code == 200
    assert cid not in _queue(client)
    assert _second_look(client) == [cid]
    assert _second_look(client, "D1-B") == [content_id_of(lab.ws, "D1-B", "Pictures/same.jpg")]
    grid = client.get("/review/D1").get_data(as_text=True)
    assert "Needs a second look (1)" in grid and "/review/D1?uncertain=1" in grid
    index = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/review/D1\?uncertain=1">1</a>', index)

    # Shown as queue tiles are: the blurred copy only, the unblurred one only while revealed.
    page = client.get("/review/D1?uncertain=1").get_data(as_text=True)
    assert f'class="media veiled" draggable="false" alt="picture {cid}, blurred"' in page
    assert f'src="/media/{cid}/blurred"' in page and "marked uncertain by rev1" in page
    assert 'data-keys="' in page and "Category A" in page
    assert client.get(f"/media/{cid}/revealed").status_code == 403
    assert client.get(f"/media/{cid}/blurred").status_code == 200
    # Opening it one at a time sends the reviewer to the second-look grid, not the queue.
    r = client.get(f"/review/D1/item/{cid}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/review/D1?uncertain=1")

    # Pressing U again changes nothing and says so.
    assert post("/api/decide", device_id=lab.d1, content_id=cid,
                category="uncertain").status_code == 409
    # The reviewer who marked it decides it: the category applies to every copy in the case.
    r = post("/api/decide", device_id=lab.d1, content_id=cid, category="B")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["progress"]["by_category"] == {"B": 1}
    assert _second_look(client) == [] and _second_look(client, "D1-B") == []
    assert cid not in _queue(client)
    for path in lab.dup_paths:
        assert _categories(lab, "D1", path) == "B"
    assert _categories(lab, "D1-B", "Pictures/same.jpg") == "B"
    assert "Needs a second look" not in client.get("/review/D1").get_data(as_text=True)
    assert post("/api/decide", device_id=lab.d1, content_id=cid,
                category="A").status_code == 409  # decided: no silent re-categorising

    # Undo takes the category back and the picture returns to the second-look list.
    clock.advance(3)
    r = post("/api/undo", device_id=lab.d1)
    assert r.status_code == 200 and cid in r.get_json()["content_ids"]
    assert _second_look(client) == [cid] and cid not in _queue(client)
    assert _categories(lab, "D1", lab.dup_paths[1]) == "uncertain"
    assert _categories(lab, "D1-B", "Pictures/same.jpg") == "uncertain"
    # A further undo takes back the 'uncertain' mark itself: back in the queue.
    clock.advance(3)
    assert post("/api/undo", device_id=lab.d1).status_code == 200
    assert cid in _queue(client) and _second_look(client) == []
    assert _categories(lab, "D1", lab.dup_paths[0]) is None


def test_another_reviewer_of_the_case_takes_the_second_look(env):
    lab, app, clock = env
    client1, post1 = signed_in(app, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    post1("/api/decide", device_id=lab.d1, content_id=cid, category="uncertain")
    clock.advance(10)
    client3, post3 = signed_in(app, "rev3")
    assert _second_look(client3) == [cid]
    # Revealing it is recorded as exposure like any other reveal.
    r = post3("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)
    assert r.status_code == 200
    assert client3.get(f"/media/{cid}/revealed").status_code == 200
    clock.advance(4)
    post3("/api/exposure/stop", id=r.get_json()["id"])
    r = post3("/api/decide", device_id=lab.d1, content_id=cid, category="not_indecent")
    assert r.status_code == 200
    assert _second_look(client1) == []
    store = lab.ws.open_store()
    try:
        rows = store.decisions_for(lab.d1, active_only=False)
        assert [(d["user"], d["category"], d["undone_at"] is None) for d in rows] == [
            ("rev1", "uncertain", False), ("rev3", "not_indecent", True)]
        shown = [e for e in store.exposure_intervals(store.require_user("rev3")["id"])
                 if e["mode"] == "revealed"]
        # Charged for the delivery: the 8 s re-blur time, which a stop after 4 s cannot shorten.
        assert [(e["content_id"], e["seconds"], e["severity"]) for e in shown] == [
            (cid, 8.0, "not_indecent")]
        audit = [json.loads(a["arguments"]) for a in store.conn.execute(
            "SELECT arguments FROM audit WHERE command='web:image'")]
        assert any(a.get("user") == "rev3" and a.get("content_id") == cid
                   and a.get("variant") == "revealed" for a in audit)
    finally:
        store.close()
    # rev1's mark has been replaced, so rev1 has nothing left to undo; rev3's undo takes the
    # category back and rev1's mark returns.
    clock.advance(1)
    assert post1("/api/undo", device_id=lab.d1).status_code == 409
    assert _categories(lab, "D1", "DCIM/p103.jpg") == "not_indecent"
    assert post3("/api/undo", device_id=lab.d1).status_code == 200
    assert _categories(lab, "D1", "DCIM/p103.jpg") == "uncertain"
    assert _second_look(client1) == [cid]


def test_another_cases_reviewer_gets_404(env):
    lab, app, clock = env
    _, post1 = signed_in(app, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    post1("/api/decide", device_id=lab.d1, content_id=cid, category="uncertain")
    client2, post2 = signed_in(app, "rev2")
    assert client2.get("/review/D1?uncertain=1").status_code == 404
    assert client2.get(f"/media/{cid}/blurred").status_code == 404
    assert client2.get(f"/review/D1/item/{cid}").status_code == 404
    assert post2("/api/decide", device_id=lab.d1, content_id=cid,
                 category="A").status_code == 404
    # Its own device id does not open the other case's picture either.
    assert post2("/api/decide", device_id=lab.d2, content_id=cid,
                 category="A").status_code == 409
    assert _second_look(client2, "D2") == []
    assert _categories(lab, "D1", "DCIM/a.jpg") == "uncertain"
    # And without the CSRF token nobody decides anything.
    assert client2.post("/api/decide", json={"device_id": lab.d2, "content_id": cid,
                                             "category": "A"}).status_code in (400, 403)


def test_known_toggle_lists_exact_alert_matches_not_known_good(env, tmp_path):
    lab, app, clock = env
    ev1 = tmp_path / "ev1"
    md5 = {p: hashlib.md5((ev1 / p).read_bytes()).hexdigest()
           for p in ("DCIM/p103.jpg", "DCIM/p104.jpg")}
    alert, good = tmp_path / "alert.md5", tmp_path / "good.md5"
    alert.write_text(f"{md5['DCIM/p103.jpg']}  x.jpg\n")
    good.write_text(f"{md5['DCIM/p104.jpg']}  y.jpg\n")
    runner = CliRunner()
    for path, name, kind in ((alert, "alerts", "alert"), (good, "good", "known-good")):
        r = runner.invoke(cli, ["-w", str(lab.ws.root), "hashsets", "import", str(path),
                                "--name", name, "--kind", kind], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    client, _ = signed_in(app, "rev1")
    listed = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    benign = content_id_of(lab.ws, "D1", "DCIM/p104.jpg")
    queue = _queue(client)
    assert listed not in queue and benign not in queue
    hidden = client.get("/review/D1").get_data(as_text=True)
    assert "1 known (list-matched) pictures are hidden" in hidden
    assert 'aria-label="known material"' not in hidden
    shown = client.get("/review/D1?known=1").get_data(as_text=True)
    section = shown.split('aria-label="known material"', 1)[1]
    assert [int(x) for x in re.findall(r'\ssrc="/media/(\d+)/blurred"', section)] == [listed]
    assert 'class="media veiled"' in section
    assert client.get(f"/media/{listed}/revealed").status_code == 403
