"""Damaged and hostile disk images: each problem is a status and a reason, the rest of the image
is still read; encrypted volumes are recorded as such; an interrupted ingest resumes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import by_path, files_json, jpeg
from tests.disk_build import build_disk, md5, need_tools
from tests.test_resume import recorded, rows_of, start_paused, triage_cmd
from triage.evidence import disk_samples as build
from triage.workspace import init_workspace


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    return build_disk(tmp_path_factory.mktemp("disk"))


def _ingest(triage, source: Path, device: str, *extra: str) -> dict[str, dict]:
    triage("ingest", str(source), "--case", "C", "--device", device, "--workers", "2",
           "--no-classify", *extra)
    return by_path(files_json(triage, device))


def _partition_offsets(raw: Path) -> list[int]:
    head = raw.read_bytes()[:512]
    return [int.from_bytes(head[446 + 16 * i + 8: 446 + 16 * i + 12], "little") * 512
            for i in range(3)]


def test_truncated_e01_is_a_status_and_a_reason(disk, triage, tmp_path):
    [e01] = build.ewf_image(disk.raw, tmp_path / "whole")
    cut = tmp_path / "cut"
    cut.mkdir()
    data = e01.read_bytes()
    (cut / "short.E01").write_bytes(data[: len(data) // 3])
    (cut / "ok.txt").write_text("still read")
    rows = _ingest(triage, cut, "T")
    assert rows["ok.txt"]["status"] == "ok"
    row = rows["short.E01"]
    assert row["status"] == "corrupt" and "E01" in row["reason"], row
    alone = _ingest(triage, cut / "short.E01", "U")
    assert alone["short.E01!/"]["status"] == "corrupt" and alone["short.E01!/"]["reason"]


def test_partition_past_the_end_and_a_corrupt_file_system_leave_the_rest_readable(
        disk, triage, tmp_path):
    data = bytearray(disk.raw.read_bytes())
    p1, p2, p3 = _partition_offsets(disk.raw)
    data[p1: p1 + 512] = b"\xde\xad" * 256  # NTFS boot sector overwritten: no file system
    damaged = tmp_path / "damaged.img"
    damaged.write_bytes(bytes(data[: p3 + (1 << 20)]))  # truncated inside p3
    rows = _ingest(triage, damaged, "P")
    assert rows["damaged.img!/p1"]["status"] == "corrupt"
    assert "no file system" in rows["damaged.img!/p1"]["reason"]
    for label, content in disk.files.items():
        if label.startswith("p2/"):
            assert rows[f"damaged.img!/{label}"]["md5"] == md5(content)
    p3_row = rows["damaged.img!/p3"]
    assert p3_row["status"] in ("corrupt", "unreadable") and "past the end" in p3_row["reason"]
    for row in rows.values():
        assert row["status"] == "ok" or row["reason"], row


def test_a_damaged_gpt_is_said_and_a_file_system_at_the_start_still_read(triage, tmp_path):
    need_tools()
    fat = build.fat_image(tmp_path / "fat.img", {"DCIM/x.jpg": jpeg(60, (64, 48))})
    disk = tmp_path / "gpt.img"
    build.partitioned_disk(disk, [(fat, "L")], label="gpt")
    data = bytearray(disk.read_bytes())
    data[512 + 16: 512 + 20] = b"\xff\xff\xff\xff"  # header CRC broken
    backup = len(data) - 512  # the backup header, last sector
    data[backup + 16: backup + 20] = b"\xff\xff\xff\xff"
    disk.write_bytes(bytes(data))
    rows = _ingest(triage, disk, "G")
    image = rows["gpt.img!/"]
    for row in rows.values():
        assert row["status"] == "ok" or row["reason"], row
    assert image["status"] in ("ok", "corrupt")
    if image["status"] == "corrupt":
        assert "partition table" in image["reason"] or "file system" in image["reason"]


def test_directory_loop_is_recorded_and_not_followed(triage, tmp_path):
    need_tools()
    img = build.ext4_image(tmp_path / "loop.img", {"a/b/pic.jpg": jpeg(61, (64, 48)),
                                                   "z.txt": b"after the loop"},
                           debugfs=["ln /a /a/b/up"])
    rows = _ingest(triage, img, "L")
    assert rows["loop.img!/a/b/up"]["status"] == "loop"
    assert rows["loop.img!/a/b/pic.jpg"]["status"] == "ok"
    assert rows["loop.img!/z.txt"]["status"] == "ok"


def test_encrypted_volume_is_recorded_with_how_to_read_it(disk, triage, tmp_path):
    data = bytearray(disk.raw.read_bytes())
    _p1, p2, _p3 = _partition_offsets(disk.raw)
    # A BitLocker volume header's signature (raw edit: what `manage-bde` writes at byte 3).
    data[p2 + 3: p2 + 11] = b"-FVE-FS-"
    locked = tmp_path / "locked.img"
    locked.write_bytes(bytes(data))
    rows = _ingest(triage, locked, "B")
    row = rows["locked.img!/p2"]
    assert row["status"] == "encrypted" and "BitLocker" in row["reason"]
    assert "--unlock p2=" in row["reason"]
    assert rows["locked.img!/p1/e.jpg"]["status"] == "ok"  # the other partitions are read
    rows = _ingest(triage, locked, "B2", "--unlock", "p2=111111-222222-333333-444444-555555"
                   "-666666-777777-888888")
    assert rows["locked.img!/p2"]["status"] == "encrypted"
    assert "cannot be opened with the key" in rows["locked.img!/p2"]["reason"] \
        or "does not unlock" in rows["locked.img!/p2"]["reason"]


def test_image_inside_a_zip_is_opened_or_flagged_too_large(triage, tmp_path, workspace):
    need_tools()
    fat = build.fat_image(tmp_path / "card.img", {"DCIM/y.jpg": jpeg(62, (64, 48))},
                          size=2 << 20)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(fat, "backup/card.img")
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "phone.zip").write_bytes(buf.getvalue())
    rows = _ingest(triage, tmp_path / "ev", "Z")
    assert rows["phone.zip!/backup/card.img!/DCIM/y.jpg"]["status"] == "ok"
    cfg = workspace.root / "config" / "ingest.toml"
    cfg.write_text(cfg.read_text().replace("in_memory_mib = 256", "in_memory_mib = 1"))
    rows = _ingest(triage, tmp_path / "ev", "Z2")
    row = rows["phone.zip!/backup/card.img"]
    assert row["status"] == "too_large" and "too large to open in memory" in row["reason"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_image_ingest_resumes_to_an_uninterrupted_runs_results(tmp_path_factory,
                                                                           sig):
    folder = tmp_path_factory.mktemp("big")
    big = build_disk(folder, pictures=60)
    ref_ws = init_workspace(tmp_path_factory.mktemp("ref") / "ws").root
    subprocess.run(triage_cmd(ref_ws, "ingest", str(big.raw), "--case", "C", "--device", "D",
                              "--workers", "2", "--no-classify"), check=True, capture_output=True)
    reference = rows_of(ref_ws)
    ws = init_workspace(tmp_path_factory.mktemp("run") / "ws").root
    args = triage_cmd(ws, "ingest", str(big.raw), "--case", "C", "--device", "D", "--workers",
                      "2", "--no-classify")
    # The run waits at a fault point after 20 recorded rows, whatever the machine's speed.
    proc = start_paused(args, "ingest.recorded:20", tmp_path_factory.mktemp("flag") / "paused")
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        os.kill(proc.pid, signal.SIGINT)
    proc.wait(timeout=120)
    assert 0 < recorded(ws) < len(reference)
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    assert "already done" in done.stdout
    assert rows_of(ws) == reference
    assert sys.executable
