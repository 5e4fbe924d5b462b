"""What every command shares: finding the workspace, the audit record, and output formats.

Every command that changes or reads case data runs inside `command_context`, which writes an
audit row (OS user, time, tool version, arguments) before the work and its outcome and counts
after it, even when the command fails or is interrupted. It is also the one place that turns
what can go wrong in any command into one clear message:
- Ctrl-C or SIGTERM anywhere (or a stage that reports itself interrupted): "interrupted: run
  the same command again to resume", exit 130;
- a full disk: one line naming the folder, no traceback (a reading command still runs: only
  its audit row is missing, and it says so);
- a damaged database: a message naming the file; it is not written to again.

Output for people (tables, `emit_object`, and every plain line through `say`) passes through
`printable`: file names, EXIF fields and list fields come from the evidence, and a name holding
an escape sequence would otherwise move the cursor, rewrite the screen or retitle the terminal
of the person reading it. JSON output (`--json`) is written exactly as stored.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from tabulate import tabulate

from triage import __version__, interrupts
from triage.store import Store, StoreError
from triage.store.sqlite import DatabaseError
from triage.store.core import (DamagedDatabase, disk_full_message, is_damage, is_disk_full,
                               mark_damaged)
from triage.workspace import Workspace, WorkspaceError, find_workspace


@dataclass
class Run:
    workspace: Workspace
    store: Store
    counts: dict[str, Any] = field(default_factory=dict)


class Interrupted(click.ClickException):
    """Ctrl-C or SIGTERM: the same words and exit status from every command and stage."""

    exit_code = interrupts.EXIT_STATUS

    def __init__(self) -> None:
        super().__init__(interrupts.MESSAGE)

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


@contextmanager
def command_context(ctx: click.Context, name: str) -> Iterator[Run]:
    try:
        ws = find_workspace(ctx.find_root().params.get("workspace"))
        store = ws.open_store()
    except (WorkspaceError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        raise Interrupted() from None
    except DatabaseError as exc:  # not even the read-only fallback could open it
        if is_disk_full(exc, ws.db_path):
            raise click.ClickException(disk_full_message(exc, ws.db_path)) from None
        raise
    run = Run(ws, store)
    audit_id: int | None = None
    outcome = "error"
    try:
        store.clean_stale_imports()
        try:
            audit_id = store.audit_start(name, _arguments(ctx), __version__)
        except DatabaseError as exc:
            if not (is_disk_full(exc, store.path) or store.read_only):
                raise
            store.abandon_transaction()
            say(f"warning: {disk_full_message(exc, store.path)}. Reading goes on, but"
                " this command is not in the audit trail", err=True)
        yield run
        outcome = run.counts.pop("_outcome", "ok")
        if outcome == "interrupted" or interrupts.received():
            raise Interrupted()
    except (KeyboardInterrupt, Interrupted):
        outcome = "interrupted"
        raise Interrupted() from None
    except (StoreError, WorkspaceError) as exc:
        outcome = f"error: {exc}"
        raise click.ClickException(str(exc)) from exc
    except click.ClickException as exc:
        outcome = f"error: {exc.message}"
        raise
    except click.exceptions.Exit as exc:  # ctx.exit(n)
        outcome = "ok" if exc.exit_code == 0 else f"exit {exc.exit_code}"
        raise
    except Exception as exc:
        if is_disk_full(exc, store.path) or (store.read_only and isinstance(exc, DatabaseError)):
            outcome = "error: disk full"
            raise click.ClickException(disk_full_message(exc, store.path)) from None
        if is_damage(exc) and not store.read_only:
            outcome = None  # not written to again
            mark_damaged(store.path, [str(exc)])
            raise click.ClickException(str(DamagedDatabase(
                f"{store.path} is damaged ({exc}); it is not written to again. Restore it from"
                " your backup, then run `triage doctor`"))) from None
        raise
    finally:
        _finish(store, audit_id, outcome, run.counts)


def _finish(store: Store, audit_id: int | None, outcome: str | None,
            counts: dict[str, Any]) -> None:
    """Complete the audit row and close; a full disk here costs the row's ending, nothing else."""
    try:
        store.abandon_transaction()
        if audit_id is not None and outcome is not None:
            store.audit_finish(audit_id, outcome, counts)
    except DatabaseError as exc:
        if not (is_disk_full(exc, store.path) or is_damage(exc) or store.read_only):
            raise
        if outcome and "disk full" in outcome:
            return  # the one message about the full disk is on its way already
        say(f"warning: the audit row of this command could not be completed ({exc})",
            err=True)
    finally:
        store.close()


