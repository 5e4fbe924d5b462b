"""Known-hash list formats: one module per format, found through the `triage.list_formats`
registry (entry points, see `triage.plugins`).

Every format module provides `NAME`, `DESCRIPTION`, `PRIORITY` (auto-detection order, most
specific signature first), `sniff(head: str) -> bool` (does the start of the file look like this
format?) and `parse(path, options) -> Iterator[tuple]` yielding entry rows in
`triage.store.hashsets.ENTRY_COLUMNS` order. Parsers stream: a national list is tens of millions
of lines and must never be held whole in memory. A new format is one new module, declared as an
entry point in its package's `pyproject.toml`.
"""

from __future__ import annotations

from types import ModuleType

from triage.match.lists.entries import ListFormatError, read_head

from triage.plugins import Registry

FORMATS: Registry[ModuleType] = Registry("triage.list_formats", "hash-list format",
                                         required=("NAME", "DESCRIPTION", "sniff", "parse"))


def detect(path: str) -> str:
    """The format name of the file at `path`, or a ListFormatError naming what was expected."""
    head = read_head(path)
    if head is None:
        raise ListFormatError(f"{path} is empty: nothing to import")
    for name, module in FORMATS.items():
        if module.sniff(head):
            return name
    from triage.match.lists import hashlist

    if hashlist.bare_sha256_or_pdq(head):
        raise ListFormatError(
            f"{path}: lines of 64 hex digits without file names could be SHA-256 or PDQ;"
            " pass --format hashlist (SHA-256) or --format pdq")
    expected = "; ".join(f"{n}: {m.DESCRIPTION}" for n, m in FORMATS.items())
    raise ListFormatError(f"{path} is not a known hash-list format. Expected one of — {expected}")


def parser(name: str) -> ModuleType:
    try:
        return FORMATS.get(name)
    except KeyError:
        raise ListFormatError(
            f"unknown list format {name!r} (known: {', '.join(FORMATS.names())})") from None


__all__ = ["FORMATS", "ListFormatError", "detect", "parser"]
