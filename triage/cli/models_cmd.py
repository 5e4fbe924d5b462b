"""`triage models list|check`: which classifiers are installed, and whether each can be used."""

from __future__ import annotations

import click

from triage.cli.base import command_context, emit, json_option
from triage.classify.cards import card_dirs, check_card, discover


@click.group("models")
def models_group() -> None:
    """Classifier model cards (packaged `models/` and the workspace's own `models/`)."""


@models_group.command("list")
@json_option
@click.pass_context
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Installed model cards (without loading the weights)."""
    with command_context(ctx, "models list") as run:
        listing = discover(card_dirs(run.workspace.root))
        rows = [c.public() for c in listing.cards]
        rows += [{"name": None, "card": str(p), "problem": msg} for p, msg in listing.broken]
        run.counts["rows"] = emit(rows, as_json, ("name", "enabled", "layout", "label",
                                                  "licence", "card"), empty="(no model cards)")


@models_group.command("check")
@json_option
@click.pass_context
def check_command(ctx: click.Context, as_json: bool) -> None:
    """Load every card as `triage classify` would: weights hash, ONNX, shapes, one test picture.

    Exits 1 when any card is unusable, naming the problem.
    """
    with command_context(ctx, "models check") as run:
        listing = discover(card_dirs(run.workspace.root))
        rows = [vars(check_card(c)) for c in listing.cards]
        rows += [{"name": None, "card": str(p), "ok": False, "problem": msg, "weights": None}
                 for p, msg in listing.broken]
        run.counts["rows"] = emit(rows, as_json, ("name", "ok", "problem", "card"),
                                  empty="(no model cards)")
        bad = sum(1 for r in rows if not r["ok"])
        run.counts["unusable"] = bad
        if bad:
            run.counts["_outcome"] = f"{bad} unusable model card(s)"
    if bad:
        ctx.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(models_group)
