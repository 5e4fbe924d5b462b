"""A full disk and a read-only evidence disk, for real: the workspace lives on a 16 MiB tmpfs mounted in a private user and
mount namespace (`unshare -Urm`, no root needed where user namespaces are allowed). Every
triage command runs inside it through `nsenter`, so each ENOSPC and SQLITE_FULL comes from the
kernel and SQLite, through the same message path a lab's full disk would take."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import jpeg, write

REPO = Path(__file__).resolve().parents[1]
DISK_MIB = 16


class SmallDisk:
    def __init__(self, mount: Path, holder: subprocess.Popen) -> None:
        self.mount, self.holder = mount, holder

    def run(self, *cmd: str, check: bool = False) -> subprocess.CompletedProcess:
        out = subprocess.run(["nsenter", "-t", str(self.holder.pid), "-U", "-m",
                              "--preserve-credentials", *cmd],
                             capture_output=True, text=True, timeout=300, cwd=REPO)
        if check:
            assert out.returncode == 0, (cmd, out.stdout, out.stderr)
        return out

    def triage(self, ws: Path, *args: str) -> subprocess.CompletedProcess:
        return self.run(sys.executable, "-m", "triage.cli", "-w", str(ws), *args)

    def fill(self, leave_kib: int = 0) -> None:
        """Fill the disk, then give back `leave_kib` KiB."""
        filler = self.mount / "filler"
        self.run("sh", "-c", f"dd if=/dev/zero of={filler} bs=64k 2>/dev/null;"
                             f" truncate -s -{leave_kib}K {filler}")
        free = self.run("df", "-k", "--output=avail", str(self.mount), check=True)
        assert int(free.stdout.split()[-1]) <= leave_kib + 8

    def free(self) -> None:
        self.run("rm", "-f", str(self.mount / "filler"), check=True)

    def read_only(self) -> None:
        """Remount read-only: every write fails with EROFS, even for root."""
        self.run("mount", "-o", "remount,ro", str(self.mount), check=True)


@pytest.fixture
def disk(tmp_path: Path):
    mount = tmp_path / "disk"
    mount.mkdir()
    missing = [t for t in ("unshare", "nsenter") if shutil.which(t) is None]
    holder = None if missing else subprocess.Popen(
        ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", "sh",
         "-c", f'mount -t tmpfs -o size={DISK_MIB}m tmpfs "$0" && echo ready && exec sleep 86400',
         str(mount)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ready = holder is not None and holder.stdout.readline() == b"ready\n"
    if not ready:
        why = (f"missing {missing}" if missing else
               holder.stderr.read().decode(errors="replace").strip())  # type: ignore[union-attr]
        if holder is not None:
            holder.kill()
        if os.environ.get("TRIAGE_CI"):
            pytest.fail(f"a small private tmpfs is needed for the full-disk test: {why}")
        pytest.skip(f"no user+mount namespace for a small tmpfs here: {why}")
    try:
        yield SmallDisk(mount, holder)
    finally:
        holder.kill()
        holder.wait()


def _one_message(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _leftovers(ws: Path) -> list[str]:
    return [str(p.relative_to(ws)) for p in ws.rglob("*")
            if p.name.endswith(".part") or p.name.startswith((".import-", ".pdq-index-"))]


READ_ONLY = [("files", "--device", "A"), ("summary", "--device", "A"), ("queue", "--device", "A")]

WEB_PAGES = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {repo!r})
    from pathlib import Path
    from tests.web_support import PASSWORD, login
    from triage.accounts import hash_password
    from triage.web import create_app
    from triage.workspace import Workspace
    ws = Workspace(Path({ws!r}))
    store = ws.open_store()
    uid = store.add_user("rev", "reviewer", hash_password(PASSWORD), "2026-05-01T00:00:00+00:00")
    store.assign_case(store.case_by_reference("C")["id"], uid)
    store.close()
    client = create_app(ws, testing=True).test_client()
    login(client, "rev")
    fd = os.open({filler!r}, os.O_WRONLY | os.O_CREAT)  # now the disk fills up (unbuffered:
    for chunk in (1 << 16, 1 << 12, 1):                # nothing is left to flush at close)
        try:
            while True:
                os.write(fd, bytes(chunk))
        except OSError:
            pass
    os.close(fd)
    pages = {{url: client.get(url).status_code for url in ("/", "/review/A")}}
    print(json.dumps(pages))
""")


