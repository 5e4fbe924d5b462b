"""The recorded queue: built once, stored, kept current by each decision, read by every page.

Why (issue 12): `build_queue` reads every unseen picture of a device, clusters and scores them.
Per request, each key press in `/api/decide` cost two builds and the backlog page one per
device (scripts/bench_review.py measures both paths). Now:

- the pipeline records a device's queue after classify (the end of ingest), after `triage match`
  and `triage classify`, and after a list import or removal for every device it changed
  (`record_queue`, `refresh_devices`);
- a decision or an undo marks the pictures it changed as pending in its own transaction (the
  store does it, see `triage.store.queue`), and the next reader works out only the entries those
  pictures belong to (`apply_pending`): a picture leaves, the rest of its cluster is clustered
  again; a picture comes back and joins (or merges) the clusters it is near;
- a reader (`RecordedQueue`) builds the queue once if the device never had one recorded (a
  workspace made before this) or the lab changed `config/priority.toml` since.

What is stored is exactly what `build_queue` gives (a test compares them after ingest,
decisions, undo and a list import): the same pictures, clusters, representatives, scores,
reasons, categories and order.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from triage.match.similar import unchecked_count
from triage.queue.build import (AlertSource, Picture, QueueItem, build_queue, entries,
                                pictures, unseen_items)
from triage.queue.video import near_videos
from triage.queue.priority import effective_config
from triage.queue.workload import figures
from triage.signals.pdq_index import codes_from_hex
from triage.store import Store, now_iso

# More pictures than this coming back at once (a list removed) are cheaper to rebuild than to
# place one by one (each is compared with every member: ~0.3 ms at 50 k members).
REBUILD_ABOVE = 2000


def config_sha256(cfg: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()


# -- recording ------------------------------------------------------------------------------
@dataclass
class Recorded:
    device_id: int
    entries: int
    unseen: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "unseen_pictures": self.unseen, "reason": self.reason}


def record_queue(store: Store, device_id: int, cfg: Mapping[str, Any] | None,
                 reason: str) -> Recorded:
    """Build the device's queue and store it in place of the one recorded before.

    Built outside the store's write lock (a 50 k-picture device takes ~10 s; decisions made
    meanwhile must not wait for it): a decision made while it reads stays pending and is
    applied after it (`save_queue`)."""
    cfg = effective_config(cfg)
    before = store.queue_build(device_id)
    started = None if before is None else int(before["generation"])
    mark = store.queue_pending_mark()
    pics = pictures(store, unseen_items(store, device_id), cfg)
    built = entries(pics, cfg)
    entry_rows, member_rows = _rows(built)
    store.save_queue(device_id, entry_rows, member_rows, reason=reason,
                     config_sha256=config_sha256(cfg),
                     built_from=_built_from(store, device_id, pics, len(built)),
                     now=now_iso(), mark=mark, hashes=_hash_blob(pics, cfg), started=started)
    return Recorded(device_id, len(built), len(pics), reason)


def _built_from(store: Store, device_id: int, pics: Sequence[Picture], n: int) -> dict[str, Any]:
    """What the queue was built from, for `triage queue --json`'s build record and audits."""
    return {"unseen_pictures": len(pics), "entries": n,
            "lists": [{"name": h["name"], "kind": h["kind"], "sha256": h["source_sha256"]}
                      for h in store.hashsets()],
            "models": store.queue_models(device_id),
            "similarity_basis": store.similarity_basis(),
            "similarities_unchecked": unchecked_count(store, device_id)}


