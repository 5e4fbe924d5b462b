"""The review queue of a device: unseen pictures, bursts collapsed, highest priority first.

Why collapse bursts: a phone often holds ten near-identical frames of one scene. Showing each
costs ten looks (ten exposures) for one decision; one entry with its size costs one, and the
reviewer's decision can be applied to the whole cluster. Near-identical means PDQ within the
match threshold (<= 31 bits), or pHash within a few bits when PDQ quality is too low to trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from triage.match.matcher import MatchConfig, nearest_alert
from triage.signals.pdq_index import PdqIndex, codes_from_hex
from triage.queue.priority import Scored, in_cache, priority_config, score_picture, with_cluster
from triage.store import Store


@dataclass
class QueueItem:
    content_id: int        # the representative of the cluster
    sha256: str
    path: str              # one file path on the device holding it (for display)
    derivative: str | None  # contents.derivative
    score: float           # 0..1+ priority, higher first
    reasons: list[str]     # human readable, e.g. "classifier 0.97", "camera EXIF Canon"
    cluster_size: int      # how many near-identical unseen pictures it stands for
    member_content_ids: list[int]  # every content id in the cluster (incl. representative)
    category: str | None   # known category when matched near, else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_queue(store: Store, device_id: int, config: dict[str, Any] | None = None
                ) -> list[QueueItem]:
    cfg = config if config is not None else priority_config()
    items = store.unseen_pictures(device_id)
    if not items:
        return []
    ids = [int(i["content_id"]) for i in items]
    scores = store.classification_scores(ids)
    alerts = _nearest_alerts(store, items, cfg)
    near = store.near_match_categories(ids)
    scored: list[Scored] = []
    for item in items:
        cid = int(item["content_id"])
        alert = alerts.get(cid)
        if alert is None and cid in near:  # else the near match recorded by matching
            alert = near[cid]
        scored.append(score_picture(item, cfg, scores.get(cid), alert))
    queue: list[QueueItem] = []
    for members in clusters(items, cfg):
        rep = max(members, key=lambda m: (scored[m].score, -int(items[m]["content_id"])))
        total = with_cluster(scored[rep], len(members), cfg)
        item = items[rep]
        member_ids = sorted(int(items[m]["content_id"]) for m in members)
        category = next((near[c]["category"] for c in member_ids if c in near
                         and near[c].get("category")), None)
        queue.append(QueueItem(
            content_id=int(item["content_id"]), sha256=item["sha256"],
            path=_display_path(item["paths"], cfg), derivative=item["derivative"],
            score=total.score, reasons=total.reasons, cluster_size=len(members),
            member_content_ids=member_ids, category=category))
    queue.sort(key=lambda q: (-q.score, q.content_id))
    return queue


def review_hours_left(store: Store, device_id: int, config: dict[str, Any] | None = None
                      ) -> float:
    """Human review time still needed: queue entries x seconds per entry (config)."""
    return workload(store, device_id, config)["hours_left"]


def workload(store: Store, device_id: int, config: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    cfg = config if config is not None else priority_config()
    queue = build_queue(store, device_id, cfg)
    per_item = float(cfg.get("workload", {}).get("seconds_per_item", 4.0))
    return {"queue_entries": len(queue),
            "unseen_pictures": sum(q.cluster_size for q in queue),
            "seconds_per_item": per_item,
            "hours_left": round(len(queue) * per_item / 3600, 2)}


def clusters(items: Sequence[dict[str, Any]], cfg: dict[str, Any]) -> list[list[int]]:
    """Groups of indexes into `items` that are near-identical (union of close pairs)."""
    ccfg = cfg.get("cluster", {})
    n = len(items)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(idx: list[int], pairs: Sequence[tuple[int, int]]) -> None:
        for a, b in pairs:
            ra, rb = find(idx[a]), find(idx[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

    min_q = int(ccfg.get("min_pdq_quality", 50))
    good = [i for i, it in enumerate(items) if it.get("pdq") and (it.get("pdq_quality") or 0) >= min_q]
    good_set = set(good)
    rest = [i for i, it in enumerate(items) if i not in good_set and it.get("phash")]
    if good:
        union(good, pdq_close_pairs([items[i]["pdq"] for i in good],
                                    int(ccfg.get("pdq_distance", 31))))
    if rest:
        union(rest, _close_pairs(_codes([items[i]["phash"] for i in rest]),
                                 int(ccfg.get("phash_distance", 4))))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def pdq_close_pairs(hexes: Sequence[str], limit: int) -> list[tuple[int, int]]:
    """Index pairs (a < b) of PDQ hashes within `limit` bits.

    Why the hash-list index: comparing every pair is quadratic (measured ~160 s for 50 k
    unseen pictures on one core); the exact multi-index search the matcher uses for national
    lists answers the same pairs in a fraction of that.
    """
    codes = codes_from_hex(list(hexes))
    index = PdqIndex.build(codes, np.zeros((len(codes), 1), dtype=np.int64), radius=limit)
    return [(a, b) for a, hits in enumerate(index.range_search(codes, limit))
            for b, _ in hits if a < b]


def _codes(hexes: Sequence[str]) -> np.ndarray:
    """Hex hashes as rows of uint64 words (PDQ: 4 words, pHash: 1)."""
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=">u8")
    return raw.reshape(len(hexes), -1).astype(np.uint64)


def _close_pairs(codes: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Index pairs (a < b) within `limit` bits by comparing every pair, upper triangle only.

    In blocks so memory stays ~100 MB at any size. Used for the 64-bit pHash of pictures too
    flat for PDQ, usually few; 50 k of them take ~10 s.
    """
    n = len(codes)
    out: list[tuple[int, int]] = []
    step = max(1, (1 << 22) // max(1, n * codes.shape[1]))
    for start in range(0, n, step):
        block = codes[start : start + step]
        dist = np.bitwise_count(block[:, None, :] ^ codes[None, start:, :]).sum(axis=2)
        a, b = np.nonzero(dist <= limit)
        keep = a < b
        out.extend(zip((a[keep] + start).tolist(), (b[keep] + start).tolist()))
    return out


def _nearest_alerts(store: Store, items: Sequence[dict[str, Any]], cfg: dict[str, Any]
                    ) -> dict[int, dict[str, Any]]:
    """content_id -> closest alert-list PDQ within range."""
    min_q = int(cfg.get("cluster", {}).get("min_pdq_quality", 50))
    far = int(cfg.get("similarity", {}).get("max_distance", 70))
    by_hash: dict[str, list[int]] = {}
    for it in items:
        if it.get("pdq") and (it.get("pdq_quality") or 0) >= min_q:
            by_hash.setdefault(it["pdq"], []).append(int(it["content_id"]))
    if not by_hash:
        return {}
    # Until similarities are recorded at match time (the recorded queue), they are searched here.
    from triage.workspace import Workspace

    config = MatchConfig.from_workspace(Workspace(store.path.parent))
    found = nearest_alert(store, config, list(by_hash), max_distance=far)
    out: dict[int, dict[str, Any]] = {}
    for pdq, hit in found.items():
        for cid in by_hash.get(pdq, ()):
            out[cid] = {"distance": int(hit.distance), "hashset": hit.hashset,
                        "category": hit.category}
    return out


def _display_path(paths: Sequence[str], cfg: dict[str, Any]) -> str:
    """The copy a reviewer would recognise: outside caches first, then the shortest."""
    return min(paths, key=lambda p: (int(in_cache(p, cfg)), len(p), p))
