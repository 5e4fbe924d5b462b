"""Match: the hash-list library (`lists/`) and the matchers that compare contents with it,
found through the `triage.matchers` registry (entry points, see `triage.plugins`; the protocol
is in `triage.match.base`, the stage that runs them in `triage.match.matcher`)."""

from __future__ import annotations

from typing import Any

from triage.plugins import Registry

MATCHERS: Registry[Any] = Registry("triage.matchers", "matcher", required=("name", "match"))

__all__ = ["MATCHERS"]
