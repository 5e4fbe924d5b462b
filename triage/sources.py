"""Enumerate what a source holds — a folder tree or an archive — without changing any of it.

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
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from triage.filetypes import HEAD_BYTES, extension_mismatch, identify
from triage.hashing import MultiHasher, digest_stream
from triage.records import FileResult

NOATIME = getattr(os, "O_NOATIME", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
EXPANDABLE = frozenset({"zip", "tar", "gzip"})


@dataclass(frozen=True)
class Limits:
    """Safety limits; every one of them ends in a recorded status, never a crash."""

    in_memory_bytes: int = 256 << 20  # larger files are hash-streamed and not decoded
    max_pixels: int = 250_000_000
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


# -- folders ----------------------------------------------------------------------------
def count_folder(root: str) -> int:
    """A quick pre-count for the progress bar's ETA (lists names only, reads no file)."""
    return sum(1 for _ in walk_folder(root))


def _identity(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


def walk_folder(root: str) -> Iterator[Entry]:
    visited = {_identity(os.stat(root))}
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        directory, rel = stack.pop()
        try:
            fd = _open_noatime(directory, os.O_RDONLY | os.O_DIRECTORY | NOFOLLOW)
        except OSError as exc:
            yield _final(rel.rstrip("/") or ".", "unreadable", f"cannot list folder: {exc.strerror}")
            continue
        try:
            with os.scandir(fd) as it:
                items = sorted(it, key=lambda e: e.name)
            subdirs = []
            for item in items:
                path = rel + display(item.name)
                full = os.path.join(directory, item.name)
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError as exc:
                    yield _final(path, "unreadable", f"cannot stat: {exc.strerror}")
                    continue
                mode = st.st_mode
                if stat.S_ISLNK(mode):
                    try:
                        target = display(os.readlink(full))
                    except OSError:
                        target = "?"
                    yield _final(path, "link", f"symbolic link to {target!r}; not followed", st)
                elif stat.S_ISDIR(mode):
                    key = _identity(st)
                    if key in visited:
                        yield _final(path, "loop", "folder already visited (mount or link loop);"
                                     " not descended again", st)
                    else:
                        visited.add(key)
                        subdirs.append((full, path + "/"))
                elif stat.S_ISREG(mode):
                    yield Entry(path=path, size=st.st_size, mtime=st.st_mtime,
                                atime=st.st_atime, ctime=st.st_ctime, fs_path=full)
                else:
                    yield _final(path, "special", "device, socket or pipe; not read", st)
            stack.extend(reversed(subdirs))
        finally:
            os.close(fd)


# -- archives ---------------------------------------------------------------------------
def unsafe_member_name(name: str) -> str | None:
    """Why an archive member's name would escape the extraction root, or None if it is safe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "'..' climbs out of the archive root"
    return None


def _unsafe_override(name: str) -> tuple[str, str] | None:
    """The status a member with an escaping name ends with (it is still read and hashed)."""
    unsafe = unsafe_member_name(name)
    return ("unsafe_path", f"archive member name escapes the archive root ({unsafe});"
            " recorded, never extracted") if unsafe else None


def archive_members(parent: str, fileobj: BinaryIO, kind: str, depth: int,
                    limits: Limits) -> Iterator[Entry]:
    """Members of a zip or tar(.gz) as entries; raises ArchiveError if the container is damaged."""
    if kind == "zip":
        yield from _zip_members(parent, fileobj, depth, limits)
    else:
        yield from _tar_members(parent, fileobj, depth, limits, gzip_only=kind == "gzip")


class ArchiveError(Exception):
    """The container cannot be listed. `damaged` is False for a plain .gz of a single file."""

    def __init__(self, message: str, damaged: bool = True) -> None:
        super().__init__(message)
        self.damaged = damaged


class _Labeller:
    """Member labels must be unique: a name stored twice gets `#2`, `#3`."""

    def __init__(self, parent: str) -> None:
        self.parent = parent
        self.seen: dict[str, int] = {}

    def __call__(self, name: str) -> str:
        label = f"{self.parent}!/{display(name)}"
        n = self.seen.get(label, 0) + 1
        self.seen[label] = n
        return label if n == 1 else f"{label}#{n}"


def _zip_members(parent: str, fileobj: BinaryIO, depth: int, limits: Limits) -> Iterator[Entry]:
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"zip archive cannot be opened: {exc}") from exc
    label = _Labeller(parent)
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            path = label(info.filename)
            when = _zip_time(info)
            times = {"mtime": when, "size": info.file_size}
            mode = (info.external_attr >> 16) & 0xFFFF
            if stat.S_ISLNK(mode):
                yield _final(path, "link", "symbolic link stored in the archive; not followed",
                             **times)
                continue
            if info.flag_bits & 0x1:
                yield _final(path, "encrypted", "encrypted archive member; cannot be read without"
                             " the password", **times)
                continue
            bomb = _bomb_reason(info.file_size, info.compress_size, limits)
            if bomb:
                yield _final(path, "too_large", bomb, **times)
                continue
            try:
                with zf.open(info) as member:
                    yield _read_member(path, member, info.file_size, when,
                                       _unsafe_override(info.filename), depth, limits)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                yield _final(path, "corrupt", f"archive member cannot be read: {exc}", **times)


def _tar_members(parent: str, fileobj: BinaryIO, depth: int, limits: Limits,
                 gzip_only: bool) -> Iterator[Entry]:
    try:
        tf = tarfile.open(fileobj=fileobj, mode="r|*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        if gzip_only:
            raise ArchiveError("gzip file does not hold a tar archive; not expanded",
                               damaged=False) from exc
        raise ArchiveError(f"not a readable tar stream: {exc}") from exc
    label = _Labeller(parent)
    count = 0
    try:
        for ti in tf:
            count += 1
            if ti.isdir():
                continue
            path = label(ti.name)
            if ti.issym() or ti.islnk():
                yield _final(path, "link", f"link stored in the archive to"
                             f" {display(ti.linkname)!r}; not followed", mtime=float(ti.mtime))
                continue
            if not ti.isreg():
                yield _final(path, "special", "device, pipe or other special archive member",
                             mtime=float(ti.mtime))
                continue
            member = tf.extractfile(ti)
            if member is None:
                continue
            yield _read_member(path, member, ti.size, float(ti.mtime), _unsafe_override(ti.name),
                               depth, limits)
    except (tarfile.TarError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"tar stream damaged after {count} members: {exc}") from exc
    finally:
        tf.close()


def _read_member(path: str, member: BinaryIO, size: int, mtime: float | None,
                 override: tuple[str, str] | None, depth: int, limits: Limits) -> Entry:
    if size > limits.in_memory_bytes:
        e = Entry(path=path, final=oversize_result(path, member, limits))
        e.final.mtime = mtime
        if override and e.final.status == "ok":
            e.final.status, e.final.reason = override
        return e
    data = member.read(size + 1)
    return Entry(path=path, size=len(data), mtime=mtime, data=data, override=override,
                 depth=depth + 1)


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
                        md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256)
    if hit:
        result.status = "too_large"
        result.reason = f"over {limits.max_member_bytes} bytes; hashes cover only the first part"
        result.md5 = result.sha1 = result.sha256 = None
    elif ftype.kind == "image":
        result.status = "too_large"
        result.reason = (f"{size} bytes, over the {limits.in_memory_bytes} byte in-memory limit;"
                         " hashed, not decoded")
    return result


def _bomb_reason(size: int, compressed: int, limits: Limits) -> str | None:
    if size > limits.max_member_bytes:
        return f"member claims {size} bytes, over the {limits.max_member_bytes} byte limit; not read"
    if size > (64 << 20) and compressed > 0 and size / compressed > limits.max_compression_ratio:
        return (f"compression ratio {size // compressed}:1 over the"
                f" {limits.max_compression_ratio}:1 limit (zip bomb); not read")
    return None


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    import datetime as dt

    try:
        return dt.datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError):
        return None
