"""Reports people put before others: the per-device report for investigators (and court), and
the HTML of the backlog performance framework.

Every count in the device report is derived from one list of rows (one per unique picture, from
the store), which is also the CSV written alongside, so the printed figures and the schedule
cannot disagree. Pictures are never shown unless asked, and then only blurred and greyscale.

The report's files (`write_outputs`) never replace a file triage did not write: the schedule's
name is derived from the HTML's (`report.html` -> `report.csv`), and once silently replaced an
export a user had saved under that name. Each file written is recorded with its SHA-256; an
existing file is replaced only when it is one the report wrote and is unchanged since (or with
`force`). Files are written whole to a `.part` beside them and renamed, so a reader never finds
half a report.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from triage import __version__
from triage.categories import scheme_of, severity_rank
from triage.reports import charts
from triage.reports.csvout import SafeWriter
from triage.backlog.register import effective_status
from triage.signals.crypto import file_sha256
from triage.store import Store, now_iso

CSV_FIELDS = ("path", "copies", "sha256", "sha1", "md5", "width", "height", "category",
              "category_source", "known_lists", "known_good", "decided_by", "exif_make",
              "exif_model", "exif_datetime_original", "exif_gps", "first_generation_candidate")
THUMBNAIL_LIMIT = 200


@lru_cache(maxsize=1)
def _env() -> Environment:
    """One environment per process, so its templates are compiled once (the backlog page
    compiled them per request: ~60 ms of its time)."""
    env = Environment(loader=PackageLoader("triage.reports", "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["num"] = charts.fmt
    env.filters["css_string"] = css_string
    return env


def css_string(value: Any) -> Markup:
    """Text for inside a CSS string ("..."), e.g. the printed page footer: a device label may
    hold quotes, backslashes, newlines or `</style>`; each is escaped the CSS way."""
    out = []
    for ch in str(value):
        if ch in '\\"<>&' or ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return Markup("".join(out))


def _image_row(img: Mapping[str, Any]) -> dict[str, Any]:
    """Category: a reviewer's active decision stands over the list's (it is the latest grading);
    the source says whether the picture was known to a list."""
    known = img["known_category"]
    decided = img["decided_category"]
    category = decided or known
    source = ("known" if known is not None else "reviewed" if decided is not None
              else "known-good" if img["known_good"] else "not categorised")
    first_gen = bool(img["exif_make"] or img["exif_model"])
    return {"content_id": img["content_id"], "path": img["path"], "copies": img["copies"],
            "sha256": img["sha256"], "sha1": img["sha1"], "md5": img["md5"],
            "width": img["width"], "height": img["height"], "category": category,
            "category_source": source, "known_lists": "; ".join(img["known_lists"]),
            "known_good": img["known_good"], "decided_by": img["decided_by"],
            "exif_make": img["exif_make"], "exif_model": img["exif_model"],
            "exif_datetime_original": img["exif_datetime_original"],
            "exif_gps": bool(img["exif_gps"]), "first_generation_candidate": first_gen,
            "derivative": img["derivative"]}


def device_report(store: Store, label: str, review_config: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """The per-device report as one JSON-able object; `images` holds the CSV rows.
    `review_config`: the workspace's config/review.toml (which categories need a peer check)."""
    dev = store.device(label)
    reg = next((r for r in store.register_rows() if r["device_id"] == dev["id"]), {})
    summary = store.device_summary(dev["id"])
    images = [_image_row(i) for i in store.report_images(dev["id"])]
    per_cat: dict[str, dict[str, int]] = {}
    for img in images:
        if img["category"] is None:
            continue
        slot = per_cat.setdefault(img["category"], {"known": 0, "reviewed": 0, "total": 0})
        slot["known" if img["category_source"] == "known" else "reviewed"] += 1
        slot["total"] += 1
    categories = [{"category": k, "scheme": scheme_of(k)} | v
                  for k, v in sorted(per_cat.items(), key=lambda kv: severity_rank(kv[0]))]
    sources = Counter(i["category_source"] for i in images)
    first_gen = [i for i in images if i["first_generation_candidate"]]
    cameras = Counter(f"{i['exif_make'] or ''} {i['exif_model'] or ''}".strip() for i in first_gen)
    exposure = store.exposure_for_device(dev["id"])
    decided = store.decisions_by_reviewer(dev["id"])
    reviewers = {e["reviewer"]: {"reviewer": e["reviewer"], "views": e["views"],
                                 "revealed": e["revealed"], "hours": round(e["seconds"] / 3600, 2),
                                 "first": e["first"], "last": e["last"], "decisions": 0}
                 for e in exposure}
    for who, n in decided.items():
        reviewers.setdefault(who, {"reviewer": who, "views": 0, "revealed": 0, "hours": 0.0,
                                   "first": None, "last": None, "decisions": 0})["decisions"] = n
    audit = store.audit_for_device(label)
    return {
        "device": dev["label"], "case": dev["case_reference"],
        "status": effective_status({"register_status": reg.get("register_status"),
                                    "pipeline_status": dev["status"]}),
        "device_type": reg.get("device_type"), "seized_on": reg.get("seized_on"),
        "risk_band": reg.get("risk_band"),
        "tool_version": __version__, "generated_at": now_iso(),
        "files": summary["files"], "image_files": summary["image_files"],
        "unique_images": summary["unique_images"], "by_status": summary["by_status"],
        "duplicates": {"duplicate_files": summary["duplicate_files"],
                       "images_with_copies": sum(1 for i in images if i["copies"] > 1),
                       "max_copies": max((i["copies"] for i in images), default=0)},
        "categories": categories,
        "categorised": {"known": sources["known"], "reviewed": sources["reviewed"],
                        "known_good": sources["known-good"],
                        "not_categorised": sources["not categorised"]},
        "first_generation": {"candidates": len(first_gen),
                             "with_gps": sum(1 for i in first_gen if i["exif_gps"]),
                             "cameras": dict(cameras.most_common())},
        "reviewers": sorted(reviewers.values(), key=lambda r: r["reviewer"] or ""),
        "review_hours": round(sum(r["hours"] for r in reviewers.values()), 2),
        "lists": lists_used(store, dev["id"]),
        "continuity": continuity(store, dev["id"], label),
        "examiners": examiners(store, dev["id"], label),
        "near_candidates": near_candidates(store, dev["id"]),
        "peer_check": peer_check(store, dev["id"], review_config),
        "audit": {"entries": len(audit),
                  "commands": dict(Counter(a["command"] for a in audit).most_common()),
                  "first": audit[0]["started_at"] if audit else None,
                  "last": audit[-1]["started_at"] if audit else None,
                  "users": sorted({a["os_user"] for a in audit}),
                  "tool_versions": sorted({a["tool_version"] for a in audit}),
                  "trail": audit[-50:]},
        "ingest_runs": [{k: r[k] for k in ("location", "started_at", "finished_at", "state")}
                        for r in store.runs_for(dev["id"])],
        "disk_images": disk_images(store, dev["id"]),
        "videos": summary.get("video_files", 0) and {
            "files": summary["video_files"], "unique": summary["unique_videos"],
            "seconds": summary["video_seconds"], "list": store.report_videos(dev["id"])}
        or {"files": 0, "unique": 0, "seconds": 0.0, "list": []},
        "images": images,
    }


