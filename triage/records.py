"""Plain values passed between pipeline stages and the store (no logic, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Every file ends with exactly one of these. `ok` means every step that applies to its type was
# done; the rest say why something could not be done. Hashes are still recorded whenever the
# bytes could be read, so nothing about a bad file is lost.
STATUSES = {
    "ok": "fully processed",
    "empty": "zero-byte file",
    "corrupt": "image could not be decoded (truncated or damaged)",
    "too_large": "over a safety limit (pixels, decode memory, size or compression ratio);"
                 " not decoded",
    "unreadable": "could not be read (permissions, I/O error, vanished)",
    "encrypted": "encrypted archive member; content not readable without the key",
    "unsupported": "a picture format that is recognised but cannot be decoded here",
    "link": "symbolic link; recorded, never followed",
    "loop": "directory already visited (link or mount loop); not descended again",
    "special": "device, socket or pipe; not read",
    "unsafe_path": "archive member path escapes the archive root (zip-slip) or is absolute",
    "partial": "only part of the content was examined (e.g. frames beyond the per-file limit)",
    "too_deep": "archive nested deeper than the depth limit; hashed, its members not read",
    "hidden_data": "data where the format says there is none (after a picture's end, in a zip"
                   " directory entry); read and flagged",
    "unrecognised": "named as a picture or video, but the bytes are no known type (encrypted,"
                    " wiped or damaged)",
    "unrecoverable": "deleted file-system entry whose content is gone (metadata or blocks"
                     " released or reused); name and times recorded",
}


@dataclass(frozen=True)
class SignalValue:
    """One value of one signal (`triage.signals`) computed from a content.

    `frame` is the frame or page it was computed from (0: the content itself, or its first
    frame); `seconds` its time in a video (None for pictures). `value` is lower-case hex.
    """

    signal: str
    value: str
    quality: int | None = None
    frame: int = 0
    seconds: float | None = None


# Derivative "frames" that are not frames: a video's contact sheet (its representative, the one
# the grid shows) and its playback clip (WebM). Frames of the content itself are 0 and up.
SHEET_FRAME = -1
CLIP_FRAME = -2


@dataclass(frozen=True)
class Derivative:
    """A small copy written at ingest (never the evidence): `name` is relative to the
    workspace's derivative folder. Frame 0 is the representative the review pages show."""

    frame: int
    name: str
    seconds: float | None = None


@dataclass
class MediaInfo:
    """What a media handler (`triage.media`) found out about a content it examined.

    `frames` counts the frames or pages the file holds (1 for a still picture), whether or not
    all were examined; `extra` holds what only one kind of media has (a video's duration).
    """

    kind: str
    width: int
    height: int
    frames: int = 1
    exif_make: str | None = None
    exif_model: str | None = None
    exif_datetime_original: str | None = None
    exif_gps: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileResult:
    """One file on a device, as ingest found it."""

    path: str
    extension: str
    size: int | None
    status: str
    reason: str | None = None
    mtime: float | None = None
    atime: float | None = None
    ctime: float | None = None
    detected_type: str | None = None
    media_kind: str | None = None
    ext_mismatch: bool | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    media: MediaInfo | None = None  # set when a media handler examined the content
    signals: list[SignalValue] = field(default_factory=list)  # beyond md5/sha1/sha256
    derivatives: list[Derivative] = field(default_factory=list)
    archive_state: str | None = None  # pending | done | damaged | not_expanded (archives)
    # Where data hidden after a picture's end starts (the first non-zero byte after it).
    appended_offset: int | None = None
    # The evidence source that holds these bytes (or the appended bytes), if any: the
    # coordinator opens it. Not stored: `detected_type` and `archive_state` say it.
    container: str | None = None
    # For an item of a disk image: its file system's facts (triage.evidence.filesystems),
    # stored by triage.store.disk; the coordinator copies it from the entry.
    origin: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def signal(self, name: str, frame: int = 0) -> SignalValue | None:
        """The value of signal `name` at `frame`, if one was computed."""
        return next((s for s in self.signals if s.signal == name and s.frame == frame), None)

    @property
    def derivative(self) -> str | None:
        """The representative derivative, the one the review pages show: a video's contact
        sheet, else frame 0's."""
        by_frame = {d.frame: d.name for d in self.derivatives}
        return by_frame.get(SHEET_FRAME, by_frame.get(0))


@dataclass
class IngestCounts:
    files: int = 0
    skipped_done: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, status: str) -> None:
        self.files += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def moved(self, old: str, new: str) -> None:
        """A recorded file's status changed afterwards (an archive found damaged or stopped)."""
        self.by_status[old] -= 1
        if not self.by_status[old]:
            del self.by_status[old]
        self.by_status[new] = self.by_status.get(new, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        """As reports and the run log show them (one spelling for both)."""
        return {"files": self.files, "skipped_already_done": self.skipped_done,
                "by_status": self.by_status}
