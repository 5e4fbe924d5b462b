"""Ingest: the coordinator that walks evidence, the worker that examines one entry, the executor.

The names below are imported on first use: a worker process imports `triage.ingest.worker`
alone, not the coordinator with the store it never touches.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IngestOptions", "IngestReport", "ingest"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from triage.ingest import coordinator

        return getattr(coordinator, name)
    raise AttributeError(name)
