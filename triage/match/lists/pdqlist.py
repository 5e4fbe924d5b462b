"""PDQ lists: one 64-hex hash per line, optionally `hash,category`, or CSV
with a header (`pdq`/`hash`, `quality`, `category`, `name`).

The ThreatExchange-style text dump. Auto-detection needs the header: a bare 64-hex line could
equally be a SHA-256, so headerless files need `--format pdq`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

from triage.match.lists.entries import (ListFormatError, ParseOptions, category_text, digest,
                                     line_chunks, row)
from triage.store.hashsets import EntryBlock

NAME = "pdq"
PRIORITY = 70  # auto-detection order: most specific signature first
DESCRIPTION = "PDQ list, one 64-hex hash per line, or CSV with a header naming a pdq column"

_HEADER = re.compile(r"^\s*(pdq|hash|pdq_hash)\s*[,;\t]", re.I)


def sniff(head: str) -> bool:
    return bool(_HEADER.match(head)) and "pdq" in head.splitlines()[0].lower()


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...] | EntryBlock]:
    """Chunks of lines: `hash[,category]` chunks go in bulk (one hex decode per chunk, like
    hashlist); anything else (quoted fields, a quality or name column, comments) goes through
    the csv module line by line, which also names the offending line in errors."""
    delimiter = options.delimiter or ","
    columns = ["pdq", "second"]
    for first, lines in line_chunks(path, options.progress):
        if first == 1 and lines and lines[0].strip() and not lines[0].startswith("#") and \
                not re.fullmatch(r"[0-9a-fA-F]{64}", lines[0].split(delimiter, 1)[0].strip()):
            columns = [c.strip().lower() for c in next(csv.reader(lines[:1],
                                                                  delimiter=delimiter))]
            lines = lines[1:]
            first = 2
        bulk = (columns[0] in ("pdq", "hash", "pdq_hash") and len(columns) <= 2
                and (len(columns) == 1 or columns[1] in ("category", "second")))
        block = _clean_chunk(lines, delimiter, options.category) if bulk else None
        if block:
            yield block
        else:
            yield from _checked_chunk(path, first, lines, columns, delimiter, options)


def _clean_chunk(lines: list[str], delimiter: str, default: str | None) -> EntryBlock | None:
    """`<64 hex>` or `<64 hex>,<category>` on every line, nothing quoted, no padding."""
    if not lines:
        return None
    try:
        pdq = bytes.fromhex("".join([ln[:64] for ln in lines]))
    except ValueError:
        return None
    if len(pdq) != 32 * len(lines) or not {ln[64:65] for ln in lines} <= {"", delimiter}:
        return None
    categories = [ln[65:] or default for ln in lines]
    text = "".join(c for c in set(categories) if c)
    if any(ch in text for ch in (delimiter, '"', " ", "\t")):
        return None
    return EntryBlock(len(lines), packed={"pdq": pdq}, values={"category_raw": categories})


def _checked_chunk(path: str, first: int, lines: list[str], columns: list[str],
                   delimiter: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    for lineno, fields in enumerate(csv.reader(lines, delimiter=delimiter), first):
        if not fields or not fields[0].strip() or fields[0].startswith("#"):
            continue
        where = f"{path} line {lineno}"
        values = dict(zip(columns, (v.strip() for v in fields)))
        pdq = digest(values.get("pdq") or values.get("hash") or values.get("pdq_hash") or
                     fields[0], "pdq", where)
        quality = values.get("quality")
        category = values.get("category")
        second = values.get("second")
        if second is not None:  # headerless `hash,category` (a quality needs a header)
            category = second
        try:
            q = int(quality) if quality not in (None, "") else None
        except ValueError:
            raise ListFormatError(f"{where}: quality {quality!r} is not a number") from None
        yield row(pdq=pdq, pdq_quality=q,
                  category_raw=category_text(category) or options.category,
                  name=values.get("name"))
