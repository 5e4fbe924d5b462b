"""Matching contents against the hash library: every registered matcher (`triage.matchers`:
exact digests and near PDQ incl. dihedral today, `triage.match.exact` and `triage.match.pdq`),
then one recording of what they found together.

Exact matches (MD5/SHA-1/SHA-256, whichever a list has) make content *known*: an alert list's
category is applied to it (and so to every file holding those bytes); a known-good list sets it
aside. Near matches (PDQ) against alert lists are *candidates* (near=1): they carry the
distance, the frame and the list's category for a person to confirm, and never categorise by
themselves. A near-copy or video matcher is one more registered matcher (`triage.match.base`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from triage.categories import CategoryMap
from triage import faults
from triage.match import MATCHERS
from triage.match.base import Found, MatchJob
from triage.match.pdq import (INDEX_DIR, NearestAlert, load_index, nearest_alert,
                              rebuild_index, refresh_index)
from triage.signals.vpdq import Settings as VpdqSettings
from triage.workspace import Workspace

__all__ = ["INDEX_DIR", "MatchConfig", "MatchReport", "NearestAlert", "Settings",
           "after_list_change", "load_index", "match_contents", "match_device", "nearest_alert",
           "rebuild_index", "refresh_index"]


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
    vpdq: VpdqSettings = field(default_factory=VpdqSettings)  # [vpdq]: videos vs known videos

    @classmethod
    def from_workspace(cls, ws: Workspace) -> "MatchConfig":
        return cls(Settings.from_config(ws.config("matching")),
                   CategoryMap(ws.config("categories")), ws.derivative_dir,
                   VpdqSettings.from_config(ws.config("matching")))


# -- matching -------------------------------------------------------------------------------
def match_contents(store: Any, config: MatchConfig, *, device_id: int | None = None,
                   hashset_ids: Sequence[int] | None = None,
                   progress: bool | None = False) -> MatchReport:
    """Match a device's contents (or all contents) against the lists (or only `hashset_ids`):
    each registered matcher in turn, then what they found is recorded in one replacement.

    Previous matches of those contents in those lists are replaced, so re-running is safe.
    Progress (a bar per step: exact lookups, then dihedral hashing) only when asked.
    """
    categories = config.categories
    lists = {h["id"]: h for h in store.hashsets()
             if hashset_ids is None or h["id"] in hashset_ids}
    contents = store.contents_to_match(device_id)
    report = MatchReport(contents=len(contents), lists=sorted(h["name"] for h in lists.values()))
    job = MatchJob(store, config, lists, contents, report, progress)
    best: dict[tuple[int, int, str], Found] = {}
    for matcher in MATCHERS:
        for f in matcher.match(job):
            key = (f.content_id, f.hashset_id, f.method)
            old = best.get(key)
            if old is None or (f.distance or 0) < (old.distance or 0):
                best[key] = f
    faults.pause("match")  # every lookup done, nothing written yet
    # An exact match already says everything a near one would about the same list.
    exact_pairs = {(f.content_id, f.hashset_id) for f in best.values() if not f.near}
    kept = [f for f in best.values()
            if not f.near or (f.content_id, f.hashset_id) not in exact_pairs]
    rows = []
    for f in kept:
        h = lists[f.hashset_id]
        mapped = categories.map(h["scheme"], f.category_raw) if h["kind"] == "alert" else None
        rows.append((f.content_id, f.hashset_id, f.method, f.distance, int(f.near),
                     f.category_raw, mapped, f.frame))
    store.replace_matches([c["id"] for c in contents], list(lists), rows)
    settings = config.settings
    report.exact = sum(1 for f in kept if not f.near)
    report.near = sum(1 for f in kept if f.near)
    report.near_certain = sum(1 for f in kept if f.near and f.distance <= settings.near_certain)
    report.known_contents = len({f.content_id for f in kept if not f.near})
    report.known_good_contents = len({f.content_id for f in kept if not f.near
                                      and lists[f.hashset_id]["kind"] == "known-good"})
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
