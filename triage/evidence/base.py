"""What every evidence source shares: the protocol a source implements, the entry it yields, the
reference that opens an entry again, the safety limits, read-only opening.

Writing a new evidence source (a container kind: a disk image, a phone extraction, a cpio
archive, a remote share) is one module and one entry point; nothing inside `triage/` changes:

    [project.entry-points."triage.evidence"]
    cpio = "lab_triage.cpio"          # the name must equal the module's NAME

The module provides:

    NAME: str            the registry name; it is also `Ref.source` of every ref it makes
    DESCRIPTION: str     one line for `triage plugins` and for the "not a known source" message
    PRIORITY: int        detection order, lower first (most specific signature first)

    sniff(probe: Probe) -> bool
        Does this source hold `probe`? Decide from the content (`probe.head`, the first
        HEAD_BYTES bytes, and `probe.detected_type`), never from a name: a renamed archive is
        still an archive. Called for the SOURCE argument of `triage ingest` and, in the workers,
        for every entry found inside another source (so a zip inside a disk image, or a disk
        image inside a zip, is opened). Must be cheap and must not raise.

    entries(container: Container, limits: Limits) -> Iterator[Entry]
        Enumerate every item of `container`, in a stable order (a resumed run relies on it),
        exactly one Entry per item: an item that cannot be read is still yielded, as
        `_final(label, status, reason)`, never skipped. Label each entry with
        `labels.Labeller(container.label)` (or `labels.escape_path` for a folder-like source
        whose names are unique), so labels stay unique and reversible. Give each entry a `ref`
        (how any process reopens it) and, when the bytes are only reachable by reading the
        container in order (a compressed tar stream), its `data` instead, read through
        `archive.read_member` so size limits hold. Read the container's bytes through
        `container.open()` (a stream that may or may not be seekable), or, for a container
        split over several files (E01, E02, ...), through `open_ref` on refs derived from
        `container.ref`; never write, extract or follow a link out of it. Raise ContainerError when the container
        itself cannot be listed (entries already yielded are kept; the container's row is
        flagged with the message).

    open_entry(ref: Ref, limits: Limits) -> BinaryIO
        Open the bytes of an entry this source enumerated, from its `ref` alone, in any
        process (workers reopen entries themselves, so nothing has to fit in memory and no OS
        path is needed). Open the container through `registry.open_ref(ref.container)`. May keep
        a small per-process cache of open containers (a disk image's file system, a zip's
        central directory) and release it in an optional `release()`. Raise OSError when the
        item cannot be read and LimitExceeded when reading it would break a limit (wrap a
        decompressing stream in `streams.InflateGuard`).

    sample(folder: Path) -> Sample
        Build a small example of this container kind in `folder`, with the labels ingest
        must record from it. The contract test (tests/test_evidence_sources.py) ingests every
        registered source's sample and checks that the evidence is unchanged (bytes and
        timestamps) and that every expected entry has exactly one row.

    Optional, for a source that can be a SOURCE argument in its own right (the folder does):
    root_entries(path: Path, limits: Limits) -> Iterator[Entry]
        The entries of SOURCE `path`. Without it a SOURCE file is recorded as one item, hashed,
        and then expanded through `entries()` like the same file found inside a folder.
    count_root(path: Path) -> int
        A quick count of the entries for the progress bar's ETA (names only, no content read).
    release() -> None
        Close what the source keeps open in this process.

Sources are found through entry points in every process, workers included; `SOURCES.register()`
adds one to the current process only (an ingest with `workers=0`, a test).

Refs are plain picklable values: `Ref(source, key, container, span)`. `key` is whatever the
source needs to find the item again (folder: root and name components plus the inode seen at the
walk; zip: member index and name; a disk image would use partition offset, file-system inode and
attribute), `container` the container's own ref (a chain down to a file the OS can open), `span`
an optional byte range of what `key` names (an archive appended to a picture is the span after
the picture's end).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from triage.evidence.filetypes import HEAD_BYTES, extension_mismatch, identify
from triage.records import FileResult
from triage.signals.crypto import MultiHasher, digest_stream

NOATIME = getattr(os, "O_NOATIME", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Limits:
    """Safety limits; every one of them ends in a recorded status, never a crash."""

    in_memory_bytes: int = 256 << 20  # larger files are hash-streamed and not decoded
    max_pixels: int = 250_000_000
    max_decode_bytes: int = 1024 << 20  # a picture whose decode would allocate more: too_large
    max_frames: int = 100  # frames/pages of one picture hashed; beyond: status partial
    max_archive_depth: int = 4  # archive inside archive inside ...
    max_member_bytes: int = 64 << 30  # a member claiming (or inflating to) more is not read
    # Inflating more than this many bytes per compressed byte read (plus streams.ALLOWANCE)
    # marks a member, of any size, as a decompression bomb; measured while reading.
    max_compression_ratio: int = 1000
    # Keys to unlock encrypted volumes of a disk image: ((volume label, key), ...) from
    # `triage ingest --unlock p3=KEY`. Held in memory only (never stored, never shown).
    unlock: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # A media handler that isolates its work (video) stops a file after this many seconds,
    # keeping what it found and flagging the file, before the worker's own time limit
    # (config/ingest.toml [limits] file_seconds) would record it as `timeout`: 80 % of it.
    media_seconds: float = 240.0
    # JPEGs are decoded at reduced size (DCT scaling) keeping both sides >= this many pixels;
    # 0 decodes every JPEG in full (config/ingest.toml [pictures] draft_px: the trade-off).
    draft_px: int = 1024
    # How videos are sampled (`triage.media.video.VideoSettings`, config/ingest.toml [video]);
    # None: the defaults.
    video: Any = None


@dataclass(frozen=True)
class Ref:
    """How to open an entry's bytes again, from any process: a picklable value, no handles."""

    source: str  # NAME of the evidence source that made it (and can open it)
    key: tuple[Any, ...]  # what that source needs to find the item again
    container: "Ref | None" = None  # the container's own ref (None: the source reaches the OS)
    span: tuple[int, int] | None = None  # (offset, length) of the bytes `key` names

    def sliced(self, offset: int, length: int) -> "Ref":
        """The bytes [offset, offset+length) of this ref's bytes."""
        base = self.span[0] if self.span else 0
        return Ref(self.source, self.key, self.container, (base + offset, length))


