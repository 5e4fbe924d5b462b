"""The lab's hash library (known-hash lists) and what each content matched.

Why each list lives in its own SQLite file (`hashlib/<id>.sqlite` beside the workspace
database) while the catalogue (`hashsets`) and the results (`matches`) live in the main database:
a national list holds millions of entries. Writing them into the main database would hold its
write lock for a minute (stalling an ingest running next door) and leave a half-written list
behind on a crash. A list file is built completely on the side, then one short transaction swaps
the catalogue row: re-importing a name replaces it atomically, and a malformed file leaves
nothing behind. Removing a list deletes one file instead of millions of rows.

Digests are stored as BLOBs (half the size of hex) and looked up through per-file indexes built
once after loading (bulk index build, far faster than maintaining them row by row). Perceptual
signals of an entry (PDQ today, a video's per-frame PDQs next) are rows of the list file's
`entry_signals` (entry, signal, frame, value, quality, seconds), as a content's are in the
workspace's `signals`; a list file written before that layout (PDQ in `entries` columns) is
migrated in place, in one transaction, the first time it is opened.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from triage import faults
from triage.categories import KnownCategory, known_category
from triage.store.core import CoreStore, StoreError, in_chunks, now_iso
from triage.store.schema import Domain
from triage.store.signals import frame0_signal

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
        # Every frame of a multi-frame picture is matched: a match records the frame it came
        # from (NULL for an exact match of the bytes; 0 for near matches made before, which
        # compared only the first frame), and dihedral variants are kept per frame.
        """
        ALTER TABLE matches ADD COLUMN frame INTEGER;
        UPDATE matches SET frame = 0 WHERE near = 1;
        CREATE TABLE content_pdq_variants_by_frame (
            content_id INTEGER NOT NULL REFERENCES contents(id),
            frame INTEGER NOT NULL,
            variant INTEGER NOT NULL,
            pdq TEXT NOT NULL,
            quality INTEGER NOT NULL,
            PRIMARY KEY (content_id, frame, variant)
        );
        INSERT INTO content_pdq_variants_by_frame(content_id, frame, variant, pdq, quality)
            SELECT content_id, 0, variant, pdq, quality FROM content_pdq_variants;
        DROP TABLE content_pdq_variants;
        ALTER TABLE content_pdq_variants_by_frame RENAME TO content_pdq_variants;
        """,
    ),
)

# One row of a list, as every format parser yields it (a tuple: 10 M of them must be cheap).
# md5/sha1/sha256/pdq are bytes or None; record is a JSON string of format-specific fields kept
# so that nothing the list said is lost (VICS round trip), or None.
ENTRY_COLUMNS = ("md5", "sha1", "sha256", "pdq", "pdq_quality", "category_raw", "name", "record")
DIGEST_COLUMNS = ("md5", "sha1", "sha256")
DIGEST_BYTES = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}
# Entry columns that are a signal (value column, quality column), stored in `entry_signals`.
SIGNAL_COLUMNS = {"pdq": ("pdq", "pdq_quality")}
_SIGNAL_PARTS = {c for pair in SIGNAL_COLUMNS.values() for c in pair}
# One further signal value of the entry at `key` of a block (0..n-1), e.g. a frame of a video's
# per-frame PDQ list (vPDQ) beyond what the row's columns hold:
# (key, signal, frame, value, quality, seconds).
SignalRow = tuple[int, str, int, bytes, int | None, float | None]


@dataclass
class EntryBlock:
    """`n` list entries as columns: the bulk form a 10 M-line list is loaded in.

    Why columns: binding eight parameters per row through `executemany` cost ~7 s per million
    entries; one INSERT ... SELECT per block over a packed digest blob and a JSON array of the
    varying text columns costs well under one. Each column of ENTRY_COLUMNS is in at most one
    of: `packed` (a digest column, n digests back to back, none missing), `values` (n values,
    None where missing) or `constants` (one value for all n); a column in none is NULL.
    `signals` adds signal values no column holds (several frames of one entry).
    """
    n: int
    packed: dict[str, bytes] = field(default_factory=dict)
    values: dict[str, list[Any]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    signals: list[SignalRow] = field(default_factory=list)

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

    def tidied(self) -> "EntryBlock":
        """The block with a `values` column holding one value throughout made a constant (a
        parser building blocks itself need not check): loading it then needs no JSON (a PDQ
        list of one category: 25 % less CPU per entry, measured)."""
        for name, col in list(self.values.items()):
            if col and col.count(col[0]) == len(col):
                del self.values[name]
                if col[0] is not None:
                    self.constants[name] = col[0]
        return self

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

    def with_signal(self, name: str) -> int:
        """How many of the n entries carry signal `name` (in its column or in `signals`)."""
        keys = {k for k, sig, *_ in self.signals if sig == name}
        if name in SIGNAL_COLUMNS:
            col = SIGNAL_COLUMNS[name][0]
            if col in self.values:
                keys |= {i for i, v in enumerate(self.values[col]) if v is not None}
            elif self.present(col):
                return self.n
        return len(keys)


# The list-file layout (PRAGMA user_version): 0 = PDQ in `entries` columns (before signals).
LIST_LAYOUT = 1
_LIST_SCHEMA = (
    """CREATE TABLE entries (
    id INTEGER PRIMARY KEY, md5 BLOB, sha1 BLOB, sha256 BLOB, category_raw TEXT, name TEXT,
    record TEXT)""",
    """CREATE TABLE entry_signals (
    entry_id INTEGER NOT NULL, signal TEXT NOT NULL, frame INTEGER NOT NULL DEFAULT 0,
    value BLOB NOT NULL, quality INTEGER, seconds REAL,
    PRIMARY KEY (entry_id, signal, frame)) WITHOUT ROWID""",
    f"PRAGMA user_version = {LIST_LAYOUT}",
)
# An entry as `iter_list_entries` and `list_entries_by_id` give it (the columns parsers fill).
_ENTRY_SELECT = (
    "SELECT e.id, e.md5, e.sha1, e.sha256, s.value AS pdq, s.quality AS pdq_quality,"
    " e.category_raw, e.name, e.record FROM entries e LEFT JOIN entry_signals s"
    " ON s.entry_id = e.id AND s.signal = 'pdq' AND s.frame = 0")
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
        with _import_running(self.hashlib_dir):
            return self._write_hashset(name, kind, fmt, scheme, source_path, source_sha256,
                                       rows, on_stage)

    def _write_hashset(self, name: str, kind: str, fmt: str, scheme: str | None,
                       source_path: str, source_sha256: str,
                       rows: Iterable[tuple[Any, ...] | EntryBlock],
                       on_stage: Callable[[str], None] | None
                       ) -> tuple[dict[str, Any], dict | None]:
        tmp = self.hashlib_dir / f"{_IMPORT_PREFIX}{uuid.uuid4().hex}.sqlite"
        try:
            count, pdq_count = _build_list_file(tmp, rows, on_stage)
            with self.transaction() as c:
                old = c.execute("SELECT * FROM hashsets WHERE name=?", (name,)).fetchone()
                # Insert before deleting so the new id never reuses the old one (whose file
                # is deleted after the commit).
                cur = c.execute(
                    "INSERT INTO hashsets(name, kind, format, scheme, source_path, source_sha256,"
                    " imported_at, entry_count, pdq_count) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                    (f"{name}\x00importing", kind, fmt, scheme, source_path, source_sha256,
                     now_iso(), count, pdq_count),
                )
                new_id = int(cur.fetchone()[0])
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

    def clean_stale_imports(self) -> list[Path]:
        """Delete the `.import-*` files of imports that died; see `clean_stale_imports`."""
        return clean_stale_imports(self.hashlib_dir)

    def stale_imports(self) -> list[Path]:
        """`.import-*` files present now (for `triage doctor`; some may belong to a live import)."""
        folder = self.hashlib_dir
        return sorted(folder.glob(f"{_IMPORT_PREFIX}*")) if folder.is_dir() else []

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
        if conn.execute("PRAGMA user_version").fetchone()[0] < LIST_LAYOUT:
            conn.close()
            _migrate_list_file(path)
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
                for r in conn.execute(
                        f"SELECT {algo}, category_raw FROM entries WHERE {algo} IN ({q})", chunk):
                    yield r[0], r[1]  # plain tuples, as promised (not the driver's rows)
        finally:
            conn.close()

    def list_signal_batches(self, hashset_id: int, signal: str = "pdq", batch: int = 1_000_000
                            ) -> Iterator[list[tuple[int, bytes, int | None, int, float | None]]]:
        """(entry id, value, quality, frame, seconds) of every value of `signal` in a list, in
        entry order, in batches (for building an index: PDQ, or a lab's own signal)."""
        conn = self._open_list(hashset_id)
        try:
            cur = conn.execute("SELECT entry_id, value, quality, frame, seconds FROM entry_signals"
                               " WHERE signal = ? ORDER BY entry_id, frame", (signal,))
            while rows := cur.fetchmany(batch):
                yield [tuple(r) for r in rows]
        finally:
            conn.close()

    def entry_signal_values(self, hashset_id: int, entry_ids: Sequence[int],
                            signal: str = "pdq") -> dict[int, list[tuple[int, str, int | None,
                                                                         float | None]]]:
        """entry id -> [(frame, value hex, quality, seconds)] of `signal`, in frame order (a
        known video's frames, for the vPDQ matcher)."""
        conn = self._open_list(hashset_id)
        try:
            out: dict[int, list[tuple[int, str, int | None, float | None]]] = {}
            for chunk, q in in_chunks(sorted({int(e) for e in entry_ids})):
                for r in conn.execute(
                        f"SELECT entry_id, frame, value, quality, seconds FROM entry_signals"
                        f" WHERE signal = ? AND entry_id IN ({q}) ORDER BY entry_id, frame",
                        [signal, *chunk]):
                    out.setdefault(int(r[0]), []).append(
                        (int(r[1]), bytes(r[2]).hex(), r[3], r[4]))
            return out
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
            return int(conn.execute("SELECT COUNT(DISTINCT entry_id) FROM entry_signals"
                                    " WHERE signal = 'pdq'").fetchone()[0])
        finally:
            conn.close()

    def list_entries_by_id(self, hashset_id: int,
                           entry_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        conn = self._open_list(hashset_id)
        try:
            out = {}
            for chunk, q in in_chunks([int(x) for x in entry_ids]):
                for r in conn.execute(f"{_ENTRY_SELECT} WHERE e.id IN ({q})", chunk):
                    out[r["id"]] = _entry_dict(r)
            return out
        finally:
            conn.close()

    def iter_list_entries(self, name: str) -> Iterator[dict[str, Any]]:
        """Every entry of a list as stored (hex digests, record decoded), in list order."""
        conn = self._open_list(self.hashset(name)["id"])
        try:
            for r in conn.execute(f"{_ENTRY_SELECT} ORDER BY e.id"):
                yield _entry_dict(r)
        finally:
            conn.close()

    # -- contents to match --------------------------------------------------------------
    def contents_to_match(self, device_id: int | None = None) -> list[dict[str, Any]]:
        """Identity digests, media kind, derivative and first-frame PDQ (`pdq`, `pdq_quality`)
        of a device's contents (or of every content); every frame's values come from
        `signal_values`, every frame's derivative from `derivatives_of`."""
        cols = ("c.id, c.md5, c.sha1, c.sha256, c.media_kind, c.derivative, sp.value AS pdq,"
                " sp.quality AS pdq_quality")
        source = "contents c" + frame0_signal("c", "pdq", "sp")
        if device_id is None:
            rows = self.conn.execute(f"SELECT {cols} FROM {source} ORDER BY c.id")
        else:
            rows = self.conn.execute(
                f"SELECT {cols} FROM {source} WHERE c.id IN"
                " (SELECT content_id FROM files WHERE device_id=?) ORDER BY c.id", (device_id,))
        return [dict(r) for r in rows]

    def pdq_variants(self, content_ids: Sequence[int]
                     ) -> dict[tuple[int, int], list[tuple[str, int]]]:
        """{(content, frame): [(pdq, quality) of the 8 rotations/flips]} already computed."""
        out: dict[tuple[int, int], list[tuple[str, int]]] = {}
        for chunk, q in in_chunks(content_ids):
            for r in self.conn.execute(
                f"SELECT content_id, frame, pdq, quality FROM content_pdq_variants"
                f" WHERE content_id IN ({q}) ORDER BY content_id, frame, variant", chunk
            ):
                out.setdefault((r[0], r[1]), []).append((r[2], r[3]))
        return out

    def save_pdq_variants(self, rows: Iterable[tuple[int, int, int, str, int]]) -> None:
        """rows: (content_id, frame, variant, pdq, quality)."""
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO content_pdq_variants(content_id, frame, variant, pdq, quality)"
                " VALUES (?,?,?,?,?) ON CONFLICT(content_id, frame, variant) DO UPDATE SET"
                " pdq=excluded.pdq, quality=excluded.quality", rows)

    # -- matches ------------------------------------------------------------------------
    def replace_matches(self, content_ids: Sequence[int], hashset_ids: Sequence[int],
                        rows: Iterable[tuple[Any, ...]]) -> None:
        """Forget what these contents matched in these lists, record `rows` instead.

        rows: (content_id, hashset_id, method, distance, near, category_raw, category, frame).
        """
        with self.transaction() as c:
            hs = ",".join(str(int(h)) for h in hashset_ids) or "NULL"
            for chunk, q in in_chunks(content_ids):
                c.execute(f"DELETE FROM matches WHERE hashset_id IN ({hs})"
                          f" AND content_id IN ({q})", chunk)
            c.executemany(
                "INSERT INTO matches(content_id, hashset_id, method, distance, near,"
                " category_raw, category, frame) VALUES (?,?,?,?,?,?,?,?)", rows)

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
                 "category_raw": r["category_raw"], "category": r["category"],
                 "frame": r["frame"]})
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
            yield item.tidied()
            continue
        batch.append(item)
        if len(batch) >= size:
            yield EntryBlock.from_rows(batch)
            batch = []
    if batch:
        yield EntryBlock.from_rows(batch)


