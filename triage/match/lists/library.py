"""Importing a list into the lab's hash library: detect, stream-parse, swap in atomically."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from triage.signals.crypto import file_sha256
from triage.match.lists import ListFormatError, detect, parser
from triage.categories import CategoryMap
from triage.match.lists.entries import EMPTY_CONTENT, ParseOptions, read_head
from triage.store.hashsets import ENTRY_COLUMNS, EntryBlock, entry_blocks

KINDS = ("alert", "known-good", "reference")
T = TypeVar("T")


@dataclass
class ImportResult:
    hashset: dict[str, Any]
    replaced: dict[str, Any] | None
    unmapped_categories: dict[str, int] = field(default_factory=dict)
    with_pdq: int = 0
    empty_content_skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.hashset["name"], "kind": self.hashset["kind"],
                "format": self.hashset["format"], "scheme": self.hashset["scheme"],
                "entries": self.hashset["entry_count"], "with_pdq": self.with_pdq,
                "source_sha256": self.hashset["source_sha256"],
                "replaced": self.replaced is not None,
                "unmapped_categories": self.unmapped_categories,
                "empty_content_skipped": self.empty_content_skipped}


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """`items`, produced by a background thread while the caller works on the previous ones.

    Why: SQLite releases the GIL while it inserts a block, so parsing the next block overlaps
    the insert and an import uses both cores. An exception in the producer is raised here; if
    the caller stops early, the producer stops too (and its generator is closed).
    """
    q: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def put(item: Any, exc: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                q.put((item, exc), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(done, exc)
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    worker = threading.Thread(target=produce, name="list-parser", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if item is done:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _holds_empty_digest(block: EntryBlock) -> bool:
    for col, empty in EMPTY_CONTENT.items():
        if col in block.packed:
            blob, w = block.packed[col], len(empty)
            at = blob.find(empty)
            while at >= 0:
                if at % w == 0:
                    return True
                at = blob.find(empty, at + 1)
        elif col in block.values:
            if empty in block.values[col]:
                return True
        elif block.constants.get(col) == empty:
            return True
    return False


def without_empty_content(block: EntryBlock) -> tuple[EntryBlock, int]:
    """`block` without the digests of empty content (`EMPTY_CONTENT`), and how many entries
    carried one. An entry left with no hash at all is dropped; one that also has another hash
    keeps that. A block without them (nearly always) is returned as it is, unexamined row by row."""
    if not _holds_empty_digest(block):
        return block, 0
    digest_at = {c: ENTRY_COLUMNS.index(c) for c in EMPTY_CONTENT}
    hashes = [ENTRY_COLUMNS.index(c) for c in (*EMPTY_CONTENT, "pdq")]
    kept: list[tuple[Any, ...]] = []
    skipped = 0
    for entry in zip(*(block.column(c) for c in ENTRY_COLUMNS)):
        values = list(entry)
        hit = False
        for col, i in digest_at.items():
            if values[i] is not None and bytes(values[i]) == EMPTY_CONTENT[col]:
                values[i] = None
                hit = True
        if hit:
            skipped += 1
            if all(values[i] is None for i in hashes):
                continue
        kept.append(tuple(values))
    return EntryBlock.from_rows(kept), skipped


def import_list(store: Any, path: Path, name: str, *, fmt: str = "auto", kind: str = "alert",
                scheme: str | None = None, categories: CategoryMap,
                options: ParseOptions | None = None,
                on_stage: Callable[[str], None] | None = None) -> ImportResult:
    """Parse `path` and store it as list `name`, replacing an earlier version in one step.

    Hashes of empty content are skipped (`without_empty_content`) and counted in the result.

    A malformed file raises ListFormatError before anything is swapped in. Progress: bytes read
    go to `options.progress`; `on_stage("indexing")` once the file is read.
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
    unmapped: Counter[str] = Counter()
    empty = [0]

    def blocks() -> Iterator[EntryBlock]:
        for block in entry_blocks(module.parse(str(path), options or ParseOptions())):
            block, skipped = without_empty_content(block)
            empty[0] += skipped
            if "category_raw" in block.values:
                seen = Counter(block.values["category_raw"])
            else:
                seen = Counter({block.constants.get("category_raw"): block.n})
            for raw, n in seen.items():
                if raw is not None and not categories.is_mapped(scheme, raw):
                    unmapped[raw] += n
            yield block

    digest = file_sha256(path)
    hs, old = store.write_hashset(name, kind, fmt, scheme, str(path.absolute()), digest,
                                  prefetched(blocks()), on_stage)
    return ImportResult(hs, old, dict(sorted(unmapped.items())), hs["pdq_count"], empty[0])
