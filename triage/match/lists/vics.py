"""Project VIC "VICS" JSON 1.2 / 1.3 / 2.0 (also UK CAID exports), both shapes, streamed.

Shapes: a hash set is `{"value": [Media, ...]}`; a case is `{"value": [{case fields...,
"Media": [Media, ...]}]}`. Real exports carry a UTF-8 BOM, booleans as strings, upper-case
hashes and null categories, and run to tens of MB: the file is read with `ijson` as a stream,
one Media record at a time. PhotoDNA (top-level in 2.0, in AlternativeHashes in 1.3) is
proprietary: it is kept verbatim in the record, never computed or compared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import ijson

from triage.match.lists.entries import (BOM, ListFormatError, ParseOptions, category_text,
                                     digest, open_source, read_head, row, truthy)

NAME = "vics"
PRIORITY = 20  # auto-detection order: most specific signature first
DESCRIPTION = ('Project VIC / CAID VICS JSON 1.2, 1.3 ("odata.metadata") or 2.0'
               ' ("@odata.context")')
VERSIONS = ("1.2", "1.3", "2.0")
BOOLEAN_FIELDS = ("VictimIdentified", "OffenderIdentified", "IsDistributed", "IsSuspected",
                  "IsPrecategorized", "Unallocated", "Deleted")
_CONTEXT = re.compile(r'"(?:@odata\.context|odata\.metadata)"\s*:\s*"([^"]*)"')
_VERSION = re.compile(r"DataModels/(\d+\.\d+)")
_CASE_SHAPE = re.compile(r'"Media"\s*:\s*\[')


def sniff(head: str) -> bool:
    return head.lstrip().startswith("{") and bool(_CONTEXT.search(head[:4096]))


def context(head: str) -> str:
    m = _CONTEXT.search(head[:4096])
    if not m:
        raise ListFormatError(
            'not VICS JSON: expected "odata.metadata" (VICS 1.2/1.3) or "@odata.context"'
            " (VICS 2.0) as the first key")
    return m.group(1)


def version(head: str) -> str:
    ctx = context(head)
    m = _VERSION.search(ctx)
    if not m or m.group(1) not in VERSIONS:
        raise ListFormatError(f"VICS data model {ctx!r} is not one of {', '.join(VERSIONS)}")
    return m.group(1)


def default_scheme(head: str) -> str:
    """CAID exports use the UK profile of VICS 2.0; everything else Project VIC US numbering."""
    return "uk" if "/UK/" in context(head) else "vic-us"


def _open(path: str, progress: Callable[[int], None] | None = None) -> BinaryIO:
    f = open_source(path, progress)
    if f.read(3) != BOM:
        f.seek(0)
    return f


def case_fields(path: str) -> dict[str, Any]:
    """The case-level fields of a case-shaped file (read up to the Media array only)."""
    out: dict[str, Any] = {}
    with _open(path) as f:
        for prefix, event, value in ijson.parse(f, use_float=True):
            if prefix == "value.item.Media" and event == "start_array":
                break
            if prefix.startswith("value.item.") and prefix.count(".") == 2 and \
                    event not in ("start_map", "start_array", "map_key", "end_map", "end_array"):
                out[prefix.rsplit(".", 1)[1]] = value
    return out


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    head = read_head(path) or ""
    try:
        version(head)
    except ListFormatError as exc:
        raise ListFormatError(f"{path}: {exc}") from None
    prefix = "value.item.Media.item" if _CASE_SHAPE.search(head) else "value.item"
    n = 0
    with _open(path, options.progress) as f:
        try:
            for n, media in enumerate(ijson.items(f, prefix, use_float=True), 1):
                yield media_row(media, _Where(path, n))
        except ijson.JSONError as exc:
            raise ListFormatError(
                f"{path}: malformed JSON after Media record {n}: {exc}") from None
    if n == 0:
        raise ListFormatError(f"{path}: VICS file with no Media records")


class _Where:
    """Which record an error is about, formatted only if there is an error (a million records
    each formatting their own would cost more than checking their digests)."""

    __slots__ = ("path", "n")

    def __init__(self, path: str, n: int) -> None:
        self.path, self.n = path, n

    def __str__(self) -> str:
        return f"{self.path} Media record {self.n}"


def media_row(media: Any, where: "str | _Where") -> tuple[Any, ...]:
    """The entry of one Media record. `media` is the parser's own dict: it becomes the kept
    record (without the hashes and category, which are columns)."""
    if not isinstance(media, dict):
        raise ListFormatError(f"{where}: expected a Media object, found {type(media).__name__}")
    md5 = digest(media.pop("MD5", None), "md5", where)
    sha1 = digest(media.pop("SHA1", None), "sha1", where)
    sha256 = digest(media.pop("SHA256", None), "sha256", where)
    if md5 is None and sha1 is None and sha256 is None:
        raise ListFormatError(f"{where}: Media record without MD5, SHA1 or SHA256")
    category = media.pop("Category", None)
    record = media
    for key in BOOLEAN_FIELDS:
        if key in record:
            record[key] = truthy(record[key])
    for mf in record.get("MediaFiles") or []:
        if isinstance(mf, dict):
            for key in BOOLEAN_FIELDS:
                if key in mf:
                    mf[key] = truthy(mf[key])
    files = record.get("MediaFiles") or []
    name = (files[0].get("FileName") if files and isinstance(files[0], dict) else None) \
        or record.get("RelativeFilePath")
    return row(md5=md5, sha1=sha1, sha256=sha256, category_raw=category_text(category),
               name=name, record=record)


def photodna(record: dict[str, Any]) -> str | None:
    """The PhotoDNA value wherever the version put it (opaque base64 text)."""
    if record.get("PhotoDNA"):
        return str(record["PhotoDNA"])
    for alt in record.get("AlternativeHashes") or []:
        if isinstance(alt, dict) and str(alt.get("HashName", "")).lower() == "photodna":
            return str(alt.get("HashValue"))
    return None
