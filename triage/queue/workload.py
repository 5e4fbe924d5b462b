"""Review time left on a device: queue entries x seconds per entry.

One place for the rate: `config/priority.toml` `[workload] seconds_per_item` (its source is
given there), over the packaged default when a workspace's older copy lacks it. The review
pages' progress line, `triage summary`, the backlog forecast and the device report all use it
(before issue 12 there were three defaults: 4 s here, 6 s in review.toml and in backlog.toml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triage.queue.priority import effective_config

SOURCE = "config/priority.toml [workload] seconds_per_item"


def seconds_per_item(cfg: Mapping[str, Any] | None = None) -> float:
    """Seconds of human review per queue entry under this priority config."""
    return float(effective_config(cfg)["workload"]["seconds_per_item"])


def hours_for(entries: int, cfg: Mapping[str, Any] | None = None) -> float:
    """Review hours for `entries` queue entries (unrounded)."""
    return entries * seconds_per_item(cfg) / 3600


def figures(entries: int, unseen: int, cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The workload as `triage summary` shows it."""
    per_item = seconds_per_item(cfg)
    return {"queue_entries": entries, "unseen_pictures": unseen, "seconds_per_item": per_item,
            "hours_left": round(entries * per_item / 3600, 2)}
