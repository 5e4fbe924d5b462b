"""Cryptographic digests of a file's bytes in a single pass: the md5, sha1 and sha256 signals.

MD5 and SHA-1 are what national lists (CAID, Project VIC, NSRL legacy) carry; SHA-256 is what
the store keys content by. All three (and any bytes signal a lab registers) are fed from the
same buffer, so a file is read once.

Speed (scripts/bench_ingest.py --bytes measures it against `hashdeep -c md5,sha1,sha256`):
hashlib's digests are OpenSSL's (SHA-1 and SHA-256 use the CPU's SHA extensions where it has
them), measured here at 450 MB/s (MD5), 1,060 (SHA-1) and 860 (SHA-256) on one core, so one
after the other they make 215 MB/s. hashlib releases the GIL on updates over 2 KiB, so a large
buffer is fed to every digest at once, each in its own thread (`MultiHasher.update`): the three
then take as long as MD5 alone when cores are free. A stream (a file too large to hold) is read
into two reused buffers of STREAM_CHUNK bytes by `readinto`, no copy and no allocation per
read, the next one read while the digests consume the last; the kernel is told the read is
sequential and to drop the pages once hashed, so a file larger than memory does not push the
rest of the page cache out.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from triage.records import SignalValue
from triage.signals import signals_for
from triage.signals.base import BytesSignal, Hasher

CHUNK = 1 << 20
STREAM_CHUNK = 8 << 20  # per read of a stream: 8 MiB keeps the per-chunk thread hand-off < 0.1 %
PARALLEL_MIN = 4 << 20  # updates this large are fed to the digests in parallel threads

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


_threads: ThreadPoolExecutor | None = None
_threads_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """This process's digest threads (made on first use; a worker hashing only pictures of a
    few MB never starts them)."""
    global _threads
    with _threads_lock:
        if _threads is None:
            _threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="digest")
        return _threads


class MultiHasher:
    """Every registered bytes signal, fed from the same buffers: one read of the file."""

    def __init__(self) -> None:
        self._h = [(name, s.hasher())  # type: ignore[attr-defined]
                   for name, s in signals_for("bytes")]
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed `data` to every digest: in parallel threads when it is large (see above)."""
        self.wait(self.start(data))

    def start(self, data: bytes | bytearray | memoryview) -> list[Future[None]]:
        """Begin feeding `data` to every digest and return at once (large data: the digests run
        in threads; the caller must not change `data` until `wait` returns). Small data is
        hashed here and then."""
        self.size += len(data)
        if len(data) < PARALLEL_MIN or len(self._h) < 2:
            for _, h in self._h:
                h.update(data)
            return []
        pool = _pool()
        return [pool.submit(h.update, data) for _, h in self._h]

    @staticmethod
    def wait(pending: list[Future[None]]) -> None:
        for f in pending:
            f.result()

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
    """Hash a stream in chunks (bounded memory: two STREAM_CHUNK buffers). Returns (digests,
    bytes read, hit_limit): hit_limit when more than `limit` bytes were hashed in all.

    Pass `hasher` to continue one that already saw the stream's first bytes. While the digests
    consume one buffer, the next is read into the other.
    """
    h = hasher or MultiHasher()
    buffers = (bytearray(STREAM_CHUNK), bytearray(STREAM_CHUNK))
    readinto = _reader(stream)
    pending: list[Future[None]] = []
    turn = 0
    try:
        while True:
            want = STREAM_CHUNK if limit is None else min(STREAM_CHUNK, limit - h.size + 1)
            if want <= 0:
                h.wait(pending)
                return h.digests(), h.size, True
            view = memoryview(buffers[turn])[:want]
            n = readinto(view)
            h.wait(pending)  # the other buffer is free again once its digests are done
            if not n:
                return h.digests(), h.size, False
            pending = h.start(view[:n])
            turn ^= 1
            if limit is not None and h.size > limit:
                h.wait(pending)
                return h.digests(), h.size, True
    finally:
        h.wait(pending)


def _reader(stream: BinaryIO) -> Callable[[memoryview], int]:
    """`readinto` for `stream` that fills the buffer as far as the stream goes (a short read only
    at its end). A plain file is read with the kernel told the read is sequential, and when it is
    too large to stay cached (over a quarter of memory) its pages are dropped once read."""
    fd = _fileno(stream)
    drop = False
    if fd is not None:
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            drop = os.fstat(fd).st_size > _memory_bytes() // 4
        except (OSError, AttributeError):  # not a plain file, or no fadvise on this system
            fd = None

    def readinto(view: memoryview) -> int:
        got = 0
        while got < len(view):
            if hasattr(stream, "readinto"):
                n = stream.readinto(view[got:])
            else:  # a plain reader without readinto: one copy
                data = stream.read(len(view) - got)
                n = len(data)
                view[got:got + n] = data
            if not n:
                break
            got += n
        if drop and got:
            try:  # evidence is read once: what is hashed need not stay in the page cache
                os.posix_fadvise(fd, 0, os.lseek(fd, 0, os.SEEK_CUR), os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
        return got

    return readinto


def _fileno(stream: BinaryIO) -> int | None:
    try:
        fd = stream.fileno()
        os.fstat(fd)
    except (OSError, ValueError, AttributeError):
        return None
    return fd


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 1 << 62


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a whole file: the provenance recorded for an imported list or a model."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
