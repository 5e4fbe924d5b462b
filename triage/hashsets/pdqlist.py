"""PDQ lists: one 64-hex hash per line, optionally `hash,category`, or CSV
with a header (`pdq`/`hash`, `quality`, `category`, `name`).

The ThreatExchange-style text dump. Auto-detection needs the header: a bare 64-hex line could
equally be a SHA-256, so headerless files need `--format pdq`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

from triage.hashsets.entries import ListFormatError, ParseOptions, category_text, digest, row

NAME = "pdq"
DESCRIPTION = "PDQ list, one 64-hex hash per line, or CSV with a header naming a pdq column"

_HEADER = re.compile(r"^\s*(pdq|hash|pdq_hash)\s*[,;\t]", re.I)


def sniff(head: str) -> bool:
    return bool(_HEADER.match(head)) and "pdq" in head.splitlines()[0].lower()


def parse(path: str, options: ParseOptions) -> Iterator[tuple[Any, ...]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=options.delimiter or ",")
        columns = ["pdq", "second"]
        for lineno, fields in enumerate(reader, 1):
            if not fields or not fields[0].strip() or fields[0].startswith("#"):
                continue
            if lineno == 1 and not re.fullmatch(r"[0-9a-fA-F]{64}", fields[0].strip()):
                columns = [c.strip().lower() for c in fields]
                continue
            where = f"{path} line {lineno}"
            values = dict(zip(columns, (v.strip() for v in fields)))
            pdq = digest(values.get("pdq") or values.get("hash") or values.get("pdq_hash") or
                         fields[0], "pdq", where)
            quality = values.get("quality")
            category = values.get("category")
            second = values.get("second")
            if second is not None:  # headerless `hash,category` (a quality needs a header)
                category = second
            try:
                q = int(quality) if quality not in (None, "") else None
            except ValueError:
                raise ListFormatError(f"{where}: quality {quality!r} is not a number") from None
            yield row(pdq=pdq, pdq_quality=q,
                      category_raw=category_text(category) or options.category,
                      name=values.get("name"))
