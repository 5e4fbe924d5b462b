"""What the disk-image sources (`ewf`, `raw`) share: listing an image's volumes and file
systems as entries, and opening one entry again from its ref in any process.

Rows an image yields, in order (labels follow triage.evidence.labels):
- every file of every file system (`laptop.E01!/p2/Users/alice/a.jpg`), deleted ones included
  (see triage.evidence.filesystems);
- one row per partition (`laptop.E01!/p2`), after its files: its file system, or why it could
  not be read (`encrypted`, `corrupt`, `empty`), so a partition is never silently skipped;
- one row for the image itself (`laptop.E01!/`), last: the format, the volume system, the
  acquisition metadata an E01 stores (case number, examiner, acquisition date, stored MD5 and
  SHA-1), recorded per image by triage.store.disk.
Containers' own rows come after their members so each can say what went wrong inside it.

A file's ref is `Ref(source, (volume label, offset, length, encryption, inode, attribute type,
attribute id, size), <the image's own ref>)`. Workers open the image themselves from that ref
(each keeps the last few images, volumes and file systems it opened: `_cache`), so they read
one image in parallel, as they read a folder.

The image is only read: every segment is opened read-only with O_NOATIME through folder refs,
and neither libewf nor TSK is ever given a path.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pytsk3

from triage.evidence import filesystems, volumes
from triage.evidence.base import Container, ContainerError, Entry, Limits, Ref, _final
from triage.evidence.image_io import (EwfReader, RawReader, Reader, TskImage, ewf_segment_names,
                                      file_name, is_split_raw_name, open_segments,
                                      raw_segment_names, stream_size)
from triage.evidence.labels import escape_component
from triage.records import FileResult

HEAD = 4096
# A file with a file system's signature but smaller than this, in which TSK finds no file
# system, is a copy of a boot sector or superblock (NTFS's own $Boot is one), not an image.
NOT_AN_IMAGE_BELOW = 1 << 20


def make_reader(kind: str, ref: Ref | None, container: Container | None,
                limits: Limits) -> Reader:
    """Open the image `ref` names (with its later segments, when it is a file in a folder)."""
    names: list[str] = []
    if ref is not None and ref.source == "folder" and ref.span is None:
        first = file_name(ref) or "image"
        following = ewf_segment_names(first) if kind == "ewf" else (
            raw_segment_names(first) if is_split_raw_name(first) else iter(()))
        streams = open_segments(ref, following, limits)
        names = [first] + [n for n, _ in zip(_names_after(first, kind), streams[1:])]
    else:
        stream = container.open() if container is not None else _open_in_memory(ref, limits)
        if not stream.seekable():
            size = container.size if container is not None else None
            raise ContainerError(
                f"disk image of {size if size is not None else 'unknown'} bytes inside a"
                " compressed stream is too large to open in memory (over the"
                f" {limits.in_memory_bytes} byte in-memory limit); its files were not read."
                " Export it from the archive and ingest it on its own", status="too_large")
        streams = [_Unowned(stream)] if container is not None else [stream]
        names = ["(inside another source)"]
    reader_class = EwfReader if kind == "ewf" else RawReader
    return reader_class(streams, names)


def _names_after(first: str, kind: str) -> Iterator[str]:
    return ewf_segment_names(first) if kind == "ewf" else raw_segment_names(first)


class _Unowned(io.RawIOBase):
    """A stream the container owns: the reader reads it but leaves closing to the container."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self.raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        super().close()


def _open_in_memory(ref: Ref | None, limits: Limits) -> BinaryIO:
    """An image inside a source a worker cannot seek in (a zip member): held in memory when it
    fits the in-memory limit (the coordinator listed it that way too)."""
    from triage.evidence.registry import open_ref
    from triage.evidence.streams import read_upto

    assert ref is not None
    stream = open_ref(ref, limits)
    if stream.seekable():
        return stream
    with stream:
        data = read_upto(stream, limits.in_memory_bytes)
    if len(data) > limits.in_memory_bytes:
        raise OSError("disk image inside a compressed stream is over the in-memory limit")
    return io.BytesIO(data)


def unlock_key(limits: Limits, volume_label: str) -> str | None:
    wanted = volume_label or "image"
    for label, key in limits.unlock:
        if label == wanted:
            return key
    return None


