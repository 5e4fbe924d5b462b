"""pyewf inflates E01 chunks with zlib (scripts/pyewf_zlib.py, run by `make`): the PyPI wheel's
own DEFLATE decoder costs about 9x zlib's CPU, which made E01 ingest miss its 1.3x-the-folder
target (scripts/bench_image.py). The speed itself is the benchmark's business; these tests check
what the benchmark's figures rest on: which build is installed, and that it is told apart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyewf
import pytest

from triage.evidence.image_io import ewf_inflater

ROOT = Path(__file__).resolve().parent.parent


def test_inflater_is_told_from_the_library_file(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with_zlib = tmp_path / "with.so"
    with_zlib.write_bytes(b"\x7fELF...libc.so.6\x00libz.so.1\x00...")
    without = tmp_path / "without.so"
    without.write_bytes(b"\x7fELF...libc.so.6\x00libewf_deflate_decompress\x00...")
    monkeypatch.setattr(pyewf, "__file__", str(with_zlib))
    assert ewf_inflater() == "zlib"
    monkeypatch.setattr(pyewf, "__file__", str(without))
    assert ewf_inflater() == "libewf's own"


def test_installed_pyewf_inflates_with_zlib() -> None:
    """Under CI (`TRIAGE_CI=1`: `.ci/run` on a fresh machine, where `make` has just built it)
    the zlib build must be the one installed. A developer's older venv may still hold the PyPI
    wheel (results are the same, only slower): there this skips, saying how to get the zlib
    build."""
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "pyewf_zlib.py"), "--check"],
                           capture_output=True, text=True)
    assert check.stdout.strip() in ("pyewf inflates with: zlib",
                                    "pyewf inflates with: libewf's own"), check
    if check.returncode and os.environ.get("TRIAGE_CI") != "1":
        pytest.skip("pyewf is the PyPI wheel (libewf's own inflater, ~9x slower on E01s): run"
                    " `make .venv/.installed` (scripts/pyewf_zlib.py) for the zlib build")
    assert check.returncode == 0, check.stdout + check.stderr
