"""Raw list categories -> the categories triage reports, per scheme (config/categories.toml)."""

from __future__ import annotations

from typing import Any


class CategoryMap:
    """Maps (scheme, raw) to a reported category; never guesses, says what it could not map."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.schemes: dict[str, dict[str, Any]] = config.get("schemes", {})

    def names(self) -> list[str]:
        return sorted(self.schemes)

    def check(self, scheme: str) -> None:
        if scheme not in self.schemes:
            raise ValueError(f"unknown category scheme {scheme!r} (config/categories.toml has:"
                             f" {', '.join(self.names())})")

    def map(self, scheme: str | None, raw: str | None) -> str:
        s = self.schemes.get(scheme or "none") or self.schemes.get("none", {})
        if raw is None:
            return str(s.get("null", "uncategorised"))
        table = s.get("map", {})
        if raw in table:
            return str(table[raw])
        return str(s.get("unmapped", "uncategorised"))

    def is_mapped(self, scheme: str | None, raw: str | None) -> bool:
        s = self.schemes.get(scheme or "none", {})
        return raw is None or raw in s.get("map", {})