def test_full_disk_one_message_no_part_files_reading_goes_on_and_resumes(disk, tmp_path):
    ws = disk.mount / "ws"
    disk.run(sys.executable, "-m", "triage.cli", "init", str(ws), check=True)
    small, big = tmp_path / "A", tmp_path / "B"
    for i in range(4):
        write(small, f"a{i}.jpg", jpeg(60 + i, (300, 200)))
    for i in range(30):  # ~45 KiB of derivative each: far more than the room left
        write(big, f"b{i:02d}.jpg", jpeg(100 + i, (800, 600)))
    done = disk.triage(ws, "ingest", str(small), "--case", "C", "--device", "A", "--no-classify")
    assert done.returncode == 0, done.stderr

    # The disk fills up during an ingest: one clear line, no traceback, no half files.
    disk.fill(leave_kib=300)
    full = disk.triage(ws, "ingest", str(big), "--case", "C", "--device", "B", "--workers", "2",
                       "--no-classify")
    assert full.returncode == 1, (full.stdout, full.stderr)
    line = _one_message(full.stderr)
    assert line.startswith("Error: disk full: cannot write to ") and str(ws) in line
    assert "run the same command again to resume" in line
    assert _leftovers(ws) == []

    # Completely full: reading commands still answer (their audit row is missing, and they say
    # so), a writing command gives the same one line.
    disk.fill(leave_kib=0)
    for args in READ_ONLY:
        out = disk.triage(ws, *args)
        assert out.returncode == 0, (args, out.stderr)
        assert "a0.jpg" in out.stdout or "files" in out.stdout, out.stdout
        assert "not in the audit trail" in out.stderr and "Traceback" not in out.stderr
    again = disk.triage(ws, "ingest", str(big), "--case", "C", "--device", "B", "--no-classify")
    assert again.returncode == 1
    assert "disk full" in again.stderr and "Traceback" not in again.stderr

    # Review pages of a signed-in reviewer keep working while the disk is full.
    disk.free()
    pages = disk.run(sys.executable, "-c", WEB_PAGES.format(repo=str(REPO), ws=str(ws),
                                                            filler=str(disk.mount / "filler")))
    assert pages.returncode == 0, pages.stderr
    assert json.loads(pages.stdout.splitlines()[-1]) == {"/": 200, "/review/A": 200}

    # Space freed: the same command finishes the job, nothing lost.
    disk.free()
    resumed = disk.triage(ws, "ingest", str(big), "--case", "C", "--device", "B", "--workers",
                          "2", "--no-classify")
    assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(r) for r in
            disk.triage(ws, "files", "--device", "B", "--json").stdout.splitlines()]
    assert sorted(r["path"] for r in rows) == [f"b{i:02d}.jpg" for i in range(30)]
    assert {r["status"] for r in rows} == {"ok"}
    assert _leftovers(ws) == []


def test_ingest_of_a_read_only_evidence_disk_reads_it_and_changes_nothing(disk, tmp_path):
    for i in range(3):
        write(tmp_path / "stage", f"DCIM/p{i}.jpg", jpeg(300 + i, (200, 150)))
    src = disk.mount / "evidence"
    disk.run("cp", "-a", str(tmp_path / "stage"), str(src), check=True)
    disk.read_only()
    snapshot = (f"cd {src} && find . -type f -exec stat -c '%n %s %Y %X %Z %a' {{}} + | sort"
                " && find . -type f -exec sha256sum {} + | sort")
    before = disk.run("sh", "-c", snapshot, check=True).stdout
    ws = tmp_path / "ws"
    disk.run(sys.executable, "-m", "triage.cli", "init", str(ws), check=True)
    done = disk.triage(ws, "ingest", str(src), "--case", "C", "--device", "RO", "--workers", "2",
                       "--no-classify")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(r) for r in
            disk.triage(ws, "files", "--device", "RO", "--json").stdout.splitlines()]
    assert sorted(r["path"] for r in rows) == [f"DCIM/p{i}.jpg" for i in range(3)]
    assert {r["status"] for r in rows} == {"ok"}
    assert disk.run("sh", "-c", snapshot, check=True).stdout == before
