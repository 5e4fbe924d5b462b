"""`triage classify --device D`: score unseen pictures with every enabled model card."""

from __future__ import annotations


import click

from triage.classify.stage import ClassifyReport
from triage.cli.base import command_context, emit_object, json_option
from triage.classify.cards import ModelCardError
from triage.pipeline import Pipeline


def describe(report: ClassifyReport) -> list[str]:
    lines = []
    if report.state == "no-models":
        lines.append("classify: no enabled model cards (see `triage models list`)")
    for m in report.models:
        if m.state == "refused":
            continue
        lines.append(f"classify {m.model}: {m.classified} pictures scored in {m.seconds:.1f}s"
                     + (f", {m.failed} failed" if m.failed else "")
                     + (f" ({m.already_done} done earlier)" if m.already_done else "")
                     + (" - interrupted" if m.state == "interrupted" else ""))
    lines += [f"classify: model refused: {p}" for p in report.problems]
    return lines


@click.command("classify")
@click.option("--device", required=True, help="Device label.")
@click.option("--model", "models", multiple=True,
              help="Only this model card (repeatable; default: every enabled card).")
@click.option("--batch-size", type=int, default=None, help="Pictures per batch (default: config).")
@click.option("--threads", type=int, default=None, help="Threads (default: config, else all cores).")
@click.option("--redo", is_flag=True, help="Forget this device's earlier scores and score again.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar (default: only on a terminal).")
@json_option
@click.pass_context
def classify_command(ctx: click.Context, device: str, models: tuple[str, ...],
                     batch_size: int | None, threads: int | None, redo: bool,
                     progress: bool | None, as_json: bool) -> None:
    """Score the unique, unseen pictures of DEVICE with the installed classifiers.

    Reads the small derivative made at ingest, never the evidence. Known and known-good
    pictures are not scored. Interrupt it at any time; run it again to finish.
    """
    with command_context(ctx, "classify") as run:
        try:
            report = Pipeline(run.workspace, run.store, progress).classify(
                device, batch_size=batch_size, threads=threads, redo=redo,
                only=list(models) or None)
        except ModelCardError as exc:
            raise click.ClickException(str(exc)) from exc
        run.counts.update(report.as_dict())
        if report.state == "interrupted":
            run.counts["_outcome"] = "interrupted"
        if as_json:
            emit_object(report.as_dict(), True)
        else:
            for line in describe(report):
                click.echo(line)
    if any(m.state == "refused" for m in report.models):
        ctx.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(classify_command)
