"""md5sum / sha1sum / sha256sum output: `<hex>  <name>` (`<hex> *<name>` in binary mode).

Also accepts bare hash-per-line files for MD5 and SHA-1 (common hand-made lists). The digest
type follows from the hex length (32/40/64) and must not change within a file. This is the
format national lists of plain MD5s arrive in, so the loop is kept lean (10 M lines a minute
is the target, see scripts/bench_match.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from triage.hashsets.entries import HEX_LENGTHS, ListFormatError, ParseOptions

NAME = "hashlist"
DESCRIPTION = "md5sum/sha1sum/sha256sum text, '<hex>  <name>' per line"

_LINE = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})(?: [ *].*)?$")
_BARE = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40})$")
_BARE64 = re.compile(r"^[0-9a-fA-F]{64}(?:,.*)?$")


def _lines(head: str) -> list[str]:
    lines = [ln.rstrip("\r") for ln in head.splitlines() if ln.strip() and not ln.startswith("#")]
    return lines[:-1] if len(lines) > 1 else lines  # the last line of a 64 KiB head may be cut


def sniff(head: str) -> bool:
    lines = _lines(head)
    if not lines:
        return False
    named = all(_LINE.match(ln) and " " in ln for ln in lines)
    return named or all(_BARE.match(ln) for ln in lines)


def bare_sha256_or_pdq(head: str) -> bool:
    lines = _lines(head)
    return bool(lines) and all(_BARE64.match(ln) for ln in lines)


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    width = 0
    slot = 0
    category = options.category
    with open(path, encoding="utf-8-sig", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, 1):
            if not width:
                if not line.strip() or line.startswith("#"):
                    continue
                width = len(line.split(None, 1)[0])
                if width not in HEX_LENGTHS:
                    raise ListFormatError(
                        f"{path} line {lineno}: expected an MD5 (32), SHA-1 (40) or SHA-256 (64)"
                        f" hex digest, found {line[:80]!r}")
                slot = ("md5", "sha1", "sha256").index(HEX_LENGTHS[width])
            try:
                value = bytes.fromhex(line[:width])
            except ValueError:
                if not line.strip() or line.startswith("#"):
                    continue
                raise ListFormatError(
                    f"{path} line {lineno}: {line[:80].rstrip()!r} is not a"
                    f" {HEX_LENGTHS[width]} digest line") from None
            rest = line[width:]
            if rest and rest[0] not in " \r\n":
                raise ListFormatError(
                    f"{path} line {lineno}: {line[:80].rstrip()!r} is not a"
                    f" {HEX_LENGTHS[width]} digest line (mixed digest lengths?)")
            name = rest[2:].rstrip("\r\n") or None if len(rest) > 2 else None
            if slot == 0:
                yield (value, None, None, None, None, category, name, None)
            elif slot == 1:
                yield (None, value, None, None, None, category, name, None)
            else:
                yield (None, None, value, None, None, category, name, None)