def _rows(built: Sequence[tuple[QueueItem, list[Picture]]]
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entry_rows, member_rows = [], []
    for item, members in built:
        entry_rows.append({k: getattr(item, k) for k in (
            "content_id", "score", "reasons", "cluster_size", "category", "path", "sha256",
            "derivative", "kind")})
        member_rows += [_member_row(m, item.content_id) for m in members]
    return entry_rows, member_rows


def _member_row(p: Picture, entry_id: int) -> dict[str, Any]:
    return {"content_id": p.content_id, "entry_id": entry_id, "score": p.score,
            "parts": [list(x) for x in p.parts], "near_category": p.near_category,
            "path": p.path, "sha256": p.sha256, "derivative": p.derivative, "pdq": p.pdq,
            "pdq_quality": p.pdq_quality, "phash": p.phash, "kind": p.kind, "frames": p.frames,
            "duration": p.duration}


def _picture(row: Mapping[str, Any]) -> Picture:
    return Picture(content_id=int(row["content_id"]), sha256=row["sha256"],
                   derivative=row["derivative"], path=row["path"], pdq=row["pdq"],
                   pdq_quality=row["pdq_quality"], phash=row["phash"], score=float(row["score"]),
                   parts=[(float(c), str(r)) for c, r in row["parts"]],
                   near_category=row["near_category"], kind=row.get("kind") or "image",
                   frames=tuple(row.get("frames") or ()), duration=row.get("duration"))


# -- keeping it current ---------------------------------------------------------------------
def apply_pending(store: Store, device_id: int, cfg: Mapping[str, Any] | None) -> bool:
    """Work the pending changes into the device's recorded queue. True if an entry changed.

    For each pending picture, its state now (unseen or not, and its own score) is compared with
    the member row: one that left takes its entry to be clustered again without it; one whose
    score changed (a re-match, a new model score) re-ranks its entry; one that came back (an
    undo, a list removed) joins the entries of the members within the cluster distance, which
    are clustered again with it. Entries nothing touched stay as stored.
    """
    cfg = effective_config(cfg)
    with store.transaction():
        ids, mark = store.queue_pending(device_id)
        if ids == []:
            return False
        fresh = {p.content_id: p for p in pictures(
            store, unseen_items(store, device_id, ids), cfg)}
        stored = {m["content_id"]: m for m in store.queue_member_rows(device_id,
                                                                      content_ids=ids)}
        rework: set[int] = set()
        dropped: set[int] = set()
        updated: dict[int, Picture] = {}
        back: list[Picture] = []
        for cid in sorted(set(fresh) | set(stored)):
            old, new = stored.get(cid), fresh.get(cid)
            if old is not None and new is None:
                dropped.add(cid)
                rework.add(int(old["entry_id"]))
            elif old is not None and new is not None:
                if _picture(old) != new:
                    updated[cid] = new
                    rework.add(int(old["entry_id"]))
            elif new is not None:
                back.append(new)
        if not rework and not back:
            store.clear_queue_pending(device_id, mark)
            return False
        if len(back) > REBUILD_ABOVE:
            record_queue(store, device_id, cfg, "update")
            return True
        joined: list[int] = []
        if back:
            near, joined = _entries_near(store, device_id, back, cfg)
            rework |= near
        group = [updated.get(int(m["content_id"])) or _picture(m)
                 for m in store.queue_member_rows(device_id, entry_ids=sorted(rework))
                 if int(m["content_id"]) not in dropped] + back
        built = entries(group, cfg)
        entry_rows, member_rows = _rows(built)
        store.update_queue(device_id, drop_entries=rework, entries=entry_rows,
                           drop_members=dropped, members=member_rows, mark=mark, now=now_iso(),
                           joined=joined)
    return True


def _good(p: Picture | Mapping[str, Any], min_q: int) -> bool:
    pdq, q = (p.pdq, p.pdq_quality) if isinstance(p, Picture) else (p["pdq"], p["pdq_quality"])
    return bool(pdq) and (q or 0) >= min_q


def _hash_blob(pics: Sequence[Picture], cfg: Mapping[str, Any]) -> bytes:
    """The members' hashes as arrays (PDQ of the pictures `clusters` compares by PDQ, pHash of
    the others), so a picture coming back is compared with all of them in one numpy pass
    (reading 50 k member rows instead took ~100 ms)."""
    min_q = int(cfg.get("cluster", {}).get("min_pdq_quality", 50))
    good = [p for p in pics if _good(p, min_q)]
    rest = [p for p in pics if not _good(p, min_q) and p.phash]
    buf = io.BytesIO()
    np.savez(buf, good_ids=np.array([p.content_id for p in good], dtype=np.int64),
             good=_codes([p.pdq for p in good], "pdq"),  # type: ignore[misc]
             rest_ids=np.array([p.content_id for p in rest], dtype=np.int64),
             rest=_codes([p.phash for p in rest], "phash"))  # type: ignore[misc]
    return buf.getvalue()


def _entries_near(store: Store, device_id: int, back: Sequence[Picture],
                  cfg: Mapping[str, Any]) -> tuple[set[int], list[int]]:
    """(entries holding a member within the cluster distance of a picture coming back, the
    pictures coming back that are not in the build's hashes). The same rule as `clusters`:
    PDQ between pictures whose PDQ is good enough, else pHash."""
    ccfg = cfg.get("cluster", {})
    min_q = int(ccfg.get("min_pdq_quality", 50))
    blob, joined_rows = store.queue_hashes(device_id)
    arrays = np.load(io.BytesIO(blob)) if blob else None
    candidates: set[int] = set()
    known: set[int] = set()
    for key, good, limit in (("pdq", True, int(ccfg.get("pdq_distance", 31))),
                             ("phash", False, int(ccfg.get("phash_distance", 4)))):
        pics = [p for p in back if _good(p, min_q) == good and getattr(p, key)]
        if not pics:
            continue
        name = "good" if good else "rest"
        ids = arrays[f"{name}_ids"] if arrays is not None else np.zeros(0, dtype=np.int64)
        codes = arrays[name] if arrays is not None else np.zeros((0, 1), dtype=np.uint64)
        known.update(int(i) for i in ids[np.isin(ids, [p.content_id for p in pics])])
        extra = [m for m in joined_rows if _good(m, min_q) == good and m[key]]
        if extra:
            ids = np.concatenate([ids, np.array([m["content_id"] for m in extra],
                                                dtype=np.int64)])
            more = _codes([m[key] for m in extra], key)
            codes = np.concatenate([codes.reshape(-1, more.shape[1]), more])
        if not len(ids):
            continue
        for p in pics:
            q = _codes([getattr(p, key)], key)[0]
            near = np.bitwise_count(codes ^ q).sum(axis=1) <= limit
            candidates.update(int(i) for i in ids[near])
    back_videos = [p for p in back if p.kind == "video"]
    if back_videos:
        stored = [_picture(m) for m in store.queue_member_rows(device_id)
                  if m.get("kind") == "video"]
        candidates |= near_videos(back_videos, stored)
        known.update(p.content_id for p in back_videos)  # videos are not in the hash blob
    candidates -= {p.content_id for p in back}
    entries_near = {int(m["entry_id"]) for m in store.queue_member_rows(
        device_id, content_ids=sorted(candidates))} if candidates else set()
    return entries_near, [p.content_id for p in back if p.content_id not in known]


def _codes(hexes: Sequence[str], key: str) -> np.ndarray:
    if key == "pdq":
        return codes_from_hex(list(hexes))
    if not hexes:
        return np.zeros((0, 1), dtype=np.uint64)
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=">u8")
    return raw.reshape(len(hexes), -1).astype(np.uint64)