def lists_used(store: Store, device_id: int) -> list[dict[str, Any]]:
    """Every list the device was checked against with its SHA-256, and what it found here:
    exact matches (`hits`, as before) and PDQ near-match candidates (`near_candidates`)."""
    hits = store.list_hits(device_id)
    return [dict(h, hits=hits.get(h["name"], {}).get("exact", 0),
                 near_candidates=hits.get(h["name"], {}).get("near", 0))
            for h in store.hashsets_used(device_id)]


def continuity(store: Store, device_id: int, label: str) -> list[dict[str, Any]]:
    """Exhibit continuity: each source read, its own hash where it has one (an archive's
    bytes; a disk image's acquisition hash as the image records it: `image_md5`,
    `image_sha1`, verified or not in `disk_images`), and when and by whom it was ingested (the
    audit's OS user and host)."""
    ingests = [a for a in store.device_audit(label) if a["command"] == "ingest"]
    images = {int(i["source_id"]): i for i in store.disk_images(device_id)}
    out = []
    for src in store.source_continuity(device_id):
        where = os.path.abspath(src["location"])
        by = [a for a in ingests if os.path.abspath(str(a["params"].get("source", ""))) == where]
        image = images.get(int(src["source_id"]), {})
        out.append({
            "location": src["location"], "name": src["name"], "kind": src["kind"],
            "md5": src["md5"], "sha1": src["sha1"], "sha256": src["sha256"], "size": src["size"],
            "image_md5": image.get("stored_md5"), "image_sha1": image.get("stored_sha1"),
            "first_ingest": src["runs"][0]["started_at"] if src["runs"] else None,
            "last_finished": src["runs"][-1]["finished_at"] if src["runs"] else None,
            "runs": [{k: r[k] for k in ("started_at", "finished_at", "state")}
                     for r in src["runs"]],
            "ingested_by": [{"user": a["os_user"], "host": a["host"],
                             "started_at": a["started_at"], "finished_at": a["finished_at"],
                             "outcome": a["outcome"], "tool_version": a["tool_version"]}
                            for a in by],
        })
    return out


