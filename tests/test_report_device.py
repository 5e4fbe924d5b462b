"""Per-device report: every figure equals the database's, the CSV schedule agrees, thumbnails
only when asked and then blurred and greyscale."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageOps, ImageStat

from tests.backlog_fixtures import (add_decision, add_exposure, add_list, add_user, content_ids,
                                    ingest_pictures)
from triage import __version__


@pytest.fixture
def device_data(triage, workspace, tmp_path: Path) -> dict:
    ingest_pictures(workspace, tmp_path / "dump", "OP-R", "EXH-R", 9, seed=50)
    triage("devices", "update", "EXH-R", "--risk", "H", "--type", "phone")
    store = workspace.open_store()
    try:
        ids = content_ids(store, "EXH-R")
        add_list(store, "caid-2026-01", "alert", {ids[0]: "A", ids[1]: "C"})
        add_list(store, "nsrl-3.1", "known-good", {ids[2]: None})
        rev = add_user(store, "reviewer.one")
        add_decision(store, rev, "EXH-R", ids[3], "B")
        add_decision(store, rev, "EXH-R", ids[4], "C")
        add_decision(store, rev, "EXH-R", ids[5], "A", undone=True)  # undone: not counted
        add_exposure(store, rev, "EXH-R", ids[3], 30.0)
        add_exposure(store, rev, "EXH-R", ids[4], 60.0, mode="revealed")
        c = store.conn
        dev_id = store.device("EXH-R")["id"]
        db = {
            "files": c.execute("SELECT COUNT(*) FROM files WHERE device_id=?", (dev_id,)).fetchone()[0],
            "unique_images": c.execute(
                "SELECT COUNT(DISTINCT f.content_id) FROM files f JOIN contents ct"
                " ON ct.id=f.content_id WHERE f.device_id=? AND ct.media_kind = 'image'",
                (dev_id,)).fetchone()[0],
            "duplicate_files": c.execute(
                "SELECT COUNT(content_id) - COUNT(DISTINCT content_id) FROM files"
                " WHERE device_id=?", (dev_id,)).fetchone()[0],
            "first_gen": c.execute(
                "SELECT COUNT(DISTINCT f.content_id) FROM files f JOIN contents ct"
                " ON ct.id=f.content_id WHERE f.device_id=? AND ct.exif_make IS NOT NULL",
                (dev_id,)).fetchone()[0],
        }
    finally:
        store.close()
    triage("files", "--device", "EXH-R")  # an audited command naming the device
    return db


def test_report_json_counts_equal_the_database(triage, device_data):
    r = json.loads(triage("report", "--device", "EXH-R", "--json").output)
    assert r["device"] == "EXH-R" and r["case"] == "OP-R" and r["tool_version"] == __version__
    assert r["files"] == device_data["files"] == 12
    assert r["unique_images"] == device_data["unique_images"] == 9
    assert r["duplicates"]["duplicate_files"] == device_data["duplicate_files"] == 2
    assert r["duplicates"]["images_with_copies"] == 2
    assert r["first_generation"]["candidates"] == device_data["first_gen"] == 3
    assert r["categories"] == [
        {"category": "A", "scheme": "UK", "known": 1, "reviewed": 0, "total": 1},
        {"category": "B", "scheme": "UK", "known": 0, "reviewed": 1, "total": 1},
        {"category": "C", "scheme": "UK", "known": 1, "reviewed": 1, "total": 2}]
    assert r["categorised"] == {"known": 2, "reviewed": 2, "known_good": 1, "not_categorised": 4}
    assert r["reviewers"] == [{"reviewer": "reviewer.one", "views": 2, "revealed": 1,
                               "hours": round(90 / 3600, 2), "first": "2026-03-02T10:00:00",
                               "last": "2026-03-02T10:01:00", "decisions": 2}]
    lists = {entry["name"]: (entry["kind"], entry["hits"]) for entry in r["lists"]}
    assert lists == {"caid-2026-01": ("alert", 2), "nsrl-3.1": ("known-good", 1)}
    assert r["audit"]["commands"].get("files") == 1
    assert r["audit"]["commands"].get("devices update") == 1
    assert [run["state"] for run in r["ingest_runs"]] == ["completed"]


def test_html_and_csv_schedule_agree(triage, device_data, tmp_path: Path):
    html_file = tmp_path / "out" / "exh-r.html"
    html_file.parent.mkdir()
    out = triage("report", "--device", "EXH-R", "--html", str(html_file)).output
    csv_file = html_file.with_suffix(".csv")
    assert f"wrote {html_file} and {csv_file}" in out
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert len(rows) == device_data["unique_images"]
    assert sum(int(r["copies"]) for r in rows) == device_data["files"] - 1  # all but the .txt
    cats = {}
    for r in rows:
        cats.setdefault((r["category"], r["category_source"]), 0)
        cats[(r["category"], r["category_source"])] += 1
    assert cats == {("A", "known"): 1, ("C", "known"): 1, ("B", "reviewed"): 1,
                    ("C", "reviewed"): 1, ("", "known-good"): 1, ("", "not categorised"): 4}
    assert sum(r["first_generation_candidate"] == "yes" for r in rows) == device_data["first_gen"]
    known = next(r for r in rows if r["category"] == "A")
    assert known["known_lists"] == "caid-2026-01" and len(known["sha256"]) == 64
    html = html_file.read_text()
    assert "<img" not in html and "No thumbnails" in html
    assert html.count("<svg") == 1 and "Pictures per category" in html
    assert "caid-2026-01" in html and "reviewer.one" in html and "@media print" in html


def test_thumbnails_only_when_asked_and_blurred_greyscale(triage, device_data, workspace,
                                                          tmp_path: Path):
    html_file = tmp_path / "t.html"
    assert "needs --html" in triage("report", "--device", "EXH-R", "--with-thumbnails",
                                    ok=(2,)).output
    out = triage("report", "--device", "EXH-R", "--html", str(html_file), "--with-thumbnails")
    rows = list(csv.DictReader(io.StringIO(html_file.with_suffix(".csv").read_text())))
    listed = [r for r in rows if r["category"] or r["first_generation_candidate"] == "yes"]
    html = html_file.read_text()
    shown = re.findall(r'src="data:image/jpeg;base64,([^"]+)">.*?<code>([0-9a-f]{64})</code>',
                       html)
    assert f"({len(listed)} blurred thumbnails)" in out.output
    assert len(shown) == len(listed) == 5  # 4 categorised + IMG_006 (camera, not categorised)
    assert {sha for _, sha in shown} == {r["sha256"] for r in listed}
    store = workspace.open_store()
    try:
        derivatives = dict(store.conn.execute("SELECT sha256, derivative FROM contents"))
    finally:
        store.close()
    for data, sha in shown:
        thumb = Image.open(io.BytesIO(base64.b64decode(data)))
        assert thumb.mode == "L" and max(thumb.size) <= 96  # greyscale and small
        sharp = ImageOps.grayscale(Image.open(workspace.derivative_dir / derivatives[sha]))
        sharp = sharp.resize(thumb.size)
        assert _edges(thumb) < 0.5 * _edges(sharp)  # blurred: most detail gone


def _edges(img: Image.Image) -> float:
    """Mean edge strength away from the border (FIND_EDGES pads the border)."""
    e = img.filter(ImageFilter.FIND_EDGES)
    return ImageStat.Stat(e.crop((3, 3, e.width - 3, e.height - 3))).mean[0]
