"""Importing a list into the lab's hash library: detect, stream-parse, swap in atomically."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.hashsets import ListFormatError, detect, parser
from triage.hashsets.categories import CategoryMap
from triage.hashsets.entries import ParseOptions, read_head

KINDS = ("alert", "known-good", "reference")


@dataclass
class ImportResult:
    hashset: dict[str, Any]
    replaced: dict[str, Any] | None
    unmapped_categories: dict[str, int] = field(default_factory=dict)
    with_pdq: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.hashset["name"], "kind": self.hashset["kind"],
                "format": self.hashset["format"], "scheme": self.hashset["scheme"],
                "entries": self.hashset["entry_count"], "with_pdq": self.with_pdq,
                "source_sha256": self.hashset["source_sha256"],
                "replaced": self.replaced is not None,
                "unmapped_categories": self.unmapped_categories}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def import_list(store: Any, path: Path, name: str, *, fmt: str = "auto", kind: str = "alert",
                scheme: str | None = None, categories: CategoryMap,
                options: ParseOptions | None = None) -> ImportResult:
    """Parse `path` and store it as list `name`, replacing an earlier version in one step.

    A malformed file raises ListFormatError before anything is swapped in.
    """
    if kind not in KINDS:
        raise ListFormatError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not path.is_file():
        raise ListFormatError(f"{path} is not a file")
    if fmt == "auto":  # a column mapping only makes sense for generic CSV
        fmt = "csv" if options and options.columns else detect(str(path))
    module = parser(fmt)
    if scheme is None:
        head = read_head(str(path)) or ""
        guess = getattr(module, "default_scheme", None)
        scheme = guess(head) if guess else "none"
    try:
        categories.check(scheme)
    except ValueError as exc:
        raise ListFormatError(str(exc)) from None
    result_counts: dict[str, int] = {}
    pdq_count = [0]

    def rows() -> Iterator[tuple[Any, ...]]:
        for r in module.parse(str(path), options or ParseOptions()):
            raw = r[5]
            if raw is not None and not categories.is_mapped(scheme, raw):
                result_counts[raw] = result_counts.get(raw, 0) + 1
            if r[3] is not None:
                pdq_count[0] += 1
            yield r

    digest = file_sha256(path)
    hs, old = store.write_hashset(name, kind, fmt, scheme, str(path.absolute()), digest, rows())
    return ImportResult(hs, old, dict(sorted(result_counts.items())), pdq_count[0])