def disk_images(store: Store, device_id: int) -> list[dict[str, Any]]:
    """Each disk image of the device: what it is, how it was acquired (an E01's own record),
    whether its stored hash was verified, and what its file systems gave up when deleted."""
    deleted = store.deleted_counts(device_id)
    out = []
    for image in store.disk_images(device_id):
        meta = image["metadata"]
        verify = image["verify_state"] or "not verified (ingest --verify-image)"
        counts = deleted.get((image["source_id"], image["label"]), {})
        out.append({
            "image": image["label"], "location": image["location"], "format": image["format"],
            "segments": len(image["segments"]), "media_bytes": image["media_size"],
            "volume_system": image["volume_system"], "file_system": image["file_system"],
            "case_number": meta.get("case_number"), "evidence_number": meta.get("evidence_number"),
            "examiner": meta.get("examiner_name"), "acquired": meta.get("acquiry_date"),
            "description": meta.get("description"), "notes": meta.get("notes"),
            "stored_md5": image["stored_md5"], "stored_sha1": image["stored_sha1"],
            "verification": verify, "verification_reason": image["verify_reason"],
            "verified_at": image["verified_at"],
            "deleted_recovered": counts.get("recovered", 0),
            "deleted_unrecoverable": counts.get("unrecoverable", 0),
        })
    return out


def examiners(store: Store, device_id: int, label: str) -> list[dict[str, Any]]:
    """Who worked on the exhibit, from the audit trail (commands run, by OS account and host)
    and the review pages (reviewers who viewed or categorised its pictures)."""
    people: dict[tuple[str, str], dict[str, Any]] = {}
    for a in store.device_audit(label):
        if a["command"].startswith("web:"):
            continue
        key = (str(a["os_user"]), "commands")
        p = people.setdefault(key, {"name": a["os_user"], "as": "ran commands",
                                    "hosts": set(), "what": Counter(), "first": a["started_at"],
                                    "last": a["started_at"]})
        p["hosts"].add(a["host"] or "")
        p["what"][a["command"]] += 1
        p["last"] = a["started_at"]
    for u in store.device_web_users(device_id):
        people[(str(u["name"]), "review")] = {
            "name": u["name"], "as": f"{u['role']} in the review pages", "hosts": set(),
            "what": Counter({"decisions": int(u["decisions"] or 0),
                             "pictures viewed": int(u["views"] or 0)}),
            "first": u["first"], "last": u["last"]}
    return [{"name": p["name"], "as": p["as"], "hosts": sorted(h for h in p["hosts"] if h),
             "what": ", ".join(f"{k} {n}" for k, n in p["what"].most_common() if n),
             "first": p["first"], "last": p["last"]}
            for _, p in sorted(people.items())]


def near_candidates(store: Store, device_id: int) -> dict[str, Any]:
    """PDQ near-match candidates: pictures a list holds only as a near match. Candidates, not
    categories: each waits for a reviewer's decision like any other picture."""
    rows = store.near_candidates(device_id)
    return {"pictures": len({r["content_id"] for r in rows}),
            "files": sum(int(r["copies"]) for r in {r["content_id"]: r for r in rows}.values()),
            "rows": rows[:1000], "listed_total": len(rows)}


def peer_check(store: Store, device_id: int, review_config: Mapping[str, Any] | None
               ) -> dict[str, Any]:
    categories = [str(c) for c in (review_config or {}).get("peer_check", {}).get(
        "categories", [])]
    state = store.peer_state(device_id, categories)
    return {"categories": categories, "confirmed": state["confirmed"],
            "waiting": state["unchecked"], "disagreements": state["disagreements"]}


def schedule_csv(images: Sequence[Mapping[str, Any]]) -> str:
    """The picture schedule as CSV text (formula cells neutralised, `triage.reports.csvout`)."""
    buf = io.StringIO(newline="")
    w = SafeWriter(buf)
    w.header(CSV_FIELDS)
    for img in images:
        w.row(["yes" if v is True else "no" if v is False else "" if v is None else v
               for v in (img.get(k) for k in CSV_FIELDS)])
    return buf.getvalue()


class OutputRefused(ValueError):
    """A report file would replace a file triage did not write (nothing was written)."""


def _output_key(path: Path) -> str:
    return os.path.abspath(path)


