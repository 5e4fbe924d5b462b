"""`triage classify --device D`: score unseen pictures with every enabled model card."""

from __future__ import annotations

from typing import Any

import click

from triage.classify.stage import (
    ClassifyReport,
    classify_device,
    options_from_config,
    select_cards,
)
from triage.cli.base import Run, command_context, emit_object, json_option
from triage.classify.cards import ModelCardError
from triage.queue.priority import priority_config


def run_classify(run: Run, device: str, **overrides: Any) -> ClassifyReport:
    """The classify stage with the workspace's config; shared by `classify`, `ingest`, `demo`."""
    opts = options_from_config(priority_config(run.workspace), **overrides)
    cards, problems = select_cards(run.workspace.root, opts)
    report = classify_device(run.store, device, run.workspace.derivative_dir, cards, opts)
    report.problems[:0] = problems
    report.problems += [m.problem for m in report.models if m.problem]
    return report


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
            report = run_classify(run, device, batch_size=batch_size, threads=threads,
                                  redo=redo, progress=progress, only=list(models) or None)
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
            if report.state == "interrupted":
                click.echo("interrupted: run the same command again to resume.")
    if report.state == "interrupted":
        ctx.exit(130)
    if any(m.state == "refused" for m in report.models):
        ctx.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(classify_command)


def classify_step(run: Run, device: str, enabled: bool | None, progress: bool | None
                  ) -> ClassifyReport | None:
    """Classify as the last step of `triage ingest` (config `classify.on_ingest`, or the flag).

    A model problem never fails the ingest that preceded it: the report names the problem and
    `triage classify` can be run once it is fixed.
    """
    on = priority_config(run.workspace).get("classify", {}).get("on_ingest", True)
    if not (on if enabled is None else enabled):
        return None
    try:
        return run_classify(run, device, progress=progress)
    except ModelCardError as exc:
        return ClassifyReport(device, "refused", problems=[str(exc)])
