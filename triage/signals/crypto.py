"""Cryptographic digests of a file's bytes in a single pass: the md5, sha1 and sha256 signals.

MD5 and SHA-1 are what national lists (CAID, Project VIC, NSRL legacy) carry; SHA-256 is what
the store keys content by. All three (and any bytes signal a lab registers) are fed from the
same buffer, so a file is read once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO

from triage.records import SignalValue
from triage.signals import signals_for
from triage.signals.base import BytesSignal, Hasher

CHUNK = 1 << 20

# The content's identity: every content has all three, kept as columns of `contents` (SHA-256
# keys it); every other signal value, a lab's own bytes signals included, goes to `signals`.
IDENTITY = ("md5", "sha1", "sha256")


class HashlibDigest(BytesSignal):
    """A hashlib digest of the raw bytes."""

    def __init__(self, name: str, bits: int, description: str) -> None:
        self.name, self.bits, self.description = name, bits, description

    def hasher(self) -> Hasher:
        return hashlib.new(self.name)


MD5 = HashlibDigest("md5", 128, "MD5 of the bytes (national lists: CAID, Project VIC, NSRL)")
SHA1 = HashlibDigest("sha1", 160, "SHA-1 of the bytes (VICS, NSRL)")
SHA256 = HashlibDigest("sha256", 256, "SHA-256 of the bytes (the store's content key)")


@dataclass(frozen=True)
class Digests:
    md5: str
    sha1: str
    sha256: str
    others: tuple[tuple[str, str], ...] = ()  # (name, hex) of registered bytes signals beyond

    def signal_values(self) -> list[SignalValue]:
        """The values beyond the identity digests, as the store records them."""
        return [SignalValue(name, value) for name, value in self.others]


class MultiHasher:
    """Every registered bytes signal, fed from the same buffers: one read of the file."""

    def __init__(self) -> None:
        self._h = [(name, s.hasher())  # type: ignore[attr-defined]
                   for name, s in signals_for("bytes")]
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        for _, h in self._h:
            h.update(data)
        self.size += len(data)

    def digests(self) -> Digests:
        values = {name: h.hexdigest() for name, h in self._h}
        md5, sha1, sha256 = (values.pop(k) for k in IDENTITY)
        return Digests(md5=md5, sha1=sha1, sha256=sha256, others=tuple(values.items()))


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
