"""The category vocabulary: what a category is, how severe it is, and which one a content takes.

One place for every view. `triage files`/`summary`, the review pages, export, the device report,
the backlog and the exposure figures all ask this module which category a known content carries,
so one device never shows two answers:

- **Severity** (`severity_rank`): UK letters A > B > C, then Project VIC 1 (CAM) > 2 (exploitive /
  age difficult) > 3 (CGI / animation) > 4 (comparison) > 0 (non-pertinent), then not indecent;
  any other category a lab's table maps to after those; "uncertain" and "uncategorised" (no
  information) last. Across the two schemes the UK letters come first, as the backlog and the
  report's schedule have always sorted (a lab grades in one scheme; the order across them only
  matters when lists of both kinds hit one picture).
- **Which category a known content takes** (`known_category`): when a content matches several
  alert lists exactly, the most severe category stands — a court schedule lists the most serious
  — whatever the lists are called; the others are kept and shown beside it. Ties go to the
  list whose name sorts first, so the answer never depends on query order.
- **Raw list values -> categories** (`CategoryMap`, config/categories.toml): per list scheme,
  never guessing.
- **What reviewers press** (`REVIEW_SCHEMES`): the keys of each grading scheme.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

UNCATEGORISED = "uncategorised"
UNCERTAIN = "uncertain"
NOT_INDECENT = "not_indecent"
UK_CATEGORIES = ("A", "B", "C", NOT_INDECENT)   # Sentencing Council 2014 (REFERENCE.md)
VIC_NUMBERS = ("0", "1", "2", "3", "4")          # Project VIC US (REFERENCE.md)
NOT_A_CATEGORY = (UNCATEGORISED, UNCERTAIN)      # exported as Category null
SEVERE = ("A", "1")                              # UK category A, Project VIC category 1 (CAM)

# Most severe first. Categories not listed rank after these, then uncertain, then uncategorised.
SEVERITY = ("A", "B", "C", "1", "2", "3", "4", "0", NOT_INDECENT)
_LAST = {UNCERTAIN: len(SEVERITY) + 1, UNCATEGORISED: len(SEVERITY) + 2}

# Category keys per review grading scheme: the key a reviewer presses, the stored category, a label.
REVIEW_SCHEMES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "uk": (("a", "A", "Category A"), ("b", "B", "Category B"), ("c", "C", "Category C"),
           ("n", NOT_INDECENT, "Not indecent"), ("u", UNCERTAIN, "Uncertain")),
    "vic": (("0", "0", "VIC 0 non-pertinent"), ("1", "1", "VIC 1 CAM"),
            ("2", "2", "VIC 2 exploitive / age difficult"), ("3", "3", "VIC 3 CGI / animation"),
            ("4", "4", "VIC 4 comparison")),
}


def severity_rank(category: str | None) -> int:
    """0 for the most severe category; None counts as uncategorised."""
    if category is None:
        return _LAST[UNCATEGORISED]
    if category in SEVERITY:
        return SEVERITY.index(category)
    return _LAST.get(category, len(SEVERITY))


def by_severity(categories: Iterable[str]) -> list[str]:
    """Distinct categories, most severe first (ties by name)."""
    return sorted(set(categories), key=lambda c: (severity_rank(c), c))


def scheme_of(category: str) -> str:
    """'UK', 'VIC' or '' (for labels such as "UK A" / "VIC 1")."""
    if category in ("A", "B", "C"):
        return "UK"
    if category in VIC_NUMBERS:
        return "VIC"
    return ""


@dataclass(frozen=True)
class KnownCategory:
    """The category an exactly matched content carries, and what the other lists said."""
    category: str
    category_raw: str | None
    hashset: str | None            # the list that gave it
    others: tuple[str, ...]        # the other lists' categories, most severe first
    match: Mapping[str, Any]       # the chosen match, as given

    @property
    def label(self) -> str:
        """'A' or 'A (also C)': for tables and pages."""
        return self.category + (f" (also {', '.join(self.others)})" if self.others else "")


def known_category(matches: Iterable[Mapping[str, Any]]) -> KnownCategory | None:
    """The category of a content from its *exact alert-list* matches (the caller filters).

    Each match is a mapping with `category` (None counts as uncategorised) and optionally
    `hashset` (its list's name) and `category_raw`. The most severe category stands; ties go to
    the list name that sorts first, then to the method. None when there is no match.
    """
    chosen: Mapping[str, Any] | None = None
    key: tuple[Any, ...] = ()
    seen: list[str] = []
    for m in matches:
        cat = m.get("category") or UNCATEGORISED
        seen.append(cat)
        k = (severity_rank(cat), cat, str(m.get("hashset") or ""), str(m.get("method") or ""))
        if chosen is None or k < key:
            chosen, key = m, k
    if chosen is None:
        return None
    category = chosen.get("category") or UNCATEGORISED
    return KnownCategory(category=category, category_raw=chosen.get("category_raw"),
                         hashset=chosen.get("hashset"),
                         others=tuple(c for c in by_severity(seen) if c != category),
                         match=chosen)


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
            return str(s.get("null", UNCATEGORISED))
        table = s.get("map", {})
        if raw in table:
            return str(table[raw])
        return str(s.get("unmapped", UNCATEGORISED))

    def is_mapped(self, scheme: str | None, raw: str | None) -> bool:
        s = self.schemes.get(scheme or "none", {})
        return raw is None or raw in s.get("map", {})
