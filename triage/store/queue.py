"""The recorded review queue of each device, the changes waiting to be applied to it, and claims.

Why recorded (issue 12): building a queue reads every unseen picture of a device, clusters
them and scores them; doing that per request made each key press in the review pages cost two
builds and the backlog page one per device. The queue is now built once by the pipeline
(`triage.queue.recorded`) and stored here:

- `queue_entries`: one row per entry (the cluster's representative), with its score, reasons,
  size and category. The rank is the order `score DESC, content_id` (the order `build_queue`
  sorts by); it is not stored, so a decision does not rewrite every later row.
- `queue_members`: every unseen picture of the queue with the entry it belongs to and what its
  own score was made of, so an entry can be reworked without reading the pictures again.
- `queue_pending`: contents whose state changed since (a decision, an undo, a re-match); the
  next reader applies them to the entries they touch (`content_id` NULL: every content of the
  device). A decision marks its pictures here in its own transaction, whoever makes it (the
  web pages, the Python API), so the queue never shows a decided picture.
- `queue_builds`: when, why and from what each device's queue was built.
- `queue_claims`: which reviewer has an entry open, until when, so that several reviewers on
  one device get disjoint next items.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from triage.store.core import in_chunks
from triage.store.review import ReviewStore
from triage.store.schema import Domain

QUEUE = Domain(
    "queue",
    (
        """
        CREATE TABLE queue_builds (
            device_id INTEGER PRIMARY KEY,
            built_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            config_sha256 TEXT NOT NULL,
            built_from TEXT NOT NULL,
            updated_at TEXT,
            entries INTEGER NOT NULL,
            unseen INTEGER NOT NULL,
            hashes BLOB,
            generation INTEGER NOT NULL
        );
        CREATE TABLE queue_entries (
            device_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            score REAL NOT NULL,
            reasons TEXT NOT NULL,
            cluster_size INTEGER NOT NULL,
            category TEXT,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            derivative TEXT,
            PRIMARY KEY (device_id, content_id)
        );
        CREATE INDEX queue_entries_rank ON queue_entries(device_id, score DESC, content_id);
        CREATE TABLE queue_members (
            device_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            entry_id INTEGER NOT NULL,
            score REAL NOT NULL,
            parts TEXT NOT NULL,
            near_category TEXT,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            derivative TEXT,
            pdq TEXT,
            pdq_quality INTEGER,
            phash TEXT,
            PRIMARY KEY (device_id, content_id)
        );
        CREATE INDEX queue_members_entry ON queue_members(device_id, entry_id);
        CREATE TABLE queue_pending (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id INTEGER NOT NULL,
            content_id INTEGER
        );
        CREATE INDEX queue_pending_device ON queue_pending(device_id);
        CREATE TABLE queue_claims (
            device_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            claimed_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (device_id, content_id)
        );
        CREATE INDEX queue_claims_user ON queue_claims(device_id, user_id);
        CREATE TABLE queue_joined (
            device_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            PRIMARY KEY (device_id, content_id)
        );
        -- The queue asks "is this picture decided?" by content (the unseen test, per picture
        -- after each decision). Without this index every such test scans the decisions table.
        CREATE INDEX IF NOT EXISTS decisions_content ON decisions(content_id, undone_at);
        """,
        # Videos are members too (issue 13): what kind a member is, and for a video its kept
        # frames' PDQ (JSON list) and duration, so that re-encoded copies are clustered again
        # from the member rows alone after a decision.
        """
        ALTER TABLE queue_entries ADD COLUMN kind TEXT;
        ALTER TABLE queue_members ADD COLUMN kind TEXT;
        ALTER TABLE queue_members ADD COLUMN frames TEXT;
        ALTER TABLE queue_members ADD COLUMN duration REAL;
        """,
    ),
)

ENTRY_FIELDS = ("content_id", "score", "reasons", "cluster_size", "category", "path", "sha256",
                "derivative", "kind")
MEMBER_FIELDS = ("content_id", "entry_id", "score", "parts", "near_category", "path", "sha256",
                 "derivative", "pdq", "pdq_quality", "phash", "kind", "frames", "duration")

# Entries ranked after (score, content_id) = (?, ?): `build_queue` sorts by (-score, content_id).
_AFTER = "(e.score < ? OR (e.score = ? AND e.content_id > ?))"
_BEFORE = "(e.score > ? OR (e.score = ? AND e.content_id < ?))"
_TAKEN = ("EXISTS (SELECT 1 FROM queue_claims k WHERE k.device_id=e.device_id"
          " AND k.content_id=e.content_id AND k.user_id<>? AND k.expires_at>?)")


def _entry(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["reasons"] = json.loads(d["reasons"])
    d.pop("device_id", None)
    d["kind"] = d.get("kind") or "image"  # rows recorded before videos were queued
    return d


class QueueStore(ReviewStore):
    """Extends the review store: every decision and undo marks the pictures it changed as
    pending for each device holding them, in the same transaction."""

    # -- builds -----------------------------------------------------------------------------
    def queue_build(self, device_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(  # not the hashes blob (~1.6 MB at 50 k): read per request
            "SELECT device_id, built_at, reason, config_sha256, built_from, updated_at, entries,"
            " unseen, generation FROM queue_builds WHERE device_id=?", (device_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["built_from"] = json.loads(d["built_from"])
        return d

    def recorded_queue_devices(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute(
            "SELECT device_id FROM queue_builds ORDER BY device_id")]

    def forget_queue(self, device_id: int) -> None:
        """The device's recorded queue no longer holds (an ingest started): the next reader
        builds it again. Entries stay until that build replaces them."""
        with self.transaction() as c:
            c.execute("DELETE FROM queue_builds WHERE device_id=?", (device_id,))

    def queue_pending_mark(self) -> int:
        """The latest pending change: a build that starts reading now covers those up to it,
        and leaves later ones (made while it ran) to be applied after it."""
        row = self.conn.execute("SELECT MAX(id) FROM queue_pending").fetchone()
        return int(row[0] or 0)

    def save_queue(self, device_id: int, entries: Sequence[dict[str, Any]],
                   members: Sequence[dict[str, Any]], *, reason: str, config_sha256: str,
                   built_from: dict[str, Any], now: str, mark: int, hashes: bytes,
                   started: int | None) -> None:
        """Replace the device's queue in one transaction (a reader sees the old or the new).

        `mark`, `started`: the latest pending change and the queue's generation when the build
        began reading. Changes after `mark` stay pending. If the queue was updated meanwhile
        (its generation moved), that update may have used up changes the build did not see, so
        the whole device is marked to be compared again. `hashes`: the members' hashes in one
        blob (the queue's own format); pictures that join later go to `queue_joined`."""
        with self.transaction() as c:
            row = c.execute("SELECT generation FROM queue_builds WHERE device_id=?",
                            (device_id,)).fetchone()
            current = None if row is None else int(row[0])
            c.execute("DELETE FROM queue_entries WHERE device_id=?", (device_id,))
            c.execute("DELETE FROM queue_members WHERE device_id=?", (device_id,))
            c.execute("DELETE FROM queue_joined WHERE device_id=?", (device_id,))
            self._insert_entries(device_id, entries)
            self._insert_members(device_id, members)
            c.execute(
                "INSERT INTO queue_builds(device_id, built_at, reason, config_sha256, built_from,"
                " updated_at, entries, unseen, hashes, generation)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)"
                " ON CONFLICT(device_id) DO UPDATE SET built_at=excluded.built_at,"
                " reason=excluded.reason, config_sha256=excluded.config_sha256,"
                " built_from=excluded.built_from, updated_at=NULL, entries=excluded.entries,"
                " unseen=excluded.unseen, hashes=excluded.hashes,"
                " generation=excluded.generation",
                (device_id, now, reason, config_sha256, json.dumps(built_from, sort_keys=True),
                 len(entries), sum(int(e["cluster_size"]) for e in entries), hashes,
                 (current or 0) + 1))
            c.execute("DELETE FROM queue_pending WHERE device_id=? AND id<=?", (device_id, mark))
            if current is not None and current != started:
                c.execute("INSERT INTO queue_pending(device_id, content_id) VALUES (?, NULL)",
                          (device_id,))
            c.execute("DELETE FROM queue_claims WHERE device_id=? AND content_id NOT IN"
                      " (SELECT content_id FROM queue_entries WHERE device_id=?)",
                      (device_id, device_id))

    def _insert_entries(self, device_id: int, entries: Iterable[dict[str, Any]]) -> None:
        self.conn.executemany(
            "INSERT INTO queue_entries(device_id, content_id, score, reasons, cluster_size,"
            " category, path, sha256, derivative, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(device_id, e["content_id"], e["score"], json.dumps(e["reasons"]),
              e["cluster_size"], e["category"], e["path"], e["sha256"], e["derivative"],
              e.get("kind") or "image") for e in entries])

    def _insert_members(self, device_id: int, members: Iterable[dict[str, Any]]) -> None:
        self.conn.executemany(
            "INSERT INTO queue_members(device_id, content_id, entry_id, score, parts,"
            " near_category, path, sha256, derivative, pdq, pdq_quality, phash, kind, frames,"
            " duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(device_id, m["content_id"], m["entry_id"], m["score"], json.dumps(m["parts"]),
              m["near_category"], m["path"], m["sha256"], m["derivative"], m["pdq"],
              m["pdq_quality"], m["phash"], m.get("kind"),
              json.dumps(list(m["frames"])) if m.get("frames") else None, m.get("duration"))
             for m in members])

    # -- pending changes --------------------------------------------------------------------
    def mark_queue_pending(self, content_ids: Sequence[int]) -> None:
        """These contents changed (decided, undone, re-matched, re-scored): pending for every
        device holding them."""
        for chunk, q in in_chunks(sorted(set(content_ids))):
            self.conn.execute(
                f"INSERT INTO queue_pending(device_id, content_id) SELECT DISTINCT device_id,"
                f" content_id FROM files WHERE content_id IN ({q})", chunk)

    def mark_queue_shared_pending(self, device_id: int) -> None:
        """Every content of `device_id` changed: pending for the *other* devices holding any
        of them (the device itself is rebuilt by the caller)."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO queue_pending(device_id, content_id) SELECT DISTINCT f.device_id,"
                " f.content_id FROM files f WHERE f.device_id<>? AND f.content_id IN"
                " (SELECT content_id FROM files WHERE device_id=? AND content_id IS NOT NULL)",
                (device_id, device_id))

    def mark_queue_all_pending(self, device_ids: Sequence[int]) -> None:
        """Anything about these devices' contents may have changed (a list import or removal):
        each is compared in full at its next update."""
        with self.transaction() as c:
            c.executemany("INSERT INTO queue_pending(device_id, content_id) VALUES (?, NULL)",
                          [(d,) for d in device_ids])

    def queue_pending(self, device_id: int) -> tuple[list[int] | None, int]:
        """(content ids pending for the device, or None for all of them; the latest mark)."""
        rows = self.conn.execute("SELECT id, content_id FROM queue_pending WHERE device_id=?",
                                 (device_id,)).fetchall()
        if not rows:
            return [], 0
        mark = max(int(r[0]) for r in rows)
        if any(r[1] is None for r in rows):
            return None, mark
        return sorted({int(r[1]) for r in rows}), mark

    def clear_queue_pending(self, device_id: int, mark: int) -> None:
        """Pending changes up to `mark` turned out to change nothing."""
        with self.transaction() as c:
            c.execute("DELETE FROM queue_pending WHERE device_id=? AND id<=?", (device_id, mark))
            c.execute("UPDATE queue_builds SET generation=generation+1 WHERE device_id=?",
                      (device_id,))

    def update_queue(self, device_id: int, *, drop_entries: Iterable[int],
                     entries: Sequence[dict[str, Any]], drop_members: Iterable[int],
                     members: Sequence[dict[str, Any]], mark: int, now: str,
                     joined: Iterable[int] = ()) -> None:
        """Apply a worked-out change: entries and members replaced, pending up to `mark` done.
        `joined`: pictures that joined the queue and are not in its build's hashes."""
        with self.transaction() as c:
            gone_entries, gone_unseen = 0, 0
            for chunk, q in in_chunks(sorted(set(drop_entries))):
                row = c.execute(f"SELECT COUNT(*), COALESCE(SUM(cluster_size), 0) FROM"
                                f" queue_entries WHERE device_id=? AND content_id IN ({q})",
                                (device_id, *chunk)).fetchone()
                gone_entries, gone_unseen = gone_entries + row[0], gone_unseen + row[1]
                c.execute(f"DELETE FROM queue_entries WHERE device_id=? AND content_id IN ({q})",
                          (device_id, *chunk))
                c.execute(f"DELETE FROM queue_claims WHERE device_id=? AND content_id IN ({q})",
                          (device_id, *chunk))
            for chunk, q in in_chunks(sorted(set(drop_members) | {m["content_id"]
                                                                   for m in members})):
                c.execute(f"DELETE FROM queue_members WHERE device_id=? AND content_id IN ({q})",
                          (device_id, *chunk))
            self._insert_entries(device_id, entries)
            self._insert_members(device_id, members)
            c.executemany("INSERT INTO queue_joined(device_id, content_id) VALUES (?, ?)"
                          " ON CONFLICT DO NOTHING", [(device_id, cid) for cid in joined])
            c.execute("DELETE FROM queue_pending WHERE device_id=? AND id<=?", (device_id, mark))
            c.execute("UPDATE queue_builds SET updated_at=?, entries=entries-?+?,"
                      " unseen=unseen-?+?, generation=generation+1 WHERE device_id=?",
                      (now, gone_entries, len(entries), gone_unseen,
                       sum(int(e["cluster_size"]) for e in entries), device_id))

    def queue_hashes(self, device_id: int) -> tuple[bytes | None, list[dict[str, Any]]]:
        """(the build's member hashes blob, member rows of pictures that joined since)."""
        row = self.conn.execute("SELECT hashes FROM queue_builds WHERE device_id=?",
                                (device_id,)).fetchone()
        joined = [int(r[0]) for r in self.conn.execute(
            "SELECT content_id FROM queue_joined WHERE device_id=?", (device_id,))]
        return (row[0] if row else None,
                self.queue_member_rows(device_id, content_ids=joined) if joined else [])

    # -- reading ----------------------------------------------------------------------------
    def queue_counts(self, device_id: int) -> tuple[int, int]:
        """(entries, unseen pictures they stand for), kept with the build record."""
        row = self.conn.execute("SELECT entries, unseen FROM queue_builds WHERE device_id=?",
                                (device_id,)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def queue_entries(self, device_id: int, offset: int = 0, limit: int | None = None
                      ) -> list[dict[str, Any]]:
        """Entries in rank order (a page of them with offset/limit)."""
        rows = self.conn.execute(
            "SELECT * FROM queue_entries e WHERE device_id=? ORDER BY e.score DESC, e.content_id"
            " LIMIT ? OFFSET ?", (device_id, -1 if limit is None else limit, offset))
        return [_entry(r) for r in rows]

    def queue_entry(self, device_id: int, content_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM queue_entries WHERE device_id=? AND content_id=?",
                                (device_id, content_id)).fetchone()
        return _entry(row) if row else None

    def queue_position(self, device_id: int, entry: dict[str, Any]) -> int:
        """1-based rank of an entry."""
        s, cid = entry["score"], entry["content_id"]
        row = self.conn.execute(
            f"SELECT COUNT(*) FROM queue_entries e WHERE e.device_id=? AND {_BEFORE}",
            (device_id, s, s, cid)).fetchone()
        return int(row[0]) + 1

    def queue_next_free(self, device_id: int, user_id: int, now: str,
                        after: dict[str, Any] | None = None, *, backwards: bool = False
                        ) -> int | None:
        """The content id of the next entry after `after` (or the first) that no other reviewer
        holds a live claim on; `backwards`: the previous one."""
        where, args = [], [device_id]
        if after is not None:
            where.append(_BEFORE if backwards else _AFTER)
            args += [after["score"], after["score"], after["content_id"]]
        order = "e.score ASC, e.content_id DESC" if backwards else "e.score DESC, e.content_id"
        row = self.conn.execute(
            f"SELECT e.content_id FROM queue_entries e WHERE e.device_id=?"
            f" {''.join(' AND ' + w for w in where)} AND NOT {_TAKEN}"
            f" ORDER BY {order} LIMIT 1", (*args, user_id, now)).fetchone()
        return int(row[0]) if row else None

    def queue_members(self, device_id: int, entry_ids: Sequence[int]) -> dict[int, list[int]]:
        """entry (representative) -> every member content id, ascending."""
        out: dict[int, list[int]] = {e: [] for e in entry_ids}
        for chunk, q in in_chunks(list(entry_ids)):
            # No ORDER BY: SQLite would then walk the primary key (every member of the device)
            # for its order instead of the entry index (measured 17 ms vs 0.4 ms at 50 k).
            for r in self.conn.execute(
                    f"SELECT entry_id, content_id FROM queue_members WHERE device_id=?"
                    f" AND entry_id IN ({q})", (device_id, *chunk)):
                out[int(r[0])].append(int(r[1]))
        for ids in out.values():
            ids.sort()
        return out

    def queue_member_rows(self, device_id: int, *, content_ids: Sequence[int] | None = None,
                          entry_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Stored member rows: all of the device's, or those of some contents or entries."""
        def rows(sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
            out = []
            for r in self.conn.execute(sql, args):
                d = dict(r)
                d.pop("device_id")
                d["parts"] = [tuple(p) for p in json.loads(d["parts"])]
                d["frames"] = tuple(json.loads(d["frames"])) if d.get("frames") else ()
                d["kind"] = d.get("kind") or "image"
                out.append(d)
            return out

        base = "SELECT * FROM queue_members WHERE device_id=?"
        if content_ids is None and entry_ids is None:
            return rows(base + " ORDER BY content_id", (device_id,))
        column, values = (("content_id", content_ids) if content_ids is not None
                          else ("entry_id", entry_ids))
        out: list[dict[str, Any]] = []
        for chunk, q in in_chunks(sorted(set(values or ()))):
            out += rows(f"{base} AND {column} IN ({q})", (device_id, *chunk))
        return out

    def queue_models(self, device_id: int) -> list[dict[str, Any]]:
        """The classifier scores of the device's contents: model, weights and how many."""
        rows = self.conn.execute(
            "SELECT model, weights_sha256, COUNT(*) AS scored FROM classifications"
            " WHERE content_id IN (SELECT content_id FROM files WHERE device_id=?)"
            " GROUP BY model, weights_sha256 ORDER BY model", (device_id,))
        return [dict(r) for r in rows]

    # -- claims -----------------------------------------------------------------------------
    def claim_holder(self, device_id: int, content_id: int, now: str) -> dict[str, Any] | None:
        """The live claim on an entry: {user_id, user, claimed_at, expires_at}, else None."""
        row = self.conn.execute(
            "SELECT k.user_id, u.name AS user, k.claimed_at, k.expires_at FROM queue_claims k"
            " JOIN users u ON u.id=k.user_id WHERE k.device_id=? AND k.content_id=?"
            " AND k.expires_at>?", (device_id, content_id, now)).fetchone()
        return dict(row) if row else None

    def claim_entry(self, device_id: int, content_id: int, user_id: int, now: str,
                    expires_at: str) -> dict[str, Any]:
        """Claim (or renew) an entry for `user_id` unless another reviewer holds a live claim on
        it; the user's other claims on the device are released (one open entry per reviewer).
        Returns the live holder afterwards, which is someone else when the claim was refused."""
        with self.transaction() as c:
            held = self.claim_holder(device_id, content_id, now)
            if held is not None and held["user_id"] != user_id:
                return held
            c.execute("DELETE FROM queue_claims WHERE device_id=? AND (user_id=? OR"
                      " (content_id=? AND expires_at<=?))", (device_id, user_id, content_id, now))
            c.execute("INSERT INTO queue_claims(device_id, content_id, user_id, claimed_at,"
                      " expires_at) VALUES (?, ?, ?, ?, ?)",
                      (device_id, content_id, user_id, now, expires_at))
            held = self.claim_holder(device_id, content_id, now)
            assert held is not None
            return held

    def live_claims(self, device_id: int, now: str) -> dict[int, dict[str, Any]]:
        """content id -> live claim on the device's entries."""
        rows = self.conn.execute(
            "SELECT k.content_id, k.user_id, u.name AS user, k.expires_at FROM queue_claims k"
            " JOIN users u ON u.id=k.user_id WHERE k.device_id=? AND k.expires_at>?",
            (device_id, now))
        return {int(r["content_id"]): dict(r) for r in rows}

    def release_claims(self, device_id: int, user_id: int) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM queue_claims WHERE device_id=? AND user_id=?",
                      (device_id, user_id))

    # -- decisions keep the queue current ---------------------------------------------------
    def decide(self, device_id: int, content_id: int, user_id: int, scheme: str,
               category: str, now: str, cluster_ids: Sequence[int] = ()) -> dict[str, Any]:
        with self.transaction() as c:
            result = super().decide(device_id, content_id, user_id, scheme, category, now,
                                    cluster_ids)
            self.mark_queue_pending(result["content_ids"])
            for chunk, q in in_chunks(result["content_ids"]):
                c.execute(f"DELETE FROM queue_claims WHERE content_id IN ({q})", chunk)
        return result

    def undo_last_decision(self, device_id: int, user_id: int, now: str) -> dict[str, Any] | None:
        with self.transaction():
            result = super().undo_last_decision(device_id, user_id, now)
            if result is not None:
                self.mark_queue_pending(result["content_ids"])
        return result
