"""Kill the ingest for real (SIGKILL and SIGINT), run it again: same results as one clean run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import jpeg, write
from tests.test_archives import make_zip
from triage.workspace import init_workspace

RUN_FIELDS = ("path", "size", "detected_type", "ext_mismatch", "md5", "sha1", "sha256", "pdq",
              "pdq_quality", "phash", "dhash", "width", "height", "status", "reason",
              "duplicate_count", "copies_in_case", "exif_make", "mtime")


def build_source(root: Path) -> None:
    for i in range(90):
        write(root, f"DCIM/d{i % 4}/img{i:03d}.jpg", jpeg(300 + i, (1400, 1050), exif=i % 3 == 0))
    for i in range(10):
        write(root, f"WhatsApp/dup{i}.jpg", (root / f"DCIM/d{i % 4}/img{i:03d}.jpg").read_bytes())
    write(root, "Download/pack.zip", make_zip({f"z/{i}.jpg": jpeg(500 + i, (900, 700))
                                               for i in range(25)}))
    write(root, "bad.jpg", b"\xff\xd8\xff\xe0garbage")


def triage_cmd(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "triage.cli", "-w", str(ws), *args]


def rows_of(ws: Path) -> list[dict]:
    out = subprocess.run(triage_cmd(ws, "files", "--device", "D", "--json"), check=True,
                         capture_output=True, text=True).stdout
    return [{k: r[k] for k in RUN_FIELDS} for r in map(json.loads, out.splitlines())]


def recorded(ws: Path) -> int:
    try:
        with sqlite3.connect(ws / "triage.db", timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("resume") / "dump"
    build_source(root)
    return root


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory) -> list[dict]:
    ws = init_workspace(tmp_path_factory.mktemp("ref") / "ws").root
    subprocess.run(triage_cmd(ws, "ingest", str(source), "--case", "C", "--device", "D",
                              "--workers", "2"), check=True, capture_output=True)
    return rows_of(ws)


def start_paused(args: list[str], point: str, flag: Path, **env: str) -> subprocess.Popen:
    """Start a command that stops at fault point POINT (see triage.faults) and wait until it is
    there: whatever the machine's speed, the signal the test sends lands at that point."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            env={**os.environ, "TRIAGE_FAULT_PAUSE": point,
                                 "TRIAGE_FAULT_PAUSE_FLAG": str(flag), **env})
    wait_for_flag(proc, flag)
    return proc


def wait_for_flag(proc: subprocess.Popen, flag: Path) -> None:
    while not flag.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited {proc.returncode} before its fault point:\n{out!r}\n{err!r}")
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_ingest_resumes_to_identical_results(source, reference, tmp_path, sig):
    ws = init_workspace(tmp_path / "ws").root
    args = triage_cmd(ws, "ingest", str(source), "--case", "C", "--device", "D", "--workers", "2")
    proc = start_paused(args, "ingest.recorded:20", tmp_path / "paused")
    partial = recorded(ws)  # the run waits at its fault point: this count holds still
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, no clean-up
    else:
        os.kill(proc.pid, sig)  # Ctrl-C or kill: records what finished, then stops
    out, err = proc.communicate(timeout=120)
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, err
        assert b"interrupted: run the same command again to resume" in err
        assert b"Traceback" not in err
    assert 20 <= partial <= recorded(ws) < len(reference)
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    assert "already done" in done.stdout
    assert rows_of(ws) == reference
    with sqlite3.connect(ws / "triage.db") as c:
        states = [r[0] for r in c.execute("SELECT state FROM ingest_runs ORDER BY id")]
    assert states == ["interrupted", "completed"]
