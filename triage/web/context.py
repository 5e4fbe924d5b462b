"""Per-request access to the workspace, its store, the clock and the review policy.

Kept apart from the blueprints so each page module imports these without importing the others.
The clock is injectable (`create_app(clock=...)`) so exposure arithmetic is tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import current_app, g

from triage.categories import REVIEW_SCHEMES as SCHEMES
from triage.store import Store
from triage.store.review import iso_ms
from triage.workspace import Workspace

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def workspace() -> Workspace:
    return current_app.config["TRIAGE_WORKSPACE"]


def store() -> Store:
    """One connection per request (SQLite connections are cheap; WAL lets readers run beside
    an ingest)."""
    if "triage_store" not in g:
        g.triage_store = workspace().open_store()
    return g.triage_store


def close_store(_exc: BaseException | None = None) -> None:
    s = g.pop("triage_store", None)
    if s is not None:
        s.close()


def now() -> datetime:
    return current_app.config["TRIAGE_CLOCK"]()


def now_text() -> str:
    """ISO 8601 UTC with milliseconds: exposure intervals are seconds long."""
    return iso_ms(now())


@dataclass(frozen=True)
class Policy:
    """The lab's review config with defaults filled in."""

    raw: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.raw.get(name, {}))

    @property
    def scheme(self) -> str:
        name = str(self.raw.get("scheme", {}).get("name", "uk")).lower()
        if name not in SCHEMES:
            raise ValueError(f"config/review.toml: unknown scheme {name!r} (uk or vic)")
        return name

    def display(self, key: str, default: Any) -> Any:
        return self.raw.get("display", {}).get(key, default)

    def exposure(self, key: str, default: Any) -> Any:
        return self.raw.get("exposure", {}).get(key, default)

    def security(self, key: str, default: Any) -> Any:
        return self.raw.get("security", {}).get(key, default)

    @property
    def reveal_before_category(self) -> bool:
        """[decisions] reveal_before_category: a category needs the picture revealed first."""
        return bool(self.raw.get("decisions", {}).get("reveal_before_category", True))

    @property
    def without_reveal(self) -> tuple[str, ...]:
        """Categories that may be given to a picture never revealed ("uncertain": the reviewer
        cannot tell from the blur and says so)."""
        return tuple(str(c) for c in self.raw.get("decisions", {}).get("without_reveal",
                                                                        ["uncertain"]))

    @property
    def peer_categories(self) -> tuple[str, ...]:
        """[peer_check] categories: decisions a second reviewer must confirm before export."""
        return tuple(str(c) for c in self.raw.get("peer_check", {}).get("categories", []))


def policy() -> Policy:
    return current_app.config["TRIAGE_POLICY"]
