"""Byte access to a disk image: an EnCase E01 (libewf, through `pyewf`) or a raw image, either
of them possibly split over several files, seen as one random-access device.

Segments are found from the first one, by the names the acquisition tools give them (E01, E02,
..., E99, EAA, ... for EWF; .001, .002, ... for split raw images), next to it in the same folder,
through folder refs (so each is opened read-only, O_NOATIME, relative to its folder's descriptor,
as every file of the evidence is). A segment that is missing is reported by libewf when a read
needs it, never guessed around.

The Sleuth Kit reads the device through `TskImage`, a pytsk3 external image whose reads go to the
reader below, so neither library ever opens a path itself.
"""

from __future__ import annotations

import io
import os
import re
import string
from collections.abc import Iterator
from typing import BinaryIO

import pytsk3

from triage.evidence.base import Limits, Ref

EWF_SIGNATURE = b"EVF\x09\x0d\x0a\xff\x00"  # EWF-E01 (EnCase, ewfacquire, FTK Imager)
EWF2_SIGNATURE = b"EVF2\x0d\x0a\x81\x00"  # EWF2-Ex01 (EnCase 7+)
_RAW_FIRST = re.compile(r"^(?P<stem>.*\.)(?P<num>0*1)$")


def ewf_segment_number(head: bytes) -> int | None:
    """The segment number an EWF segment's header records (1 for the first), or None."""
    if head.startswith(EWF_SIGNATURE) and len(head) >= 11:
        return int.from_bytes(head[9:11], "little")
    if head.startswith(EWF2_SIGNATURE) and len(head) >= 16:
        return int.from_bytes(head[12:16], "little")
    return None


def ewf_segment_names(first: str) -> Iterator[str]:
    """The names of the segments after `first` (`x.E01` -> x.E02 ... x.E99, x.EAA ... x.EZZ,
    x.FAA ... x.ZZZ), in libewf's order; lower case kept for `x.e01`."""
    stem, dot, ext = first.rpartition(".")
    if not dot or len(ext) < 3 or not ext[-2:].isdigit():
        return
    prefix = ext[:-2]  # "E" or "Ex" (EWF2) or "L"
    lower = prefix.islower()
    letters = string.ascii_lowercase if lower else string.ascii_uppercase
    for n in range(2, 100):
        yield f"{stem}.{prefix}{n:02d}"
    if len(prefix) == 1:  # E99 is followed by EAA ... EZZ, FAA ... ZZZ
        for a in letters[letters.index(prefix):]:
            for b in letters:
                for c in letters:
                    yield f"{stem}.{a}{b}{c}"
    else:  # Ex99 is followed by ExAA ... ExZZ
        for b in letters:
            for c in letters:
                yield f"{stem}.{prefix}{b}{c}"


def raw_segment_names(first: str) -> Iterator[str]:
    """`disk.001` -> disk.002, disk.003, ... (as many digits as the first has)."""
    m = _RAW_FIRST.match(first)
    if not m:
        return
    width = len(m.group("num"))
    for n in range(2, 10 ** width):
        yield f"{m.group('stem')}{n:0{width}d}"


def is_split_raw_name(name: str) -> bool:
    return bool(_RAW_FIRST.match(name))


def sibling(ref: Ref, name: str) -> Ref | None:
    """The ref of file `name` beside the file `ref` names, when `ref` is a folder file."""
    if ref.source != "folder" or ref.span is not None:
        return None
    root, names, _dev, _ino = ref.key
    return Ref("folder", (root, tuple(names[:-1]) + (name,), None, None))


def file_name(ref: Ref) -> str | None:
    if ref.source != "folder" or not ref.key[1]:
        return None
    return str(ref.key[1][-1])


def open_segments(first: Ref, names: Iterator[str], limits: Limits) -> list[BinaryIO]:
    """The first segment and every following one that exists beside it, opened."""
    from triage.evidence.registry import open_ref

    streams = [open_ref(first, limits)]
    for name in names:
        ref = sibling(first, name)
        if ref is None:
            break
        try:
            streams.append(open_ref(ref, limits))
        except FileNotFoundError:
            break
        except OSError:
            for s in streams:
                s.close()
            raise
    return streams


def stream_size(stream: BinaryIO) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        pos = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(pos)
        return end


