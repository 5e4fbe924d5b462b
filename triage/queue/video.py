"""Videos in the review queue: how one is scored, and which videos are one entry.

A video is an unseen item like a picture (`store.unseen_videos`), scored by the same weighted
parts (`triage.queue.priority.score_picture`: classifier, location, copies) with what only a
video has: its classifier score is the evidence of its frames (`triage.classify.stage`: the mean
of the best `top_k` frames, and how many frames pass), and the reasons name the frames that
drove it ("frame 01:23 classifier 0.97"); a vPDQ match to a known video, or a frame near a
known picture, is a near candidate with the frame's time.

Re-encoded copies of one video (another size, bit rate, container) are one entry: videos whose
sampled frames match by the vPDQ rule (config/matching.toml [vpdq]) are clustered, and a
decision on the entry covers them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from triage.queue.groups import Groups
from triage.queue.priority import Scored, _finish, score_picture
from triage.signals.vpdq import Comparable, Settings, codes, is_match, timestamp


def video_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return dict(cfg.get("video", {}))


def score_video(item: dict[str, Any], cfg: dict[str, Any],
                classifier: dict[str, float] | None,
                frame_scores: dict[str, list[tuple[int, float | None, float]]] | None,
                matches: Sequence[dict[str, Any]]) -> Scored:
    """A video's score: the picture parts, its best frames named, its near matches timed."""
    vcfg = video_config(cfg)
    base = score_picture(item, cfg, classifier, None)
    parts = list(base.parts)
    if classifier and frame_scores:
        named = max(1, int(vcfg.get("frames_named", 2)))
        threshold = float(vcfg.get("pass_score", 0.8))
        model = max(classifier, key=lambda m: classifier[m])
        frames = frame_scores.get(model) or []
        label = next((i for i, (c, r) in enumerate(parts) if r.startswith("classifier")), None)
        if label is not None and frames:
            passing = sum(1 for _, _, s in frames if s >= threshold)
            best = ", ".join(f"frame {timestamp(sec)} classifier {s:.2f}"
                             for _, sec, s in frames[:named])
            count = f" ({passing} of {len(frames)} frames >= {threshold:g})"
            parts[label] = (parts[label][0], best + count)
    w = cfg.get("weights", {})
    best_match = min(matches, key=lambda m: (m["method"] != "vpdq", m["distance"] or 0),
                     default=None)
    if best_match is not None:
        cat = f", category {best_match['category']}" if best_match.get("category") else ""
        if best_match["method"] == "vpdq":
            reason = (f"matches known video (vPDQ, list {best_match['hashset']}{cat};"
                      f" from frame {timestamp(best_match.get('seconds'))})")
        else:
            reason = (f"frame {timestamp(best_match.get('seconds'))} near known material"
                      f" (PDQ {best_match['distance']}, list {best_match['hashset']}{cat})")
        parts.append((float(w.get("alert_near_match", 0.0)), reason))
    return _finish(parts)


def review_seconds(duration: float | None, cfg: Mapping[str, Any]) -> float:
    """Seconds of review one video entry costs: its minutes x `[workload]
    seconds_per_video_minute`, never less than one picture entry."""
    work = cfg.get("workload", {})
    per_item = float(work.get("seconds_per_item", 4.0))
    per_minute = float(work.get("seconds_per_video_minute", 15.0))
    return max(per_item, (duration or 0.0) / 60.0 * per_minute)


def video_groups(items: Sequence[Any], settings: Settings | None = None) -> list[list[int]]:
    """Groups of indexes into `items` (each with `.frames`, comparable PDQ hex) whose videos
    match each other by the vPDQ rule (union of matching pairs)."""
    settings = settings or Settings()
    n = len(items)
    groups = Groups(n)
    comps = [Comparable(codes(list(it.frames))) for it in items]
    for a in range(n):
        for b in range(a + 1, n):
            if groups.same(a, b) or not len(comps[a]) or not len(comps[b]):
                continue
            if is_match(comps[a], comps[b], settings)[0]:
                groups.join(a, b)
    return groups.groups()


def near_videos(back: Sequence[Any], stored: Sequence[Any],
                settings: Settings | None = None) -> set[int]:
    """Content ids among `stored` videos that match one of the videos coming `back`."""
    settings = settings or Settings()
    out: set[int] = set()
    for p in back:
        q = Comparable(codes(list(p.frames)))
        if not len(q):
            continue
        for m in stored:
            c = Comparable(codes(list(m.frames)))
            if len(c) and is_match(q, c, settings)[0]:
                out.add(int(m.content_id))
    return out
