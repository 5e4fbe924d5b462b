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


# The VICS 2.0 field lists (shared REFERENCE.md), written out here so the test does not trust
# the exporter's own copy.
VICS_CASE_FIELDS = {"CaseID", "CaseNumber", "ContactName", "ContactEmail", "ContactPhone",
                    "SourceApplicationName", "SourceApplicationVersion", "TotalMediaFiles",
                    "TotalPrecategorized", "SeizureDate", "Media"}
VICS_MEDIA_FIELDS = {"MediaID", "Category", "MD5", "SHA1", "MediaSize", "DateUpdated",
                     "VictimIdentified", "OffenderIdentified", "IsDistributed", "IsSuspected",
                     "IsPrecategorized", "PrecategorizationSource", "Series", "Tags", "Comments",
                     "RelativeFilePath", "MimeType", "Exifs", "MediaFiles", "PhotoDNA",
                     "AlternativeHashes"}
VICS_MEDIA_FILE_FIELDS = {"MD5", "FileName", "FilePath", "Created", "Written", "Accessed",
                          "Unallocated", "Deleted", "ParentMD5", "PhysicalLocation", "SourceID"}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def iso(ts: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def vics(triage, device: str, *args: str) -> dict:
    return json.loads(triage("export", "--device", device, "--profile", "us", *args).output)


def test_case_id_is_a_guid_kept_per_case(tmp_path, triage, device):
    write(tmp_path / "ev2", "x.jpg", encode(photo_like(130, (320, 240)), "JPEG", 90))
    write(tmp_path / "ev3", "y.jpg", encode(photo_like(131, (320, 240)), "JPEG", 90))
    triage("ingest", str(tmp_path / "ev2"), "--case", "C1", "--device", "D1-B", "--workers",
           "0", "--no-classify")
    triage("ingest", str(tmp_path / "ev3"), "--case", "C2", "--device", "D2", "--workers", "0",
           "--no-classify")
    first = vics(triage, "D1")["value"][0]["CaseID"]
    assert GUID.match(first)
    assert vics(triage, "D1")["value"][0]["CaseID"] == first      # stable across exports
    assert vics(triage, "D1-B")["value"][0]["CaseID"] == first    # one per case
    other = vics(triage, "D2")["value"][0]["CaseID"]
    assert GUID.match(other) and other != first


@pytest.fixture
def dated(tmp_path, triage) -> dict:
    """D1: a folder whose picture has known times; D2: a zip whose member has a stored mtime."""
    import os
    import zipfile
    ev = tmp_path / "dump"
    pic = write(ev, "DCIM/a.jpg", encode(photo_like(140, (320, 240)), "JPEG", 90))
    os.utime(pic, (1_600_000_000, 1_500_000_000))  # atime, mtime on the seized device
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    archive = tmp_path / "phone.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("DCIM/b.jpg", (2021, 6, 1, 12, 0, 0)),
                    encode(photo_like(141, (320, 240)), "JPEG", 90))
    triage("ingest", str(archive), "--case", "C1", "--device", "D2", "--workers", "0",
           "--no-classify")
    return {"member": by_path(files_json(triage, "D2"))["phone.zip!/DCIM/b.jpg"]}


def test_only_vics_fields_are_written(triage, dated):
    for dev in ("D1", "D2"):
        for shape in ("case", "hashset"):
            doc = vics(triage, dev, "--shape", shape) if shape != "case" else vics(triage, dev)
            assert set(doc) == {"@odata.context", "value"}
            media = doc["value"][0]["Media"] if shape == "case" else doc["value"]
            if shape == "case":
                assert set(doc["value"][0]) <= VICS_CASE_FIELDS
                assert "DeviceLabel" not in doc["value"][0]
            for m in media:
                assert set(m) <= VICS_MEDIA_FIELDS
                for mf in m["MediaFiles"]:
                    assert set(mf) <= VICS_MEDIA_FILE_FIELDS


def test_times_are_the_evidences_own_never_the_lab_copys_ctime(triage, dated):
    (mf,) = vics(triage, "D1")["value"][0]["Media"][0]["MediaFiles"]
    assert mf["Written"] == iso(1_500_000_000) and mf["Accessed"] == iso(1_600_000_000)
    assert mf["Created"] is None  # POSIX keeps no creation time; ctime is the lab copy's
    (mf,) = vics(triage, "D2")["value"][0]["Media"][0]["MediaFiles"]
    assert mf["Written"] == iso(dated["member"]["mtime"])
    assert mf["Written"].startswith("2021-06-0")
    assert mf["Accessed"] is None and mf["Created"] is None  # a zip stores only the mtime


