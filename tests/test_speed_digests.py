"""The digests of the fast byte paths (parallel digest threads, double-buffered streaming with
fadvise) are hashlib's, whatever the size, the limit or the kind of stream."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from tests.conftest import by_path, files_json
from triage.signals import crypto
from triage.signals.crypto import PARALLEL_MIN, STREAM_CHUNK, digest_bytes, digest_stream


def want(data: bytes) -> tuple[str, str, str]:
    return tuple(hashlib.new(a, data).hexdigest() for a in ("md5", "sha1", "sha256"))


def got(d: crypto.Digests) -> tuple[str, str, str]:
    return d.md5, d.sha1, d.sha256


@pytest.mark.parametrize("size", [0, 1, PARALLEL_MIN - 1, PARALLEL_MIN, 3 * PARALLEL_MIN + 7])
def test_digest_bytes_in_threads_or_not_equals_hashlib(size):
    data = os.urandom(size)
    assert got(digest_bytes(data)) == want(data)


class NoReadinto:
    """A reader with read() only (a plugin's stream)."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(min(n, 1000) if n > 0 else n)  # short reads, as pipes give

    def __enter__(self) -> "NoReadinto":
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


@pytest.mark.parametrize("kind", ["file", "file-dropped", "bytesio", "read-only"])
def test_digest_stream_equals_hashlib_across_chunks_and_limits(kind, tmp_path, monkeypatch):
    data = os.urandom(2 * STREAM_CHUNK + 12_345)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    if kind == "file-dropped":  # as if the file were larger than a quarter of memory
        monkeypatch.setattr(crypto, "_memory_bytes", lambda: 1024)

    def stream():
        if kind.startswith("file"):
            return open(path, "rb")
        return io.BytesIO(data) if kind == "bytesio" else NoReadinto(data)

    with stream() as s:
        digests, size, hit = digest_stream(s)
    assert (got(digests), size, hit) == (want(data), len(data), False)
    for limit in (len(data), len(data) - 1, STREAM_CHUNK, 10):
        with stream() as s:
            digests, size, hit = digest_stream(s, limit)
        assert hit == (len(data) > limit)
        assert size == min(len(data), limit + 1)
        if not hit:
            assert got(digests) == want(data)
    # continuing a hasher that saw the first bytes (the oversize path hands over what it read)
    head = data[:PARALLEL_MIN + 5]
    hasher = crypto.MultiHasher()
    hasher.update(head)
    with stream() as s:
        skipped = 0
        while skipped < len(head):
            skipped += len(s.read(len(head) - skipped))
        digests, size, _ = digest_stream(s, None, hasher)
    assert (got(digests), size) == (want(data), len(data))


def test_a_file_over_the_in_memory_limit_is_hashed_as_a_stream_correctly(tmp_path, triage,
                                                                        workspace):
    cfg = workspace.config_dir / "ingest.toml"
    cfg.write_text(cfg.read_text().replace("in_memory_mib = 256", "in_memory_mib = 1"))
    data = os.urandom(3 * STREAM_CHUNK + 999)
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "archive.bin").write_bytes(data)
    (ev / "small.bin").write_bytes(data[:5000])
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0", "--no-classify")
    rows = by_path(files_json(triage, "D"))
    for name, content in (("archive.bin", data), ("small.bin", data[:5000])):
        row = rows[name]
        assert row["status"] == "ok" and row["size"] == len(content)
        assert (row["md5"], row["sha1"], row["sha256"]) == want(content)
    assert Path(ev / "archive.bin").read_bytes() == data  # evidence untouched
