"""What export and the reports keep between runs: each case's VICS CaseID, and which output
files triage wrote (so a report never overwrites a file it did not create)."""

from __future__ import annotations

import uuid
from typing import Any

from triage.store.core import CoreStore, now_iso
from triage.store.schema import Domain

EXPORT = Domain(
    "export",
    (
        # One GUID per case, made at its first export and kept: CAID and Project VIC tools join
        # submissions of one case by CaseID, so it must not change between exports (nor be the
        # workspace's row number, which means nothing outside it and repeats across labs).
        """
        CREATE TABLE case_export_ids (
            case_id INTEGER PRIMARY KEY REFERENCES cases(id),
            vics_case_id TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE written_outputs (
            path TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            kind TEXT NOT NULL,
            written_at TEXT NOT NULL
        );
        """,
    ),
)


class ExportStore(CoreStore):
    def vics_case_id(self, case_id: int) -> str:
        """The case's VICS CaseID (a GUID), made once and kept."""
        with self.transaction() as c:
            row = c.execute("SELECT vics_case_id FROM case_export_ids WHERE case_id=?",
                            (case_id,)).fetchone()
            if row:
                return str(row[0])
            guid = str(uuid.uuid4())
            c.execute("INSERT INTO case_export_ids(case_id, vics_case_id, created_at)"
                      " VALUES (?, ?, ?)", (case_id, guid, now_iso()))
            return guid

    def source_kinds(self, device_id: int) -> dict[str, set[str]]:
        """Source name -> the kinds of the device's sources of that name (folder, archive)."""
        out: dict[str, set[str]] = {}
        for name, kind in self.conn.execute(
                "SELECT name, kind FROM sources WHERE device_id=?", (device_id,)):
            out.setdefault(str(name), set()).add(str(kind))
        return out

    def record_output(self, path: str, sha256: str, kind: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO written_outputs(path, sha256, kind, written_at)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET"
                      " sha256=excluded.sha256, kind=excluded.kind,"
                      " written_at=excluded.written_at", (path, sha256, kind, now_iso()))

    def written_output(self, path: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM written_outputs WHERE path=?", (path,)).fetchone()
        return dict(row) if row else None
