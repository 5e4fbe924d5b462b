"""The review queue of a device: unseen pictures, bursts collapsed, highest priority first.

Why collapse bursts: a phone often holds ten near-identical frames of one scene. Showing each
costs ten looks (ten exposures) for one decision; one entry with its size costs one, and the
reviewer's decision can be applied to the whole cluster. Near-identical means PDQ within the
match threshold (<= 31 bits), or pHash within a few bits when PDQ quality is too low to trust.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from triage.signals.pdq_index import PdqIndex, codes_from_hex
from triage.queue.groups import Groups
from triage.queue.priority import Scored, in_cache, priority_config, score_picture, with_cluster
from triage.queue.video import score_video, video_groups
from triage.store import Store

# items (rows of `store.unseen_pictures`) -> content id -> closest alert-list PDQ
# ({distance, hashset, category}) within range.
SMALL = 256  # clusters() compares every pair below this many pictures

AlertSource = Callable[[Sequence[dict[str, Any]]], dict[int, dict[str, Any]]]


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
    kind: str = "image"    # image | video (a video entry's copies are its members)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Picture:
    """One unseen picture as the queue weighs it: what clusters it (its hashes) and what its
    own score is made of. The recorded queue keeps one per member (`store.queue_members`), so
    an entry is worked out again from these alone when a decision changes it."""

    content_id: int
    sha256: str
    derivative: str | None
    path: str                          # the copy shown for it (`_display_path`)
    pdq: str | None
    pdq_quality: int | None
    phash: str | None
    score: float                       # its own score, without the cluster's part
    parts: list[tuple[float, str]]     # (contribution, reason), in `Scored.parts` order
    near_category: str | None          # category of its closest near (PDQ) candidate match
    kind: str = "image"                # image | video
    frames: tuple[str, ...] = ()       # a video's kept frames' PDQ (copies cluster by them)
    duration: float | None = None      # a video's seconds

    @property
    def scored(self) -> Scored:
        return Scored(self.score, [r for _, r in self.parts if r], list(self.parts))

    @property
    def hashes(self) -> dict[str, Any]:
        return {"pdq": self.pdq, "pdq_quality": self.pdq_quality, "phash": self.phash}


def build_queue(store: Store, device_id: int, config: dict[str, Any] | None = None,
                alerts: AlertSource | None = None) -> list[QueueItem]:
    """The device's queue computed now from the store (the recorded queue is this, stored).

    `alerts`: where "looks like known material" comes from; by default the similarities
    recorded at match time (`triage.match.similar`).
    """
    cfg = config if config is not None else priority_config()
    pics = pictures(store, unseen_items(store, device_id), cfg, alerts)
    queue = [item for item, _ in entries(pics, cfg)]
    queue.sort(key=lambda q: (-q.score, q.content_id))
    return queue


def unseen_items(store: Store, device_id: int, content_ids: Sequence[int] | None = None
                 ) -> list[dict[str, Any]]:
    """The device's unseen pictures and videos (of `content_ids` when given)."""
    return (store.unseen_pictures(device_id, content_ids)
            + store.unseen_videos(device_id, content_ids))


def pictures(store: Store, items: Sequence[dict[str, Any]], cfg: dict[str, Any],
             alerts: AlertSource | None = None) -> list[Picture]:
    """Score each unseen picture (or video) on its own (classifier, similarity, EXIF, paths)."""
    if not items:
        return []
    ids = [int(i["content_id"]) for i in items]
    scores = store.classification_scores(ids)
    found = (alerts or recorded_alerts(store, cfg))(items)
    near = store.near_match_categories(ids)
    videos = [cid for cid, i in zip(ids, items) if i.get("kind") == "video"]
    frame_scores = store.frame_scores(videos) if videos else {}
    video_matches = store.video_matches(videos) if videos else {}
    out = []
    for item in items:
        cid = int(item["content_id"])
        if item.get("kind") == "video":
            s = score_video(item, cfg, scores.get(cid), frame_scores.get(cid),
                            video_matches.get(cid, []))
        else:
            alert = found.get(cid)
            if alert is None and near.get(cid, {}).get("distance") is not None:
                alert = near[cid]  # else the near match recorded by matching
            s = score_picture(item, cfg, scores.get(cid), alert)
        out.append(Picture(
            content_id=cid, sha256=item["sha256"], derivative=item["derivative"],
            path=_display_path(item["paths"], cfg), pdq=item.get("pdq"),
            pdq_quality=item.get("pdq_quality"), phash=item.get("phash"), score=s.score,
            parts=[(float(c), str(r)) for c, r in s.parts],
            near_category=near[cid].get("category") if cid in near else None,
            kind=str(item.get("kind") or "image"), frames=tuple(item.get("frames") or ()),
            duration=item.get("duration")))
    return out


