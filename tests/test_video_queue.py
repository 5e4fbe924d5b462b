"""Videos in the queue: re-encoded copies are one entry (vPDQ), the classifier scores frames and
names the frames that drove a video's score, a decision covers the video and its copies (and
undo brings them back as one entry), the recorded queue equals a fresh build, and the workload
counts a video by its duration. Through the CLI and the Python API, on real files."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.onnx_kit import install
from tests.video_kit import Cli, encode, reencode
from triage.accounts import hash_password
from triage.demo.video import frames
from triage.queue.build import build_queue
from triage.queue.priority import priority_config
from triage.queue.recorded import recorded_items
from triage.store import Store


def red_at(seconds: float = 6.0, red_from: float = 3.0, red_to: float = 4.0) -> bytes:
    """A 320x240 H.264 video whose frames from `red_from` to `red_to` s are mostly red (the
    test model scores redness)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=15)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.codec_context.options = {"g": "15", "preset": "veryfast"}
        for i, img in enumerate(frames(21, seconds, 15, 320, 240)):
            if red_from <= i / 15 < red_to:
                img = img.copy()
                img[..., 0] = 250
                img[..., 1] //= 4
                img[..., 2] //= 4
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return buf.getvalue()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = tmp_path_factory.mktemp("video-queue")
    a = encode(1, 6.0)
    made = {
        "DCIM/a.mp4": a,
        "WhatsApp/a-small.mkv": reencode(a, width=160, height=120, container="mkv"),
        "Telegram/a.webm": reencode(a, width=240, height=180, container="webm",
                                    codec="libvpx", bitrate=250_000),
        "DCIM/red.mp4": red_at(),
        "Movies/b.mp4": encode(3, 4.0),
    }
    dump = root / "dump"
    for rel, data in made.items():
        (dump / rel).parent.mkdir(parents=True, exist_ok=True)
        (dump / rel).write_bytes(data)
    run = Cli(root / "ws")
    install(run.workspace.root / "models")
    run("ingest", str(dump), "--case", "OP-Q", "--device", "PHONE", "--no-classify")
    run("classify", "--device", "PHONE", "--model", "redness")
    return run


def queue(run: Cli) -> list[dict]:
    out = run("queue", "--device", "PHONE", "--json").output
    return [json.loads(ln) for ln in out.splitlines() if ln.strip()]


def content_ids(run: Cli) -> dict[str, int]:
    store = Store.open(run.workspace.db_path)
    try:
        return {r[0]: int(r[1]) for r in store.conn.execute(
            "SELECT path, content_id FROM files")}
    finally:
        store.close()


def same_as_built(run: Cli) -> None:
    store = Store.open(run.workspace.db_path)
    try:
        dev = store.device("PHONE")["id"]
        cfg = priority_config(run.workspace)
        assert [q.as_dict() for q in recorded_items(store, dev, cfg)] == \
            [q.as_dict() for q in build_queue(store, dev, cfg)]
    finally:
        store.close()


def test_reencoded_copies_are_one_video_entry(lab: Cli) -> None:
    ids = content_ids(lab)
    entries = queue(lab)
    assert len(entries) == 3 and all(e["kind"] == "video" for e in entries)
    a = next(e for e in entries if ids["DCIM/a.mp4"] in e["member_content_ids"])
    assert sorted(a["member_content_ids"]) == sorted(
        [ids["DCIM/a.mp4"], ids["WhatsApp/a-small.mkv"], ids["Telegram/a.webm"]])
    assert a["cluster_size"] == 3 and "cluster of 3" in a["reasons"]
    assert a["derivative"].endswith("-sheet.jpg")
    same_as_built(lab)


def test_classifier_scores_frames_and_names_the_frames_that_drove_it(lab: Cli) -> None:
    ids = content_ids(lab)
    entries = queue(lab)
    red = next(e for e in entries if e["content_id"] == ids["DCIM/red.mp4"])
    assert red["rank"] == 1  # the red frames make it the likeliest
    top = next(r for r in red["reasons"] if "classifier" in r)
    assert top.startswith("frame 00:03 classifier 0.9"), red["reasons"]
    assert "(1 of 6 frames >= 0.8)" in top
    store = Store.open(lab.workspace.db_path)
    try:
        scores = store.frame_scores([ids["DCIM/red.mp4"]])[ids["DCIM/red.mp4"]]["redness"]
        video = store.classification_scores([ids["DCIM/red.mp4"]])[ids["DCIM/red.mp4"]]
    finally:
        store.close()
    assert len(scores) == 6 and scores[0][1] == 3.0
    best3 = sorted((s for *_, s in scores), reverse=True)[:3]
    assert video["redness"] == pytest.approx(float(np.mean(best3)))  # [video] top_k = 3


def test_a_decision_covers_the_video_and_its_copies_and_undo_brings_them_back(lab: Cli
                                                                             ) -> None:
    ids = content_ids(lab)
    store = Store.open(lab.workspace.db_path)
    try:
        dev = store.device("PHONE")["id"]
        uid = store.add_user("v", "reviewer", hash_password("pw-video-1"), "2026-05-01T00:00:00")
        cfg = priority_config(lab.workspace)
        entry = next(q for q in recorded_items(store, dev, cfg)
                     if ids["DCIM/a.mp4"] in q.member_content_ids)
        result = store.decide(dev, entry.content_id, uid, "uk", "C", "2026-05-01T00:00:01",
                              entry.member_content_ids)
        assert sorted(result["content_ids"]) == sorted(entry.member_content_ids)
        left = recorded_items(store, dev, cfg)
        assert len(left) == 2 and not any(ids["DCIM/a.mp4"] in q.member_content_ids
                                          for q in left)
    finally:
        store.close()
    same_as_built(lab)
    store = Store.open(lab.workspace.db_path)
    try:
        store.undo_last_decision(dev, uid, "2026-05-01T00:00:02")
        back = recorded_items(store, dev, cfg)
        a = next(q for q in back if ids["DCIM/a.mp4"] in q.member_content_ids)
        assert a.cluster_size == 3 and len(back) == 3
    finally:
        store.close()
    same_as_built(lab)


def test_workload_counts_a_video_by_its_duration(lab: Cli) -> None:
    summary = json.loads(lab("summary", "--device", "PHONE", "--json").output)
    w = summary["review_workload"]
    assert w["video_entries"] == 3 and w["queue_entries"] == 3
    assert w["video_minutes"] == pytest.approx((6 + 6 + 4) / 60, abs=0.01)
    # 15 s per minute of video, at least 4 s (one picture) per entry
    assert w["hours_left"] == pytest.approx(round((1.5 + 1.5 + 4.0) / 3600, 2), abs=0.01)
    assert w["seconds_per_video_minute"] == 15.0


def test_video_minutes_enter_the_forecast_at_the_configured_rate() -> None:
    from triage.queue.workload import figures

    cfg = priority_config()
    # two ten-minute videos (150 s each at 15 s a minute) and one picture entry (4 s)
    w = figures(3, 3, cfg, [600.0, 600.0])
    assert w["hours_left"] == round((4 + 150 + 150) / 3600, 2)
    assert figures(3, 3, cfg)["hours_left"] == round(3 * 4 / 3600, 2)
