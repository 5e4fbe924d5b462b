"""Tar archives (plain, gzip'd or xz'd) as evidence: read as one stream, in order, never extracted.

A compressed tar has no index: a member is only reachable by inflating everything before it.
So members are read here, in stream order, as the stream passes (held in memory up to the
in-memory limit, hashed as a stream beyond it), and handed to the workers as bytes. A member's
ref, `Ref("tar", (index, stored name), <the tar's own ref>)`, still reopens it (by reading the
stream again up to it), which is what an oversized archive inside the tar needs.

The stream's inflation is bounded by what it actually inflates (streams.InflateGuard, measured
over the stream so far: decompressed position against compressed bytes read): a member that
takes the stream over the ratio is recorded as `too_large`, and the stream stops there, since reaching the next
member would mean inflating the rest of the bomb; the tar's own row says where it stopped.
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from triage.evidence.archive import claimed_size_reason, read_member, unsafe_override
from triage.evidence.base import (Container, ContainerError, Entry, LimitExceeded, Limits,
                                  Probe, Ref, Sample, _final)
from triage.evidence.labels import Labeller, escape_path
from triage.evidence.streams import Counting, InflateGuard

NAME = "tar"
DESCRIPTION = "tar archive, plain or compressed with gzip or xz (.tar, .tar.gz, .tgz, .tar.xz)"
PRIORITY = 30

_USTAR_AT = 257


def _is_tar_header(block: bytes) -> bool:
    return block[_USTAR_AT : _USTAR_AT + 5] == b"ustar"


def sniff(probe: Probe) -> bool:
    if probe.detected_type == "tar":
        return True
    try:
        if probe.detected_type == "gzip":
            return _is_tar_header(zlib.decompressobj(31).decompress(probe.head, 1024))
        if probe.detected_type == "xz":
            return _is_tar_header(lzma.LZMADecompressor().decompress(probe.head, 1024))
    except (zlib.error, lzma.LZMAError, EOFError):
        return False
    return False


def _stream(raw: BinaryIO) -> tuple[Counting, tarfile.TarFile]:
    counting = Counting(raw)
    try:
        return counting, tarfile.open(fileobj=counting, mode="r|*")
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise ContainerError(f"not a readable tar stream: {exc}") from exc


def _guarded(tf: tarfile.TarFile, ti: tarfile.TarInfo, counting: Counting,
             limits: Limits) -> InflateGuard | None:
    member = tf.extractfile(ti)
    if member is None:
        return None
    # Measured over the whole stream: a gzip stream is read in blocks, so a member's own
    # compressed bytes are often read with the member before it.
    return InflateGuard(member, lambda: counting.count, limits, inflated_before=ti.offset_data)


def entries(container: Container, limits: Limits) -> Iterator[Entry]:
    counting, tf = _stream(container.open())
    label = Labeller(container.label)
    depth = container.depth + 1
    count = 0
    try:
        for index, ti in enumerate(tf):
            count += 1
            if ti.isdir():
                continue
            path = label(ti.name)
            mtime = float(ti.mtime)
            if ti.issym() or ti.islnk():
                yield _final(path, "link", f"link stored in the archive to"
                             f" {escape_path(ti.linkname)!r}; not followed", mtime=mtime)
                continue
            if not ti.isreg():
                yield _final(path, "special", "device, pipe or other special archive member",
                             mtime=mtime)
                continue
            refused = claimed_size_reason(ti.size, limits)
            if refused:
                yield _final(path, "too_large", refused, mtime=mtime, size=ti.size)
                raise ContainerError(f"stopped after {count} members: {refused}",
                                     status="too_large")
            member = _guarded(tf, ti, counting, limits)
            if member is None:
                continue
            entry = read_member(path, member, ti.size, mtime,
                                Ref(NAME, (index, ti.name), container.ref),
                                unsafe_override(ti.name), depth, limits)
            yield entry
            if member.tripped:
                # The next member lies behind the rest of this one: reaching it means
                # inflating the bomb after all.
                raise ContainerError(f"stopped after {count} members: {member.tripped}",
                                     status="too_large")
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise ContainerError(f"tar stream damaged after {count} members: {exc}") from exc
    finally:
        tf.close()


class _Holding(io.RawIOBase):
    """A member stream that keeps its tar stream (and the file under it) open until closed."""

    def __init__(self, member: InflateGuard, tf: tarfile.TarFile, counting: Counting) -> None:
        super().__init__()
        self.member, self.tf, self.counting = member, tf, counting

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:
        data = self.member.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.member.close()
            self.tf.close()
            self.counting.close()
        super().close()


def open_entry(ref: Ref, limits: Limits) -> BinaryIO:
    from triage.evidence.registry import open_ref

    index, name = ref.key
    assert ref.container is not None
    try:
        counting, tf = _stream(open_ref(ref.container, limits))
    except ContainerError as exc:
        raise OSError(str(exc)) from exc
    try:
        for i, ti in enumerate(tf):
            if i == index:
                if ti.name != name or not ti.isreg():
                    raise OSError(f"tar member {name!r} is no longer at index {index}")
                member = _guarded(tf, ti, counting, limits)
                assert member is not None
                return _Holding(member, tf, counting)
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, LimitExceeded) as exc:
        tf.close()
        counting.close()
        raise OSError(f"tar member cannot be reached: {exc}") from exc
    tf.close()
    counting.close()
    raise OSError(f"tar member {name!r} not found")


def sample(folder: Path) -> Sample:
    """A gzip'd tar with a picture, a name stored twice, a link and an escaping name."""
    from triage.demo.synthetic import encode, photo_like

    members = {"DCIM/a.jpg": encode(photo_like(3, (64, 48)), "JPEG", 90, None),
               "notes.txt": b"first", "../outside.txt": b"climbs out"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in list(members.items()) + [("notes.txt", b"second")]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link.txt")
        link.type, link.linkname = tarfile.SYMTYPE, "notes.txt"
        tf.addfile(link)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sample.tar.gz"
    path.write_bytes(buf.getvalue())
    return Sample(path, {"sample.tar.gz", "sample.tar.gz!/DCIM/a.jpg", "sample.tar.gz!/notes.txt",
                         "sample.tar.gz!/notes.txt#2", "sample.tar.gz!/../outside.txt",
                         "sample.tar.gz!/link.txt"})