def entries(pics: Sequence[Picture], cfg: dict[str, Any]
            ) -> list[tuple[QueueItem, list[Picture]]]:
    """Cluster pictures into entries: the best-scored member represents the cluster and carries
    the cluster's weight. Unordered (callers sort by (-score, content_id))."""
    out = []
    stills = [p for p in pics if p.kind != "video"]
    videos = [p for p in pics if p.kind == "video"]
    groups = [[stills[i] for i in g] for g in clusters([p.hashes for p in stills], cfg)]
    groups += [[videos[i] for i in g] for g in video_groups(videos)]
    for members in groups:
        rep = max(members, key=lambda m: (m.score, -m.content_id))
        total = with_cluster(rep.scored, len(members), cfg)
        out.append((QueueItem(
            content_id=rep.content_id, sha256=rep.sha256, path=rep.path,
            derivative=rep.derivative, score=total.score, reasons=total.reasons,
            cluster_size=len(members), member_content_ids=sorted(m.content_id for m in members),
            category=entry_category(members), kind=rep.kind), members))
    return out


def entry_category(members: Sequence[Picture]) -> str | None:
    """The category an entry shows: that of the lowest-numbered member whose closest near match
    carries one. The one place the queue decides it (the recorded queue calls this too)."""
    return next((m.near_category for m in sorted(members, key=lambda m: m.content_id)
                 if m.near_category), None)


def recorded_alerts(store: Store, cfg: dict[str, Any]) -> AlertSource:
    """Similarities recorded at match time, within this config's range and PDQ quality."""
    min_q = int(cfg.get("cluster", {}).get("min_pdq_quality", 50))
    far = int(cfg.get("similarity", {}).get("max_distance", 70))

    def source(items: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        ids = [int(it["content_id"]) for it in items
               if it.get("pdq") and (it.get("pdq_quality") or 0) >= min_q]
        return {cid: hit for cid, hit in store.similarities(ids).items()
                if hit["distance"] <= far}

    return source


def clusters(items: Sequence[dict[str, Any]], cfg: dict[str, Any]) -> list[list[int]]:
    """Groups of indexes into `items` that are near-identical (union of close pairs)."""
    ccfg = cfg.get("cluster", {})
    groups = Groups(len(items))

    def union(idx: list[int], pairs: Sequence[tuple[int, int]]) -> None:
        for a, b in pairs:
            groups.join(idx[a], idx[b])

    min_q = int(ccfg.get("min_pdq_quality", 50))
    good = [i for i, it in enumerate(items) if it.get("pdq") and (it.get("pdq_quality") or 0) >= min_q]
    good_set = set(good)
    rest = [i for i, it in enumerate(items) if i not in good_set and it.get("phash")]
    if good:
        hexes, limit = [items[i]["pdq"] for i in good], int(ccfg.get("pdq_distance", 31))
        # A few pictures (an entry worked out again after a decision): every pair is cheaper
        # than building the index (measured 2 ms vs 6 ms at 200, and no JIT load).
        union(good, _close_pairs(_codes(hexes), limit) if len(hexes) <= SMALL
              else pdq_close_pairs(hexes, limit))
    if rest:
        union(rest, _close_pairs(_codes([items[i]["phash"] for i in rest]),
                                 int(ccfg.get("phash_distance", 4))))
    return groups.groups()


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


def _display_path(paths: Sequence[str], cfg: dict[str, Any]) -> str:
    """The copy a reviewer would recognise: outside caches first, then the shortest."""
    return min(paths, key=lambda p: (int(in_cache(p, cfg)), len(p), p))
