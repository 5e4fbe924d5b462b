"""The device register: what the lab knows about each exhibit, and what ingest has found on it.

Backlog managers keep registers in spreadsheets; `import_csv` takes one whole or not at all, and
names every bad row, so a half-imported register never silently skews the ranking.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from triage.queue.recorded import review_hours_left
from triage.queue.workload import SOURCE as WORKLOAD_SOURCE, seconds_per_item
from triage.store import Store, StoreError

BANDS = ("VH", "H", "M", "L")
STATUSES = ("awaiting", "ingesting", "in review", "reviewed", "returned")
WAITING_STATUSES = ("awaiting", "ingesting", "in review")
FLAG_FIELDS = ("access_to_children", "child_at_risk", "bail_rui")
DATE_FIELDS = ("seized_on", "next_court_date")

# CSV header spellings seen in lab spreadsheets -> register field.
HEADER_ALIASES = {
    "case": "case", "case_reference": "case", "case_ref": "case",
    "device": "device", "label": "device", "device_label": "device", "exhibit": "device",
    "type": "device_type", "device_type": "device_type",
    "seized": "seized_on", "seized_on": "seized_on", "date_seized": "seized_on",
    "risk": "risk_band", "risk_band": "risk_band", "band": "risk_band",
    "access_to_children": "access_to_children", "access": "access_to_children",
    "child_at_risk": "child_at_risk", "child_at_immediate_risk": "child_at_risk",
    "immediate_risk": "child_at_risk",
    "court": "next_court_date", "court_date": "next_court_date",
    "next_court_date": "next_court_date", "charging_date": "next_court_date",
    "bail": "bail_rui", "bail_rui": "bail_rui", "rui": "bail_rui",
    "status": "register_status", "register_status": "register_status",
    "notes": "notes",
}
_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f"}


class RegisterError(Exception):
    """Register input that cannot be accepted; `.errors` lists every problem, one per line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def parse_date(text: str) -> str:
    """ISO 2026-03-01 or UK 01/03/2026 (day first, as on UK forms) -> ISO."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} is not YYYY-MM-DD or DD/MM/YYYY")


def parse_flag(text: str) -> int:
    t = text.strip().lower()
    if t in _TRUE:
        return 1
    if t in _FALSE:
        return 0
    raise ValueError(f"{text!r} is not yes/no")


def parse_band(text: str) -> str:
    t = text.strip().upper().replace(" ", "")
    t = {"VERYHIGH": "VH", "HIGH": "H", "MEDIUM": "M", "LOW": "L"}.get(t, t)
    if t not in BANDS:
        raise ValueError(f"risk band {text!r} is not one of {', '.join(BANDS)}")
    return t


def parse_status(text: str) -> str:
    t = " ".join(text.strip().lower().replace("_", " ").replace("-", " ").split())
    if t not in STATUSES:
        raise ValueError(f"status {text!r} is not one of {', '.join(STATUSES)}")
    return t


def clean_fields(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Text values from a form, CLI or CSV -> typed register fields, plus readable errors.

    Empty values are left out, so an update or an import row never blanks what it did not set.
    """
    fields: dict[str, Any] = {}
    errors: list[str] = []
    for key, value in raw.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            if key in DATE_FIELDS:
                fields[key] = parse_date(value) if isinstance(value, str) else value.isoformat()
            elif key in FLAG_FIELDS:
                fields[key] = parse_flag(value) if isinstance(value, str) else int(bool(value))
            elif key == "risk_band":
                fields[key] = parse_band(value)
            elif key == "register_status":
                fields[key] = parse_status(value)
            elif key in ("device_type", "notes"):
                fields[key] = str(value).strip()
            else:
                errors.append(f"unknown field {key!r}")
        except ValueError as exc:
            errors.append(f"{key}: {exc}")
    return fields, errors


@dataclass
class ImportResult:
    rows: int
    created: int
    updated: int


