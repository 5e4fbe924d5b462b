"""Matching contents against the hash library: exact digests and near PDQ (incl. dihedral).

Exact matches (MD5/SHA-1/SHA-256, whichever a list has) make content *known*: an alert list's
category is applied to it (and so to every file holding those bytes); a known-good list sets it
aside. Near PDQ matches against alert lists are *candidates* (near=1): they carry the distance
and the list's category for a person to confirm, and never categorise by themselves.

Dihedral variants: ingest stored the PDQ of the picture as decoded. A mirrored or rotated copy
of a listed picture is 100+ bits away from it, so the 8 rotations/flips are hashed from the
stored derivative (`contents.derivative`, the upright <= 512 px JPEG ingest made from its single
decode), never from the evidence again. They are computed once per content and kept in
`content_pdq_variants`, and only when some alert list holds PDQ hashes. The plain PDQ (method
'pdq') remains the one from ingest, so its recall is exactly that of the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from triage.categories import CategoryMap
from triage.signals.pdq import pdq_dihedral_hex
from triage.signals.pdq_index import PdqIndex, codes_from_bytes, codes_from_hex
from triage.progress import progress_bar
from triage.workspace import Workspace

INDEX_DIR = "pdq-index"


@dataclass
class NearestAlert:
    distance: int
    hashset: str
    category: str | None


@dataclass
class MatchReport:
    contents: int = 0
    exact: int = 0
    near: int = 0
    near_certain: int = 0
    dihedral_hashed: int = 0
    known_contents: int = 0
    known_good_contents: int = 0
    lists: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Settings:
    threshold: int = 31
    near_certain: int = 10
    min_quality: int = 50
    dihedral: bool = True
    nearest_max: int = 70

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "Settings":
        pdq = cfg.get("pdq", {})
        return cls(int(pdq.get("threshold", 31)), int(pdq.get("near_certain", 10)),
                   int(pdq.get("min_quality", 50)), bool(pdq.get("dihedral", True)),
                   int(cfg.get("nearest", {}).get("max_distance", 70)))


@dataclass
class MatchConfig:
    """What matching needs from the workspace, handed in by the pipeline (`triage.pipeline`):
    the thresholds, the lab's category maps, and where the derivatives are (dihedral PDQs are
    hashed from them)."""

    settings: Settings
    categories: CategoryMap
    derivative_dir: Path

    @classmethod
    def from_workspace(cls, ws: Workspace) -> "MatchConfig":
        return cls(Settings.from_config(ws.config("matching")),
                   CategoryMap(ws.config("categories")), ws.derivative_dir)


# -- the PDQ index ------------------------------------------------------------------------
def _index_info(lists: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """What the index was built from. `lists` are the alert lists holding PDQ hashes
    (`store.alert_pdq_lists()`), so a list without PDQ (an md5 list) never makes it stale."""
    return {"lists": {str(h["id"]): h["source_sha256"] for h in lists},
            "min_quality": settings.min_quality, "radius": settings.threshold}


def rebuild_index(store: Any, settings: Settings) -> PdqIndex:
    """Index every PDQ of every alert list (quality >= min_quality), and persist it."""
    lists = store.alert_pdq_lists()
    codes: list[np.ndarray] = []
    metas: list[np.ndarray] = []
    for h in lists:
        for batch in store.list_pdq_batches(h["id"]):
            keep = [b for b in batch if b[2] is None or b[2] >= settings.min_quality]
            if not keep:
                continue
            codes.append(codes_from_bytes([b[1] for b in keep]))
            metas.append(np.array([(h["id"], b[0]) for b in keep], dtype=np.int64))
    all_codes = np.concatenate(codes) if codes else np.zeros((0, 4), dtype=np.uint64)
    meta = np.concatenate(metas) if metas else np.zeros((0, 2), dtype=np.int64)
    index = PdqIndex.build(all_codes, meta, settings.threshold, _index_info(lists, settings))
    index.save(store.hashlib_dir / INDEX_DIR)
    return index


def refresh_index(store: Any, settings: Settings) -> bool:
    """Rebuild the persisted index only if the alert lists' PDQ hashes (or the settings it
    was built with) changed since it was written. True if it was rebuilt."""
    built_from = _index_info(store.alert_pdq_lists(), settings)
    if PdqIndex.stored_info(store.hashlib_dir / INDEX_DIR) == built_from:
        return False
    rebuild_index(store, settings)
    return True


def load_index(store: Any, settings: Settings) -> PdqIndex:
    """The persisted index, rebuilt if the alert lists changed since it was written."""
    index = PdqIndex.load(store.hashlib_dir / INDEX_DIR)
    if index is None or index.info != _index_info(store.alert_pdq_lists(), settings):
        index = rebuild_index(store, settings)
    return index


# -- dihedral variants --------------------------------------------------------------------
def _dihedral(store: Any, derivative_dir: Path, contents: list[dict[str, Any]],
              progress: bool | None = False) -> dict[int, list[tuple[str, int]]]:
    ids = [c["id"] for c in contents if c["derivative"]]
    have = store.pdq_variants(ids)
    todo = [c for c in contents if c["derivative"] and c["id"] not in have]
    new_rows = []
    for c in progress_bar(progress, iterable=todo, unit="pic", desc="match dihedral"):
        try:
            with Image.open(derivative_dir / c["derivative"]) as im:
                rgb = im.convert("RGB")
        except (OSError, ValueError):
            continue  # a missing derivative only loses the dihedral check for this picture
        pdqs, quality = pdq_dihedral_hex(rgb)
        for v, pdq in enumerate(pdqs):
            new_rows.append((c["id"], v, pdq, quality))
            have.setdefault(c["id"], []).append((pdq, quality))
    if new_rows:
        store.save_pdq_variants(new_rows)
    return have


# -- matching -------------------------------------------------------------------------------
def match_contents(store: Any, config: MatchConfig, *, device_id: int | None = None,
                   hashset_ids: Sequence[int] | None = None,
                   progress: bool | None = False) -> MatchReport:
    """Match a device's contents (or all contents) against the lists (or only `hashset_ids`).

    Previous matches of those contents in those lists are replaced, so re-running is safe.
    Progress (a bar per step: exact lookups, then dihedral hashing) only when asked.
    """
    settings, categories = config.settings, config.categories
    lists = {h["id"]: h for h in store.hashsets()
             if hashset_ids is None or h["id"] in hashset_ids}
    contents = store.contents_to_match(device_id)
    report = MatchReport(contents=len(contents), lists=sorted(h["name"] for h in lists.values()))
    found: dict[tuple[int, int, str], tuple[Any, ...]] = {}

    def add(cid: int, hid: int, method: str, distance: int | None, raw: str | None) -> None:
        h = lists[hid]
        key = (cid, hid, method)
        mapped = categories.map(h["scheme"], raw) if h["kind"] == "alert" else None
        new = (cid, hid, method, distance, 0 if distance is None else 1, raw, mapped)
        old = found.get(key)
        if old is None or (distance or 0) < (old[3] or 0):
            found[key] = new

    # Exact: each list's digests looked up by index.
    with progress_bar(progress, total=3 * len(contents) * len(lists), unit="lookup",
                      desc="match exact") as bar:
        for algo in ("md5", "sha1", "sha256"):
            by_digest: dict[bytes, list[int]] = {}
            for c in contents:
                by_digest.setdefault(bytes.fromhex(c[algo]), []).append(c["id"])
            keys = list(by_digest)
            for hid in lists:
                for digest, raw in store.lookup_digests(hid, algo, keys):
                    for cid in by_digest[bytes(digest)]:
                        add(cid, hid, algo, None, raw)
                bar.update(len(contents))

    # Near: plain PDQ from ingest, then the dihedral variants, against alert lists.
    alert_ids = {hid for hid, h in lists.items()  # pdq_count NULL: not counted yet, maybe
                 if h["kind"] == "alert" and h.get("pdq_count") != 0}
    pictures = [c for c in contents if c["pdq"] and (c["pdq_quality"] or 0) >= settings.min_quality]
    if alert_ids and pictures:
        index = load_index(store, settings)
        if len(index):
            queries: list[tuple[int, str, str]] = [(c["id"], c["pdq"], "pdq") for c in pictures]
            if settings.dihedral:
                variants = _dihedral(store, config.derivative_dir, pictures, progress)
                report.dihedral_hashed = len(variants)
                queries += [(cid, pdq, "pdq-dihedral") for cid, vs in variants.items()
                            for pdq, q in vs if q >= settings.min_quality]
            hits = index.range_search(codes_from_hex([q[1] for q in queries]),
                                      settings.threshold)
            wanted: dict[int, set[int]] = {}
            pairs = []
            for (cid, _, method), row in zip(queries, hits):
                for pos, dist in row:
                    hid, entry = (int(x) for x in index.meta[pos])
                    if hid in alert_ids:
                        pairs.append((cid, hid, entry, method, dist))
                        wanted.setdefault(hid, set()).add(entry)
            entries = {hid: store.list_entries_by_id(hid, sorted(ids))
                       for hid, ids in wanted.items()}
            for cid, hid, entry, method, dist in pairs:
                add(cid, hid, method, int(dist), entries[hid][entry]["category_raw"])

    rows = list(found.values())
    # An exact match already says everything a near one would about the same list.
    exact_pairs = {(r[0], r[1]) for r in rows if r[4] == 0}
    rows = [r for r in rows if r[4] == 0 or (r[0], r[1]) not in exact_pairs]
    store.replace_matches([c["id"] for c in contents], list(lists), rows)
    report.exact = sum(1 for r in rows if r[4] == 0)
    report.near = sum(1 for r in rows if r[4] == 1)
    report.near_certain = sum(1 for r in rows if r[4] == 1 and r[3] <= settings.near_certain)
    report.known_contents = len({r[0] for r in rows if r[4] == 0})
    report.known_good_contents = len({r[0] for r in rows if r[4] == 0
                                      and lists[r[1]]["kind"] == "known-good"})
    return report


def match_device(store: Any, config: MatchConfig, label: str,
                 progress: bool | None = False) -> MatchReport:
    return match_contents(store, config, device_id=store.device(label)["id"], progress=progress)


def after_list_change(store: Any, config: MatchConfig, hashset_id: int | None,
                      progress: bool | None = False) -> MatchReport | None:
    """After an import (or removal): bring the PDQ index up to date (rebuilt only if the alert
    lists' PDQ hashes changed), re-match every content in the list."""
    refresh_index(store, config.settings)
    if hashset_id is None:
        return None
    return match_contents(store, config, hashset_ids=[hashset_id], progress=progress)


def nearest_alert(store: Any, config: MatchConfig, pdq_hexes: Sequence[str],
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
