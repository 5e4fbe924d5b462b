"""Signals: what is computed from content to recognise it (digests, PDQ, pHash, dHash) and the
indexes that search them, found through the `triage.signals` registry (entry points, see
`triage.plugins`; the protocol is in `triage.signals.base`).

A new hash type is one object declared under that group: the ingest worker computes every
registered signal that applies to a content (`signals_for`), the store keeps each value in its
one `signals` table, and a matcher (`triage.match`) can compare it with a list.
"""

from __future__ import annotations

from triage.plugins import Registry
from triage.signals.base import KINDS, Picture, Signal

SIGNALS: Registry[Signal] = Registry(
    "triage.signals", "signal", required=("name", "kinds", "compute", "distance", "examples"))


def signals_for(kind: str) -> list[tuple[str, Signal]]:
    """(name, signal) of every registered signal applying to `kind` (bytes, picture, frame)."""
    if kind not in KINDS:
        raise ValueError(f"unknown content kind {kind!r} (one of {', '.join(KINDS)})")
    return [(name, s) for name, s in SIGNALS.items() if kind in s.kinds]


__all__ = ["SIGNALS", "KINDS", "Picture", "Signal", "signals_for"]
