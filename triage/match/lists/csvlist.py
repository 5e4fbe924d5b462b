"""Generic CSV with a header: columns found by name, or mapped with `--column md5=Hash`.

Recognised names (case-insensitive): md5; sha1 / sha-1; sha256 / sha-256; pdq;
pdq_quality / quality; category; name / filename / file_name. The delimiter is sniffed from
`,` `;` and tab unless given.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.match.lists.entries import ListFormatError, ParseOptions, category_text, digest, row
from triage.match.lists.tabular import header_fields, iter_records

NAME = "csv"
PRIORITY = 80  # auto-detection order: most specific signature first
DESCRIPTION = "CSV with a header naming md5/sha1/sha256/pdq (and category) columns"
ALIASES = {
    "md5": ("md5", "md5hash", "md5_hash"),
    "sha1": ("sha1", "sha-1", "sha1hash", "sha1_hash"),
    "sha256": ("sha256", "sha-256", "sha256hash", "sha256_hash"),
    "pdq": ("pdq", "pdq_hash", "pdqhash"),
    "pdq_quality": ("pdq_quality", "quality"),
    "category": ("category", "cat"),
    "name": ("name", "filename", "file_name", "path"),
}
_HASHES = ("md5", "sha1", "sha256", "pdq")


def _delimiter(head: str) -> str:
    first = head.splitlines()[0] if head else ""
    return max((",", ";", "\t"), key=first.count)


def _mapping(header: list[str], options: ParseOptions) -> dict[str, str]:
    out = {}
    for field, aliases in ALIASES.items():
        if field in options.columns:
            out[field] = options.columns[field].strip().lower()
        else:
            out.update({field: a for a in aliases if a in header})
    return out


def sniff(head: str) -> bool:
    header = header_fields(head, _delimiter(head))
    return any(k in _mapping(header, ParseOptions()) for k in _HASHES)


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        head = f.read(65536)
    delimiter = options.delimiter or _delimiter(head)
    header = header_fields(head, delimiter)
    mapping = _mapping(header, options)
    missing = [c for c in mapping.values() if c not in header]
    if missing or not any(k in mapping for k in _HASHES):
        raise ListFormatError(
            f"{path}: expected a header naming at least one of md5, sha1, sha256, pdq (or"
            f" --column md5=NAME ...); found {delimiter.join(header)[:200]!r}"
            + (f"; missing {', '.join(missing)}" if missing else ""))
    for where, r in iter_records(path, delimiter, list(mapping.values()), "CSV",
                                 options.progress):
        values = {k: r[c] for k, c in mapping.items()}
        quality = values.get("pdq_quality", "").strip()
        if quality and not quality.isdigit():
            raise ListFormatError(f"{where}: PDQ quality {quality!r} is not a number")
        hashes = {k: digest(values.get(k), k, where) for k in _HASHES}
        if not any(hashes.values()):
            raise ListFormatError(f"{where}: no hash in this row")
        extra = {c: v for c, v in r.items() if c not in mapping.values() and v != ""}
        yield row(**hashes, pdq_quality=int(quality) if quality else None,
                  category_raw=category_text(values.get("category")) or options.category,
                  name=values.get("name") or None, record=extra or None)
