"""Hostile and damaged input: every file ends with a clear status, and the run goes on."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import pytest

from tests.conftest import by_path, files_json, jpeg, write
from triage.ingest.coordinator import IngestOptions, ingest
from triage.evidence.base import Limits


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid-looking PNG whose header declares 10 Gpx: decoding it would eat the machine."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def test_bad_files_are_recorded_and_the_run_goes_on(tmp_path, triage):
    src = tmp_path / "dump"
    good = jpeg(1, (800, 600))
    write(src, "a_truncated.jpg", good[: len(good) // 3])
    write(src, "b_garbage.png", b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    write(src, "c_bomb.png", png_bomb())
    write(src, "d_empty.jpg", b"")
    write(src, "e_fine.jpg", good)
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "2")
    rows = by_path(files_json(triage, "D1"))
    assert len(rows) == 5
    t = rows["a_truncated.jpg"]
    assert t["status"] == "corrupt" and "decode" in t["reason"]
    assert t["sha256"] == hashlib.sha256(good[: len(good) // 3]).hexdigest()  # hashes kept
    assert rows["b_garbage.png"]["status"] == "corrupt"
    bomb = rows["c_bomb.png"]
    assert bomb["status"] == "too_large" and "Mpx" in bomb["reason"] and bomb["pdq"] is None
    assert rows["d_empty.jpg"]["status"] == "empty"
    assert rows["e_fine.jpg"]["status"] == "ok"
    summary = triage("summary", "--device", "D1").output
    assert "corrupt: 2" in summary and "too_large: 1" in summary and "empty: 1" in summary


def test_links_are_recorded_never_followed_and_loops_end(tmp_path, triage):
    outside = tmp_path / "outside"
    secret = write(outside, "secret.jpg", jpeg(5))
    src = tmp_path / "dump"
    write(src, "DCIM/a.jpg", jpeg(6))
    os.symlink(secret, src / "DCIM" / "link_out.jpg")
    os.symlink("..", src / "DCIM" / "loop")  # DCIM/loop -> dump: a cycle if followed
    os.symlink(src / "DCIM", src / "DCIM_again")
    os.mkfifo(src / "pipe")
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert set(rows) == {"DCIM/a.jpg", "DCIM/link_out.jpg", "DCIM/loop", "DCIM_again", "pipe"}
    out = rows["DCIM/link_out.jpg"]
    assert out["status"] == "link" and str(secret) in out["reason"] and out["sha256"] is None
    assert rows["DCIM/loop"]["status"] == "link"
    assert rows["pipe"]["status"] == "special"


def test_folder_seen_twice_is_a_loop_not_a_hang(tmp_path, workspace, monkeypatch):
    """A bind mount makes one folder appear at two paths with one (device, inode) identity."""
    import triage.evidence.folder as sources

    src = tmp_path / "dump"
    write(src, "a/x.jpg", jpeg(1))
    write(src, "b/y.jpg", jpeg(2))
    a = (src / "a").stat()
    real = sources._identity

    def bind_b_onto_a(st):
        b = (src / "b").stat()
        return (a.st_dev, a.st_ino) if (st.st_dev, st.st_ino) == (b.st_dev, b.st_ino) else real(st)

    monkeypatch.setattr(sources, "_identity", bind_b_onto_a)
    store = workspace.open_store()
    ingest(store, src, "C1", "D1", IngestOptions(workers=0, progress=False))
    rows = by_path(list(store.iter_files(store.device("D1")["id"])))
    assert set(rows) == {"a/x.jpg", "b"}
    assert rows["b"]["status"] == "loop"


def test_unreadable_file_is_recorded(tmp_path, workspace, monkeypatch):
    import triage.evidence.folder as folder

    src = tmp_path / "dump"
    write(src, "locked.jpg", jpeg(1))
    write(src, "open.jpg", jpeg(2))
    real = folder.open_evidence

    def deny(path, dir_fd=None):
        if str(path).endswith("locked.jpg"):
            raise PermissionError(13, "Permission denied")
        return real(path, dir_fd=dir_fd)

    if os.geteuid() != 0:
        (src / "locked.jpg").chmod(0)
    else:  # root reads anything: inject the refusal the OS would give anyone else
        monkeypatch.setattr(folder, "open_evidence", deny)
    store = workspace.open_store()
    report = ingest(store, src, "C1", "D1", IngestOptions(workers=0, progress=False))
    rows = by_path(list(store.iter_files(store.device("D1")["id"])))
    assert report.state == "completed"
    assert rows["locked.jpg"]["status"] == "unreadable"
    assert "Permission denied" in rows["locked.jpg"]["reason"]
    assert rows["open.jpg"]["status"] == "ok"


def test_huge_non_image_is_hashed_as_a_stream(tmp_path, workspace):
    src = tmp_path / "dump"
    blob = os.urandom(3 << 20)
    write(src, "backup.bin", blob)
    big_picture = jpeg(3, (1600, 1200)) + os.urandom(2 << 20)  # a JPEG padded past the limit
    write(src, "big.jpg", big_picture)
    store = workspace.open_store()
    opts = IngestOptions(workers=0, progress=False, limits=Limits(in_memory_bytes=1 << 20))
    ingest(store, src, "C1", "D1", opts)
    rows = by_path(list(store.iter_files(store.device("D1")["id"])))
    assert rows["backup.bin"]["status"] == "ok"
    assert rows["backup.bin"]["sha256"] == hashlib.sha256(blob).hexdigest()
    assert rows["backup.bin"]["md5"] == hashlib.md5(blob).hexdigest()
    assert rows["big.jpg"]["status"] == "too_large"
    assert rows["big.jpg"]["sha256"] == hashlib.sha256(big_picture).hexdigest()


def test_a_crashing_decoder_is_isolated(tmp_path, workspace, monkeypatch):
    """A worker that dies (e.g. a native decoder segfault) costs one file's decode, nothing more."""
    src = tmp_path / "dump"
    for i in range(6):
        write(src, f"ok{i}.jpg", jpeg(10 + i))
    write(src, "killer.jpg", jpeg(99))
    monkeypatch.setenv("TRIAGE_FAULT_CRASH_ON", "killer.jpg")
    store = workspace.open_store()
    report = ingest(store, src, "C1", "D1", IngestOptions(workers=2, progress=False))
    rows = by_path(list(store.iter_files(store.device("D1")["id"])))
    assert report.state == "completed"
    assert len(rows) == 7
    assert rows["killer.jpg"]["status"] == "corrupt" and "crashed" in rows["killer.jpg"]["reason"]
    assert all(rows[f"ok{i}.jpg"]["status"] == "ok" for i in range(6))


def test_source_that_is_not_a_folder_or_archive_is_refused(tmp_path, triage):
    p = write(tmp_path, "photo.jpg", jpeg(1))
    r = triage("ingest", str(p), "--case", "C", "--device", "D", ok=(1,))
    assert "not a known evidence source (found jpeg)" in r.output
    assert "folder:" in r.output and "zip:" in r.output and "tar:" in r.output  # what would do


@pytest.fixture(autouse=True)
def _no_crash_env(monkeypatch):
    monkeypatch.delenv("TRIAGE_FAULT_CRASH_ON", raising=False)
