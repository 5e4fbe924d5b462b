"""Connection, migrations, audit trail, cases and devices.

A workspace database is only ever opened if it is one: a zero-byte file, a file that is not
SQLite, or one that `triage doctor` found damaged (it leaves `triage.db.damaged` beside it) is
refused with a message naming the file. SQLite would happily turn an empty file into a fresh
empty workspace, silently losing the case; and writing to a damaged file spreads the damage.
"""

from __future__ import annotations

import errno
import getpass
import json
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from triage.store import sqlite as sql
from triage.store.schema import Domain
from triage.store.sqlite import free_bytes, integrity_problems, is_damage  # noqa: F401 (re-exported)


class StoreError(Exception):
    """A request the store cannot satisfy (unknown device, conflicting case, ...)."""


class DamagedDatabase(StoreError):
    """The workspace database is empty, not SQLite, or damaged: it is neither read nor written."""


DAMAGE_SUFFIX = ".damaged"


def damage_marker(path: Path) -> Path:
    """The file `triage doctor` leaves beside a database that failed its integrity check."""
    return path.with_name(path.name + DAMAGE_SUFFIX)


def mark_damaged(path: Path, findings: list[str]) -> None:
    """Leave the marker that makes every command refuse this database until `triage doctor`
    finds it sound again (restored from backup). Beside the file, never in it."""
    try:
        damage_marker(path).write_text(
            json.dumps({"found_at": now_iso(), "findings": findings[:5]}) + "\n",
            encoding="utf-8")
    except OSError:  # a read-only folder: every command still meets the damage itself
        pass


def _what_to_do(path: Path) -> str:
    return (f"nothing was changed. Restore {path.name} from your backup (keep this copy for"
            " examination), then run `triage doctor`")


def check_database_file(path: Path) -> None:
    """Refuse a database that cannot be a sound workspace before SQLite touches it."""
    marker = damage_marker(path)
    if marker.exists():
        raise DamagedDatabase(f"{path} failed its integrity check (see {marker.name}) and is"
                              f" not written to: {_what_to_do(path)}")
    size = path.stat().st_size
    if size == 0:
        raise DamagedDatabase(f"{path} is empty (0 bytes): the workspace database is lost or"
                              f" truncated, and is not re-created over it: {_what_to_do(path)}")
    if not sql.has_header(path):
        raise DamagedDatabase(f"{path} is not a SQLite database (damaged or overwritten):"
                              f" {_what_to_do(path)}")


def is_disk_full(exc: BaseException, near: Path | None = None) -> bool:
    """A write failed for want of space: ENOSPC/EDQUOT from the OS, or the database said so."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return sql.is_full(exc, near)


def disk_full_message(exc: BaseException, database: Path) -> str:
    where = getattr(exc, "filename", None) if isinstance(exc, OSError) else None
    where = Path(where).parent if where else database.parent
    return (f"disk full: cannot write to {where}. Nothing recorded so far is lost: free space"
            " on that disk, then run the same command again to resume")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still record something honest
        return "uid-unknown"


class CoreStore:
    domains: ClassVar[Sequence[Domain]] = ()

    def __init__(self, conn: sql.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, create: bool = False) -> "CoreStore":
        path = Path(path)
        if path.exists():
            check_database_file(path)  # an existing file must be a sound database, create or not
        elif not create:
            raise StoreError(f"no workspace database at {path} (run `triage init` first)")
        conn: sql.Connection | None = None
        try:
            conn = sql.connect(path)
            store = cls(conn, path)
            store.migrate()
        except sql.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if is_damage(exc):
                raise DamagedDatabase(f"{path} is damaged ({exc}): {_what_to_do(path)}") from exc
            if is_disk_full(exc, path):
                fallback = cls._open_on_full_disk(path)
                if fallback is not None:
                    return fallback
            raise
        return store

    # Set when the database could only be opened read-only because its disk is full.
    read_only: str | None = None

    @classmethod
    def _open_on_full_disk(cls, path: Path) -> "CoreStore | None":
        """Open for reading when a full disk leaves SQLite no room for its shared-memory file:
        reading commands and review pages keep working; the first write of any other command
        fails and is reported as the full disk it is.

        `immutable` reads the database file alone, which is only the whole truth when no commit
        waits in the WAL: with a non-empty `-wal` (a writer's commits not yet checkpointed)
        this refuses, and the caller reports the full disk."""
        if sql.wal_pending(path):
            return None
        store = cls(sql.connect_read_only(path, immutable=True), path)
        store.read_only = "disk full"
        return store

    def close(self) -> None:
        self.conn.close()

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sql.Connection]:
        if self.conn.in_transaction:  # nested: the outer transaction owns commit/rollback
            yield self.conn
            return
        try:
            # BEGIN inside the try: a Ctrl-C landing just after it must not leave a transaction
            # open, which would swallow every later write of this connection (the audit row).
            sql.begin_write(self.conn)
            yield self.conn
            self.conn.execute("COMMIT")  # may fail (disk full): then it is rolled back too
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def abandon_transaction(self) -> None:
        """Roll back whatever an interrupted or failed command left open."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # -- migrations ---------------------------------------------------------------------
    def migrate(self) -> None:
        has_meta = sql.table_exists(self.conn, "meta")
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
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (now_iso(), os_user(), socket.gethostname(), tool_version, command,
                 json.dumps(arguments, default=str, sort_keys=True)),
            )
            return int(cur.fetchone()[0])

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
                "INSERT INTO cases(reference, created_at) VALUES (?, ?) RETURNING id",
                (reference, now_iso())
            )
            return int(cur.fetchone()[0])

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
                "INSERT INTO devices(case_id, label, created_at) VALUES (?, ?, ?) RETURNING id",
                (case_id, label, now_iso()),
            )
            return int(cur.fetchone()[0])

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
