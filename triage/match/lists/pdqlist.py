"""PDQ lists: one 64-hex hash per line, optionally `hash,category`; Meta's `pdq-photo-hasher`
output (`hash,quality,path`, or `hash,path` from older builds); or CSV with a header (`pdq`/
`hash`, `quality`, `category`, `name`).

The ThreatExchange-style text dump needs `--format pdq`: a bare 64-hex line could equally be a
SHA-256. pdq-photo-hasher output is recognised without it (a quality column, or a file path,
after the hash: no SHA-256 list format looks like that). Its file names are printed raw, so
everything after the hash (and the quality) is the path, commas included.

vPDQ per-frame files (`frame,quality,pdq,seconds`, one line per video frame, the layout of
Meta's vpdq/sample-hashes) are the `vpdq` format (`triage.match.lists.vpdq`); forced through
this one they are refused with a message naming that format: a video's frames are matched
together, not as unrelated pictures.
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
DESCRIPTION = ("PDQ list, one 64-hex hash per line; pdq-photo-hasher output (hash,quality,path);"
               " or CSV with a header naming a pdq column")

_HEADER = re.compile(r"^\s*(pdq|hash|pdq_hash)\s*[,;\t]", re.I)
_HASHER_QUALITY = re.compile(r"^[0-9a-fA-F]{64},(\d{1,3}),(.+)$")    # hash,quality,path
_HASHER_PATH = re.compile(r"^[0-9a-fA-F]{64},(.+)$")                # hash,path (older builds)
_VPDQ = re.compile(r"^\d+,\d{1,3},[0-9a-fA-F]{64},\d+(?:\.\d*)?$")   # frame,quality,pdq,seconds
_PATHLIKE = re.compile(r"[/\\]|\.[A-Za-z0-9]{2,5}$")
VPDQ_MESSAGE = ("is a vPDQ file (per-frame video hashes: frame, quality, PDQ, seconds), not a"
                " list of pictures: import it with --format vpdq (or without --format, it is"
                " recognised). Nothing was imported.")


def _data_lines(head: str) -> list[str]:
    lines = [ln.rstrip("\r") for ln in head.splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[:-1] if len(lines) > 1 else lines  # the last line of a 64 KiB head may be cut


def is_vpdq(head: str) -> bool:
    """Does the start of a file look like vPDQ per-frame hashes?"""
    lines = _data_lines(head)
    return bool(lines) and all(_VPDQ.match(ln) for ln in lines)


def hasher_shape(lines: list[str]) -> str | None:
    """'quality' (`hash,quality,path`), 'path' (`hash,path`) or None: how pdq-photo-hasher
    wrote these lines, if it did, judged by the first line (parse checks every other line
    against it and names one that differs). A second field that is a number 0-100 followed by
    a third is a quality; a second field that looks like a file path (a slash or an extension)
    is a path; anything else (`hash,category`) is not the hasher's."""
    line = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), None)
    if line is None:
        return None
    m = _HASHER_QUALITY.match(line)
    if m and int(m.group(1)) <= 100:
        return "quality"
    if _HASHER_PATH.match(line) and _PATHLIKE.search(line[65:]):
        return "path"
    return None


def sniff(head: str) -> bool:
    if _HEADER.match(head) and "pdq" in head.splitlines()[0].lower():
        return True
    return hasher_shape(_data_lines(head)) is not None


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...] | EntryBlock]:
    """Chunks of lines: `hash[,category]` chunks go in bulk (one hex decode per chunk, like
    hashlist); anything else (quoted fields, a quality or name column, comments) goes through
    the csv module line by line, which also names the offending line in errors."""
    delimiter = options.delimiter or ","
    columns = ["pdq", "second"]
    shape: str | None = None
    for first, lines in line_chunks(path, options.progress):
        if first == 1:
            if is_vpdq("\n".join(lines[:1000])):
                raise ListFormatError(f"{path} {VPDQ_MESSAGE}")
            shape = hasher_shape(lines[:1000]) if delimiter == "," else None
        if shape is not None:
            yield _hasher_chunk(path, first, lines, shape, options.category)
            continue
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


def _hasher_chunk(path: str, first: int, lines: list[str], shape: str,
                  category: str | None) -> EntryBlock:
    """pdq-photo-hasher lines: `hash,quality,path` or `hash,path` (the path taken whole)."""
    hashes: list[str] = []
    qualities: list[int | None] = []
    names: list[str | None] = []
    for lineno, line in enumerate(lines, first):
        if not line.strip() or line.startswith("#"):
            continue
        m = (_HASHER_QUALITY if shape == "quality" else _HASHER_PATH).match(line)
        if m is None or (shape == "quality" and int(m.group(1)) > 100):
            want = "hash,quality,path" if shape == "quality" else "hash,path"
            raise ListFormatError(f"{path} line {lineno}: {line[:80]!r} is not a"
                                  f" pdq-photo-hasher line ({want}, like the lines before it)")
        hashes.append(line[:64])
        if shape == "quality":
            qualities.append(int(m.group(1)))
            names.append(m.group(2))
        else:
            qualities.append(None)
            names.append(m.group(1))
    values: dict[str, list[Any]] = {"name": names}
    if shape == "quality":
        values["pdq_quality"] = qualities
    constants = {"category_raw": category} if category else {}
    return EntryBlock(len(hashes), packed={"pdq": bytes.fromhex("".join(hashes))},
                      values=values, constants=constants)


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
