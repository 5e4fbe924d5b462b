"""The device report's files: never replacing a file triage report did not write, and a CSV
schedule a spreadsheet opens as data."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import jpeg, write
from triage.demo.synthetic import camera_exif, encode, photo_like

FORMULA = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def device(tmp_path: Path, triage) -> None:
    ev = tmp_path / "ev"
    write(ev, "a.jpg", jpeg(501, (320, 240), exif=True))
    write(ev, "=HYPERLINK(x).jpg", jpeg(502, (320, 240)))
    exif = camera_exif(503)
    exif[0x010F] = "=cmd|'calc'!A0"   # EXIF Make
    exif[0x0110] = "@SUM(1)"          # EXIF Model
    write(ev, "-1+2.jpg", encode(photo_like(503, (320, 240)), "JPEG", 90, exif))
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")


def test_report_never_overwrites_a_file_it_did_not_write(tmp_path, triage, device):
    out = tmp_path / "out"
    out.mkdir()
    export = out / "exh.csv"
    triage("export", "--device", "D1", "--format", "csv", "-o", str(export))
    saved = export.read_bytes()
    html = out / "exh.html"
    err = triage("report", "--device", "D1", "--html", str(html), ok=(1,)).output
    assert f"not overwriting {export}" in err and "--force" in err
    assert "Nothing was written" in err
    assert export.read_bytes() == saved and not html.exists()  # neither file touched
    assert sorted(p.name for p in out.iterdir()) == ["exh.csv"]
    # Its own files it replaces (a report is run again as review goes on) ...
    mine = out / "mine.html"
    triage("report", "--device", "D1", "--html", str(mine))
    triage("report", "--device", "D1", "--html", str(mine))
    # ... unless someone changed one since.
    edited = mine.with_suffix(".csv")
    edited.write_text(edited.read_text() + "a note the investigator added\n")
    err = triage("report", "--device", "D1", "--html", str(mine), ok=(1,)).output
    assert f"not overwriting {edited}" in err
    assert edited.read_text().endswith("a note the investigator added\n")
    # --force is the user saying so.
    triage("report", "--device", "D1", "--html", str(html), "--force")
    assert export.read_bytes() != saved and html.is_file()
    # The HTML may not take the schedule's name.
    err = triage("report", "--device", "D1", "--html", str(out / "x.csv"), ok=(1,)).output
    assert "same file" in err


def test_report_schedule_neutralises_formula_cells(tmp_path, triage, device):
    html = tmp_path / "r.html"
    triage("report", "--device", "D1", "--html", str(html))
    rows = list(csv.DictReader(io.StringIO(html.with_suffix(".csv").read_text(), newline="")))
    assert sorted(r["path"] for r in rows) == ["'-1+2.jpg", "'=HYPERLINK(x).jpg", "a.jpg"]
    (odd,) = [r for r in rows if r["path"] == "'-1+2.jpg"]
    assert (odd["exif_make"], odd["exif_model"]) == ("'=cmd|'calc'!A0", "'@SUM(1)")
    for r in rows:
        assert not any(v.startswith(FORMULA) for v in r.values())