@dataclass(frozen=True)
class Probe:
    """What a source sees when asked whether it holds something (see `sniff`)."""

    head: bytes  # the first HEAD_BYTES bytes (b"" for a folder)
    detected_type: str  # filetypes.identify(head).name: "zip", "tar", "gzip", "unknown", ...
    is_folder: bool = False
    path: str | None = None  # the OS path of a SOURCE argument; None for an entry inside one


@dataclass
class Sample:
    """A source's example for the contract test: a path to ingest and the labels it yields."""

    path: Path
    labels: set[str]


@dataclass
class Entry:
    """Something found in a source: bytes to process (by `ref`, or `data` already read) or an
    already-final record."""

    path: str  # the label (see triage.evidence.labels)
    size: int | None = None
    mtime: float | None = None
    atime: float | None = None
    ctime: float | None = None
    ref: Ref | None = None  # how a worker opens the bytes itself
    data: bytes | None = None  # bytes already read by the source (a member of a tar stream)
    final: FileResult | None = None  # nothing more to do (link, loop, encrypted member, ...)
    override: tuple[str, str] | None = None  # status+reason applied after processing if ok
    depth: int = 0  # archive nesting depth of this entry
    # Where the item sits in a disk image's file system (partition, file system, inode,
    # deleted, created, ...): carried to the item's row (triage.store.disk).
    origin: dict[str, Any] | None = None

    @property
    def extension(self) -> str:
        return extension_of(self.path)


