"""The files of one file system inside a disk image, through The Sleuth Kit (pytsk3): NTFS,
FAT12/16/32, exFAT, ext2/3/4, HFS+, ISO 9660 (as far as TSK reads them), deleted entries
included.

Every directory entry TSK lists becomes exactly one Entry:
- a regular file (allocated or deleted) whose content the file system still points to: an
  entry read by reference (`FileStream`, chunked reads of its data attribute), with the file
  system's own facts in `origin` (partition, file system, inode / MFT entry, deleted,
  unallocated, created) and its modified / accessed / changed times;
- a deleted entry whose content is gone (no metadata entry left, the entry now belongs to
  another file, no data blocks left): `unrecoverable`, with the reason;
- a link: `link`, never followed; a device, pipe or socket: `special`;
- a directory reached twice (a loop made by a damaged or hostile file system): `loop`; a
  directory that cannot be listed: `corrupt`, the rest of the file system still read.
NTFS alternate data streams are entries of their own (`a.jpg:stream`; NTFS names cannot hold a
colon, so the label stays unique), since hiding a picture in one is an old trick.

Virtual files TSK makes up ($MBR, $FAT1, ...: views of file-system structures, not files) are
not entries; its `$OrphanFiles` folder (deleted files whose name is lost) is walked like any
folder, so orphaned pictures are found.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytsk3

from triage.evidence.base import Entry, Ref, _final, extension_of
from triage.evidence.labels import escape_component

FS_NAMES = {
    pytsk3.TSK_FS_TYPE_NTFS: "ntfs", pytsk3.TSK_FS_TYPE_FAT12: "fat12",
    pytsk3.TSK_FS_TYPE_FAT16: "fat16", pytsk3.TSK_FS_TYPE_FAT32: "fat32",
    pytsk3.TSK_FS_TYPE_EXFAT: "exfat", pytsk3.TSK_FS_TYPE_EXT2: "ext2",
    pytsk3.TSK_FS_TYPE_EXT3: "ext3", pytsk3.TSK_FS_TYPE_EXT4: "ext4",
    pytsk3.TSK_FS_TYPE_HFS: "hfs+", pytsk3.TSK_FS_TYPE_ISO9660: "iso9660",
    pytsk3.TSK_FS_TYPE_FFS1: "ufs1", pytsk3.TSK_FS_TYPE_FFS1B: "ufs1b",
    pytsk3.TSK_FS_TYPE_FFS2: "ufs2", pytsk3.TSK_FS_TYPE_YAFFS2: "yaffs2",
}
_DEFAULT_ATTR = pytsk3.TSK_FS_ATTR_TYPE_DEFAULT
_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
# The attribute holding a file's content: TSK's default (FAT, ext, ISO), NTFS $DATA, HFS+ data.
_DATA_TYPES = {int(_DEFAULT_ATTR), _NTFS_DATA, int(pytsk3.TSK_FS_ATTR_TYPE_HFS_DATA)}
_VIRTUAL = {int(pytsk3.TSK_FS_META_TYPE_VIRT)}
_VIRTUAL_DIR = int(pytsk3.TSK_FS_META_TYPE_VIRT_DIR)
_DIR = int(pytsk3.TSK_FS_META_TYPE_DIR)
_REG = int(pytsk3.TSK_FS_META_TYPE_REG)
_LNK = int(pytsk3.TSK_FS_META_TYPE_LNK)
_NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
_META_UNALLOC = int(pytsk3.TSK_FS_META_FLAG_UNALLOC)
_NAME_DIR = {int(pytsk3.TSK_FS_NAME_TYPE_DIR)}
_NAME_LNK = int(pytsk3.TSK_FS_NAME_TYPE_LNK)
_NTFS_BADCLUS = 8  # MFT entry of $BadClus
# Deeper than any real file system; a chain of directories deeper than this is hostile.
MAX_DEPTH = 512


def open_fs(img: pytsk3.Img_Info, offset: int) -> pytsk3.FS_Info:
    return pytsk3.FS_Info(img, offset=offset)


def fs_name(fs: pytsk3.FS_Info) -> str:
    return FS_NAMES.get(fs.info.ftype, str(fs.info.ftype).lower().replace("tsk_fs_type_", ""))


@dataclass
class Place:
    """Where the walk is: what every entry of this file system shares."""

    container_label: str  # the image's label
    volume_label: str  # "p2", or "" without a partition table
    volume_key: tuple[Any, ...]  # how open_entry finds the volume again
    source: str  # the evidence source's NAME (Ref.source)
    container_ref: Ref | None
    depth: int  # the entries' archive depth
    file_system: str

    def label(self, components: list[str]) -> str:
        rel = "/".join(([self.volume_label] if self.volume_label else []) + components)
        return f"{self.container_label}!/{rel}"


def component(name: bytes) -> str:
    """A file-system name as a label component (a '/' inside a name is written as \\x2f)."""
    return escape_component(name).replace("/", "\\x2f")


def _time(meta: Any, which: str) -> float | None:
    seconds = int(getattr(meta, which, 0) or 0)
    if seconds <= 0:
        return None
    nano = int(getattr(meta, f"{which}_nano", 0) or 0)
    return seconds + nano / 1e9


def _data_problem(f: pytsk3.File, attr_type: int, attr_id: int) -> str | None:
    """Why the data attribute no longer points to content, or None if it does."""
    try:
        attrs = [a for a in f
                 if (attr_type == _DEFAULT_ATTR and int(a.info.type) in _DATA_TYPES
                     and not a.info.name)
                 or (attr_type != _DEFAULT_ATTR and int(a.info.type) == attr_type
                     and int(a.info.id) == attr_id)]
    except (OSError, IOError, RuntimeError):
        return "its data attribute cannot be read"
    if not attrs:
        return "no data attribute left"
    attr = attrs[0]
    if int(attr.info.flags) & int(pytsk3.TSK_FS_ATTR_RES):
        return None
    blocks = 0
    try:
        for run in attr:
            if not int(run.flags) & (int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE)
                                     | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)):
                blocks += int(run.len)
    except (OSError, IOError, RuntimeError):
        return "its block list cannot be read"
    return None if blocks else "no data blocks left (released by the file system)"


def walk(fs: pytsk3.FS_Info, place: Place, root_inode: int | None = None) -> Iterator[Entry]:
    """Every entry of the file system, depth-first, in TSK's directory order."""
    seen_labels: dict[str, int] = {}

    def unique(label: str) -> str:
        n = seen_labels.get(label, 0) + 1
        seen_labels[label] = n
        return label if n == 1 else f"{label}#{n}"

    root = root_inode if root_inode is not None else int(fs.info.root_inum)
    visited = {root}
    stack: list[tuple[int, list[str], bool]] = [(root, [], False)]
    ntfs = place.file_system == "ntfs"
    orphans = int(fs.info.last_inum)  # TSK's virtual $OrphanFiles folder
    while stack:
        inode, comps, dir_deleted = stack.pop()
        in_orphans = inode == orphans
        try:
            directory = fs.open_dir(inode=inode)
            items = list(directory)
        except (OSError, IOError, RuntimeError) as exc:
            if comps:
                yield _final(unique(place.label(comps)), "corrupt",
                             f"folder cannot be listed: {_tsk_error(exc)}")
            else:
                raise
            continue
        subdirs: list[tuple[int, list[str], bool]] = []
        for f in items:
            name_info = f.info.name
            raw = name_info.name
            if raw in (b".", b"..") or raw is None:
                continue
            here = comps + [component(raw)]
            meta = f.info.meta
            name_deleted = bool(int(name_info.flags) & _NAME_UNALLOC) or dir_deleted
            if meta is not None and int(meta.type) in _VIRTUAL:
                continue  # $MBR, $FAT1, ...: TSK's views of structures, not files
            if raw.endswith(b"(Volume Label Entry)") and place.file_system.startswith("fat"):
                continue  # the FAT volume label TSK lists as a directory entry: not a file
            if meta is None and name_deleted and int(name_info.meta_addr or 0):
                meta, f = _reopen(fs, int(name_info.meta_addr), f)
            label = unique(place.label(here))
            if meta is None:
                kind = "deleted entry" if name_deleted else "entry"
                yield _deleted_final(label, place, name_deleted, None,
                                     f"{kind} with no metadata left (inode"
                                     f" {int(name_info.meta_addr or 0)}); content unrecoverable")
                continue
            mtype = int(meta.type)
            meta_unalloc = bool(int(meta.flags) & _META_UNALLOC)
            deleted = name_deleted or meta_unalloc
            origin = {"partition": place.volume_label or None, "file_system": place.file_system,
                      "inode": int(meta.addr), "deleted": deleted, "unallocated": meta_unalloc,
                      "created": _time(meta, "crtime")}
            times = {"mtime": _time(meta, "mtime"), "atime": _time(meta, "atime"),
                     "ctime": _time(meta, "ctime")}
            if mtype in (_DIR, _VIRTUAL_DIR) or (mtype == 0 and int(name_info.type) in _NAME_DIR):
                if int(meta.addr) in visited:
                    yield _with_origin(_final(label, "loop", "folder already visited (a loop in"
                                              " the file system's directories); not descended"
                                              " again", **times), origin)
                    continue
                if len(here) > MAX_DEPTH:
                    yield _with_origin(_final(label, "too_deep", f"folder nested over {MAX_DEPTH}"
                                              " deep; not descended", **times), origin)
                    continue
                visited.add(int(meta.addr))
                seen_labels[label] -= 1  # a folder's label is only its members' prefix
                subdirs.append((int(meta.addr), here, deleted))
                continue
            if name_deleted and not meta_unalloc:
                yield _deleted_final(label, place, True, origin,
                                     f"deleted entry; its metadata entry (inode {int(meta.addr)})"
                                     " now belongs to another file, so its content is gone",
                                     **times)
                continue
            if mtype == _LNK or int(name_info.type) == _NAME_LNK:
                yield _with_origin(_final(label, "link", "symbolic link; not followed",
                                          **times), origin)
                continue
            if mtype not in (_REG, 0):
                yield _with_origin(_final(label, "special", "device, socket or pipe; not read",
                                          **times), origin)
                continue
            size = int(meta.size)
            if in_orphans and not size:
                continue  # a free metadata entry with neither name nor content (NTFS 16-23)
            if deleted and size:
                problem = _data_problem(f, _DEFAULT_ATTR, -1)
                if problem is not None:
                    yield _deleted_final(label, place, True, origin,
                                         f"deleted file of {size} bytes: {problem}; content"
                                         " unrecoverable", size=size, **times)
                    continue
            yield _entry(label, place, int(meta.addr), _DEFAULT_ATTR, -1, size, times, origin)
            if ntfs:
                yield from _streams(f, place, here, unique, int(meta.addr), times, origin)
        stack.extend(reversed(subdirs))


