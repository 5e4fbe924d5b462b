"""What every list format shares: the entry row, hex checking, and reading a file's start."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

# Hex digest length -> which digest it is. PDQ is also 64 hex: formats that can hold PDQ say so.
HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
# The digests of zero bytes. Many real lists hold them (an empty file was once seized beside
# the material), and every empty file on every device has them: matched, they would make each
# empty file "known material" with the list's category. Skipped at import, as IPED does.
EMPTY_CONTENT = {
    "md5": bytes.fromhex("d41d8cd98f00b204e9800998ecf8427e"),
    "sha1": bytes.fromhex("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    "sha256": bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
}
HEAD_BYTES = 65536
CHUNK_BYTES = 1 << 23  # lines are handed to the bulk parsers 8 MiB at a time
BOM = b"\xef\xbb\xbf"


class ListFormatError(Exception):
    """The file is not what its format promises; the message says where and what was expected."""


@dataclass
class ParseOptions:
    """What the user said about a list beyond its format (CSV column names, a fixed category)."""
    columns: dict[str, str] = field(default_factory=dict)
    category: str | None = None
    delimiter: str | None = None
    progress: Callable[[int], None] | None = None  # called with each number of bytes read


class _CountedReader(io.RawIOBase):
    """A file whose reads are reported to a progress callback (bytes, as read)."""

    def __init__(self, path: str, progress: Callable[[int], None]) -> None:
        self._f = open(path, "rb", buffering=0)
        self._progress = progress

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)
        if n:
            self._progress(n)
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


def open_source(path: str, progress: Callable[[int], None] | None = None, *,
                encoding: str | None = None, errors: str | None = None,
                newline: str | None = None) -> IO[Any]:
    """The list file opened for reading (text if `encoding` is given), reporting progress."""
    if progress is None:
        if encoding is None:
            return open(path, "rb")
        return open(path, encoding=encoding, errors=errors, newline=newline)
    raw = io.BufferedReader(_CountedReader(path, progress), 1 << 20)
    if encoding is None:
        return raw
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=newline)


def line_chunks(path: str, progress: Callable[[int], None] | None = None
                ) -> Iterator[tuple[int, list[str]]]:
    """(number of the first line, lines) of a text file, about 8 MiB of whole lines at a time.

    For the bulk parsers: a national list is tens of millions of lines, and splitting a big
    decoded chunk costs a fraction of iterating a file line by line. UTF-8 (BOM dropped,
    undecodable bytes replaced, so an odd file name never aborts an import); CRLF becomes LF.
    Memory stays bounded: one chunk (plus one overlong line) at a time.
    """
    lineno = 1
    rest = b""
    with open(path, "rb") as f:
        while True:
            buf = f.read(CHUNK_BYTES)
            if progress and buf:
                progress(len(buf))
            data = rest + buf if rest else buf
            if lineno == 1 and data.startswith(BOM):
                data = data[3:]
            if buf:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    rest = data
                    continue
                data, rest = data[:cut], data[cut:]
            elif not data:
                return
            text = data.decode("utf-8", errors="replace")
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            lines = text.split("\n")
            if not lines[-1]:
                lines.pop()
            yield lineno, lines
            lineno += len(lines)
            if not buf:
                return


def read_head(path: str) -> str | None:
    """The first 64 KiB as text (BOM removed), or None for an empty file; binary -> latin-1."""
    with open(path, "rb") as f:
        raw = f.read(HEAD_BYTES)
    if not raw:
        return None
    if raw.startswith(b"SQLite format 3\x00"):
        return "SQLite format 3"
    return raw.removeprefix(BOM).decode("utf-8", errors="replace")


_HEX_DIGITS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}


def digest(value: Any, algo: str, where: str) -> bytes | None:
    """A hex digest as bytes (case-insensitive), None for empty; a clear error otherwise."""
    if value is None:
        return None
    if type(value) is str and len(value) == _HEX_DIGITS[algo]:  # the usual case, at once
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) * 2 == len(value):  # fromhex skips spaces: those fall through below
            return raw
    text = str(value).strip()
    if not text:
        return None
    want = 64 if algo == "pdq" else {"md5": 32, "sha1": 40, "sha256": 64}[algo]
    if len(text) != want:
        raise ListFormatError(f"{where}: {algo.upper()} {text[:80]!r} is not {want} hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ListFormatError(f"{where}: {algo.upper()} {text[:80]!r} is not hexadecimal") from None


def row(md5: bytes | None = None, sha1: bytes | None = None, sha256: bytes | None = None,
        pdq: bytes | None = None, pdq_quality: int | None = None,
        category_raw: str | None = None, name: str | None = None,
        record: dict[str, Any] | None = None) -> tuple[Any, ...]:
    if md5 is None and sha1 is None and sha256 is None and pdq is None:
        raise ValueError("an entry needs at least one hash")
    return (md5, sha1, sha256, pdq, pdq_quality, category_raw, name,
            _record_json(record) if record else None)


# One encoder for every record: json.dumps with options builds a new encoder per call (a third
# of the cost of encoding a small VICS record).
_record_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode


def category_text(value: Any) -> str | None:
    """Categories arrive as int, string or null; keep them as text exactly as given."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_TRUTHY = {"true": True, "false": False, "True": True, "False": False}


def truthy(value: Any) -> bool | None:
    """Booleans as real exports write them: true, "true", "True", 1, "1", "yes" (or null)."""
    if type(value) is str and value in _TRUTHY:
        return _TRUTHY[value]
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "t"):
        return True
    if text in ("false", "0", "no", "n", "f"):
        return False
    return None
