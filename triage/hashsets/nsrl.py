"""NSRL RDS v3: a SQLite database of known software files (FILE, PKG, OS, MFG, VERSION).

Opened read-only (`mode=ro`): the lab's copy of the reference set is never written. Rows are
streamed from FILE in rowid order; digests there are upper-case hex and become bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from triage.hashsets.entries import ListFormatError, ParseOptions

NAME = "nsrl"
DESCRIPTION = "NSRL RDS v3 SQLite database with a FILE(sha256, sha1, md5, ...) table"


def sniff(head: str) -> bool:
    return head == "SQLite format 3"


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        cols = {r[1].lower() for r in conn.execute("PRAGMA table_info(FILE)")}
    except sqlite3.DatabaseError as exc:
        raise ListFormatError(f"{path}: not a readable SQLite database ({exc})") from None
    try:
        need = {"sha256", "sha1", "md5", "file_name"}
        if not need <= cols:
            raise ListFormatError(
                f"{path} is SQLite but not an NSRL RDS v3 database: expected a table FILE with"
                f" columns {', '.join(sorted(need))} (found: {', '.join(sorted(cols)) or 'none'})")
        cur = conn.execute("SELECT md5, sha1, sha256, file_name FROM FILE")
        lineno = 0
        while batch := cur.fetchmany(20_000):
            for md5, sha1, sha256, file_name in batch:
                lineno += 1
                try:
                    yield (bytes.fromhex(md5) if md5 else None,
                           bytes.fromhex(sha1) if sha1 else None,
                           bytes.fromhex(sha256) if sha256 else None,
                           None, None, None, file_name, None)
                except (ValueError, TypeError):
                    raise ListFormatError(
                        f"{path} FILE row {lineno}: a digest is not hexadecimal"
                        f" ({md5!r}, {sha1!r}, {sha256!r})") from None
    except sqlite3.DatabaseError as exc:
        raise ListFormatError(f"{path}: damaged NSRL database ({exc})") from None
    finally:
        conn.close()
