"""Workspace discovery, the audit trail, and JSON output of the listing commands."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from tests.conftest import jpeg, write
from triage.cli.main import cli


def test_init_creates_wal_database_and_config(tmp_path):
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "lab")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "lab" / "config" / "ingest.toml").exists()
    with sqlite3.connect(tmp_path / "lab" / "triage.db") as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_workspace_found_from_env_and_cwd(tmp_path, monkeypatch, workspace):
    src = tmp_path / "d"
    write(src, "a.jpg", jpeg(1))
    runner = CliRunner()
    monkeypatch.setenv("TRIAGE_WORKSPACE", str(workspace.root))
    r = runner.invoke(cli, ["ingest", str(src), "--case", "C", "--device", "D", "--workers", "0"])
    assert r.exit_code == 0, r.output
    monkeypatch.delenv("TRIAGE_WORKSPACE")
    monkeypatch.chdir(workspace.root)
    r = runner.invoke(cli, ["summary", "--device", "D", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["files"] == 1
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["summary", "--device", "D"])
    assert r.exit_code == 1 and "no workspace" in r.output


def test_every_command_is_audited(tmp_path, triage, workspace):
    src = tmp_path / "d"
    write(src, "a.jpg", jpeg(1))
    write(src, "b.jpg", b"")
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    triage("files", "--device", "D", "--json")
    triage("summary", "--device", "NOPE", ok=(1,))
    store = workspace.open_store()
    entries = {e["command"]: e for e in store.audit_entries()}
    ing = entries["ingest"]
    assert ing["os_user"] and ing["tool_version"] and ing["finished_at"]
    assert ing["arguments"]["params"]["device"] == "D"
    assert ing["counts"]["files"] == 2 and ing["counts"]["by_status"] == {"empty": 1, "ok": 1}
    assert entries["files"]["counts"]["rows"] == 2
    assert entries["summary"]["outcome"].startswith("error: no device 'NOPE'")


def test_files_json_has_the_documented_fields(tmp_path, triage):
    from triage.store.ingest import FILE_FIELDS

    src = tmp_path / "d"
    write(src, "a.jpg", jpeg(1))
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    row = json.loads(triage("files", "--device", "D", "--json").output.splitlines()[0])
    assert list(row)[: len(FILE_FIELDS)] == list(FILE_FIELDS)
    readme = open("README.md", encoding="utf-8").read()
    for field in FILE_FIELDS:
        assert f"`{field}`" in readme, f"README does not document {field}"


def test_demo_builds_and_ingests(tmp_path):
    r = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert "ingest completed" in r.output and "workspace:" in r.output
    store_db = tmp_path / "demo" / "workspace" / "triage.db"
    with sqlite3.connect(store_db) as c:
        statuses = dict(c.execute("SELECT status, COUNT(*) FROM files GROUP BY status"))
        mismatches = c.execute("SELECT COUNT(*) FROM files WHERE ext_mismatch=1").fetchone()[0]
        members = c.execute("SELECT COUNT(*) FROM files WHERE path LIKE '%.zip!/%'").fetchone()[0]
    # corrupt: a truncated JPEG, a damaged PNG and a damaged video
    assert statuses["ok"] > 60 and statuses["corrupt"] == 3 and statuses["empty"] == 2
    assert mismatches >= 13 and members == 5
