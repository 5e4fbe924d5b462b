"""Connection, migrations, audit trail, cases and devices."""

from __future__ import annotations

import getpass
import json
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from triage.store.schema import Domain


class StoreError(Exception):
    """A request the store cannot satisfy (unknown device, conflicting case, ...)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still record something honest
        return "uid-unknown"


class CoreStore:
    domains: ClassVar[Sequence[Domain]] = ()

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, create: bool = False) -> "CoreStore":
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(f"no workspace database at {path} (run `triage init` first)")
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # WAL: readers (the web app, `triage files`) never block the ingest writer, and a
        # kill -9 loses at most the uncommitted batch, never the database.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        store = cls(conn, path)
        store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        if self.conn.in_transaction:  # nested: the outer transaction owns commit/rollback
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # -- migrations ---------------------------------------------------------------------
    def migrate(self) -> None:
        has_meta = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        for domain in self.domains:
            applied = 0
            if has_meta:
                row = self.conn.execute(
                    "SELECT value FROM meta WHERE key=?", (f"schema:{domain.name}",)
                ).fetchone()
                applied = int(row[0]) if row else 0
            for i, step in enumerate(domain.steps[applied:], start=applied + 1):
                with self.transaction() as c:
                    for statement in _split_sql(step):
                        c.execute(statement)
                    c.execute(
                        "INSERT INTO meta(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        (f"schema:{domain.name}", str(i)),
                    )
                has_meta = True

    # -- audit --------------------------------------------------------------------------
    def audit_start(self, command: str, arguments: dict[str, Any], tool_version: str) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO audit(started_at, os_user, host, tool_version, command, arguments)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now_iso(), os_user(), socket.gethostname(), tool_version, command,
                 json.dumps(arguments, default=str, sort_keys=True)),
            )
            return int(cur.lastrowid)

    def audit_finish(self, audit_id: int, outcome: str, counts: dict[str, Any] | None) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE audit SET finished_at=?, outcome=?, counts=? WHERE id=?",
                (now_iso(), outcome, json.dumps(counts or {}, default=str, sort_keys=True),
                 audit_id),
            )

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        out = []
        for r in rows:
            d = dict(r)
            d["arguments"] = json.loads(d["arguments"])
            d["counts"] = json.loads(d["counts"]) if d["counts"] else None
            out.append(d)
        return out

    # -- cases and devices --------------------------------------------------------------
    def ensure_case(self, reference: str) -> int:
        with self.transaction() as c:
            row = c.execute("SELECT id FROM cases WHERE reference=?", (reference,)).fetchone()
            if row:
                return int(row[0])
            cur = c.execute(
                "INSERT INTO cases(reference, created_at) VALUES (?, ?)", (reference, now_iso())
            )
            return int(cur.lastrowid)

    def ensure_device(self, case_reference: str, label: str) -> int:
        """Device labels are unique in a workspace (exhibit references), so one belongs to one case."""
        with self.transaction():
            case_id = self.ensure_case(case_reference)
            row = self.conn.execute(
                "SELECT d.id, c.reference FROM devices d JOIN cases c ON c.id=d.case_id"
                " WHERE d.label=?",
                (label,),
            ).fetchone()
            if row:
                if row["reference"] != case_reference:
                    raise StoreError(
                        f"device {label!r} belongs to case {row['reference']!r},"
                        f" not {case_reference!r}"
                    )
                return int(row["id"])
            cur = self.conn.execute(
                "INSERT INTO devices(case_id, label, created_at) VALUES (?, ?, ?)",
                (case_id, label, now_iso()),
            )
            return int(cur.lastrowid)

    def device(self, label: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT d.*, c.reference AS case_reference FROM devices d"
            " JOIN cases c ON c.id=d.case_id WHERE d.label=?",
            (label,),
        ).fetchone()
        if row is None:
            known = [r[0] for r in self.conn.execute("SELECT label FROM devices ORDER BY label")]
            hint = f" (known: {', '.join(known[:10])})" if known else " (none ingested yet)"
            raise StoreError(f"no device {label!r} in this workspace{hint}")
        return dict(row)

    def devices(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.*, c.reference AS case_reference FROM devices d"
            " JOIN cases c ON c.id=d.case_id ORDER BY d.label"
        )
        return [dict(r) for r in rows]

    def set_device_status(self, device_id: int, status: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE devices SET status=? WHERE id=?", (status, device_id))


def in_chunks(values: Sequence[Any], size: int = 500) -> Iterator[tuple[list[Any], str]]:
    """(slice, "?,?,...") pairs for `IN (...)` queries: SQLite caps the bound parameters."""
    for i in range(0, len(values), size):
        chunk = list(values[i : i + size])
        yield chunk, ",".join("?" * len(chunk))


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
