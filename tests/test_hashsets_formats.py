"""List layouts met in real tools: Meta's pdq-photo-hasher output, vPDQ per-frame files, and
lists that hold the hashes of empty content."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import by_path, files_json, flip_bits, jpeg, write

VPDQ_SAMPLES = Path(__file__).resolve().parents[2] / "shared/conformance/vpdq/sample-hashes"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture
def device(tmp_path: Path, triage) -> dict[str, dict]:
    ev = tmp_path / "ev"
    write(ev, "DCIM/p1.jpg", jpeg(100))
    write(ev, "DCIM/p2.jpg", jpeg(103))
    write(ev, "empty.jpg", b"")
    write(ev, "notes/empty.txt", b"")
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    rows = by_path(files_json(triage, "D1"))
    assert all(rows[p]["pdq_quality"] >= 50 for p in ("DCIM/p1.jpg", "DCIM/p2.jpg"))
    return rows


def lists(triage) -> dict[str, dict]:
    return {h["name"]: h for h in map(json.loads, triage("hashsets", "list", "--json")
                                      .output.splitlines())}


def entries(workspace, name: str) -> list[dict]:
    store = workspace.open_store()
    try:
        return list(store.iter_list_entries(name))
    finally:
        store.close()


def test_pdq_photo_hasher_output_imports_as_pdq_with_quality(tmp_path, triage, device,
                                                             workspace):
    p1, p2 = device["DCIM/p1.jpg"], device["DCIM/p2.jpg"]
    near = flip_bits(p2["pdq"], 12)
    # `pdq-photo-hasher a.jpg ...` prints hash,quality,filename; names are printed raw.
    out = tmp_path / "hashes.txt"
    out.write_text(f"{p1['pdq']},{p1['pdq_quality']},/cases/in/p1.jpg\n"
                   f"{near},93,/cases/in/odd, name.jpg\n")
    report = json.loads(triage("hashsets", "import", str(out), "--name", "meta",
                               "--json").output)
    assert report["format"] == "pdq" and report["entries"] == 2 and report["with_pdq"] == 2
    got = entries(workspace, "meta")
    assert [(e["pdq"], e["pdq_quality"], e["name"], e["category_raw"]) for e in got] == [
        (p1["pdq"], p1["pdq_quality"], "/cases/in/p1.jpg", None),
        (near, 93, "/cases/in/odd, name.jpg", None)]
    rows = by_path(files_json(triage, "D1"))
    assert rows["DCIM/p1.jpg"]["match_method"] == "pdq"
    assert rows["DCIM/p1.jpg"]["match_distance"] == 0
    assert rows["DCIM/p2.jpg"]["match_distance"] == 12 and not rows["DCIM/p2.jpg"]["known"]
    # Older builds print hash,filename.
    old = tmp_path / "old.txt"
    old.write_text(f"{p1['pdq']},../data/p1.jpg\n{near},b.png\n")
    triage("hashsets", "import", str(old), "--name", "meta-old")
    assert [(e["pdq_quality"], e["name"]) for e in entries(workspace, "meta-old")] == [
        (None, "../data/p1.jpg"), (None, "b.png")]
    assert lists(triage)["meta-old"]["format"] == "pdq"
    # A damaged line is named, and nothing changes.
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{p1['pdq']},100,a.jpg\n{p1['pdq']},abc,b.jpg\n")
    err = triage("hashsets", "import", str(bad), "--name", "meta", ok=(1,)).output
    assert "line 2" in err and "pdq-photo-hasher" in err
    assert [e["name"] for e in entries(workspace, "meta")][0] == "/cases/in/p1.jpg"


def vpdq_sample(tmp_path: Path, which: str) -> Path:
    """Meta's real per-frame file (vpdq/sample-hashes), or one written here in its layout."""
    if which == "written":
        out = tmp_path / "frames.txt"
        out.write_text("".join(f"{i},{100 - i},{flip_bits('e2' * 32, i)},{i / 30:.3f}\n"
                               for i in range(40)))
        return out
    sample = VPDQ_SAMPLES / "chair-19-sd-bar.txt"
    if not sample.is_file():
        message = f"vPDQ conformance sample missing: {sample}"
        if os.environ.get("TRIAGE_CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sample


@pytest.mark.parametrize("which", ["meta", "written"])
def test_a_vpdq_file_is_named_not_misread(which, tmp_path, triage, device):
    """Forced through the picture PDQ format, a vPDQ file is refused naming its own format."""
    sample = vpdq_sample(tmp_path, which)
    err = triage("hashsets", "import", str(sample), "--name", "video", "--format", "pdq",
                 ok=(1,)).output
    assert "vPDQ" in err and "per-frame video hashes" in err and "--format vpdq" in err
    assert "header" not in err.lower() and "not 64 hex" not in err
    assert "video" not in lists(triage)


@pytest.mark.parametrize("which", ["meta", "written"])
def test_a_vpdq_file_is_imported_as_one_known_video(which, tmp_path, triage, device):
    sample = vpdq_sample(tmp_path, which)
    out = triage("hashsets", "import", str(sample), "--name", "video").output
    assert "1 entries" in out
    assert "video" in lists(triage)
    row = json.loads(triage("hashsets", "list", "--json").output.splitlines()[0])
    assert row["format"] == "vpdq" and row["entry_count"] == 1


def test_hashes_of_empty_content_never_make_a_file_known(tmp_path, triage, device, workspace):
    p1 = device["DCIM/p1.jpg"]
    md5sum = tmp_path / "national.md5"
    md5sum.write_text(f"{EMPTY_MD5}  empty.jpg\n{p1['md5']}  p1.jpg\n{EMPTY_MD5.upper()}  x\n")
    out = triage("hashsets", "import", str(md5sum), "--name", "national", "--category", "A",
                 "--scheme", "uk").output
    assert "1 entries" in out and "skipped 2 entries holding the hash of empty content" in out
    vics = tmp_path / "v.json"
    vics.write_text(json.dumps({
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
        "value": [{"MediaID": 1, "Category": 1, "MD5": EMPTY_MD5.upper(),
                   "SHA1": EMPTY_SHA1.upper(), "MediaSize": 0},
                  {"MediaID": 2, "Category": 1, "MD5": EMPTY_MD5, "SHA1": p1["sha1"]}]}))
    report = json.loads(triage("hashsets", "import", str(vics), "--name", "vic",
                               "--json").output)
    assert report["entries"] == 1 and report["empty_content_skipped"] == 2
    (kept,) = entries(workspace, "vic")  # the entry keeps its real SHA-1, not the empty MD5
    assert kept["md5"] is None and kept["sha1"] == p1["sha1"]
    sums = tmp_path / "s.sha256"
    sums.write_text(f"{EMPTY_SHA256}  empty\n")
    report = json.loads(triage("hashsets", "import", str(sums), "--name", "s256",
                               "--json").output)
    assert report["entries"] == 0 and report["empty_content_skipped"] == 1
    rows = by_path(files_json(triage, "D1"))
    for path in ("empty.jpg", "notes/empty.txt"):
        assert rows[path]["md5"] == EMPTY_MD5
        assert rows[path]["known"] is False and rows[path]["matches"] == []
    assert rows["DCIM/p1.jpg"]["category"] == "A"
    summary = json.loads(triage("summary", "--device", "D1", "--json").output)
    assert summary["known_files"] == 1
