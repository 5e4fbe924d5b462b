"""What the court-ready device report asks of the store beyond its counts: exhibit continuity
(each source, its own hash where it has one, who ingested it and when), the examiners the audit
names, and each list's exact matches and near-match candidates on the device.

Why near candidates are counted apart: a PDQ list never matches exactly, so a report counting
only exact matches printed "matches here 0" for a PDQ list while the summary counted 18
candidates. A candidate is not a categorisation; the report lists them as candidates.
"""

from __future__ import annotations

import json
from typing import Any

from triage.store.core import CoreStore


class CourtStore(CoreStore):
    def source_continuity(self, device_id: int) -> list[dict[str, Any]]:
        """Each source of the device: location, name, kind, the hash of the source file itself
        where the source is a file (an archive: the row for the archive), its ingest runs."""
        out = []
        for s in self.conn.execute("SELECT * FROM sources WHERE device_id=? ORDER BY id",
                                   (device_id,)).fetchall():
            own = self.conn.execute(
                "SELECT c.md5, c.sha1, c.sha256, c.size FROM files f JOIN contents c"
                " ON c.id=f.content_id WHERE f.device_id=? AND f.source_id=? AND f.path=?",
                (device_id, s["id"], s["name"])).fetchone()
            runs = [dict(r) for r in self.conn.execute(
                "SELECT started_at, finished_at, state, counts FROM ingest_runs WHERE"
                " device_id=? AND source_id=? ORDER BY id", (device_id, s["id"]))]
            out.append({"source_id": s["id"], "location": s["location"], "name": s["name"],
                        "kind": s["kind"], "md5": own["md5"] if own else None,
                        "sha1": own["sha1"] if own else None,
                        "sha256": own["sha256"] if own else None,
                        "size": own["size"] if own else None, "runs": runs})
        return out

    def device_audit(self, label: str) -> list[dict[str, Any]]:
        """Audit rows naming the device, with their arguments (who ran what, from where)."""
        value = json.dumps(label)
        rows = self.conn.execute(
            "SELECT * FROM audit WHERE arguments LIKE ? OR arguments LIKE ? ORDER BY id",
            (f'%"device": {value}%', f'%"label": {value}%'))
        out = []
        for r in rows:
            d = dict(r)
            try:
                args = json.loads(d["arguments"])
            except ValueError:
                args = {}
            d["params"] = args.get("params", args) if isinstance(args, dict) else {}
            out.append(d)
        return out

    def device_web_users(self, device_id: int) -> list[dict[str, Any]]:
        """Reviewers who decided or viewed this device's pictures in the review pages."""
        rows = self.conn.execute(
            "SELECT u.name, u.role, MIN(t) AS first, MAX(t) AS last, SUM(k='decision') AS"
            " decisions, SUM(k='view') AS views FROM ("
            " SELECT user_id, decided_at AS t, 'decision' AS k FROM decisions WHERE device_id=?"
            " UNION ALL SELECT user_id, started_at, 'view' FROM exposure WHERE device_id=?)"
            " JOIN users u ON u.id=user_id GROUP BY u.id ORDER BY u.name",
            (device_id, device_id))
        return [dict(r) for r in rows]

    def list_hits(self, device_id: int) -> dict[str, dict[str, int]]:
        """list name -> {exact, near}: the device's pictures each list matched exactly, and
        those it holds only as PDQ near-match candidates."""
        rows = self.conn.execute(
            "SELECT h.name, SUM(x.exact) AS exact, SUM(1 - x.exact) AS near FROM ("
            " SELECT m.hashset_id, m.content_id, MAX(m.near = 0) AS exact FROM matches m"
            " WHERE m.content_id IN (SELECT content_id FROM files WHERE device_id=?)"
            " GROUP BY m.hashset_id, m.content_id) x JOIN hashsets h ON h.id=x.hashset_id"
            " GROUP BY h.id", (device_id,))
        return {r["name"]: {"exact": int(r["exact"] or 0), "near": int(r["near"] or 0)}
                for r in rows}

    def near_candidates(self, device_id: int) -> list[dict[str, Any]]:
        """Pictures of the device that a list holds only as a PDQ near match: one row per
        picture and list, nearest first."""
        rows = self.conn.execute(
            "SELECT m.content_id, h.name AS hashset, MIN(m.distance) AS distance, m.method,"
            " m.category, m.category_raw, c.sha256,"
            " (SELECT MIN(f.path) FROM files f WHERE f.device_id=? AND f.content_id=m.content_id)"
            " AS path, (SELECT COUNT(*) FROM files f WHERE f.device_id=? AND"
            " f.content_id=m.content_id) AS copies"
            " FROM matches m JOIN hashsets h ON h.id=m.hashset_id JOIN contents c"
            " ON c.id=m.content_id WHERE m.near=1 AND m.content_id IN"
            " (SELECT content_id FROM files WHERE device_id=?) AND NOT EXISTS (SELECT 1 FROM"
            " matches e WHERE e.content_id=m.content_id AND e.hashset_id=m.hashset_id"
            " AND e.near=0) GROUP BY m.content_id, h.id ORDER BY distance, path",
            (device_id, device_id, device_id))
        return [dict(r) for r in rows]