def _reopen(fs: pytsk3.FS_Info, addr: int, f: pytsk3.File) -> tuple[Any, pytsk3.File]:
    """A deleted name whose metadata TSK did not attach (NTFS: the sequence number changed):
    the metadata entry itself, if it can still be read."""
    try:
        g = fs.open_meta(inode=addr)
    except (OSError, IOError, RuntimeError):
        return None, f
    return g.info.meta, g


def _streams(f: pytsk3.File, place: Place, here: list[str], unique: Callable[[str], str],
             inode: int, times: dict[str, float | None],
             origin: dict[str, Any]) -> Iterator[Entry]:
    """NTFS alternate data streams (named $DATA attributes) of one file."""
    try:
        named = [(a.info.name, int(a.info.id), int(a.info.size)) for a in f
                 if int(a.info.type) == _NTFS_DATA and a.info.name]
    except (OSError, IOError, RuntimeError):
        return
    for name, attr_id, size in named:
        if inode == _NTFS_BADCLUS and name == b"$Bad":
            continue  # a sparse stream as long as the volume, mapping bad clusters: no content
        label = unique(place.label(here[:-1] + [f"{here[-1]}:{component(name)}"]))
        yield _entry(label, place, inode, _NTFS_DATA, attr_id, size, times,
                     origin | {"stream": name.decode("utf-8", "replace")})


