"""What ingest records of disk images: each file's place in its file system (partition, file
system, inode / MFT entry, deleted, unallocated, created time) as columns of `files`, and each
image's own facts (format, segments, volume system, the acquisition metadata an E01 stores, and
the result of `--verify-image`) in `disk_images`, one row per image per source.

The image's ref is stored (JSON) so `--verify-image` can reopen an image found anywhere in a
source (an E01 inside a folder) without walking the source again; refs hold names and numbers
only, never a key.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from triage.evidence.base import Ref
from triage.records import FileResult
from triage.store.core import CoreStore, now_iso
from triage.store.schema import Domain

DISK = Domain(
    "disk",
    (
        """
        ALTER TABLE files ADD COLUMN fs_partition TEXT;
        ALTER TABLE files ADD COLUMN file_system TEXT;
        ALTER TABLE files ADD COLUMN fs_inode INTEGER;
        ALTER TABLE files ADD COLUMN deleted INTEGER;
        ALTER TABLE files ADD COLUMN unallocated INTEGER;
        ALTER TABLE files ADD COLUMN created REAL;
        CREATE INDEX files_deleted ON files(device_id, deleted);
        CREATE TABLE disk_images (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL REFERENCES devices(id),
            source_id INTEGER NOT NULL REFERENCES sources(id),
            label TEXT NOT NULL,
            format TEXT NOT NULL,
            media_size INTEGER,
            segments TEXT,
            volume_system TEXT,
            file_system TEXT,
            metadata TEXT,
            stored_md5 TEXT,
            stored_sha1 TEXT,
            ref TEXT,
            verify_state TEXT,
            verified_md5 TEXT,
            verified_sha1 TEXT,
            verify_reason TEXT,
            verified_at TEXT,
            UNIQUE (device_id, source_id, label)
        );
        """,
    ),
)

# Columns `triage files --json` adds for items of disk images (None for other items).
DISK_FIELDS = ("partition", "file_system", "inode", "deleted", "unallocated", "created")
# The E01 header values shown in the device report, in this order.
METADATA_FIELDS = ("case_number", "evidence_number", "examiner_name", "description", "notes",
                   "acquiry_date", "system_date", "acquiry_software", "acquiry_software_version",
                   "acquiry_operating_system", "model", "serial_number", "bytes_per_sector")


def ref_to_json(ref: Ref | None) -> str | None:
    return None if ref is None else json.dumps(asdict(ref))


def ref_from_json(text: str | None) -> Ref | None:
    if not text:
        return None

    def build(d: dict[str, Any] | None) -> Ref | None:
        if d is None:
            return None
        return Ref(d["source"], _tuples(d["key"]), build(d["container"]),
                   tuple(d["span"]) if d["span"] is not None else None)  # type: ignore[arg-type]

    return build(json.loads(text))


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def record_origin(c: Any, device_id: int, source_id: int, r: FileResult) -> None:
    """Store a disk item's file-system facts (and an image's own row) with its files row."""
    o = r.origin or {}
    c.execute(
        "UPDATE files SET fs_partition=?, file_system=?, fs_inode=?, deleted=?, unallocated=?,"
        " created=? WHERE device_id=? AND source_id=? AND path=?",
        (o.get("partition"), o.get("file_system"), o.get("inode"),
         None if o.get("deleted") is None else int(bool(o["deleted"])),
         None if o.get("unallocated") is None else int(bool(o["unallocated"])),
         o.get("created"), device_id, source_id, r.path))
    image = o.get("image")
    if image is None:
        return
    label = r.path[:-2] if r.path.endswith("!/") else r.path
    extra = {k: image.get(k) for k in METADATA_FIELDS if image.get(k) is not None}
    c.execute(
        "INSERT INTO disk_images(device_id, source_id, label, format, media_size, segments,"
        " volume_system, file_system, metadata, stored_md5, stored_sha1, ref)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(device_id, source_id, label) DO UPDATE SET"
        " format=excluded.format, media_size=excluded.media_size, segments=excluded.segments,"
        " volume_system=excluded.volume_system, file_system=excluded.file_system,"
        " metadata=excluded.metadata, stored_md5=excluded.stored_md5,"
        " stored_sha1=excluded.stored_sha1, ref=excluded.ref",
        (device_id, source_id, label, image.get("format"), image.get("media_size"),
         json.dumps(image.get("segments") or []), image.get("volume_system"),
         o.get("file_system"), json.dumps(extra, sort_keys=True), image.get("stored_md5"),
         image.get("stored_sha1"), ref_to_json(image.get("ref"))))


class DiskStore(CoreStore):
    def source_id(self, device_id: int, location: str) -> int | None:
        row = self.conn.execute("SELECT id FROM sources WHERE device_id=? AND location=?",
                                (device_id, location)).fetchone()
        return None if row is None else int(row[0])

    def disk_images(self, device_id: int, source_id: int | None = None) -> list[dict[str, Any]]:
        """The device's images (or one source's), with their metadata and verification."""
        query = ("SELECT i.*, s.location FROM disk_images i JOIN sources s ON s.id=i.source_id"
                 " WHERE i.device_id=?")
        args: list[Any] = [device_id]
        if source_id is not None:
            query += " AND i.source_id=?"
            args.append(source_id)
        out = []
        for row in self.conn.execute(query + " ORDER BY i.source_id, i.label", args):
            d = dict(row)
            d["segments"] = json.loads(d["segments"] or "[]")
            d["metadata"] = json.loads(d["metadata"] or "{}")
            d["ref"] = ref_from_json(d["ref"])
            out.append(d)
        return out

    def deleted_counts(self, device_id: int) -> dict[tuple[int, str], dict[str, int]]:
        """(source id, image label) -> deleted files recovered / unrecoverable in it. An item's
        image is the label before its first `!/` (the image a file system sits in)."""
        out: dict[tuple[int, str], dict[str, int]] = {}
        images = [(r["source_id"], r["label"]) for r in self.conn.execute(
            "SELECT source_id, label FROM disk_images WHERE device_id=?", (device_id,))]
        for source_id, label in images:
            rows = self.conn.execute(
                "SELECT status='unrecoverable' AS gone, COUNT(*) FROM files WHERE device_id=?"
                " AND source_id=? AND deleted=1 AND substr(path, 1, ?)=? GROUP BY 1",
                (device_id, source_id, len(label) + 2, label + "!/"))
            slot = out.setdefault((source_id, label), {})
            for gone, n in rows:
                slot["unrecoverable" if gone else "recovered"] = n
        return out

    def record_verification(self, image_id: int, state: str, md5: str | None,
                            sha1: str | None, reason: str | None) -> None:
        """The result of `--verify-image` for one image; a mismatch also flags the image's row
        (`X!/`), so the status counts show it."""
        with self.transaction() as c:
            c.execute("UPDATE disk_images SET verify_state=?, verified_md5=?, verified_sha1=?,"
                      " verify_reason=?, verified_at=? WHERE id=?",
                      (state, md5, sha1, reason, now_iso(), image_id))
            if state == "mismatch":
                row = c.execute("SELECT device_id, source_id, label FROM disk_images WHERE id=?",
                                (image_id,)).fetchone()
                c.execute("UPDATE files SET status=CASE WHEN status='ok' THEN 'corrupt' ELSE"
                          " status END, reason=CASE WHEN reason IS NULL THEN ? WHEN instr(reason,"
                          " ?) THEN reason ELSE reason || '; ' || ? END WHERE device_id=? AND"
                          " source_id=? AND path=?",
                          (reason, reason, reason, row["device_id"], row["source_id"],
                           row["label"] + "!/"))
