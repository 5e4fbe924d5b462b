"""Hash lists: every format built for real, imported, matched exactly and near."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import by_path, files_json, flip_bits, write
from triage.match.matcher import MatchConfig, nearest_alert
from triage.signals.pdq_index import PdqIndex, brute_range
from triage.demo.synthetic import encode, photo_like


@pytest.fixture
def device(tmp_path: Path, triage) -> dict[str, dict]:
    ev = tmp_path / "ev"
    for i in range(5):
        write(ev, f"p{i}.jpg", encode(photo_like(100 + i, (640, 480)), "JPEG", 90))
    write(ev, "copy/p0-again.jpg", (ev / "p0.jpg").read_bytes())
    write(ev, "mirror.jpg", encode(photo_like(105, (640, 480)).transpose(0), "JPEG", 90))
    write(ev, "rotated.jpg", encode(photo_like(106, (640, 480)).transpose(2), "JPEG", 90))
    write(ev, "notes.txt", b"not a picture\n")
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0")
    return by_path(files_json(triage, "D1"))


def vics_media(f: dict, category, **extra) -> dict:
    return {"MediaID": f["content_id"], "Category": category, "MD5": f["md5"].upper(),
            "SHA1": f["sha1"].upper(), "MediaSize": f["size"], "VictimIdentified": "true",
            "IsPrecategorized": "false", "MediaFiles": [{"FileName": f["path"], "Deleted": "0"}],
            **extra}


def test_vics_both_shapes_bom_strings_nulls_and_categories(tmp_path, triage, device):
    p0, p1, p2 = device["p0.jpg"], device["p1.jpg"], device["p2.jpg"]
    hashset_shape = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [vics_media(p0, 1, AlternativeHashes=[{"HashName": "PhotoDNA",
                                                        "HashValue": "QUJD" * 48}]),
                  vics_media(p1, None)]}
    f13 = tmp_path / "vic13.json"
    f13.write_bytes(b"\xef\xbb\xbf" + json.dumps(hashset_shape).encode())
    case_shape = {
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/"
                          "$metadata#Cases",
        "value": [{"CaseID": "7", "CaseNumber": "UK-1", "TotalMediaFiles": 1,
                   "Media": [vics_media(p2, "B", PhotoDNA="QUJD" * 48)]}]}
    f20 = tmp_path / "caid.json"
    f20.write_text(json.dumps(case_shape))
    out = triage("hashsets", "import", str(f13), "--name", "vic", "--json").output
    assert json.loads(out)["format"] == "vics" and json.loads(out)["entries"] == 2
    triage("hashsets", "import", str(f20), "--name", "caid")
    rows = by_path(files_json(triage, "D1"))
    assert rows["p0.jpg"]["category"] == "1" and rows["p0.jpg"]["match_method"] == "md5"
    assert rows["copy/p0-again.jpg"]["category"] == "1"  # every copy of known bytes
    assert rows["p1.jpg"]["category"] == "uncategorised" and rows["p1.jpg"]["category_raw"] is None
    assert rows["p2.jpg"]["category"] == "B" and rows["p2.jpg"]["category_raw"] == "B"
    assert {m["method"] for m in rows["p2.jpg"]["matches"]} >= {"md5", "sha1"}
    listed = {h["name"]: h for h in map(json.loads, triage("hashsets", "list", "--json")
                                        .output.splitlines())}
    assert listed["caid"]["scheme"] == "uk" and listed["vic"]["scheme"] == "vic-us"
    summary = json.loads(triage("summary", "--device", "D1", "--json").output)
    assert summary["by_category"] == {"1": 2, "B": 1, "uncategorised": 1}


def test_vics_stored_losslessly_incl_photodna(tmp_path, triage, device, workspace):
    p0 = device["p0.jpg"]
    doc = {"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
           "value": [vics_media(p0, "2", PhotoDNA="QUJD" * 48, Series="S-1")]}
    f = tmp_path / "v.json"
    f.write_text(json.dumps(doc))
    triage("hashsets", "import", str(f), "--name", "v", "--scheme", "dhs-legacy")
    store = workspace.open_store()
    try:
        (entry,) = store.iter_list_entries("v")
    finally:
        store.close()
    assert entry["md5"] == p0["md5"] and entry["category_raw"] == "2"
    assert entry["record"]["PhotoDNA"] == "QUJD" * 48 and entry["record"]["Series"] == "S-1"
    assert entry["record"]["VictimIdentified"] is True
    assert entry["record"]["IsPrecategorized"] is False
    assert by_path(files_json(triage, "D1"))["p0.jpg"]["category"] == "2"


def nsrl_v3(path: Path, files: list[dict]) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE FILE(sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT, file_name TEXT,"
        " file_size INTEGER, package_id INTEGER);"
        "CREATE TABLE PKG(package_id INTEGER, name TEXT, version TEXT, operating_system_id"
        " INTEGER, manufacturer_id INTEGER, language TEXT, application_type TEXT);"
        "CREATE TABLE OS(operating_system_id INTEGER, name TEXT, version TEXT,"
        " manufacturer_id INTEGER); CREATE TABLE MFG(manufacturer_id INTEGER, name TEXT);"
        "CREATE TABLE VERSION(version TEXT, build_set TEXT, build_date TEXT, release_date TEXT,"
        " description TEXT);"
        "CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;")
    conn.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)",
                     [(f["sha256"].upper(), f["sha1"].upper(), f["md5"].upper(), "00000000",
                       f["path"], f["size"], 1) for f in files])
    conn.commit()
    conn.close()
    path.chmod(0o444)
    return path


def test_nsrl_and_plain_formats_set_known_good_aside(tmp_path, triage, device):
    p3, p4, txt = device["p3.jpg"], device["p4.jpg"], device["notes.txt"]
    db = nsrl_v3(tmp_path / "RDS.db", [txt])
    triage("hashsets", "import", str(db), "--name", "nsrl", "--kind", "known-good")
    legacy = tmp_path / "NSRLFile.txt"
    legacy.write_text('"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode",'
                      '"OpSystemCode","SpecialCode"\n'
                      f'"{p3["sha1"].upper()}","{p3["md5"].upper()}","0","a.jpg",1,1,"WIN",""\n')
    triage("hashsets", "import", str(legacy), "--name", "nsrl2", "--kind", "known-good")
    hsh = tmp_path / "list.hsh"
    hsh.write_text('"file_id","hashset_id","file_name","directory","hash","file_size",'
                   '"date_modified","time_modified","time_zone","comments","date_accessed",'
                   '"time_accessed"\n'
                   f'1,1,"b.jpg","C:\\x","{p4["md5"]}",1,"","","","","",""\n')
    triage("hashsets", "import", str(hsh), "--name", "hk", "--kind", "reference")
    rows = by_path(files_json(triage, "D1"))
    assert rows["notes.txt"]["match_kind"] == "known-good" and rows["notes.txt"]["known"]
    assert rows["notes.txt"]["match_method"] == "md5" and rows["notes.txt"]["category"] is None
    assert rows["p3.jpg"]["match_kind"] == "known-good"
    assert rows["p4.jpg"]["match_kind"] == "reference"
    summary = json.loads(triage("summary", "--device", "D1", "--json").output)
    assert summary["known_good_files"] == 2
    formats = {h["name"]: h["format"] for h in map(json.loads, triage(
        "hashsets", "list", "--json").output.splitlines())}
    assert formats == {"nsrl": "nsrl", "nsrl2": "nsrl-legacy", "hk": "hashkeeper"}


def test_icse_csv_and_hashlists(tmp_path, triage, device):
    p0, p1, p2 = device["p0.jpg"], device["p1.jpg"], device["p2.jpg"]
    icse = tmp_path / "icse.csv"
    icse.write_text("MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;"
                    "Offender identified;Series name;Number of submissions;File Available;"
                    f"Media Type;Baseline\n{p0['md5']};{p0['sha1']};QUJD;42;true;false;;S;3;"
                    "yes;image;false\n")
    triage("hashsets", "import", str(icse), "--name", "icse")
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{p1['sha256']} *p1.jpg\n")
    triage("hashsets", "import", str(sums), "--name", "sums", "--category", "C",
           "--scheme", "uk")
    csvf = tmp_path / "custom.csv"
    csvf.write_text(f"Hash Value,Cat\n{p2['sha1']},1\n")
    triage("hashsets", "import", str(csvf), "--name", "custom", "--column",
           "sha1=Hash Value", "--column", "category=Cat", "--scheme", "vic-us")
    rows = by_path(files_json(triage, "D1"))
    assert rows["p0.jpg"]["match_kind"] == "alert" and rows["p0.jpg"]["category"] == \
        "uncategorised"
    assert rows["p1.jpg"]["category"] == "C" and rows["p1.jpg"]["match_method"] == "sha256"
    assert rows["p2.jpg"]["category"] == "1" and rows["p2.jpg"]["match_method"] == "sha1"


def test_pdq_near_threshold_dihedral_and_never_categorised(tmp_path, triage, device):
    p0, p1, p2 = device["p0.jpg"]["pdq"], device["p1.jpg"]["pdq"], device["p2.jpg"]["pdq"]
    mirror_src = encode(photo_like(105, (640, 480)), "JPEG", 90)
    rot_src = encode(photo_like(106, (640, 480)), "JPEG", 90)
    from triage.signals.pdq import pdq_hex
    from PIL import Image
    import io
    src_pdq = [pdq_hex(Image.open(io.BytesIO(b)).convert("RGB"))[0] for b in (mirror_src, rot_src)]
    lst = tmp_path / "pdq.txt"
    lst.write_text("\n".join([f"{flip_bits(p0, 31)},1", f"{flip_bits(p1, 32)},1",
                              f"{flip_bits(p2, 10)},2", f"{src_pdq[0]},3", f"{src_pdq[1]},4"]))
    err = triage("hashsets", "import", str(lst), "--name", "x", ok=(1,)).output
    assert "SHA-256 or PDQ" in err  # bare 64-hex lines are ambiguous for auto-detection
    triage("hashsets", "import", str(lst), "--name", "pdq", "--format", "pdq",
           "--scheme", "vic-us")
    rows = by_path(files_json(triage, "D1"))
    assert rows["p0.jpg"]["match_distance"] == 31 and rows["p0.jpg"]["match_method"] == "pdq"
    assert rows["p1.jpg"]["matches"] == []  # 32 bits: not a match
    assert rows["p2.jpg"]["match_distance"] == 10
    for name in ("p0.jpg", "p2.jpg", "mirror.jpg", "rotated.jpg"):
        assert rows[name]["known"] is False and rows[name]["category"] is None  # candidates
        assert all(m["near"] for m in rows[name]["matches"])
    assert rows["mirror.jpg"]["match_method"] == "pdq-dihedral"
    assert rows["rotated.jpg"]["match_method"] == "pdq-dihedral"
    assert rows["mirror.jpg"]["matches"][0]["category_raw"] == "3"
    # nearest_alert: beyond the threshold too, within max_distance.
    from triage.workspace import Workspace
    store = Workspace(tmp_path / "ws").open_store()
    try:
        near = nearest_alert(store, MatchConfig.from_workspace(Workspace(tmp_path / "ws")), [p1, p0, "f" * 64],
                             max_distance=70)
        assert near[p1].distance == 32 and near[p1].hashset == "pdq" and near[p1].category == "1"
        assert near[p0].distance == 31
        assert "f" * 64 not in near or near["f" * 64].distance <= 70
        config = MatchConfig.from_workspace(Workspace(tmp_path / "ws"))
        assert nearest_alert(store, config, [p1], max_distance=31) == {}
    finally:
        store.close()


def test_reimport_replaces_and_malformed_changes_nothing(tmp_path, triage, device):
    p0, p1 = device["p0.jpg"], device["p1.jpg"]
    good = tmp_path / "a.md5"
    good.write_text(f"{p0['md5']}  p0.jpg\n")
    triage("hashsets", "import", str(good), "--name", "L", "--category", "1",
           "--scheme", "vic-us")
    bad = tmp_path / "bad.md5"
    bad.write_text(f"{p1['md5']}  p1.jpg\n" * 3 + "zz-not-hex  x\n")
    err = triage("hashsets", "import", str(bad), "--name", "L", "--format", "hashlist",
                 ok=(1,)).output
    assert "line 4" in err and "not imported" in err
    broken = tmp_path / "broken.json"
    broken.write_text('{"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/'
                      'DataModels/2.0.xml/US/$metadata#Media", "value": [{"MD5": "'
                      + p1["md5"] + '", "Category": 1}, {"MD5": ')
    err = triage("hashsets", "import", str(broken), "--name", "L", ok=(1,)).output
    assert "malformed JSON" in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01hello")
    assert "Expected one of" in triage("hashsets", "import", str(junk), "--name", "J",
                                       ok=(1,)).output
    (lst,) = map(json.loads, triage("hashsets", "list", "--json").output.splitlines())
    assert lst["name"] == "L" and lst["entry_count"] == 1
    rows = by_path(files_json(triage, "D1"))
    assert rows["p0.jpg"]["category"] == "1" and rows["p1.jpg"]["matches"] == []
    assert not list((tmp_path / "ws" / "hashlib").glob(".import-*"))
    newer = tmp_path / "b.md5"
    newer.write_text(f"{p1['md5']}  p1.jpg\n")
    assert "replaced L" in triage("hashsets", "import", str(newer), "--name", "L").output
    rows = by_path(files_json(triage, "D1"))
    assert rows["p0.jpg"]["matches"] == [] and rows["p1.jpg"]["known"] is True
    triage("hashsets", "remove", "L")
    assert by_path(files_json(triage, "D1"))["p1.jpg"]["matches"] == []
    assert "(no lists imported)" in triage("hashsets", "list").output


# The VICS/CSV export round trips live in tests/test_export.py.


def test_index_recall_equals_brute_force():
    rng = np.random.default_rng(3)
    db = rng.integers(0, 2**63, (20_000, 4), dtype=np.uint64)
    base = db[rng.integers(0, len(db), 600)]
    queries = base.copy()
    for i, d in enumerate(rng.integers(0, 41, len(queries))):
        for b in rng.choice(256, d, replace=False):
            queries[i, b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    db[:40] = queries[0]  # one query with many equal neighbours (overflow path)
    index = PdqIndex.build(db, np.zeros((len(db), 2), dtype=np.int64), 31)
    got = index.range_search(queries)
    ids = np.zeros((len(queries), 64), dtype=np.int64)
    dist = np.zeros_like(ids)
    count = np.zeros(len(queries), dtype=np.int64)
    brute_range(queries, db, 31, 64, ids, dist, count)
    for q in range(len(queries)):
        assert sorted(got[q]) == sorted(zip(ids[q, :count[q]].tolist(),
                                            dist[q, :count[q]].tolist()))
    assert sum(count) > 300
