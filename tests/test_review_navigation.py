"""Navigating the queue: pages through all of it, filters, sort, search, the item view's
next/previous in the filtered order, and the case view (duplicates once); on pictures really
ingested through the CLI (folders, cameras, dates, a PDQ near-match list)."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import flip_bits, jpeg, write
from tests.web_support import PASSWORD, reveal, set_review_config, signed_in
from triage.accounts import hash_password
from triage.web import create_app

DAY = 86_400
JAN = 1_735_689_600  # 2025-01-01


@pytest.fixture
def lab(tmp_path, triage, workspace):
    ev = tmp_path / "ev"
    for i in range(24):
        folder = ("DCIM/Camera", "WhatsApp/Media", "Pictures")[i % 3]
        p = write(ev, f"{folder}/pic_{i:02d}.jpg", jpeg(300 + i, (160, 120), exif=i % 3 == 0))
        os.utime(p, (JAN + i * DAY, JAN + i * DAY))
    write(ev, "Download/pic_00_copy.jpg", (ev / "DCIM/Camera/pic_00.jpg").read_bytes())
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    write(tmp_path / "ev2", "Pictures/same.jpg", (ev / "Pictures/pic_02.jpg").read_bytes())
    triage("ingest", str(tmp_path / "ev2"), "--case", "C1", "--device", "D1-B", "--workers",
           "0", "--no-classify")
    store = workspace.open_store()
    try:
        uid = store.add_user("rev1", "reviewer", hash_password(PASSWORD), "2026-05-01T00:00:00Z")
        store.assign_case(store.case_by_reference("C1")["id"], uid)
        device = store.device("D1")["id"]
    finally:
        store.close()
    set_review_config(workspace, "page_size = 60", "page_size = 7")
    client, post = signed_in(create_app(workspace, testing=True))
    return workspace, device, client, post


def _ids(html: str) -> list[int]:
    grid = html.split('class="grid"', 1)[1] if 'class="grid"' in html else ""
    return [int(x) for x in re.findall(r'<figure class="tile[^"]*"[^>]*data-cid="(\d+)"', grid)]


def _all_pages(client, url: str) -> list[int]:
    first = client.get(url).get_data(as_text=True)
    m = re.search(r'id="page-count">(\d+)<', first)
    out = _ids(first)
    for n in range(2, int(m.group(1)) + 1 if m else 1):
        out += _ids(client.get(f"{url}&page={n}").get_data(as_text=True))
    return out


def _queue(ws, device):
    store = ws.open_store()
    try:
        return store.queue_entries(device)
    finally:
        store.close()


def _paths(ws, device, cid):
    store = ws.open_store()
    try:
        return [f["path"] for f in store.content_files(device, cid)]
    finally:
        store.close()


def test_pages_cover_the_whole_queue_in_order(lab):
    ws, device, client, _ = lab
    queue = [e["content_id"] for e in _queue(ws, device)]
    first = client.get("/review/D1").get_data(as_text=True)
    pages = int(re.search(r'id="page-count">(\d+)<', first).group(1))
    assert pages == -(-len(queue) // 7)
    seen = []
    for n in range(1, pages + 1):
        seen += _ids(client.get(f"/review/D1?page={n}").get_data(as_text=True))
    assert seen == queue  # every entry once, in rank order, the last one on the last page
    # Out of range and nonsense page numbers land on a real page.
    assert _ids(client.get("/review/D1?page=999").get_data(as_text=True))[-1] == queue[-1]
    assert _ids(client.get("/review/D1?page=x").get_data(as_text=True)) == queue[:7]


def test_filters_sort_and_search(lab):
    ws, device, client, post = lab
    def every(q: str) -> list[int]:
        return _all_pages(client, f"/review/D1?{q}")

    dcim = every("folder=DCIM")
    assert dcim and all(any(p.startswith("DCIM/") for p in _paths(ws, device, c)) for c in dcim)
    assert len(dcim) == 8
    cams = re.findall(r'<option value="([^"]+)">[^<]+ \(\d+\)</option>',
                      client.get("/review/D1").get_data(as_text=True))
    camera = cams[0]
    store = ws.open_store()
    try:
        for cid in every(f"camera={camera}"):
            f = store.content_facts(cid)
            assert f"{f['exif_make']} {f['exif_model']}" == camera
        # Dates: EXIF capture time where the camera wrote one, else the file's mtime.
        taken = {r[0]: r[1] for r in store.conn.execute(
            "SELECT content_id, taken_at FROM review_facts WHERE device_id=?", (device,))}
    finally:
        store.close()
    window = every("from=2025-01-05&to=2025-01-10&folder=Pictures")
    assert window and all("2025-01-05" <= taken[c][:10] <= "2025-01-10" for c in window)
    by_date = every("sort=date&order=asc")
    assert [taken[c] for c in by_date] == sorted(taken[c] for c in by_date)
    by_path = every("sort=path")
    entry_path = {e["content_id"]: e["path"] for e in _queue(ws, device)}
    assert by_path == sorted(entry_path, key=lambda c: (entry_path[c], c))
    assert every("sort=size&order=asc") != every("sort=size")  # both directions offered
    # Search by file name, and by hash (a copy's SHA-256 finds its entry).
    assert every("q=PIC_05") == [c for c in every("") if any(
        p.endswith("/pic_05.jpg") for p in _paths(ws, device, c))]
    target = every("q=pic_07")[0]
    store = ws.open_store()
    try:
        sha = store.content_facts(target)["sha256"]
    finally:
        store.close()
    assert every(f"q={sha.upper()}") == [target]
    # A hash already decided says where it went instead of showing nothing.
    reveal(client, post, device, target)
    assert post("/api/decide", device_id=device, content_id=target,
                category="C").status_code == 200
    html = client.get(f"/review/D1?q={sha}").get_data(as_text=True)
    assert 'id="found-elsewhere"' in html and "categorised Category C by rev1" in html
    # The categorised pictures are a scope of their own.
    assert every("scope=decided") == [target]
    # Values that are not what a filter can be are dropped, not passed on.
    r = client.get("/review/D1?sort=score;DROP TABLE files&order=sideways&from=yesterday"
                   "&match=everything&category=Z")
    assert r.status_code == 200 and _ids(r.get_data(as_text=True)) == every("")[:7]


def test_item_view_moves_in_the_filtered_order(lab):
    ws, device, client, _ = lab
    dcim = _all_pages(client, "/review/D1?folder=DCIM&sort=path")
    html = client.get(f"/review/D1/item/{dcim[0]}?folder=DCIM&sort=path").get_data(as_text=True)
    nxt = re.search(r'id="item-next" href="/review/D1/item/(\d+)\?([^"]+)"', html)
    assert int(nxt.group(1)) == dcim[1] and "folder=DCIM" in nxt.group(2)
    assert f"item 1 of {len(dcim)}" in html
    last = client.get(f"/review/D1/item/{dcim[-1]}?folder=DCIM&sort=path").get_data(as_text=True)
    assert 'id="item-next"' not in last
    assert re.search(rf'id="item-prev" href="/review/D1/item/{dcim[-2]}\?', last)


def test_near_match_filter_and_the_case_view(lab, triage, tmp_path):
    ws, device, client, _ = lab
    queue = _queue(ws, device)
    store = ws.open_store()
    try:
        pdq = store.content_facts(queue[3]["content_id"])["pdq"]
    finally:
        store.close()
    (tmp_path / "near.pdq").write_text(f"{flip_bits(pdq, 6)},A\n")
    triage("hashsets", "import", str(tmp_path / "near.pdq"), "--name", "near-list",
           "--format", "pdq", "--kind", "alert", "--scheme", "uk")
    assert _ids(client.get("/review/D1?match=near").get_data(as_text=True)) == [
        queue[3]["content_id"]]
    assert queue[3]["content_id"] not in _ids(client.get("/review/D1?match=none")
                                              .get_data(as_text=True) + "")
    # The case view: the picture on both exhibits is shown once, naming both.
    case = client.get("/case/C1").get_data(as_text=True)
    total = int(re.search(r"entries \d+–\d+ of (\d+)", case).group(1))
    pages = int(re.search(r'id="page-count">(\d+)<', case).group(1))
    for n in range(2, pages + 1):
        case += client.get(f"/case/C1?page={n}").get_data(as_text=True)
    store = ws.open_store()
    try:
        d1 = store.queue_counts(device)[0]
        d2 = store.queue_counts(store.device("D1-B")["id"])[0]
    finally:
        store.close()
    assert (d1, d2) == (d1, 1) and total == d1  # D1-B's one picture is D1's pic_02
    assert "on 2 exhibits" in case
    assert client.get("/case/NOPE").status_code == 404
