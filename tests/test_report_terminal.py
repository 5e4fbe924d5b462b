"""Output for people escapes control characters from evidence-derived text (file names, EXIF,
list fields): a name cannot move the cursor, clear or retitle the terminal, or reorder what is
shown. JSON output stays exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import files_json, write
from triage.cli.base import printable
from triage.demo.synthetic import camera_exif, encode, photo_like

# OSC "set window title" ended by BEL, "clear screen", an 8-bit CSI, a right-to-left override.
HOSTILE_NAME = "\x1b]0;owned\x07\x1b[2Jcat\x9b5m\u202egpj.exe.jpg"
HOSTILE_MAKE = "Canon\x1b[1A\x1b[K"
ACTING = ("\x1b", "\x07", "\x9b", "\u202e", "\r", "\x08")


def assert_inert(text: str) -> None:
    assert not any(ch in text for ch in ACTING), repr(text)


@pytest.fixture
def device(tmp_path: Path, triage) -> Path:
    ev = tmp_path / "ev"
    exif = camera_exif(601)
    exif[0x010F] = HOSTILE_MAKE
    write(ev, HOSTILE_NAME, encode(photo_like(601, (320, 240)), "JPEG", 90, exif))
    write(ev, "plain.jpg", encode(photo_like(602, (320, 240)), "JPEG", 90))
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    return ev


def test_tables_and_lines_escape_evidence_text_json_stays_exact(tmp_path, triage, device):
    # JSON: the exact name and EXIF, as stored.
    rows = {r["path"]: r for r in files_json(triage, "D1")}
    assert HOSTILE_NAME in rows and rows[HOSTILE_NAME]["exif_make"] == HOSTILE_MAKE
    report = json.loads(triage("report", "--device", "D1", "--json").output)
    assert any(HOSTILE_MAKE in cam for cam in report["first_generation"]["cameras"])
    # A table (files), an object (report, its cameras keyed by EXIF), plain lines (queue).
    table = triage("files", "--device", "D1").output
    assert_inert(table)
    assert "\\x1b]0;owned\\x07\\x1b[2Jcat\\x9b5m\\u202egpj" in table
    text = triage("report", "--device", "D1").output
    assert_inert(text)
    assert "Canon\\x1b[1A\\x1b[K" in text
    queue = triage("queue", "--device", "D1").output
    assert_inert(queue)
    assert "\\x1b]0;owned" in queue and "plain.jpg" in queue


def test_list_fields_in_the_import_report_are_escaped(tmp_path, triage, device):
    md5 = files_json(triage, "D1")[0]["md5"]
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
                             "US/$metadata#Media",
           "value": [{"MediaID": 1, "Category": "9\x1b[2J\x07", "MD5": md5}]}
    lst = tmp_path / "v.json"
    lst.write_text(json.dumps(doc))
    out = triage("hashsets", "import", str(lst), "--name", "v").output
    assert_inert(out)
    assert "9\\x1b[2J\\x07 (1)" in out
    listed = json.loads(triage("hashsets", "import", str(lst), "--name", "v", "--json").output)
    assert listed["unmapped_categories"] == {"9\x1b[2J\x07": 1}


def test_printable_escapes_only_what_acts():
    assert printable("DCIM/Ünïcødé 写真 😀.jpg") == "DCIM/Ünïcødé 写真 😀.jpg"
    assert printable("a\tb\nc\x7f") == "a\\x09b\\x0ac\\x7f"
    assert printable("a\nb", newlines=True) == "a\nb"
    assert printable("\udcff.jpg") == "\\xff.jpg"  # an undecodable byte of a name
    assert printable("x\u2066y\u2069\u200f") == "x\\u2066y\\u2069\\u200f"
