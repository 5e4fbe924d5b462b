"""Decisions that look first (the server's reveal rule), the group count, tags / notes / VICS
fields and their export, through Flask's client on really ingested generated pictures."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from tests.web_support import (build_lab, content_id_of, reveal, set_review_config,
                               signed_in)
from triage.cli.main import cli
from triage.web import create_app


@pytest.fixture
def lab(tmp_path):
    return build_lab(tmp_path, reveal_first=True)


def _cluster(lab) -> tuple[int, list[int]]:
    store = lab.ws.open_store()
    try:
        entry = next(e for e in store.queue_entries(lab.d1) if e["cluster_size"] > 1)
        members = store.queue_members(lab.d1, [entry["content_id"]])[entry["content_id"]]
    finally:
        store.close()
    return entry["content_id"], members


def test_a_category_is_refused_until_the_picture_was_revealed_in_this_session(lab):
    app = create_app(lab.ws, testing=True)
    client, post = signed_in(app)
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    r = post("/api/decide", device_id=lab.d1, content_id=cid, category="A")
    assert r.status_code == 409 and r.get_json()["reveal_required"]
    assert "Reveal the picture first" in r.get_json()["error"]
    # Starting an exposure interval is not a look: only the delivered picture counts.
    post("/api/exposure/start", mode="revealed", device_id=lab.d1, content_id=cid)
    assert post("/api/decide", device_id=lab.d1, content_id=cid, category="A").status_code == 409
    assert client.get(f"/media/{cid}/revealed").status_code == 200
    r = post("/api/decide", device_id=lab.d1, content_id=cid, category="A")
    assert r.status_code == 200 and r.get_json()["pictures"] == 1
    # Another session (signed in again) starts blurred: its reveals are its own.
    other = content_id_of(lab.ws, "D1", "DCIM/p104.jpg")
    reveal(client, post, lab.d1, other)
    client2, post2 = signed_in(app)
    assert post2("/api/decide", device_id=lab.d1, content_id=other,
                 category="B").status_code == 409
    # "uncertain" needs no look: it says the reviewer cannot tell, and waits for a second look.
    assert post2("/api/decide", device_id=lab.d1, content_id=other,
                 category="uncertain").status_code == 200
    # The second look applies the same rule.
    r = post2("/api/decide", device_id=lab.d1, content_id=other, category="B")
    assert r.status_code == 409 and r.get_json()["reveal_required"]
    reveal(client2, post2, lab.d1, other)
    assert post2("/api/decide", device_id=lab.d1, content_id=other,
                 category="B").status_code == 200


def test_a_group_needs_its_representative_revealed_and_the_count_it_was_shown(lab):
    client, post = signed_in(create_app(lab.ws, testing=True))
    rep, members = _cluster(lab)
    other = next(m for m in members if m != rep)
    reveal(client, post, lab.d1, other)  # a member is not the picture on the tile
    r = post("/api/decide", device_id=lab.d1, content_id=rep, category="B", cluster=True,
             covers=len(members))
    assert r.status_code == 409 and r.get_json()["reveal_required"]
    reveal(client, post, lab.d1, rep)
    # The page asked about a different number of pictures: confirm again.
    r = post("/api/decide", device_id=lab.d1, content_id=rep, category="B", cluster=True,
             covers=len(members) + 5)
    assert r.status_code == 409 and r.get_json()["cluster_size"] == len(members)
    r = post("/api/decide", device_id=lab.d1, content_id=rep, category="B", cluster=True,
             covers=len(members))
    assert r.status_code == 200 and r.get_json()["pictures"] == len(members)


def test_the_lab_may_turn_the_rule_off(lab):
    set_review_config(lab.ws, "reveal_before_category = true", "reveal_before_category = false")
    client, post = signed_in(create_app(lab.ws, testing=True))
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    assert post("/api/decide", device_id=lab.d1, content_id=cid, category="C").status_code == 200


def test_the_grid_marks_what_this_session_revealed_and_says_the_rule(lab):
    client, post = signed_in(create_app(lab.ws, testing=True))
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    html = client.get("/review/D1").get_data(as_text=True)
    assert 'data-reveal-first="1"' in html
    assert re.search(rf'data-cid="{cid}"[^>]*data-revealed', html) is None
    reveal(client, post, lab.d1, cid)
    html = client.get("/review/D1").get_data(as_text=True)
    assert re.search(rf'data-cid="{cid}"[^>]*\s+data-revealed="1"', html, re.S)


def test_tags_notes_and_vics_fields_are_kept_and_exported(lab, tmp_path):
    client, post = signed_in(create_app(lab.ws, testing=True))
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    r = post("/api/annotate", device_id=lab.d1, content_id=cid, tags="bedroom, Series-X ,",
             note="seen twice\nsame room", series="Series X", victim_identified="yes",
             offender_identified="no", distributed=None)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["tags"] == ["bedroom", "Series-X"]
    bad = post("/api/annotate", device_id=lab.d1, content_id=cid, tags=["a\x1b[2Jb"])
    assert bad.status_code == 400 and "control character" in bad.get_json()["error"]
    assert post("/api/annotate", device_id=lab.d2, content_id=cid,
                tags=["x"]).status_code == 404  # D2 is not rev1's case
    # The item view shows them back; the grid filters by tag.
    html = client.get(f"/review/D1/item/{cid}").get_data(as_text=True)
    assert 'value="bedroom, Series-X"' in html and "seen twice" in html
    tagged = client.get("/review/D1?tag=bedroom").get_data(as_text=True)
    assert re.findall(r'data-cid="(\d+)"', tagged) == [str(cid)]
    # Exported in VICS: Series, the flags given, Tags, Comments; nothing for the others.
    reveal(client, post, lab.d1, cid)
    assert post("/api/decide", device_id=lab.d1, content_id=cid, category="B").status_code == 200
    out = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "export", "--device", "D1",
                                   "--profile", "us"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    media = {m["MediaID"]: m for m in json.loads(out.output)["value"][0]["Media"]}
    m = media[cid]
    assert m["Series"] == "Series X" and m["VictimIdentified"] is True
    assert m["OffenderIdentified"] is False and "IsDistributed" not in m
    assert m["Tags"] == "bedroom; Series-X" and m["Comments"] == "seen twice\nsame room"
    assert not any("Series" in x for k, x in media.items() if k != cid)
    # Read back by the importer, the fields stay (VICS round trip).
    path = tmp_path / "back.json"
    path.write_text(out.output)
    r = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "hashsets", "import", str(path),
                                 "--name", "back"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    store = lab.ws.open_store()
    try:
        entries = list(store.iter_list_entries("back"))
    finally:
        store.close()
    record = next(e["record"] for e in entries if e["record"].get("Series"))
    assert record["Tags"] == "bedroom; Series-X" and record["VictimIdentified"] is True
    # Cleared: everything empty removes the annotation.
    assert post("/api/annotate", device_id=lab.d1, content_id=cid).status_code == 200
    store = lab.ws.open_store()
    try:
        assert store.annotation(store.device_case_id(lab.d1), cid) is None
    finally:
        store.close()
