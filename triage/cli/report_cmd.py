"""`triage report --device D`: the per-device report for investigators (HTML + CSV, JSON)."""

from __future__ import annotations

from pathlib import Path

import click

from triage.signals.vpdq import timestamp
from triage.cli.base import command_context, emit_object, json_option, say
from triage.reports.device import (OutputRefused, device_report, render_device_html,
                                   schedule_csv, write_outputs)


@click.command("report")
@click.option("--device", required=True, help="Device label.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a printable HTML report, and the picture schedule as CSV beside it.")
@click.option("--with-thumbnails", is_flag=True,
              help="Embed blurred greyscale thumbnails of listed pictures in the HTML.")
@click.option("--force", is_flag=True,
              help="Replace existing files even if triage report did not write them.")
@json_option
@click.pass_context
def report_command(ctx: click.Context, device: str, html_file: Path | None,
                   with_thumbnails: bool, force: bool, as_json: bool) -> None:
    """Counts per category, known vs newly categorised, duplicates, first-generation candidates,
    reviewers and time, hash lists used, tool version and audit summary for DEVICE.

    --html FILE also writes the schedule as FILE with .csv. Neither replaces a file that this
    command did not write (or that changed since) unless --force is given.
    """
    if with_thumbnails and html_file is None:
        raise click.UsageError("--with-thumbnails needs --html FILE")
    with command_context(ctx, "report") as run:
        rep = device_report(run.store, device, run.workspace.config("review"))
        images = rep.pop("images")
        if html_file is not None:
            html, thumbs = render_device_html(rep | {"images": images},
                                              run.workspace.derivative_dir, with_thumbnails)
            csv_file = html_file.with_suffix(".csv")
            try:
                write_outputs(run.store, [(html_file, html), (csv_file, schedule_csv(images))],
                              force)
            except OutputRefused as exc:
                raise click.ClickException(str(exc)) from exc
            run.counts.update(html=str(html_file), csv=str(csv_file), thumbnails=thumbs)
            if not as_json:
                say(f"wrote {html_file} and {csv_file}"
                    + (f" ({thumbs} blurred thumbnails)" if with_thumbnails else ""))
        run.counts["unique_images"] = rep["unique_images"]
        if as_json:
            emit_object(rep, True)
            return
        rep["audit"] = {k: v for k, v in rep["audit"].items() if k != "trail"}
        rep["categories"] = {f"{c['scheme']} {c['category']}".strip():
                             f"{c['total']} ({c['known']} known, {c['reviewed']} reviewed)"
                             for c in rep["categories"]}
        rep["reviewers"] = {v["reviewer"]: f"{v['decisions']} decisions, {v['hours']} h"
                            for v in rep["reviewers"]}
        rep["lists"] = {l["name"]: f"{l['kind']}, {l['entry_count']} entries, {l['hits']} hits"
                        for l in rep["lists"]}
        rep["ingest_runs"] = len(rep["ingest_runs"])
        rep["disk_images"] = {i["image"]: _describe_image(i) for i in rep["disk_images"]}
        videos = rep.pop("videos")
        rep["videos"] = (f"{videos['unique']} unique in {videos['files']} files,"
                         f" {videos['seconds'] / 60:.1f} min")
        rep["video_durations"] = {v["path"]: timestamp(v["duration"]) for v in videos["list"]}
        emit_object(rep, False)


def _describe_image(i: dict) -> str:
    parts = [f"{i['format']}, {i['segments']} segment(s), {i['media_bytes']} bytes"]
    for key, name in (("case_number", "case"), ("evidence_number", "evidence"),
                      ("examiner", "examiner"), ("acquired", "acquired"),
                      ("stored_md5", "stored MD5"), ("stored_sha1", "stored SHA-1")):
        if i.get(key):
            parts.append(f"{name} {i[key]}")
    parts.append(f"verification: {i['verification']}"
                 + (f" ({i['verification_reason']})" if i["verification_reason"] else ""))
    parts.append(f"deleted: {i['deleted_recovered']} recovered,"
                 f" {i['deleted_unrecoverable']} unrecoverable")
    return "; ".join(parts)


def register(cli: click.Group) -> None:
    cli.add_command(report_command)
