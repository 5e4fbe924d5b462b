"""vPDQ (Meta's video PDQ): a video as the PDQ of its sampled frames, and when two videos match.

A video's hash is a list of records `frame, quality, pdq, seconds` (one per kept frame, the
layout of Meta's vpdq/sample-hashes and of `vpdq-hash-video`'s output). triage stores them as
the video content's `pdq` signal rows (frame = the frame's number in the video, seconds = its
time), so every frame is also matched on its own against picture PDQ lists.

Matching (vpdq/README.md, "Comparison (Matching) Algorithm"): frames of quality below
`min_quality` are set aside; of the remaining *unique* hashes, the share of the query's that lie
within `distance` bits of some frame of the other video, and the share of the other's within
`distance` of some query frame. The videos match when both shares reach their thresholds
(`config/matching.toml [vpdq]`: 80 % both ways by default, as README's example sets P_c, with P_q
raised from 0 so that a long video that merely contains a short known clip is a candidate but not
"the same video"; see `Settings`). Frame order and times are not used.

Pruning (README, "Pruning Frames"): a sampled frame whose PDQ lies within `prune` bits of the
last *kept* frame's is dropped, so a still scene costs one record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_LINE = re.compile(r"^\s*(\d+)\s*,\s*(\d{1,3})\s*,\s*([0-9a-fA-F]{64})\s*,\s*(-?\d+(?:\.\d*)?)\s*$")


@dataclass(frozen=True)
class Feature:
    """One vPDQ record: a frame's number in the video, its PDQ quality, hash and time."""

    frame: int
    quality: int
    pdq: str
    seconds: float

    def line(self) -> str:
        """As Meta's sample hashes write it: `frame,quality,pdq,seconds` (seconds to 3 places)."""
        return f"{self.frame},{self.quality},{self.pdq},{self.seconds:.3f}"


def parse_line(line: str) -> Feature | None:
    """A `frame,quality,pdq,seconds` line, or None if the line is not one."""
    m = _LINE.match(line)
    if m is None or int(m.group(2)) > 100:
        return None
    return Feature(int(m.group(1)), int(m.group(2)), m.group(3).lower(), float(m.group(4)))


def is_vpdq_line(line: str) -> bool:
    return parse_line(line) is not None


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def prune(features: Iterable[Feature], distance: int) -> list[Feature]:
    """Drop each feature within `distance` bits of the last one kept (README's D_prune)."""
    kept: list[Feature] = []
    for f in features:
        if kept and distance >= 0 and hamming(f.pdq, kept[-1].pdq) <= distance:
            continue
        kept.append(f)
    return kept


@dataclass(frozen=True)
class Settings:
    """The vPDQ match rule's thresholds (config/matching.toml [vpdq])."""

    distance: int = 31  # PDQ bits for two frames to match (PDQ's own threshold)
    min_quality: int = 50  # frames below are not compared (PDQ's quality floor)
    query_percent: float = 80.0  # share of this video's frames found in the other (P_q)
    compared_percent: float = 80.0  # share of the other's frames found in this one (P_c)
    prune: int = 4  # ingest: drop a sampled frame within this many bits of the last kept

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "Settings":
        v = cfg.get("vpdq", {})
        d = cls()
        return cls(int(v.get("distance", d.distance)), int(v.get("min_quality", d.min_quality)),
                   float(v.get("query_percent", d.query_percent)),
                   float(v.get("compared_percent", d.compared_percent)),
                   int(v.get("prune_distance", d.prune)))


def codes(hashes: Sequence[str]) -> np.ndarray:
    """Hex PDQ hashes as rows of four uint64 words."""
    if not hashes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(bytes.fromhex("".join(hashes)), dtype=">u8")
    return raw.reshape(len(hashes), 4).astype(np.uint64)


@dataclass
class Comparable:
    """A video's frames as the rule compares them: its unique hashes of quality >= the floor,
    and (when the video is counted by time windows) the windows each hash occurs in."""

    codes: np.ndarray
    windows: list[frozenset[int]] | None = None
    window_count: int = 0

    def __len__(self) -> int:
        return len(self.codes)


def comparable(features: Iterable[Feature | tuple[str, int | None, float | None]],
               min_quality: int, window: float | None = None) -> Comparable:
    """The unique hashes of quality >= min_quality (what the rule compares).

    `window` (seconds): count this video's share by time windows of that length instead of by
    hashes. Used for the side that was hashed more densely than the other: a video sampled at
    1 frame/s against a list hashing every frame (as `vpdq-hash-video` does) can only meet the
    list's frames near its own samples, so "share of the list's frames matched" would read ~15 %
    for a true copy of fast-moving content; "share of the list's seconds matched" reads what the
    same share reads between two equally dense hashes. With one frame per window the two agree.
    """
    where: dict[str, set[int]] = {}
    for f in features:
        pdq, q, sec = (f.pdq, f.quality, f.seconds) if isinstance(f, Feature) else f
        if (q or 0) >= min_quality:
            where.setdefault(pdq.lower(), set()).add(
                int((sec or 0.0) // window) if window else 0)
    keys = sorted(where)
    if not window:
        return Comparable(codes(keys))
    windows = [frozenset(where[k]) for k in keys]
    return Comparable(codes(keys), windows, len(set().union(*windows)) if windows else 0)


def match_percents(query: Comparable, compared: Comparable, distance: int
                   ) -> tuple[float, float]:
    """(share of the query's comparable frames with a frame of the other within `distance`,
    and the same share of the other's, by its windows when it has them), in percent. 0 when
    either side has nothing comparable."""
    q, c = query.codes, compared.codes
    if not len(q) or not len(c):
        return 0.0, 0.0
    hit = np.zeros((len(q), len(c)), dtype=bool)
    step = max(1, (1 << 20) // max(1, len(c)))
    for start in range(0, len(q), step):
        block = q[start:start + step]
        hit[start:start + step] = (np.bitwise_count(block[:, None, :] ^ c[None, :, :])
                                   .sum(axis=2) <= distance)
    q_pct = float(hit.any(axis=1).mean() * 100)
    found = hit.any(axis=0)
    if compared.windows is None:
        return q_pct, float(found.mean() * 100)
    matched: set[int] = set()
    for i in np.nonzero(found)[0]:
        matched |= compared.windows[int(i)]
    return q_pct, len(matched) * 100.0 / max(1, compared.window_count)


def is_match(query: Comparable, compared: Comparable, settings: Settings
             ) -> tuple[bool, float, float]:
    """(the vPDQ decision, query %, compared %) for two videos' comparable frames."""
    q, c = match_percents(query, compared, settings.distance)
    return (q >= settings.query_percent and c >= settings.compared_percent and q > 0), q, c


def timestamp(seconds: float | None) -> str:
    """`01:23` (or `1:02:03` past an hour): how reasons and pages name a frame's time."""
    if seconds is None:
        return "--:--"
    s = int(seconds)
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"
