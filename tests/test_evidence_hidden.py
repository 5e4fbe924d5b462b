"""Data hidden after a picture is flagged and opened; bytes of no known type under a picture's
name are flagged, never `ok` with nothing said."""

from __future__ import annotations

import hashlib
import io
import os

from PIL import PngImagePlugin

from tests.conftest import by_path, files_json, jpeg, write
from tests.test_archives import make_tar, make_zip
from triage.demo.synthetic import encode, photo_like


def test_a_zip_appended_to_a_jpeg_is_flagged_and_its_members_ingested(tmp_path, triage):
    picture, secret = jpeg(1), jpeg(2)
    appended = make_zip({"secret.jpg": secret, "notes.txt": b"meet at 9"})
    src = tmp_path / "dump"
    write(src, "DCIM/holiday.jpg", picture + appended)
    write(src, "Download/pack.zip", make_zip({"inner.jpg": picture + appended}))
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "2")
    rows = by_path(files_json(triage, "D1"))
    host = rows["DCIM/holiday.jpg"]
    assert host["status"] == "hidden_data"
    assert host["appended_offset"] == len(picture)
    assert f"ends at byte {len(picture)}" in host["reason"] and "zip" in host["reason"]
    assert host["pdq"]  # the picture itself is still decoded and hashed
    inside = rows["DCIM/holiday.jpg!/secret.jpg"]
    assert inside["status"] == "ok" and inside["pdq"]
    assert inside["sha256"] == hashlib.sha256(secret).hexdigest()
    assert rows["DCIM/holiday.jpg!/notes.txt"]["status"] == "ok"
    # The same file found inside an archive is opened the same way.
    assert rows["Download/pack.zip!/inner.jpg"]["status"] == "hidden_data"
    assert rows["Download/pack.zip!/inner.jpg!/secret.jpg"]["sha256"] == inside["sha256"]


def test_a_tar_appended_to_a_png_is_opened(tmp_path, triage):
    png = encode(photo_like(3, (80, 60)), "PNG")
    src = tmp_path / "dump"
    write(src, "icon.png", png + make_tar({"a.jpg": jpeg(4)}))
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert rows["icon.png"]["status"] == "hidden_data"
    assert rows["icon.png"]["appended_offset"] == len(png)
    assert rows["icon.png!/a.jpg"]["status"] == "ok"


def test_any_data_after_a_gif_or_webp_is_flagged(tmp_path, triage):
    gif = encode(photo_like(5, (80, 60)), "GIF")
    webp = encode(photo_like(6, (80, 60)), "WEBP")
    tail = os.urandom(500)
    src = tmp_path / "dump"
    write(src, "a.gif", gif + tail)
    write(src, "b.webp", webp + tail)
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    for name, picture in (("a.gif", gif), ("b.webp", webp)):
        assert rows[name]["status"] == "hidden_data", name
        assert rows[name]["appended_offset"] == len(picture)
        assert "500 more bytes" in rows[name]["reason"]
    assert set(rows) == {"a.gif", "b.webp"}  # nothing to open in random bytes


def test_padding_multi_picture_jpegs_and_signatures_inside_the_picture_are_not_flagged(
        tmp_path, triage):
    src = tmp_path / "dump"
    write(src, "padded.jpg", jpeg(7) + b"\0" * 4096)  # zero padding after EOI
    # A phone's Multi-Picture JPEG: a second picture (depth map, gain map) after the first EOI,
    # declared in the MPF segment; it belongs to the file.
    buf = io.BytesIO()
    photo_like(8, (96, 72)).save(buf, "MPO", save_all=True,
                                 append_images=[photo_like(9, (48, 36))])
    write(src, "portrait.jpg", buf.getvalue())
    # A zip inside a PNG chunk is part of the picture's structure, not data after its end:
    # a signature search would flag it, the structure walk must not.
    info = PngImagePlugin.PngInfo()
    info.add(b"ziPs", make_zip({"x.txt": b"inside a chunk"}))
    buf = io.BytesIO()
    photo_like(10, (80, 60)).save(buf, "PNG", pnginfo=info)
    write(src, "chunk.png", buf.getvalue())
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert set(rows) == {"padded.jpg", "portrait.jpg", "chunk.png"}
    for name, row in rows.items():
        assert row["status"] == "ok" and row["appended_offset"] is None, (name, row["reason"])


def test_bytes_of_no_known_type_named_as_a_picture_are_flagged(tmp_path, triage):
    src = tmp_path / "dump"
    noise = os.urandom(20_000)
    write(src, "IMG_0001.jpg", noise)  # encrypted or wiped
    write(src, "wiped.png", b"\0" * 8192)
    write(src, "data.bin", noise)  # a name that promises nothing: no finding
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    for name in ("IMG_0001.jpg", "wiped.png"):
        row = rows[name]
        assert row["status"] == "unrecognised" and row["ext_mismatch"] is True, name
        assert "no known file type" in row["reason"]
        assert row["sha256"]  # still hashed
    assert rows["data.bin"]["status"] == "ok" and rows["data.bin"]["ext_mismatch"] is None
