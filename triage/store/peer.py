"""Peer check: a second reviewer confirms a category before it goes back to CAID / Project VIC.

A lab names the categories that need it (config/review.toml [peer_check] categories, e.g. A
or VIC 1). A check is of one *action* (`decisions.action_id`: what one key press decided, the
picture with its confirmed near-duplicates and its copies on the case's other exhibits), made by
another reviewer of the case who has not been shown the first category: they give their own,
and only then see the first. Agreement confirms the action; a disagreement waits for a lead,
whose resolution stands (the first category kept, or the action's pictures re-decided as
`via = 'resolution'`).

Whether a picture still needs a check is worked out from its *current* decision each time (not
stored as a to-do list): an undo, a second look or a resolution changes the action in force, and
a lab that adds a category to the list gets its earlier decisions checked too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from triage.store.core import CoreStore, StoreError
from triage.store.schema import Domain

PEER = Domain(
    "peer",
    (
        """
        CREATE TABLE peer_checks (
            id INTEGER PRIMARY KEY,
            action_id INTEGER NOT NULL UNIQUE,
            device_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            first_user_id INTEGER NOT NULL,
            first_category TEXT NOT NULL,
            checker_id INTEGER NOT NULL,
            checker_category TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            agreed INTEGER NOT NULL,
            resolved_by INTEGER,
            resolved_category TEXT,
            resolved_at TEXT,
            resolution_action_id INTEGER,
            note TEXT
        );
        CREATE INDEX peer_checks_resolution ON peer_checks(resolution_action_id);
        """,
    ),
)


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values)) or "NULL"


class PeerStore(CoreStore):
    def _direct_action(self, action_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT x.*, u.name AS user, d.label AS device, d.case_id FROM decisions x"
            " JOIN users u ON u.id=x.user_id JOIN devices d ON d.id=x.device_id"
            " WHERE x.id=? AND x.action_id=x.id", (action_id,)).fetchone()
        return dict(row) if row else None

    def peer_pending(self, user_id: int, categories: Sequence[str], limit: int = 500
                     ) -> list[dict[str, Any]]:
        """Actions in the user's cases, made by someone else, in a category that needs a check,
        with no check yet. The first category is *not* returned: the checker gives theirs
        first."""
        if not categories:
            return []
        rows = self.conn.execute(
            f"SELECT x.action_id, x.device_id, d.label AS device, x.content_id, x.decided_at,"
            f" c.sha256, c.derivative, (SELECT COUNT(*) FROM decisions y WHERE"
            f" y.action_id=x.action_id AND y.device_id=x.device_id) AS pictures"
            f" FROM decisions x JOIN devices d ON d.id=x.device_id"
            f" JOIN case_assignments a ON a.case_id=d.case_id AND a.user_id=?"
            f" JOIN contents c ON c.id=x.content_id"
            f" WHERE x.id=x.action_id AND x.via='direct' AND x.undone_at IS NULL"
            f" AND x.user_id<>? AND x.category IN ({_marks(categories)})"
            f" AND NOT EXISTS (SELECT 1 FROM peer_checks p WHERE p.action_id=x.action_id)"
            f" ORDER BY x.decided_at, x.id LIMIT ?", (user_id, user_id, *categories, limit))
        return [dict(r) for r in rows]

    def peer_action(self, action_id: int) -> dict[str, Any] | None:
        """The first decision of an action (its direct row), with its reviewer's name."""
        return self._direct_action(action_id)

    def peer_check_of(self, action_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT p.*, f.name AS first_user, k.name AS checker, r.name AS resolver"
            " FROM peer_checks p JOIN users f ON f.id=p.first_user_id"
            " JOIN users k ON k.id=p.checker_id LEFT JOIN users r ON r.id=p.resolved_by"
            " WHERE p.action_id=?", (action_id,)).fetchone()
        return dict(row) if row else None

    def record_peer_check(self, action_id: int, checker_id: int, category: str, now: str
                          ) -> dict[str, Any]:
        """The second reviewer's category for an action. Returns the check with the first
        decision (now shown) and whether they agree."""
        with self.transaction() as c:
            first = self._direct_action(action_id)
            if first is None:
                raise StoreError("no such decision")
            if first["undone_at"] is not None:
                raise StoreError("that decision has been undone; nothing to check")
            if int(first["user_id"]) == checker_id:
                raise StoreError("a peer check is made by another reviewer than the first")
            held = self.peer_check_of(action_id)
            if held is not None:
                raise StoreError(f"{held['checker']} has already checked this decision")
            agreed = category == first["category"]
            c.execute(
                "INSERT INTO peer_checks(action_id, device_id, content_id, first_user_id,"
                " first_category, checker_id, checker_category, checked_at, agreed)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (action_id, first["device_id"], first["content_id"], first["user_id"],
                 first["category"], checker_id, category, now, int(agreed)))
        check = self.peer_check_of(action_id)
        assert check is not None
        return check

    def peer_disagreements(self, case_ids: Sequence[int] | None, *, open_only: bool = True
                           ) -> list[dict[str, Any]]:
        """Checks where the two reviewers differ (open ones: no lead resolution yet)."""
        where = ["p.agreed=0"]
        args: list[Any] = []
        if open_only:
            where.append("p.resolved_at IS NULL")
        if case_ids is not None:
            where.append(f"d.case_id IN ({_marks(case_ids)})")
            args += list(case_ids)
        rows = self.conn.execute(
            "SELECT p.*, d.label AS device, cs.reference AS case_reference,"
            " f.name AS first_user, k.name AS checker, r.name AS resolver, c.derivative,"
            " (SELECT MIN(path) FROM files fl WHERE fl.device_id=p.device_id"
            "  AND fl.content_id=p.content_id) AS path,"
            " (SELECT COUNT(*) FROM decisions y WHERE y.action_id=p.action_id"
            "  AND y.device_id=p.device_id) AS pictures"
            " FROM peer_checks p JOIN devices d ON d.id=p.device_id"
            " JOIN cases cs ON cs.id=d.case_id JOIN contents c ON c.id=p.content_id"
            " JOIN users f ON f.id=p.first_user_id JOIN users k ON k.id=p.checker_id"
            " LEFT JOIN users r ON r.id=p.resolved_by"
            f" WHERE {' AND '.join(where)} ORDER BY p.checked_at, p.id", args)
        return [dict(r) for r in rows]

    def resolve_peer_check(self, check_id: int, lead_id: int, category: str, note: str | None,
                           now: str) -> dict[str, Any]:
        """A lead settles a disagreement. Keeping the first category leaves its decision in
        force; another category takes the action's pictures back and decides them again with
        it (`via = 'resolution'`, one new action), on every exhibit the action covered."""
        with self.transaction() as c:
            row = c.execute("SELECT * FROM peer_checks WHERE id=?", (check_id,)).fetchone()
            if row is None:
                raise StoreError("no such peer check")
            check = dict(row)
            if check["agreed"]:
                raise StoreError("the reviewers agreed; there is nothing to resolve")
            if check["resolved_at"] is not None:
                raise StoreError("this disagreement has already been resolved")
            if lead_id in (check["first_user_id"], check["checker_id"]):
                raise StoreError("a disagreement is resolved by a lead who was neither reviewer")
            first = self._direct_action(int(check["action_id"]))
            if first is None or first["undone_at"] is not None:
                raise StoreError("the first decision has been undone; nothing to resolve")
            action = int(check["action_id"])
            if category != check["first_category"]:
                rows = c.execute("SELECT content_id, device_id, scheme FROM decisions WHERE"
                                 " action_id=? AND undone_at IS NULL ORDER BY id",
                                 (action,)).fetchall()
                c.execute("UPDATE decisions SET undone_at=? WHERE action_id=? AND undone_at"
                          " IS NULL", (now, action))
                new_action: int | None = None
                for r in rows:
                    cur = c.execute(
                        "INSERT INTO decisions(content_id, device_id, user_id, scheme, category,"
                        " via, decided_at, action_id) VALUES (?, ?, ?, ?, ?, 'resolution', ?, ?)"
                        " RETURNING id",
                        (r["content_id"], r["device_id"], lead_id, r["scheme"], category, now,
                         new_action))
                    inserted = int(cur.fetchone()[0])
                    if new_action is None:
                        new_action = inserted
                        c.execute("UPDATE decisions SET action_id=? WHERE id=?",
                                  (new_action, new_action))
                action = new_action if new_action is not None else action
                self._reset_exposure_severity(  # type: ignore[attr-defined]
                    sorted({int(r["content_id"]) for r in rows}))
            c.execute("UPDATE peer_checks SET resolved_by=?, resolved_category=?, resolved_at=?,"
                      " resolution_action_id=?, note=? WHERE id=?",
                      (lead_id, category, now, action, note, check_id))
        out = self.conn.execute("SELECT * FROM peer_checks WHERE id=?", (check_id,)).fetchone()
        return dict(out)

    def peer_state(self, device_id: int, categories: Sequence[str]) -> dict[str, Any]:
        """For the pictures of the device whose current decision needs a check: how many are
        confirmed, waiting for a second reviewer, or in a disagreement waiting for a lead."""
        out: dict[str, Any] = {"confirmed": 0, "unchecked": 0, "disagreements": 0,
                               "unchecked_actions": [], "disagreement_actions": []}
        if not categories:
            return out
        rows = self.conn.execute(
            f"SELECT x.content_id, x.category, x.action_id, p.agreed, p.resolved_at,"
            f" EXISTS (SELECT 1 FROM peer_checks r WHERE r.resolution_action_id=x.action_id)"
            f" AS resolved FROM decisions x LEFT JOIN peer_checks p ON p.action_id=x.action_id"
            f" WHERE x.device_id=? AND x.undone_at IS NULL AND x.category IN"
            f" ({_marks(categories)}) AND x.id=(SELECT MAX(y.id) FROM decisions y WHERE"
            f" y.device_id=x.device_id AND y.content_id=x.content_id AND y.undone_at IS NULL)",
            (device_id, *categories))
        unchecked: set[int] = set()
        disputed: set[int] = set()
        for r in rows:
            if r["resolved"] or r["agreed"] == 1:
                out["confirmed"] += 1
            elif r["agreed"] == 0:
                out["disagreements"] += 1
                disputed.add(int(r["action_id"]))
            else:
                out["unchecked"] += 1
                unchecked.add(int(r["action_id"]))
        out["unchecked_actions"] = sorted(unchecked)
        out["disagreement_actions"] = sorted(disputed)
        return out

    def peer_hidden_actions(self, device_id: int, user_id: int, categories: Sequence[str]
                            ) -> set[int]:
        """Actions on the device whose category this user may not see yet: they need a check,
        none was made, and the user did not make them (they may be the one to check it)."""
        if not categories:
            return set()
        rows = self.conn.execute(
            f"SELECT DISTINCT x.action_id FROM decisions x WHERE x.device_id=?"
            f" AND x.undone_at IS NULL AND x.user_id<>? AND x.category IN"
            f" ({_marks(categories)}) AND NOT EXISTS (SELECT 1 FROM peer_checks p"
            f" WHERE p.action_id=x.action_id)", (device_id, user_id, *categories))
        return {int(r[0]) for r in rows if r[0] is not None}