def _entry(label: str, place: Place, inode: int, attr_type: int, attr_id: int, size: int,
           times: dict[str, float | None], origin: dict[str, Any]) -> Entry:
    ref = Ref(place.source, place.volume_key + (inode, int(attr_type), attr_id, size),
              place.container_ref)
    return Entry(path=label, size=size, ref=ref, depth=place.depth, origin=origin, **times)


def _with_origin(entry: Entry, origin: dict[str, Any]) -> Entry:
    entry.origin = origin
    if entry.final is not None:
        entry.final.origin = origin
    return entry


def _deleted_final(label: str, place: Place, deleted: bool, origin: dict[str, Any] | None,
                   reason: str, size: int | None = None, **times: float | None) -> Entry:
    origin = origin or {"partition": place.volume_label or None,
                        "file_system": place.file_system, "inode": None, "deleted": deleted,
                        "unallocated": True, "created": None}
    entry = _final(label, "unrecoverable", reason, size=size, **times)
    return _with_origin(entry, origin)


def _tsk_error(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


class FileStream(io.RawIOBase):
    """The content of one file-system file, read in chunks through TSK (seekable)."""

    def __init__(self, f: pytsk3.File, attr_type: int, attr_id: int, size: int,
                 on_close: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.f, self.attr_type, self.attr_id, self.size = f, attr_type, attr_id, size
        self.pos = 0
        self.on_close = on_close

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        try:
            data = self.f.read_random(self.pos, want, self.attr_type, self.attr_id)
        except (OSError, IOError, RuntimeError) as exc:
            raise OSError(f"file content unreadable at byte {self.pos}: {_tsk_error(exc)}") \
                from exc
        if not data:
            raise OSError(f"file content ends at byte {self.pos} of {self.size} (its blocks lie"
                          " beyond the image or were not read)")
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n

    def read(self, size: int = -1) -> bytes:  # one TSK call for a whole read, not 8 KiB at a time
        if size is None or size < 0:
            size = self.size - self.pos
        out = bytearray(max(0, min(size, self.size - self.pos)))
        got = 0
        view = memoryview(out)
        while got < len(out):
            n = self.readinto(view[got:])
            if not n:
                break
            got += n
        return bytes(out[:got])

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        if not self.closed and self.on_close is not None:
            self.on_close()
        super().close()


__all__ = ["FS_NAMES", "FileStream", "Place", "extension_of", "fs_name", "open_fs", "walk"]
