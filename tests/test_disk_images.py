"""Disk images through the CLI: an E01 (split) and a raw image of an MBR disk with NTFS, FAT and
ext4 partitions holding deleted pictures, built by the test with Debian's tools."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import by_path, files_json
from tests.disk_build import EXT_MTIME, FAT_MTIME, Disk, build_disk, e01_of, md5
from tests.test_evidence_and_dedup import snapshot


@pytest.fixture(scope="module")
def disk(tmp_path_factory) -> Disk:
    d = build_disk(tmp_path_factory.mktemp("disk"))
    d.e01 = e01_of(d, tmp_path_factory.mktemp("e01"))
    return d


def _ingest(triage, source: Path, device: str, *extra: str) -> dict:
    out = triage("ingest", str(source), "--case", "OP-ALPHA", "--device", device,
                 "--workers", "2", "--no-classify", "--json", *extra).output
    return json.loads(out)


def test_split_e01_is_found_from_its_first_segment_and_every_file_system_is_read(disk, triage):
    assert len(disk.e01) >= 2, "the test image must be split (E01, E02, ...)"
    before = snapshot(disk.e01[0].parent)
    _ingest(triage, disk.e01[0], "D")
    assert snapshot(disk.e01[0].parent) == before  # read only: bytes and times unchanged
    rows = by_path(files_json(triage, "D"))
    for label, data in disk.files.items():
        row = rows[f"laptop.E01!/{label}"]
        assert row["md5"] == md5(data) and row["status"] == "ok", row
        assert row["deleted"] is False and row["unallocated"] is False
        assert row["partition"] == label.split("/")[0]
    fs = {r["partition"]: r["file_system"] for r in rows.values() if r["partition"]}
    assert fs["p1"] == "ntfs" and fs["p2"].startswith("fat") and fs["p3"] == "ext4"
    # Partitions and the image itself are rows too, after their files.
    assert rows["laptop.E01!/p1"]["status"] == "ok" and rows["laptop.E01!/p1"]["file_system"]
    image = rows["laptop.E01!/"]
    assert image["status"] == "ok" and image["detected_type"] == "E01 image"
    report = json.loads(triage("report", "--device", "D", "--json").output)
    [meta] = report["disk_images"]
    assert meta["case_number"] == "OP-ALPHA-7" and meta["examiner"] == "J. Examiner"
    assert meta["evidence_number"] == "EXH-001" and meta["acquired"]
    assert meta["segments"] == len(disk.e01)
    assert meta["stored_md5"] == md5(disk.raw.read_bytes())
    assert meta["verification"].startswith("not verified")
    assert meta["deleted_recovered"] == 3


def test_deleted_pictures_are_recovered_and_flagged_on_every_file_system(disk, triage):
    _ingest(triage, disk.raw, "R")
    rows = files_json(triage, "R")
    by_md5 = {r["md5"]: r for r in rows if r["md5"]}
    for original, data in disk.deleted.items():
        row = by_md5[md5(data)]  # recovered content equals what was written before deletion
        assert row["deleted"] is True and row["status"] == "ok" and row["pdq"], row
        assert row["partition"] == original.split("/")[0]
        assert row["inode"] is not None
    fat = by_md5[md5(disk.deleted["p2/DCIM/b.jpg"])]
    assert fat["path"] == "disk.raw!/p2/DCIM/_.jpg"  # FAT loses a deleted name's first letter
    assert by_md5[md5(disk.deleted["p1/f.jpg"])]["path"] == "disk.raw!/p1/f.jpg"
    assert by_md5[md5(disk.deleted["p3/Users/alice/Pictures/d.jpg"])]["path"] \
        == "disk.raw!/p3/Users/alice/Pictures/d.jpg"


def test_file_system_times_are_the_file_systems_own(disk, triage):
    _ingest(triage, disk.raw, "T")
    rows = by_path(files_json(triage, "T"))
    fat = rows["disk.raw!/p2/DCIM/a.jpg"]
    assert fat["mtime"] == FAT_MTIME  # as mcopy -m wrote it (FAT: 2 s steps, local time)
    ext = rows["disk.raw!/p3/Users/alice/Pictures/c.jpg"]
    assert ext["mtime"] == EXT_MTIME  # as mkfs.ext4 -d copied it from the folder
    assert ext["created"] is not None and ext["ctime"] is not None
    ntfs = rows["disk.raw!/p1/e.jpg"]
    start, end = disk.built
    for key in ("mtime", "atime", "ctime", "created"):  # ntfscp writes the time of the copy
        assert start - 2 <= ntfs[key] <= end + 2, (key, ntfs[key])
    assert ntfs["inode"] >= 64  # an MFT entry number (the first 64 are NTFS's own)


def test_e01_matches_queues_and_exports_as_its_files_would_from_a_folder(disk, triage,
                                                                         tmp_path):
    """The "done when" case: E01 vs the same files as a folder, through the CLI."""
    folder = tmp_path / "folder"
    for label, data in (disk.files | disk.deleted).items():
        target = folder / label
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    listed = [disk.files["p2/DCIM/a.jpg"], disk.deleted["p1/f.jpg"]]
    lst = tmp_path / "alerts.md5"
    lst.write_text("".join(f"{md5(d)}  x{i}.jpg\n" for i, d in enumerate(listed)))
    triage("hashsets", "import", str(lst), "--name", "alerts", "--kind", "alert")
    _ingest(triage, folder, "F")
    _ingest(triage, disk.e01[0], "E")
    fields = ("md5", "sha256", "status", "detected_type", "pdq", "width", "height", "matches")
    from_folder = {r["md5"]: r for r in files_json(triage, "F") if r["md5"]}
    image_rows = files_json(triage, "E")
    # The image holds the file system's own files too (NTFS's $MFT, $UpCase, ...): not the
    # user's files, and all of them named with a leading $.
    system = {r["md5"] for r in image_rows if "/$" in r["path"] and r["md5"]}
    from_image = {r["md5"]: r for r in image_rows if r["md5"] and r["md5"] not in system}
    assert set(from_image) == set(from_folder)
    for key, row in from_folder.items():
        image_row = from_image[key]
        assert {f: image_row.get(f) for f in fields} == {f: row.get(f) for f in fields}
    known = [r for r in from_image.values() if r["matches"]]
    assert {r["md5"] for r in known} == {md5(d) for d in listed}

    def queue(device: str) -> list[dict]:
        return [json.loads(line) for line in
                triage("queue", "--device", device, "--json").output.splitlines()]

    q_folder, q_image = queue("F"), queue("E")
    assert sorted(i["sha256"] for i in q_image) == sorted(i["sha256"] for i in q_folder)
    deleted_sha = {r["sha256"] for r in from_image.values() if r["deleted"]}
    for item in q_image:
        flagged = "deleted (recovered from the file system)" in item["reasons"]
        assert flagged == (item["sha256"] in deleted_sha), item
    assert any("deleted (recovered from the file system)" in i["reasons"] for i in q_image)

    def export(device: str) -> dict:
        return json.loads(triage("export", "--device", device, "--profile", "us").output)

    media_f = {m["MD5"]: m for m in export("F")["value"][0]["Media"]}
    media_e = {m["MD5"]: m for m in export("E")["value"][0]["Media"]
               if m["MD5"].lower() not in system}
    assert set(media_e) == set(media_f)
    for key, m in media_e.items():
        assert {k: v for k, v in m.items() if k not in ("MediaFiles", "MediaID")} == \
            {k: v for k, v in media_f[key].items() if k not in ("MediaFiles", "MediaID")}
        [f] = m["MediaFiles"]
        assert f["FilePath"].startswith("laptop.E01!/p")
        is_deleted = key.lower() in {md5(d) for d in disk.deleted.values()}
        assert f["Deleted"] is is_deleted and f["Unallocated"] is is_deleted
        assert "Deleted" not in media_f[key]["MediaFiles"][0]  # folders know no deletion


def test_verify_image_matches_and_a_damaged_segment_is_reported(disk, triage, tmp_path):
    good = _ingest(triage, disk.e01[0], "V", "--verify-image")
    assert good["verify_image"]["images"][0]["state"] == "matched"
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    for seg in disk.e01:
        shutil.copy(seg, bad_dir / seg.name)
    second = bad_dir / disk.e01[1].name
    data = bytearray(second.read_bytes())
    for at in range(len(data) // 2, len(data) // 2 + 64):
        data[at] ^= 0x5A  # inside a chunk of the second segment
    second.write_bytes(bytes(data))
    out = _ingest(triage, bad_dir / disk.e01[0].name, "W", "--verify-image")
    assert out["verify_image"]["images"][0]["state"] == "mismatch"
    report = json.loads(triage("report", "--device", "W", "--json").output)
    [meta] = report["disk_images"]
    assert meta["verification"] == "mismatch" and "MD5" in meta["verification_reason"]
    rows = by_path(files_json(triage, "W"))
    assert rows["laptop.E01!/"]["status"] == "corrupt"
    assert "verification failed" in rows["laptop.E01!/"]["reason"]
    text = triage("report", "--device", "W").output
    assert "mismatch" in text


def test_split_raw_image_reads_like_the_whole_one(disk, triage, tmp_path):
    data = disk.raw.read_bytes()
    third = len(data) // 3 // 512 * 512
    parts = [data[:third], data[third:2 * third], data[2 * third:]]
    for i, part in enumerate(parts, 1):
        (tmp_path / f"disk.{i:03d}").write_bytes(part)
    _ingest(triage, tmp_path / "disk.001", "S")
    rows = by_path(files_json(triage, "S"))
    for label, content in disk.files.items():
        assert rows[f"disk.001!/{label}"]["md5"] == md5(content)


def test_an_e01_inside_a_folder_is_opened_and_its_later_segments_are_files(disk, triage,
                                                                           tmp_path):
    folder = tmp_path / "exhibit"
    (folder / "images").mkdir(parents=True)
    for seg in disk.e01:
        shutil.copy(seg, folder / "images" / seg.name)
    (folder / "other.txt").write_text("beside the image")
    _ingest(triage, folder, "G")
    rows = by_path(files_json(triage, "G"))
    assert rows["images/laptop.E01"]["status"] == "ok"
    assert rows["images/laptop.E02"]["status"] == "ok" and rows["images/laptop.E02"]["md5"]
    assert "images/laptop.E02!/" not in rows  # a later segment is not a container
    for label, content in disk.files.items():
        assert rows[f"images/laptop.E01!/{label}"]["md5"] == md5(content)
    assert rows["other.txt"]["status"] == "ok"


def test_unlock_keys_are_never_recorded(disk, triage, workspace):
    _ingest(triage, disk.raw, "K", "--unlock", "p2=SECRET-KEY-123")
    with sqlite3.connect(workspace.root / "triage.db") as c:
        dumped = "\n".join(str(row) for row in c.iterdump())
    assert "SECRET-KEY-123" not in dumped
    assert "p2=<not recorded>" in dumped
