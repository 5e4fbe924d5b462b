"""Cryptographic digests of a file's bytes in a single pass.

MD5 and SHA-1 are what national lists (CAID, Project VIC, NSRL legacy) carry; SHA-256 is what
the store keys content by. All three are fed from the same buffer, so a file is read once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1 << 20


@dataclass(frozen=True)
class Digests:
    md5: str
    sha1: str
    sha256: str


class MultiHasher:
    def __init__(self) -> None:
        self._h = (hashlib.md5(), hashlib.sha1(), hashlib.sha256())
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        for h in self._h:
            h.update(data)
        self.size += len(data)

    def digests(self) -> Digests:
        md5, sha1, sha256 = (h.hexdigest() for h in self._h)
        return Digests(md5=md5, sha1=sha1, sha256=sha256)


def digest_bytes(data: bytes) -> Digests:
    h = MultiHasher()
    h.update(data)
    return h.digests()


def digest_stream(stream: BinaryIO, limit: int | None = None,
                  hasher: MultiHasher | None = None) -> tuple[Digests, int, bool]:
    """Hash a stream in chunks (bounded memory). Returns (digests, bytes read, hit_limit).

    Pass `hasher` to continue one that already saw the stream's first bytes.
    """
    h = hasher or MultiHasher()
    while True:
        want = CHUNK if limit is None else min(CHUNK, limit - h.size + 1)
        if want <= 0:
            return h.digests(), h.size, True
        chunk = stream.read(want)
        if not chunk:
            return h.digests(), h.size, False
        h.update(chunk)
        if limit is not None and h.size > limit:
            return h.digests(), h.size, True


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a whole file: the provenance recorded for an imported list or a model."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
