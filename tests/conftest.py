"""Shared fixtures: a fresh workspace, a CLI runner bound to it, and real picture bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from triage.cli.main import cli
from triage.demo.synthetic import camera_exif, encode, photo_like
from triage.workspace import Workspace, init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "ws")


@pytest.fixture
def triage(workspace: Workspace) -> Callable[..., Result]:
    """Run `triage -w WS ARGS...` in-process; fails the test on a non-zero exit unless ok=..."""
    runner = CliRunner()

    def run(*args: str, ok: tuple[int, ...] = (0,)) -> Result:
        result = runner.invoke(cli, ["-w", str(workspace.root), *args], catch_exceptions=False)
        assert result.exit_code in ok, result.output
        return result

    return run


def files_json(triage: Callable[..., Result], device: str) -> list[dict]:
    out = triage("files", "--device", device, "--json").output
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def by_path(rows: list[dict]) -> dict[str, dict]:
    return {r["path"]: r for r in rows}


def jpeg(seed: int, size: tuple[int, int] = (640, 480), exif: bool = False,
         quality: int = 90) -> bytes:
    return encode(photo_like(seed, size), "JPEG", quality, camera_exif(seed) if exif else None)


def write(root: Path, rel: str, data: bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def flip_bits(pdq_hex: str, n: int) -> str:
    """The same PDQ hash with its first n bits inverted (distance exactly n)."""
    return f"{int(pdq_hex, 16) ^ (((1 << n) - 1) << (256 - n)):064x}"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's browser tests (tests/browser_kit.py: Debian's, never
    downloaded; skips on a developer's machine without it, fails under TRIAGE_CI=1)."""
    from tests.browser_kit import chromium

    with chromium() as b:
        yield b
