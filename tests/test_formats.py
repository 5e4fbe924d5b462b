"""Every picture format is identified by its bytes, hashed, decoded and perceptually hashed."""

from __future__ import annotations

import hashlib

import imagehash
import pytest
from PIL import Image

from tests.conftest import by_path, files_json, jpeg, write
from triage.demo.synthetic import encode, fake_video, photo_like

FORMATS = [("JPEG", "jpg", "jpeg"), ("PNG", "png", "png"), ("GIF", "gif", "gif"),
           ("BMP", "bmp", "bmp"), ("TIFF", "tif", "tiff"), ("WEBP", "webp", "webp"),
           ("HEIF", "heic", "heic")]


def test_every_picture_format_is_decoded_and_hashed(tmp_path, triage):
    src = tmp_path / "dump"
    expected = {}
    for i, (fmt, ext, _) in enumerate(FORMATS):
        data = encode(photo_like(100 + i, (320, 240)), fmt, 90)
        write(src, f"pics/p{i}.{ext}", data)
        expected[f"pics/p{i}.{ext}"] = data
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    for (fmt, ext, detected), (path, data) in zip(FORMATS, expected.items()):
        r = rows[path]
        assert r["status"] == "ok", r
        assert r["detected_type"] == detected
        assert r["media_kind"] == "image"
        assert r["ext_mismatch"] is False
        assert (r["width"], r["height"]) == (320, 240)
        assert r["md5"] == hashlib.md5(data).hexdigest()
        assert r["sha1"] == hashlib.sha1(data).hexdigest()
        assert r["sha256"] == hashlib.sha256(data).hexdigest()
        assert len(r["pdq"]) == 64 and r["pdq_quality"] >= 50
        assert len(r["phash"]) == 16 and len(r["dhash"]) == 16


def test_phash_matches_imagehash_on_the_same_picture(tmp_path, triage):
    data = encode(photo_like(7, (400, 300)), "PNG")
    p = write(tmp_path / "dump", "a.png", data)
    triage("ingest", str(p.parent), "--case", "C1", "--device", "D1", "--workers", "0")
    row = files_json(triage, "D1")[0]
    im = Image.open(p).convert("RGB")
    assert row["phash"] == str(imagehash.phash(im))
    assert row["dhash"] == str(imagehash.dhash(im))


def test_type_comes_from_bytes_and_renamed_pictures_are_flagged(tmp_path, triage):
    src = tmp_path / "dump"
    write(src, "cache_0001.dat", jpeg(1))
    write(src, "photo.png", jpeg(2))  # a JPEG named .png
    write(src, "thumbs/1700000000", jpeg(3))  # no extension at all
    write(src, "real.jpeg", jpeg(4))
    write(src, "clip.mp4", fake_video(1, 5000))
    write(src, "movie.jpg", fake_video(2, 5000))  # a video posing as a picture
    write(src, "notes.txt", b"plain text\n")
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert rows["cache_0001.dat"]["detected_type"] == "jpeg"
    assert rows["cache_0001.dat"]["ext_mismatch"] is True
    assert rows["cache_0001.dat"]["pdq"]  # still decoded: the bytes decide
    assert rows["photo.png"]["ext_mismatch"] is True
    assert rows["thumbs/1700000000"]["ext_mismatch"] is True
    assert rows["real.jpeg"]["ext_mismatch"] is False
    assert rows["clip.mp4"]["media_kind"] == "video" and rows["clip.mp4"]["ext_mismatch"] is False
    assert rows["movie.jpg"]["media_kind"] == "video" and rows["movie.jpg"]["ext_mismatch"] is True
    # Not a decodable video (random bytes after an MP4 header): examined, flagged, hashed.
    assert rows["movie.jpg"]["status"] == "corrupt" and rows["movie.jpg"]["pdq"] is None
    assert rows["notes.txt"]["ext_mismatch"] is None and rows["notes.txt"]["sha256"]


def test_camera_exif_is_recorded(tmp_path, triage):
    src = tmp_path / "dump"
    write(src, "DCIM/Camera/IMG_1.jpg", jpeg(11, exif=True))
    write(src, "Download/plain.jpg", jpeg(12))
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    cam = rows["DCIM/Camera/IMG_1.jpg"]
    assert cam["exif_make"] and cam["exif_model"]
    assert cam["exif_datetime_original"].startswith("2026:")
    assert cam["exif_gps"] is True
    plain = rows["Download/plain.jpg"]
    assert plain["exif_make"] is None and plain["exif_gps"] is False


@pytest.mark.parametrize("workers", ["0", "2"])
def test_worker_pool_and_inline_give_identical_results(tmp_path, workspace, workers):
    from click.testing import CliRunner

    from triage.cli.main import cli

    src = tmp_path / "dump"
    for i in range(12):
        write(src, f"d{i % 3}/img{i}.jpg", jpeg(200 + i, (800, 600)))
    r = CliRunner().invoke(cli, ["-w", str(workspace.root), "ingest", str(src), "--case", "C",
                                 "--device", "D", "--workers", workers], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = CliRunner().invoke(cli, ["-w", str(workspace.root), "files", "--device", "D", "--json"])
    import json

    rows = [json.loads(x) for x in out.output.splitlines()]
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    # Derivatives (for the classifier and review) exist for every decoded picture.
    assert len(list(workspace.derivative_dir.rglob("*.jpg"))) == 12
