"""Known-hash list formats: one module per format, named in one registry.

Every format module provides `NAME`, `DESCRIPTION`, `sniff(head: str) -> bool` (does the start of
the file look like this format?) and `parse(path, options) -> Iterator[tuple]` yielding entry
rows in `triage.store.hashsets.ENTRY_COLUMNS` order. Parsers stream: a national list is tens of
millions of lines and must never be held whole in memory. A new format is one new module added
to `FORMATS` below.
"""

from __future__ import annotations

from types import ModuleType

from triage.match.lists import (
    csvlist,
    hashkeeper,
    hashlist,
    icse,
    nsrl,
    nsrl_legacy,
    pdqlist,
    vics,
)
from triage.match.lists.entries import ListFormatError, read_head

# Order matters for auto-detection: the most specific signatures first.
FORMATS: dict[str, ModuleType] = {
    m.NAME: m for m in (nsrl, vics, nsrl_legacy, hashkeeper, icse, hashlist, pdqlist, csvlist)
}


def detect(path: str) -> str:
    """The format name of the file at `path`, or a ListFormatError naming what was expected."""
    head = read_head(path)
    if head is None:
        raise ListFormatError(f"{path} is empty: nothing to import")
    for name, module in FORMATS.items():
        if module.sniff(head):
            return name
    if hashlist.bare_sha256_or_pdq(head):
        raise ListFormatError(
            f"{path}: lines of 64 hex digits without file names could be SHA-256 or PDQ;"
            " pass --format hashlist (SHA-256) or --format pdq")
    expected = "; ".join(f"{n}: {m.DESCRIPTION}" for n, m in FORMATS.items())
    raise ListFormatError(f"{path} is not a known hash-list format. Expected one of — {expected}")


def parser(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise ListFormatError(
            f"unknown list format {name!r} (known: {', '.join(FORMATS)})") from None


__all__ = ["FORMATS", "ListFormatError", "detect", "parser"]
