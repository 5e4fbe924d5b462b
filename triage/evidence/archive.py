"""Zip and tar(.gz) archives as evidence: read as streams, never extracted.

A member's path is only ever a label (`dump.zip!/DCIM/a.jpg`), so "zip-slip" names cannot write
anywhere; they are flagged.
"""

from __future__ import annotations

import stat
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO

from triage.evidence.base import Entry, Limits, _final, display, oversize_result

EXPANDABLE = frozenset({"zip", "tar", "gzip"})


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
