"""Export a device's media and categories for submission: VICS 2.0 JSON (case shape) or CSV.

The VICS file is written as a stream (a phone can hold 100 k pictures) and is read back by
`triage hashsets import` without loss: every field written is kept in the imported entry.
Categories go out as Project VIC numbers (the US profile): a content is exported with the
category its exact alert-list match gave it; anything else (uncategorised, or a UK letter that
has no agreed VIC number) goes out with Category null, as the data model prescribes for media not
yet categorised.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from triage import __version__

VICS_CONTEXT = ("http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/"
                "$metadata#Cases")
MEDIA_KINDS = ("image", "video")
CSV_FIELDS = ("path", "source", "md5", "sha1", "sha256", "size", "media_kind", "known",
              "match_kind", "category", "category_raw", "match_method", "match_distance",
              "hashsets")


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def _media(store: Any, device_id: int) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(first file row, all file rows) per content of the device, in content order."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for row in store.iter_files(device_id):
        if row["content_id"] is not None and row["media_kind"] in MEDIA_KINDS:
            groups.setdefault(row["content_id"], []).append(row)
    for cid in sorted(groups):
        yield groups[cid][0], groups[cid]


def media_record(first: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
    category = first.get("category")
    return {
        "MediaID": first["content_id"],
        "Category": int(category) if category is not None and category.isdigit() else None,
        "MD5": first["md5"].upper(),
        "SHA1": first["sha1"].upper(),
        "MediaSize": first["size"],
        "IsPrecategorized": bool(first.get("known") and first.get("match_kind") == "alert"),
        "MediaFiles": [
            {"MD5": f["md5"].upper(), "FileName": f["path"].rsplit("/", 1)[-1],
             "FilePath": f"{f['source']}/{f['path']}", "Created": _iso(f["ctime"]),
             "Written": _iso(f["mtime"]), "Accessed": _iso(f["atime"])}
            for f in files
        ],
    }


def write_vics(store: Any, device_label: str, out: TextIO) -> int:
    """Write the device as one VICS 2.0 case; returns how many Media records were written."""
    dev = store.device(device_label)
    media = list(_media(store, dev["id"]))
    records = [media_record(first, files) for first, files in media]
    case = {
        "CaseID": str(dev["case_id"]),
        "CaseNumber": dev["case_reference"],
        "SourceApplicationName": "triage",
        "SourceApplicationVersion": __version__,
        "TotalMediaFiles": sum(len(files) for _, files in media),
        "TotalPrecategorized": sum(1 for r in records if r["IsPrecategorized"]),
        "DeviceLabel": dev["label"],
    }
    out.write('{"@odata.context": ' + json.dumps(VICS_CONTEXT) + ', "value": [')
    head = json.dumps(case, ensure_ascii=False)
    out.write(head[:-1] + ', "Media": [')
    for i, rec in enumerate(records):
        out.write((",\n" if i else "\n") + json.dumps(rec, ensure_ascii=False))
    out.write("\n]}]}\n")
    return len(records)


def write_csv(store: Any, device_label: str, out: TextIO) -> int:
    dev = store.device(device_label)
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    n = 0
    for row in store.iter_files(dev["id"]):
        if row["content_id"] is None:
            continue
        row = dict(row, hashsets=";".join(sorted({m["hashset"] for m in row["matches"]})))
        writer.writerow(["" if row.get(k) is None else row[k] for k in CSV_FIELDS])
        n += 1
    return n
