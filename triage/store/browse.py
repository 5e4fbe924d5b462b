"""Navigating a device's pictures in the review pages: filters, sort, search and paging over the
recorded queue (and over decided pictures), and the facts the context panel shows.

Why a facts table (`review_facts`): the grid filters by folder, camera, date and file name and
sorts by date and size. Those live on `files` (one row per copy) and `contents`; answering from
them per request means a subquery per queue entry over every copy (measured ~250 ms for a
filtered page at 50,000 pictures). One row per (device, picture) with the folders and names of
all its copies folded in makes a filtered, sorted page one pass over two tables (see
scripts/bench_review.py). The facts are what ingest recorded, so they change only when the
device's files change: they are rebuilt on the first read after that (`ensure_facts`, keyed by
the device's file count and last file id).

What a filter matches: a queue entry stands for a cluster of near-identical pictures, so it is
shown when any of its members matches every condition given (one member, all conditions).

The hooks for later evidence kinds: `kind` is the file's media kind (a video entry kind comes
with video review) and `flags` carries `deleted` / `carved` when the files table records them
(a disk-image source does); the filters offer them only when some picture has them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from triage.store import sqlite as sql
from triage.store.core import CoreStore, StoreError, in_chunks, is_disk_full, now_iso
from triage.store.schema import Domain
from triage.store.signals import frame0_signal

BROWSE = Domain(
    "browse",
    (
        """
        CREATE TABLE review_facts (
            device_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            taken_at TEXT,
            taken_from TEXT,
            size INTEGER,
            camera TEXT,
            names TEXT NOT NULL,
            folders TEXT NOT NULL,
            kind TEXT NOT NULL,
            flags TEXT NOT NULL,
            PRIMARY KEY (device_id, content_id)
        );
        CREATE TABLE review_facets (
            device_id INTEGER NOT NULL,
            facet TEXT NOT NULL,
            value TEXT NOT NULL,
            pictures INTEGER NOT NULL,
            PRIMARY KEY (device_id, facet, value)
        );
        CREATE TABLE review_facts_built (
            device_id INTEGER PRIMARY KEY,
            files INTEGER NOT NULL,
            last_file_id INTEGER NOT NULL,
            built_at TEXT NOT NULL
        );
        """,
    ),
)

SCOPES = ("queue", "decided")
SORTS = ("priority", "path", "date", "size")
MATCH_KINDS = ("near", "similar", "none")
FLAGS = ("deleted", "carved")
# Evidence columns that later sources add to `files`; a flag is offered once its column exists.
FLAG_COLUMNS = {"deleted": "deleted", "carved": "carved"}
HEX = re.compile(r"^[0-9a-fA-F]+$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_QUERY = 200


@dataclass(frozen=True)
class Browse:
    """What the grid shows: a scope, filters, a sort and a search. Built from the request by
    `triage.web.navigation`; every field is checked there, and again bound as a parameter
    here (nothing from the request is ever formatted into SQL)."""

    scope: str = "queue"
    folder: str = ""
    camera: str = ""
    date_from: str = ""
    date_to: str = ""
    category: str = ""
    match: str = ""
    flag: str = ""
    kind: str = ""
    tag: str = ""
    q: str = ""
    sort: str = "priority"
    desc: bool = True
    hash_ids: tuple[int, ...] = field(default=(), compare=False)

    @property
    def filtered(self) -> bool:
        return any((self.folder, self.camera, self.date_from, self.date_to, self.category,
                    self.match, self.flag, self.kind, self.tag, self.q))

    @property
    def default_order(self) -> bool:
        return self.sort == "priority" and self.desc

    def hash_search(self) -> str | None:
        """The search as a lower-case hex digest (MD5, SHA-1, SHA-256 or PDQ), if it is one."""
        q = self.q.strip()
        if len(q) in (32, 40, 64) and HEX.match(q):
            return q.lower()
        return None


def exif_time(value: str | None) -> str | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' as 'YYYY-MM-DD HH:MM:SS' (sortable), None if unreadable."""
    if not value or len(value) < 10:
        return None
    text = value.strip()
    if not re.match(r"^\d{4}[:-]\d{2}[:-]\d{2}", text):
        return None
    return f"{text[0:4]}-{text[5:7]}-{text[8:10]}{text[10:19]}"


