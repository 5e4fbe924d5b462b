"""What a media handler is: the code that examines one kind of media (pictures today, video
next) and says what it yields.

The ingest worker hands a handler a `MediaInput` and gets back a `MediaOutcome`: one status and
reason (`ok`, or why not everything could be examined), the media information (size, frame
count, EXIF, a kind's own metadata in `extra`), the signal values computed from the decoded
content (each with its frame index and time), and small derivatives (JPEG bytes; the worker
writes them into the workspace, frame 0 being the representative the review pages show).

Content larger than memory: a handler declaring `streams = True` reads its input through
`MediaInput.open()`, a fresh seekable binary stream each call (a file on disk, an archive member
re-opened by reference, a range of a disk image), and may be handed content that was never read
into memory (`data` is None). A handler with `streams = False` (pictures: Pillow decodes from a
buffer) is only given content held in memory, up to `[limits] in_memory_mib`.

A handler never raises for bad input: a damaged file is an outcome (`corrupt`), not an error.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, runtime_checkable

from triage.evidence.base import Limits
from triage.evidence.filetypes import FileType
from triage.records import MediaInfo, SignalValue


@dataclass
class MediaInput:
    """One content to examine: in memory (`data`) or re-openable (`opener`)."""

    ftype: FileType
    size: int
    data: bytes | None = None
    opener: Callable[[], BinaryIO] | None = None

    def open(self) -> BinaryIO:
        """A new seekable stream over the whole content, positioned at its start."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.opener is None:
            raise ValueError("media input has neither data nor an opener")
        return self.opener()


@dataclass
class DerivativeImage:
    """A small JPEG made from one decoded frame (never the evidence)."""

    frame: int
    jpeg: bytes
    seconds: float | None = None


@dataclass
class MediaOutcome:
    status: str  # ok | corrupt | too_large | unsupported | partial
    reason: str | None
    info: MediaInfo | None = None
    signals: list[SignalValue] = field(default_factory=list)
    derivatives: list[DerivativeImage] = field(default_factory=list)


@runtime_checkable
class MediaHandler(Protocol):
    name: str
    kinds: frozenset[str]  # file-type kinds it examines (`triage.evidence.filetypes`)
    streams: bool  # True: reads through MediaInput.open() and accepts content beyond memory
    description: str

    def setup(self) -> None:
        """Once per worker process, before the first examine (register decoders)."""

    def examine(self, media: MediaInput, limits: Limits,
                want_derivatives: bool) -> MediaOutcome: ...
