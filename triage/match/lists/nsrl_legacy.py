"""NSRL RDS 2.x `NSRLFile.txt`: known-good software files (SHA-1, MD5, CRC32, name, size...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from triage.match.lists.entries import ParseOptions, digest, row
from triage.match.lists.tabular import header_fields, iter_records

NAME = "nsrl-legacy"
PRIORITY = 30  # auto-detection order: most specific signature first
DESCRIPTION = 'NSRL RDS 2.x NSRLFile.txt with header "SHA-1","MD5","CRC32","FileName",...'
HEADER = ("SHA-1", "MD5", "CRC32", "FileName", "FileSize", "ProductCode", "OpSystemCode",
          "SpecialCode")


def sniff(head: str) -> bool:
    return header_fields(head, ",")[:4] == ["sha-1", "md5", "crc32", "filename"]


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    for where, r in iter_records(path, ",", HEADER[:4], "NSRLFile.txt",
                                 options.progress):
        yield row(md5=digest(r["md5"], "md5", where), sha1=digest(r["sha-1"], "sha1", where),
                  name=r["filename"] or None,
                  record={"ProductCode": r.get("productcode"), "FileSize": r.get("filesize"),
                          "OpSystemCode": r.get("opsystemcode")})
