"""Everything the store says that only SQLite understands, in one place.

Why: a lab with several reviewers will want a server database (PostgreSQL) behind the same
store. The store's queries are written in SQL both understand — `?` placeholders (psycopg's
`%s` is one substitution away), `INSERT ... RETURNING id` instead of `lastrowid`,
`ON CONFLICT ... DO NOTHING / DO UPDATE` instead of `INSERT OR IGNORE / OR REPLACE` — and what
is left over lives here: opening a connection and its PRAGMAs, the errors that mean "damaged" or
"disk full", the integrity check, whether a table exists, string aggregation and JSON arrays as
rows. A second backend is this module again for its server, the schema steps in its own DDL,
and the store contract tests (`tests/test_store_contract.py`) run unchanged against it.

The hash-list library (`hashlib/<id>.sqlite`, `triage/store/hashsets.py`) is SQLite files by
design whatever the main database is: each list is built aside and swapped in by a rename, and
removing a list deletes one file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

Connection = sqlite3.Connection
Row = sqlite3.Row
# What a caller catches for "the database refused": every backend's errors derive from one.
DatabaseError = sqlite3.Error

HEADER = b"SQLite format 3\x00"

# Below this much free space SQLite's I/O errors are taken for what they are on a full disk.
_FULL_BELOW = 1 << 20


def connect(path: Path) -> Connection:
    """The workspace database for reading and writing, as every command uses it.

    WAL: readers (the web app, `triage files`) never block the ingest writer, and a kill -9
    loses at most the uncommitted batch, never the database. Autocommit mode: the store opens
    its transactions itself (`BEGIN IMMEDIATE`, see `CoreStore.transaction`).
    """
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_read_only(path: Path, *, immutable: bool = False) -> Connection:
    """A connection that cannot write. `immutable` reads the main file alone (no `-wal`, no
    shared memory): what a full disk leaves possible, and only truthful with an empty WAL."""
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(f"file:{quote(str(path))}?{flags}", uri=True, timeout=60,
                           isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def wal_pending(path: Path) -> bool:
    """Commits wait in the write-ahead log that the main file does not hold yet."""
    wal = path.with_name(path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def begin_write(conn: Connection) -> None:
    """Start a transaction that holds the write lock from its first statement (SQLite takes it
    lazily otherwise, and two writers then deadlock on the upgrade)."""
    conn.execute("BEGIN IMMEDIATE")


def has_header(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(HEADER)) == HEADER


def is_damage(exc: BaseException) -> bool:
    """SQLite found the file corrupt (SQLITE_CORRUPT) or not a database (SQLITE_NOTADB)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.DatabaseError) and code is not None and (
        code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB))


def free_bytes(folder: Path) -> int:
    try:
        st = os.statvfs(folder)
    except OSError:
        return -1
    return st.f_bavail * st.f_frsize


def is_full(exc: BaseException, near: Path | None = None) -> bool:
    """SQLITE_FULL, or (SQLite reports a full disk while growing its shared-memory file as
    SQLITE_IOERR_SHMSIZE) any SQLite I/O error while the disk holding `near` has under 1 MiB."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return False
    if code & 0xFF == sqlite3.SQLITE_FULL:
        return True
    return (code & 0xFF == sqlite3.SQLITE_IOERR and near is not None
            and 0 <= free_bytes(near.parent) < _FULL_BELOW)


def integrity_problems(path: Path, limit: int = 20) -> list[str]:
    """`PRAGMA integrity_check` on a read-only connection: [] when sound, else SQLite's findings.
    Never writes: a damaged file is examined as it is."""
    try:
        conn = connect_read_only(path)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        rows = [r[0] for r in conn.execute(f"PRAGMA integrity_check({int(limit)})")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [] if rows == ["ok"] else rows


def table_exists(conn: Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                        (name,)).fetchone() is not None


def table_columns(conn: Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def string_agg(expression: str, separator: str) -> str:
    """SQL aggregating `expression` into one string (PostgreSQL: string_agg)."""
    return f"GROUP_CONCAT({expression}, '{separator}')"


def json_array_rows(param: int) -> str:
    """A FROM item yielding one row per element of the JSON array bound as parameter `param`,
    with the element as `value` and its index as `key` (PostgreSQL: json_array_elements WITH
    ORDINALITY)."""
    return f"json_each(?{param})"


def json_item(index: int) -> str:
    """Element `index` of a row of `json_array_rows` that is itself an array."""
    return f"json_extract(value, '$[{int(index)}]')"


def byte_slice(param: int, index: str, width: int) -> str:
    """Slice number `index` (an SQL expression, 0-based) of `width` bytes from the blob bound as
    parameter `param`: how a block of packed digests is unpacked in one INSERT ... SELECT
    (PostgreSQL: substring(... from ... for ...))."""
    return f"substr(?{param}, {index}*{width}+1, {width})"
