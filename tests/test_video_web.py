"""Video review pages: the grid shows a video's contact sheet only blurred, the video view shows
its frames along a timeline each revealed on its own, the clip plays only on request (muted,
faster if chosen, from the small derivative, never the evidence), exposure mode `video` counts
revealed frames and playback seconds severity-weighted behind the welfare gate, and a decision
covers the video and its copies. Flask's client for the server's rules; Chromium (Playwright)
for the review flow."""

from __future__ import annotations


import pytest

from tests.browser_kit import serving, sign_in
from tests.video_kit import encode, reencode
from tests.web_support import PASSWORD
from triage.accounts import hash_password
from triage.pipeline import Pipeline
from triage.web import create_app
from triage.workspace import Workspace, init_workspace


class VideoLab:
    def __init__(self, ws: Workspace, device: int, ids: dict[str, int]) -> None:
        self.ws, self.device, self.ids = ws, device, ids


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> VideoLab:
    root = tmp_path_factory.mktemp("video-web")
    a = encode(1, 5.0)
    dump = root / "dump"
    made = {"DCIM/a.mp4": a, "WhatsApp/a-small.mkv": reencode(a, width=160, height=120,
                                                             container="mkv"),
            "Movies/b.mp4": encode(3, 4.0)}
    for rel, data in made.items():
        (dump / rel).parent.mkdir(parents=True, exist_ok=True)
        (dump / rel).write_bytes(data)
    ws = init_workspace(root / "ws")
    store = ws.open_store()
    try:
        Pipeline(ws, store, progress=False).process(dump, "OP-W", "PHONE", workers=0,
                                                    classify=False)
        uid = store.add_user("rev1", "reviewer", hash_password(PASSWORD), "2026-05-01T00:00:00")
        store.assign_case(store.case_by_reference("OP-W")["id"], uid)
        ids = {r[0]: int(r[1]) for r in store.conn.execute("SELECT path, content_id FROM files")}
        device = int(store.device("PHONE")["id"])
    finally:
        store.close()
    return VideoLab(ws, device, ids)


def signed_in(lab: VideoLab):
    app = create_app(lab.ws, testing=True)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post("/login", data={"name": "rev1", "password": PASSWORD})
    assert r.status_code in (302, 303), r.data
    return client


def test_grid_shows_the_contact_sheet_blurred_and_links_the_video_view(lab: VideoLab) -> None:
    c = signed_in(lab)
    a = lab.ids["DCIM/a.mp4"]
    page = c.get("/review/PHONE").get_data(as_text=True)
    assert f'data-cid="{a}"' in page and 'data-kind="video"' in page
    assert f"/review/PHONE/video/{a}" in page and "+1 copies" in page
    blurred = c.get(f"/media/{a}/blurred")
    assert blurred.status_code == 200 and blurred.mimetype == "image/jpeg"
    # The sheet holds many frames at once: never sent unblurred, whatever is asked.
    start = c.post("/api/exposure/start", json={"mode": "revealed", "device_id": lab.device,
                                               "content_id": a})
    assert start.status_code == 200
    assert c.get(f"/media/{a}/revealed").status_code == 404
    # The picture item route sends a video entry to its own view.
    r = c.get(f"/review/PHONE/item/{a}")
    assert r.status_code == 302 and f"/review/PHONE/video/{a}" in r.headers["Location"]


def test_frames_and_clip_are_sent_only_while_revealed_and_charged(lab: VideoLab) -> None:
    c = signed_in(lab)
    a = lab.ids["DCIM/a.mp4"]
    page = c.get(f"/review/PHONE/video/{a}").get_data(as_text=True)
    assert page.count('class="frame"') == 5 and "00:04" in page
    assert "covers this video and its 1 re-encoded copy" in page
    assert "WhatsApp/a-small.mkv" in page
    assert c.get(f"/video/{a}/frame/15/blurred").status_code == 200
    assert c.get(f"/video/{a}/frame/15/revealed").status_code == 403  # not revealed yet
    assert c.get(f"/video/{a}/clip").status_code == 403  # not playing
    bad = c.post("/api/exposure/start", json={"mode": "video", "device_id": lab.device,
                                             "content_id": a, "frame": 16})
    assert bad.status_code == 404  # no such kept frame
    r = c.post("/api/exposure/start", json={"mode": "video", "device_id": lab.device,
                                           "content_id": a, "frame": 15}).get_json()
    shown = c.get(f"/video/{a}/frame/15/revealed?e={r['id']}")
    assert shown.status_code == 200 and shown.headers["Cache-Control"].startswith("no-store")
    assert c.get(f"/video/{a}/frame/30/revealed").status_code == 403  # one frame at a time
    c.post("/api/exposure/stop", json={"id": r["id"]})
    store = lab.ws.open_store()
    try:
        frame_row = next(x for x in store.exposure_intervals(store.user_by_name("rev1")["id"])
                         if x["id"] == r["id"])
    finally:
        store.close()
    assert frame_row["seconds"] >= 8.0  # charged its re-blur time, though stopped at once
    p = c.post("/api/exposure/start", json={"mode": "video", "device_id": lab.device,
                                           "content_id": a, "frame": -2}).get_json()
    clip = c.get(f"/video/{a}/clip?e={p['id']}")
    assert clip.status_code == 200 and clip.mimetype == "video/webm"
    assert clip.data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: the small WebM, never the MP4 evidence
    c.post("/api/exposure/stop", json={"id": p["id"]})
    store = lab.ws.open_store()
    try:
        uid = store.user_by_name("rev1")["id"]
        rows = [r for r in store.exposure_intervals(uid) if r["mode"] == "video"]
        totals = store.exposure_totals(uid, None, "day", {"uncategorised": 1.0}, 0.1)
    finally:
        store.close()
    assert len(rows) == 2
    # the clip is charged its length (5 s); the frame's charge ends where the clip began
    clip_row = next(x for x in rows if x["id"] == p["id"])
    assert clip_row["seconds"] >= 5.0
    day = totals[-1]
    assert day["video_frames_revealed"] == 1 and day["video_playback_seconds"] >= 5.0
    assert day["revealed_seconds"] >= 5.0 and day["weighted_units"] > 0


