"""Ctrl-C and SIGTERM through real processes, at known points of every stage; stuck and orphaned
workers; killed list imports. Each run waits at a fault point (triage.faults) before the test
signals it, so the signal lands where the test says whatever the machine's speed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import jpeg, write
from tests.test_resume import start_paused, triage_cmd, wait_for_flag
from triage.workspace import init_workspace

MESSAGE = b"interrupted: run the same command again to resume"


def run(ws: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(triage_cmd(ws, *args), capture_output=True, timeout=300,
                          env={**os.environ, **(env or {})})


def files(ws: Path, device: str = "D") -> dict[str, dict]:
    out = run(ws, "files", "--device", device, "--json")
    assert out.returncode == 0, out.stderr
    return {r["path"]: r for r in map(json.loads, out.stdout.splitlines())}


def group_alive(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def wait_group_gone(pgid: int, bound: float = 60) -> list[int]:
    """Wait for the group to empty; returns what is still alive after `bound` (a failure)."""
    deadline = time.monotonic() + bound
    while (alive := group_alive(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def assert_interrupted(proc: subprocess.Popen) -> tuple[bytes, bytes]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert MESSAGE in err, err
    assert b"Traceback" not in err and b"Aborted!" not in err, err
    return out, err


def pictures_and_workspace(base: Path, n: int) -> tuple[Path, Path, list[str]]:
    """N generated pictures in base/dump, a fresh workspace, and the ingest command for them."""
    src = base / "dump"
    for i in range(n):
        write(src, f"p{i}.jpg", jpeg(700 + i, (320, 240)))
    ws = init_workspace(base / "ws").root
    return src, ws, triage_cmd(ws, "ingest", str(src), "--case", "C", "--device", "D",
                               "--workers", "2", "--no-classify")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """A workspace with one device of 9 pictures, ingested without classifying."""
    _src, ws, ingest = pictures_and_workspace(tmp_path_factory.mktemp("intr"), 9)
    done = subprocess.run(ingest, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return ws


STAGES = {
    # point, command: matching writes nothing until its end; classify before and after a batch
    "match": ("match", ("match", "--device", "D")),
    "classify before scoring": ("classify.start",
                                ("classify", "--device", "D", "--batch-size", "2", "--redo")),
    "classify after a batch": ("classify:2",
                               ("classify", "--device", "D", "--batch-size", "2", "--redo")),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("stage", list(STAGES))
def test_ctrl_c_means_the_same_in_every_stage(ingested, tmp_path, stage, sig):
    point, args = STAGES[stage]
    proc = start_paused(triage_cmd(ingested, *args), point, tmp_path / "flag")
    os.kill(proc.pid, sig)
    assert_interrupted(proc)
    again = run(ingested, *args)  # and the same command finishes the job
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ingest_interrupted_in_its_match_stage_resumes(tmp_path, sig):
    _src, ws, args = pictures_and_workspace(tmp_path, 4)
    proc = start_paused(args, "match", tmp_path / "flag")
    os.kill(proc.pid, sig)
    assert_interrupted(proc)
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "already done" in again.stdout, again.stderr
    assert {r["status"] for r in files(ws).values()} == {"ok"}


def _md5_list(tmp_path: Path, n: int = 10) -> Path:
    lst = tmp_path / "known.md5"
    lst.write_text("".join(f"{i:032x}  f{i}.jpg\n" for i in range(1, n + 1)))
    return lst


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_list_import_keeps_nothing_and_says_so(workspace, tmp_path, sig):
    ws = workspace.root
    args = triage_cmd(ws, "hashsets", "import", str(_md5_list(tmp_path)), "--name", "L")
    proc = start_paused(args, "import", tmp_path / "flag")
    assert list((ws / "hashlib").glob(".import-*.sqlite"))  # being built aside
    os.kill(proc.pid, sig)
    assert_interrupted(proc)
    assert not list((ws / "hashlib").glob(".import-*"))
    listed = run(ws, "hashsets", "list", "--json")
    assert listed.returncode == 0 and listed.stdout.strip() == b""
    again = run(ws, *args[args.index("hashsets"):])
    assert again.returncode == 0, again.stderr


def test_killed_list_import_leaves_no_file_for_the_next_command(workspace, tmp_path):
    ws = workspace.root
    args = triage_cmd(ws, "hashsets", "import", str(_md5_list(tmp_path)), "--name", "L")
    proc = start_paused(args, "import", tmp_path / "flag")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert list((ws / "hashlib").glob(".import-*.sqlite"))  # what kill -9 leaves
    assert run(ws, "devices", "list", "--json").returncode == 0  # any command
    assert not list((ws / "hashlib").glob(".import-*"))


def test_a_running_import_keeps_its_file_while_other_commands_run(workspace, tmp_path):
    ws = workspace.root
    args = triage_cmd(ws, "hashsets", "import", str(_md5_list(tmp_path)), "--name", "L")
    proc = start_paused(args, "import", tmp_path / "flag")
    building = list((ws / "hashlib").glob(".import-*.sqlite"))
    assert building
    assert run(ws, "hashsets", "list").returncode == 0
    assert run(ws, "doctor").returncode == 0
    assert list((ws / "hashlib").glob(".import-*.sqlite")) == building
    os.kill(proc.pid, signal.SIGINT)
    assert_interrupted(proc)


# -- stuck and orphaned workers -----------------------------------------------------------------
def _source_with_a_stuck_file(root: Path) -> Path:
    for i in range(6):
        write(root, f"ok{i}.jpg", jpeg(900 + i, (200, 150)))
    write(root, "sub/stuck.jpg", jpeg(999, (200, 150)))
    return root


def _set_time_limit(ws: Path, seconds: int) -> None:
    cfg = ws / "config" / "ingest.toml"
    text = cfg.read_text()
    assert "file_seconds = 300" in text
    cfg.write_text(text.replace("file_seconds = 300", f"file_seconds = {seconds}"))


def test_a_stuck_worker_is_replaced_and_its_file_recorded(tmp_path):
    src = _source_with_a_stuck_file(tmp_path / "dump")
    ws = init_workspace(tmp_path / "ws").root
    # Generous for a 200x150 JPEG on any machine; the stuck one never finishes at all.
    _set_time_limit(ws, 10)
    done = run(ws, "ingest", str(src), "--case", "C", "--device", "D", "--workers", "2",
               "--no-classify", env={"TRIAGE_FAULT_HANG_ON": "stuck.jpg"})
    assert done.returncode == 0, done.stderr
    rows = files(ws)
    assert rows["sub/stuck.jpg"]["status"] == "timeout"
    assert "not finished after 10 s" in rows["sub/stuck.jpg"]["reason"]
    assert {p: r["status"] for p, r in rows.items() if p != "sub/stuck.jpg"} == {
        f"ok{i}.jpg": "ok" for i in range(6)}


def _ingest_with_a_stuck_worker(tmp_path: Path) -> subprocess.Popen:
    """An ingest (default time limit: 300 s, far beyond these tests) whose worker is stuck on
    stuck.jpg by the time this returns."""
    src = _source_with_a_stuck_file(tmp_path / "dump")
    ws = init_workspace(tmp_path / "ws").root
    flag = tmp_path / "stuck"
    proc = subprocess.Popen(
        triage_cmd(ws, "ingest", str(src), "--case", "C", "--device", "D", "--workers", "2"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "TRIAGE_FAULT_HANG_ON": "stuck.jpg",
             "TRIAGE_FAULT_PAUSE_FLAG": str(flag)})
    try:
        wait_for_flag(proc, flag)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_run_at_once_while_a_worker_is_stuck(tmp_path, sig):
    proc = _ingest_with_a_stuck_worker(tmp_path)
    try:
        os.kill(proc.pid, sig)
        assert_interrupted(proc)
        assert wait_group_gone(proc.pid) == []
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def test_no_worker_survives_kill_9_of_the_coordinator(tmp_path):
    proc = _ingest_with_a_stuck_worker(tmp_path)
    try:
        workers = [p for p in group_alive(proc.pid) if p != proc.pid]
        assert len(workers) >= 2  # the forkserver and at least the stuck worker
        os.kill(proc.pid, signal.SIGKILL)  # the coordinator only
        proc.wait(timeout=60)
        assert wait_group_gone(proc.pid) == []
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