# Options whose values are secrets (`ingest --unlock p3=KEY`): the audit trail records that
# they were given and for which volume, never the value.
SECRET_OPTIONS = ("--unlock",)


def _redact(value: str) -> str:
    label, sep, _key = value.partition("=")
    return f"{label}=<not recorded>" if sep else "<not recorded>"


def _arguments(ctx: click.Context) -> dict[str, Any]:
    argv, hide_next = [], False
    for arg in sys.argv[1:]:
        if hide_next:
            argv.append(_redact(arg))
            hide_next = False
        elif arg in SECRET_OPTIONS:
            argv.append(arg)
            hide_next = True
        elif arg.split("=", 1)[0] in SECRET_OPTIONS:
            option, _, value = arg.partition("=")
            argv.append(f"{option}={_redact(value)}")
        else:
            argv.append(arg)
    params = {k: ([_redact(v) for v in val] if f"--{k.replace('_', '-')}" in SECRET_OPTIONS
                  and isinstance(val, (list, tuple)) else val) for k, val in ctx.params.items()}
    return {"argv": argv, "params": params}


# C0 and C1 controls and DEL (cursor movement, CSI/OSC sequences, bell, backspace), lone
# surrogates (undecodable bytes of a name), the line/paragraph separators, and the bidirectional
# overrides and isolates that make a name display in another order than it is stored ("Trojan
# Source", CVE-2021-42574).
_OTHERS = r"\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_UNSAFE = re.compile(rf"[\x00-\x1f{_OTHERS}]")
_UNSAFE_KEEP_NEWLINE = re.compile(rf"[\x00-\x09\x0b-\x1f{_OTHERS}]")


def _escape(m: re.Match[str]) -> str:
    o = ord(m.group())
    if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def printable(value: Any, newlines: bool = False) -> str:
    """`value` as text safe to print on a terminal: every control character (see `_UNSAFE`)
    is shown as a `\\xNN` / `\\uNNNN` escape instead of acting. With `newlines`, line breaks
    are kept (a message of several lines); a table cell never keeps them."""
    text = value if isinstance(value, str) else str(value)
    pattern = _UNSAFE_KEEP_NEWLINE if newlines else _UNSAFE
    return pattern.sub(_escape, text) if pattern.search(text) else text


def say(message: Any = "", err: bool = False) -> None:
    """Print one message for people (`click.echo` after `printable`, line breaks kept)."""
    click.echo(printable(message, newlines=True), err=err)


def emit(rows: Iterable[dict[str, Any]], as_json: bool, columns: Sequence[str] | None = None,
         empty: str = "(nothing)") -> int:
    """Rows as a table for people, or JSON lines for scripts. Returns how many were printed."""
    n = 0
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, default=str, ensure_ascii=False))
            n += 1
        return n
    table = []
    for row in rows:
        table.append([_cell(row.get(c)) for c in columns] if columns
                     else [_cell(v) for v in row.values()])
        n += 1
    if not table:
        click.echo(empty)
        return 0
    headers = list(columns) if columns else []
    click.echo(tabulate(table, headers=headers, tablefmt="simple", disable_numparse=True))
    return n


def emit_object(obj: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(obj, default=str, ensure_ascii=False, indent=2))
        return
    for line in _describe(obj, 0):
        click.echo(line)


def _describe(obj: Any, indent: int) -> Iterator[str]:
    pad = "  " * indent
    for key, value in obj.items():
        if isinstance(value, dict):
            yield f"{pad}{printable(key)}:"
            if value:
                yield from _describe(value, indent + 1)
            else:
                yield f"{pad}  (none)"
        else:
            yield f"{pad}{printable(key)}: {printable(value)}"


def _cell(value: Any) -> str:
    """A table cell: short, one line, nothing a terminal would act on (`printable`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return printable(text if len(text) <= 70 else text[:67] + "...")


json_option = click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")
