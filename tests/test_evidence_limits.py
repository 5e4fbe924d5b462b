"""Limits bound the work, not only the declared sizes; hostile file systems (a pipe swapped in
after the walk, paths longer than PATH_MAX) neither hang nor hide anything."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import struct
import tarfile
import threading
import zipfile
import zlib

import pytest

from tests.conftest import by_path, files_json, jpeg, write
from tests.test_archives import make_tar, make_zip
from triage.evidence.base import Limits
from triage.ingest.coordinator import IngestOptions, ingest


def rows_of(store, device: str = "D1") -> dict[str, dict]:
    return by_path(list(store.iter_files(store.device(device)["id"])))


def test_compression_ratio_applies_to_members_of_every_size(tmp_path, workspace):
    # Each member is far below the 64 MiB that used to exempt it from the ratio check; together
    # they are what a bomb made of many "small" members looks like.
    members = {f"zeros{kib}.bin": b"\0" * (kib << 10) for kib in (256, 1024, 8192)}
    members["pic.jpg"] = jpeg(1)
    members["log.txt"] = b"an ordinary line of text, repeated\n" * 2000  # ~40:1, below the limit
    src = write(tmp_path / "in", "many.zip", make_zip(members))
    store = workspace.open_store()
    ingest(store, src, "C1", "D1", IngestOptions(workers=0, progress=False,
                                                 limits=Limits(max_compression_ratio=100)))
    rows = rows_of(store)
    for kib in (256, 1024, 8192):
        row = rows[f"many.zip!/zeros{kib}.bin"]
        assert row["status"] == "too_large", row
        assert "compression-ratio" in row["reason"] and row["sha256"] is None
    assert rows["many.zip!/pic.jpg"]["status"] == "ok"
    assert rows["many.zip!/log.txt"]["status"] == "ok"


def test_a_tar_stream_is_bounded_by_what_it_inflates(tmp_path, workspace):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("first.jpg", jpeg(2)), ("zeros.bin", b"\0" * (8 << 20)),
                           ("after.jpg", jpeg(3))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    src = write(tmp_path / "in", "dump.tar.gz", buf.getvalue())
    assert len(buf.getvalue()) < 200_000  # 8 MiB of zeros in a few KiB: no size limit sees it
    store = workspace.open_store()
    report = ingest(store, src, "C1", "D1", IngestOptions(
        workers=0, progress=False, limits=Limits(max_compression_ratio=100)))
    rows = rows_of(store)
    assert rows["dump.tar.gz!/first.jpg"]["status"] == "ok"
    bomb = rows["dump.tar.gz!/zeros.bin"]
    assert bomb["status"] == "too_large" and "compression-ratio" in bomb["reason"]
    # Reaching the next member would mean inflating the rest of the bomb: the stream stops,
    # and the archive's own row says so.
    top = rows["dump.tar.gz"]
    assert top["status"] == "too_large" and "stopped after 2 members" in top["reason"]
    assert report.counts.by_status == {"ok": 1, "too_large": 2}  # the run's counts agree


def overlapping_zip(inner_name: bytes, inner: bytes, outer_name: bytes) -> bytes:
    """Two stored members whose bytes overlap: the outer member's data *is* the inner member's
    local header and data (how overlapping-entry bombs reuse one compressed kernel)."""
    def local(name: bytes, data: bytes) -> bytes:
        return struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21,
                           zlib.crc32(data), len(data), len(data), len(name), 0) + name + data

    def central(name: bytes, data: bytes, offset: int) -> bytes:
        return struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21,
                           zlib.crc32(data), len(data), len(data), len(name), 0, 0, 0, 0, 0,
                           offset) + name

    inner_record = local(inner_name, inner)
    body = local(outer_name, inner_record)
    inner_at = 30 + len(outer_name)
    cd = central(outer_name, inner_record, 0) + central(inner_name, inner, inner_at)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 2, 2, len(cd), len(body), 0)
    return body + cd + eocd


def test_overlapping_zip_entries_are_refused(tmp_path, triage):
    data = overlapping_zip(b"inner.jpg", jpeg(4), b"outer.bin")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:  # a zip reader takes both members as valid
        assert [i.filename for i in zf.infolist()] == ["outer.bin", "inner.jpg"]
        assert zf.read("inner.jpg") == jpeg(4)
    src = write(tmp_path / "in", "overlap.zip", data)
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    for name in ("overlap.zip!/outer.bin", "overlap.zip!/inner.jpg"):
        assert rows[name]["status"] == "too_large", rows[name]
        assert "overlap" in rows[name]["reason"] and rows[name]["sha256"] is None


def test_a_file_swapped_for_a_fifo_after_the_walk_is_recorded_not_waited_on(
        tmp_path, workspace, monkeypatch):
    import triage.ingest.coordinator as coordinator

    src = tmp_path / "dump"
    write(src, "a.jpg", jpeg(5))
    write(src, "b.jpg", jpeg(6))
    real = coordinator.process_entry

    def swap_then_process(entry):
        if entry.path == "a.jpg":  # listed as a regular file; a pipe by the time it is read
            os.unlink(src / "a.jpg")
            os.mkfifo(src / "a.jpg")
        return real(entry)

    monkeypatch.setattr(coordinator, "process_entry", swap_then_process)
    store = workspace.open_store()
    finished = threading.Event()

    def run() -> None:
        ingest(store, src, "C1", "D1", IngestOptions(workers=0, progress=False))
        finished.set()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    if not finished.wait(120):  # a hang guard, not a timing assertion: it returns at once
        fd = os.open(src / "a.jpg", os.O_WRONLY | os.O_NONBLOCK)  # let the blocked open go
        os.close(fd)
        worker.join(60)
        pytest.fail("ingest blocked opening a FIFO that replaced a file after the walk")
    rows = rows_of(store)
    assert rows["a.jpg"]["status"] == "special" and "not a regular file" in rows["a.jpg"]["reason"]
    assert rows["b.jpg"]["status"] == "ok"


def make_deep_tree(root, depth: int, name: str) -> int:
    """Folders `name` nested `depth` deep under root (made relative to descriptors: the full
    path is too long for the kernel to take at once); returns the deepest one's descriptor."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir(name, dir_fd=fd)
        nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nxt
    return fd