def test_the_welfare_gate_applies_before_any_frame_or_clip(lab: VideoLab,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import triage.welfare as welfare

    class Closed:
        allowed, break_due, reason = False, True, "A welfare break is due now."

    monkeypatch.setattr(welfare, "gate", lambda *a, **k: Closed())
    c = signed_in(lab)
    a = lab.ids["DCIM/a.mp4"]
    for frame in (0, -2):
        r = c.post("/api/exposure/start", json={"mode": "video", "device_id": lab.device,
                                               "content_id": a, "frame": frame})
        assert r.status_code == 403 and r.get_json()["welfare"] is True


# -- the review flow in Chromium -------------------------------------------------------------
@pytest.fixture(scope="module")
def served(lab: VideoLab):
    with serving(create_app(lab.ws)) as base:
        yield base


def test_video_review_flow_in_the_browser(browser, served: str, lab: VideoLab) -> None:
    base = served
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base)
    page.goto(f"{base}/review/PHONE")
    b = lab.ids["Movies/b.mp4"]
    tile = page.locator(f'.tile[data-cid="{b}"]')
    sheet = tile.locator("img.media")
    sheet.wait_for()
    style = sheet.evaluate("el => getComputedStyle(el).filter")
    assert "blur(" in style and "grayscale(" in style, style
    tile.click()  # a video tile opens its view; the sheet is never revealed
    page.wait_for_url(f"{base}/review/PHONE/video/{b}")

    frames = page.locator(".frame img")
    assert frames.count() == 4
    first = frames.first
    assert "blur(" in first.evaluate("el => getComputedStyle(el).filter")
    page.locator(".frame").nth(1).click()
    second = frames.nth(1)
    page.wait_for_function("el => !el.classList.contains('veiled') && el.complete",
                           arg=second.element_handle(), timeout=5000)
    assert "blur(" in first.evaluate("el => getComputedStyle(el).filter")  # only one revealed
    page.keyboard.press(" ")
    page.wait_for_function("el => el.classList.contains('veiled')", arg=second.element_handle())

    video = page.locator("#clip")
    assert video.evaluate("v => v.hidden && !v.getAttribute('src')")  # nothing until asked
    page.keyboard.press("f")  # 2x -> 4x
    page.keyboard.press("p")
    page.wait_for_function("() => { const v = document.getElementById('clip');"
                           " return !v.hidden && v.currentTime > 0.2; }", timeout=10000)
    assert video.evaluate("v => v.muted") is True
    assert video.evaluate("v => v.playbackRate") == 4
    page.keyboard.press("p")
    page.wait_for_function("() => document.getElementById('clip').hidden")

    page.keyboard.press("c")  # categorise: the video leaves the queue
    page.wait_for_url(lambda url: f"/video/{b}" not in url, timeout=5000)
    store = lab.ws.open_store()
    try:
        cats = store.file_categories(lab.device)
        uid = store.user_by_name("rev1")["id"]
        video_rows = [r for r in store.exposure_intervals(uid) if r["mode"] == "video"
                      and r["content_id"] == b]
    finally:
        store.close()
    assert cats["Movies/b.mp4"] == "C"
    assert len(video_rows) == 2  # one frame, one playback
    assert not errors, errors


def test_a_decision_in_the_video_view_covers_its_copies(lab: VideoLab) -> None:
    c = signed_in(lab)
    a = lab.ids["DCIM/a.mp4"]
    r = c.post("/api/decide", json={"device_id": lab.device, "content_id": a, "category": "B",
                                    "cluster": True})
    assert r.status_code == 409 and r.get_json()["reveal_required"]  # not seen yet
    e = c.post("/api/exposure/start", json={"mode": "video", "device_id": lab.device,
                                           "content_id": a, "frame": 30}).get_json()
    assert c.get(f"/video/{a}/frame/30/revealed?e={e['id']}").status_code == 200
    c.post("/api/exposure/stop", json={"id": e["id"]})
    r = c.post("/api/decide", json={"device_id": lab.device, "content_id": a, "category": "B",
                                    "cluster": True})
    assert r.status_code == 200, r.get_json()
    store = lab.ws.open_store()
    try:
        cats = store.file_categories(lab.device)
    finally:
        store.close()
    assert cats["DCIM/a.mp4"] == cats["WhatsApp/a-small.mkv"] == "B"
    c.post("/api/undo", json={"device_id": lab.device})
