"""The vPDQ matcher: a device's videos against the known videos of vPDQ lists, by Meta's rule.

Candidates come from the PDQ index the PDQ matcher already searches (a vPDQ list's frames are
its entries' `pdq` values, so they are in the index): each kept frame of a video is a query, and
every known video with a frame within the threshold is a candidate. Only candidates are compared
by the rule (`triage.signals.vpdq`, thresholds in config/matching.toml [vpdq]) — the linear scan
of every video against every list entry is what README's FAISS prefilter avoids.

A match is a near candidate (never a category by itself), method `vpdq`, with the median PDQ
distance of the matched frames as its distance and the video's first matched frame as its frame
(the time is in the signals table), for a person to confirm. The single frames that match a
picture list, or a frame of a known video, are the PDQ matcher's findings (method `pdq`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from triage.match.base import Found, MatchJob
from triage.match.pdq import load_index
from triage.signals.pdq_index import codes_from_hex
from triage.signals.vpdq import Settings, comparable, is_match, match_percents


class VpdqMatcher:
    """Each video (its sampled frames) against each known video of the vPDQ lists."""

    name = "vpdq"
    description = "videos against known videos of vPDQ lists (Meta's vPDQ rule)"
    priority = 30

    def match(self, job: MatchJob) -> Iterator[Found]:
        store = job.store
        lists = {hid: h for hid, h in job.lists.items() if h.get("format") == "vpdq"}
        videos = [c["id"] for c in job.contents if c["media_kind"] == "video"]
        if not lists or not videos:
            return
        vsettings: Settings = getattr(job.config, "vpdq", None) or Settings()
        # Candidates are searched within the index's radius ([pdq] threshold).
        radius = min(vsettings.distance, job.config.settings.threshold)
        frames = store.signal_values(videos, "pdq")
        intervals = store.video_sample_seconds(videos)
        index = load_index(store, job.config.settings)
        if not len(index):
            return
        for cid in videos:
            values = [v for v in frames.get(cid, []) if (v.quality or 0) >= vsettings.min_quality]
            if not values:
                continue
            hits = index.range_search(codes_from_hex([v.value for v in values]), radius)
            candidates: dict[tuple[int, int], list[tuple[int, int]]] = {}
            for v, row in zip(values, hits):
                for pos, dist in row:
                    hid, entry = (int(x) for x in index.meta[pos])
                    if hid in lists:
                        candidates.setdefault((hid, entry), []).append((v.frame, int(dist)))
            if not candidates:
                continue
            query = comparable([(v.value, v.quality, v.seconds) for v in values],
                               vsettings.min_quality)
            window = intervals.get(cid) or 1.0
            by_list: dict[int, set[int]] = {}
            for hid, entry in candidates:
                by_list.setdefault(hid, set()).add(entry)
            for hid, entries in by_list.items():
                known = store.entry_signal_values(hid, sorted(entries))
                rows = store.list_entries_by_id(hid, sorted(entries))
                for entry in sorted(entries):
                    other = comparable([(h, q, sec) for _, h, q, sec in known.get(entry, [])],
                                       vsettings.min_quality, window=window)
                    ok, _, _ = is_match(query, other, vsettings)
                    if not ok:
                        continue
                    pairs = candidates[(hid, entry)]
                    yield Found(cid, hid, "vpdq", int(np.median([d for _, d in pairs])),
                                rows[entry]["category_raw"], min(f for f, _ in pairs))


VPDQ = VpdqMatcher()

__all__ = ["VPDQ", "VpdqMatcher", "match_percents"]
