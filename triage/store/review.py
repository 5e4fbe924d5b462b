"""Reviewers, case assignments, categorisation decisions and exposure intervals.

Tables follow CONTRACTS.md ("Review and exposure"). One addition: `decisions.action_id`, the id
of the direct decision a row was made with, so that undo takes back exactly what one key press
did (the picture, its copies on other exhibits of the case, and the confirmed near-duplicates) —
timestamps cannot tell two quick decisions apart.

Times are ISO 8601 UTC strings passed in by the caller: the web app has an injectable clock, so
exposure arithmetic is tested without sleeping.
"""

from __future__ import annotations

import json
import socket
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from triage.categories import UNCATEGORISED
from triage.store.core import CoreStore, StoreError, os_user
from triage.store import sqlite as sql
from triage.store.schema import Domain

REVIEW = Domain(
    "review",
    (
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE case_assignments (
            case_id INTEGER NOT NULL REFERENCES cases(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            PRIMARY KEY (case_id, user_id)
        );
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            content_id INTEGER NOT NULL REFERENCES contents(id),
            device_id INTEGER NOT NULL REFERENCES devices(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            scheme TEXT NOT NULL,
            category TEXT NOT NULL,
            via TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            undone_at TEXT,
            action_id INTEGER
        );
        CREATE INDEX decisions_device_content ON decisions(device_id, content_id);
        CREATE INDEX decisions_action ON decisions(action_id);
        CREATE TABLE exposure (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            content_id INTEGER,
            device_id INTEGER,
            mode TEXT NOT NULL,
            severity TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            seconds REAL NOT NULL
        );
        CREATE INDEX exposure_user_time ON exposure(user_id, started_at);
        CREATE INDEX exposure_content ON exposure(content_id);
        """,
        # Sessions that end server-side, and exposure the client cannot under-report.
        # users.session_generation: a sign-in session carries the value it was issued with and
        # is refused once it changes (sign-out, password change, disable), so a copied cookie
        # stops working. exposure.reported_at: the last start/beat/stop report;
        # delivered_at / charged_until: when the unblurred bytes last left the server and how
        # long that delivery is charged for (see `charge_delivery`). ended_at/seconds stay the
        # figures every reader uses: max(last report, charge) - start.
        """
        ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE exposure ADD COLUMN reported_at TEXT;
        ALTER TABLE exposure ADD COLUMN delivered_at TEXT;
        ALTER TABLE exposure ADD COLUMN charged_until TEXT;
        CREATE INDEX exposure_user_charged ON exposure(user_id, charged_until);
        """,
    ),
)

ROLES = ("reviewer", "lead", "backlog", "admin")
# Exposure modes that are direct viewing: an unblurred picture, or a video's frame or playback
# (mode 'video', issue 13). Everything else ('blurred') is indirect. The one definition: the
# welfare rules, totals and reports count these as revealed time.
DIRECT_MODES = ("revealed", "video")


def is_direct(mode: str) -> bool:
    return mode in DIRECT_MODES


def iso_ms(moment: datetime) -> str:
    """The one text form of a time in these tables (what the web app's `now_text` writes), so
    that SQL string comparisons order times correctly."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _seconds_between(start: str, end: str) -> float:
    return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())


class ReviewStore(CoreStore):
    # -- users --------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str, now: str) -> int:
        if role not in ROLES:
            raise StoreError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
                raise StoreError(f"user {name!r} already exists")
            cur = c.execute(
                "INSERT INTO users(name, role, password_hash, created_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (name, role, password_hash, now),
            )
            return int(cur.fetchone()[0])

    def user_by_name(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
        return dict(row) if row else None

    def user(self, user_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone()
        return dict(row) if row else None

    def require_user(self, name: str) -> dict[str, Any]:
        user = self.user_by_name(name)
        if user is None:
            raise StoreError(f"no user {name!r} ({self._known_users()}"
                             "; add one with `triage users add`)")
        return user

    def _known_users(self) -> str:
        known = [r[0] for r in self.conn.execute("SELECT name FROM users ORDER BY name LIMIT 11")]
        return f"known: {', '.join(known[:10])}" if known else "none yet"

    def users(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT u.id, u.name, u.role, u.active, u.failed_logins, u.locked_until,"
            f" u.created_at, {sql.string_agg('c.reference', ',')} AS cases FROM users u"
            " LEFT JOIN case_assignments a ON a.user_id=u.id"
            " LEFT JOIN cases c ON c.id=a.case_id GROUP BY u.id ORDER BY u.name"
        )
        out = []
        for r in rows:
            d = dict(r)
            d["active"] = bool(d["active"])
            d["cases"] = sorted(d["cases"].split(",")) if d["cases"] else []
            out.append(d)
        return out

    # Sign-in attempts. A password check is *reserved* before it is made, in one write
    # transaction, so parallel guesses cannot all pass the lock test before any failure is
    # counted (before this, 16 parallel guesses could all be checked against an allowance of 5).
    # `failed_logins` counts checks not yet proven right, in flight or failed.
    def reserve_login_attempt(self, name: str, max_attempts: int, now: str
                              ) -> tuple[dict[str, Any] | None, bool]:
        """(the user or None, whether a password check may be made now).

        False while the account is locked or `max_attempts` checks are already counted; an
        expired lock is lifted here. An unknown name gets (None, False); the caller then checks
        the password against a placeholder, so it costs what a known name does.
        """
        with self.transaction() as c:
            row = c.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
            if row is None:
                return None, False
            user = dict(row)
            if user["locked_until"] and user["locked_until"] <= now:
                c.execute("UPDATE users SET failed_logins=0, locked_until=NULL WHERE id=?",
                          (user["id"],))
                user.update(failed_logins=0, locked_until=None)
            if user["locked_until"] or user["failed_logins"] >= max_attempts:
                return user, False
            c.execute("UPDATE users SET failed_logins=failed_logins+1 WHERE id=?", (user["id"],))
            return user, True

    def login_failed(self, user_id: int, max_attempts: int, lock_until: str) -> bool:
        """A reserved check failed: lock once `max_attempts` are counted. True if now locked."""
        with self.transaction() as c:
            row = c.execute("SELECT failed_logins, locked_until FROM users WHERE id=?",
                            (user_id,)).fetchone()
            if row is None:
                return False
            if row["locked_until"]:
                return True
            if row["failed_logins"] >= max_attempts:
                c.execute("UPDATE users SET locked_until=? WHERE id=?", (lock_until, user_id))
                return True
            return False

    def login_succeeded(self, user_id: int) -> None:
        """A reserved check proved right: the failure count starts again. A lock set meanwhile
        by parallel failures stays: a right password never lifts a lock (only time or
        `triage users unlock` do)."""
        with self.transaction() as c:
            c.execute("UPDATE users SET failed_logins=0 WHERE id=? AND locked_until IS NULL",
                      (user_id,))

    def unlock_user(self, user_id: int) -> None:
        with self.transaction() as c:
            c.execute("UPDATE users SET failed_logins=0, locked_until=NULL WHERE id=?", (user_id,))

    # Sessions end server-side: each change below bumps the user's session generation, and the
    # web app refuses a session cookie issued under an older one.
    def end_sessions(self, user_id: int) -> None:
        """Sign-out: every session of this user issued so far stops working."""
        with self.transaction() as c:
            c.execute("UPDATE users SET session_generation=session_generation+1 WHERE id=?",
                      (user_id,))

    def set_password(self, user_id: int, password_hash: str) -> None:
        with self.transaction() as c:
            c.execute("UPDATE users SET password_hash=?, failed_logins=0, locked_until=NULL,"
                      " session_generation=session_generation+1 WHERE id=?",
                      (password_hash, user_id))

    def set_active(self, user_id: int, active: bool) -> None:
        with self.transaction() as c:
            c.execute("UPDATE users SET active=?, session_generation=session_generation+1"
                      " WHERE id=?", (1 if active else 0, user_id))

    # -- cases and access ---------------------------------------------------------------
    def case_by_reference(self, reference: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM cases WHERE reference=?", (reference,)).fetchone()
        if row is None:
            known = [r[0] for r in self.conn.execute(
                "SELECT reference FROM cases ORDER BY reference LIMIT 11")]
            hint = f" (known: {', '.join(known[:10])})" if known else " (none yet)"
            raise StoreError(f"no case {reference!r} in this workspace{hint}")
        return dict(row)

    def assign_case(self, case_id: int, user_id: int) -> bool:
        """True if newly assigned."""
        with self.transaction() as c:
            cur = c.execute("INSERT INTO case_assignments(case_id, user_id) VALUES (?, ?)"
                            " ON CONFLICT DO NOTHING", (case_id, user_id))
            return cur.rowcount > 0

    def assigned_devices(self, user_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.*, c.reference AS case_reference FROM devices d"
            " JOIN cases c ON c.id=d.case_id"
            " JOIN case_assignments a ON a.case_id=d.case_id AND a.user_id=?"
            " ORDER BY c.reference, d.label",
            (user_id,),
        )
        return [dict(r) for r in rows]

    def may_view_device(self, user_id: int, device_id: int) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM devices d JOIN case_assignments a ON a.case_id=d.case_id"
            " WHERE d.id=? AND a.user_id=?", (device_id, user_id)).fetchone()
        return row is not None

    def viewable_content(self, user_id: int, content_id: int) -> dict[str, Any] | None:
        """The content (id, sha256, derivative) if it lies on a device of a case assigned to the
        user; None otherwise, so that an unassigned picture and a missing one look the same."""
        row = self.conn.execute(
            "SELECT c.id, c.sha256, c.derivative, c.width, c.height FROM contents c"
            " WHERE c.id=? AND EXISTS (SELECT 1 FROM files f JOIN devices d ON d.id=f.device_id"
            " JOIN case_assignments a ON a.case_id=d.case_id"
            " WHERE f.content_id=c.id AND a.user_id=?)",
            (content_id, user_id),
        ).fetchone()
        return dict(row) if row else None

    # -- what is left to review ---------------------------------------------------------
    def known_matched_images(self, device_id: int) -> list[dict[str, Any]]:
        """Pictures exactly matched to an alert or reference list (never known-good ones)."""
        rows = self.conn.execute(
            "SELECT c.id AS content_id, c.sha256, c.derivative, MIN(f.path) AS path"
            " FROM files f JOIN contents c ON c.id=f.content_id"
            " JOIN matches m ON m.content_id=c.id AND m.near=0"
            " JOIN hashsets h ON h.id=m.hashset_id"
            " WHERE f.device_id=? AND c.derivative IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM matches g JOIN hashsets gh ON gh.id=g.hashset_id"
            "   WHERE g.content_id=c.id AND g.near=0 AND gh.kind='known-good')"
            " GROUP BY c.id ORDER BY c.id",
            (device_id,),
        ).fetchall()
        known = self.known_categories(device_id=device_id)  # type: ignore[attr-defined]
        return [dict(r, category=k.category if k else None,
                     other_categories=list(k.others) if k else [])
                for r in rows for k in [known.get(r["content_id"])]]

    def known_kind(self, content_id: int) -> str | None:
        """'known-good' if an exact list match says so, 'known' for any other exact match (alert
        or reference lists), None for a picture no list knows. The same test as the queue's
        (exact matches leave it) and the known view's (known-good never shown)."""
        kinds = {r[0] for r in self.conn.execute(
            "SELECT DISTINCT h.kind FROM matches m JOIN hashsets h ON h.id=m.hashset_id"
            " WHERE m.content_id=? AND m.near=0", (content_id,))}
        if "known-good" in kinds:
            return "known-good"
        return "known" if kinds else None

    def content_on_device(self, device_id: int, content_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM files WHERE device_id=? AND content_id=? LIMIT 1",
                                 (device_id, content_id)).fetchone() is not None

    def uncertain_images(self, device_id: int) -> list[dict[str, Any]]:
        """Pictures of the device whose current decision here is 'uncertain': they have left
        the queue, and this is where they wait for the second look the mark asks for."""
        rows = self.conn.execute(
            "SELECT c.id AS content_id, c.sha256, c.derivative, MIN(f.path) AS path,"
            " x.decided_at, u.name AS decided_by"
            " FROM decisions x JOIN contents c ON c.id=x.content_id"
            " JOIN files f ON f.content_id=c.id AND f.device_id=x.device_id"
            " JOIN users u ON u.id=x.user_id"
            " WHERE x.device_id=? AND x.undone_at IS NULL AND x.category='uncertain'"
            " AND c.derivative IS NOT NULL"
            " GROUP BY c.id ORDER BY x.decided_at, c.id",
            (device_id,),
        )
        return [dict(r) for r in rows]

    def content_category(self, content_id: int) -> str | None:
        """The picture's category as far as the workspace knows: a reviewer's active decision,
        else its exact alert-list matches' category (`triage.categories.known_category`)."""
        row = self.conn.execute(
            "SELECT category FROM decisions WHERE content_id=? AND undone_at IS NULL"
            " ORDER BY id DESC LIMIT 1", (content_id,)).fetchone()
        if row:
            return str(row[0])
        known = self.known_categories([content_id]).get(content_id)  # type: ignore[attr-defined]
        return known.category if known else None

    # -- decisions ----------------------------------------------------------------------
    def decide(self, device_id: int, content_id: int, user_id: int, scheme: str,
               category: str, now: str, cluster_ids: Sequence[int] = ()) -> dict[str, Any]:
        """Record one categorisation and apply it to the same picture on the case's other
        exhibits ('duplicate') and to confirmed near-duplicates on this device ('cluster').

        Pictures that already carry an active decision are left alone: a key press never
        silently overrides another reviewer. Exposure already recorded for the pictures takes
        the category, so what a reviewer saw is weighted by what it turned out to be.
        """
        with self.transaction() as c:
            if self._active_decision(device_id, content_id):
                raise StoreError("this picture has already been categorised")
            cur = c.execute(
                "INSERT INTO decisions(content_id, device_id, user_id, scheme, category, via,"
                " decided_at) VALUES (?, ?, ?, ?, ?, 'direct', ?) RETURNING id",
                (content_id, device_id, user_id, scheme, category, now))
            action = int(cur.fetchone()[0])
            c.execute("UPDATE decisions SET action_id=? WHERE id=?", (action, action))
            targets: list[tuple[int, int, str]] = []
            for cid in dict.fromkeys(cluster_ids):
                if cid != content_id and not self._active_decision(device_id, cid):
                    targets.append((cid, device_id, "cluster"))
            for cid in [content_id] + [t[0] for t in targets]:
                for other in c.execute(
                    "SELECT DISTINCT f.device_id FROM files f JOIN devices d ON d.id=f.device_id"
                    " WHERE f.content_id=? AND f.device_id<>? AND d.case_id="
                    " (SELECT case_id FROM devices WHERE id=?)", (cid, device_id, device_id)
                ).fetchall():
                    if not self._active_decision(other[0], cid):
                        targets.append((cid, int(other[0]), "duplicate"))
            for cid, dev, via in targets:
                c.execute(
                    "INSERT INTO decisions(content_id, device_id, user_id, scheme, category, via,"
                    " decided_at, action_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (cid, dev, user_id, scheme, category, via, now, action))
            touched = sorted({content_id, *(t[0] for t in targets)})
            self._reset_exposure_severity(touched)
        return {"action_id": action, "content_ids": touched,
                "rows": 1 + len(targets)}

    def decide_uncertain(self, device_id: int, content_id: int, user_id: int, scheme: str,
                         category: str, now: str) -> dict[str, Any]:
        """The second look: a real category for a picture currently marked 'uncertain'.

        The uncertain rows for the picture across the case's exhibits are closed with
        `undone_at = now` and `decide` then records and spreads the category as for any other
        picture; `undo_last_decision` reopens exactly those rows (same `now`).
        """
        with self.transaction() as c:
            row = c.execute(
                "SELECT category FROM decisions WHERE device_id=? AND content_id=?"
                " AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                (device_id, content_id)).fetchone()
            if row is None or row[0] != "uncertain":
                raise StoreError("this picture is not marked uncertain on this device")
            if category == "uncertain":
                raise StoreError("this picture is already marked uncertain")
            c.execute(
                "UPDATE decisions SET undone_at=? WHERE content_id=? AND category='uncertain'"
                " AND undone_at IS NULL AND device_id IN (SELECT id FROM devices WHERE case_id="
                " (SELECT case_id FROM devices WHERE id=?))", (now, content_id, device_id))
            return self.decide(device_id, content_id, user_id, scheme, category, now)

    def _active_decision(self, device_id: int, content_id: int) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM decisions WHERE device_id=? AND content_id=? AND undone_at IS NULL",
            (device_id, content_id)).fetchone() is not None

    def undo_last_decision(self, device_id: int, user_id: int, now: str) -> dict[str, Any] | None:
        """Take back the user's latest decision on this device, with everything it applied to.

        If that decision was a second look, the 'uncertain' marks it closed (`undone_at` = its
        `decided_at`, see `decide_uncertain`) come back, so the picture returns to the
        second-look list, not to limbo.
        """
        with self.transaction() as c:
            row = c.execute(
                "SELECT action_id, decided_at FROM decisions WHERE device_id=? AND user_id=?"
                " AND via='direct' AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                (device_id, user_id)).fetchone()
            if row is None:
                return None
            action = int(row[0])
            ids = [r[0] for r in c.execute(
                "SELECT DISTINCT content_id FROM decisions WHERE action_id=?", (action,))]
            c.execute("UPDATE decisions SET undone_at=? WHERE action_id=? AND undone_at IS NULL",
                      (now, action))
            marks = ",".join("?" * len(ids))
            restored = c.execute(
                f"UPDATE decisions SET undone_at=NULL WHERE category='uncertain' AND undone_at=?"
                f" AND content_id IN ({marks}) AND device_id IN (SELECT id FROM devices WHERE"
                f" case_id=(SELECT case_id FROM devices WHERE id=?))",
                (row[1], *ids, device_id)).rowcount
            self._reset_exposure_severity(ids)
        return {"action_id": action, "content_ids": sorted(ids), "restored_uncertain": restored}

    def _reset_exposure_severity(self, content_ids: Iterable[int]) -> None:
        for cid in content_ids:
            severity = self.content_category(cid) or UNCATEGORISED
            if severity == "uncertain":
                severity = UNCATEGORISED
            self.conn.execute("UPDATE exposure SET severity=? WHERE content_id=?", (severity, cid))

    def decisions_for(self, device_id: int, active_only: bool = True) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT x.*, u.name AS user FROM decisions x JOIN users u ON u.id=x.user_id"
            " WHERE x.device_id=?" + (" AND x.undone_at IS NULL" if active_only else "") +
            " ORDER BY x.id", (device_id,))
        return [dict(r) for r in rows]

    def file_categories(self, device_id: int) -> dict[str, str | None]:
        """path -> active category (None when undecided) for every file of the device."""
        rows = self.conn.execute(
            "SELECT f.path, (SELECT x.category FROM decisions x WHERE x.content_id=f.content_id"
            " AND x.device_id=f.device_id AND x.undone_at IS NULL ORDER BY x.id DESC LIMIT 1)"
            " FROM files f WHERE f.device_id=? ORDER BY f.path", (device_id,))
        return {r[0]: r[1] for r in rows}

    def current_decisions(self, device_id: int) -> dict[int, dict[str, Any]]:
        """content id -> its latest active (not undone) decision on this device, with the
        reviewer's name: what export sends out for pictures no list categorised."""
        rows = self.conn.execute(
            "SELECT x.content_id, x.category, x.scheme, x.via, x.decided_at, u.name AS user"
            " FROM decisions x JOIN users u ON u.id=x.user_id"
            " WHERE x.device_id=? AND x.undone_at IS NULL ORDER BY x.content_id, x.id",
            (device_id,))
        return {r["content_id"]: dict(r) for r in rows}  # a later id overwrites an earlier

    def decision_counts(self, device_id: int) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT category, COUNT(*) FROM decisions WHERE device_id=? AND undone_at IS NULL"
            " GROUP BY category ORDER BY category", (device_id,))
        return {r[0]: r[1] for r in rows}

    # -- exposure -----------------------------------------------------------------------
    def start_exposure(self, user_id: int, content_id: int | None, device_id: int | None,
                       mode: str, now: str) -> int:
        severity = UNCATEGORISED
        if content_id is not None:
            cat = self.content_category(content_id)
            severity = cat if cat and cat != "uncertain" else UNCATEGORISED
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO exposure(user_id, content_id, device_id, mode, severity, started_at,"
                " ended_at, seconds, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?) RETURNING id",
                (user_id, content_id, device_id, mode, severity, now, now, now))
            return int(cur.fetchone()[0])

    def extend_exposure(self, exposure_id: int, user_id: int, now: str) -> float | None:
        """A report from the page (heartbeat or stop) at `now`. It can lengthen the interval,
        never shorten it below the charge for what was delivered. Returns its seconds."""
        with self.transaction() as c:
            row = c.execute("SELECT * FROM exposure WHERE id=? AND user_id=?",
                            (exposure_id, user_id)).fetchone()
            if row is None:
                return None
            reported = max(row["reported_at"] or row["ended_at"], now)
            c.execute("UPDATE exposure SET reported_at=? WHERE id=?", (reported, exposure_id))
            return self._settle_exposure(exposure_id)

    def charge_delivery(self, exposure_id: int, user_id: int, now: datetime,
                        reveal_seconds: float) -> float | None:
        """The unblurred picture of this interval left the server at `now`: charge it until
        `now + reveal_seconds` (the page's re-blur time), or until the next unblurred picture
        this user is sent, whichever comes first.

        Why the server charges, not the page: a client that keeps the picture and reports
        start, fetch and stop at once recorded 0.01 s. What the server knows is what it sent
        and the re-blur time the reviewer works with; an honest page hides the picture by then,
        and a later delivery means the screen now shows another one (that time is charged to
        it). Heartbeats can still lengthen an interval past the charge. Returns its seconds.
        """
        stamp = iso_ms(now)
        until = iso_ms(now + timedelta(seconds=max(0.0, reveal_seconds)))
        with self.transaction() as c:
            row = c.execute("SELECT * FROM exposure WHERE id=? AND user_id=?",
                            (exposure_id, user_id)).fetchone()
            if row is None:
                return None
            # The next picture is on screen: earlier charges end now (never before they began).
            earlier = c.execute(
                "SELECT id, started_at FROM exposure WHERE user_id=? AND mode IN ('revealed','video')"
                " AND charged_until>? AND id<>?", (user_id, stamp, exposure_id)).fetchall()
            for other in earlier:
                c.execute("UPDATE exposure SET charged_until=? WHERE id=?",
                          (max(stamp, other["started_at"]), other["id"]))
                self._settle_exposure(int(other["id"]))
            c.execute("UPDATE exposure SET delivered_at=?, charged_until=? WHERE id=?",
                      (stamp, max(row["charged_until"] or "", until), exposure_id))
            return self._settle_exposure(exposure_id)

    def _settle_exposure(self, exposure_id: int) -> float:
        """ended_at and seconds from the last report and the delivery charge."""
        row = self.conn.execute(
            "SELECT started_at, ended_at, reported_at, charged_until FROM exposure WHERE id=?",
            (exposure_id,)).fetchone()
        end = max(row["reported_at"] or row["ended_at"], row["charged_until"] or "")
        seconds = _seconds_between(row["started_at"], end)
        self.conn.execute("UPDATE exposure SET ended_at=?, seconds=? WHERE id=?",
                          (end, seconds, exposure_id))
        return seconds

    def exposure_intervals(self, user_id: int, since: str | None = None) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM exposure WHERE user_id=? AND started_at>=? ORDER BY started_at, id",
            (user_id, since or ""))
        return [dict(r) for r in rows]

    def exposure_totals(self, user_id: int, since: str | None, per: str,
                        weights: dict[str, float], blurred_weight: float) -> list[dict[str, Any]]:
        """Per day or ISO week: revealed seconds, distinct items revealed, blurred seconds, and
        severity-weighted units (revealed minutes x severity weight, plus blurred minutes x
        `blurred_weight`). Periods are UTC."""
        if per not in ("day", "week"):
            raise StoreError("per must be 'day' or 'week'")
        default_w = float(weights.get(UNCATEGORISED, 1.0))
        periods: dict[str, dict[str, Any]] = {}
        items: dict[str, set[int]] = defaultdict(set)
        for r in self.exposure_intervals(user_id, since):
            start = datetime.fromisoformat(r["started_at"])
            if per == "day":
                key = start.date().isoformat()
            else:
                monday = start.date() - timedelta(days=start.weekday())
                key = monday.isoformat()
            p = periods.setdefault(key, {
                "period": key, "per": per, "revealed_seconds": 0.0, "items_revealed": 0,
                "blurred_seconds": 0.0, "weighted_units": 0.0, "revealed_by_severity": {}})
            secs = float(r["seconds"])
            if is_direct(r["mode"]):
                p["revealed_seconds"] += secs
                sev = p["revealed_by_severity"]
                sev[r["severity"]] = sev.get(r["severity"], 0.0) + secs
                p["weighted_units"] += secs / 60 * float(weights.get(r["severity"], default_w))
                if r["content_id"] is not None:
                    items[key].add(int(r["content_id"]))
            else:
                p["blurred_seconds"] += secs
                p["weighted_units"] += secs / 60 * blurred_weight
        out = []
        for key in sorted(periods):
            p = periods[key]
            p["items_revealed"] = len(items[key])
            for k in ("revealed_seconds", "blurred_seconds"):
                p[k] = round(p[k], 1)
            p["weighted_units"] = round(p["weighted_units"], 2)
            p["revealed_by_severity"] = {k: round(v, 1)
                                         for k, v in sorted(p["revealed_by_severity"].items())}
            out.append(p)
        return out

    # -- audit of single web events -----------------------------------------------------
    def audit_event(self, command: str, arguments: dict[str, Any], tool_version: str,
                    now: str, outcome: str = "ok") -> int:
        """One finished audit row for an instantaneous act (a picture served, a login)."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO audit(started_at, finished_at, os_user, host, tool_version, command,"
                " arguments, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (now, now, os_user(), socket.gethostname(), tool_version, command,
                 json.dumps(arguments, default=str, sort_keys=True), outcome))
            return int(cur.fetchone()[0])
