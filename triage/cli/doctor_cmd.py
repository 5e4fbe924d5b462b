"""`triage doctor [--json]`: is this workspace sound, and if not, what to do.

Read-only on the database by design: it opens `triage.db` read-only and runs SQLite's full
`PRAGMA integrity_check`, so it can examine a damaged file without making it worse (which is
also why it writes no audit row). What it may change is outside the database: it leaves
`triage.db.damaged` beside a database that fails the check, so that every other command refuses
to write to it, removes that marker once the database (restored from backup) passes again, and
deletes the temporary files of list imports that died.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from triage.cli.base import emit_object, json_option, say
from triage.store.hashsets import clean_stale_imports
from triage.store.sqlite import Connection, connect_read_only
from triage.store.core import (DamagedDatabase, check_database_file, damage_marker,
                               integrity_problems, mark_damaged)
from triage.workspace import Workspace, WorkspaceError, find_workspace


@dataclass
class Check:
    check: str
    ok: bool
    detail: str
    advice: str | None = None


def examine(ws: Workspace) -> list[Check]:
    checks: list[Check] = []
    db = ws.db_path
    marker = damage_marker(db)
    sound = False
    try:
        if marker.exists():
            marker_text = marker.read_text(encoding="utf-8", errors="replace").strip()
            marker.unlink()  # look again: the database may have been restored since
        else:
            marker_text = None
        check_database_file(db)
    except DamagedDatabase as exc:
        checks.append(Check("database", False, str(exc),
                            f"restore {db.name} from your backup, then run `triage doctor`"))
    else:
        problems = integrity_problems(db)
        if problems:
            mark_damaged(db, problems)
            checks.append(Check(
                "database", False,
                f"{db} failed PRAGMA integrity_check: " + "; ".join(problems[:5]),
                f"no command writes to it now ({marker.name} marks it). Keep this copy for"
                f" examination, restore {db.name} from your backup, then run `triage doctor`"))
        else:
            sound = True
            checks.append(Check("database", True, f"{db}: PRAGMA integrity_check ok"
                                + (" (the earlier damage marker was removed: the database now"
                                   " passes)" if marker_text else "")))
    checks.append(_derivatives(ws, db if sound else None))
    checks += _hash_lists(ws, db if sound else None)
    return checks


def _derivatives(ws: Workspace, db: Path | None) -> Check:
    folder = ws.derivative_dir
    if not folder.is_dir():
        return Check("derivatives", False, f"{folder} is missing",
                     f"restore {folder.name}/ from your backup; `triage ingest` of each device"
                     " again recreates it (the evidence is read again)")
    parts = sum(1 for _ in folder.glob("*/*.part"))
    detail = f"{folder} present"
    if db is None:
        return Check("derivatives", True, detail)
    with _read_only(db) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT derivative FROM contents WHERE derivative IS NOT NULL")]
    missing = [n for n in names if not (folder / n).is_file()]
    detail += f", {len(names) - len(missing)} of {len(names)} derivative pictures found"
    if parts:
        detail += f", {parts} unfinished .part files (from a killed ingest, or one running now)"
    if missing:
        return Check("derivatives", False, detail + f"; missing e.g. {missing[0]}",
                     f"restore {folder.name}/ from your backup (review pages and classify need"
                     " them)")
    return Check("derivatives", True, detail)


def _hash_lists(ws: Workspace, db: Path | None) -> list[Check]:
    out: list[Check] = []
    store_dir = ws.root / "hashlib"
    if db is not None:
        with _read_only(db) as conn:
            lists = [(r[0], r[1]) for r in conn.execute("SELECT id, name FROM hashsets")]
        missing = [name for hid, name in lists if not (store_dir / f"{hid}.sqlite").is_file()]
        if missing:
            out.append(Check("hash lists", False,
                             f"{len(missing)} of {len(lists)} list files missing from"
                             f" {store_dir}: {', '.join(missing[:10])}",
                             "import those lists again (`triage hashsets import FILE --name"
                             " NAME`), or restore hashlib/ from your backup"))
        else:
            out.append(Check("hash lists", True, f"{len(lists)} list files present"))
        stale = _clean_imports(ws)
        if stale:
            out.append(Check("list imports", True,
                             f"removed {len(stale)} temporary files of list imports that died"))
    return out


def _clean_imports(ws: Workspace) -> list[Path]:
    return clean_stale_imports(ws.root / "hashlib")


class _read_only:
    def __init__(self, db: Path) -> None:
        self.conn = connect_read_only(db)

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: Any) -> None:
        self.conn.close()


@click.command("doctor")
@json_option
@click.pass_context
def doctor_command(ctx: click.Context, as_json: bool) -> None:
    """Check the workspace: database integrity, hash-list files, derivatives; say what to do.

    Never writes to the database. Exits 1 if anything needs attention.
    """
    explicit = ctx.find_root().params.get("workspace")
    try:
        ws = find_workspace(explicit)
    except WorkspaceError as exc:
        raise click.ClickException(str(exc)) from exc
    checks = examine(ws)
    healthy = all(c.ok for c in checks)
    if as_json:
        emit_object({"workspace": str(ws.root), "healthy": healthy,
                     "checks": [asdict(c) for c in checks]}, True)
    else:
        for c in checks:
            say(f"{'ok  ' if c.ok else 'FAIL'}  {c.check}: {c.detail}")
            if c.advice:
                say(f"      what to do: {c.advice}")
        say(f"{ws.root}: " + ("healthy" if healthy else "needs attention"))
    if not healthy:
        ctx.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(doctor_command)


