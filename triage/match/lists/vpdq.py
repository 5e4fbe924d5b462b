"""vPDQ lists: Meta's per-frame video hashes (`frame,quality,pdq,seconds`, one line per frame,
the layout of `vpdq-hash-video` and of ThreatExchange's vpdq/sample-hashes).

One file is one known video: one list entry named after the file, its frames as the entry's
`pdq` signal values (frame number, quality, seconds), so the vPDQ matcher compares a device's
videos with it by Meta's rule and the PDQ matcher finds a picture or a video frame that is one
of its frames. Several videos in one file (Meta's files written one after another) are told
apart where the frame number goes back, or by a `# name` comment line before each; each is an
entry. `--category` applies to every entry (the files carry none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from triage.match.lists.entries import ListFormatError, ParseOptions, line_chunks
from triage.signals.vpdq import Feature, parse_line
from triage.store.hashsets import EntryBlock

NAME = "vpdq"
PRIORITY = 65  # before the PDQ list formats: a vPDQ line also holds a 64-hex hash
DESCRIPTION = "vPDQ per-frame video hashes (frame,quality,pdq,seconds), one known video per file"

_COMMENT = re.compile(r"^\s*#\s*(.*?)\s*$")
MAX_FRAMES = 200_000  # one entry's frames: ~2 h at 30 frames/s hashed every frame


def sniff(head: str) -> bool:
    lines = [ln.rstrip("\r") for ln in head.splitlines() if ln.strip()]
    data = [ln for ln in lines if not ln.lstrip().startswith("#")]
    data = data[:-1] if len(data) > 1 else data  # the last line of the head may be cut
    return bool(data) and all(parse_line(ln) for ln in data[:1000])


def parse(path: str, options: ParseOptions) -> Iterator[EntryBlock]:
    """One EntryBlock per video: the entry row, its frames in `signals`."""
    stem = Path(path).name
    name: str | None = None
    frames: list[Feature] = []
    count = 0

    def entry() -> EntryBlock:
        nonlocal count
        count += 1
        label = name or (stem if count == 1 else f"{stem}#{count}")
        record: dict[str, Any] = {"format": "vpdq", "frames": len(frames),
                                  "duration": max(f.seconds for f in frames)}
        block = EntryBlock(1, values={"name": [label], "record": [_json(record)],
                                      "category_raw": [options.category]})
        block.signals = [(0, "pdq", f.frame, bytes.fromhex(f.pdq), f.quality, f.seconds)
                         for f in frames]
        return block

    seen: set[int] = set()
    for first, lines in line_chunks(path, options.progress):
        for lineno, line in enumerate(lines, first):
            if not line.strip():
                continue
            comment = _COMMENT.match(line)
            if comment:
                if frames:
                    yield entry()
                    frames, seen = [], set()
                name = comment.group(1) or None
                continue
            f = parse_line(line)
            if f is None:
                raise ListFormatError(f"{path} line {lineno}: {line[:80]!r} is not a vPDQ line"
                                      " (frame,quality,pdq,seconds)")
            if frames and f.frame <= frames[-1].frame:  # the next video of a concatenation
                yield entry()
                frames, seen, name = [], set(), None
            if len(frames) >= MAX_FRAMES:
                raise ListFormatError(f"{path} line {lineno}: more than {MAX_FRAMES} frames in"
                                      " one video; split the file")
            frames.append(f)
            seen.add(f.frame)
    if frames:
        yield entry()
    elif count == 0:
        raise ListFormatError(f"{path} holds no vPDQ lines")


def _json(record: dict[str, Any]) -> str:
    import json

    return json.dumps(record, sort_keys=True)
