"""Zip archives as evidence: listed from the central directory, members opened by reference.

A member's ref is `Ref("zip", (index, stored name), <the zip's own ref>)`. Members of a zip the
coordinator can reopen cheaply (a file, a stored member, a byte range) are read by the workers
themselves, in parallel, each keeping the last few zips it opened; members of a zip held in memory
(one found inside a compressed stream) are read here and handed over as bytes.

Hostile constructions are recorded, never obeyed:
- a member whose compressed bytes overlap another member's (the "better zip bomb", which makes
  every member inflate the same kernel) is refused with a reason before any inflation;
- every read is bounded by the bytes actually inflated per compressed byte read
  (streams.InflateGuard), whatever size the header claims;
- encrypted members, links and names escaping the root are recorded with their own status;
- a directory entry that carries data (a place to hide bytes) is read like a file and flagged.
"""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from triage.evidence.archive import (claimed_size_reason, dos_time, read_member,
                                     unsafe_override)
from triage.evidence.base import (Container, ContainerError, Entry, Limits, Probe, Ref, Sample,
                                  _final)
from triage.evidence.labels import Labeller
from triage.evidence.streams import Counting, InflateGuard, bomb_reason, ratio_exceeded

NAME = "zip"
DESCRIPTION = "zip archive (.zip; by content, whatever the name)"
PRIORITY = 20

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length


def sniff(probe: Probe) -> bool:
    return probe.detected_type == "zip"


def _open_zip(stream: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ContainerError(f"zip archive cannot be opened: {exc}") from exc


def overlapping(stream: BinaryIO, infos: list[zipfile.ZipInfo]) -> dict[int, int]:
    """Members whose stored bytes overlap another member's: {index: index of the other}.

    A member occupies its local header, name, extra field and compressed data. No zip writer
    places two members' bytes in one range; a bomb does, to inflate one kernel many times."""
    spans = []
    for i, info in enumerate(infos):
        if info.is_dir() and info.file_size == 0:
            continue
        try:
            stream.seek(info.header_offset)
            sig, n, m = _LOCAL_HEADER.unpack(stream.read(_LOCAL_HEADER.size))
        except (struct.error, OSError, ValueError):
            continue  # no local header: opening the member reports the damage
        if sig != b"PK\x03\x04":
            continue
        end = info.header_offset + _LOCAL_HEADER.size + n + m + info.compress_size
        spans.append((info.header_offset, end, i))
    spans.sort()
    found: dict[int, int] = {}
    reach, owner = -1, -1
    for start, end, i in spans:
        if start < reach:
            found[i] = owner
            found.setdefault(owner, i)
        if end > reach:
            reach, owner = end, i
    return found


def entries(container: Container, limits: Limits) -> Iterator[Entry]:
    stream = container.open()
    if not stream.seekable():
        raise ContainerError(f"zip of {container.size} bytes inside a compressed stream is too"
                             " large to open in memory; its members were not read",
                             status="too_large")
    counting = Counting(stream)
    zf = _open_zip(counting)
    infos = zf.infolist()
    overlaps = overlapping(stream, infos)
    label = Labeller(container.label)
    depth = container.depth + 1
    for index, info in enumerate(infos):
        hidden = None
        if info.is_dir():
            if info.file_size == 0:
                continue  # a folder, not an item: its members are listed on their own
            hidden = ("hidden_data", f"zip directory entry carries {info.file_size} bytes of"
                      " data; read as a file")
        path = label(info.filename)
        when = dos_time(info.date_time)
        facts = {"mtime": when, "size": info.file_size}
        mode = (info.external_attr >> 16) & 0xFFFF
        if index in overlaps:
            other = infos[overlaps[index]].filename
            yield _final(path, "too_large", f"member's compressed bytes overlap those of"
                         f" {other!r} (overlapping entries: a zip bomb construction); not read",
                         **facts)
            continue
        if stat.S_ISLNK(mode):
            yield _final(path, "link", "symbolic link stored in the archive; not followed",
                         **facts)
            continue
        if info.flag_bits & 0x1:
            yield _final(path, "encrypted", "encrypted archive member; cannot be read without"
                         " the password", **facts)
            continue
        refused = claimed_size_reason(info.file_size, limits)
        if refused is None and ratio_exceeded(info.file_size, info.compress_size, limits):
            refused = bomb_reason(info.file_size, info.compress_size, limits, claimed=True,
                                  what="zip bomb")
        if refused:
            yield _final(path, "too_large", refused, **facts)
            continue
        override = unsafe_override(info.filename) or hidden
        ref = Ref(NAME, (index, info.filename), container.ref)
        if not container.in_memory:
            yield Entry(path=path, size=info.file_size, mtime=when, ref=ref, override=override,
                        depth=depth)
            continue
        try:
            with _member(zf, info, counting, limits) as member:
                yield read_member(path, member, info.file_size, when, ref, override, depth,
                                  limits)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            yield _final(path, "corrupt", f"archive member cannot be read: {exc}", **facts)


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, counting: Counting,
            limits: Limits) -> InflateGuard:
    member = zf.open(info)
    start = counting.count
    return InflateGuard(member, lambda: counting.count - start, limits,
                        what="zip bomb")


# Per process: the last few zips this process opened members of, with their parsed central
# directory (parsing it again for each member of a 100,000-member zip would be quadratic).
_open: "OrderedDict[Ref | None, tuple[Counting, zipfile.ZipFile]]" = OrderedDict()
_KEEP_OPEN = 4


def open_entry(ref: Ref, limits: Limits) -> BinaryIO:
    from triage.evidence.registry import open_ref

    index, name = ref.key
    cached = _open.get(ref.container)
    if cached is None:
        assert ref.container is not None
        raw = open_ref(ref.container, limits)
        counting = Counting(raw)
        try:
            zf = _open_zip(counting)
        except ContainerError as exc:
            counting.close()
            raise OSError(str(exc)) from exc
        cached = _open[ref.container] = (counting, zf)
        while len(_open) > _KEEP_OPEN:
            _close(_open.popitem(last=False)[1])
    else:
        _open.move_to_end(ref.container)
    counting, zf = cached
    infos = zf.infolist()
    if index >= len(infos) or infos[index].filename != name:
        raise OSError(f"zip member {name!r} is no longer at index {index}")
    try:
        return _member(zf, infos[index], counting, limits)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise OSError(f"archive member cannot be read: {exc}") from exc


def _close(cached: tuple[Counting, zipfile.ZipFile]) -> None:
    counting, zf = cached
    zf.close()
    counting.close()


def release() -> None:
    while _open:
        _close(_open.popitem()[1])


def sample(folder: Path) -> Sample:
    """A zip with nested folders, a name stored twice, a directory entry carrying data."""
    from triage.demo.synthetic import encode, photo_like

    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        zf.writestr("DCIM/a.jpg", encode(photo_like(2, (64, 48)), "JPEG", 90, None))
        zf.writestr("DCIM/", b"")
        zf.writestr("notes.txt", b"first")
        zf.writestr("notes.txt", b"second")
        zf.writestr(zipfile.ZipInfo("hidden/"), b"bytes in a directory entry")
    path = folder / "sample.zip"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return Sample(path, {"sample.zip", "sample.zip!/DCIM/a.jpg", "sample.zip!/notes.txt",
                         "sample.zip!/notes.txt#2", "sample.zip!/hidden/"})
