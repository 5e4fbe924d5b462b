"""Data for the backlog, register and report tests: real ingests of generated pictures, and the
rows other stages write (hash-list matches, decisions, exposure) in the contract's schema."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import jpeg, write
from triage.ingest.coordinator import IngestOptions, ingest
from triage.store import Store
from triage.workspace import Workspace

# The agreed tables (notes/CONTRACTS.md). Created only when the owning stage is not installed in
# this checkout, so these tests exercise the same SQL either way.
CONTRACT_DDL = """
CREATE TABLE IF NOT EXISTS hashsets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL, format TEXT NOT NULL, scheme TEXT, source_path TEXT,
  source_sha256 TEXT NOT NULL, imported_at TEXT NOT NULL, entry_count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS matches (content_id INTEGER NOT NULL, hashset_id INTEGER NOT NULL,
  method TEXT NOT NULL, distance INTEGER, near INTEGER NOT NULL, category_raw TEXT,
  category TEXT, PRIMARY KEY (content_id, hashset_id, method));
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL, password_hash TEXT NOT NULL, failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until TEXT, active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY, content_id INTEGER NOT NULL,
  device_id INTEGER NOT NULL, user_id INTEGER NOT NULL, scheme TEXT NOT NULL,
  category TEXT NOT NULL, via TEXT NOT NULL, decided_at TEXT NOT NULL, undone_at TEXT);
CREATE TABLE IF NOT EXISTS exposure (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,
  content_id INTEGER, device_id INTEGER, mode TEXT NOT NULL, severity TEXT NOT NULL,
  started_at TEXT NOT NULL, ended_at TEXT NOT NULL, seconds REAL NOT NULL);
"""


def ingest_pictures(ws: Workspace, root: Path, case: str, device: str, count: int,
                    seed: int = 0) -> None:
    """`count` distinct JPEGs (every third with camera EXIF), two exact copies, one text file."""
    for i in range(count):
        write(root, f"DCIM/IMG_{i:03d}.jpg", jpeg(seed + i, (320, 240), exif=i % 3 == 0))
    write(root, "copies/a.jpg", (root / "DCIM/IMG_000.jpg").read_bytes())
    write(root, "copies/b.jpg", (root / "DCIM/IMG_001.jpg").read_bytes())
    write(root, "notes.txt", b"shopping list\n")
    store = ws.open_store()
    try:
        ingest(store, root, case, device,
               IngestOptions(workers=0, progress=False, derivative_dir=str(ws.derivative_dir)))
    finally:
        store.close()


def contract_tables(store: Store) -> None:
    for statement in CONTRACT_DDL.split(";"):
        if statement.strip():
            store.conn.execute(statement)


def content_ids(store: Store, device: str) -> list[int]:
    """Unique picture contents of a device, in path order."""
    dev = store.device(device)
    rows = store.conn.execute(
        "SELECT f.content_id FROM files f JOIN contents c ON c.id=f.content_id"
        " WHERE f.device_id=? AND c.media_kind = 'image'"
        " GROUP BY f.content_id ORDER BY MIN(f.path)",
        (dev["id"],))
    return [r[0] for r in rows]


def add_list(store: Store, name: str, kind: str, hits: dict[int, str | None],
             near: int = 0) -> None:
    contract_tables(store)
    cur = store.conn.execute(
        "INSERT INTO hashsets(name, kind, format, scheme, source_path, source_sha256,"
        " imported_at, entry_count) VALUES (?, ?, 'md5sum', 'uk', ?, ?, '2026-01-01T00:00:00',"
        " ?)", (name, kind, f"/lists/{name}.txt", "ab" * 32, len(hits)))
    for cid, cat in hits.items():
        store.conn.execute(
            "INSERT INTO matches(content_id, hashset_id, method, near, category_raw, category)"
            " VALUES (?, ?, 'md5', ?, ?, ?)", (cid, cur.lastrowid, near, cat, cat))


def add_user(store: Store, name: str, role: str = "reviewer") -> int:
    contract_tables(store)
    cur = store.conn.execute(
        "INSERT INTO users(name, role, password_hash, created_at) VALUES (?, ?, 'x', ?)",
        (name, role, "2026-01-01T00:00:00"))
    return int(cur.lastrowid)


def add_decision(store: Store, user_id: int, device: str, content_id: int, category: str,
                 undone: bool = False) -> None:
    dev = store.device(device)
    store.conn.execute(
        "INSERT INTO decisions(content_id, device_id, user_id, scheme, category, via,"
        " decided_at, undone_at) VALUES (?, ?, ?, 'uk', ?, 'direct', ?, ?)",
        (content_id, dev["id"], user_id, category, "2026-03-02T10:00:00",
         "2026-03-02T10:05:00" if undone else None))


def add_exposure(store: Store, user_id: int, device: str, content_id: int, seconds: float,
                 mode: str = "blurred") -> None:
    dev = store.device(device)
    store.conn.execute(
        "INSERT INTO exposure(user_id, content_id, device_id, mode, severity, started_at,"
        " ended_at, seconds) VALUES (?, ?, ?, ?, 'uncategorised', ?, ?, ?)",
        (user_id, content_id, dev["id"], mode, "2026-03-02T10:00:00", "2026-03-02T10:01:00",
         seconds))


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
