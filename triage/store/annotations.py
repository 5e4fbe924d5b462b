"""What reviewers add to a picture besides its category, and what they have looked at.

- `review_reveals`: which pictures a sign-in session has had delivered unblurred (the server's
  own record, written when the picture left the server). A category other than "uncertain" is
  accepted only for a picture revealed in the same session (config/review.toml [decisions]), so
  a key press on a blurred tile, or a whole cluster of 140 categorised from a blur, is refused.
- `review_annotations`: free tags, a note and the VICS reviewer fields (Series,
  VictimIdentified, OffenderIdentified, IsDistributed) per picture *per case*: a picture on two
  exhibits of a case is one picture to the investigation, as decisions are spread across them.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from triage.store.core import CoreStore, StoreError, in_chunks
from triage.store.schema import Domain

ANNOTATIONS = Domain(
    "annotations",
    (
        """
        CREATE TABLE review_reveals (
            session_id TEXT NOT NULL,
            content_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            PRIMARY KEY (session_id, content_id)
        );
        CREATE TABLE review_annotations (
            case_id INTEGER NOT NULL,
            content_id INTEGER NOT NULL,
            tags TEXT NOT NULL,
            note TEXT,
            series TEXT,
            victim_identified INTEGER,
            offender_identified INTEGER,
            distributed INTEGER,
            updated_by INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (case_id, content_id)
        );
        """,
    ),
)

MAX_TAGS = 32
MAX_TAG = 64
MAX_NOTE = 4000
MAX_SERIES = 200
VICS_FLAGS = ("victim_identified", "offender_identified", "distributed")


def clean_text(value: Any, limit: int, what: str, *, multiline: bool = False) -> str:
    """Text a reviewer typed: trimmed, at most `limit` characters, no control characters
    (a newline only in a note). Refuses rather than silently cuts."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise StoreError(f"{what} is longer than {limit} characters")
    for ch in text:
        if ch == "\n" and multiline:
            continue
        if unicodedata.category(ch)[0] == "C":
            raise StoreError(f"{what} holds a control character")
    return text


def clean_tags(values: Iterable[Any]) -> list[str]:
    tags: list[str] = []
    for v in values:
        t = clean_text(v, MAX_TAG, "a tag")
        if t and t not in tags:
            tags.append(t)
    if len(tags) > MAX_TAGS:
        raise StoreError(f"at most {MAX_TAGS} tags per picture")
    return tags


def tristate(value: Any, what: str) -> int | None:
    """yes / no / not known (None) from JSON true/false/null or form text."""
    if value is None or value == "" or value == "unknown":
        return None
    if value in (True, "yes", "true", 1, "1"):
        return 1
    if value in (False, "no", "false", 0, "0"):
        return 0
    raise StoreError(f"{what} must be yes, no or unknown")


def _annotation(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["tags"] = json.loads(d["tags"])
    for k in VICS_FLAGS:
        d[k] = None if d[k] is None else bool(d[k])
    return d


class AnnotationStore(CoreStore):
    # -- reveals ----------------------------------------------------------------------------
    def record_reveal(self, session_id: str, user_id: int, content_id: int, now: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO review_reveals(session_id, content_id, user_id, first_at)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                      (session_id, content_id, user_id, now))

    def revealed_in_session(self, session_id: str, content_ids: Sequence[int]) -> set[int]:
        out: set[int] = set()
        for chunk, q in in_chunks(sorted({int(c) for c in content_ids})):
            out.update(int(r[0]) for r in self.conn.execute(
                f"SELECT content_id FROM review_reveals WHERE session_id=? AND content_id"
                f" IN ({q})", (session_id, *chunk)))
        return out

    def forget_reveals(self, user_id: int) -> None:
        """Sign-out: that session's reveals no longer count (a new session starts blurred)."""
        with self.transaction() as c:
            c.execute("DELETE FROM review_reveals WHERE user_id=?", (user_id,))

    # -- tags, notes, VICS fields -----------------------------------------------------------
    def annotation(self, case_id: int, content_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT a.*, u.name AS updated_by_name FROM review_annotations a"
            " JOIN users u ON u.id=a.updated_by WHERE a.case_id=? AND a.content_id=?",
            (case_id, content_id)).fetchone()
        return _annotation(row) if row else None

    def annotations_for_case(self, case_id: int) -> dict[int, dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM review_annotations WHERE case_id=?", (case_id,))
        return {int(r["content_id"]): _annotation(r) for r in rows}

    def annotate(self, case_id: int, content_id: int, user_id: int, now: str, *,
                 tags: Iterable[Any] | None = None, note: Any = None, series: Any = None,
                 victim_identified: Any = None, offender_identified: Any = None,
                 distributed: Any = None) -> dict[str, Any]:
        """Replace the picture's tags, note and VICS fields (all given together, as the form
        sends them). An annotation with nothing left in it is removed."""
        values = {
            "tags": clean_tags(tags or []),
            "note": clean_text(note, MAX_NOTE, "the note", multiline=True) or None,
            "series": clean_text(series, MAX_SERIES, "the series") or None,
            "victim_identified": tristate(victim_identified, "victim identified"),
            "offender_identified": tristate(offender_identified, "offender identified"),
            "distributed": tristate(distributed, "distributed"),
        }
        empty = not values["tags"] and all(values[k] is None for k in values if k != "tags")
        with self.transaction() as c:
            if empty:
                c.execute("DELETE FROM review_annotations WHERE case_id=? AND content_id=?",
                          (case_id, content_id))
            else:
                c.execute(
                    "INSERT INTO review_annotations(case_id, content_id, tags, note, series,"
                    " victim_identified, offender_identified, distributed, updated_by,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(case_id, content_id) DO UPDATE SET tags=excluded.tags,"
                    " note=excluded.note, series=excluded.series,"
                    " victim_identified=excluded.victim_identified,"
                    " offender_identified=excluded.offender_identified,"
                    " distributed=excluded.distributed, updated_by=excluded.updated_by,"
                    " updated_at=excluded.updated_at",
                    (case_id, content_id, json.dumps(values["tags"], ensure_ascii=False),
                     values["note"], values["series"], values["victim_identified"],
                     values["offender_identified"], values["distributed"], user_id, now))
        return values

    def case_tags(self, case_id: int) -> list[tuple[str, int]]:
        """Every tag used in the case and on how many pictures (for the tag filter)."""
        counts: dict[str, int] = {}
        for r in self.conn.execute("SELECT tags FROM review_annotations WHERE case_id=?",
                                   (case_id,)):
            for t in json.loads(r[0]):
                counts[t] = counts.get(t, 0) + 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
