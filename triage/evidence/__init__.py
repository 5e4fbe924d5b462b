"""Evidence: what a seized device arrives as (a folder, an archive), enumerated read-only."""

from __future__ import annotations

import os
from pathlib import Path

from triage.evidence.archive import EXPANDABLE
from triage.evidence.base import open_evidence
from triage.evidence.filetypes import HEAD_BYTES, identify


class SourceError(Exception):
    """The SOURCE argument itself cannot be ingested (missing, not a folder or archive)."""


def classify_source(source: Path) -> tuple[str, str]:
    """(kind, display name) for a SOURCE argument: a folder, or a zip/tar/tar.gz archive."""
    if source.is_symlink():
        source = source.resolve()
    if source.is_dir():
        return "folder", source.name or str(source)
    if not source.is_file():
        raise SourceError(f"{source}: no such folder or archive")
    fd = open_evidence(source)
    with os.fdopen(fd, "rb") as f:
        kind = identify(f.read(HEAD_BYTES)).name
    if kind not in EXPANDABLE:
        raise SourceError(f"{source}: expected a folder or a .zip/.tar/.tar.gz archive, found {kind}")
    return "archive", source.name
