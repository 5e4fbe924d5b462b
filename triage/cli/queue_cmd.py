"""`triage queue --device D`: the ranked, explained review queue of a device."""

from __future__ import annotations

import click

from triage.cli.base import command_context, emit, json_option, say
from triage.queue.build import QueueItem
from triage.pipeline import Pipeline


def queue_rows(items: list[QueueItem]) -> list[dict]:
    return [{"rank": i, **q.as_dict()} for i, q in enumerate(items, start=1)]


def describe(items: list[QueueItem]) -> list[str]:
    """Two lines per entry for people: rank, score and path; then every reason, untruncated."""
    lines = []
    for rank, q in enumerate(items, start=1):
        size = f"  [{q.cluster_size} pictures]" if q.cluster_size > 1 else ""
        lines.append(f"{rank:>4}. {q.score:.2f}  {q.path}{size}")
        lines.append(f"        {'; '.join(q.reasons) or '(no signal)'}")
    return lines


@click.command("queue")
@click.option("--device", required=True, help="Device label.")
@click.option("--limit", type=int, default=None, help="Only the first N entries.")
@click.option("--rebuild", is_flag=True,
              help="Build the queue again from the pictures as they are now and record it"
                   " (it is kept current by itself; this is for after a repair).")
@json_option
@click.pass_context
def queue_command(ctx: click.Context, device: str, limit: int | None, rebuild: bool,
                  as_json: bool) -> None:
    """Unseen pictures of DEVICE, highest priority first, each with the reasons for its place.

    Known and known-good material and decided pictures are left out; bursts of near-identical
    pictures are one entry. JSON lines with --json (fields in the README). The queue is the one
    recorded after ingest and kept current by each decision.
    """
    with command_context(ctx, "queue") as run:
        dev = run.store.device(device)
        pipeline = Pipeline(run.workspace, run.store)
        if rebuild:
            pipeline.similar(dev["id"])
            done = pipeline.record_queue(dev["id"], "rebuild (triage queue --rebuild)")
            run.counts["rebuilt"] = done.as_dict()
            if not as_json:
                say(f"rebuilt the queue of {device}: {done.entries} entries for"
                    f" {done.unseen} unseen pictures", err=True)
        items = pipeline.open_queue(dev["id"]).page()
        run.counts["entries"] = len(items)
        shown = items if limit is None else items[:limit]
        if as_json:
            run.counts["rows"] = emit(queue_rows(shown), True)
        else:
            for line in describe(shown) or ["(queue empty: nothing unseen on this device)"]:
                say(line)
            run.counts["rows"] = len(shown)
            if limit is not None and len(items) > limit:
                say(f"... {len(items) - limit} more entries")


def register(cli: click.Group) -> None:
    cli.add_command(queue_command)


def classify_and_show_top(pipeline: Pipeline, device: str, top: int = 10) -> list[str]:
    """For the demo: classify the device, then the head of its review queue, as text lines."""
    from triage.cli.classify_cmd import describe as describe_classify

    lines = describe_classify(pipeline.classify(device))
    items = pipeline.queue(device)
    lines += ["", f"review queue of {device}: {len(items)} entries, top {min(top, len(items))}:"]
    return lines + describe(items[:top])
