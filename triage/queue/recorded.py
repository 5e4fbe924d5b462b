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
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from triage.match.similar import unchecked_count
from triage.queue.build import (AlertSource, Picture, QueueItem, build_queue, entries,
                                pictures)
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

    Under the store's write lock from the first read to the last write, so a decision made
    meanwhile waits for it (a 50 k-picture device takes ~2 s) instead of being lost under a
    queue built from the state before it.
    """
    cfg = effective_config(cfg)
    with store.transaction():
        mark = store.queue_pending_mark()
        pics = pictures(store, store.unseen_pictures(device_id), cfg)
        built = entries(pics, cfg)
        entry_rows, member_rows = _rows(built)
        store.save_queue(device_id, entry_rows, member_rows, reason=reason,
                         config_sha256=config_sha256(cfg),
                         built_from=_built_from(store, device_id, pics, len(built)),
                         now=now_iso(), mark=mark)
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
            "derivative")})
        member_rows += [_member_row(m, item.content_id) for m in members]
    return entry_rows, member_rows


def _member_row(p: Picture, entry_id: int) -> dict[str, Any]:
    return {"content_id": p.content_id, "entry_id": entry_id, "score": p.score,
            "parts": [list(x) for x in p.parts], "near_category": p.near_category,
            "path": p.path, "sha256": p.sha256, "derivative": p.derivative, "pdq": p.pdq,
            "pdq_quality": p.pdq_quality, "phash": p.phash}


def _picture(row: Mapping[str, Any]) -> Picture:
    return Picture(content_id=int(row["content_id"]), sha256=row["sha256"],
                   derivative=row["derivative"], path=row["path"], pdq=row["pdq"],
                   pdq_quality=row["pdq_quality"], phash=row["phash"], score=float(row["score"]),
                   parts=[(float(c), str(r)) for c, r in row["parts"]],
                   near_category=row["near_category"])


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
            store, store.unseen_pictures(device_id, ids), cfg)}
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
        if back:
            rework |= _entries_near(store, device_id, back, cfg)
        group = [updated.get(int(m["content_id"])) or _picture(m)
                 for m in store.queue_member_rows(device_id, entry_ids=sorted(rework))
                 if int(m["content_id"]) not in dropped] + back
        built = entries(group, cfg)
        entry_rows, member_rows = _rows(built)
        store.update_queue(device_id, drop_entries=rework, entries=entry_rows,
                           drop_members=dropped, members=member_rows, mark=mark, now=now_iso())
    return True


def _entries_near(store: Store, device_id: int, back: Sequence[Picture],
                  cfg: Mapping[str, Any]) -> set[int]:
    """Entries holding a member within the cluster distance of a picture coming back, by the
    same rule as `clusters`: PDQ between pictures whose PDQ is good enough, else pHash."""
    ccfg = cfg.get("cluster", {})
    min_q = int(ccfg.get("min_pdq_quality", 50))
    rows = store.queue_member_hashes(device_id)
    good = [r for r in rows if r[2] and (r[3] or 0) >= min_q]
    rest = [r for r in rows if not (r[2] and (r[3] or 0) >= min_q) and r[4]]
    out: set[int] = set()
    for pics, members, key, limit in (
            ([p for p in back if p.pdq and (p.pdq_quality or 0) >= min_q], good, "pdq",
             int(ccfg.get("pdq_distance", 31))),
            ([p for p in back if not (p.pdq and (p.pdq_quality or 0) >= min_q) and p.phash],
             rest, "phash", int(ccfg.get("phash_distance", 4)))):
        if not pics or not members:
            continue
        column = 2 if key == "pdq" else 4
        codes = _codes([m[column] for m in members], key)
        owners = np.array([m[1] for m in members], dtype=np.int64)
        for p in pics:
            q = _codes([getattr(p, key)], key)[0]
            near = np.bitwise_count(codes ^ q).sum(axis=1) <= limit
            out.update(int(e) for e in np.unique(owners[near]))
    return out


def _codes(hexes: Sequence[str], key: str) -> np.ndarray:
    if key == "pdq":
        return codes_from_hex(list(hexes))
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
        self.store, self.device_id = store, device_id
        ensure(store, device_id, cfg)

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
                          member_content_ids=members[r["content_id"]], category=r["category"])
                for r in rows]


class BuiltQueue:
    """The queue built now, per request: the path before the queue was recorded, kept so that
    `scripts/bench_review.py` can measure the two side by side (the web app's
    `TRIAGE_QUEUE = "per-request"`, `Pipeline.open_queue(per_request=True)`)."""

    def __init__(self, store: Store, device_id: int, cfg: Mapping[str, Any] | None,
                 alerts: AlertSource | None = None) -> None:
        self.store, self.device_id = store, device_id
        self.items = build_queue(store, device_id, effective_config(cfg), alerts)
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
    return figures(entries_n, unseen, cfg)


def review_hours_left(store: Store, device_id: int, cfg: Mapping[str, Any] | None = None
                      ) -> float:
    return float(workload(store, device_id, cfg)["hours_left"])