_IMPORT_PREFIX = ".import-"
_IMPORT_LOCK = ".imports.lock"


def clean_stale_imports(folder: Path) -> list[Path]:
    """Delete the `.import-*` files of imports that died (kill -9, power cut); returns them.

    Why a lock rather than a file age or a process id: an import of a national list runs
    for minutes, maybe from another machine sharing the workspace, and must never lose its
    file. Every import holds a shared lock on `hashlib/.imports.lock` while it builds; this
    takes the lock exclusively without waiting, so it cleans only when no import runs
    anywhere, and an import starting meanwhile waits the milliseconds the cleaning takes.
    """
    if not folder.is_dir() or not any(folder.glob(f"{_IMPORT_PREFIX}*")):
        return []
    try:
        fd = os.open(folder / _IMPORT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a workspace this user may only read: not this command's to clean
        return []
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []  # an import is running right now: its file is not stale
        stale = sorted(folder.glob(f"{_IMPORT_PREFIX}*"))
        for path in stale:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        return stale
    finally:
        os.close(fd)


@contextmanager
def _import_running(folder: Path) -> Iterator[None]:
    """Hold the shared import lock (see `clean_stale_imports`) for the whole import."""
    fd = os.open(folder / _IMPORT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


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
        # 16 KiB pages: 15 % less CPU per inserted entry than 4 KiB (fewer page splits of the
        # append-only tables; measured loading 2 M PDQs), lookups by index barely change.
        conn.execute("PRAGMA page_size=16384")
        for statement in _LIST_SCHEMA:
            conn.execute(statement)
        count = pdq_count = 0
        present: set[str] = set()  # digest columns some entry has (asking the table scans it)
        conn.execute("BEGIN")
        for block in entry_blocks(rows):
            _insert_block(conn, block, count + 1)
            count += block.n
            pdq_count += block.with_signal("pdq")
            present.update(c for c in DIGEST_COLUMNS if block.present(c))
            faults.pause("import", count)
        if on_stage:
            on_stage("indexing")
        for col in DIGEST_COLUMNS:
            if col in present:
                conn.execute(f"CREATE INDEX entries_{col} ON entries({col})"
                             f" WHERE {col} IS NOT NULL")
        conn.execute("COMMIT")
        return count, pdq_count
    finally:
        conn.close()


def _migrate_list_file(path: Path) -> None:
    """Bring a list file written by an older release to LIST_LAYOUT, in one transaction (a
    kill leaves it as it was). Layout 0 -> 1: PDQ moves from `entries` columns to
    `entry_signals`, entry ids unchanged (the persisted PDQ index refers to them)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        conn.execute("BEGIN IMMEDIATE")  # a second process migrating the same file waits here
        if conn.execute("PRAGMA user_version").fetchone()[0] >= LIST_LAYOUT:
            conn.execute("ROLLBACK")
            return
        columns = {r[1] for r in conn.execute("PRAGMA table_info(entries)")}
        conn.execute(_LIST_SCHEMA[1])
        if "pdq" in columns:
            conn.execute("INSERT INTO entry_signals(entry_id, signal, frame, value, quality)"
                         " SELECT id, 'pdq', 0, pdq, pdq_quality FROM entries"
                         " WHERE pdq IS NOT NULL ORDER BY id")
            conn.execute("ALTER TABLE entries DROP COLUMN pdq")
            conn.execute("ALTER TABLE entries DROP COLUMN pdq_quality")
        conn.execute(_LIST_SCHEMA[2])
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreError(f"hash list file {path} cannot be brought up to date ({exc});"
                         " import the list again") from None
    finally:
        conn.close()


def _ensure_keys(conn: sqlite3.Connection, n: int) -> None:
    """temp.keys holds 0..n-1 at least: the row source of a block's INSERT ... SELECT when
    every column is packed or constant. Counting the rows out with a recursive CTE per block
    took half the CPU of loading a PDQ list (entries + entry_signals: 2.1 s per 2 M entries,
    1.3 s with this table; measured)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS keys(key INTEGER PRIMARY KEY)")
    have = conn.execute("SELECT coalesce(max(key) + 1, 0) FROM temp.keys").fetchone()[0]
    if have < n:
        conn.execute("INSERT INTO temp.keys(key) SELECT key FROM (WITH RECURSIVE k(key) AS"
                     " (SELECT ?1 UNION ALL SELECT key + 1 FROM k WHERE key + 1 < ?2)"
                     " SELECT key FROM k)", (have, n))


def _insert_block(conn: sqlite3.Connection, block: EntryBlock, first_id: int) -> None:
    """The block's entries (ids first_id...) into `entries`, its signals into `entry_signals`."""
    if block.n == 0:
        return
    _ensure_keys(conn, block.n)
    _insert_columns(conn, "entries", block, first_id,
                    [c for c in ENTRY_COLUMNS if c not in _SIGNAL_PARTS], {})
    for signal, (col, quality) in SIGNAL_COLUMNS.items():
        if not block.present(col):
            continue
        if col in block.values:
            # Gaps: only the entries that have the value (rare: a VICS record without PDQ).
            conn.executemany(
                "INSERT INTO entry_signals(entry_id, signal, value, quality) VALUES (?,?,?,?)",
                ((first_id + k, signal, v, q) for k, (v, q) in
                 enumerate(zip(block.column(col), block.column(quality))) if v is not None))
            continue
        _insert_columns(conn, "entry_signals", block, first_id, [col, quality],
                        {col: "value", quality: "quality"}, signal)
    if block.signals:
        conn.executemany(
            "INSERT INTO entry_signals(entry_id, signal, frame, value, quality, seconds)"
            " VALUES (?,?,?,?,?,?)",
            ((first_id + k, sig, frame, value, q, sec)
             for k, sig, frame, value, q, sec in block.signals))


def _insert_columns(conn: sqlite3.Connection, table: str, block: EntryBlock, first_id: int,
                    columns: list[str], rename: dict[str, str],
                    signal: str | None = None) -> None:
    """One INSERT ... SELECT of `columns` of the block (see EntryBlock) into `table`, the id
    (or entry_id) numbered from first_id; `rename` maps a block column to a table column."""
    id_col = "id" if signal is None else "entry_id"
    names: list[str] = [id_col]
    params: list[Any] = [first_id]
    exprs: list[str] = ["?1 + key"]
    if signal is not None:
        params.append(signal)
        names.append("signal")
        exprs.append(f"?{len(params)}")
    packed = [c for c in columns if c in block.packed]
    constants = [c for c in columns if c in block.constants]
    varying = [c for c in columns if c in block.values]
    if any(c in DIGEST_BYTES for c in varying):
        # A digest column with gaps (bytes are not JSON): bind row by row, only the columns
        # that are not NULL throughout. Rare (a VICS record without SHA-1 among others).
        cols = packed + constants + varying
        conn.executemany(
            f"INSERT INTO {table}({', '.join([id_col] + [rename.get(c, c) for c in cols])})"
            f" VALUES ({', '.join('?' * (len(cols) + 1))})",
            zip(range(first_id, first_id + block.n), *(block.column(c) for c in cols)))
        return
    for c in packed:
        w = DIGEST_BYTES[c]
        params.append(block.packed[c])
        names.append(rename.get(c, c))
        exprs.append(f"substr(?{len(params)}, key*{w}+1, {w})")
    for c in constants:
        params.append(block.constants[c])
        names.append(rename.get(c, c))
        exprs.append(f"?{len(params)}")
    if len(varying) == 1:
        names.append(rename.get(varying[0], varying[0]))
        exprs.append("value")
        params.append(json.dumps(block.values[varying[0]]))
    elif varying:
        for j, c in enumerate(varying):
            names.append(rename.get(c, c))
            exprs.append(f"json_extract(value, '$[{j}]')")
        params.append(json.dumps(list(zip(*(block.values[c] for c in varying)))))
    if varying:
        source = f"json_each(?{len(params)})"
    else:  # every column packed or constant: the rows are counted out (see _ensure_keys)
        params.append(block.n)
        source = f"temp.keys WHERE key < ?{len(params)}"
    conn.execute(f"INSERT INTO {table}({', '.join(names)}) SELECT {', '.join(exprs)}"
                 f" FROM {source}", params)
