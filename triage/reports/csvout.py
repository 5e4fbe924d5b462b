"""CSV that a spreadsheet opens as data: cells that would start a formula are neutralised.

Why: file names, EXIF fields and list fields come from the evidence or from outside lists, and
a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)`,
DDE `=cmd|...`), and some also after a leading tab or carriage return (OWASP, "CSV Injection").
Following OWASP's advice, a text cell starting with one of those six characters is written with
one apostrophe in front (`'=1+2`): the spreadsheet shows the text, the apostrophe is not shown.
The csv module quotes cells holding the delimiter, quotes or line breaks and doubles embedded
quotes. Numbers are written as they are (a negative number is data, and no number can hold a
formula). A reader who needs the exact value takes the JSON output, or removes the one leading
apostrophe from a cell whose next character is one of the six.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` as written to CSV: text starting a formula gets one leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose rows go through `safe_cell` (headers are ours and written as they are)."""

    def __init__(self, out: TextIO) -> None:
        self._w = csv.writer(out)

    def header(self, names: Iterable[str]) -> None:
        self._w.writerow(list(names))

    def row(self, values: Iterable[Any]) -> None:
        self._w.writerow([safe_cell(v) for v in values])