def ensure(store: Store, device_id: int, cfg: Mapping[str, Any] | None) -> None:
    """Before reading: build the queue if none is recorded (or the priority config changed
    since), then apply what is pending."""
    cfg = effective_config(cfg)
    build = store.queue_build(device_id)
    if build is None:
        record_queue(store, device_id, cfg, "first read")
    elif build["config_sha256"] != config_sha256(cfg):
        record_queue(store, device_id, cfg, "config/priority.toml changed")
    else:
        apply_pending(store, device_id, cfg)


def refresh_devices(store: Store, cfg: Mapping[str, Any] | None,
                    device_ids: Sequence[int] | None = None) -> list[int]:
    """After something may have changed any content (a list import or removal): compare every
    recorded device's queue with its pictures now and update those that differ. Returns the
    devices whose queue changed."""
    targets = store.recorded_queue_devices() if device_ids is None else list(device_ids)
    store.mark_queue_all_pending(targets)
    return [d for d in targets if apply_pending(store, d, cfg)]


# -- reading --------------------------------------------------------------------------------
class QueueView(Protocol):
    """What the review pages, the CLI and the backlog read from a device's queue."""

    def refresh(self) -> None: ...
    def count(self) -> int: ...
    def unseen(self) -> int: ...
    def page(self, offset: int = 0, limit: int | None = None) -> list[QueueItem]: ...
    def entry(self, content_id: int) -> QueueItem | None: ...
    def position(self, item: QueueItem) -> int: ...
    def next_free(self, user_id: int, now: str, after: QueueItem | None = None,
                  backwards: bool = False) -> int | None: ...