def check_outputs(store: Store, paths: Sequence[Path], force: bool = False) -> None:
    """Raise OutputRefused naming every existing path that is not an unchanged file the report
    wrote. Called for all of a report's files before the first is written."""
    if len({_output_key(p) for p in paths}) < len(paths):
        raise OutputRefused("the HTML report and its CSV schedule would be the same file: give"
                            " the HTML file a name ending in .html")
    if force:
        return
    refused = []
    for path in paths:
        if not (path.exists() or path.is_symlink()):
            continue
        known = store.written_output(_output_key(path))
        same = known is not None and path.is_file() and not path.is_symlink() \
            and file_sha256(path) == known["sha256"]
        if not same:
            refused.append(str(path))
    if refused:
        raise OutputRefused(
            f"not overwriting {', '.join(refused)}: triage report did not write"
            f" {'it' if len(refused) == 1 else 'them'} (or {'it has' if len(refused) == 1 else 'they have'}"
            " changed since). Choose another --html name, move the file away, or pass --force."
            " Nothing was written.")


def write_outputs(store: Store, files: Sequence[tuple[Path, str]], force: bool = False) -> None:
    """Write each (path, text) as UTF-8 after checking none would replace a file triage did not
    write; record what was written so the next report may replace it."""
    check_outputs(store, [path for path, _ in files], force)
    for path, text in files:
        data = text.encode("utf-8")
        tmp = path.with_name(path.name + ".part")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        store.record_output(_output_key(path), hashlib.sha256(data).hexdigest(), "report")


def blurred_thumbnail(path: Path, size: int = 96, radius: float = 6.0) -> str:
    """A greyscale, blurred, small JPEG as a data URI: safe by default (welfare by design)."""
    from triage.media.safe import safe_thumbnail

    data = safe_thumbnail(path, size, radius, greyscale=True, quality=60)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def render_device_html(report: Mapping[str, Any], derivative_dir: Path | None = None,
                       with_thumbnails: bool = False) -> tuple[str, int]:
    """HTML and how many (blurred) thumbnails it embeds."""
    listed = [i for i in report["images"] if i["category"] is not None
              or i["first_generation_candidate"]]
    listed.sort(key=lambda i: (severity_rank(i["category"]), i["path"]))
    thumbs: dict[int, str] = {}
    if with_thumbnails and derivative_dir is not None:
        for img in listed[:THUMBNAIL_LIMIT]:
            if img["derivative"] and (derivative_dir / img["derivative"]).is_file():
                thumbs[img["content_id"]] = blurred_thumbnail(derivative_dir / img["derivative"])
    cats = report["categories"]
    chart = charts.stacked_bars(
        [f"{c['scheme']} {c['category']}".strip() for c in cats],
        [("known (list)", charts.PALETTE[0], [c["known"] for c in cats]),
         ("newly categorised", charts.PALETTE[2], [c["reviewed"] for c in cats])],
        "Pictures per category", width=440) if cats else ""
    html = _env().get_template("device.html").render(
        r=report, listed=listed[:1000], listed_total=len(listed), thumbs=thumbs,
        with_thumbnails=with_thumbnails, chart=chart)
    return html, len(thumbs)


def backlog_charts(fw: Mapping[str, Any]) -> dict[str, str]:
    bands = list(fw["by_band"])
    rag = [(name.capitalize(), charts.RAG_COLOURS[name], [fw["by_band"][b][name] for b in bands])
           for name in ("red", "amber", "green")]
    cap = fw["capacity"]
    trend = fw["trend"]
    return {
        "by_band": charts.stacked_bars(bands, rag, "Devices waiting by risk band and RAG (D/T)"),
        "overdue": charts.bars([(f"band {b}", fw["by_band"][b]["overdue"], charts.RAG_COLOURS["red"])
                                for b in bands], "Overdue devices (D/T > 1) per band"),
        "capacity": charts.bars(
            [("forecast (ingested)", fw["forecast_hours"]["measured"], charts.PALETTE[0]),
             ("estimate (not ingested)", fw["forecast_hours"]["estimated"], charts.PALETTE[5]),
             ("capacity per week", cap["hours_per_week"], charts.PALETTE[3])],
            "Review hours: forecast vs weekly capacity", unit=" h"),
        "trend": charts.lines(
            [s["taken_on"][5:] for s in trend],
            [("waiting", charts.PALETTE[0], [s["waiting"] for s in trend]),
             ("overdue", charts.RAG_COLOURS["red"], [s["overdue"] for s in trend]),
             ("weeks to clear", charts.PALETTE[4],
              [s.get("weeks_to_clear") or 0 for s in trend])],
            "Trend (daily snapshots)", width=560),
    }


def render_backlog_body(fw: Mapping[str, Any]) -> str:
    """The framework as an HTML fragment (the standalone report and the web page share it)."""
    return _env().get_template("backlog_body.html").render(fw=fw, charts=backlog_charts(fw))


def render_backlog_html(fw: Mapping[str, Any]) -> str:
    return _env().get_template("backlog.html").render(fw=fw, body=render_backlog_body(fw))
