"""The context panel: what a reviewer weighs before deciding, as text.

Every copy of the picture on the device and on the case's other exhibits, its timestamps, its
EXIF, the type its bytes say against the type its name says, its hashes, every list match
(list, method, distance, category), the classifier scores with the model that made them, the
members of its cluster and the queue's reasons in full. The panel shows no picture of its own:
the cluster members' blurred thumbnails appear only once the reviewer has revealed the entry.

A decision whose category still waits for a peer check is shown without its category to anyone
but its own reviewer (the second reviewer must give theirs first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from triage.categories import REVIEW_SCHEMES
from triage.web.context import policy, store

GPS_NOTE = ("present in EXIF; ingest records only that it is there, and no map is drawn"
            " (a map would need map tiles fetched from outside)")


def when(ts: float | None) -> str:
    if ts is None:
        return ""
    try:
        return datetime.fromtimestamp(float(ts), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return str(ts)


def hamming(a: str | None, b: str | None) -> int | None:
    if not a or not b or len(a) != len(b):
        return None
    try:
        return (int(a, 16) ^ int(b, 16)).bit_count()
    except ValueError:
        return None


def category_label(category: str | None) -> str:
    if category is None:
        return ""
    for scheme in REVIEW_SCHEMES.values():
        for _, cat, label in scheme:
            if cat == category:
                return label
    return category


def type_check(files: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Named (extension) vs detected type per distinct pair."""
    seen: dict[tuple[str, str], bool] = {}
    for f in files:
        key = (str(f.get("extension") or ""), str(f.get("detected_type") or "unknown"))
        seen[key] = seen.get(key, False) or bool(f.get("ext_mismatch"))
    return [{"named": n, "detected": d, "mismatch": m} for (n, d), m in sorted(seen.items())]


def context_for(device: Mapping[str, Any], content_id: int, entry: Any | None, *,
                user_id: int, hide_decisions: bool = False) -> dict[str, Any]:
    """The panel's facts for one picture (an entry's representative when `entry` is given).
    `hide_decisions`: the peer-check view, where no earlier category may show."""
    s = store()
    facts = s.content_facts(content_id) or {}
    files = s.content_files(device["id"], content_id)
    for f in files:
        f["mtime_text"], f["atime_text"], f["ctime_text"] = (
            when(f.get("mtime")), when(f.get("atime")), when(f.get("ctime")))
        f["flags"] = [k for k in ("deleted", "unallocated", "carved") if f.get(k)]
    in_case = s.content_in_case(device["id"], content_id)
    for f in in_case:
        f["mtime_text"] = when(f.get("mtime"))
    members: list[dict[str, Any]] = []
    if entry is not None:
        rep_pdq = facts.get("pdq")
        for m in s.entry_member_rows(device["id"], content_id):
            members.append({"content_id": m["content_id"], "path": m["path"],
                            "score": m["score"], "pdq_distance": hamming(rep_pdq, m["pdq"]),
                            "representative": m["content_id"] == content_id})
    hidden = set() if hide_decisions else s.peer_hidden_actions(
        device["id"], user_id, policy().peer_categories)
    decisions = []
    for d in [] if hide_decisions else s.content_decisions(device["id"], content_id):
        masked = hide_decisions or d["action_id"] in hidden
        decisions.append(dict(d, category=None if masked else d["category"],
                              label="awaiting peer check" if masked
                              else category_label(d["category"])))
    case_id = int(device["case_id"])
    return {
        "content_id": content_id, "facts": facts, "files": files, "in_case": in_case,
        "types": type_check(files), "gps_note": GPS_NOTE if facts.get("exif_gps") else None,
        "matches": s.content_matches(content_id),
        "similarity": s.content_similarity(content_id),
        "scores": s.content_scores(content_id),
        "entry": entry, "members": members,
        "decisions": decisions,
        "annotation": s.annotation(case_id, content_id),
        "case_tags": [t for t, _ in s.case_tags(case_id)],
    }
