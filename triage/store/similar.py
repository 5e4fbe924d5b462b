"""The closest alert-list PDQ of each content ("looks like known material"), kept from matching.

Why recorded: the search is a full scan of every alert hash (beyond the PDQ index radius the
multi-index search cannot help), so doing it per review request made every page of a large
device cost seconds (issue 12). `triage.match.similar` runs it once per content after matching
and again only when the alert lists (the index) change; the queue reads the result from here.

One row per content checked: `distance` NULL means no alert hash within the radius. What the
rows were computed against (the index's lists, its settings and the radius) is kept in `meta`
under `similar:basis`, so a change of lists makes every row stale at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from triage.store.core import CoreStore, in_chunks
from triage.store.schema import Domain

SIMILAR = Domain(
    "similar",
    (
        """
        CREATE TABLE similarities (
            content_id INTEGER PRIMARY KEY,
            distance INTEGER,
            hashset TEXT,
            category TEXT
        );
        """,
    ),
)

_BASIS_KEY = "similar:basis"


class SimilarStore(CoreStore):
    def similarity_basis(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (_BASIS_KEY,)).fetchone()
        return json.loads(row[0]) if row else None

    def similarities(self, content_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """content id -> {distance, hashset, category} for contents with an alert hash within
        the recorded radius (contents checked without one, or never checked, are absent)."""
        out: dict[int, dict[str, Any]] = {}
        for chunk, q in in_chunks(list(content_ids)):
            for r in self.conn.execute(
                    f"SELECT content_id, distance, hashset, category FROM similarities"
                    f" WHERE content_id IN ({q}) AND distance IS NOT NULL", chunk):
                out[int(r[0])] = {"distance": int(r[1]), "hashset": r[2], "category": r[3]}
        return out

    def similarity_rows(self, content_ids: Sequence[int] | None = None
                        ) -> dict[int, tuple[int | None, str | None, str | None]]:
        """Every recorded row (checked contents), found or not: content id -> (distance,
        hashset, category)."""
        if content_ids is None:
            rows: Iterable[Any] = self.conn.execute(
                "SELECT content_id, distance, hashset, category FROM similarities")
            return {int(r[0]): (r[1], r[2], r[3]) for r in rows}
        out: dict[int, tuple[int | None, str | None, str | None]] = {}
        for chunk, q in in_chunks(list(content_ids)):
            for r in self.conn.execute(
                    f"SELECT content_id, distance, hashset, category FROM similarities"
                    f" WHERE content_id IN ({q})", chunk):
                out[int(r[0])] = (r[1], r[2], r[3])
        return out

    def save_similarities(self, basis: dict[str, Any],
                          rows: Iterable[tuple[int, int | None, str | None, str | None]],
                          *, replace_all: bool) -> None:
        """Record (content id, distance, hashset, category) rows computed against `basis`;
        with `replace_all` every earlier row goes (they were computed against another basis)."""
        with self.transaction() as c:
            if replace_all:
                c.execute("DELETE FROM similarities")
            c.executemany(
                "INSERT INTO similarities(content_id, distance, hashset, category)"
                " VALUES (?, ?, ?, ?) ON CONFLICT(content_id) DO UPDATE SET"
                " distance=excluded.distance, hashset=excluded.hashset,"
                " category=excluded.category", list(rows))
            c.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key)"
                      " DO UPDATE SET value=excluded.value",
                      (_BASIS_KEY, json.dumps(basis, sort_keys=True)))
