"""Demo register: ~40 fictitious exhibits so a new user sees a believable backlog picture.

Every reference is invented. Dates are relative to today, so the picture looks the same whenever
the demo runs. The trend is back-filled from the register (devices now reviewed count as waiting
until an invented completion date), and each snapshot is marked as demo data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from triage.backlog import rank as backlog
from triage.backlog.register import register_view
from triage.store import Store

TYPES = ("phone", "phone", "phone", "laptop", "desktop", "tablet", "USB stick", "SD card",
         "external drive", "games console")
OPERATIONS = ("AUBURN", "BRACKEN", "CINDER", "DUNLIN", "EMBER", "FALLOW", "GANNET", "HAZEL",
              "ISLAY", "JUNIPER", "KESTREL", "LARCH", "MERLIN", "NETTLE", "OSPREY", "PLOVER")
# (band, how many, seized between N and M days ago)
MIX = (("VH", 4, 0, 4), ("H", 10, 2, 35), ("M", 13, 4, 70), ("L", 12, 10, 420))
WEEKS_OF_TREND = 12


def seed_register(store: Store, workspace_config: Callable[[str], dict[str, Any]],
                  demo_case: str, demo_device: str, today: date | None = None,
                  seed: int = 11) -> int:
    """Register the ingested demo device plus 39 fictitious ones; back-fill the trend."""
    today = today or date.today()
    rng = random.Random(seed)
    entries: list[tuple[str, str, dict[str, Any]]] = [
        (demo_case, demo_device, {"device_type": "phone", "risk_band": "H",
                                  "seized_on": (today - timedelta(days=5)).isoformat(),
                                  "access_to_children": 1, "bail_rui": 1,
                                  "next_court_date": (today + timedelta(days=20)).isoformat(),
                                  "notes": "demo: the ingested synthetic phone"})]
    completed: dict[str, date] = {}
    n = 0
    for band, count, lo, hi in MIX:
        for _ in range(count):
            n += 1
            op = OPERATIONS[n % len(OPERATIONS)]
            case = f"OP-{op}-{2025 + n % 2}"
            label = f"{op[:3]}-{n:03d}"
            waited = rng.randint(lo, hi)
            seized = today - timedelta(days=waited)
            fields: dict[str, Any] = {
                "device_type": rng.choice(TYPES), "risk_band": band,
                "seized_on": seized.isoformat(),
                "access_to_children": int(rng.random() < (0.5 if band in ("VH", "H") else 0.15)),
                "bail_rui": int(rng.random() < 0.45),
                "child_at_risk": int(band == "VH" and n in (1, 3)),
                "notes": "demo: fictitious exhibit",
            }
            if rng.random() < 0.25:
                fields["next_court_date"] = (today + timedelta(days=rng.randint(3, 75))).isoformat()
            roll = rng.random()
            if waited > 20 and roll < 0.25:
                fields["register_status"] = rng.choice(("reviewed", "returned"))
                completed[label] = seized + timedelta(days=rng.randint(10, max(11, waited - 1)))
            elif roll < 0.40:
                fields["register_status"] = "in review"
            else:
                fields["register_status"] = "awaiting"
            entries.append((case, label, fields))
    store.save_register_entries(entries)
    _backfill_trend(store, workspace_config, today, completed)
    return len(entries)


def _backfill_trend(store: Store, workspace_config: Callable[[str], dict[str, Any]],
                    today: date, completed: dict[str, date]) -> None:
    config = workspace_config("backlog")
    view = register_view(store, workspace_config("priority"), config)
    cap = backlog.capacity(store, config, workspace_config("welfare"))
    hours = float(config.get("forecast", {}).get("hours_per_device_not_ingested", 0))
    for week in range(WEEKS_OF_TREND, -1, -1):
        day = today - timedelta(weeks=week)
        then = [r | {"status": "in review", "forecast_hours": hours}
                if completed.get(r["label"], date.min) > day else r for r in view]
        fw = backlog.framework(then, day, config, cap)
        store.save_backlog_snapshot(day.isoformat(),
                                    backlog.snapshot_figures(fw) | {"demo": True})
