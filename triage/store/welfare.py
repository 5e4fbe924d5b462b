"""Welfare alerts, each reviewer's care dates and contracted hours, and leads' lock overrides.

Exposure itself belongs to the review domain (`exposure`, `users`; CONTRACTS.md "Review and
exposure"): this module only reads it. Alerts are unique per (reviewer, rule, period) so a rule
evaluated on every page request raises one alert, not one per request.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from triage.store.core import CoreStore, StoreError
from triage.store.schema import Domain

WELFARE = Domain(
    "welfare",
    (
        """
        CREATE TABLE welfare_alerts (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            rule TEXT NOT NULL,
            period TEXT NOT NULL,
            level TEXT NOT NULL,
            figures TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open',
            ack_by TEXT,
            ack_note TEXT,
            ack_at TEXT,
            resolved_at TEXT,
            resolved_by TEXT,
            resolved_note TEXT,
            notified_at TEXT,
            notify_error TEXT,
            UNIQUE (user_id, rule, period)
        );
        CREATE INDEX welfare_alerts_state ON welfare_alerts(state);
        CREATE TABLE care_schedule (
            user_id INTEGER PRIMARY KEY REFERENCES users(id),
            counselling_on TEXT,
            assessment_on TEXT,
            welfare_check_on TEXT,
            contract_start TEXT,
            contract_end TEXT,
            contract_days TEXT,
            updated_at TEXT NOT NULL,
            updated_by TEXT
        );
        CREATE TABLE lock_overrides (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            day TEXT NOT NULL,
            minutes REAL NOT NULL,
            lead TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX lock_overrides_user_day ON lock_overrides(user_id, day);
        """,
    ),
)

CARE_FIELDS = ("counselling_on", "assessment_on", "welfare_check_on")
CONTRACT_FIELDS = ("contract_start", "contract_end", "contract_days")
ALERT_STATES = ("open", "acknowledged", "resolved")


def _alert(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["figures"] = json.loads(d["figures"])
    return d


class WelfareStore(CoreStore):
    # -- people -------------------------------------------------------------------------
    def welfare_person(self, name: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT id, name, role, active, created_at FROM users"
                                " WHERE name=?", (name,)).fetchone()
        if row is None:
            known = [r[0] for r in self.conn.execute(
                "SELECT name FROM users ORDER BY name LIMIT 11")]
            hint = f" (known: {', '.join(known[:10])})" if known else " (none yet)"
            raise StoreError(f"no user {name!r} in this workspace{hint}")
        return dict(row)

    def welfare_person_by_id(self, user_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT id, name, role, active, created_at FROM users"
                                " WHERE id=?", (user_id,)).fetchone()
        return dict(row) if row else None

    def welfare_lead(self, name: str) -> dict[str, Any]:
        """Acknowledgements and overrides are accountable acts: only a recorded lead may make one."""
        person = self.welfare_person(name)
        if person["role"] not in ("lead", "admin") or not person["active"]:
            raise StoreError(f"{name!r} is not an active team lead (role {person['role']!r})")
        return person

    def welfare_reviewers(self) -> list[dict[str, Any]]:
        """Active reviewers, plus anyone else who has viewed pictures (a lead who reviews)."""
        rows = self.conn.execute(
            "SELECT id, name, role, active, created_at FROM users u WHERE u.active=1 AND"
            " (u.role='reviewer' OR EXISTS (SELECT 1 FROM exposure e WHERE e.user_id=u.id))"
            " ORDER BY u.name")
        return [dict(r) for r in rows]

    # -- exposure (read-only view of the review domain's table) -------------------------
    def welfare_exposure(self, user_id: int, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Intervals starting in [since, until], oldest first. Times are compared parsed, not as
        strings, because writers may store fractional seconds or a 'Z' suffix."""
        floor = (since - timedelta(days=1)).date().isoformat()
        rows = self.conn.execute(
            "SELECT id, mode, severity, started_at, ended_at, seconds FROM exposure"
            " WHERE user_id=? AND started_at>=? ORDER BY started_at, id", (user_id, floor))
        out = []
        for r in rows:
            start = _parse(r["started_at"])
            if since <= start <= until:
                d = dict(r)
                d["start"], d["end"] = start, _parse(r["ended_at"])
                out.append(d)
        return out

    def welfare_record_exposure(self, user_id: int, mode: str, severity: str, started_at: str,
                                ended_at: str, content_id: int | None = None,
                                device_id: int | None = None) -> int:
        """A finished interval written in one go: for simulations (demo, tests) and imports of
        exposure measured elsewhere. Live review writes through the review domain."""
        if mode not in ("revealed", "blurred", "video"):
            raise StoreError(f"mode must be 'revealed', 'blurred' or 'video', not {mode!r}")
        seconds = (_parse(ended_at) - _parse(started_at)).total_seconds()
        if seconds < 0:
            raise StoreError("an exposure interval cannot end before it starts")
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO exposure(user_id, content_id, device_id, mode, severity, started_at,"
                " ended_at, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (user_id, content_id, device_id, mode, severity, started_at, ended_at, seconds))
            return int(cur.fetchone()[0])

    # -- alerts -------------------------------------------------------------------------
    def raise_welfare_alert(self, user_id: int, rule: str, period: str, level: str,
                            figures: dict[str, Any], now: str) -> int | None:
        """The new alert's id, or None when this rule already fired for this reviewer and period."""
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO welfare_alerts(user_id, rule, period, level, figures,"
                " raised_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (user_id, rule, period, level, json.dumps(figures, sort_keys=True), now))
            row = cur.fetchone()
            return int(row[0]) if row else None

    def welfare_alert_keys(self, user_id: int) -> set[tuple[str, str]]:
        """(rule, period) of every alert this reviewer has, whatever its state: what is raised."""
        return {(r[0], r[1]) for r in self.conn.execute(
            "SELECT rule, period FROM welfare_alerts WHERE user_id=?", (user_id,))}

    def welfare_alert(self, alert_id: int) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT a.*, u.name AS reviewer FROM welfare_alerts a JOIN users u ON u.id=a.user_id"
            " WHERE a.id=?", (alert_id,)).fetchone()
        if row is None:
            raise StoreError(f"no welfare alert {alert_id}")
        return _alert(row)

    def welfare_alerts(self, state: str | None = None, user_id: int | None = None,
                       rule_prefix: str | None = None) -> list[dict[str, Any]]:
        where, args = [], []
        if state:
            if state not in ALERT_STATES:
                raise StoreError(f"state must be one of {', '.join(ALERT_STATES)}")
            where.append("a.state=?")
            args.append(state)
        if user_id is not None:
            where.append("a.user_id=?")
            args.append(user_id)
        if rule_prefix:
            where.append("a.rule LIKE ?")
            args.append(rule_prefix + "%")
        sql = ("SELECT a.*, u.name AS reviewer FROM welfare_alerts a JOIN users u ON u.id=a.user_id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.id")
        return [_alert(r) for r in self.conn.execute(sql, args)]

    def acknowledge_welfare_alert(self, alert_id: int, lead: str, note: str, now: str) -> None:
        if not note.strip():
            raise StoreError("an acknowledgement needs a note saying what the lead did")
        self.welfare_lead(lead)
        with self.transaction() as c:
            alert = self.welfare_alert(alert_id)
            if alert["state"] != "open":
                raise StoreError(f"alert {alert_id} is already {alert['state']}")
            c.execute("UPDATE welfare_alerts SET state='acknowledged', ack_by=?, ack_note=?,"
                      " ack_at=? WHERE id=?", (lead, note.strip(), now, alert_id))

    def resolve_welfare_alert(self, alert_id: int, by: str, note: str, now: str) -> None:
        with self.transaction() as c:
            alert = self.welfare_alert(alert_id)
            if alert["state"] == "resolved":
                raise StoreError(f"alert {alert_id} is already resolved")
            c.execute("UPDATE welfare_alerts SET state='resolved', resolved_by=?,"
                      " resolved_note=?, resolved_at=? WHERE id=?", (by, note, now, alert_id))

    def undelivered_welfare_alerts(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT a.*, u.name AS reviewer FROM welfare_alerts a JOIN users u ON u.id=a.user_id"
            " WHERE a.notified_at IS NULL ORDER BY a.id")
        return [_alert(r) for r in rows]

    def mark_welfare_alert_notified(self, alert_id: int, now: str | None,
                                    error: str | None) -> None:
        with self.transaction() as c:
            c.execute("UPDATE welfare_alerts SET notified_at=?, notify_error=? WHERE id=?",
                      (now, error, alert_id))

    # -- care schedule and contracted hours ---------------------------------------------
    def care_schedule(self, user_id: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM care_schedule WHERE user_id=?",
                                (user_id,)).fetchone()
        if row is None:
            return {"user_id": user_id, **{k: None for k in CARE_FIELDS + CONTRACT_FIELDS},
                    "updated_at": None, "updated_by": None}
        return dict(row)

    def set_care_schedule(self, user_id: int, values: dict[str, str | None], by: str,
                          now: str) -> None:
        """Update only the given fields; a date recorded earlier stays unless replaced."""
        unknown = set(values) - set(CARE_FIELDS + CONTRACT_FIELDS)
        if unknown:
            raise StoreError(f"unknown care fields: {', '.join(sorted(unknown))}")
        with self.transaction() as c:
            c.execute("INSERT INTO care_schedule(user_id, updated_at) VALUES (?, ?)"
                      " ON CONFLICT DO NOTHING",
                      (user_id, now))
            for key, value in values.items():
                c.execute(f"UPDATE care_schedule SET {key}=? WHERE user_id=?", (value, user_id))
            c.execute("UPDATE care_schedule SET updated_at=?, updated_by=? WHERE user_id=?",
                      (now, by, user_id))

    # -- lock overrides -----------------------------------------------------------------
    def add_lock_override(self, user_id: int, day: str, minutes: float, lead: str, reason: str,
                          now: str) -> int:
        if not reason.strip():
            raise StoreError("an override needs a reason")
        self.welfare_lead(lead)
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO lock_overrides(user_id, day, minutes, lead, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (user_id, day, minutes, lead, reason.strip(), now))
            return int(cur.fetchone()[0])

    def lock_overrides(self, user_id: int, day: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM lock_overrides WHERE user_id=?"
        args: list[Any] = [user_id]
        if day:
            sql += " AND day=?"
            args.append(day)
        return [dict(r) for r in self.conn.execute(sql + " ORDER BY id", args)]


def _parse(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:  # the contract says UTC; a naive writer meant UTC too
        dt = dt.replace(tzinfo=timezone.utc)
    return dt
