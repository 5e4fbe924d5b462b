"""The evidence-source registry: which container kinds triage can open, found through entry
points (group `triage.evidence`, see triage.plugins), and the few functions the rest of triage
uses to reach evidence without knowing any kind by name.

The protocol a source implements is written out in triage/evidence/base.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from triage.evidence.base import (Container, ContainerError, Entry, LimitExceeded, Limits, Probe,
                                  Ref, open_evidence)
from triage.evidence.filetypes import HEAD_BYTES, identify
from triage.evidence.labels import escape_component
from triage.evidence.streams import Span
from triage.plugins import Registry

SOURCES: Registry[ModuleType] = Registry(
    "triage.evidence", "evidence source",
    required=("NAME", "DESCRIPTION", "sniff", "entries", "open_entry"))


class SourceError(Exception):
    """The SOURCE argument itself cannot be ingested (missing, or no source holds it)."""


def container_kind(probe: Probe) -> str | None:
    """The name of the first source (by priority) that holds what `probe` shows, or None."""
    for name, module in SOURCES.items():
        try:
            if module.sniff(probe):
                return name
        except Exception:  # noqa: BLE001 - one plugin's broken sniff must not stop an ingest
            continue
    return None


def open_ref(ref: Ref, limits: Limits | None = None) -> BinaryIO:
    """Open the bytes a ref names, in this process (a worker, or the coordinator)."""
    try:
        module = SOURCES.get(ref.source)
    except KeyError as exc:
        raise OSError(f"no evidence source {ref.source!r} is loaded to open this entry") from exc
    stream: BinaryIO = module.open_entry(ref, limits or Limits())
    if ref.span is not None:
        stream = Span(stream, *ref.span)
    return stream


def members(kind: str, container: Container, limits: Limits) -> Iterator[Entry]:
    """The entries of `container` as source `kind` lists them. Whatever stops the listing (a
    damaged container, a limit, an unreadable file, a bug in a plugin meeting hostile bytes)
    ends it as a ContainerError, so the container's row says why and the run goes on."""
    try:
        yield from SOURCES.get(kind).entries(container, limits)
    except ContainerError:
        raise
    except LimitExceeded as exc:
        raise ContainerError(str(exc), status=exc.status) from exc
    except OSError as exc:
        raise ContainerError(f"cannot read the container: {exc.strerror or exc}",
                             status="unreadable") from exc
    except Exception as exc:  # noqa: BLE001 - hostile bytes reach parsers' untested corners
        raise ContainerError(f"{kind} listing failed: {type(exc).__name__}: {exc}") from exc


def release() -> None:
    """Close what sources keep open in this process (cached containers, folder descriptors)."""
    for module in SOURCES:
        closer = getattr(module, "release", None)
        if closer is not None:
            closer()


@dataclass
class Root:
    """A SOURCE argument, opened: the source that holds it and its first entries."""

    kind: str  # the source's NAME
    name: str  # display name (the folder's or file's name)
    path: Path
    module: ModuleType

    def entries(self, limits: Limits) -> Iterator[Entry]:
        """A source may list a SOURCE itself (`root_entries(path, limits)`, a folder does);
        otherwise the SOURCE is one file, recorded and hashed like any file, then expanded
        by its source like an archive found inside a folder."""
        own = getattr(self.module, "root_entries", None)
        if own is not None:
            yield from own(self.path, limits)
            return
        from triage.evidence import folder

        st = os.stat(self.path)
        yield Entry(path=escape_component(self.path.name), size=st.st_size, mtime=st.st_mtime,
                    atime=st.st_atime, ctime=st.st_ctime, ref=folder.file_ref(self.path))

    def count(self) -> int | None:
        """The number of entries for the progress bar's ETA, if the source can tell quickly."""
        counter = getattr(self.module, "count_root", None)
        return counter(self.path) if counter is not None else None


def open_source(source: Path) -> Root:
    """Which source holds the SOURCE argument, decided by its content (never its name)."""
    if source.is_symlink():
        source = source.resolve()
    if source.is_dir():
        probe = Probe(b"", "folder", is_folder=True, path=str(source))
    elif source.is_file():
        fd = open_evidence(source)
        with os.fdopen(fd, "rb") as f:
            head = f.read(HEAD_BYTES)
        probe = Probe(head, identify(head).name, path=str(source))
    else:
        raise SourceError(f"{source}: no such folder or file")
    kind = container_kind(probe)
    if kind is None:
        known = "; ".join(f"{name}: {module.DESCRIPTION}" for name, module in SOURCES.items())
        raise SourceError(f"{source}: not a known evidence source (found {probe.detected_type})."
                          f" Expected one of — {known}")
    return Root(kind, source.name or str(source), source, SOURCES.get(kind))
