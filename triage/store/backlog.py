"""Device register, backlog snapshots, and the read-only queries the backlog and reports need.

The register is kept apart from `devices` because `devices.status` is the pipeline's own state
(set by ingest) while the register holds what the lab knows about the exhibit and its suspect
(risk band, dates, flags). Tables owned by other stages (matches, decisions, exposure, users,
hashsets) may not exist yet in a given workspace; every query that reads them checks first, so
the backlog works from the day a lab starts using triage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from triage.categories import severity_rank
from triage.store.core import CoreStore, now_iso
from triage.store.schema import Domain
from triage.store.signals import is_picture

BACKLOG = Domain(
    "backlog",
    (
        """
        CREATE TABLE device_register (
            device_id INTEGER PRIMARY KEY REFERENCES devices(id),
            device_type TEXT,
            seized_on DATE,
            risk_band TEXT CHECK (risk_band IS NULL OR risk_band IN ('VH', 'H', 'M', 'L')),
            access_to_children INT NOT NULL DEFAULT 0,
            child_at_risk INT NOT NULL DEFAULT 0,
            next_court_date DATE,
            bail_rui INT NOT NULL DEFAULT 0,
            register_status TEXT NOT NULL DEFAULT 'awaiting',
            notes TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE backlog_snapshots (
            taken_on DATE PRIMARY KEY,
            taken_at TEXT NOT NULL,
            figures TEXT NOT NULL
        );
        """,
    ),
)

REGISTER_FIELDS = ("device_type", "seized_on", "risk_band", "access_to_children",
                   "child_at_risk", "next_court_date", "bail_rui", "register_status", "notes")

class BacklogStore(CoreStore):
    # -- register -----------------------------------------------------------------------
    def save_register_entries(self, entries: Iterable[tuple[str, str, Mapping[str, Any]]]) -> int:
        """Create or update (case reference, device label, fields) rows in ONE transaction.

        Why one transaction: a register import either lands whole or not at all, so a lab never
        has to work out which half of a spreadsheet made it in.
        """
        n = 0
        with self.transaction() as c:
            for case_reference, label, fields in entries:
                device_id = self.ensure_device(case_reference, label)
                unknown = set(fields) - set(REGISTER_FIELDS)
                if unknown:
                    raise ValueError(f"not register fields: {sorted(unknown)}")
                c.execute(
                    "INSERT INTO device_register(device_id, updated_at) VALUES (?, ?)"
                    " ON CONFLICT(device_id) DO NOTHING", (device_id, now_iso()))
                if fields:
                    sets = ", ".join(f"{k}=?" for k in fields)
                    c.execute(f"UPDATE device_register SET {sets}, updated_at=? WHERE device_id=?",
                              (*fields.values(), now_iso(), device_id))
                n += 1
        return n

    def register_rows(self) -> list[dict[str, Any]]:
        """Every device with its register entry (register fields NULL when not registered)."""
        rows = self.conn.execute(
            "SELECT d.id AS device_id, d.label, c.reference AS case_reference,"
            " d.status AS pipeline_status, d.created_at, r.device_type, r.seized_on, r.risk_band,"
            " r.access_to_children, r.child_at_risk, r.next_court_date, r.bail_rui,"
            " r.register_status, r.notes, r.updated_at, r.device_id IS NOT NULL AS registered"
            " FROM devices d JOIN cases c ON c.id=d.case_id"
            " LEFT JOIN device_register r ON r.device_id=d.id ORDER BY d.label")
        return [dict(r) for r in rows]

    # -- counts after ingest ------------------------------------------------------------
    def device_counts(self, device_id: int) -> dict[str, Any]:
        """Files, unique images, known alert hits by category, known-good and unseen images."""
        c = self.conn
        row = c.execute(
            "SELECT COUNT(*) AS files, COUNT(DISTINCT CASE WHEN " + is_picture("ct") +
            " THEN f.content_id END) AS unique_images"
            " FROM files f LEFT JOIN contents ct ON ct.id=f.content_id WHERE f.device_id=?",
            (device_id,)).fetchone()
        out: dict[str, Any] = {"files": row["files"], "unique_images": row["unique_images"],
                               "known_alert": {}, "known_alert_total": 0, "known_good": 0,
                               "decided": 0, "unseen": row["unique_images"]}
        known_ids: set[int] = set()
        rule = self.known_categories(device_id=device_id)  # type: ignore[attr-defined]
        best: dict[int, str] = {}
        good: set[int] = set()
        # One walk over the device's pictures and their exact matches (three `IN (pictures
        # of the device)` lookups each walked every file again: 130 ms -> 45 ms at 50 k
        # pictures, most of the backlog page; scripts/bench_review.py). The category is the
        # one rule's (`known_categories`).
        for r in c.execute(
                "SELECT m.content_id, h.kind"
                " FROM files f JOIN contents ct ON ct.id=f.content_id AND " + is_picture("ct") +
                " JOIN matches m ON m.content_id=f.content_id AND m.near=0"
                " LEFT JOIN hashsets h ON h.id=m.hashset_id WHERE f.device_id=?",
                (device_id,)):
            cid = r["content_id"]
            known_ids.add(cid)
            if r["kind"] == "known-good":
                good.add(cid)
            elif r["kind"] == "alert" and cid in rule:
                best[cid] = rule[cid].category
        by_cat: dict[str, int] = {}
        for cat in best.values():
            by_cat[cat] = by_cat.get(cat, 0) + 1
        out["known_alert"] = dict(sorted(by_cat.items(), key=lambda kv: severity_rank(kv[0])))
        out["known_alert_total"] = len(best)
        out["known_good"] = len(good)
        decided_ids = {r[0] for r in c.execute(
            "SELECT DISTINCT content_id FROM decisions WHERE device_id=? AND undone_at IS NULL",
            (device_id,))}
        out["decided"] = len(decided_ids - known_ids)
        out["unseen"] = row["unique_images"] - len(known_ids | decided_ids)
        return out

    def active_reviewer_count(self) -> int:
        """Reviewers with an active account."""
        return int(self.conn.execute(
            "SELECT COUNT(*) FROM users WHERE role='reviewer' AND active=1").fetchone()[0])

    # -- snapshots ----------------------------------------------------------------------
    def save_backlog_snapshot(self, taken_on: str, figures: Mapping[str, Any]) -> None:
        """One snapshot per day: a later run the same day replaces it (the trend is daily)."""
        with self.transaction() as c:
            c.execute(
                "INSERT INTO backlog_snapshots(taken_on, taken_at, figures) VALUES (?, ?, ?)"
                " ON CONFLICT(taken_on) DO UPDATE SET taken_at=excluded.taken_at,"
                " figures=excluded.figures",
                (taken_on, now_iso(), json.dumps(dict(figures), sort_keys=True)))

    def backlog_snapshots(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT taken_on, taken_at, figures FROM backlog_snapshots ORDER BY taken_on")
        return [{"taken_on": r["taken_on"], "taken_at": r["taken_at"]} | json.loads(r["figures"])
                for r in rows]

    # -- per-device report --------------------------------------------------------------
    def report_images(self, device_id: int) -> list[dict[str, Any]]:
        """One row per unique image on the device: hashes, EXIF, copies, known and decided
        categories. The report derives every count from these rows, so counts and the CSV agree.
        """
        c = self.conn
        rows = c.execute(
            "SELECT ct.id AS content_id, ct.sha256, ct.sha1, ct.md5, ct.width, ct.height,"
            " ct.exif_make, ct.exif_model, ct.exif_datetime_original, ct.exif_gps, ct.derivative,"
            " COUNT(f.id) AS copies, MIN(f.path) AS path"
            " FROM files f JOIN contents ct ON ct.id=f.content_id"
            " WHERE f.device_id=? AND " + is_picture("ct") +
            " GROUP BY ct.id ORDER BY MIN(f.path)",
            (device_id,))
        images = {r["content_id"]: dict(r) | {"known_category": None, "known_lists": [],
                                              "known_good": False, "decided_category": None,
                                              "decided_scheme": None, "decided_by": None}
                  for r in rows}
        if not images:
            return []
        sub = ("SELECT DISTINCT f.content_id FROM files f WHERE f.device_id=:d")
        for r in c.execute(
                f"SELECT m.content_id, m.category, h.name, h.kind FROM matches m"
                f" JOIN hashsets h ON h.id=m.hashset_id"
                f" WHERE m.near=0 AND m.content_id IN ({sub}) ORDER BY h.name",
                {"d": device_id}):
            img = images.get(r["content_id"])
            if img is None:
                continue
            if r["name"] not in img["known_lists"]:
                img["known_lists"].append(r["name"])
            if r["kind"] == "known-good":
                img["known_good"] = True
        for cid, known in self.known_categories(  # type: ignore[attr-defined]
                device_id=device_id).items():
            if cid in images:
                images[cid]["known_category"] = known.category
        for r in c.execute(
                "SELECT d.content_id, d.scheme, d.category, u.name AS who FROM decisions d"
                " LEFT JOIN users u ON u.id=d.user_id WHERE d.device_id=? AND d.undone_at IS NULL"
                " ORDER BY d.decided_at, d.id", (device_id,)):
            img = images.get(r["content_id"])
            if img is not None:  # the latest active decision stands
                img["decided_category"] = r["category"]
                img["decided_scheme"] = r["scheme"]
                img["decided_by"] = r["who"]
        return list(images.values())

    def hashsets_used(self, device_id: int) -> list[dict[str, Any]]:
        """Every list loaded in the workspace (the device was checked against all of them),
        with how many of this device's pictures each one matched exactly."""
        rows = self.conn.execute(
            "SELECT h.name, h.kind, h.format, h.scheme, h.source_path, h.source_sha256,"
            " h.imported_at, h.entry_count, (SELECT COUNT(DISTINCT m.content_id) FROM matches m"
            " WHERE m.hashset_id=h.id AND m.near=0 AND m.content_id IN"
            " (SELECT content_id FROM files WHERE device_id=?)) AS hits"
            " FROM hashsets h ORDER BY h.name", (device_id,))
        return [dict(r) for r in rows]

    def exposure_for_device(self, device_id: int) -> list[dict[str, Any]]:
        """Who looked at this device's pictures and for how long (from the exposure log)."""
        rows = self.conn.execute(
            "SELECT u.name AS reviewer, COUNT(*) AS views,"
            " SUM(CASE WHEN e.mode IN ('revealed','video') THEN 1 ELSE 0 END) AS revealed,"
            " COALESCE(SUM(e.seconds), 0) AS seconds, MIN(e.started_at) AS first,"
            " MAX(e.ended_at) AS last FROM exposure e LEFT JOIN users u ON u.id=e.user_id"
            " WHERE e.device_id=? GROUP BY e.user_id, u.name ORDER BY reviewer", (device_id,))
        return [dict(r) for r in rows]

    def decisions_by_reviewer(self, device_id: int) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT u.name AS reviewer, COUNT(*) FROM decisions d LEFT JOIN users u"
            " ON u.id=d.user_id WHERE d.device_id=? AND d.undone_at IS NULL"
            " GROUP BY d.user_id, u.name ORDER BY 1", (device_id,))
        return {r[0]: r[1] for r in rows}

    def audit_for_device(self, label: str) -> list[dict[str, Any]]:
        """Audit rows whose arguments name this device (`--device D` or a register command's LABEL)."""
        value = json.dumps(label)
        rows = self.conn.execute(
            "SELECT id, started_at, finished_at, os_user, host, tool_version, command, outcome"
            " FROM audit WHERE arguments LIKE ? OR arguments LIKE ? ORDER BY id",
            (f'%"device": {value}%', f'%"label": {value}%'))
        return [dict(r) for r in rows]
