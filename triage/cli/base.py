"""What every command shares: finding the workspace, the audit record, and output formats.

Every command that changes or reads case data runs inside `command_context`, which writes an
audit row (OS user, time, tool version, arguments) before the work and its outcome and counts
after it, even when the command fails or is interrupted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from tabulate import tabulate

from triage import __version__
from triage.store import Store, StoreError
from triage.workspace import Workspace, WorkspaceError, find_workspace


@dataclass
class Run:
    workspace: Workspace
    store: Store
    counts: dict[str, Any] = field(default_factory=dict)


@contextmanager
def command_context(ctx: click.Context, name: str) -> Iterator[Run]:
    try:
        ws = find_workspace(ctx.find_root().params.get("workspace"))
        store = ws.open_store()
    except (WorkspaceError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    run = Run(ws, store)
    audit_id = store.audit_start(name, _arguments(ctx), __version__)
    outcome = "error"
    try:
        yield run
        outcome = run.counts.pop("_outcome", "ok")
    except KeyboardInterrupt:
        outcome = "interrupted"
        raise
    except (StoreError, WorkspaceError) as exc:
        outcome = f"error: {exc}"
        raise click.ClickException(str(exc)) from exc
    except click.ClickException as exc:
        outcome = f"error: {exc.message}"
        raise
    finally:
        store.audit_finish(audit_id, outcome, run.counts)
        store.close()


def _arguments(ctx: click.Context) -> dict[str, Any]:
    return {"argv": sys.argv[1:], "params": ctx.params}


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
        table.append([_cell(row.get(c)) for c in columns] if columns else list(row.values()))
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
            yield f"{pad}{key}:"
            if value:
                yield from _describe(value, indent + 1)
            else:
                yield f"{pad}  (none)"
        else:
            yield f"{pad}{key}: {value}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text if len(text) <= 70 else text[:67] + "..."


json_option = click.option("--json", "as_json", is_flag=True, help="JSON output for scripts.")
