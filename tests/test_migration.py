"""A workspace made by release 0.1.0 opens with this code, migrates, and says the same.

The fixture (tests/fixtures/workspace-0.1.0.tar.gz, rebuilt by scripts/make_release_fixture.py)
holds the old database and list files and what the old code printed for `files --json`,
`queue --json` and both exports. Fields this release adds are checked for their value, never
dropped from the comparison: `frames` (the frame count, unknown for pictures ingested before it
was counted) and each match's `frame` (0 for the old near matches, which compared the first
frame; null for exact ones). Another change's deliberate additions are normalised, and only
those: `appended_offset` in `files` (null: 0.1.0 did not look), and the VICS export's in
`assert_export_as_before`.
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from triage.cli.main import cli
from triage.workspace import Workspace

FIXTURE = Path(__file__).parent / "fixtures" / "workspace-0.1.0.tar.gz"
DEVICE = "DEMO-PHONE-01"


@pytest.fixture
def old(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path


def run(ws: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-w", str(ws), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def raw_list_entries(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, md5, sha1, sha256, pdq, pdq_quality, category_raw, name,"
                            " record FROM entries ORDER BY id").fetchall()
    finally:
        conn.close()


def assert_files_as_before(new: list[dict], expected: list[dict]) -> None:
    assert [r["path"] for r in new] == [r["path"] for r in expected]
    for got, want in zip(new, expected):
        assert got["frames"] is None, got["path"]  # not counted by 0.1.0
        for m in got["matches"]:
            assert m.pop("frame") == (0 if m["near"] else None), got["path"]
        got.pop("frames")
        # The evidence work of issue 11 adds where data hidden after a picture starts: not
        # looked for by 0.1.0, so unknown for its files.
        assert got.pop("appended_offset") is None, got["path"]
        # Issue 14 adds the file-system facts of files from disk images: none in 0.1.0.
        for key in ("partition", "file_system", "inode", "deleted", "unallocated", "created"):
            assert got.pop(key) is None, (got["path"], key)
        # Issue 13 appends a video's probe, null for everything else (0.1.0 had no video).
        for k in ("duration", "codec", "fps", "rotation", "audio", "frames_hashed"):
            assert got.pop(k) is None or got["media_kind"] == "video", got["path"]
        assert got == want, got["path"]  # every field, same names, order and values


def assert_export_as_before(new: dict, expected: dict) -> None:
    """The VICS export is 0.1.0's except where the export work of issue 11 changed it on
    purpose, each checked for its new form: CaseID is a GUID kept per case (was the row number),
    the non-VICS `DeviceLabel` is gone, and `Created` is no longer the lab copy's POSIX ctime
    (null when the evidence gives no creation time)."""
    (case,), (want,) = new["value"], expected["value"]
    uuid.UUID(case.pop("CaseID"))  # a GUID, or this raises
    assert want.pop("CaseID") == "1"
    assert "DeviceLabel" not in case and want.pop("DeviceLabel") == DEVICE
    for media in case["Media"]:
        for f in media["MediaFiles"]:
            assert f.pop("Created") is None
        # Issue 13 writes each Media's MimeType (a VICS field 0.1.0 left out).
        assert media.pop("MimeType").startswith(("image/", "video/"))
    for media in want["Media"]:
        for f in media["MediaFiles"]:
            f.pop("Created")
    assert new == expected


def test_release_0_1_0_workspace_migrates_and_shows_the_same(old: Path):
    ws = old / "workspace"
    expected = old / "expected"
    lists_before = {p.name: raw_list_entries(p) for p in (ws / "hashlib").glob("*.sqlite")}
    assert lists_before and all(lists_before.values())

    files = jsonl(run(ws, "files", "--device", DEVICE, "--json"))
    assert_files_as_before(files, jsonl((expected / "files.jsonl").read_text()))
    queue = jsonl(run(ws, "queue", "--device", DEVICE, "--json"))
    assert all(q.pop("kind") == "image" for q in queue)  # issue 13 appends it; 0.1.0: pictures
    assert queue == jsonl((expected / "queue.jsonl").read_text())
    # The expected CSV was saved through text mode (CRLF -> LF): compare line by line.
    assert run(ws, "export", "--device", DEVICE, "--format", "csv").splitlines() == \
        (expected / "export.csv").read_text().splitlines()
    assert_export_as_before(json.loads(run(ws, "export", "--device", DEVICE, "--profile", "us")),
                            json.loads((expected / "export-us.json").read_text()))

    # Matching again against the migrated list files finds exactly what 0.1.0 found.
    run(ws, "match", "--device", DEVICE)
    assert_files_as_before(jsonl(run(ws, "files", "--device", DEVICE, "--json")),
                           jsonl((expected / "files.jsonl").read_text()))
    queue = jsonl(run(ws, "queue", "--device", DEVICE, "--json"))
    assert all(q.pop("kind") == "image" for q in queue)
    assert queue == jsonl((expected / "queue.jsonl").read_text())

    # Every list file is in the new layout and holds the same entries under the same ids.
    store = Workspace(ws).open_store()
    try:
        for hs in store.hashsets():
            path = store.list_file(hs["id"])
            conn = sqlite3.connect(path)
            try:
                assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
                columns = {r[1] for r in conn.execute("PRAGMA table_info(entries)")}
                assert "pdq" not in columns and "pdq_quality" not in columns
            finally:
                conn.close()
            got = [(e["id"], e["md5"], e["sha1"], e["sha256"], e["pdq"], e["pdq_quality"],
                    e["category_raw"], e["name"], e["record"])
                   for e in store.iter_list_entries(hs["name"])]
            want = [(r[0], *(bytes(v).hex() if v is not None else None for v in r[1:5]),
                     r[5], r[6], r[7], json.loads(r[8]) if r[8] else None)
                    for r in lists_before[path.name]]
            assert got == want, hs["name"]
        # The old columns are gone; their values live in the signals table, and every
        # picture's derivative is its frame-0 derivative.
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(contents)")}
        assert not columns & {"pdq", "pdq_quality", "phash", "dhash"}
        pictures = store.conn.execute(
            "SELECT id, derivative FROM contents WHERE media_kind='image'").fetchall()
        assert len(pictures) == len({r["content_id"] for r in files if r["phash"]})
        derivatives = store.derivatives_of([r[0] for r in pictures])
        assert {cid: [(d.frame, d.name) for d in ds] for cid, ds in derivatives.items()} == \
            {r[0]: [(0, r[1])] for r in pictures if r[1]}
    finally:
        store.close()


def test_an_old_list_file_is_migrated_once_and_left_alone_when_current(old: Path):
    ws = old / "workspace"
    store = Workspace(ws).open_store()
    try:
        pdq_list = next(h for h in store.hashsets() if h["pdq_count"])
        before = raw_list_entries(store.list_file(pdq_list["id"]))
        batches = [row for b in store.list_signal_batches(pdq_list["id"]) for row in b]
        assert batches == [(r[0], r[4], r[5], 0, None) for r in before if r[4] is not None]
        mtime = store.list_file(pdq_list["id"]).stat().st_mtime_ns
        assert [row for b in store.list_signal_batches(pdq_list["id"]) for row in b] == batches
        assert store.list_file(pdq_list["id"]).stat().st_mtime_ns == mtime  # not rewritten
    finally:
        store.close()
