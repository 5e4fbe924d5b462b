"""Where a picture's bytes really end, by the format's own structure, and what follows it.

A JPEG decodes even with a zip archive glued to its end, so "it decoded" says nothing about the
rest of the file: hiding an archive, a video or another picture after a picture is an old way to
smuggle material past a viewer. The end is found by walking the format's structure (never by
searching for a signature anywhere in the file, which would fire on compressed data by chance):

- JPEG: segments from SOI, entropy-coded scans skipped to the next real marker, up to EOI; the
  extra pictures a Multi-Picture Format (CIPA DC-007) APP2 segment declares (phones store depth
  maps and gain maps after the first EOI) belong to the file, so its end is the last of them;
- PNG (and APNG): chunks up to IEND and its CRC;
- GIF: blocks and sub-blocks up to the trailer (0x3B);
- WebP: the RIFF container's declared size (padded to even).

Other formats (TIFF, HEIF, BMP) have no single end to find and are not judged. Zero bytes after
the end are padding (cameras and copy tools add them) and are ignored.
"""

from __future__ import annotations

import re
import struct

# The next JPEG marker inside entropy-coded data: 0xFF followed by anything but a stuffed zero,
# a restart marker (RST0-7) or another 0xFF (fill).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])


def picture_end(data: bytes, kind: str) -> int | None:
    """The offset just past the picture's last byte, or None when the structure cannot be
    followed to an end (truncated, damaged: the decoder reports that) or `kind` has no end."""
    try:
        if kind == "jpeg":
            return _jpeg_end(data)
        if kind == "png":
            return _png_end(data)
        if kind == "gif":
            return _gif_end(data)
        if kind == "webp":
            return _webp_end(data)
    except (IndexError, struct.error):
        return None
    return None


def appended_offset(data: bytes, kind: str) -> tuple[int, int] | None:
    """(end of the picture, offset of the first non-zero byte after it) when more than zero
    padding follows the picture, else None."""
    end = picture_end(data, kind)
    if end is None or end >= len(data):
        return None
    if data.count(0, end) == len(data) - end:
        return None  # zero padding only
    start = end
    while data[start] == 0:
        start += 1
    return end, start


def _jpeg_end(data: bytes) -> int | None:
    if data[:2] != b"\xff\xd8":
        return None
    n = len(data)
    i = 2
    extra_end = 0
    while i < n:
        if data[i] != 0xFF:
            return None  # bytes between segments: damaged
        while i < n and data[i] == 0xFF:
            i += 1  # fill bytes before a marker
        if i >= n:
            return None
        marker = data[i]
        i += 1
        if marker == 0xD9:  # EOI
            return max(i, extra_end)
        if marker in _JPEG_STANDALONE:
            continue
        (length,) = struct.unpack_from(">H", data, i)
        if length < 2 or i + length > n:
            return None
        if marker == 0xE2 and data[i + 2 : i + 6] == b"MPF\x00":
            extra_end = max(extra_end, _mpf_end(data, i + 6))
        i += length
        if marker == 0xDA:  # start of scan: skip the entropy-coded data
            m = _JPEG_MARKER.search(data, i)
            if m is None:
                return None
            i = m.start()
    return None


def _mpf_end(data: bytes, base: int) -> int:
    """The end of the last picture a Multi-Picture Format index declares (offsets are relative
    to the MPF header at `base`), or 0."""
    order = {b"II": "<", b"MM": ">"}.get(data[base : base + 2])
    if order is None:
        return 0
    (ifd,) = struct.unpack_from(order + "I", data, base + 4)
    (count,) = struct.unpack_from(order + "H", data, base + ifd)
    for k in range(count):
        tag, _type, n, value = struct.unpack_from(order + "HHII", data, base + ifd + 2 + 12 * k)
        if tag != 0xB002:  # MPEntry: 16 bytes per picture
            continue
        end = 0
        for e in range(n // 16):
            _attr, size, offset = struct.unpack_from(order + "III", data, base + value + 16 * e)
            if offset:  # the first picture (offset 0) is the file itself
                end = max(end, base + offset + size)
        return end
    return 0


def _png_end(data: bytes) -> int | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    i, n = 8, len(data)
    while i + 12 <= n:
        length, kind = struct.unpack_from(">I4s", data, i)
        i += 12 + length
        if kind == b"IEND":
            return i if i <= n else None
    return None


def _gif_end(data: bytes) -> int | None:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    flags = data[10]
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    n = len(data)
    while i < n:
        block = data[i]
        if block == 0x3B:  # trailer
            return i + 1
        if block == 0x21:  # extension: label, then sub-blocks
            i = _skip_sub_blocks(data, i + 2)
        elif block == 0x2C:  # image: descriptor, local colour table, LZW size, sub-blocks
            local = data[i + 9]
            i += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            i = _skip_sub_blocks(data, i + 1)
        else:
            return None
        if i < 0:
            return None
    return None


def _skip_sub_blocks(data: bytes, i: int) -> int:
    n = len(data)
    while i < n:
        size = data[i]
        i += 1 + size
        if size == 0:
            return i
    return -1


def _webp_end(data: bytes) -> int | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    (size,) = struct.unpack_from("<I", data, 4)
    end = 8 + size
    if end > len(data):
        return None
    return end + 1 if size & 1 and end < len(data) else end  # RIFF pads odd chunks
