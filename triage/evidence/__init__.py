"""Evidence: what a seized device arrives as (a folder, an archive; later disk images), enumerated
read-only through the evidence-source registry.

One module per container kind (`folder`, `zip_archive`, `tar_archive`), each registered as an
entry point of group `triage.evidence`; the protocol is in `base`, the registry and the functions
the pipeline calls (`open_source`, `container_kind`, `members`, `open_ref`) in `registry`.
Shared pieces: `labels` (unique, reversible labels), `streams` (byte ranges, the inflation guard),
`archive` (member names and reading), `filetypes` (type by content), `picture_end` (data hidden
after a picture).
"""

from __future__ import annotations

from triage.evidence.registry import (SOURCES, Root, SourceError, container_kind, members,
                                      open_ref, open_source, release)

__all__ = ["SOURCES", "Root", "SourceError", "container_kind", "members", "open_ref",
           "open_source", "release"]