def unix_time(value: float | None) -> str | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return None


class BrowseStore(CoreStore):
    # -- facts ------------------------------------------------------------------------------
    def _file_columns(self) -> set[str]:
        return sql.table_columns(self.conn, "files")

    def ensure_facts(self, device_id: int) -> None:
        """Build the device's navigation facts if its files changed since they were built.

        Reading never depends on this write: on a store that can only be read (a full disk)
        the pages show the queue with the facts built earlier (none: no filter matches, the
        unfiltered queue is whole), and a disk that fills during the build leaves them so."""
        row = self.conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM files"
                                " WHERE device_id=?", (device_id,)).fetchone()
        built = self.conn.execute("SELECT files, last_file_id FROM review_facts_built"
                                  " WHERE device_id=?", (device_id,)).fetchone()
        if built is not None and (built[0], built[1]) == (row[0], row[1]):
            return
        if self.read_only:
            return
        try:
            self.build_facts(device_id, int(row[0]), int(row[1]))
        except sql.DatabaseError as exc:
            if not is_disk_full(exc, self.path):
                raise

    def build_facts(self, device_id: int, files: int, last_file_id: int) -> None:
        cols = self._file_columns()
        flags = [name for name, c in FLAG_COLUMNS.items() if c in cols]
        extra = "".join(f", f.{FLAG_COLUMNS[name]} AS flag_{name}" for name in flags)
        rows = self.conn.execute(
            f"SELECT f.content_id, f.path, f.mtime, f.media_kind, c.size, c.exif_make,"
            f" c.exif_model, c.exif_datetime_original{extra} FROM files f"
            f" JOIN contents c ON c.id=f.content_id WHERE f.device_id=?"
            f" AND f.media_kind IN ('image', 'video') ORDER BY f.content_id", (device_id,))
        facts: dict[int, dict[str, Any]] = {}
        for r in rows:
            cid = int(r["content_id"])
            f = facts.get(cid)
            if f is None:
                camera = " ".join(x for x in (r["exif_make"], r["exif_model"]) if x) or None
                f = facts[cid] = {"exif": exif_time(r["exif_datetime_original"]),
                                  "mtime": None, "size": r["size"], "camera": camera,
                                  "names": set(), "folders": set(), "kind": r["media_kind"],
                                  "flags": set()}
            path = str(r["path"])
            folder, _, name = path.rpartition("/")
            f["names"].add(name.lower())
            if folder:
                f["folders"].add(folder)
            m = unix_time(r["mtime"])
            if m is not None and (f["mtime"] is None or m < f["mtime"]):
                f["mtime"] = m
            for flag in flags:
                if r[f"flag_{flag}"]:
                    f["flags"].add(flag)
        folder_counts: dict[str, int] = {}
        camera_counts: dict[str, int] = {}
        insert = []
        for cid, f in facts.items():
            taken, source = (f["exif"], "exif") if f["exif"] else (f["mtime"], "mtime")
            insert.append((device_id, cid, taken, source if taken else None, f["size"],
                           f["camera"], "\n" + "\n".join(sorted(f["names"])) + "\n",
                           "\n" + "".join(d + "/\n" for d in sorted(f["folders"])),
                           f["kind"], " " + " ".join(sorted(f["flags"])) + " "))
            for d in f["folders"]:
                parts = d.split("/")
                for i in range(1, len(parts) + 1):  # every ancestor, for the folder list
                    key = "/".join(parts[:i])
                    folder_counts[key] = folder_counts.get(key, 0) + 1
            if f["camera"]:
                camera_counts[f["camera"]] = camera_counts.get(f["camera"], 0) + 1
        flag_counts = {flag: sum(1 for f in facts.values() if flag in f["flags"])
                       for flag in FLAGS}
        kind_counts: dict[str, int] = {}
        for f in facts.values():
            kind_counts[f["kind"]] = kind_counts.get(f["kind"], 0) + 1
        facets = ([("folder", k, n) for k, n in folder_counts.items()]
                  + [("camera", k, n) for k, n in camera_counts.items()]
                  + [("flag", k, n) for k, n in flag_counts.items() if n]
                  + [("kind", k, n) for k, n in kind_counts.items()])
        with self.transaction() as c:
            c.execute("DELETE FROM review_facts WHERE device_id=?", (device_id,))
            c.execute("DELETE FROM review_facets WHERE device_id=?", (device_id,))
            c.executemany("INSERT INTO review_facts(device_id, content_id, taken_at, taken_from,"
                          " size, camera, names, folders, kind, flags)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", insert)
            c.executemany("INSERT INTO review_facets(device_id, facet, value, pictures)"
                          " VALUES (?, ?, ?, ?)", [(device_id, *x) for x in facets])
            c.execute("INSERT INTO review_facts_built(device_id, files, last_file_id, built_at)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET"
                      " files=excluded.files, last_file_id=excluded.last_file_id,"
                      " built_at=excluded.built_at", (device_id, files, last_file_id, now_iso()))

    def facets(self, device_id: int, limit: int = 300) -> dict[str, list[tuple[str, int]]]:
        """What the filters can offer: folders (most pictures first), cameras, flags, kinds."""
        out: dict[str, list[tuple[str, int]]] = {"folder": [], "camera": [], "flag": [],
                                                 "kind": []}
        for facet in out:
            out[facet] = [(r[0], int(r[1])) for r in self.conn.execute(
                "SELECT value, pictures FROM review_facets WHERE device_id=? AND facet=?"
                " ORDER BY pictures DESC, value LIMIT ?", (device_id, facet, limit))]
        return out

    # -- the filtered, sorted queue ---------------------------------------------------------
    def _member_conditions(self, b: Browse) -> tuple[list[str], list[Any]]:
        """Conditions on one member `m` (queue_members) and its facts `n`."""
        where: list[str] = []
        args: list[Any] = []
        if b.folder:
            where.append("instr(n.folders, ?) > 0")
            args.append("\n" + b.folder.strip("/") + "/")
        if b.camera:
            where.append("n.camera = ?")
            args.append(b.camera)
        if b.date_from:
            where.append("substr(n.taken_at, 1, 10) >= ?")
            args.append(b.date_from)
        if b.date_to:
            where.append("substr(n.taken_at, 1, 10) <= ?")
            args.append(b.date_to)
        if b.flag:
            where.append("instr(n.flags, ?) > 0")
            args.append(f" {b.flag} ")
        if b.kind:
            where.append("n.kind = ?")
            args.append(b.kind)
        if b.tag:
            where.append("EXISTS (SELECT 1 FROM review_annotations a JOIN devices dv ON"
                         " dv.case_id=a.case_id WHERE dv.id=m.device_id"
                         " AND a.content_id=m.content_id AND instr(a.tags, ?) > 0)")
            args.append(json.dumps(b.tag, ensure_ascii=False))
        digest = b.hash_search()
        if b.q and digest is None:
            where.append("instr(n.names, ?) > 0")
            args.append(b.q.strip().lower())
        elif digest is not None:
            ids = list(b.hash_ids) or [-1]
            where.append(f"m.content_id IN ({','.join('?' * len(ids))})")
            args += ids
        return where, args

    def _queue_where(self, device_id: int, b: Browse) -> tuple[str, list[Any]]:
        where = ["e.device_id = ?"]
        args: list[Any] = [device_id]
        member, margs = self._member_conditions(b)
        if b.category:
            member.append("m.near_category = ?")
            margs.append(b.category)
        if b.match == "near":
            member.append("m.near_category IS NOT NULL")
        elif b.match == "similar":
            member.append("m.near_category IS NULL AND EXISTS (SELECT 1 FROM similarities s"
                          " WHERE s.content_id=m.content_id AND s.distance IS NOT NULL)")
        elif b.match == "none":
            member.append("m.near_category IS NULL AND NOT EXISTS (SELECT 1 FROM similarities"
                          " s WHERE s.content_id=m.content_id AND s.distance IS NOT NULL)")
        if member:
            where.append(
                "e.content_id IN (SELECT m.entry_id FROM queue_members m JOIN review_facts n"
                " ON n.device_id=m.device_id AND n.content_id=m.content_id WHERE m.device_id=?"
                + "".join(f" AND {w}" for w in member) + ")")
            args += [device_id, *margs]
        return " AND ".join(where), args

    @staticmethod
    def _order(b: Browse, entry: str = "e", facts: str = "r") -> list[tuple[str, bool]]:
        """(expression, descending) pairs; the content id breaks ties. Missing dates and sizes
        sort last either way."""
        if b.sort == "path":
            keys = [(f"{entry}.path", b.desc)]
        elif b.sort == "date":
            keys = [(f"({facts}.taken_at IS NULL)", False), (f"{facts}.taken_at", b.desc)]
        elif b.sort == "size":
            keys = [(f"({facts}.size IS NULL)", False), (f"{facts}.size", b.desc)]
        else:
            keys = [(f"{entry}.score", b.desc)]
        return keys + [(f"{entry}.content_id", not b.desc if b.sort == "priority" else b.desc)]

    def _order_sql(self, b: Browse) -> str:
        return ", ".join(f"{x} {'DESC' if d else 'ASC'}" for x, d in self._order(b))

    def _facts_join(self, b: Browse) -> str:
        return (" LEFT JOIN review_facts r ON r.device_id=e.device_id AND r.content_id=e.content_id"
                if b.sort in ("date", "size") else "")

    def browse_count(self, device_id: int, b: Browse) -> int:
        """How many queue entries the filters leave."""
        if not b.filtered:
            row = self.conn.execute("SELECT entries FROM queue_builds WHERE device_id=?",
                                    (device_id,)).fetchone()
            return int(row[0]) if row else 0
        where, args = self._queue_where(device_id, b)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM queue_entries e WHERE {where}",
                                     args).fetchone()[0])

    def browse_entries(self, device_id: int, b: Browse, offset: int, limit: int
                       ) -> list[dict[str, Any]]:
        """A page of queue entries in the chosen order, each with its facts."""
        where, args = self._queue_where(device_id, b)
        rows = self.conn.execute(
            f"SELECT e.* FROM queue_entries e{self._facts_join(b)} WHERE {where}"
            f" ORDER BY {self._order_sql(b)} LIMIT ? OFFSET ?", (*args, limit, offset))
        out = []
        for r in rows:
            d = dict(r)
            d["reasons"] = json.loads(d["reasons"])
            d.pop("device_id", None)
            out.append(d)
        return out

    def _keyset(self, b: Browse, key: Sequence[Any], backwards: bool) -> tuple[str, list[Any]]:
        """Rows after (or before) the row whose order key is `key`, in the chosen order."""
        order = self._order(b)
        ors, args = [], []
        for i, (expr, desc) in enumerate(order):
            later = (not desc) != backwards  # greater comes later unless descending
            parts = [f"{order[j][0]} IS ?" for j in range(i)]
            a: list[Any] = list(key[:i])
            if key[i] is None:
                if not later:
                    continue  # nothing sorts before a missing value here (missing sorts last)
                parts.append(f"{expr} IS NOT NULL")
            else:
                parts.append(f"{expr} {'>' if later else '<'} ?")
                a.append(key[i])
            ors.append("(" + " AND ".join(parts) + ")")
            args += a
        return "(" + (" OR ".join(ors) or "0") + ")", args

    def _key_of(self, device_id: int, b: Browse, content_id: int) -> list[Any] | None:
        exprs = ", ".join(x for x, _ in self._order(b))
        row = self.conn.execute(
            f"SELECT {exprs} FROM queue_entries e{self._facts_join(b)} WHERE e.device_id=?"
            f" AND e.content_id=?", (device_id, content_id)).fetchone()
        return None if row is None else list(row)

    def browse_position(self, device_id: int, b: Browse, content_id: int) -> int | None:
        """1-based place of an entry among those the filters leave, None if it is not one."""
        key = self._key_of(device_id, b, content_id)
        if key is None:
            return None
        where, args = self._queue_where(device_id, b)
        before, bargs = self._keyset(b, key, backwards=True)
        row = self.conn.execute(
            f"SELECT COUNT(*) FROM queue_entries e{self._facts_join(b)} WHERE {where}"
            f" AND {before}", (*args, *bargs)).fetchone()
        return int(row[0]) + 1

    def browse_next_free(self, device_id: int, b: Browse, user_id: int, now: str,
                         after: int | None = None, *, backwards: bool = False) -> int | None:
        """The next (or previous) entry in the chosen order after entry `after` (or the first)
        that no other reviewer holds a live claim on."""
        where, args = self._queue_where(device_id, b)
        if after is not None:
            key = self._key_of(device_id, b, after)
            if key is not None:
                cond, cargs = self._keyset(b, key, backwards)
                where += f" AND {cond}"
                args += cargs
        order = self._order(b)
        if backwards:
            order = [(x, not d) for x, d in order]
        sql_order = ", ".join(f"{x} {'DESC' if d else 'ASC'}" for x, d in order)
        row = self.conn.execute(
            f"SELECT e.content_id FROM queue_entries e{self._facts_join(b)} WHERE {where}"
            " AND NOT EXISTS (SELECT 1 FROM queue_claims k WHERE k.device_id=e.device_id"
            " AND k.content_id=e.content_id AND k.user_id<>? AND k.expires_at>?)"
            f" ORDER BY {sql_order} LIMIT 1", (*args, user_id, now)).fetchone()
        return int(row[0]) if row else None

    # -- decided pictures -------------------------------------------------------------------
    def _decided_where(self, device_id: int, b: Browse) -> tuple[str, list[Any]]:
        where = ["x.device_id = ?", "x.undone_at IS NULL"]
        args: list[Any] = [device_id]
        if b.category:
            where.append("x.category = ?")
            args.append(b.category)
        member, margs = self._member_conditions(b)
        member = [w.replace("m.content_id", "x.content_id").replace("m.device_id", "x.device_id")
                  for w in member]
        where += member
        args += margs
        return " AND ".join(where), args

    def decided_count(self, device_id: int, b: Browse) -> int:
        where, args = self._decided_where(device_id, b)
        return int(self.conn.execute(
            f"SELECT COUNT(DISTINCT x.content_id) FROM decisions x JOIN review_facts n ON"
            f" n.device_id=x.device_id AND n.content_id=x.content_id WHERE {where}",
            args).fetchone()[0])

    def decided_page(self, device_id: int, b: Browse, offset: int, limit: int
                     ) -> list[dict[str, Any]]:
        """Pictures decided on this device (the current decision of each), newest first unless
        sorted by path, date or size."""
        where, args = self._decided_where(device_id, b)
        d = "DESC" if b.desc else "ASC"
        order = {"path": f"path {d}", "date": f"(n.taken_at IS NULL), n.taken_at {d}",
                 "size": f"(n.size IS NULL), n.size {d}"}.get(b.sort, f"x.id {d}")
        rows = self.conn.execute(
            f"SELECT x.content_id, x.category, x.decided_at, x.action_id, x.via,"
            f" x.user_id, u.name AS decided_by, c.sha256, c.derivative,"
            f" (SELECT MIN(f.path) FROM files f WHERE f.device_id=x.device_id"
            f"  AND f.content_id=x.content_id) AS path"
            f" FROM decisions x JOIN review_facts n ON n.device_id=x.device_id"
            f" AND n.content_id=x.content_id JOIN contents c ON c.id=x.content_id"
            f" JOIN users u ON u.id=x.user_id WHERE {where}"
            f" ORDER BY {order}, x.content_id LIMIT ? OFFSET ?", (*args, limit, offset))
        return [dict(r) for r in rows]

    # -- search by hash ---------------------------------------------------------------------
    def contents_by_digest(self, digest: str, device_id: int | None = None) -> list[int]:
        """Contents whose MD5, SHA-1, SHA-256 or PDQ is `digest` (lower-case hex)."""
        column = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(digest))
        if column is None:
            return []
        ids = [int(r[0]) for r in self.conn.execute(
            f"SELECT id FROM contents WHERE {column}=?", (digest,))]
        if len(digest) == 64:  # a PDQ is 64 hex digits too (frame 0: the picture itself)
            ids += [int(r[0]) for r in self.conn.execute(
                "SELECT content_id FROM signals WHERE signal='pdq' AND frame=0 AND value=?",
                (digest,)) if int(r[0]) not in ids]
        if device_id is not None and ids:
            ids = [i for i in ids if self.conn.execute(
                "SELECT 1 FROM files WHERE device_id=? AND content_id=? LIMIT 1",
                (device_id, i)).fetchone()]
        return ids

    def where_is(self, device_id: int, content_ids: Sequence[int]) -> list[dict[str, Any]]:
        """For contents found by a search but not in the queue: why not (decided, known,
        marked uncertain, not a picture). Categories of decisions are left to the caller to
        show or not (a peer check may be open)."""
        out = []
        for chunk, q in in_chunks(list(content_ids)):
            for r in self.conn.execute(
                    f"SELECT c.id, c.sha256,"
                    f" (SELECT MIN(path) FROM files f WHERE f.device_id=? AND f.content_id=c.id)"
                    f" AS path, (SELECT media_kind FROM files f WHERE f.device_id=?"
                    f" AND f.content_id=c.id LIMIT 1) AS media_kind,"
                    f" (SELECT action_id FROM decisions x WHERE x.device_id=? AND"
                    f" x.content_id=c.id AND x.undone_at IS NULL ORDER BY x.id DESC LIMIT 1)"
                    f" AS action_id,"
                    f" EXISTS (SELECT 1 FROM matches m WHERE m.content_id=c.id AND m.near=0)"
                    f" AS known FROM contents c WHERE c.id IN ({q})",
                    (device_id, device_id, device_id, *chunk)):
                out.append(dict(r))
        return out

    # -- the context panel ------------------------------------------------------------------
    def content_facts(self, content_id: int) -> dict[str, Any] | None:
        """The content's identity, EXIF and size, with its picture signals (PDQ with its
        quality, pHash, dHash: frame 0 of the signals table)."""
        row = self.conn.execute(
            "SELECT c.*, p.value AS pdq, p.quality AS pdq_quality, h.value AS phash,"
            " d.value AS dhash FROM contents c"
            + frame0_signal("c", "pdq", "p") + frame0_signal("c", "phash", "h")
            + frame0_signal("c", "dhash", "d") + " WHERE c.id=?", (content_id,)).fetchone()
        return dict(row) if row else None

    def content_files(self, device_id: int, content_id: int) -> list[dict[str, Any]]:
        """Every copy of the content on this device, with what ingest recorded of it."""
        rows = self.conn.execute(
            "SELECT f.*, s.name AS source, s.location AS source_location, s.kind AS source_kind"
            " FROM files f JOIN sources s ON s.id=f.source_id WHERE f.device_id=?"
            " AND f.content_id=? ORDER BY s.id, f.path", (device_id, content_id))
        return [dict(r) for r in rows]

    def content_in_case(self, device_id: int, content_id: int) -> list[dict[str, Any]]:
        """Copies of the content on the case's other exhibits (device label and path)."""
        rows = self.conn.execute(
            "SELECT d.label AS device, s.name AS source, f.path, f.size, f.mtime FROM files f"
            " JOIN devices d ON d.id=f.device_id JOIN sources s ON s.id=f.source_id"
            " WHERE f.content_id=? AND f.device_id<>? AND d.case_id="
            " (SELECT case_id FROM devices WHERE id=?) ORDER BY d.label, f.path",
            (content_id, device_id, device_id))
        return [dict(r) for r in rows]

    def content_matches(self, content_id: int) -> list[dict[str, Any]]:
        """Every list match of the content: list, kind, method, distance, category."""
        rows = self.conn.execute(
            "SELECT h.name AS hashset, h.kind, m.method, m.distance, m.near, m.category_raw,"
            " m.category FROM matches m JOIN hashsets h ON h.id=m.hashset_id"
            " WHERE m.content_id=? ORDER BY m.near, COALESCE(m.distance, -1), h.name, m.method",
            (content_id,))
        return [dict(r, near=bool(r["near"])) for r in rows]

    def content_similarity(self, content_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT distance, hashset, category FROM similarities"
                                " WHERE content_id=? AND distance IS NOT NULL",
                                (content_id,)).fetchone()
        return dict(row) if row else None

    def content_scores(self, content_id: int) -> list[dict[str, Any]]:
        """Classifier scores of the content with the model and the weights that made them."""
        rows = self.conn.execute(
            "SELECT model, score, weights_sha256, created_at FROM classifications"
            " WHERE content_id=? ORDER BY model", (content_id,))
        return [dict(r) for r in rows]

    def content_decisions(self, device_id: int, content_id: int) -> list[dict[str, Any]]:
        """The decision history of the content across the case (undone ones too)."""
        rows = self.conn.execute(
            "SELECT x.id, x.category, x.via, x.decided_at, x.undone_at, x.action_id,"
            " u.name AS user, d.label AS device FROM decisions x JOIN users u ON u.id=x.user_id"
            " JOIN devices d ON d.id=x.device_id WHERE x.content_id=? AND d.case_id="
            " (SELECT case_id FROM devices WHERE id=?) ORDER BY x.id", (content_id, device_id))
        return [dict(r) for r in rows]

    def entry_member_rows(self, device_id: int, entry_id: int) -> list[dict[str, Any]]:
        """The members of a queue entry: content, path, derivative, own score and reasons."""
        rows = self.conn.execute(
            "SELECT content_id, path, derivative, score, parts, pdq, near_category"
            " FROM queue_members WHERE device_id=? AND entry_id=?", (device_id, entry_id))
        out = [dict(r, parts=json.loads(r["parts"])) for r in rows]
        out.sort(key=lambda m: (m["content_id"] != entry_id, -m["score"], m["content_id"]))
        return out

    # -- the case view ----------------------------------------------------------------------
    def device_case_id(self, device_id: int) -> int:
        row = self.conn.execute("SELECT case_id FROM devices WHERE id=?", (device_id,)).fetchone()
        if row is None:
            raise StoreError(f"no device with id {device_id}")
        return int(row[0])

    def case_devices(self, case_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.*, (SELECT COUNT(*) FROM files f WHERE f.device_id=d.id) AS files,"
            " (SELECT entries FROM queue_builds b WHERE b.device_id=d.id) AS entries"
            " FROM devices d WHERE d.case_id=? ORDER BY d.label", (case_id,))
        return [dict(r) for r in rows]

    def case_entry_count(self, case_id: int) -> int:
        """Distinct queue representatives across the case's exhibits (a picture on two
        exhibits counts once)."""
        return int(self.conn.execute(
            "SELECT COUNT(DISTINCT e.content_id) FROM queue_entries e JOIN devices d"
            " ON d.id=e.device_id WHERE d.case_id=?", (case_id,)).fetchone()[0])

    def case_entries(self, case_id: int, offset: int, limit: int) -> list[dict[str, Any]]:
        """The case's queue entries, each picture once: shown from the exhibit where it ranks
        highest, with every exhibit that holds it in its queue."""
        rows = self.conn.execute(
            "WITH ranked AS (SELECT e.*, d.label AS device, ROW_NUMBER() OVER (PARTITION BY"
            " e.content_id ORDER BY e.score DESC, d.label) AS k,"
            f" {sql.string_agg('d.label', chr(10))} OVER (PARTITION BY e.content_id) AS exhibits"
            " FROM queue_entries e JOIN devices d ON d.id=e.device_id WHERE d.case_id=?)"
            " SELECT * FROM ranked WHERE k=1 ORDER BY score DESC, content_id LIMIT ? OFFSET ?",
            (case_id, limit, offset))
        out = []
        for r in rows:
            d = dict(r)
            d["reasons"] = json.loads(d["reasons"])
            d["exhibits"] = sorted(set(str(d["exhibits"]).split("\n")))
            out.append(d)
        return out


def with_hash_ids(store: BrowseStore, device_id: int, b: Browse) -> Browse:
    """The browse with the contents its hash search names resolved (on this device)."""
    digest = b.hash_search()
    if digest is None:
        return b
    return replace(b, hash_ids=tuple(store.contents_by_digest(digest, device_id)))
