"""INTERPOL ICSE export: `;`-separated MD5, SHA1, PhotoDNA, Image ID, series and flags.

ICSE holds no category column: these are identified-series images, so entries get the category
given with `--category` (if any) and keep every column in the record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.match.lists.entries import ParseOptions, digest, row, truthy
from triage.match.lists.tabular import header_fields, iter_records

NAME = "icse"
PRIORITY = 50  # auto-detection order: most specific signature first
DESCRIPTION = "INTERPOL ICSE CSV, ';'-separated, header MD5;SHA1;PhotoDNA;Image ID;..."
_FLAGS = ("is distributed", "victim identified", "offender identified", "file available",
          "baseline")


def sniff(head: str) -> bool:
    fields = header_fields(head, ";")
    return "md5" in fields and "sha1" in fields and "photodna" in fields


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    for where, r in iter_records(path, ";", ("MD5", "SHA1", "PhotoDNA", "Image ID"), "ICSE",
                                 options.progress):
        record: dict[str, Any] = {k: v for k, v in r.items() if v != "" and k not in
                                  ("md5", "sha1")}
        for flag in _FLAGS:
            if flag in record:
                record[flag] = truthy(record[flag])
        yield row(md5=digest(r["md5"], "md5", where), sha1=digest(r["sha1"], "sha1", where),
                  category_raw=options.category, name=r.get("image id") or None, record=record)
