"""Evidence stays byte- and time-identical; duplicates are counted per device and per case."""

from __future__ import annotations

import hashlib
import os

from tests.conftest import by_path, files_json, jpeg, write


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = None
            if os.path.isfile(p) and not os.path.islink(p):
                # The check itself must not touch atime: read with O_NOATIME (owner or root).
                fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
                with os.fdopen(fd, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[p] = (st.st_mtime_ns, st.st_atime_ns, st.st_ctime_ns, st.st_mode, digest)
    return out


def test_evidence_is_unchanged_by_ingest(tmp_path, triage):
    src = tmp_path / "dump"
    write(src, "DCIM/a.jpg", jpeg(1, exif=True))
    write(src, "DCIM/b.jpg", jpeg(2))
    write(src, "x.zip", __import__("tests.test_archives", fromlist=["make_zip"]).make_zip(
        {"in.jpg": jpeg(3)}))
    write(src, "bad.jpg", jpeg(4)[:500])
    os.symlink("DCIM/a.jpg", src / "alias.jpg")
    # Old atimes make any read that updates atime visible even on relatime mounts.
    for p in src.rglob("*"):
        if not p.is_symlink():
            os.utime(p, (1_600_000_000, 1_600_000_000))
    before = snapshot(src)
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "2")
    assert snapshot(src) == before  # bytes, mtime, atime, ctime, mode: all unchanged


def test_duplicates_counted_on_device_and_across_the_case(tmp_path, triage):
    a, b, c = jpeg(1), jpeg(2), jpeg(3)
    dev1 = tmp_path / "dev1"
    write(dev1, "DCIM/a.jpg", a)
    write(dev1, "WhatsApp/a_copy.jpg", a)
    write(dev1, "Download/a_again.dat", a)
    write(dev1, "DCIM/b.jpg", b)
    dev2 = tmp_path / "dev2"
    write(dev2, "pics/a.jpg", a)
    write(dev2, "pics/c.jpg", c)
    triage("ingest", str(dev1), "--case", "CASE", "--device", "PHONE", "--workers", "0")
    triage("ingest", str(dev2), "--case", "CASE", "--device", "LAPTOP", "--workers", "0")
    rows = by_path(files_json(triage, "PHONE"))
    assert rows["DCIM/a.jpg"]["duplicate_count"] == 2
    assert rows["DCIM/a.jpg"]["copies_in_case"] == 4
    assert rows["DCIM/a.jpg"]["content_id"] == rows["Download/a_again.dat"]["content_id"]
    assert rows["DCIM/b.jpg"]["duplicate_count"] == 0 and rows["DCIM/b.jpg"]["copies_in_case"] == 1
    laptop = by_path(files_json(triage, "LAPTOP"))
    assert laptop["pics/a.jpg"]["duplicate_count"] == 0
    assert laptop["pics/a.jpg"]["copies_in_case"] == 4
    import json

    s = json.loads(triage("summary", "--device", "PHONE", "--json").output)
    assert s["files"] == 4 and s["unique_contents"] == 2 and s["duplicate_files"] == 2
    assert s["by_type"]["jpeg"] == 4 and s["by_status"] == {"ok": 4}


def test_device_cannot_move_between_cases(tmp_path, triage):
    src = tmp_path / "d"
    write(src, "a.jpg", jpeg(1))
    triage("ingest", str(src), "--case", "ONE", "--device", "EXH-1", "--workers", "0")
    r = triage("ingest", str(src), "--case", "TWO", "--device", "EXH-1", ok=(1,))
    assert "belongs to case 'ONE'" in r.output
