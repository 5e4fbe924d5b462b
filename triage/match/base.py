"""What a matcher is: code that compares contents with the hash-list library and says what
each matched.

`triage.match.matcher.match_contents` runs every registered matcher (`triage.matchers` entry
points, in priority order) over the same `MatchJob` and records what they found together: per
(content, list, method) the closest finding is kept, a near finding is dropped where the same
list matched the bytes exactly, and the list's category is mapped through the lab's scheme. A
matcher only finds; it never writes matches itself, so re-running is safe and two matchers
cannot disagree in the store.

A `Found` with `distance` None is exact (it makes the content *known*); with a distance it is a
near candidate for a person to confirm. `frame` says which frame of the content matched (None:
the bytes as a whole).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from triage.match.matcher import MatchConfig, MatchReport


@dataclass(frozen=True)
class Found:
    content_id: int
    hashset_id: int
    method: str  # md5 | sha1 | sha256 | pdq | pdq-dihedral | a plugin matcher's own
    distance: int | None  # None: exact
    category_raw: str | None
    frame: int | None = None

    @property
    def near(self) -> bool:
        return self.distance is not None


@dataclass
class MatchJob:
    """One matching pass: which contents against which lists, with what settings.

    `lists` are the catalogue rows (id -> row) to match against; `contents` the rows of
    `store.contents_to_match` (identity digests, media kind, derivative). A matcher reads any
    further signal it needs through the store (`store.signal_values`). `report` is where a
    matcher adds its own counts (e.g. dihedral variants hashed).
    """

    store: Any
    config: "MatchConfig"
    lists: dict[int, dict[str, Any]]
    contents: list[dict[str, Any]]
    report: "MatchReport"
    progress: bool | None = False


@runtime_checkable
class Matcher(Protocol):
    name: str
    description: str

    def match(self, job: MatchJob) -> Iterable[Found]: ...
