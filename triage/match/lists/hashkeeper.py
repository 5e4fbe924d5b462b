"""HashKeeper `.hsh` (the NDIC format, still found in older lab collections): MD5 per file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.match.lists.entries import ParseOptions, digest, row
from triage.match.lists.tabular import header_fields, iter_records

NAME = "hashkeeper"
PRIORITY = 40  # auto-detection order: most specific signature first
DESCRIPTION = 'HashKeeper .hsh with header "file_id","hashset_id","file_name",...,"hash",...'
HEADER = ("file_id", "hashset_id", "file_name", "directory", "hash", "file_size")


def sniff(head: str) -> bool:
    return header_fields(head, ",")[:3] == ["file_id", "hashset_id", "file_name"]


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    for where, r in iter_records(path, ",", HEADER, "HashKeeper", options.progress):
        name = "/".join(p for p in (r["directory"].rstrip("\\/"), r["file_name"]) if p)
        yield row(md5=digest(r["hash"], "md5", where), category_raw=options.category,
                  name=name or None,
                  record={"file_id": r["file_id"], "hashset_id": r["hashset_id"],
                          "file_size": r["file_size"], "comments": r.get("comments")})