@dataclass
class Opened:
    """An image opened in this process, with the volumes and file systems opened on it."""

    reader: Reader
    img: TskImage
    file_systems: dict[tuple[Any, ...], tuple[pytsk3.FS_Info, list[Reader]]] = field(
        default_factory=dict)

    def file_system(self, key: tuple[Any, ...], limits: Limits) -> pytsk3.FS_Info:
        found = self.file_systems.get(key)
        if found is None:
            label, offset, length, encryption = key
            vol = volumes.Volume(label, offset, length, "", None)
            if encryption:
                inner = volumes.unlock(self.reader, vol, encryption, unlock_key(limits, label))
                fs = filesystems.open_fs(TskImage(inner), 0)
                found = (fs, [inner])
            else:
                found = (filesystems.open_fs(self.img, offset), [])
            self.file_systems[key] = found
        return found[0]

    def close(self) -> None:
        for _fs, extra in self.file_systems.values():
            for r in extra:
                r.close()
        self.file_systems.clear()
        self.reader.close()


def list_entries(kind: str, source: str, container: Container, limits: Limits) -> Iterator[Entry]:
    """The rows of an image (see the module docstring). Raises ContainerError only when the
    image cannot be opened at all, before any row is yielded."""
    try:
        reader = make_reader(kind, container.ref, container, limits)
    except ContainerError:
        raise
    except OSError as exc:
        raise ContainerError(f"cannot open the {_kind_name(kind)}: {exc}") from exc
    img = TskImage(reader)
    opened = Opened(reader, img)
    image_label = f"{container.label}!/"
    meta = reader.metadata()
    meta["ref"] = container.ref
    problems: list[str] = []
    try:
        from triage.evidence.raw_image import signature

        first_read = _probe_read(reader)
        if first_read:
            raise ContainerError(f"{_kind_name(kind)} unreadable: {first_read}")
        scheme, vols, problem = volumes.volume_system(img, reader.size,
                                                      signature(_head(reader)))
        meta["volume_system"] = scheme
        if problem:
            problems.append(problem)
        for vol in vols:
            yield from _volume_entries(kind, source, container, opened, vol, limits, problems,
                                       meta)
    finally:
        opened.close()
    status = "corrupt" if problems else "ok"
    result = FileResult(path=image_label, extension="", size=reader.size, status=status,
                        reason="; ".join(problems) or None, detected_type=_kind_name(kind),
                        origin={"image": meta})
    if "file_system" in meta:
        result.origin["file_system"] = meta["file_system"]  # type: ignore[index]
    yield Entry(path=image_label, final=result, origin=result.origin)


def _head(reader: Reader) -> bytes:
    try:
        return reader.read(0, HEAD)
    except OSError:
        return b""


def _probe_read(reader: Reader) -> str | None:
    """A truncated E01 opens but reads nothing: say so once, for the whole image."""
    try:
        reader.read(0, 512)
    except OSError as exc:
        return str(exc)
    return None


def _kind_name(kind: str) -> str:
    return "E01 image" if kind == "ewf" else "raw disk image"


def _volume_entries(kind: str, source: str, container: Container, opened: Opened,
                    vol: volumes.Volume, limits: Limits, problems: list[str],
                    meta: dict[str, Any]) -> Iterator[Entry]:
    """The files of one volume, then the volume's own row (when the image has partitions)."""
    label = f"{container.label}!/{vol.label}" if vol.label else None
    facts: dict[str, Any] = {"partition": vol.label or None, "offset": vol.offset,
                             "length": vol.length, "type": vol.description,
                             "scheme": vol.scheme}

    def row(status: str, reason: str | None, fs_type: str | None = None) -> Iterator[Entry]:
        if label is None:  # no partition table: the image's own row says it
            if reason:
                problems.append(reason)
            if fs_type:
                meta["file_system"] = fs_type
            return
        result = FileResult(path=label, extension="", size=vol.length, status=status,
                            reason=reason, detected_type=fs_type or "partition",
                            origin={"partition": vol.label, "file_system": fs_type,
                                    "volume": facts})
        yield Entry(path=label, final=result, origin=result.origin)

    if vol.length <= 0:
        yield from row("corrupt", vol.problem or "partition of no length")
        return
    try:
        head = opened.reader.read(vol.offset, HEAD)
    except OSError as exc:
        yield from row("unreadable", f"partition cannot be read: {exc}")
        return
    encryption = volumes.encryption_of(head)
    key = (vol.label, vol.offset, vol.length, encryption)
    where = f"partition {vol.label}" if vol.label else "the image"
    try:
        fs = opened.file_system(key, limits)
    except volumes.Locked as exc:
        yield from row("encrypted", str(exc), volumes.ENCRYPTIONS.get(encryption or ""))
        return
    except (OSError, IOError, RuntimeError) as exc:
        if not head.strip(b"\x00") and not encryption:
            yield from row("empty", f"{where} holds only zero bytes at its start; no file system")
            return
        if label is None and opened.reader.size < NOT_AN_IMAGE_BELOW:
            raise ContainerError(f"a boot sector or superblock copy of {opened.reader.size}"
                                 " bytes, not a disk image (no file system in it); read as a"
                                 " file", status=None)
        reason = (f"no file system The Sleuth Kit can read in {where}"
                  f" ({vol.description or 'no partition table'}): {filesystems._tsk_error(exc)}"
                  " — damaged, or a kind not read here (LVM, swap, APFS, ...)")
        if vol.problem:
            reason = f"{vol.problem}; {reason}"
        yield from row("corrupt", reason)
        return
    fs_type = filesystems.fs_name(fs)
    if encryption:
        fs_type = f"{fs_type} ({volumes.ENCRYPTIONS[encryption]}, unlocked)"
    place = filesystems.Place(container.label, vol.label, key, source, container.ref,
                              container.depth + 1, fs_type)
    failure: str | None = vol.problem
    try:
        yield from filesystems.walk(fs, place)
    except (OSError, IOError, RuntimeError) as exc:
        failure = "; ".join(p for p in (failure, "file system listing stopped:"
                                        f" {filesystems._tsk_error(exc)}") if p)
    yield from row("corrupt" if failure else "ok", failure, fs_type)


