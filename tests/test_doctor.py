"""A damaged, zero-byte or foreign database is refused by every command and never written;
`triage doctor` examines the workspace read-only and says what to do."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import jpeg, write
from triage.workspace import Workspace

# A reading command, a writing one, and one of each other kind a lab runs first.
COMMANDS = [
    ("files", "--device", "D"),
    ("summary", "--device", "D"),
    ("queue", "--device", "D"),
    ("devices", "list"),
    ("hashsets", "list"),
    ("match", "--device", "D"),
    ("ingest", "{src}", "--case", "C", "--device", "E", "--workers", "0"),
]


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "triage.cli", "-w", str(ws), *args],
                          capture_output=True, text=True, timeout=300)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def device(workspace: Workspace, tmp_path: Path, triage) -> Path:
    src = tmp_path / "dump"
    for i in range(3):
        write(src, f"p{i}.jpg", jpeg(40 + i, (160, 120)))
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0", "--no-classify")
    return src


def _refused_by_all(ws: Workspace, src: Path, expect: str, commands=COMMANDS) -> None:
    db = ws.db_path
    before = digest(db)
    for args in commands:
        out = cli(ws.root, *(a.format(src=src) for a in args))
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert str(db) in out.stderr and expect in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
        assert digest(db) == before, f"{args} wrote to the database"


def test_zero_byte_database_is_refused_not_recreated(workspace, device):
    workspace.db_path.write_bytes(b"")
    _refused_by_all(workspace, device, "empty (0 bytes)")
    assert workspace.db_path.stat().st_size == 0
    doc = cli(workspace.root, "doctor", "--json")
    assert doc.returncode == 1
    report = json.loads(doc.stdout)
    assert report["healthy"] is False
    db_check = next(c for c in report["checks"] if c["check"] == "database")
    assert "empty (0 bytes)" in db_check["detail"] and "backup" in db_check["advice"]


def test_a_file_that_is_not_sqlite_is_refused(workspace, device):
    workspace.db_path.write_bytes(b"PK\x03\x04 this is a zip, copied over the database" * 100)
    _refused_by_all(workspace, device, "is not a SQLite database", COMMANDS[::3])


def _corrupt_an_index(db: Path) -> None:
    """Garble the root page of the files_content index (the b-tree page-type byte), as a bad
    sector would; the schema (page 1) stays readable, so the database still opens."""
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master WHERE name='files_content'"
                         ).fetchone()[0]
    c.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x00" * 16)


def test_doctor_finds_damage_and_every_command_then_refuses(workspace, device):
    healthy = cli(workspace.root, "doctor", "--json")
    assert healthy.returncode == 0, healthy.stdout
    assert json.loads(healthy.stdout)["healthy"] is True
    backup = workspace.root.parent / "backup.db"
    with sqlite3.connect(workspace.db_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    live.close()
    copy.close()
    _corrupt_an_index(workspace.db_path)
    doc = cli(workspace.root, "doctor")
    assert doc.returncode == 1
    assert "FAIL  database" in doc.stdout and "integrity_check" in doc.stdout
    assert "restore triage.db from your backup" in doc.stdout
    assert (workspace.root / "triage.db.damaged").exists()
    _refused_by_all(workspace, device, "failed its integrity check", COMMANDS[::2])
    # Restored from the backup, doctor clears the mark and the workspace works again.
    for leftover in workspace.root.glob("triage.db-*"):
        leftover.unlink()
    workspace.db_path.write_bytes(backup.read_bytes())
    again = cli(workspace.root, "doctor", "--json")
    assert again.returncode == 0, again.stdout
    assert not (workspace.root / "triage.db.damaged").exists()
    assert cli(workspace.root, "files", "--device", "D").returncode == 0


def test_damage_met_by_a_command_is_named_and_marked(workspace, device):
    _corrupt_an_index(workspace.db_path)
    out = cli(workspace.root, "files", "--device", "D", "--json")
    # files uses the damaged index only for some queries; whichever command meets the
    # damage first names the file and marks it, after which all refuse.
    for args in COMMANDS:
        if out.returncode != 0:
            break
        out = cli(workspace.root, *(a.format(src=device) for a in args))
    assert out.returncode == 1 and str(workspace.db_path) in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert (workspace.root / "triage.db.damaged").exists()


def test_doctor_names_missing_list_files_and_derivatives(workspace, device, tmp_path, triage):
    lst = tmp_path / "a.md5"
    lst.write_text(f"{'ab' * 16}  x.jpg\n")
    triage("hashsets", "import", str(lst), "--name", "L")
    for f in (workspace.root / "hashlib").glob("*.sqlite"):
        f.unlink()
    victim = next((workspace.derivative_dir).glob("*/*.jpg"))
    victim.unlink()
    report = json.loads(cli(workspace.root, "doctor", "--json").stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["database"]["ok"] is True
    assert checks["hash lists"]["ok"] is False and "L" in checks["hash lists"]["detail"]
    assert "import those lists again" in checks["hash lists"]["advice"]
    assert checks["derivatives"]["ok"] is False and "2 of 3" in checks["derivatives"]["detail"]
    import shutil

    shutil.rmtree(workspace.derivative_dir)
    report = json.loads(cli(workspace.root, "doctor", "--json").stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["derivatives"]["ok"] is False and "missing" in checks["derivatives"]["detail"]


def test_init_over_an_empty_database_refuses(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "triage.db").write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "triage.cli", "init", str(ws)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "empty (0 bytes)" in out.stderr, out.stderr
    assert (ws / "triage.db").stat().st_size == 0
