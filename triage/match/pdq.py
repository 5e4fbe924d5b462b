"""The PDQ matcher: near matches of every hashed frame's PDQ (and its rotations/flips) against
the alert lists' PDQ hashes, through the exact multi-index search (`triage.signals.pdq_index`).

Near PDQ matches against alert lists are *candidates* (near=1): they carry the distance, the
frame that matched and the list's category for a person to confirm, and never categorise by
themselves. Every frame ingest hashed is a query (a known picture hidden as frame 7 of an
animated GIF is found, and the match says frame 7).

Dihedral variants: ingest stored the PDQ of each frame as decoded. A mirrored or rotated copy
of a listed picture is 100+ bits away from it, so the 8 rotations/flips are hashed from the
frame's stored derivative (the upright <= 512 px JPEG ingest made from its single decode), never
from the evidence again. They are computed once per frame and kept in `content_pdq_variants`,
and only when some alert list holds PDQ hashes. The plain PDQ (method 'pdq') remains the one
from ingest, so its recall is exactly that of the index.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from triage.match.base import Found, MatchJob
from triage.progress import progress_bar
from triage.signals import SIGNALS
from triage.signals.pdq import pdq_dihedral_hex
from triage.signals.pdq_index import PdqIndex, codes_from_bytes, codes_from_hex
from triage.store.core import is_disk_full

if TYPE_CHECKING:
    from triage.match.matcher import MatchConfig, Settings

INDEX_DIR = "pdq-index"


@dataclass
class NearestAlert:
    distance: int
    hashset: str
    category: str | None


# -- the PDQ index ------------------------------------------------------------------------
def _index_info(lists: list[dict[str, Any]], settings: "Settings") -> dict[str, Any]:
    """What the index was built from. `lists` are the alert lists holding PDQ hashes
    (`store.alert_pdq_lists()`), so a list without PDQ (an md5 list) never makes it stale."""
    return {"lists": {str(h["id"]): h["source_sha256"] for h in lists},
            "min_quality": settings.min_quality, "radius": settings.threshold}


def rebuild_index(store: Any, settings: "Settings") -> PdqIndex:
    """Index every PDQ of every alert list (quality >= min_quality), and persist it."""
    lists = store.alert_pdq_lists()
    codes: list[np.ndarray] = []
    metas: list[np.ndarray] = []
    for h in lists:
        for batch in store.list_signal_batches(h["id"], "pdq"):
            keep = [b for b in batch if b[2] is None or b[2] >= settings.min_quality]
            if not keep:
                continue
            codes.append(codes_from_bytes([b[1] for b in keep]))
            metas.append(np.array([(h["id"], b[0]) for b in keep], dtype=np.int64))
    all_codes = np.concatenate(codes) if codes else np.zeros((0, 4), dtype=np.uint64)
    meta = np.concatenate(metas) if metas else np.zeros((0, 2), dtype=np.int64)
    index_class = SIGNALS.get("pdq").index
    index = index_class.build(all_codes, meta, settings.threshold, _index_info(lists, settings))
    try:
        index.save(store.hashlib_dir / INDEX_DIR)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        # The saved index is only a cache: on a full disk the one just built serves this
        # command (the queue and review pages keep working) and the next one saves it.
    return index


def refresh_index(store: Any, settings: "Settings") -> bool:
    """Rebuild the persisted index only if the alert lists' PDQ hashes (or the settings it
    was built with) changed since it was written. True if it was rebuilt."""
    built_from = _index_info(store.alert_pdq_lists(), settings)
    if PdqIndex.stored_info(store.hashlib_dir / INDEX_DIR) == built_from:
        return False
    rebuild_index(store, settings)
    return True


def load_index(store: Any, settings: "Settings") -> PdqIndex:
    """The persisted index, rebuilt if the alert lists changed since it was written."""
    index = PdqIndex.load(store.hashlib_dir / INDEX_DIR)
    if index is None or index.info != _index_info(store.alert_pdq_lists(), settings):
        index = rebuild_index(store, settings)
    return index


# -- dihedral variants --------------------------------------------------------------------
def _dihedral(store: Any, derivative_dir: Path, frames: list[tuple[int, int, str]],
              progress: bool | None = False) -> dict[tuple[int, int], list[tuple[str, int]]]:
    """The 8 variants of each (content, frame, derivative name), computed once and kept."""
    have = store.pdq_variants(sorted({cid for cid, _, _ in frames}))
    wanted = {(cid, frame) for cid, frame, _ in frames}
    have = {k: v for k, v in have.items() if k in wanted}
    todo = [f for f in frames if (f[0], f[1]) not in have]
    new_rows = []
    for cid, frame, name in progress_bar(progress, iterable=todo, unit="pic",
                                         desc="match dihedral"):
        try:
            with Image.open(derivative_dir / name) as im:
                rgb = im.convert("RGB")
        except (OSError, ValueError):
            continue  # a missing derivative only loses the dihedral check for this frame
        pdqs, quality = pdq_dihedral_hex(rgb)
        for v, pdq in enumerate(pdqs):
            new_rows.append((cid, frame, v, pdq, quality))
            have.setdefault((cid, frame), []).append((pdq, quality))
    if new_rows:
        store.save_pdq_variants(new_rows)
    return have


# -- matching -------------------------------------------------------------------------------
class PdqMatcher:
    """PDQ of every hashed frame (and its 8 rotations/flips) within the threshold of an
    alert list's PDQ: a near candidate, never a category by itself."""

    name = "pdq"
    description = "near PDQ (every frame; + dihedral variants) against alert lists"
    priority = 20

    def match(self, job: MatchJob) -> Iterator[Found]:
        settings, store = job.config.settings, job.store
        alert_ids = {hid for hid, h in job.lists.items()  # pdq_count NULL: not counted yet
                     if h["kind"] == "alert" and h.get("pdq_count") != 0}
        if not alert_ids:
            return
        ids = [c["id"] for c in job.contents]
        queries: list[tuple[int, int, str, str]] = [
            (cid, v.frame, v.value, "pdq")
            for cid, values in store.signal_values(ids, "pdq").items()
            for v in values if (v.quality or 0) >= settings.min_quality]
        if not queries:
            return
        index = load_index(store, settings)
        if not len(index):
            return
        if settings.dihedral:
            pictures = {c["id"] for c in job.contents if c["media_kind"] == "image"}
            hashed = {(cid, frame) for cid, frame, _, _ in queries if cid in pictures}
            frames = [(cid, d.frame, d.name)
                      for cid, ds in store.derivatives_of(sorted(pictures)).items()
                      for d in ds if (cid, d.frame) in hashed]
            variants = _dihedral(store, job.config.derivative_dir, frames, job.progress)
            job.report.dihedral_hashed = len({cid for cid, _ in variants})
            queries += [(cid, frame, pdq, "pdq-dihedral")
                        for (cid, frame), vs in variants.items()
                        for pdq, q in vs if q >= settings.min_quality]
        hits = index.range_search(codes_from_hex([q[2] for q in queries]), settings.threshold)
        wanted: dict[int, set[int]] = {}
        pairs = []
        for (cid, frame, _, method), row in zip(queries, hits):
            for pos, dist in row:
                hid, entry = (int(x) for x in index.meta[pos])
                if hid in alert_ids:
                    pairs.append((cid, hid, entry, method, int(dist), frame))
                    wanted.setdefault(hid, set()).add(entry)
        entries = {hid: store.list_entries_by_id(hid, sorted(e)) for hid, e in wanted.items()}
        for cid, hid, entry, method, dist, frame in pairs:
            yield Found(cid, hid, method, dist, entries[hid][entry]["category_raw"], frame)


