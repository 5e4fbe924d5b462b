"""Archives are read as streams, never extracted; hostile members are recorded, not obeyed."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import pytest

from tests.conftest import by_path, files_json, jpeg, write
from triage.ingest.coordinator import IngestOptions, ingest
from triage.evidence.base import Limits


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("name,mode", [("dump.tar", "w"), ("dump.tar.gz", "w:gz"),
                                       ("dump.tgz", "w:gz"), ("dump.zip", None)])
def test_archive_as_source(tmp_path, triage, name, mode):
    members = {"DCIM/a.jpg": jpeg(1), "DCIM/b.jpg": jpeg(2), "notes.txt": b"hello"}
    data = make_zip(members) if mode is None else make_tar(members, mode)
    src = write(tmp_path, name, data)
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert set(rows) == {name, f"{name}!/DCIM/a.jpg", f"{name}!/DCIM/b.jpg", f"{name}!/notes.txt"}
    a = rows[f"{name}!/DCIM/a.jpg"]
    assert a["status"] == "ok" and a["sha256"] == hashlib.sha256(members["DCIM/a.jpg"]).hexdigest()
    assert a["pdq"] and a["source"] == name
    assert rows[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert not list(tmp_path.glob("DCIM*"))  # nothing extracted next to it


def test_archives_inside_a_folder_and_inside_archives(tmp_path, triage):
    inner = make_zip({"deep.jpg": jpeg(3)})
    outer = make_tar({"x/inner.zip": inner, "x/top.jpg": jpeg(4)}, "w:gz")
    src = tmp_path / "dump"
    write(src, "Download/backup.tar.gz", outer)
    write(src, "Download/plain.gz", __import__("gzip").compress(b"not a tar"))
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "2")
    rows = by_path(files_json(triage, "D1"))
    deep = "Download/backup.tar.gz!/x/inner.zip!/deep.jpg"
    assert rows[deep]["status"] == "ok" and rows[deep]["pdq"]
    assert rows["Download/backup.tar.gz!/x/top.jpg"]["status"] == "ok"
    assert rows["Download/plain.gz"]["status"] == "ok"  # a gzip of one file is not damage


def test_zip_slip_and_absolute_names_are_flagged_not_followed(tmp_path, triage):
    members = {"../../etc/evil.jpg": jpeg(5), "/abs/path.jpg": jpeg(6), "ok/fine.jpg": jpeg(7)}
    src = write(tmp_path / "in", "slip.zip", make_zip(members))
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    evil = rows["slip.zip!/../../etc/evil.jpg"]
    assert evil["status"] == "unsafe_path" and "escapes" in evil["reason"]
    assert evil["pdq"]  # still hashed and decoded: the finding loses nothing
    assert rows["slip.zip!//abs/path.jpg"]["status"] == "unsafe_path"
    assert rows["slip.zip!/ok/fine.jpg"]["status"] == "ok"
    assert not (tmp_path / "etc").exists()


def test_encrypted_member_is_recorded(tmp_path, triage):
    data = bytearray(make_zip({"secret.jpg": jpeg(8), "open.jpg": jpeg(9)}, zipfile.ZIP_STORED))
    # Set the "encrypted" flag bit on secret.jpg in its local header and central directory entry
    # (what a password-protected zip carries), the way a real encrypted archive presents itself.
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = data.find(sig)
        data[pos + flag_at] |= 0x01
    src = write(tmp_path / "in", "locked.zip", bytes(data))
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert rows["locked.zip!/secret.jpg"]["status"] == "encrypted"
    assert rows["locked.zip!/secret.jpg"]["sha256"] is None
    assert rows["locked.zip!/open.jpg"]["status"] == "ok"


def test_zip_bomb_member_is_not_expanded(tmp_path, workspace):
    bomb = make_zip({"zeros.bin": b"\0" * (80 << 20), "pic.jpg": jpeg(10)})
    assert len(bomb) < 200_000
    src = write(tmp_path / "in", "bomb.zip", bomb)
    store = workspace.open_store()
    opts = IngestOptions(workers=0, progress=False, limits=Limits(max_compression_ratio=100))
    ingest(store, src, "C1", "D1", opts)
    rows = by_path(list(store.iter_files(store.device("D1")["id"])))
    assert rows["bomb.zip!/zeros.bin"]["status"] == "too_large"
    assert "zip bomb" in rows["bomb.zip!/zeros.bin"]["reason"]
    assert rows["bomb.zip!/pic.jpg"]["status"] == "ok"


def test_truncated_archive_keeps_what_was_readable(tmp_path, triage):
    members = {f"m{i}.jpg": jpeg(20 + i) for i in range(4)}
    data = make_tar(members)
    cut = data[: len(data) * 2 // 3]
    src = tmp_path / "dump"
    write(src, "cut.tar", cut)
    write(src, "broken.zip", make_zip(members)[:-200])  # central directory gone
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert rows["cut.tar"]["status"] == "corrupt" and "damaged" in rows["cut.tar"]["reason"]
    assert rows["cut.tar!/m0.jpg"]["status"] == "ok"  # members before the cut survive
    assert rows["broken.zip"]["status"] == "corrupt"
    assert rows["broken.zip"]["sha256"]
