"""md5sum / sha1sum / sha256sum output: `<hex>  <name>` (`<hex> *<name>` in binary mode).

Also accepts bare hash-per-line files for MD5 and SHA-1 (common hand-made lists). The digest
type follows from the hex length (32/40/64) and must not change within a file. This is the
format national lists of plain MD5s arrive in, so it is parsed in bulk, a chunk of lines at a
time into columns (10 M lines a minute is the target, see scripts/bench_match.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.match.lists.entries import HEX_LENGTHS, ListFormatError, ParseOptions, line_chunks
from triage.store.hashsets import EntryBlock

NAME = "hashlist"
PRIORITY = 60  # auto-detection order: most specific signature first
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
    named = all(_LINE.match(ln) for ln in lines) and any(" " in ln for ln in lines)
    return named or all(_BARE.match(ln) for ln in lines)


def bare_sha256_or_pdq(head: str) -> bool:
    lines = _lines(head)
    return bool(lines) and all(_BARE64.match(ln) for ln in lines)


def parse(path: str, options: ParseOptions) -> Iterator[EntryBlock]:
    """EntryBlocks of whole chunks of lines: a clean chunk is converted with one hex decode and
    a few list comprehensions; a chunk with comments, blank or bad lines is read line by line
    (which is also what names the offending line in the error)."""
    width = 0
    column = ""
    constants = {"category_raw": options.category} if options.category else {}
    for first, lines in line_chunks(path, options.progress):
        if not width:
            width = _width(path, first, lines)
            if not width:
                continue  # only blank lines and comments so far
            column = HEX_LENGTHS[width]
        fast = _clean_chunk(lines, width)
        digests, names = fast if fast else _checked_chunk(path, first, lines, width)
        if names:
            yield EntryBlock(len(names), packed={column: digests}, values={"name": names},
                             constants=dict(constants))


_SEPARATORS = {"", "  ", " *"}


def _width(path: str, first: int, lines: list[str]) -> int:
    for lineno, line in enumerate(lines, first):
        if not line.strip() or line.startswith("#"):
            continue
        width = len(line.split(None, 1)[0])
        if width not in HEX_LENGTHS:
            raise ListFormatError(
                f"{path} line {lineno}: expected an MD5 (32), SHA-1 (40) or SHA-256 (64)"
                f" hex digest, found {line[:80]!r}")
        return width
    return 0


def _clean_chunk(lines: list[str], width: int) -> tuple[bytes, list[str | None]] | None:
    """(packed digests, names) if every line is `<hex>`, `<hex>  <name>` or `<hex> *<name>`."""
    try:
        digests = bytes.fromhex("".join([ln[:width] for ln in lines]))
    except ValueError:
        return None
    # fromhex skips whitespace: the length proves every line held `width` hex digits.
    if len(digests) * 2 != width * len(lines):
        return None
    if not {ln[width:width + 2] for ln in lines} <= _SEPARATORS:
        return None
    return digests, [ln[width + 2:] or None for ln in lines]


def _checked_chunk(path: str, first: int, lines: list[str], width: int
                   ) -> tuple[bytes, list[str | None]]:
    digests: list[bytes] = []
    names: list[str | None] = []
    algo = HEX_LENGTHS[width]
    for lineno, line in enumerate(lines, first):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            value = bytes.fromhex(line[:width])
        except ValueError:
            value = b""
        if len(value) * 2 != width:
            raise ListFormatError(
                f"{path} line {lineno}: {line[:80].rstrip()!r} is not a {algo} digest line")
        rest = line[width:]
        if rest and rest[0] not in " \r":
            raise ListFormatError(
                f"{path} line {lineno}: {line[:80].rstrip()!r} is not a {algo} digest line"
                " (mixed digest lengths?)")
        digests.append(value)
        names.append(rest[2:].rstrip("\r") or None)
    return b"".join(digests), names
