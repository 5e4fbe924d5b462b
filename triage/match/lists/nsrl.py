"""NSRL RDS v3: a SQLite database of known software files (FILE, PKG, OS, MFG, VERSION).

Opened read-only (`mode=ro`): the lab's copy of the reference set is never written. Rows are
streamed from FILE in rowid order, 50 000 at a time; digests there are upper-case hex and
become bytes, a batch at a time (one hex decode per column) when all are well formed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any

from triage.match.lists.entries import ListFormatError, ParseOptions
from triage.store.hashsets import EntryBlock

NAME = "nsrl"
PRIORITY = 10  # auto-detection order: most specific signature first
DESCRIPTION = "NSRL RDS v3 SQLite database with a FILE(sha256, sha1, md5, ...) table"


def sniff(head: str) -> bool:
    return head == "SQLite format 3"


def parse(path: str, options: ParseOptions) -> Iterator[EntryBlock]:
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
        try:  # for the progress only; FILE could be a view without a rowid
            rows = conn.execute("SELECT max(rowid) FROM FILE").fetchone()[0] or 1
        except sqlite3.DatabaseError:
            rows = 0
        size = os.path.getsize(path)
        cur = conn.execute("SELECT md5, sha1, sha256, file_name FROM FILE")
        lineno = 0
        while batch := cur.fetchmany(50_000):
            yield _block(batch) or EntryBlock.from_rows(list(_rows(path, lineno, batch)))
            lineno += len(batch)
            if options.progress and rows:  # rows, reported as the share of the file they stand for
                options.progress(min(size, size * len(batch) // rows))
    except sqlite3.DatabaseError as exc:
        raise ListFormatError(f"{path}: damaged NSRL database ({exc})") from None
    finally:
        conn.close()


def _block(batch: list[tuple[Any, ...]]) -> EntryBlock | None:
    """The batch in bulk when every row has all three digests, well formed (the usual case)."""
    packed = {}
    for col, (algo, width) in enumerate((("md5", 32), ("sha1", 40), ("sha256", 64))):
        hexes = [r[col] for r in batch]
        try:
            text = "".join(hexes)
            blob = bytes.fromhex(text)
        except (ValueError, TypeError):  # a NULL or a non-hex digest: row by row
            return None
        if len(text) != width * len(batch) or len(blob) * 2 != len(text):
            return None
        packed[algo] = blob
    return EntryBlock(len(batch), packed=packed, values={"name": [r[3] for r in batch]})


def _rows(path: str, start: int, batch: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for lineno, (md5, sha1, sha256, file_name) in enumerate(batch, start + 1):
        try:
            yield (bytes.fromhex(md5) if md5 else None,
                   bytes.fromhex(sha1) if sha1 else None,
                   bytes.fromhex(sha256) if sha256 else None,
                   None, None, None, file_name, None)
        except (ValueError, TypeError):
            raise ListFormatError(
                f"{path} FILE row {lineno}: a digest is not hexadecimal"
                f" ({md5!r}, {sha1!r}, {sha256!r})") from None