class RecordedQueue:
    """The stored queue of one device (built on first read, pending changes applied)."""

    def __init__(self, store: Store, device_id: int, cfg: Mapping[str, Any] | None) -> None:
        self.store, self.device_id, self.cfg = store, device_id, cfg
        ensure(store, device_id, cfg)

    def refresh(self) -> None:
        """After a change through the store (a decision): apply it."""
        ensure(self.store, self.device_id, self.cfg)

    def count(self) -> int:
        return self.store.queue_counts(self.device_id)[0]

    def unseen(self) -> int:
        return self.store.queue_counts(self.device_id)[1]

    def page(self, offset: int = 0, limit: int | None = None) -> list[QueueItem]:
        return self._items(self.store.queue_entries(self.device_id, offset, limit))

    def entry(self, content_id: int) -> QueueItem | None:
        row = self.store.queue_entry(self.device_id, content_id)
        return self._items([row])[0] if row else None

    def position(self, item: QueueItem) -> int:
        return self.store.queue_position(self.device_id, _key(item))

    def next_free(self, user_id: int, now: str, after: QueueItem | None = None,
                  backwards: bool = False) -> int | None:
        return self.store.queue_next_free(self.device_id, user_id, now,
                                          _key(after) if after else None, backwards=backwards)

    def _items(self, rows: Sequence[dict[str, Any]]) -> list[QueueItem]:
        members = self.store.queue_members(self.device_id, [r["content_id"] for r in rows])
        return [QueueItem(content_id=r["content_id"], sha256=r["sha256"], path=r["path"],
                          derivative=r["derivative"], score=r["score"], reasons=r["reasons"],
                          cluster_size=r["cluster_size"],
                          member_content_ids=members[r["content_id"]], category=r["category"],
                          kind=r.get("kind") or "image")
                for r in rows]


class BuiltQueue:
    """The queue built now, per request: the path before the queue was recorded, kept so that
    `scripts/bench_review.py` can measure the two side by side (the web app's
    `TRIAGE_QUEUE = "per-request"`, `Pipeline.open_queue(per_request=True)`)."""

    def __init__(self, store: Store, device_id: int, cfg: Mapping[str, Any] | None,
                 alerts: AlertSource | None = None) -> None:
        self.store, self.device_id, self.cfg, self.alerts = store, device_id, cfg, alerts
        self.refresh()

    def refresh(self) -> None:
        self.items = build_queue(self.store, self.device_id, effective_config(self.cfg),
                                 self.alerts)
        self._at = {q.content_id: i for i, q in enumerate(self.items)}

    def count(self) -> int:
        return len(self.items)

    def unseen(self) -> int:
        return sum(q.cluster_size for q in self.items)

    def page(self, offset: int = 0, limit: int | None = None) -> list[QueueItem]:
        return self.items[offset: None if limit is None else offset + limit]

    def entry(self, content_id: int) -> QueueItem | None:
        i = self._at.get(content_id)
        return None if i is None else self.items[i]

    def position(self, item: QueueItem) -> int:
        return self._at[item.content_id] + 1

    def next_free(self, user_id: int, now: str, after: QueueItem | None = None,
                  backwards: bool = False) -> int | None:
        taken = {cid for cid, k in self.store.live_claims(self.device_id, now).items()
                 if k["user_id"] != user_id}
        start = self._at[after.content_id] if after is not None else (
            len(self.items) if backwards else -1)
        step = -1 if backwards else 1
        i = start + step
        while 0 <= i < len(self.items):
            if self.items[i].content_id not in taken:
                return self.items[i].content_id
            i += step
        return None


def _key(item: QueueItem) -> dict[str, Any]:
    return {"score": item.score, "content_id": item.content_id}


def recorded_items(store: Store, device_id: int, cfg: Mapping[str, Any] | None
                   ) -> list[QueueItem]:
    """The whole recorded queue in rank order."""
    return RecordedQueue(store, device_id, cfg).page()


def workload(store: Store, device_id: int, cfg: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:
    """Queue entries, the unseen pictures they stand for, and the review hours left."""
    ensure(store, device_id, cfg)
    entries_n, unseen = store.queue_counts(device_id)
    return figures(entries_n, unseen, cfg, store.queue_video_seconds(device_id))


def review_hours_left(store: Store, device_id: int, cfg: Mapping[str, Any] | None = None
                      ) -> float:
    return float(workload(store, device_id, cfg)["hours_left"])
