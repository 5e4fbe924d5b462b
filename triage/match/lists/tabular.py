"""Reading delimited lists with a header row (NSRL legacy, HashKeeper, ICSE, generic CSV)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence

from triage.match.lists.entries import ListFormatError, open_source

csv.field_size_limit(1 << 24)  # PhotoDNA and comment fields can be long


def header_fields(head: str, delimiter: str) -> list[str]:
    first = head.splitlines()[0] if head else ""
    try:
        return [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter))]
    except (StopIteration, csv.Error):
        return []


def iter_records(path: str, delimiter: str, required: Sequence[str], what: str,
                 progress: Callable[[int], None] | None = None
                 ) -> Iterator[tuple[str, dict[str, str]]]:
    """(where, {lower-case column: value}) per data row; checks the header names `required`."""
    with open_source(path, progress, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise ListFormatError(f"{path} is empty; expected a {what} header") from None
        missing = [c for c in required if c.lower() not in header]
        if missing:
            raise ListFormatError(
                f"{path}: the header lacks {', '.join(missing)}; a {what} file starts with"
                f" {delimiter.join(required)} (found: {delimiter.join(header)[:200]})")
        try:
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                where = f"{path} line {reader.line_num}"
                if len(fields) != len(header):
                    raise ListFormatError(
                        f"{where}: {len(fields)} fields where the header has {len(header)}")
                yield where, dict(zip(header, fields))
        except csv.Error as exc:
            raise ListFormatError(f"{path} line {reader.line_num}: {exc}") from None
