"""What every evidence source shares: the entry it yields, the safety limits, read-only opening.

Rules that keep evidence intact and the walk finite:
- Folders are opened with O_NOATIME (where the OS allows it) and listed through their file
  descriptor, so neither files nor directories get new access times.
- Symbolic links are recorded (with their target) and never followed: a link that points outside
  the source cannot pull in other data, and a link inside it is ingested at its real path anyway.
- A directory reached twice (bind mounts, hard-linked directories) is recorded as a `loop` and not
  descended again.
- Archives are read as streams, never extracted: a member's path is only ever a label
  (`dump.zip!/DCIM/a.jpg`), so "zip-slip" names cannot write anywhere; they are flagged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from triage.evidence.filetypes import HEAD_BYTES, extension_mismatch, identify
from triage.signals.crypto import MultiHasher, digest_stream
from triage.records import FileResult

NOATIME = getattr(os, "O_NOATIME", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class Limits:
    """Safety limits; every one of them ends in a recorded status, never a crash."""

    in_memory_bytes: int = 256 << 20  # larger files are hash-streamed and not decoded
    max_pixels: int = 250_000_000
    max_decode_bytes: int = 1024 << 20  # a picture whose decode would allocate more: too_large
    max_frames: int = 100  # frames/pages of one picture hashed; beyond: status partial
    max_archive_depth: int = 4  # archive inside archive inside ...
    max_member_bytes: int = 64 << 30  # a member claiming more is not read at all
    max_compression_ratio: int = 1000  # above this (and > 64 MiB) a member is a zip bomb


@dataclass
class Entry:
    """Something found in a source: either bytes to process or an already-final record."""

    path: str
    size: int | None = None
    mtime: float | None = None
    atime: float | None = None
    ctime: float | None = None
    fs_path: str | None = None  # a plain file the worker opens itself
    data: bytes | None = None  # an archive member held in memory
    final: FileResult | None = None  # nothing more to do (link, loop, encrypted member, ...)
    override: tuple[str, str] | None = None  # status+reason applied after processing
    depth: int = 0  # archive nesting depth of this entry

    @property
    def extension(self) -> str:
        return extension_of(self.path)


def extension_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""


def display(name: str) -> str:
    """A printable, storable label for any on-disk name (undecodable bytes shown as \\xNN)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def open_evidence(path: str | os.PathLike[str]) -> int:
    """Open read-only without following a link and, where permitted, without touching atime."""
    return _open_noatime(path, os.O_RDONLY | NOFOLLOW | getattr(os, "O_CLOEXEC", 0))


def _open_noatime(path: str | os.PathLike[str], flags: int) -> int:
    try:
        return os.open(path, flags | NOATIME)
    except PermissionError:
        # O_NOATIME needs ownership or CAP_FOWNER; without them, read the ordinary way.
        return os.open(path, flags)


def _final(path: str, status: str, reason: str, st: os.stat_result | None = None,
           **extra: object) -> Entry:
    result = FileResult(path=path, extension=extension_of(path), status=status, reason=reason,
                        size=st.st_size if st else None, mtime=st.st_mtime if st else None,
                        atime=st.st_atime if st else None, ctime=st.st_ctime if st else None)
    for k, v in extra.items():
        setattr(result, k, v)
    return Entry(path=path, final=result)


def oversize_result(path: str, stream: BinaryIO, limits: Limits) -> FileResult:
    """Hash a file too big to hold in memory as a stream; such a picture is not decoded."""
    head = stream.read(HEAD_BYTES)
    hasher = MultiHasher()
    hasher.update(head)
    digests, size, hit = digest_stream(stream, limits.max_member_bytes, hasher)
    ftype = identify(head)
    result = FileResult(path=path, extension=extension_of(path), size=size, status="ok",
                        detected_type=ftype.name, media_kind=ftype.kind,
                        ext_mismatch=extension_mismatch(ftype, extension_of(path)),
                        md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256,
                        signals=digests.signal_values())
    if hit:
        result.status = "too_large"
        result.reason = f"over {limits.max_member_bytes} bytes; hashes cover only the first part"
        result.md5 = result.sha1 = result.sha256 = None
        result.signals = []
    elif ftype.kind == "image":
        result.status = "too_large"
        result.reason = (f"{size} bytes, over the {limits.in_memory_bytes} byte in-memory limit;"
                         " hashed, not decoded")
    return result
