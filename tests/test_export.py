"""Export for submission: list categories and reviewers' decisions, US and UK VICS profiles, CSV.

Every test ingests generated pictures, categorises some through a hash list and some through
reviewers (the review web app or the store it writes to), exports through the CLI and reads
the export back with the importer.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import by_path, files_json, write
from tests.web_support import FakeClock, build_lab, content_id_of, login
from triage.cli.main import cli
from triage.demo.synthetic import encode, photo_like

NOW = "2026-05-04T09:00:00.000+00:00"
OLD_CSV_FIELDS = ["path", "source", "md5", "sha1", "sha256", "size", "media_kind", "known",
                  "match_kind", "category", "category_raw", "match_method", "match_distance",
                  "hashsets"]


@pytest.fixture
def device(tmp_path: Path, triage) -> dict[str, dict]:
    ev = tmp_path / "ev"
    for i in range(5):
        write(ev, f"p{i}.jpg", encode(photo_like(100 + i, (320, 240)), "JPEG", 90))
    write(ev, "copy/p0-again.jpg", (ev / "p0.jpg").read_bytes())
    write(ev, "copy/p1-again.jpg", (ev / "p1.jpg").read_bytes())
    write(ev, "notes.txt", b"not a picture\n")
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    return by_path(files_json(triage, "D1"))


def entries_of(workspace, name: str) -> list[dict]:
    store = workspace.open_store()
    try:
        return list(store.iter_list_entries(name))
    finally:
        store.close()


def assert_lossless(media: list[dict], entries: list[dict]) -> None:
    assert len(entries) == len(media)
    for m, e in zip(media, entries):
        assert e["md5"] == m["MD5"].lower() and e["sha1"] == m["SHA1"].lower()
        assert e["category_raw"] == (None if m["Category"] is None else str(m["Category"]))
        assert e["record"] == {k: v for k, v in m.items() if k not in ("MD5", "SHA1", "Category")}


def set_review_scheme(workspace, name: str) -> None:
    path = workspace.config_dir / "review.toml"
    text = path.read_text()
    path.write_text(re.sub(r'(?m)^name = "\w+"', f'name = "{name}"', text, count=1))


def set_uk_codes(workspace, codes: str) -> None:
    """Fill in [schemes.uk] map as a lab would from its CAID documentation (test codes)."""
    path = workspace.config_dir / "categories.toml"
    text = path.read_text()
    new = re.sub(r'(?m)^(map = \{ "A" = "A", )', r"\g<1>" + codes + ", ", text, count=1)
    assert new != text
    path.write_text(new)


def test_us_export_carries_list_categories_and_current_review_decisions(
        tmp_path, triage, device, workspace):
    p = {k: device[f"p{k}.jpg"] for k in range(5)}
    lst = tmp_path / "a.md5"
    lst.write_text(f"{p[0]['md5']}  p0.jpg\n")
    triage("hashsets", "import", str(lst), "--name", "L", "--category", "1",
           "--scheme", "vic-us")
    set_review_scheme(workspace, "vic")
    store = workspace.open_store()
    try:
        dev = store.device("D1")["id"]
        uid = store.add_user("rev1", "reviewer", "x", NOW)

        def decide(i: int, cat: str, at: str) -> None:
            store.decide(dev, p[i]["content_id"], uid, "vic", cat, f"2026-05-04T09:00:{at}")
        decide(1, "2", "01")
        decide(3, "4", "02")
        decide(2, "3", "03")
        store.undo_last_decision(dev, uid, "2026-05-04T09:00:04")  # takes back p2 only
        decide(4, "1", "05")
        store.undo_last_decision(dev, uid, "2026-05-04T09:00:06")
        decide(4, "2", "07")                                        # the current one counts
        decide(0, "3", "08")  # a list category is never overridden by a decision
    finally:
        store.close()
    out = tmp_path / "export.json"
    # Default profile follows config/review.toml: scheme "vic" -> US.
    msg = triage("export", "--device", "D1", "--format", "vics", "-o", str(out)).output
    assert "US profile" in msg
    doc = json.loads(out.read_text())
    assert doc["@odata.context"].endswith("/2.0.xml/US/$metadata#Cases")
    case = doc["value"][0]
    media = {m["MD5"].lower(): m for m in case["Media"]}
    got = {i: (media[p[i]["md5"]]["Category"], media[p[i]["md5"]]["IsPrecategorized"])
           for i in range(5)}
    assert got == {0: (1, True), 1: (2, False), 2: (None, False), 3: (4, False), 4: (2, False)}
    assert case["TotalPrecategorized"] == 1 and case["TotalMediaFiles"] == 7
    assert case["CaseNumber"] == "C1" and "DeviceLabel" not in case
    assert len(media[p[1]["md5"]]["MediaFiles"]) == 2
    # The importer reads it back without loss.
    triage("hashsets", "import", str(out), "--name", "back", "--kind", "reference")
    assert_lossless(case["Media"], entries_of(workspace, "back"))
    listed = {h["name"]: h for h in map(json.loads, triage("hashsets", "list", "--json")
                                        .output.splitlines())}
    assert listed["back"]["scheme"] == "vic-us"
    # CSV: the old columns first, then where the category came from and when it was decided.
    rows = list(csv.DictReader(io.StringIO(
        triage("export", "--device", "D1", "--format", "csv").output)))
    assert list(rows[0])[:len(OLD_CSV_FIELDS)] == OLD_CSV_FIELDS
    assert list(rows[0])[len(OLD_CSV_FIELDS):] == ["category_source", "decided_at", "decided_by"]
    byp = {r["path"]: r for r in rows}
    assert (byp["p0.jpg"]["category"], byp["p0.jpg"]["category_source"],
            byp["p0.jpg"]["decided_at"]) == ("1", "list", "")
    for path in ("p1.jpg", "copy/p1-again.jpg"):
        assert (byp[path]["category"], byp[path]["category_source"], byp[path]["decided_at"],
                byp[path]["decided_by"]) == ("2", "review", "2026-05-04T09:00:01", "rev1")
    assert byp["p2.jpg"]["category"] == "" and byp["p2.jpg"]["category_source"] == ""
    assert byp["p4.jpg"]["decided_at"] == "2026-05-04T09:00:07"
    assert byp["notes.txt"]["category_source"] == ""


def test_uk_export_needs_the_labs_caid_codes_and_round_trips_the_letters(tmp_path):
    lab = build_lab(tmp_path)  # review scheme "uk" (the default), reviewer rev1 on case C1
    clock = FakeClock()
    from triage.web import create_app
    client = create_app(lab.ws, clock=clock, testing=True).test_client()
    token = login(client, "rev1")

    def decide(path: str, category: str) -> None:
        cid = content_id_of(lab.ws, "D1", path)
        r = client.post("/api/decide", json={"device_id": lab.d1, "content_id": cid,
                                             "category": category},
                        headers={"X-CSRFToken": token})
        assert r.status_code == 200, r.get_data(as_text=True)
        clock.advance(3)

    decide("DCIM/a.jpg", "A")          # and its copy WhatsApp/Sent/a-copy.jpg
    decide("DCIM/p103.jpg", "B")
    decide("DCIM/p104.jpg", "uncertain")
    decide("DCIM/p102.jpg", "C")
    assert client.post("/api/undo", json={"device_id": lab.d1},
                       headers={"X-CSRFToken": token}).status_code == 200  # p102 undone
    runner = CliRunner()

    def triage(*args: str, ok: int = 0):
        r = runner.invoke(cli, ["-w", str(lab.ws.root), *args])
        assert r.exit_code == ok, r.output
        return r

    # No codes filled in: a clear refusal naming the file and key, and nothing written.
    out = tmp_path / "caid.json"
    for extra in ((), ("--profile", "uk")):
        err = triage("export", "--device", "D1", "-o", str(out), *extra, ok=1).output
        assert "no CAID numeric code is configured for category A, B" in err
        assert str(lab.ws.config_dir / "categories.toml") in err and "[schemes.uk]" in err
        assert not out.exists() and not list(tmp_path.glob("*.part"))
    stdout = triage("export", "--device", "D1", "--profile", "uk", ok=1).output
    assert "@odata.context" not in stdout  # not half a file on standard output either
    # The US profile has no number for a UK letter: it goes out as not categorised.
    us = json.loads(triage("export", "--device", "D1", "--profile", "us").output)
    assert {m["Category"] for m in us["value"][0]["Media"]} == {None}
    set_uk_codes(lab.ws, '"11" = "A", "12" = "A"')
    err = triage("export", "--device", "D1", "-o", str(out), ok=1).output
    assert "category A has several codes (11, 12)" in err and not out.exists()
    # The lab's codes (made up for the test: the real ones come from CAID's documentation).
    path = lab.ws.config_dir / "categories.toml"
    path.write_text(path.read_text().replace('"11" = "A", "12" = "A", ', ""))
    set_uk_codes(lab.ws, '"71" = "A", "72" = "B", "73" = "C"')
    msg = triage("export", "--device", "D1", "-o", str(out)).output
    assert "UK profile" in msg
    doc = json.loads(out.read_text())
    assert doc["@odata.context"].endswith("/2.0.xml/UK/$metadata#Cases")
    case = doc["value"][0]
    by_file = {mf["FileName"]: m for m in case["Media"] for mf in m["MediaFiles"]}
    assert by_file["a.jpg"]["Category"] == by_file["a-copy.jpg"]["Category"] == 71
    assert by_file["p103.jpg"]["Category"] == 72
    assert by_file["p104.jpg"]["Category"] is None  # uncertain is not a category to submit
    assert by_file["p102.jpg"]["Category"] is None  # the decision was undone
    assert not any(m["IsPrecategorized"] for m in case["Media"])
    # Read back: the context names UK, so the importer takes scheme uk and the same letters.
    listed = json.loads(triage("hashsets", "import", str(out), "--name", "caid-back",
                               "--json").output)
    assert listed["scheme"] == "uk" and listed["unmapped_categories"] == {}
    files = {r["path"]: r for r in map(json.loads, triage(
        "files", "--device", "D1", "--json").output.splitlines())}
    assert files["DCIM/a.jpg"]["category"] == files["WhatsApp/Sent/a-copy.jpg"]["category"] == "A"
    assert files["DCIM/p103.jpg"]["category"] == "B"
    assert files["DCIM/p104.jpg"]["category"] == "uncategorised"
    assert_lossless(case["Media"], entries_of(lab.ws, "caid-back"))
    # Now the list categorises them: exported again they are precategorised, same codes.
    again = json.loads(triage("export", "--device", "D1", "--profile", "uk").output)
    by_md5 = {m["MD5"]: m for m in again["value"][0]["Media"]}
    for m in case["Media"]:
        assert by_md5[m["MD5"]]["Category"] == m["Category"]
        # Precategorised only with a category: p104's list entry has none.
        assert by_md5[m["MD5"]]["IsPrecategorized"] is (m["Category"] is not None)