def test_archive_member_paths_do_not_repeat_the_archive_name(triage, dated):
    (mf,) = vics(triage, "D1")["value"][0]["Media"][0]["MediaFiles"]
    assert mf["FilePath"] == "dump/DCIM/a.jpg" and mf["FileName"] == "a.jpg"
    (mf,) = vics(triage, "D2")["value"][0]["Media"][0]["MediaFiles"]
    assert mf["FilePath"] == "phone.zip!/DCIM/b.jpg" and mf["FileName"] == "b.jpg"


def test_is_precategorized_only_with_a_category(tmp_path, triage, device):
    p0, p1 = device["p0.jpg"], device["p1.jpg"]
    plain = tmp_path / "plain.md5"
    plain.write_text(f"{p0['md5']}  p0.jpg\n")                 # a list without categories
    triage("hashsets", "import", str(plain), "--name", "plain")
    graded = tmp_path / "graded.md5"
    graded.write_text(f"{p1['md5']}  p1.jpg\n")
    triage("hashsets", "import", str(graded), "--name", "graded", "--category", "2",
           "--scheme", "vic-us")
    case = vics(triage, "D1")["value"][0]
    media = {m["MD5"].lower(): m for m in case["Media"]}
    assert (media[p0["md5"]]["Category"], media[p0["md5"]]["IsPrecategorized"]) == (None, False)
    assert (media[p1["md5"]]["Category"], media[p1["md5"]]["IsPrecategorized"]) == (2, True)
    assert case["TotalPrecategorized"] == 1


def test_hash_set_shape_for_iped_and_both_shapes_round_trip(tmp_path, triage, device,
                                                            workspace):
    p = {k: device[f"p{k}.jpg"] for k in range(3)}
    lst = tmp_path / "l.md5"
    lst.write_text(f"{p[0]['md5']}  p0.jpg\n")
    triage("hashsets", "import", str(lst), "--name", "L", "--category", "1", "--scheme",
           "vic-us")
    out = {}
    for shape in ("case", "hashset"):
        out[shape] = tmp_path / f"{shape}.json"
        msg = triage("export", "--device", "D1", "--profile", "us", "--shape", shape, "-o",
                     str(out[shape])).output
        assert f"{shape} shape" in msg
    hs = json.loads(out["hashset"].read_text())
    assert hs["@odata.context"].endswith("/2.0.xml/US/$metadata#Media")
    assert isinstance(hs["value"], list) and all("MD5" in m and "Media" not in m
                                                 for m in hs["value"])
    case_media = json.loads(out["case"].read_text())["value"][0]["Media"]
    assert hs["value"] == case_media  # the same records, only the envelope differs
    for shape, path in out.items():
        listed = json.loads(triage("hashsets", "import", str(path), "--name", f"back-{shape}",
                                   "--kind", "reference", "--json").output)
        assert listed["entries"] == len(case_media) and listed["scheme"] == "vic-us"
        assert_lossless(case_media, entries_of(workspace, f"back-{shape}"))
    assert entries_of(workspace, "back-case") == entries_of(workspace, "back-hashset")
    err = triage("export", "--device", "D1", "--format", "csv", "--shape", "hashset",
                 ok=(2,)).output
    assert "--shape applies to --format vics only" in err


def test_csv_export_neutralises_formula_cells(tmp_path, triage):
    ev = tmp_path / "ev"
    names = ["=cmd|'calc'!A0.jpg", "+1.jpg", "-2.jpg", "@SUM(A1).jpg",
             "\tt.jpg", "\rr.jpg", "plain.jpg"]
    for i, name in enumerate(names):
        write(ev, name, encode(photo_like(150 + i, (160, 120)), "JPEG", 90))
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    text = triage("export", "--device", "D1", "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    paths = sorted(r["path"] for r in rows)
    assert paths == sorted("'" + n if n[0] in "=+-@\t\r" else n for n in names)
    assert all(not r["path"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows)
    assert {r["size"] for r in rows} and all(r["size"].isdigit() for r in rows)
