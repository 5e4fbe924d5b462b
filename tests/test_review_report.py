"""The court-ready device report: exhibit continuity (the source's own hash, who ingested it and
when), examiners from the audit, each list's exact matches and PDQ near-match candidates, and
A4 pages numbered "page N of M" when printed (the welfare report too), printed by Chromium."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import flip_bits, jpeg, write
from tests.web_support import PASSWORD, reveal, signed_in
from triage.accounts import hash_password
from triage.store.core import os_user
from triage.web import create_app


@pytest.fixture
def reported(tmp_path, triage, workspace):
    ev = tmp_path / "dump"
    for i in range(5):
        write(ev, f"DCIM/p{i}.jpg", jpeg(400 + i, (200, 150), exif=i == 0))
    write(ev, "Backup/p2-again.jpg", (ev / "DCIM/p2.jpg").read_bytes())
    triage("ingest", str(ev), "--case", "OP-R", "--device", "EXH-R", "--workers", "0",
           "--no-classify")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("phone/DCIM/z.jpg", jpeg(450, (200, 150)))
    archive = tmp_path / "phone.zip"
    archive.write_bytes(buf.getvalue())
    triage("ingest", str(archive), "--case", "OP-R", "--device", "EXH-R", "--workers", "0",
           "--no-classify")
    store = workspace.open_store()
    try:
        dev = store.device("EXH-R")["id"]
        rows = {f["path"]: f for f in store.iter_files(dev)}
        uid = store.add_user("rev1", "reviewer", hash_password(PASSWORD), "2026-05-01T00:00:00Z")
        store.assign_case(store.case_by_reference("OP-R")["id"], uid)
    finally:
        store.close()
    # A PDQ list holding two of the pictures only as near matches (6 and 9 bits).
    near = [flip_bits(rows["DCIM/p2.jpg"]["pdq"], 6), flip_bits(rows["DCIM/p3.jpg"]["pdq"], 9)]
    (tmp_path / "near.pdq").write_text("".join(f"{h},A\n" for h in near))
    triage("hashsets", "import", str(tmp_path / "near.pdq"), "--name", "pdq-list",
           "--format", "pdq", "--kind", "alert", "--scheme", "uk")
    client, post = signed_in(create_app(workspace, testing=True), "rev1")
    cid = rows["DCIM/p4.jpg"]["content_id"]
    reveal(client, post, dev, cid)
    assert post("/api/decide", device_id=dev, content_id=cid, category="C").status_code == 200
    return archive, ev


def test_continuity_examiners_and_near_candidates(reported, triage, tmp_path):
    archive, ev = reported
    rep = json.loads(triage("report", "--device", "EXH-R", "--json").output)
    by_name = {c["name"]: c for c in rep["continuity"]}
    zipped = by_name["phone.zip"]
    assert zipped["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert zipped["kind"] != "folder" and zipped["first_ingest"]
    folder = by_name[ev.name]
    assert folder["sha256"] is None and folder["kind"] == "folder"
    for c in (zipped, folder):
        assert [b["user"] for b in c["ingested_by"]] == [os_user()]
        assert c["ingested_by"][0]["outcome"] == "ok"
    assert "image_md5" in zipped  # the disk-image stage fills it for images
    who = {(e["name"], e["as"]) for e in rep["examiners"]}
    assert (os_user(), "ran commands") in who and ("rev1", "reviewer in the review pages") in who
    pdq = next(l for l in rep["lists"] if l["name"] == "pdq-list")
    assert pdq["hits"] == 0 and pdq["near_candidates"] == 2  # not "matches here 0" alone
    summary = json.loads(triage("summary", "--device", "EXH-R", "--json").output)
    nc = rep["near_candidates"]
    assert nc["pictures"] == 2 and nc["files"] == summary["near_candidate_files"] == 3
    assert {r["path"] for r in nc["rows"]} == {"Backup/p2-again.jpg", "DCIM/p3.jpg"}
    assert sorted(r["distance"] for r in nc["rows"]) == [6, 9]
    html_file = tmp_path / "r.html"
    triage("report", "--device", "EXH-R", "--html", str(html_file))
    html = html_file.read_text()
    for needle in ('id="continuity"', 'id="examiners"', 'id="near-candidates"',
                   "near-match candidates here", "candidates, not categorised",
                   hashlib.sha256(archive.read_bytes()).hexdigest()):
        assert needle in html, needle


def _pdf_pages(browser, html_file: Path, out: Path):  # noqa: F811
    from pypdf import PdfReader

    page = browser.new_page()
    page.goto(html_file.as_uri())
    page.pdf(path=str(out), prefer_css_page_size=True)
    page.close()
    return PdfReader(str(out)).pages


@pytest.mark.parametrize("which", ["device", "welfare"])
def test_reports_print_on_a4_with_page_n_of_m(browser, reported, triage, tmp_path,  # noqa: F811
                                              which):
    html_file = tmp_path / f"{which}.html"
    if which == "device":
        triage("report", "--device", "EXH-R", "--html", str(html_file), "--with-thumbnails")
    else:
        triage("welfare", "report", "--html", str(html_file))
    pages = _pdf_pages(browser, html_file, tmp_path / f"{which}.pdf")
    assert len(pages) >= 1
    for n, p in enumerate(pages, start=1):
        w, h = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2, (w, h)  # A4 portrait, in points
        text = p.extract_text()
        assert f"page {n} of {len(pages)}" in text, text[-200:]
    if which == "device":
        assert "EXH-R" in pages[0].extract_text()

