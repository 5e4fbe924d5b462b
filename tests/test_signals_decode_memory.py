"""Decode memory is bounded by bytes of decoded pixels, checked from the header (issue 11).

Before: only the pixel count was limited (250 Mpx), so a 30 KB one-bit PNG of 248 Mpx was
decoded and took 1.7 GB in the worker (every pixel a byte, four more in RGB, two in greyscale).
Both tests fail on that code: the PNG was `ok`, and the peak RSS of an ingest of it was > 1.7 GB.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import by_path, files_json, write
from triage.workspace import Workspace

WIDTH, HEIGHT = 16_000, 15_500  # 248 Mpx


def one_bit_png(width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A real, valid one-bit PNG (every row filter 0, all black): ~30 KB on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


# VmHWM, not getrusage's ru_maxrss: the latter carries the high-water mark of the process that
# forked the child (pytest's, over 1 GB late in the suite) across exec.
PEAK_RSS = """
import re, sys
from triage.cli.main import cli
try:
    cli(sys.argv[1:], standalone_mode=False)
finally:
    status = open("/proc/self/status").read()
    print("PEAK_KB", re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1), file=sys.stderr)
"""


def test_a_tiny_png_declaring_248_mpx_is_refused_before_decoding(tmp_path: Path, workspace,
                                                                  monkeypatch):
    if not Path("/proc/self/status").exists() and os.environ.get("TRIAGE_CI") != "1":
        pytest.skip("peak RSS is read from /proc (Linux)")
    data = one_bit_png()
    assert len(data) < 64_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's own check, as ingest does
    with Image.open(io.BytesIO(data)) as im:  # a real PNG (decodes in 1.7 GB: not here)
        assert (im.size, im.mode) == ((WIDTH, HEIGHT), "1")
    ev = tmp_path / "ev"
    write(ev, "wallpaper.png", data)
    # In-process worker (--workers 0): the decode, had it happened, is in this process's RSS.
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, "-w", str(workspace.root), "ingest", str(ev),
         "--case", "C", "--device", "D", "--workers", "0"],
        capture_output=True, text=True, check=True)
    peak_mb = int(re.search(r"PEAK_KB (\d+)", proc.stderr).group(1)) / 1024
    out = subprocess.run([sys.executable, "-m", "triage.cli", "-w", str(workspace.root),
                          "files", "--device", "D", "--json"],
                         capture_output=True, text=True, check=True).stdout
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["status"] == "too_large"
    assert "MiB" in row["reason"] and "decode limit" in row["reason"]
    assert "16000x15500" in row["reason"]
    assert row["pdq"] is None and row["width"] is None  # nothing was decoded
    # The process never held the pixels: its whole peak stays far below one decode (1.7 GB).
    assert peak_mb < 900, f"peak RSS {peak_mb:.0f} MB"


def test_jpegs_count_at_their_draft_size_other_formats_at_full_size(tmp_path: Path, triage,
                                                                    workspace: Workspace):
    cfg = workspace.root / "config" / "ingest.toml"
    cfg.write_text(re.sub(r"(?m)^max_decode_mib = .*$", "max_decode_mib = 64", cfg.read_text()))
    big = Image.new("RGB", (4000, 4000), (90, 140, 200))  # 16 Mpx: 96 MB decoded + hashed
    ev = tmp_path / "ev"
    for name, fmt in (("scan.png", "PNG"), ("photo.jpg", "JPEG")):
        buf = io.BytesIO()
        big.save(buf, fmt)
        write(ev, name, buf.getvalue())
    write(ev, "small.png", one_bit_png(2000, 2000))
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0")
    rows = by_path(files_json(triage, "D"))
    assert rows["scan.png"]["status"] == "too_large"
    assert "over the 64 MiB decode limit" in rows["scan.png"]["reason"]
    # The JPEG is decoded by DCT scaling at 2000x2000 (24 MB): within the limit.
    assert rows["photo.jpg"]["status"] == "ok" and rows["photo.jpg"]["width"] == 4000
    assert rows["small.png"]["status"] == "ok"  # 4 Mpx one-bit: 28 MB
