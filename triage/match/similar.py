"""Record how close each content is to known material, once, at match time.

"Looks like known material" (PDQ 32-70 bits from an alert-list hash) is a priority signal of the
review queue. Finding it is a full scan of every alert hash per picture (the PDQ index answers
exactly only within its 31-bit radius), so it is done here after matching and kept in the store
(`store.similarities`), not searched per review request (issue 12: the backlog page ran it per
device per request). The search itself is `triage.match.matcher.nearest_alert`.

When it runs again:
- after matching a device: contents never checked (new ones);
- when the alert lists changed (an import or removal rebuilds the PDQ index): every content,
  because a new list may hold a closer hash for any of them. What the rows were computed
  against (the index's lists and settings, the radius) is the store's `similarity_basis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from triage.match.matcher import MatchConfig, load_index, nearest_alert


@dataclass
class SimilarReport:
    checked: int = 0                # contents searched this time
    found: int = 0                  # of them, with an alert hash within the radius
    all_contents: bool = False      # the lists changed: every content was searched again
    changed: list[int] = field(default_factory=list)  # contents whose closest hash changed

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "found": self.found,
                "all_contents": self.all_contents, "changed": len(self.changed)}


def basis(store: Any, config: MatchConfig, max_distance: int) -> dict[str, Any]:
    """What a similarity is computed against: the alert PDQ index as built now (its lists and
    settings) and the search radius."""
    return {"index": load_index(store, config.settings).info, "max_distance": int(max_distance)}


def record_similar(store: Any, config: MatchConfig, *, max_distance: int,
                   device_id: int | None = None) -> SimilarReport:
    """Search and record the closest alert PDQ (within `max_distance`) of the contents of
    `device_id` (or of the workspace) not checked yet — of every content when the lists changed
    since the recorded rows were made."""
    now = basis(store, config, max_distance)
    stale = store.similarity_basis() != now
    contents = store.contents_to_match(None if stale else device_id)
    with_pdq = [c for c in contents if c["pdq"]]
    before = store.similarity_rows(None if stale else [c["id"] for c in with_pdq])
    todo = with_pdq if stale else [c for c in with_pdq if c["id"] not in before]
    report = SimilarReport(checked=len(todo), all_contents=stale)
    if not todo and not stale:
        return report
    hits = nearest_alert(store, config, [c["pdq"] for c in todo], max_distance=max_distance)
    rows = []
    for c in todo:
        hit = hits.get(c["pdq"])
        row = (hit.distance, hit.hashset, hit.category) if hit else (None, None, None)
        rows.append((int(c["id"]), *row))
        report.found += hit is not None
        if before.get(int(c["id"]), (None, None, None)) != row:
            report.changed.append(int(c["id"]))
    if stale:  # rows of contents that lost their PDQ or no longer exist go too
        kept = {r[0] for r in rows}
        report.changed += [cid for cid, row in before.items() if cid not in kept and row[0]]
    store.save_similarities(now, rows, replace_all=stale)
    return report


def unchecked_count(store: Any, device_id: int) -> int:
    """Contents of the device with a PDQ whose similarity was never recorded (a workspace made
    before similarities were recorded, until its next `triage match`)."""
    with_pdq = [int(c["id"]) for c in store.contents_to_match(device_id) if c["pdq"]]
    return len(with_pdq) - len(store.similarity_rows(with_pdq))


def search_alerts(store: Any, config: MatchConfig, items: Sequence[dict[str, Any]],
                  max_distance: int, min_quality: int) -> dict[int, dict[str, Any]]:
    """content id -> closest alert PDQ within `max_distance`, searched now (no recording).

    The path the queue took per request before the similarities were recorded; kept for
    `scripts/bench_review.py`, which measures the two against each other.
    """
    by_hash: dict[str, list[int]] = {}
    for it in items:
        if it.get("pdq") and (it.get("pdq_quality") or 0) >= min_quality:
            by_hash.setdefault(it["pdq"], []).append(int(it["content_id"]))
    if not by_hash:
        return {}
    out: dict[int, dict[str, Any]] = {}
    for pdq, hit in nearest_alert(store, config, list(by_hash), max_distance).items():
        for cid in by_hash.get(pdq, ()):
            out[cid] = {"distance": int(hit.distance), "hashset": hit.hashset,
                        "category": hit.category}
    return out