def write_at(dir_fd: int, name: str, data: bytes) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dir_fd)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def test_paths_longer_than_path_max_are_read(tmp_path, triage):
    src = tmp_path / "dump"
    src.mkdir()
    name = "n" * 200
    deepest = make_deep_tree(src, 25, name)  # 25 x 201 bytes: over PATH_MAX (4,096)
    picture = jpeg(7)
    try:
        write_at(deepest, "deep.jpg", picture)
        write_at(deepest, "deep.zip", make_zip({"in.jpg": jpeg(8)}))
    finally:
        os.close(deepest)
    long_path = os.path.join(src, *[name] * 25, "deep.jpg")
    assert len(long_path.encode()) > os.pathconf(src, "PC_PATH_MAX")
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "2")
    rows = by_path(files_json(triage, "D1"))
    rel = "/".join([name] * 25)
    assert set(rows) == {f"{rel}/deep.jpg", f"{rel}/deep.zip", f"{rel}/deep.zip!/in.jpg"}
    deep = rows[f"{rel}/deep.jpg"]
    assert deep["status"] == "ok" and deep["pdq"]
    assert deep["sha256"] == hashlib.sha256(picture).hexdigest()
    assert rows[f"{rel}/deep.zip!/in.jpg"]["status"] == "ok"


def test_archives_too_large_to_hold_inside_a_compressed_stream(tmp_path, workspace):
    """Past the in-memory limit an archive member is hashed as a stream; if it is itself an
    archive it is still opened by reference (a tar streams again from the outer one) or, when
    that needs random access it cannot have (a zip in a tar.gz), flagged: never a crash."""
    filler = {f"{i}.bin": os.urandom(300_000) for i in range(5)}  # incompressible: no bomb
    inner_tar = make_tar({**filler, "deep.jpg": jpeg(9)})
    inner_zip = make_zip({**filler, "deep.jpg": jpeg(9)}, zipfile.ZIP_STORED)
    src = write(tmp_path / "in", "outer.tgz", make_tar({"in.tar": inner_tar, "in.zip": inner_zip},
                                                       "w:gz"))
    store = workspace.open_store()
    try:
        report = ingest(store, src, "C1", "D1", IngestOptions(
            workers=0, progress=False, limits=Limits(in_memory_bytes=1 << 20)))
        rows = rows_of(store)
    finally:
        store.close()
    assert report.state == "completed"
    assert rows["outer.tgz!/in.tar!/deep.jpg"]["status"] == "ok"
    assert rows["outer.tgz!/in.tar!/0.bin"]["sha256"] == hashlib.sha256(filler["0.bin"]).hexdigest()
    big_zip = rows["outer.tgz!/in.zip"]
    assert big_zip["status"] == "too_large" and "too large to open" in big_zip["reason"]
    assert big_zip["sha256"] == hashlib.sha256(inner_zip).hexdigest()


def test_trees_deeper_than_the_descriptors_kept_open_are_walked_without_leaking(
        tmp_path, workspace, monkeypatch):
    import triage.evidence.folder as folder

    monkeypatch.setattr(folder, "KEEP_OPEN", 2)  # as a tree thousands of folders deep would
    src = tmp_path / "dump"
    for depth in range(1, 7):
        write(src, "/".join(f"d{i}" for i in range(depth)) + f"/f{depth}.jpg", jpeg(depth))
    write(src, "d0/side/s.jpg", jpeg(20))
    # A connection some earlier test left open is freed only by the cycle collector (sqlite3's
    # statement cache refers back to its connection): collect now, not in the middle of this.
    gc.collect()
    open_before = len(os.listdir("/proc/self/fd"))
    store = workspace.open_store()
    ingest(store, src, "C1", "D1", IngestOptions(workers=0, progress=False))
    rows = rows_of(store)
    assert len(rows) == 7 and all(r["status"] == "ok" for r in rows.values())
    assert "d0/d1/d2/d3/d4/d5/f6.jpg" in rows
    store.close()
    assert len(os.listdir("/proc/self/fd")) == open_before  # no descriptor left behind
