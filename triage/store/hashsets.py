"""The lab's hash library (known-hash lists) and what each content matched.

Why each list lives in its own SQLite file (`hashlib/<id>.sqlite` beside the workspace
database) while the catalogue (`hashsets`) and the results (`matches`) live in the main database:
a national list holds millions of entries. Writing them into the main database would hold its
write lock for a minute (stalling an ingest running next door) and leave a half-written list
behind on a crash. A list file is built completely on the side, then one short transaction swaps
the catalogue row: re-importing a name replaces it atomically, and a malformed file leaves
nothing behind. Removing a list deletes one file instead of millions of rows.

Digests are stored as BLOBs (half the size of hex) and looked up through per-file indexes built
once after loading (bulk index build, far faster than maintaining them row by row).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from triage.categories import KnownCategory, known_category
from triage.store.core import CoreStore, StoreError, in_chunks, now_iso
from triage.store.schema import Domain

HASHSETS = Domain(
    "hashsets",
    (
        """
        CREATE TABLE hashsets (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            format TEXT NOT NULL, scheme TEXT, source_path TEXT, source_sha256 TEXT NOT NULL,
            imported_at TEXT NOT NULL, entry_count INTEGER NOT NULL
        );
        CREATE TABLE matches (
            content_id INTEGER NOT NULL REFERENCES contents(id),
            hashset_id INTEGER NOT NULL REFERENCES hashsets(id) ON DELETE CASCADE,
            method TEXT NOT NULL,
            distance INTEGER,
            near INTEGER NOT NULL,
            category_raw TEXT,
            category TEXT,
            PRIMARY KEY (content_id, hashset_id, method)
        );
        CREATE INDEX matches_hashset ON matches(hashset_id);
        CREATE TABLE content_pdq_variants (
            content_id INTEGER NOT NULL REFERENCES contents(id),
            variant INTEGER NOT NULL,
            pdq TEXT NOT NULL,
            quality INTEGER NOT NULL,
            PRIMARY KEY (content_id, variant)
        );
        """,
        # How many entries of each list carry a PDQ hash: an import or removal that cannot
        # change the alert lists' PDQ hashes then leaves the PDQ index alone (rebuilding it
        # from a 10 M-entry PDQ list costs ~25 s). NULL for lists imported before this step:
        # counted from the list file the first time it is needed (`alert_pdq_lists`).
        """
        ALTER TABLE hashsets ADD COLUMN pdq_count INTEGER;
        """,
    ),
)

# One row of a list, as every format parser yields it (a tuple: 10 M of them must be cheap).
# md5/sha1/sha256/pdq are bytes or None; record is a JSON string of format-specific fields kept
# so that nothing the list said is lost (VICS round trip), or None.
ENTRY_COLUMNS = ("md5", "sha1", "sha256", "pdq", "pdq_quality", "category_raw", "name", "record")
DIGEST_COLUMNS = ("md5", "sha1", "sha256")
DIGEST_BYTES = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}


@dataclass
class EntryBlock:
    """`n` list entries as columns: the bulk form a 10 M-line list is loaded in.

    Why columns: binding eight parameters per row through `executemany` cost ~7 s per million
    entries; one INSERT ... SELECT per block over a packed digest blob and a JSON array of the
    varying text columns costs well under one. Each column of ENTRY_COLUMNS is in at most one
    of: `packed` (a digest column, n digests back to back, none missing), `values` (n values,
    None where missing) or `constants` (one value for all n); a column in none is NULL.
    """
    n: int
    packed: dict[str, bytes] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[Any, ...]]) -> "EntryBlock":
        """Rows in ENTRY_COLUMNS order, transposed (at C speed) and each column classified."""
        block = cls(len(rows))
        if not rows:
            return block
        for name, col in zip(ENTRY_COLUMNS, zip(*rows)):
            first = col[0]
            if col.count(first) == len(col):
                if first is not None:
                    block.constants[name] = first
            elif name in DIGEST_BYTES and None not in col and len(
                    packed := b"".join(col)) == DIGEST_BYTES[name] * len(col):
                block.packed[name] = packed
            else:
                block.values[name] = list(col)
        return block

    def column(self, name: str) -> Iterable[Any]:
        """The n values of one column, whichever form it is held in."""
        if name in self.values:
            return self.values[name]
        if name in self.packed:
            w = DIGEST_BYTES[name]
            blob = self.packed[name]
            return (blob[i:i + w] for i in range(0, len(blob), w))
        return repeat(self.constants.get(name), self.n)

    def present(self, name: str) -> int:
        """How many of the n entries have a value in this column."""
        if name in self.packed:
            return self.n
        if name in self.values:
            return self.n - self.values[name].count(None)
        return self.n if self.constants.get(name) is not None else 0

_LIST_SCHEMA = """
CREATE TABLE entries (
    id INTEGER PRIMARY KEY, md5 BLOB, sha1 BLOB, sha256 BLOB, pdq BLOB, pdq_quality INTEGER,
    category_raw TEXT, name TEXT, record TEXT
)"""
_BATCH = 50_000


class HashsetStore(CoreStore):
    # -- the library --------------------------------------------------------------------
    @property
    def hashlib_dir(self) -> Path:
        return self.path.parent / "hashlib"

    def list_file(self, hashset_id: int) -> Path:
        return self.hashlib_dir / f"{hashset_id}.sqlite"

    def hashsets(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT h.*, (SELECT COUNT(DISTINCT content_id) FROM matches m"
            " WHERE m.hashset_id=h.id) AS matched_contents FROM hashsets h ORDER BY h.name"
        )
        return [dict(r) for r in rows]

    def hashset(self, name: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM hashsets WHERE name=?", (name,)).fetchone()
        if row is None:
            known = [r["name"] for r in self.hashsets()]
            hint = f" (known: {', '.join(known[:10])})" if known else " (none imported yet)"
            raise StoreError(f"no hash list named {name!r}{hint}")
        return dict(row)

    def write_hashset(self, name: str, kind: str, fmt: str, scheme: str | None,
                      source_path: str, source_sha256: str,
                      rows: Iterable[tuple[Any, ...] | EntryBlock],
                      on_stage: Callable[[str], None] | None = None
                      ) -> tuple[dict[str, Any], dict | None]:
        """Load `rows` (entry tuples or EntryBlocks) into a fresh list file, then swap it in
        under `name` in one transaction.

        Returns (new catalogue row, replaced row or None). Any exception raised while `rows`
        is consumed (a malformed line) deletes the partial file and changes nothing.
        `on_stage("indexing")` is called once every entry is loaded (the index build of a
        national list takes a while and shows no progress of its own).
        """
        self.hashlib_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.hashlib_dir / f".import-{uuid.uuid4().hex}.sqlite"
        try:
            count, pdq_count = _build_list_file(tmp, rows, on_stage)
            with self.transaction() as c:
                old = c.execute("SELECT * FROM hashsets WHERE name=?", (name,)).fetchone()
                # Insert before deleting so the new id never reuses the old one (whose file
                # is deleted after the commit).
                cur = c.execute(
                    "INSERT INTO hashsets(name, kind, format, scheme, source_path, source_sha256,"
                    " imported_at, entry_count, pdq_count) VALUES (?,?,?,?,?,?,?,?,?)",
                    (f"{name}\x00importing", kind, fmt, scheme, source_path, source_sha256,
                     now_iso(), count, pdq_count),
                )
                new_id = int(cur.lastrowid)
                if old is not None:
                    c.execute("DELETE FROM hashsets WHERE id=?", (old["id"],))
                c.execute("UPDATE hashsets SET name=? WHERE id=?", (name, new_id))
                # Inside the transaction: if the commit fails, an orphan file is left, never a
                # catalogue row without its file.
                os.replace(tmp, self.list_file(new_id))
        finally:
            tmp.unlink(missing_ok=True)
        if old is not None:
            self.list_file(old["id"]).unlink(missing_ok=True)
        return self.hashset(name), (dict(old) if old is not None else None)

    def remove_hashset(self, name: str) -> dict[str, Any]:
        hs = self.hashset(name)
        with self.transaction() as c:
            c.execute("DELETE FROM hashsets WHERE id=?", (hs["id"],))
        self.list_file(hs["id"]).unlink(missing_ok=True)
        return hs

    # -- reading lists ------------------------------------------------------------------
    def _open_list(self, hashset_id: int) -> sqlite3.Connection:
        path = self.list_file(hashset_id)
        if not path.exists():
            raise StoreError(f"hash list file {path} is missing: import the list again")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        return conn

    def lookup_digests(self, hashset_id: int, algo: str,
                       digests: Sequence[bytes]) -> Iterator[tuple[bytes, str | None]]:
        """(digest, category_raw) for each of `digests` the list holds."""
        if algo not in DIGEST_COLUMNS:
            raise ValueError(algo)
        conn = self._open_list(hashset_id)
        try:
            for chunk, q in in_chunks(digests):
                yield from conn.execute(
                    f"SELECT {algo}, category_raw FROM entries WHERE {algo} IN ({q})", chunk
                )
        finally:
            conn.close()

    def list_pdq_batches(self, hashset_id: int,
                         batch: int = 1_000_000) -> Iterator[list[tuple[int, bytes, int | None]]]:
        """(entry id, 32-byte PDQ, quality) of a list, in batches (for building the index)."""
        conn = self._open_list(hashset_id)
        try:
            cur = conn.execute(
                "SELECT id, pdq, pdq_quality FROM entries WHERE pdq IS NOT NULL ORDER BY id")
            while rows := cur.fetchmany(batch):
                yield [tuple(r) for r in rows]
        finally:
            conn.close()

    def alert_pdq_lists(self) -> list[dict[str, Any]]:
        """Alert lists holding at least one PDQ hash (what the PDQ index is built from), by id.

        A list imported before `pdq_count` existed is counted from its file once and the count
        kept, so the answer never depends on a guess.
        """
        out = []
        for h in self.conn.execute(
                "SELECT * FROM hashsets WHERE kind='alert' AND (pdq_count IS NULL OR pdq_count>0)"
                " ORDER BY id").fetchall():
            h = dict(h)
            if h["pdq_count"] is None:
                h["pdq_count"] = self._count_list_pdq(h["id"])
                with self.transaction() as c:
                    c.execute("UPDATE hashsets SET pdq_count=? WHERE id=?",
                              (h["pdq_count"], h["id"]))
            if h["pdq_count"]:
                out.append(h)
        return out

    def _count_list_pdq(self, hashset_id: int) -> int:
        conn = self._open_list(hashset_id)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM entries WHERE pdq IS NOT NULL"
                                    ).fetchone()[0])
        finally:
            conn.close()

    def list_entries_by_id(self, hashset_id: int,
                           entry_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        conn = self._open_list(hashset_id)
        try:
            out = {}
            for chunk, q in in_chunks([int(x) for x in entry_ids]):
                for r in conn.execute(f"SELECT * FROM entries WHERE id IN ({q})", chunk):
                    out[r["id"]] = _entry_dict(r)
            return out
        finally:
            conn.close()

    def iter_list_entries(self, name: str) -> Iterator[dict[str, Any]]:
        """Every entry of a list as stored (hex digests, record decoded), in list order."""
        conn = self._open_list(self.hashset(name)["id"])
        try:
            for r in conn.execute("SELECT * FROM entries ORDER BY id"):
                yield _entry_dict(r)
        finally:
            conn.close()

    # -- contents to match --------------------------------------------------------------
    def contents_to_match(self, device_id: int | None = None) -> list[dict[str, Any]]:
        """Hashes of a device's contents (or of every content in the workspace)."""
        cols = "c.id, c.md5, c.sha1, c.sha256, c.pdq, c.pdq_quality, c.derivative"
        if device_id is None:
            rows = self.conn.execute(f"SELECT {cols} FROM contents c ORDER BY c.id")
        else:
            rows = self.conn.execute(
                f"SELECT {cols} FROM contents c WHERE c.id IN"
                " (SELECT content_id FROM files WHERE device_id=?) ORDER BY c.id", (device_id,))
        return [dict(r) for r in rows]

    def pdq_variants(self, content_ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
        out: dict[int, list[tuple[str, int]]] = {}
        for chunk, q in in_chunks(content_ids):
            for r in self.conn.execute(
                f"SELECT content_id, pdq, quality FROM content_pdq_variants"
                f" WHERE content_id IN ({q}) ORDER BY content_id, variant", chunk
            ):
                out.setdefault(r[0], []).append((r[1], r[2]))
        return out

    def save_pdq_variants(self, rows: Iterable[tuple[int, int, str, int]]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO content_pdq_variants(content_id, variant, pdq, quality)"
                " VALUES (?,?,?,?)", rows)

    # -- matches ------------------------------------------------------------------------
    def replace_matches(self, content_ids: Sequence[int], hashset_ids: Sequence[int],
                        rows: Iterable[tuple[Any, ...]]) -> None:
        """Forget what these contents matched in these lists, record `rows` instead.

        rows: (content_id, hashset_id, method, distance, near, category_raw, category).
        """
        with self.transaction() as c:
            hs = ",".join(str(int(h)) for h in hashset_ids) or "NULL"
            for chunk, q in in_chunks(content_ids):
                c.execute(f"DELETE FROM matches WHERE hashset_id IN ({hs})"
                          f" AND content_id IN ({q})", chunk)
            c.executemany(
                "INSERT INTO matches(content_id, hashset_id, method, distance, near,"
                " category_raw, category) VALUES (?,?,?,?,?,?,?)", rows)

    def matches_for_device(self, device_id: int) -> dict[int, list[dict[str, Any]]]:
        rows = self.conn.execute(
            "SELECT m.*, h.name AS hashset, h.kind FROM matches m"
            " JOIN hashsets h ON h.id=m.hashset_id WHERE m.content_id IN"
            " (SELECT content_id FROM files WHERE device_id=?)"
            " ORDER BY m.content_id, m.near, COALESCE(m.distance, -1), h.name, m.method",
            (device_id,),
        )
        out: dict[int, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["content_id"], []).append(
                {"hashset": r["hashset"], "kind": r["kind"], "method": r["method"],
                 "distance": r["distance"], "near": bool(r["near"]),
                 "category_raw": r["category_raw"], "category": r["category"]})
        return out

    def known_categories(self, content_ids: Iterable[int] | None = None, *,
                         device_id: int | None = None) -> dict[int, KnownCategory]:
        """content id -> the category its exact alert-list matches give it (the one rule of
        `triage.categories.known_category`), for `content_ids` or every content of a device.
        Contents without an exact alert match are absent."""
        sql = ("SELECT m.content_id, m.method, m.category_raw, m.category, h.name AS hashset"
               " FROM matches m JOIN hashsets h ON h.id=m.hashset_id"
               " WHERE m.near=0 AND h.kind='alert' AND m.content_id IN ({q})")
        by_content: dict[int, list[dict[str, Any]]] = {}
        if device_id is not None:
            rows: Iterable[sqlite3.Row] = self.conn.execute(
                sql.format(q="SELECT content_id FROM files WHERE device_id=?"), (device_id,))
        else:
            rows = (r for chunk, q in in_chunks([int(c) for c in content_ids or ()])
                    for r in self.conn.execute(sql.format(q=q), chunk).fetchall())
        for r in rows:
            by_content.setdefault(int(r["content_id"]), []).append(dict(r))
        out = {}
        for cid, found in by_content.items():
            known = known_category(found)
            if known is not None:
                out[cid] = known
        return out

    # -- what `triage files` and `triage summary` gain ----------------------------------
    def iter_files(self, device_id: int) -> Iterator[dict[str, Any]]:
        """Ingest's rows plus what each file's content matched (fields appended, see README)."""
        matches = self.matches_for_device(device_id)
        for row in super().iter_files(device_id):  # type: ignore[misc]
            row.update(match_fields(matches.get(row.get("content_id"), [])))
            yield row

    def device_summary(self, device_id: int) -> dict[str, Any]:
        summary = super().device_summary(device_id)  # type: ignore[misc]
        matches = self.matches_for_device(device_id)
        by_category: dict[str, int] = {}
        counts = {"known_files": 0, "known_good_files": 0, "near_candidate_files": 0}
        for (content_id,) in self.conn.execute(
            "SELECT content_id FROM files WHERE device_id=? AND content_id IS NOT NULL",
            (device_id,),
        ):
            fields = match_fields(matches.get(content_id, []))
            if fields["match_kind"] is None:
                continue
            if fields["known"]:
                counts["known_files"] += 1
                if fields["match_kind"] == "known-good":
                    counts["known_good_files"] += 1
                elif fields["category"] is not None:
                    by_category[fields["category"]] = by_category.get(fields["category"], 0) + 1
            else:
                counts["near_candidate_files"] += 1
        summary.update(counts)
        summary["by_category"] = dict(sorted(by_category.items()))
        return summary


KIND_ORDER = {"alert": 0, "known-good": 1, "reference": 2}


def known_category_of(matches: Iterable[dict[str, Any]]) -> KnownCategory | None:
    """The category a content's matches (as `matches_for_device` gives them) make it carry:
    only exact alert-list matches count (see `triage.categories.known_category`)."""
    return known_category(m for m in matches if not m["near"] and m["kind"] == "alert")


def match_fields(matches: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-file summary of its matches: the best one decides kind/method/distance.

    Exact beats near; among exact, an alert list beats known-good beats reference (known
    material must never hide behind a known-good entry for the same bytes). Only an exact
    alert match gives `category`; when several alert lists hold the bytes it is the one rule of
    `triage.categories.known_category` (the most severe; the others are in `matches`). Near
    matches are candidates for a person to confirm.
    """
    if not matches:
        return {"matches": [], "known": False, "match_kind": None, "category": None,
                "category_raw": None, "match_method": None, "match_distance": None}
    known = known_category_of(matches)
    best = known.match if known is not None else min(
        matches, key=lambda m: (m["near"], KIND_ORDER.get(m["kind"], 9), m["distance"] or 0))
    return {
        "matches": matches,
        "known": not best["near"],
        "match_kind": best["kind"],
        "category": known.category if known else None,
        "category_raw": known.category_raw if known else None,
        "match_method": best["method"],
        "match_distance": best["distance"],
    }


def _entry_dict(r: sqlite3.Row) -> dict[str, Any]:
    d = {k: r[k] for k in r.keys()}
    for k in ("md5", "sha1", "sha256", "pdq"):
        if d[k] is not None:
            d[k] = bytes(d[k]).hex()
    d["record"] = json.loads(d["record"]) if d["record"] else None
    return d


def entry_blocks(items: Iterable[tuple[Any, ...] | EntryBlock],
                 size: int = _BATCH) -> Iterator[EntryBlock]:
    """EntryBlocks from a parser's output, whether it yields rows or blocks (or both)."""
    batch: list[tuple[Any, ...]] = []
    for item in items:
        if isinstance(item, EntryBlock):
            if batch:
                yield EntryBlock.from_rows(batch)
                batch = []
            yield item
            continue
        batch.append(item)
        if len(batch) >= size:
            yield EntryBlock.from_rows(batch)
            batch = []
    if batch:
        yield EntryBlock.from_rows(batch)


def _build_list_file(path: Path, rows: Iterable[tuple[Any, ...] | EntryBlock],
                     on_stage: Callable[[str], None] | None = None) -> tuple[int, int]:
    """Load the entries and index them; returns (entries, entries with a PDQ)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # A scratch file until it is swapped in: no journal, no fsync; a crash just leaves a
        # `.import-*` file that the catalogue never points at.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        # Appending needs little cache. For the index build a *small* cache is faster: the
        # sorter cuts its runs at the cache size, and 16 MiB runs sorted by two threads built
        # the index of 10 M MD5s in 12 s where 256 MiB runs single-threaded took 24 s
        # (scripts/bench_match.py; bounded memory as a bonus).
        conn.execute("PRAGMA cache_size=-16384")
        conn.execute("PRAGMA threads=2")
        conn.execute(_LIST_SCHEMA)
        count = pdq_count = 0
        conn.execute("BEGIN")
        for block in entry_blocks(rows):
            count += _insert_block(conn, block)
            pdq_count += block.present("pdq")
        if on_stage:
            on_stage("indexing")
        for col in ("md5", "sha1", "sha256"):
            if conn.execute(f"SELECT 1 FROM entries WHERE {col} IS NOT NULL LIMIT 1").fetchone():
                conn.execute(f"CREATE INDEX entries_{col} ON entries({col})"
                             f" WHERE {col} IS NOT NULL")
        conn.execute("COMMIT")
        return count, pdq_count
    finally:
        conn.close()


def _insert_block(conn: sqlite3.Connection, block: EntryBlock) -> int:
    """One INSERT ... SELECT for the whole block (see EntryBlock); returns block.n."""
    if block.n == 0:
        return 0
    if any(c in DIGEST_BYTES for c in block.values):
        # A digest column with gaps (bytes are not JSON): bind row by row, only the columns
        # that are not NULL throughout. Rare (a VICS record without SHA-1 among others).
        names = list(block.values)
        cols: list[Iterable[Any]] = [block.values[c] for c in names]
        for c in block.packed:
            names.append(c)
            cols.append(block.column(c))
        for c, v in block.constants.items():
            names.append(c)
            cols.append(repeat(v, block.n))
        conn.executemany(
            f"INSERT INTO entries({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            zip(*cols))
        return block.n
    names: list[str] = []
    exprs: list[str] = []
    params: list[Any] = []
    for c, blob in block.packed.items():
        w = DIGEST_BYTES[c]
        params.append(blob)
        names.append(c)
        exprs.append(f"substr(?{len(params)}, key*{w}+1, {w})")
    for c, v in block.constants.items():
        params.append(v)
        names.append(c)
        exprs.append(f"?{len(params)}")
    varying = list(block.values)
    if len(varying) == 1:
        names.append(varying[0])
        exprs.append("value")
        params.append(json.dumps(block.values[varying[0]]))
    elif varying:
        for j, c in enumerate(varying):
            names.append(c)
            exprs.append(f"json_extract(value, '$[{j}]')")
        params.append(json.dumps(list(zip(*(block.values[c] for c in varying)))))
    if varying:
        source = f"json_each(?{len(params)})"
    else:  # every column packed or constant: count the rows out
        params.append(block.n)
        source = (f"(WITH RECURSIVE k(key) AS (SELECT 0 UNION ALL SELECT key+1 FROM k"
                  f" WHERE key+1 < ?{len(params)}) SELECT key FROM k)")
    conn.execute(f"INSERT INTO entries({', '.join(names)}) SELECT {', '.join(exprs)}"
                 f" FROM {source}", params)
    return block.n
