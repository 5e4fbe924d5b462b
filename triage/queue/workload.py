"""Review time left on a device: queue entries x seconds per entry, a video by its duration.

One place for the rate: `config/priority.toml` `[workload] seconds_per_item` (its source is
given there), over the packaged default when a workspace's older copy lacks it. The review
pages' progress line, `triage summary`, the backlog forecast and the device report all use it
(before issue 12 there were three defaults: 4 s here, 6 s in review.toml and in backlog.toml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from triage.queue.priority import effective_config

SOURCE = "config/priority.toml [workload] seconds_per_item"
VIDEO_SOURCE = "config/priority.toml [workload] seconds_per_video_minute"


def seconds_per_item(cfg: Mapping[str, Any] | None = None) -> float:
    """Seconds of human review per queue entry under this priority config."""
    return float(effective_config(cfg)["workload"]["seconds_per_item"])


def hours_for(entries: int, cfg: Mapping[str, Any] | None = None,
              video_seconds: Sequence[float] = ()) -> float:
    """Review hours for `entries` queue entries (unrounded); `video_seconds`: the duration of
    each video entry among them (counted by its minutes, see `figures`)."""
    if not video_seconds:
        return entries * seconds_per_item(cfg) / 3600
    from triage.queue.video import review_seconds

    eff = effective_config(cfg)
    return (max(0, entries - len(video_seconds)) * seconds_per_item(eff)
            + sum(review_seconds(d, eff) for d in video_seconds)) / 3600


def figures(entries: int, unseen: int, cfg: Mapping[str, Any] | None = None,
            video_seconds: Sequence[float] = ()) -> dict[str, Any]:
    """The workload as `triage summary` shows it. `video_seconds`: the duration of each video
    entry among `entries`; each counts by its minutes (`triage.queue.video.review_seconds`)
    instead of as one picture."""
    from triage.queue.video import review_seconds

    eff = effective_config(cfg)
    per_item = seconds_per_item(eff)
    pictures = max(0, entries - len(video_seconds))
    seconds = pictures * per_item + sum(review_seconds(d, eff) for d in video_seconds)
    return {"queue_entries": entries, "unseen_pictures": unseen, "seconds_per_item": per_item,
            "video_entries": len(video_seconds),
            "video_minutes": round(sum(video_seconds) / 60.0, 2),
            "seconds_per_video_minute": float(eff["workload"].get("seconds_per_video_minute",
                                                                  15.0)),
            "hours_left": round(seconds / 3600, 2)}