def import_csv(store: Store, path: Path) -> ImportResult:
    """Validate every row first, then write all of them in one transaction."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start});"
                             " save the spreadsheet as 'CSV UTF-8'"]) from exc
    except OSError as exc:
        raise RegisterError([f"{path}: {exc.strerror}"]) from exc
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise RegisterError([f"{path}: empty file (expected a header row)"])
    mapping: dict[str, str] = {}
    errors: list[str] = []
    for header in reader.fieldnames:
        key = re.sub(r"[\s\-/]+", "_", (header or "").strip().lower())
        if key not in HEADER_ALIASES:
            errors.append(f"header: unknown column {header!r} (known: case, device, type,"
                          " seized, risk, access_to_children, child_at_risk, court_date, bail_rui,"
                          " status, notes)")
        else:
            mapping[header] = HEADER_ALIASES[key]
    for needed in ("case", "device"):
        if needed not in mapping.values():
            errors.append(f"header: a {needed!r} column is required")
    if errors:
        raise RegisterError(errors)
    existing = {r["label"]: r for r in store.register_rows()}
    seen: dict[str, int] = {}
    entries: list[tuple[str, str, dict[str, Any]]] = []
    for rowno, row in enumerate(reader, start=2):  # row 1 is the header
        if None in row:
            errors.append(f"row {rowno}: more cells than headers")
            continue
        values = {mapping[h]: (v or "") for h, v in row.items()}
        if not any(v.strip() for v in values.values()):
            continue  # blank line at the end of a spreadsheet export
        case, label = values.pop("case").strip(), values.pop("device").strip()
        row_errors = []
        if not case:
            row_errors.append("case is empty")
        if not label:
            row_errors.append("device is empty")
        elif label in seen:
            row_errors.append(f"device {label!r} already given on row {seen[label]}")
        elif label in existing and case and existing[label]["case_reference"] != case:
            row_errors.append(f"device {label!r} belongs to case"
                              f" {existing[label]['case_reference']!r}, not {case!r}")
        fields, field_errors = clean_fields(values)
        row_errors += field_errors
        if row_errors:
            errors.append(f"row {rowno} ({label or '?'}): " + "; ".join(row_errors))
            continue
        seen[label] = rowno
        entries.append((case, label, fields))
    if errors:
        raise RegisterError(errors + ["nothing was imported"])
    store.save_register_entries(entries)
    created = sum(1 for _, label, _ in entries
                  if label not in existing or not existing[label]["registered"])
    return ImportResult(rows=len(entries), created=created, updated=len(entries) - created)


def effective_status(row: Mapping[str, Any]) -> str:
    """The register status, moved on by ingest: a device the register still calls 'awaiting'
    is 'ingesting' or 'in review' once the pipeline has started on it."""
    status = row.get("register_status") or "awaiting"
    if status == "awaiting" and row.get("pipeline_status") in ("ingesting", "in review"):
        return row["pipeline_status"]
    return status


def forecast_hours(store: Store, device_id: int, counts: Mapping[str, Any],
                   priority_config: Mapping[str, Any], backlog_config: Mapping[str, Any]
                   ) -> tuple[float, str]:
    """Review hours left on an ingested device, and how the figure was obtained.

    The recorded queue owns the forecast (it knows the clusters that collapse near-duplicates);
    when it cannot be read, unique unseen pictures x seconds per item is the honest fallback.
    """
    try:
        return float(review_hours_left(store, device_id, priority_config)), "queue forecast"
    except StoreError as exc:  # one device's broken state must not hide the whole backlog
        note = f"; queue forecast unavailable: {exc}"
    seconds = seconds_per_item(priority_config)
    return (counts["unseen"] * seconds / 3600.0,
            f"unseen x {seconds}s ({WORKLOAD_SOURCE}){note}")


def register_view(store: Store, priority_config: Mapping[str, Any],
                  backlog_config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every device: register fields, effective status, counts and review-hours forecast."""
    out = []
    per_device = float(backlog_config.get("forecast", {}).get("hours_per_device_not_ingested", 0))
    for row in store.register_rows():
        counts = store.device_counts(row["device_id"])
        status = effective_status(row)
        if status in ("reviewed", "returned"):
            hours, how = 0.0, f"{status}: nothing left"
        elif counts["files"] == 0:
            hours, how = per_device, "estimate: not ingested (config/backlog.toml)"
        else:
            hours, how = forecast_hours(store, row["device_id"], counts, priority_config,
                                        backlog_config)
        item = dict(row)
        for flag in FLAG_FIELDS:
            item[flag] = bool(item[flag]) if item[flag] is not None else None
        item["registered"] = bool(item["registered"])
        item["status"] = status
        item["counts"] = counts
        item["forecast_hours"] = round(hours, 2)
        item["forecast_basis"] = how
        item["measured"] = counts["files"] > 0
        out.append(item)
    return out


def today_from(value: str | date | None) -> date:
    """`--today` / TRIAGE_TODAY for reproducible reports and tests; else the real date."""
    import os

    value = value or os.environ.get("TRIAGE_TODAY")
    if value is None:
        return date.today()
    if isinstance(value, date):
        return value
    return date.fromisoformat(parse_date(value))
