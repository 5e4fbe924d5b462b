"""Streams the sources read through: a byte range of another stream, a byte counter, and the
guard that bounds decompression by the bytes actually inflated.

Why the guard measures instead of trusting headers: a zip or tar header states a size, but the
work is done by the decompressor. A member whose header claims 1 KB may inflate to gigabytes
(the reader then stops at the claim, but only if it checks), a tar.gz has no per-member
compressed size at all, and thousands of members each just under a size threshold add up to a
bomb that no per-member size check sees. So every decompressing read is checked against the
compressed bytes it consumed: inflating more than `max_compression_ratio` bytes per compressed
byte, plus ALLOWANCE, ends the read with LimitExceeded, whatever the member's size.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import BinaryIO

from triage.evidence.base import DamagedData, LimitExceeded, Limits

# Output a member may produce beyond ratio x input before the ratio is enforced. Below 64 KiB
# the ratio says nothing (a 10 KB text of one repeated byte is 300:1 and harmless) and a
# decompressor's input is consumed in blocks (tarfile reads 8-10 KiB at a time), so a smaller
# allowance would flag ordinary small files on the first block. 64 KiB per member keeps the
# worst case bounded: deflate needs ~1 byte of input per 1,032 bytes of output, so even a
# member made only of the allowance costs its archive >= 64 bytes per 64 KiB inflated.
ALLOWANCE = 64 << 10


def read_upto(stream: BinaryIO, limit: int, hint: int | None = None) -> bytes:
    """Up to limit + 1 bytes of `stream` (more than `limit` means: too large to hold).

    Sized from fstat when the stream is a file (else from `hint`, the size the source listed),
    so a small file costs one allocation and one read to its real end, as `readall` would, but a
    file that grew since it was listed is still cut at the limit."""
    try:
        hint = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError, AttributeError):
        pass
    want = min(hint, limit) + 1 if hint is not None else limit + 1
    chunks = []
    got = 0
    while got <= limit:
        chunk = stream.read(want)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        want = min(1 << 16 if len(chunk) == hint else 1 << 20, limit + 1 - got)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class Span(io.RawIOBase):
    """The bytes [offset, offset+length) of `raw` (an archive appended to a picture, a stored
    member). Seekable when `raw` is; on a stream that is not, the first read skips to offset."""

    def __init__(self, raw: BinaryIO, offset: int, length: int | None) -> None:
        super().__init__()
        self.raw, self.offset, self.length = raw, offset, length
        self.pos = 0
        self._positioned = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.raw.seekable()

    def _position(self) -> None:
        if self._positioned:
            return
        if self.raw.seekable():
            self.raw.seek(self.offset + self.pos)
        else:
            skip = self.offset
            while skip > 0:
                chunk = self.raw.read(min(skip, 1 << 20))
                if not chunk:
                    break
                skip -= len(chunk)
        self._positioned = True

    def readinto(self, buffer: "memoryview | bytearray") -> int:
        self._position()
        want = len(buffer)
        if self.length is not None:
            want = min(want, self.length - self.pos)
        if want <= 0:
            return 0
        data = self.raw.read(want)
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if not self.raw.seekable():
            raise io.UnsupportedOperation("seek on a stream that is read in order")
        end = self.length if self.length is not None else self.raw.seek(0, os.SEEK_END) - self.offset
        target = {os.SEEK_SET: offset, os.SEEK_CUR: self.pos + offset, os.SEEK_END: end + offset}[whence]
        self.pos = max(0, target)
        self._positioned = False
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        if not self.closed:
            self.raw.close()
        super().close()


class Counting(io.RawIOBase):
    """Passes reads and seeks through to `raw` and counts the bytes read (compressed input)."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self.raw.seekable()

    def readinto(self, buffer: "memoryview | bytearray") -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        if not self.closed:
            self.raw.close()
        super().close()


def ratio_exceeded(inflated: int, consumed: int, limits: Limits) -> bool:
    return inflated > limits.max_compression_ratio * consumed + ALLOWANCE


def bomb_reason(inflated: int, consumed: int, limits: Limits, claimed: bool = False,
                what: str = "decompression bomb") -> str:
    verb = "header claims" if claimed else "inflated"
    return (f"{verb} {inflated} bytes from {consumed} compressed"
            f" ({inflated // max(consumed, 1)}:1), over the {limits.max_compression_ratio}:1"
            f" compression-ratio limit ({what}); not read{'' if claimed else ' further'}")


class InflateGuard(io.RawIOBase):
    """A decompressing stream that raises LimitExceeded once it has inflated too much for the
    compressed bytes consumed (`consumed()`; with `inflated_before`, what the stream inflated
    before this member), or more than `limits.max_member_bytes`."""

    def __init__(self, stream: BinaryIO, consumed: Callable[[], int], limits: Limits,
                 what: str = "decompression bomb", inflated_before: int = 0) -> None:
        super().__init__()
        self.stream, self.consumed, self.limits, self.what = stream, consumed, limits, what
        # A member of a compressed stream (tar.gz) is measured with the whole stream: its own
        # compressed bytes may have been read ahead with the member before it.
        self.before = inflated_before
        self.inflated = 0
        self.tripped: str | None = None  # the reason, once a limit was hit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False  # seeking back in a compressed member means inflating it again

    def readinto(self, buffer: "memoryview | bytearray") -> int:
        try:
            data = self.stream.read(len(buffer))
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - zlib.error, BadZipFile (CRC), EOFError, ...
            raise DamagedData(f"compressed data damaged: {exc}") from exc
        self.inflated += len(data)
        if self.inflated > self.limits.max_member_bytes:
            self.tripped = (f"inflates past the {self.limits.max_member_bytes} byte member"
                            " limit; not read further")
        elif ratio_exceeded(self.before + self.inflated, self.consumed(), self.limits):
            self.tripped = bomb_reason(self.before + self.inflated, self.consumed(), self.limits,
                                       what=self.what)
        if self.tripped:
            raise LimitExceeded(self.tripped)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
        super().close()
