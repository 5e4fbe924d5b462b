"""`triage hashsets import|list|remove`: the lab's library of known-hash lists."""

from __future__ import annotations

from pathlib import Path

import click

from triage.cli.base import command_context, emit, emit_object, json_option, say
from triage.match.lists import FORMATS, ListFormatError
from triage.categories import CategoryMap
from triage.match.lists.entries import ParseOptions
from triage.match.lists.library import KINDS, import_list
from triage.pipeline import Pipeline
from triage.progress import progress_bar


@click.group("hashsets")
def hashsets_group() -> None:
    """Known-hash lists (Project VIC / CAID VICS, NSRL, ICSE, plain and PDQ lists)."""


@hashsets_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="List name; importing an existing name replaces it.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS.names()]), default="auto",
              show_default=True)
@click.option("--kind", type=click.Choice(KINDS), default="alert", show_default=True,
              help="alert: known material; known-good: set aside (NSRL); reference: record only.")
@click.option("--scheme", default=None,
              help="Category scheme in config/categories.toml (default: from the file, else none).")
@click.option("--category", default=None, help="Category for lists that carry none (raw value).")
@click.option("--column", "columns", multiple=True, metavar="FIELD=HEADER",
              help="CSV column mapping, e.g. --column md5='Hash Value' (repeatable).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: only on a terminal).")
@json_option
@click.pass_context
def import_command(ctx: click.Context, file: Path, name: str, fmt: str, kind: str,
                   scheme: str | None, category: str | None, columns: tuple[str, ...],
                   progress: bool | None, as_json: bool) -> None:
    """Import FILE as list NAME (atomically: a malformed file changes nothing)."""
    with command_context(ctx, "hashsets import") as run:
        mapping = {}
        for spec in columns:
            field, sep, header = spec.partition("=")
            if not sep:
                raise click.BadParameter(f"{spec!r} is not FIELD=HEADER", param_hint="--column")
            mapping[field.strip().lower()] = header
        with progress_bar(progress, total=file.stat().st_size, unit="B", unit_scale=True,
                          unit_divisor=1024, desc=f"import {name}") as bar:
            try:
                result = import_list(
                    run.store, file, name, fmt=fmt, kind=kind, scheme=scheme,
                    categories=CategoryMap(run.workspace.config("categories")),
                    options=ParseOptions(columns=mapping, category=category,
                                         progress=bar.update),
                    on_stage=lambda stage: bar.set_postfix_str(stage))
            except ListFormatError as exc:
                raise click.ClickException(f"not imported: {exc}") from exc
            except KeyboardInterrupt:
                # The new version was being built aside: nothing of it is kept, the old stays.
                say(f"\ninterrupted: {name} not imported; any earlier version of it is"
                    " unchanged. Run the same command again to import it.", err=True)
                raise
        report = Pipeline(run.workspace, run.store, progress).lists_changed(result.hashset["id"])
        summary = result.as_dict() | {"matches": report.as_dict() if report else None}
        run.counts.update(entries=result.hashset["entry_count"],
                          known_contents=report.known_contents if report else 0)
        if as_json:
            emit_object(summary, True)
            return
        verb = "replaced" if result.replaced else "imported"
        say(f"{verb} {name}: {result.hashset['entry_count']} entries"
            f" ({result.hashset['format']}, {kind}, scheme {result.hashset['scheme']})")
        if result.empty_content_skipped:
            say(f"  skipped {result.empty_content_skipped} entries holding the hash of empty content"
                " (the MD5/SHA-1/SHA-256 of zero bytes would make every empty file known)")
        if result.unmapped_categories:
            say("  categories not in the scheme's table (reported as uncategorised): "
                + ", ".join(f"{k} ({v})" for k, v in result.unmapped_categories.items()))
        if report:
            say(f"  matched across the workspace: {report.known_contents} known contents,"
                f" {report.near} near candidates")


@hashsets_group.command("list")
@json_option
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """The lists in this workspace's library."""
    with command_context(ctx, "hashsets list") as run:
        run.counts["rows"] = emit(run.store.hashsets(), as_json,
                                  ("name", "kind", "format", "scheme", "entry_count",
                                   "matched_contents", "imported_at", "source_sha256"),
                                  empty="(no lists imported)")


@hashsets_group.command("remove")
@click.argument("name")
@click.pass_context
def remove_command(ctx: click.Context, name: str) -> None:
    """Remove list NAME and every match it made."""
    with command_context(ctx, "hashsets remove") as run:
        hs = run.store.remove_hashset(name)
        Pipeline(run.workspace, run.store).lists_changed(None)
        say(f"removed {name} ({hs['entry_count']} entries)")


def register(cli: click.Group) -> None:
    cli.add_command(hashsets_group)
