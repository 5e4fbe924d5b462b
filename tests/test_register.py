"""Device register: add/update/list, CSV import (all or nothing), counts after ingest."""

from __future__ import annotations

from pathlib import Path

from tests.backlog_fixtures import (add_decision, add_list, add_user, content_ids,
                                    ingest_pictures, json_lines)

HEADER = "case,device,type,seized,risk,access_to_children,child_at_risk,court_date,bail_rui,status\n"


def listed(triage) -> dict[str, dict]:
    return {r["label"]: r for r in json_lines(triage("devices", "list", "--json").output)}


def test_add_update_list(triage):
    triage("devices", "add", "EXH-1", "--case", "OP-A", "--type", "phone", "--seized",
           "01/03/2026", "--risk", "vh", "--access-to-children", "--court-date", "2026-04-01",
           "--bail-rui")
    row = listed(triage)["EXH-1"]
    assert (row["case_reference"], row["device_type"], row["seized_on"], row["risk_band"]) == (
        "OP-A", "phone", "2026-03-01", "VH")
    assert (row["access_to_children"], row["child_at_risk"], row["bail_rui"]) == (True, False, True)
    assert row["status"] == "awaiting" and row["next_court_date"] == "2026-04-01"
    triage("devices", "update", "EXH-1", "--status", "returned", "--court-date", "none",
           "--no-bail-rui")
    row = listed(triage)["EXH-1"]
    assert (row["status"], row["next_court_date"], row["bail_rui"], row["risk_band"]) == (
        "returned", None, False, "VH")  # untouched fields stay
    assert "EXH-1" in triage("devices", "list").output


def test_add_twice_update_unknown_and_bad_values_are_refused(triage):
    triage("devices", "add", "EXH-1", "--case", "OP-A")
    out = triage("devices", "add", "EXH-1", "--case", "OP-A", ok=(1,)).output
    assert "already registered" in out and "devices update EXH-1" in out
    assert "no device 'NOPE'" in triage("devices", "update", "NOPE", "--risk", "H", ok=(1,)).output
    assert "YYYY-MM-DD" in triage("devices", "update", "EXH-1", "--seized", "March 3",
                                  ok=(2,)).output
    assert "'EXTREME' is not one of" in triage("devices", "add", "X", "--case", "C", "--risk", "EXTREME",
                                      ok=(2,)).output


def test_csv_import_creates_and_updates(triage, tmp_path: Path):
    triage("devices", "add", "EXH-1", "--case", "OP-A", "--risk", "L", "--type", "laptop")
    csv_file = tmp_path / "reg.csv"
    csv_file.write_text("\ufeff" + HEADER +  # Excel's BOM
                        "OP-A,EXH-1,,2026-02-01,H,yes,no,,1,in review\n"
                        "OP-B,EXH-2,phone,15/02/2026,Very High,N,Y,2026-05-01,0,awaiting\n"
                        ",,,,,,,,,\n", encoding="utf-8")
    out = triage("devices", "import", str(csv_file)).output
    assert "imported 2 rows: 1 new, 1 updated" in out
    rows = listed(triage)
    assert rows["EXH-1"]["risk_band"] == "H" and rows["EXH-1"]["device_type"] == "laptop"
    assert rows["EXH-1"]["status"] == "in review" and rows["EXH-1"]["bail_rui"] is True
    assert rows["EXH-2"]["seized_on"] == "2026-02-15" and rows["EXH-2"]["risk_band"] == "VH"
    assert rows["EXH-2"]["child_at_risk"] is True and rows["EXH-2"]["case_reference"] == "OP-B"


def test_csv_import_with_bad_rows_imports_nothing_and_names_each_row(triage, tmp_path: Path):
    triage("devices", "add", "EXH-1", "--case", "OP-A", "--risk", "L")
    csv_file = tmp_path / "reg.csv"
    csv_file.write_text(HEADER +
                        "OP-A,EXH-1,,2026-02-01,H,,,,,\n"          # fine (would update)
                        "OP-A,EXH-2,,2026-13-01,H,,,,,\n"          # bad date
                        "OP-A,EXH-3,,,Severe,maybe,,,,lost\n"      # band, flag, status
                        "OP-Z,EXH-1,,,,,,,,\n"                     # duplicate in file
                        "OP-A,,,,,,,,,\n"                          # no device
                        "OP-B,EXH-4,,,L,,,,,\n", encoding="utf-8")  # fine
    out = triage("devices", "import", str(csv_file), ok=(1,)).output
    assert "row 3 (EXH-2): seized_on: date '2026-13-01' is not YYYY-MM-DD" in out
    assert "row 4 (EXH-3): risk_band: risk band 'Severe' is not one of VH, H, M, L" in out
    assert "access_to_children: 'maybe' is not yes/no" in out and "status 'lost'" in out
    assert "row 5 (EXH-1): device 'EXH-1' already given on row 2" in out
    assert "row 6 (?): device is empty" in out
    assert "nothing was imported" in out
    rows = listed(triage)
    assert set(rows) == {"EXH-1"} and rows["EXH-1"]["risk_band"] == "L"


def test_csv_import_refuses_device_of_another_case_and_unknown_columns(triage, tmp_path: Path):
    triage("devices", "add", "EXH-1", "--case", "OP-A")
    f = tmp_path / "a.csv"
    f.write_text(HEADER + "OP-B,EXH-1,,,,,,,,\n")
    assert "belongs to case 'OP-A', not 'OP-B'" in triage("devices", "import", str(f),
                                                          ok=(1,)).output
    f.write_text("case,device,colour\nOP-A,EXH-9,red\n")
    out = triage("devices", "import", str(f), ok=(1,)).output
    assert "unknown column 'colour'" in out and "EXH-9" not in listed(triage)
    f.write_bytes(b"case,device\nOP-A,EXH-\xff\n")
    assert "not UTF-8" in triage("devices", "import", str(f), ok=(1,)).output


def test_counts_after_ingest(triage, workspace, tmp_path: Path):
    ingest_pictures(workspace, tmp_path / "dump", "OP-A", "PHONE", 8)
    triage("devices", "update", "PHONE", "--risk", "H")
    store = workspace.open_store()
    try:
        ids = content_ids(store, "PHONE")
        add_list(store, "alerts", "alert", {ids[0]: "A", ids[1]: "C", ids[2]: "C"})
        add_list(store, "other-alerts", "alert", {ids[1]: "B"})  # two lists: most severe shown
        add_list(store, "nsrl", "known-good", {ids[3]: None})
        add_list(store, "near", "alert", {ids[4]: "A"}, near=1)  # near never categorises
        uid = add_user(store, "rev")
        add_decision(store, uid, "PHONE", ids[5], "B")
        add_decision(store, uid, "PHONE", ids[6], "C", undone=True)
        files = store.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    finally:
        store.close()
    row = listed(triage)["PHONE"]
    c = row["counts"]
    assert (c["files"], c["unique_images"]) == (files, 8) and files == 11
    assert c["known_alert"] == {"A": 1, "B": 1, "C": 1} and c["known_alert_total"] == 3
    assert c["known_good"] == 1 and c["decided"] == 1
    assert c["unseen"] == 8 - 3 - 1 - 1  # known alert, known-good, decided
    assert row["status"] == "in review"  # ingest moved the register's 'awaiting' on
    assert row["measured"] is True
    basis = row["forecast_basis"]
    if basis.startswith("unseen x"):  # the queue's forecast is not installed (or not usable)
        seconds = float(basis.split()[2].rstrip("s"))
        assert row["forecast_hours"] == round(c["unseen"] * seconds / 3600, 2)
    else:
        assert basis == "queue forecast"