PDQ = PdqMatcher()


def nearest_alert(store: Any, config: "MatchConfig", pdq_hexes: Sequence[str],
                  max_distance: int = 70) -> dict[str, NearestAlert]:
    """The closest alert-list PDQ for each query hash, only when within max_distance.

    For "looks like known material" signals (distance 32-70) beyond the match threshold; exact
    (a parallel full scan beyond the index radius).
    """
    categories = config.categories
    index = load_index(store, config.settings)
    unique = sorted({h.lower() for h in pdq_hexes if h})
    if not unique or not len(index):
        return {}
    ids, dist = index.nearest(codes_from_hex(unique), max_distance)
    lists = {h["id"]: h for h in store.hashsets()}
    hits = [(q, int(i), int(d)) for q, i, d in zip(unique, ids, dist) if i >= 0]
    by_list: dict[int, set[int]] = {}
    for _, i, _ in hits:
        hid, entry = (int(x) for x in index.meta[i])
        by_list.setdefault(hid, set()).add(entry)
    entries = {hid: store.list_entries_by_id(hid, sorted(e)) for hid, e in by_list.items()}
    out: dict[str, NearestAlert] = {}
    for q, i, d in hits:
        hid, entry = (int(x) for x in index.meta[i])
        h = lists[hid]
        out[q] = NearestAlert(d, h["name"], categories.map(h["scheme"],
                                                           entries[hid][entry]["category_raw"]))
    # Callers pass hashes as they have them: answer under the spelling they used.
    return {h: out[h.lower()] for h in pdq_hexes if h and h.lower() in out}
