"""Categorising: exact duplicates, near-duplicate clusters after confirmation, undo, progress."""

from __future__ import annotations

import re

import pytest

from tests.web_support import FakeClock, add_second_exhibit, build_lab, content_id_of, signed_in
from triage.queue.workload import seconds_per_item
from triage.web import create_app


@pytest.fixture
def env(tmp_path):
    lab = build_lab(tmp_path)
    add_second_exhibit(lab, tmp_path)
    clock = FakeClock()
    client, post = signed_in(create_app(lab.ws, clock=clock, testing=True), "rev1")
    return lab, client, post, clock


def _grid_ids(client, label="D1"):
    return [int(x) for x in re.findall(r'data-cid="(\d+)"', client.get(f"/review/{label}")
                                       .get_data(as_text=True))]


def _store(lab):
    return lab.ws.open_store()


def test_decision_covers_every_copy_and_leaves_the_queue(env):
    lab, client, post, clock = env
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    before = _grid_ids(client)
    assert cid in before
    r = post("/api/decide", device_id=lab.d1, content_id=cid, category="C")
    assert r.status_code == 200
    body = r.get_json()
    assert body["progress"]["decided"] == 1
    assert body["progress"]["remaining"] == len(before) - 1
    after = _grid_ids(client)
    assert cid not in after and len(after) == len(before) - 1
    store = _store(lab)
    try:
        cats = store.file_categories(lab.d1)
        assert cats[lab.dup_paths[0]] == cats[lab.dup_paths[1]] == "C"
        assert store.file_categories(store.device("D1-B")["id"])["Pictures/same.jpg"] == "C"
        rows = {(d["device_id"], d["via"]): d for d in store.decisions_for(lab.d1)}
        direct = rows[(lab.d1, "direct")]
        assert direct["user"] == "rev1" and direct["decided_at"].startswith("2026-05-04T09:00:00")
        assert direct["scheme"] == "uk"
        other = store.decisions_for(store.device("D1-B")["id"])
        assert [d["via"] for d in other] == ["duplicate"]
    finally:
        store.close()
    # A second key press on the same picture is refused, not silently re-categorised.
    assert post("/api/decide", device_id=lab.d1, content_id=cid, category="A").status_code == 409
    assert post("/api/decide", device_id=lab.d1, content_id=cid + 1000,
                category="A").status_code == 409
    assert post("/api/decide", device_id=lab.d1, content_id=before[-1],
                category="Z").status_code == 400
    # The single-item view of a decided picture moves on to the queue's next item.
    r = client.get(f"/review/D1/item/{cid}")
    assert r.status_code == 302 and "/item/" in r.headers["Location"]


def test_undo_takes_back_the_whole_decision(env):
    lab, client, post, clock = env
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    before = _grid_ids(client)
    post("/api/decide", device_id=lab.d1, content_id=cid, category="A")
    clock.advance(5)
    r = post("/api/undo", device_id=lab.d1)
    assert r.status_code == 200 and cid in r.get_json()["content_ids"]
    assert sorted(_grid_ids(client)) == sorted(before)
    store = _store(lab)
    try:
        assert set(store.file_categories(lab.d1).values()) == {None}
        assert set(store.file_categories(store.device("D1-B")["id"]).values()) == {None}
        undone = store.decisions_for(lab.d1, active_only=False)
        assert undone and all(d["undone_at"].startswith("2026-05-04T09:00:05") for d in undone)
    finally:
        store.close()
    assert post("/api/undo", device_id=lab.d1).status_code == 409  # nothing left to undo


def test_cluster_gets_the_category_only_when_confirmed(env):
    lab, client, post, clock = env
    big = content_id_of(lab.ws, "D1", "DCIM/p102.jpg")
    small = content_id_of(lab.ws, "D1", "WhatsApp/p102-small.jpg")
    html = client.get("/review/D1").get_data(as_text=True)
    tile = re.search(r'data-cid="(\d+)"\s+data-cluster="2"', html)
    assert tile, "the resized copy should be clustered with its original"
    rep = int(tile.group(1))
    assert rep in (big, small)
    other = small if rep == big else big
    # Not confirmed: only the representative.
    post("/api/decide", device_id=lab.d1, content_id=rep, category="B")
    store = _store(lab)
    try:
        assert {d["content_id"] for d in store.decisions_for(lab.d1)} == {rep}
    finally:
        store.close()
    post("/api/undo", device_id=lab.d1)
    # Confirmed: the whole cluster, marked as applied via the cluster.
    r = post("/api/decide", device_id=lab.d1, content_id=rep, category="B", cluster=True)
    assert sorted(r.get_json()["content_ids"]) == sorted([big, small])
    store = _store(lab)
    try:
        vias = {d["content_id"]: d["via"] for d in store.decisions_for(lab.d1)}
    finally:
        store.close()
    assert vias == {rep: "direct", other: "cluster"}
    assert rep not in _grid_ids(client) and other not in _grid_ids(client)


def test_index_shows_progress_and_forecast(env):
    lab, client, post, clock = env
    html = client.get("/").get_data(as_text=True)
    assert "D1" in html and "D2" not in html
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    r = post("/api/decide", device_id=lab.d1, content_id=cid, category="not_indecent")
    p = r.get_json()["progress"]
    assert p["by_category"] == {"not_indecent": 1}
    per_item = seconds_per_item(lab.ws.config("priority"))  # the one default
    assert p["remaining"] > 0
    assert p["hours_left"] == pytest.approx(p["remaining"] * per_item / 3600, abs=0.01)
    page = client.get(f"/review/D1/item/{_grid_ids(client)[0]}")
    assert page.status_code == 200 and 'data-view="item"' in page.get_data(as_text=True)