class Reader:
    """A disk image as a random-access device: `size` bytes, `read(offset, n)`."""

    kind = "raw"
    size = 0
    segments: list[str]

    def read(self, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def metadata(self) -> dict[str, object]:
        return {"format": self.kind, "media_size": self.size, "segments": self.segments}


class RawReader(Reader):
    """One or more raw segments (disk.001, disk.002, ...), concatenated."""

    kind = "raw"

    def __init__(self, streams: list[BinaryIO], names: list[str]) -> None:
        for s in streams:
            if not s.seekable():
                for t in streams:
                    t.close()
                raise OSError("a raw image must be seekable to be read in place")
        self.streams = streams
        self.segments = names
        self.starts = []
        total = 0
        for s in streams:
            self.starts.append(total)
            total += stream_size(s)
        self.size = total

    def read(self, offset: int, n: int) -> bytes:
        out = []
        while n > 0 and offset < self.size:
            i = _segment_at(self.starts, offset)
            stream, start = self.streams[i], self.starts[i]
            end = self.starts[i + 1] if i + 1 < len(self.starts) else self.size
            stream.seek(offset - start)
            chunk = stream.read(min(n, end - offset))
            if not chunk:
                break
            out.append(chunk)
            offset += len(chunk)
            n -= len(chunk)
        return b"".join(out)

    def close(self) -> None:
        for s in self.streams:
            s.close()


def _segment_at(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


class _SegmentFile:
    """What pyewf's open_file_objects wants of a segment: read, seek, tell, get_size."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self._size = stream_size(stream)

    def read(self, n: int = -1) -> bytes:
        return self.stream.read(n)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def get_size(self) -> int:
        return self._size

    def close(self) -> None:
        self.stream.close()


class EwfReader(Reader):
    """An E01 (and its E02, E03, ... segments) through libewf."""

    kind = "ewf"

    def __init__(self, streams: list[BinaryIO], names: list[str]) -> None:
        import pyewf

        for s in streams:
            if not s.seekable():
                for t in streams:
                    t.close()
                raise OSError("an E01 must be seekable to be read in place")
        self.files = [_SegmentFile(s) for s in streams]
        self.segments = names
        self.handle = pyewf.handle()
        try:
            self.handle.open_file_objects(self.files)
        except (OSError, IOError) as exc:
            self.close()
            raise OSError(f"libewf cannot open the E01 ({len(names)} segment(s) found):"
                          f" {_short(exc)}") from exc
        self.size = int(self.handle.get_media_size())

    def read(self, offset: int, n: int) -> bytes:
        if offset >= self.size:
            return b""
        try:
            return bytes(self.handle.read_buffer_at_offset(min(n, self.size - offset), offset))
        except (OSError, IOError) as exc:
            raise OSError(f"E01 unreadable at byte {offset}: {_short(exc)}") from exc

    def close(self) -> None:
        try:
            self.handle.close()
        except Exception:  # noqa: BLE001 - a handle that never opened
            pass
        for f in self.files:
            f.close()

    def metadata(self) -> dict[str, object]:
        def header(name: str) -> str | None:
            try:
                value = self.handle.get_header_value(name)
            except Exception:  # noqa: BLE001 - absent values raise in some libewf versions
                return None
            return value or None

        try:
            hashes = {k.lower(): v for k, v in (self.handle.get_hash_values() or {}).items()}
        except Exception:  # noqa: BLE001
            hashes = {}
        fields = ("case_number", "evidence_number", "examiner_name", "description", "notes",
                  "acquiry_date", "system_date", "acquiry_software", "acquiry_software_version",
                  "acquiry_operating_system", "model", "serial_number")
        out: dict[str, object] = super().metadata()
        out.update({k: header(k) for k in fields})
        out["stored_md5"] = hashes.get("md5")
        out["stored_sha1"] = hashes.get("sha1")
        out["bytes_per_sector"] = int(self.handle.get_bytes_per_sector())
        return out


def ewf_inflater() -> str:
    """Which DEFLATE decoder the installed pyewf inflates E01 chunks with: "zlib", or
    "libewf's own" (the PyPI wheel is built without zlib; its decoder costs about 9x zlib's CPU
    per byte, measured in scripts/pyewf_zlib.py, which installs a build linked to zlib)."""
    import pyewf

    try:
        with open(pyewf.__file__, "rb") as f:
            linked = b"libz.so." in f.read()
    except (OSError, TypeError):
        linked = False
    return "zlib" if linked else "libewf's own"


def _short(exc: BaseException) -> str:
    """libewf's error text is a stack of every function it passed through: keep the last."""
    text = str(exc).strip()
    parts = [p.strip() for p in text.split(". ") if p.strip()]
    return parts[-1] if parts else text


class TskImage(pytsk3.Img_Info):
    """The reader as The Sleuth Kit's image (pytsk3 external image type)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def read(self, offset: int, size: int) -> bytes:
        return self.reader.read(offset, size)

    def get_size(self) -> int:
        return self.reader.size

    def close(self) -> None:
        self.reader.close()


class SliceFile:
    """A byte range of a reader as a file object (for libyal's volume libraries: pybde, ...)."""

    def __init__(self, reader: Reader, offset: int, length: int) -> None:
        self.reader, self.offset, self.length = reader, offset, length
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.length - self.pos
        n = max(0, min(n, self.length - self.pos))
        data = self.reader.read(self.offset + self.pos, n)
        self.pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: self.length}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def get_size(self) -> int:
        return self.length

    def close(self) -> None:
        pass


class OffsetReader(Reader):
    """A byte range of another reader (a partition), itself a reader."""

    def __init__(self, inner: Reader, offset: int, length: int) -> None:
        self.inner, self.offset, self.size = inner, offset, length
        self.segments = inner.segments

    def read(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        return self.inner.read(self.offset + offset, n) if n else b""
