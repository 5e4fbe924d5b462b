"""`[pictures] draft_px`: the lab chooses between reduced-size JPEG decoding (the default, fast)
and full decodes (PDQ from the reference's own pixels), config/ingest.toml.

A large JPEG whose reduced decode hashes differently from its full decode: with the default the
ingested PDQ is the reduced decode's, with `draft_px = 0` it is exactly the full decode's (the
reference pipeline). The second assertion fails while the setting is ignored.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from tests.conftest import by_path, files_json, write
from triage.cli.main import cli
from triage.signals.pdq import pdq_hex
from triage.workspace import Workspace, init_workspace


def _textured_jpeg() -> bytes:
    """2800x2200 (DCT scaling to 1/2 keeps both sides >= 1024) of a fine checker close to the
    reference's sampling step: nearest-neighbour sampling of the full decode and of the reduced
    one alias differently (76 bits apart, both of quality 100)."""
    y, x = np.mgrid[0:2200, 0:2800]
    period = 5.2
    v = (128 + 100 * np.sin(2 * np.pi * x / period) * np.sin(2 * np.pi * y / (period * 1.03))
         + 20 * np.sin(x / 300.0))
    pixels = np.clip(np.stack([v, v, v], -1), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _set_draft(ws: Workspace, value: int) -> None:
    path = ws.root / "config" / "ingest.toml"
    text, n = re.subn(r"(?m)^draft_px = .*$", f"draft_px = {value}", path.read_text())
    assert n == 1
    path.write_text(text)


def triage_in(ws: Workspace):
    """`triage -w WS ...` in-process, as the conftest fixture runs it, for a second workspace."""
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(cli, ["-w", str(ws.root), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result
    return run


def _ingested_pdq(ws: Workspace, evidence: Path, data: bytes) -> str:
    write(evidence, "big.jpg", data)
    run = triage_in(ws)
    run("ingest", str(evidence), "--case", "C", "--device", "D", "--no-classify")
    return by_path(files_json(run, "D"))["big.jpg"]["pdq"]


def test_draft_px_zero_hashes_the_full_decode(tmp_path: Path):
    data = _textured_jpeg()
    with Image.open(io.BytesIO(data)) as im:
        full = pdq_hex(im.convert("RGB"))[0]
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (1024, 1024))
        assert im.size == (1400, 1100)
        reduced = pdq_hex(im.convert("RGB"))[0]
    assert full != reduced  # the picture tells the two decodes apart
    # Two workspaces: a content is examined once per workspace, whatever the setting later.
    assert _ingested_pdq(init_workspace(tmp_path / "ws1"), tmp_path / "ev", data) == reduced
    ws = init_workspace(tmp_path / "ws2")
    _set_draft(ws, 0)
    assert _ingested_pdq(ws, tmp_path / "ev", data) == full