# -- opening entries again (any process) -----------------------------------------------------

_cache: "OrderedDict[tuple[str, Ref | None], Opened]" = OrderedDict()
_KEEP_OPEN = 2


def opened_image(kind: str, ref: Ref | None, limits: Limits) -> Opened:
    key = (kind, ref)
    found = _cache.get(key)
    if found is not None:
        _cache.move_to_end(key)
        return found
    reader = make_reader(kind, ref, None, limits)
    found = _cache[key] = Opened(reader, TskImage(reader))
    while len(_cache) > _KEEP_OPEN:
        _cache.popitem(last=False)[1].close()
    return found


def open_entry(kind: str, ref: Ref, limits: Limits) -> BinaryIO:
    label, offset, length, encryption, inode, attr_type, attr_id, size = ref.key
    try:
        opened = opened_image(kind, ref.container, limits)
        fs = opened.file_system((label, offset, length, encryption), limits)
        f = fs.open_meta(inode=inode)
    except ContainerError as exc:
        raise OSError(str(exc)) from exc
    except volumes.Locked as exc:
        raise OSError(str(exc)) from exc
    except (OSError, IOError, RuntimeError) as exc:
        raise OSError(f"cannot open inode {inode}: {filesystems._tsk_error(exc)}") from exc
    return filesystems.FileStream(f, attr_type, attr_id, size)


def release() -> None:
    while _cache:
        _cache.popitem()[1].close()


def root_entries(kind: str, source: str, path: Path, limits: Limits) -> Iterator[Entry]:
    """An image given as SOURCE: its rows, without hashing the image file itself first (its
    integrity is the stored hash's business: `--verify-image`). An image that cannot be opened
    at all is still one row, saying why."""
    from triage.evidence import folder

    label = escape_component(path.name)
    container = Container(label=label, ref=folder.file_ref(path), limits=limits)
    try:
        yield from list_entries(kind, source, container, limits)
    except ContainerError as exc:
        st = path.stat()
        yield _final(f"{label}!/", exc.status or "corrupt", str(exc), size=st.st_size,
                     detected_type=_kind_name(kind), origin={"image": {
                         "format": kind, "media_size": None, "segments": [path.name],
                         "ref": container.ref}})
    finally:
        container.close()


def count_root(kind: str, path: Path) -> int | None:
    return None


def image_digests(kind: str, ref: Ref | None, limits: Limits,
                  progress: Callable[[int], None] | None = None) -> tuple[str, str, int]:
    """(md5, sha1, bytes) of the image's media, read in order: what `--verify-image` compares
    with the hashes stored at acquisition."""
    import hashlib

    reader = make_reader(kind, ref, None, limits)
    md5, sha1 = hashlib.md5(), hashlib.sha1()
    done = 0
    try:
        while done < reader.size:
            chunk = reader.read(done, min(8 << 20, reader.size - done))
            if not chunk:
                raise OSError(f"image ends at byte {done} of {reader.size}")
            md5.update(chunk)
            sha1.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        reader.close()
    return md5.hexdigest(), sha1.hexdigest(), done


__all__ = ["list_entries", "open_entry", "release", "root_entries", "image_digests",
           "stream_size"]