@dataclass
class Container:
    """A container being enumerated by its source: a folder, an archive, an appended archive."""

    label: str  # its own label ("" for a folder SOURCE); members are `label!/name`
    ref: Ref | None  # how its bytes (or for a folder, the folder) are reached
    depth: int = 0  # nesting depth of the container; its members are depth + 1
    size: int | None = None
    data: bytes | None = None  # its bytes, when the coordinator holds them in memory
    limits: Limits = field(default_factory=Limits)
    _stream: BinaryIO | None = field(default=None, repr=False)

    def open(self) -> BinaryIO:
        """A stream on the container's bytes, opened once and closed by `close()`.

        Seekable when the bytes are in memory or the source's stream allows cheap seeks. A
        container whose stream only reads in order (an archive inside a compressed member) is
        read into memory first when it fits the in-memory limit, so a zip inside a tar.gz can
        be listed; beyond the limit the stream is handed over as it is."""
        if self._stream is None:
            if self.data is None:
                from triage.evidence.registry import open_ref

                assert self.ref is not None
                stream = open_ref(self.ref, self.limits)
                if stream.seekable() or self.size is None \
                        or self.size > self.limits.in_memory_bytes:
                    self._stream = stream
                    return stream
                from triage.evidence.streams import read_upto

                with stream:
                    self.data = read_upto(stream, self.limits.in_memory_bytes, self.size)
            import io

            self._stream = io.BytesIO(self.data)
        return self._stream

    @property
    def in_memory(self) -> bool:
        return self.data is not None

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class ContainerError(Exception):
    """The container cannot be listed (or listing had to stop). `status` is what the container's
    own row becomes if it was `ok`: `corrupt` when it is damaged, `too_large` when a limit
    stopped it, None when the bytes are simply not this kind of container after all."""

    def __init__(self, message: str, status: str | None = "corrupt") -> None:
        super().__init__(message)
        self.status = status

    @property
    def damaged(self) -> bool:
        return self.status == "corrupt"


class LimitExceeded(Exception):
    """Reading an entry would break a safety limit; the entry ends with `status` and the
    message as its reason."""

    def __init__(self, message: str, status: str = "too_large") -> None:
        super().__init__(message)
        self.status = status


class DamagedData(OSError):
    """The bytes of an entry cannot be decompressed (bad CRC, truncated stream): `corrupt`."""


class NotRegularFile(OSError):
    """What was a regular file at the walk is now a pipe, device or socket: not read."""


def extension_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""


def open_evidence(path: str | os.PathLike[str], dir_fd: int | None = None) -> int:
    """Open a file read-only without following a link, without blocking on a pipe swapped in
    for it and, where permitted, without touching atime; refuse anything but a regular file."""
    fd = _open_noatime(path, os.O_RDONLY | NOFOLLOW | CLOEXEC | os.O_NONBLOCK, dir_fd)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(0, "not a regular file any more (replaced by a pipe, device or"
                                    " socket after the walk); not read")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_noatime(path: str | os.PathLike[str], flags: int, dir_fd: int | None = None) -> int:
    try:
        return os.open(path, flags | NOATIME, dir_fd=dir_fd)
    except PermissionError:
        # O_NOATIME needs ownership or CAP_FOWNER; without them, read the ordinary way.
        return os.open(path, flags, dir_fd=dir_fd)


def _final(path: str, status: str, reason: str, st: os.stat_result | None = None,
           **extra: object) -> Entry:
    result = FileResult(path=path, extension=extension_of(path), status=status, reason=reason,
                        size=st.st_size if st else None, mtime=st.st_mtime if st else None,
                        atime=st.st_atime if st else None, ctime=st.st_ctime if st else None)
    for k, v in extra.items():
        setattr(result, k, v)
    return Entry(path=path, final=result)


def oversize_result(path: str, stream: BinaryIO, limits: Limits, read: bytes = b"",
                    streamed: bool = False) -> FileResult:
    """Hash a file too big to hold in memory as a stream (`read`: its bytes already read); such a
    picture is not decoded. A container found this way is still opened (by reference).
    `streamed`: the media handler for its kind reads a stream (video), so the file stays `ok`
    here and the worker has it examined from its reference."""
    from triage.evidence.findings import note_findings

    head = read[:HEAD_BYTES] or stream.read(HEAD_BYTES)
    hasher = MultiHasher()
    hasher.update(read or head)
    ftype = identify(head)
    try:
        digests, size, hit = digest_stream(stream, limits.max_member_bytes, hasher)
    except LimitExceeded as exc:
        return FileResult(path=path, extension=extension_of(path), size=None,
                          status=exc.status, reason=str(exc), detected_type=ftype.name,
                          media_kind=ftype.kind)
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
    elif ftype.kind == "image" and not streamed:
        result.status = "too_large"
        result.reason = (f"{size} bytes, over the {limits.in_memory_bytes} byte in-memory limit;"
                         " hashed, not decoded")
    else:
        note_findings(result, head)  # a container found this way is still opened (by ref)
    return result
