"""Videos through the CLI: probe and sampling in `triage files --json`, the small copies written
at ingest, vPDQ and VICS lists of known videos, frames matched against picture PDQ lists with
their time, export and summary. Real MP4/MOV/MKV/WebM/AVI files made with PyAV, built once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.video_kit import Cli, encode, every_frame_vpdq, files, reencode
from triage.demo.video import frames
from triage.signals.pdq_luma import pdq_from_rgb
from triage.signals.vpdq import hamming
from triage.store import Store

SECONDS = 6.0


@pytest.fixture(scope="module")
def clips() -> dict[str, bytes]:
    a = encode(1, SECONDS)  # 320x240 H.264 MP4, 15 frames/s, a keyframe a second
    return {
        "DCIM/a.mp4": a,
        "DCIM/b.mov": encode(2, SECONDS, container="mov", rotation=90, audio=True),
        "Movies/c.mkv": encode(3, 4.0, container="mkv", width=256, height=192),
        "Movies/d.webm": encode(4, 4.0, container="webm", codec="libvpx"),
        "Movies/e.avi": encode(5, 4.0, container="avi", codec="mjpeg"),
        "Download/a-copy.mkv": reencode(a, width=160, height=120, container="mkv"),
        "Download/long-gop.mp4": encode(6, 8.0, gop=120),  # one keyframe per 8 s
    }


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, bytes]) -> Cli:
    root = tmp_path_factory.mktemp("video-ingest")
    dump = root / "dump"
    for rel, data in clips.items():
        (dump / rel).parent.mkdir(parents=True, exist_ok=True)
        (dump / rel).write_bytes(data)
    run = Cli(root / "ws")
    run("ingest", str(dump), "--case", "OP-V", "--device", "PHONE", "--no-classify")
    return run


def test_every_container_is_probed_and_sampled(ingested: Cli) -> None:
    rows = files(ingested, "PHONE")
    expect = {"DCIM/a.mp4": ("h264", 320, 240, 6.0), "DCIM/b.mov": ("h264", 320, 240, 6.0),
              "Movies/c.mkv": ("h264", 256, 192, 4.0), "Movies/d.webm": ("vp8", 320, 240, 4.0),
              "Movies/e.avi": ("mjpeg", 320, 240, 4.0),
              "Download/a-copy.mkv": ("h264", 160, 120, 6.0),
              "Download/long-gop.mp4": ("h264", 320, 240, 8.0)}
    for path, (codec, w, h, duration) in expect.items():
        r = rows[path]
        assert r["media_kind"] == "video" and r["status"] == "ok", (path, r["reason"])
        assert (r["codec"], r["width"], r["height"]) == (codec, w, h), path
        assert r["duration"] == pytest.approx(duration, abs=0.1), path
        assert r["fps"] == 15.0
        # keyframes and ~1 frame/s, none pruned here (the scene moves): one per second
        assert int(duration) - 1 <= r["frames_hashed"] <= int(duration) + 1, (path, r)
        assert r["pdq"] and r["pdq_quality"] >= 50  # the first kept frame's
    assert rows["DCIM/b.mov"]["rotation"] == 90 and rows["DCIM/b.mov"]["audio"] is True
    assert rows["DCIM/a.mp4"]["rotation"] == 0 and rows["DCIM/a.mp4"]["audio"] is False


def test_summary_counts_videos_apart(ingested: Cli) -> None:
    summary = json.loads(ingested("summary", "--device", "PHONE", "--json").output)
    assert summary["video_files"] == 7 and summary["unique_videos"] == 7
    assert summary["video_seconds"] == pytest.approx(6 * 3 + 4 * 3 + 8, abs=1)
    assert summary["image_files"] == 0


def test_small_copies_are_written_at_ingest_never_the_evidence(ingested: Cli) -> None:
    store = Store.open(ingested.workspace.db_path)
    d = ingested.workspace.derivative_dir
    try:
        cid = store.conn.execute("SELECT content_id FROM files WHERE path='DCIM/b.mov'"
                                 ).fetchone()[0]
        frames_ = store.video_frames(cid)
        rep = store.conn.execute("SELECT derivative FROM contents WHERE id=?", (cid,)).fetchone()[0]
    finally:
        store.close()
    assert [f["seconds"] for f in frames_] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    from PIL import Image

    for f in frames_:
        with Image.open(d / f["derivative"]) as im:
            # the stored 320x240 frame turned upright by its 90-degree rotation, small
            assert im.size == (240, 320)
    assert rep.endswith("-sheet.jpg")
    with Image.open(d / rep) as sheet:
        assert sheet.width <= 4 * 160 and sheet.height <= 2 * (160 + 14)
    clip = d / rep.replace("-sheet.jpg", "-clip.webm")
    import av

    with av.open(str(clip)) as c:
        assert not c.streams.audio and c.streams.video[0].codec_context.name == "vp8"
        assert max(c.streams.video[0].codec_context.width,
                   c.streams.video[0].codec_context.height) <= 240


def test_long_gop_is_decoded_only_as_far_as_needed_and_still_one_a_second(ingested: Cli
                                                                           ) -> None:
    store = Store.open(ingested.workspace.db_path)
    try:
        cid = store.conn.execute("SELECT content_id FROM files WHERE path='Download/long-gop.mp4'"
                                 ).fetchone()[0]
        times = [f["seconds"] for f in store.video_frames(cid)]
    finally:
        store.close()
    assert times == [float(i) for i in range(8)]


def test_vpdq_list_matches_the_video_and_its_reencoded_copy(
        tmp_path: Path, ingested: Cli, clips: dict[str, bytes]) -> None:
    listed = tmp_path / "known-a.txt"  # Meta's layout: every frame of another encode of `a`
    listed.write_text(every_frame_vpdq(reencode(clips["DCIM/a.mp4"], width=288, height=216,
                                                bitrate=500_000)))
    out = ingested("hashsets", "import", str(listed), "--name", "KNOWN-VIDEOS", "--category",
                   "A", "--scheme", "uk").output
    assert "1 entries" in out, out
    listing = json.loads(ingested("hashsets", "list", "--json").output.splitlines()[0])
    assert listing["format"] == "vpdq"
    rows = files(ingested, "PHONE")
    for path in ("DCIM/a.mp4", "Download/a-copy.mkv"):
        found = [m for m in rows[path]["matches"] if m["method"] == "vpdq"]
        assert found and found[0]["hashset"] == "KNOWN-VIDEOS" and found[0]["near"], path
        assert found[0]["category"] == "A" and rows[path]["category"] is None  # a candidate
        assert 0 <= found[0]["distance"] <= 31
    for path in ("Movies/c.mkv", "Movies/d.webm", "DCIM/b.mov"):
        assert not [m for m in rows[path]["matches"] if m["method"] == "vpdq"], path
    ingested("hashsets", "remove", "KNOWN-VIDEOS")


def test_a_video_frame_matches_a_picture_list_with_its_time(tmp_path: Path,
                                                            ingested: Cli) -> None:
    # The PDQ of video c's frame at 3 s (c: 256x192, 15 frames/s), as a picture list holds it.
    still = list(frames(3, 4.0, 15, 256, 192))[45]
    pdq, _ = pdq_from_rgb(still)
    pictures = tmp_path / "stills.csv"
    pictures.write_text(f"{pdq},B\n")
    ingested("hashsets", "import", str(pictures), "--name", "STILLS", "--format", "pdq",
             "--scheme", "uk")
    rows = files(ingested, "PHONE")
    m = [m for m in rows["Movies/c.mkv"]["matches"] if m["hashset"] == "STILLS"]
    assert m and m[0]["method"] == "pdq" and m[0]["frame"] == 45 and m[0]["seconds"] == 3.0
    assert m[0]["distance"] <= 10
    assert not any(r["matches"] for p, r in rows.items() if p != "Movies/c.mkv"
                   and any(x["hashset"] == "STILLS" for x in r["matches"]))
    ingested("hashsets", "remove", "STILLS")


def test_vics_list_of_known_videos_and_export_with_mime_type(
        tmp_path: Path, ingested: Cli, clips: dict[str, bytes]) -> None:
    import hashlib

    data = clips["Movies/d.webm"]
    vics = tmp_path / "videos.json"
    vics.write_text(json.dumps({
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [{"MediaID": 7, "Category": 1, "MD5": hashlib.md5(data).hexdigest().upper(),
                   "SHA1": hashlib.sha1(data).hexdigest().upper(), "MediaSize": len(data),
                   "MimeType": "video/webm"}]}))
    ingested("hashsets", "import", str(vics), "--name", "VIC-VIDEOS")
    rows = files(ingested, "PHONE")
    assert rows["Movies/d.webm"]["known"] and rows["Movies/d.webm"]["category"] == "1"
    out = tmp_path / "export.json"
    ingested("export", "--device", "PHONE", "--format", "vics", "--profile", "us", "-o", str(out))
    media = {m["MediaFiles"][0]["FilePath"].rsplit("/", 1)[-1]: m
             for m in json.loads(out.read_text())["value"][0]["Media"]}
    assert media["d.webm"]["Category"] == 1 and media["d.webm"]["MimeType"] == "video/webm"
    assert media["a.mp4"]["MimeType"] == "video/mp4" and media["a.mp4"]["Category"] is None
    assert media["e.avi"]["MimeType"] == "video/x-msvideo"
    assert media["b.mov"]["MimeType"] == "video/quicktime"
    ingested("hashsets", "remove", "VIC-VIDEOS")


def test_reencoded_copy_frames_stay_close(ingested: Cli) -> None:
    rows = files(ingested, "PHONE")
    assert hamming(rows["DCIM/a.mp4"]["pdq"], rows["Download/a-copy.mkv"]["pdq"]) <= 16


def test_device_report_counts_videos_apart_with_durations(tmp_path: Path, ingested: Cli
                                                          ) -> None:
    rep = json.loads(ingested("report", "--device", "PHONE", "--json").output)
    v = rep["videos"]
    assert v["unique"] == 7 and v["files"] == 7 and rep["unique_images"] == 0
    assert v["seconds"] == pytest.approx(38, abs=1)
    durations = {x["path"]: x["duration"] for x in v["list"]}
    assert durations["Download/long-gop.mp4"] == pytest.approx(8.0, abs=0.1)
    assert v["list"][0]["path"] == "Download/long-gop.mp4"  # longest first
    html = tmp_path / "report.html"
    ingested("report", "--device", "PHONE", "--html", str(html))
    text = html.read_text()
    assert "7 unique videos in 7 files" in text and "Download/long-gop.mp4" in text
    assert "0:08" in text
    people = ingested("report", "--device", "PHONE").output
    assert "7 unique in 7 files" in people and "00:08" in people
