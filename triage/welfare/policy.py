"""The lab's welfare policy, read once from `config/welfare.toml` into typed values.

Why a typed object: rules compare exposure against a dozen numbers; a typo in a lab's TOML must
fail loudly when the policy is read, not silently disable a cap. Missing keys fall back to the
packaged defaults, so an older workspace config keeps working after an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.workspace import Workspace, default_config


class PolicyError(ValueError):
    """config/welfare.toml holds a value the rules cannot use."""


@dataclass(frozen=True)
class Policy:
    timezone: ZoneInfo
    continuous_minutes: float
    break_minutes: float
    enforce_break: bool
    day_warn_hours: float
    day_stop_hours: float
    override_minutes: float
    cutoff: time
    contract_start: time
    contract_end: time
    contract_days: tuple[int, ...]
    outside_min_minutes: float
    week_alert_hours: float
    week_escalate_hours: float
    weights: dict[str, float]
    blurred_weight: float
    day_warn_units: float
    day_stop_units: float
    week_alert_units: float
    week_escalate_units: float
    lock_on_day_stop: bool
    pattern_days: int
    pattern_fraction: float
    pattern_measure: str
    counselling_months: int
    assessment_months: int
    welfare_check_months: int
    missing_is_overdue: bool
    lookback_days: int
    notifiers: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def weight(self, severity: str) -> float:
        """Unknown labels weigh as uncategorised: an unexpected label must not count as zero."""
        return self.weights.get(severity, self.weights.get("uncategorised", 2.0))

    @property
    def pattern_cap(self) -> float:
        return self.day_stop_hours if self.pattern_measure == "hours" else self.day_stop_units


# workspace welfare.toml path -> (its text when read, the policy): the review app's gate reads
# the policy on every page request, and parsing the TOML files was half of the gate's time.
# Keyed on the text, not the mtime, so an edit is seen at once however coarse the file clock.
_LOADED: dict[Path, tuple[str | None, Policy]] = {}


def load_policy(workspace: Workspace) -> Policy:
    path = workspace.config_dir / "welfare.toml"
    try:
        text: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    cached = _LOADED.get(path)
    if cached is not None and cached[0] == text:
        return cached[1]
    policy = parse_policy(workspace.config("welfare"))
    _LOADED[path] = (text, policy)
    return policy


def policy_for_store(store: Any) -> Policy:
    """The policy of the workspace the store belongs to (the database sits in its root)."""
    return load_policy(Workspace(Path(store.path).parent))


def parse_policy(raw: dict[str, Any]) -> Policy:
    d = default_config("welfare")

    def get(section: str, key: str) -> Any:
        return raw.get(section, {}).get(key, d.get(section, {}).get(key))

    def num(section: str, key: str, minimum: float = 0.0) -> float:
        value = get(section, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise PolicyError(f"welfare.toml [{section}] {key} must be a number >= {minimum},"
                              f" not {value!r}")
        return float(value)

    def clock(section: str, key: str) -> time:
        value = get(section, key)
        try:
            return time.fromisoformat(str(value))
        except ValueError as exc:
            raise PolicyError(f"welfare.toml [{section}] {key} must be HH:MM, not {value!r}") \
                from exc

    try:
        tz = ZoneInfo(str(get("clock", "timezone")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"welfare.toml [clock] timezone: unknown zone {get('clock', 'timezone')!r}") \
            from exc
    weights = {**d.get("severity_weights", {}), **raw.get("severity_weights", {})}
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise PolicyError(f"welfare.toml [severity_weights] {k} must be a number >= 0")
    days = tuple(int(x) for x in get("contract", "days"))
    if any(not 1 <= x <= 7 for x in days):
        raise PolicyError("welfare.toml [contract] days are ISO weekdays 1 (Mon) .. 7 (Sun)")
    measure = str(get("pattern", "measure"))
    if measure not in ("hours", "units"):
        raise PolicyError("welfare.toml [pattern] measure must be 'hours' or 'units'")
    notifiers = raw["notify"] if "notify" in raw else d.get("notify", [])
    policy = Policy(
        timezone=tz,
        continuous_minutes=num("break", "continuous_minutes", 1),
        break_minutes=num("break", "break_minutes", 1),
        enforce_break=bool(get("break", "enforce")),
        day_warn_hours=num("day", "warn_hours"),
        day_stop_hours=num("day", "stop_hours"),
        override_minutes=num("day", "override_minutes", 1),
        cutoff=clock("day", "cutoff"),
        contract_start=clock("contract", "start"),
        contract_end=clock("contract", "end"),
        contract_days=days,
        outside_min_minutes=num("contract", "outside_min_minutes"),
        week_alert_hours=num("week", "alert_hours"),
        week_escalate_hours=num("week", "escalate_hours"),
        weights={str(k): float(v) for k, v in weights.items()},
        blurred_weight=num("units", "blurred_weight"),
        day_warn_units=num("units", "day_warn"),
        day_stop_units=num("units", "day_stop"),
        week_alert_units=num("units", "week_alert"),
        week_escalate_units=num("units", "week_escalate"),
        lock_on_day_stop=bool(get("units", "lock_on_day_stop")),
        pattern_days=int(num("pattern", "days", 1)),
        pattern_fraction=num("pattern", "fraction"),
        pattern_measure=measure,
        counselling_months=int(num("care", "counselling_months", 1)),
        assessment_months=int(num("care", "assessment_months", 1)),
        welfare_check_months=int(num("care", "welfare_check_months", 1)),
        missing_is_overdue=bool(get("care", "missing_is_overdue")),
        lookback_days=int(num("rules", "lookback_days", 1)),
        notifiers=tuple(dict(n) for n in notifiers),
    )
    if policy.day_warn_hours > policy.day_stop_hours:
        raise PolicyError("welfare.toml [day] warn_hours must not exceed stop_hours")
    if policy.week_alert_hours > policy.week_escalate_hours:
        raise PolicyError("welfare.toml [week] alert_hours must not exceed escalate_hours")
    return policy
