"""One category rule for every view: a content on several alert lists takes the most severe
category, whatever the lists are called, in files, summary, the review pages, export, the
device report and the backlog (and the exposure it costs a reviewer to see it)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import by_path, files_json, jpeg, write
from tests.web_support import PASSWORD, login
from triage.accounts import hash_password
from triage.categories import known_category, severity_rank
from triage.web import create_app

# (scheme, category of the list whose name sorts first, category of the other, review scheme,
#  export profile, the export's Category number for the most severe)
CASES = {
    "uk": ("uk", "C", "A", "uk", "uk", 71),
    "vic": ("vic-us", "3", "1", "vic", "us", 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_view_takes_the_most_severe_category_whatever_the_list_names(
        case, tmp_path: Path, triage, workspace):
    scheme, first_cat, severe, review_scheme, profile, code = CASES[case]
    ev = tmp_path / "ev"
    write(ev, "DCIM/hit.jpg", jpeg(301))
    write(ev, "Backup/hit-copy.jpg", jpeg(301))
    write(ev, "DCIM/other.jpg", jpeg(302))
    triage("ingest", str(ev), "--case", "C1", "--device", "D1", "--workers", "0",
           "--no-classify")
    files = by_path(files_json(triage, "D1"))
    md5 = files["DCIM/hit.jpg"]["md5"]
    # "a-list" sorts first by name but says the less severe category.
    for name, cat in (("a-list", first_cat), ("b-list", severe)):
        lst = tmp_path / f"{name}.md5"
        lst.write_text(f"{md5}  hit.jpg\n")
        triage("hashsets", "import", str(lst), "--name", name, "--category", cat,
               "--scheme", scheme)
    cats = workspace.config_dir / "categories.toml"
    cats.write_text(cats.read_text().replace('map = { "A" = "A", ',
                                             'map = { "71" = "A", "72" = "B", "73" = "C", '
                                             '"A" = "A", ', 1))
    review = workspace.config_dir / "review.toml"
    review.write_text(re.sub(r'(?m)^name = "\w+"', f'name = "{review_scheme}"',
                             review.read_text(), count=1))

    # 1. triage files (JSON and the table, which shows the other list's category beside it)
    files = by_path(files_json(triage, "D1"))
    for path in ("DCIM/hit.jpg", "Backup/hit-copy.jpg"):
        assert files[path]["category"] == severe and files[path]["category_raw"] == severe
        assert {m["category"] for m in files[path]["matches"]} == {first_cat, severe}
    table = triage("files", "--device", "D1").output
    assert f"{severe} (also {first_cat})" in table
    # 2. triage summary
    summary = json.loads(triage("summary", "--device", "D1", "--json").output)
    assert summary["by_category"] == {severe: 2}
    # 3. the review pages' known view
    store = workspace.open_store()
    try:
        uid = store.add_user("rev1", "reviewer", hash_password(PASSWORD),
                             "2026-05-01T00:00:00+00:00")
        store.assign_case(store.case_by_reference("C1")["id"], uid)
        hit_id = files["DCIM/hit.jpg"]["content_id"]
        # ... and the category a reviewer's exposure to it is weighted by
        assert store.content_category(hit_id) == severe
    finally:
        store.close()
    client = create_app(workspace, testing=True).test_client()
    login(client, "rev1")
    page = client.get("/review/D1?known=1").get_data(as_text=True)
    assert f"list: {severe} (also {first_cat})" in page
    # 4. export: CSV per file and VICS
    rows = list(csv.DictReader(io.StringIO(
        triage("export", "--device", "D1", "--format", "csv").output)))
    assert {r["category"] for r in rows if r["md5"] == md5} == {severe}
    doc = json.loads(triage("export", "--device", "D1", "--profile", profile).output)
    (media,) = [m for m in doc["value"][0]["Media"] if m["MD5"] == md5.upper()]
    assert media["Category"] == code and media["IsPrecategorized"] is True
    # 5. the backlog (register counts and the ranking's reasons) and the device report
    (dev,) = json.loads("[" + ",".join(triage("devices", "list", "--json").output
                                       .splitlines()) + "]")
    assert dev["counts"]["known_alert"] == {severe: 1}
    (ranked,) = [json.loads(line) for line in triage("backlog", "--json").output.splitlines()]
    assert any(f"known alert material found: 1 ({severe} 1)" in why
               for why in ranked["reasons"])
    report = json.loads(triage("report", "--device", "D1", "--json").output)
    assert [(c["category"], c["known"]) for c in report["categories"]] == [(severe, 1)]


def test_the_rule_is_severity_then_list_name_never_query_order():
    a = {"hashset": "z-list", "category": "B", "category_raw": "b"}
    b = {"hashset": "a-list", "category": "uncategorised", "category_raw": None}
    c = {"hashset": "m-list", "category": "A", "category_raw": "A"}
    for order in ([a, b, c], [c, b, a], [b, c, a]):
        k = known_category(order)
        assert (k.category, k.hashset, k.others) == ("A", "m-list", ("B", "uncategorised"))
        assert k.label == "A (also B, uncategorised)"
    # ties go to the list whose name sorts first
    tie = known_category([{"hashset": "y", "category": "C"}, {"hashset": "x", "category": "C"}])
    assert (tie.hashset, tie.others) == ("x", ())
    assert known_category([]) is None
    # UK letters, then Project VIC numbers, not indecent, any other, uncertain, uncategorised
    order = ["A", "B", "C", "1", "2", "3", "4", "0", "not_indecent", "lab-special", "uncertain",
             "uncategorised"]
    assert sorted(reversed(order), key=severity_rank) == order
    assert severity_rank(None) == severity_rank("uncategorised")
