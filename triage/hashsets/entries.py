"""What every list format shares: the entry row, hex checking, and reading a file's start."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Hex digest length -> which digest it is. PDQ is also 64 hex: formats that can hold PDQ say so.
HEX_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
HEAD_BYTES = 65536


class ListFormatError(Exception):
    """The file is not what its format promises; the message says where and what was expected."""


@dataclass
class ParseOptions:
    """What the user said about a list beyond its format (CSV column names, a fixed category)."""
    columns: dict[str, str] = field(default_factory=dict)
    category: str | None = None
    delimiter: str | None = None


def read_head(path: str) -> str | None:
    """The first 64 KiB as text (BOM removed), or None for an empty file; binary -> latin-1."""
    with open(path, "rb") as f:
        raw = f.read(HEAD_BYTES)
    if not raw:
        return None
    if raw.startswith(b"SQLite format 3\x00"):
        return "SQLite format 3"
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", errors="replace")


def digest(value: Any, algo: str, where: str) -> bytes | None:
    """A hex digest as bytes (case-insensitive), None for empty; a clear error otherwise."""
    if value is None:
        return None
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
            json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
            if record else None)


def category_text(value: Any) -> str | None:
    """Categories arrive as int, string or null; keep them as text exactly as given."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def truthy(value: Any) -> bool | None:
    """Booleans as real exports write them: true, "true", "True", 1, "1", "yes" (or null)."""
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
