"""Bulk import paths: chunked parsing, columnar inserts, progress — same entries as line by line.

The chunk size is shrunk so that small files cross many chunk boundaries (the same code path a
500 MB national list takes); the expected entries are computed here from the lines themselves.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import flip_bits
from triage.match.lists import entries
from triage.categories import CategoryMap
from triage.match.lists.library import import_list, prefetched
from triage.store.hashsets import EntryBlock


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(entries, "CHUNK_BYTES", 700)


def md5(i: int) -> str:
    return hashlib.md5(str(i).encode()).hexdigest()


def stored(workspace, name: str) -> list[tuple]:
    store = workspace.open_store()
    try:
        return [(e["md5"], e["sha1"], e["sha256"], e["pdq"], e["pdq_quality"], e["category_raw"],
                 e["name"]) for e in store.iter_list_entries(name)]
    finally:
        store.close()


def do_import(workspace, path: Path, name: str, **kw):
    store = workspace.open_store()
    try:
        return import_list(store, path, name, categories=CategoryMap(
            workspace.config("categories")), **kw)
    finally:
        store.close()


def test_md5sum_across_chunks_with_comments_crlf_markers_and_odd_names(
        tmp_path, workspace, small_chunks):
    lines, want = [b"\xef\xbb\xbf# made by hand\r\n"], []
    for i in range(300):
        h = md5(i).upper() if i % 3 else md5(i)
        if i % 50 == 7:
            lines.append(b"\r\n")  # blank line in the middle of a chunk
        if i % 4 == 0:
            lines.append(f"{h}  DCIM/{i}.jpg\r\n".encode())
            want.append((md5(i), None, None, None, None, "B", f"DCIM/{i}.jpg"))
        elif i % 4 == 1:
            lines.append(f"{h} *bin {i}.jpg\n".encode())
            want.append((md5(i), None, None, None, None, "B", f"bin {i}.jpg"))
        elif i % 4 == 2:
            lines.append(f"{h}\n".encode())
            want.append((md5(i), None, None, None, None, "B", None))
        else:
            lines.append(h.encode() + b"  caf\xe9-latin1.jpg\n")  # not UTF-8: replaced
            want.append((md5(i), None, None, None, None, "B", "caf\ufffd-latin1.jpg"))
    path = tmp_path / "list.md5"
    path.write_bytes(b"".join(lines)[:-1])  # no newline at the very end
    seen = []
    res = do_import(workspace, path, "L", scheme="uk",
                    options=entries.ParseOptions(category="B", progress=seen.append))
    assert res.hashset["entry_count"] == 300 and res.hashset["format"] == "hashlist"
    assert stored(workspace, "L") == want
    assert sum(seen) == path.stat().st_size and len(seen) > 10  # bytes, chunk by chunk


def test_bad_line_deep_in_a_list_is_named_and_nothing_changes(tmp_path, workspace,
                                                              small_chunks):
    good = tmp_path / "good.md5"
    good.write_text("".join(f"{md5(i)}  {i}\n" for i in range(10)))
    do_import(workspace, good, "L")
    for bad_line, problem in ((f"{md5(1)[:31]}g  x", "is not a md5 digest line"),
                              (f"{md5(1)}{md5(2)[:8]}  x", "mixed digest lengths"),
                              (f"{md5(1)[:30]}  x", "is not a md5 digest line")):
        body = [f"{md5(i)}  file-{i}.jpg" for i in range(200)]
        body[157] = bad_line
        bad = tmp_path / "bad.md5"
        bad.write_text("\n".join(body) + "\n")
        with pytest.raises(entries.ListFormatError, match=f"line 158: .*{problem}"):
            do_import(workspace, bad, "L", fmt="hashlist")
        assert [e[0] for e in stored(workspace, "L")] == [md5(i) for i in range(10)]
    assert not list(workspace.open_store().hashlib_dir.glob(".import-*"))


def test_pdq_list_bulk_and_line_by_line_chunks_agree(tmp_path, workspace, small_chunks):
    pdqs = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(120)]
    plain = tmp_path / "plain.pdq"
    plain.write_text("pdq,category\n" + "".join(
        f"{h},{i % 5}\n" if i % 9 else f"{h},\n" for i, h in enumerate(pdqs)))
    do_import(workspace, plain, "plain", options=entries.ParseOptions(category="9"))
    assert stored(workspace, "plain") == [
        (None, None, None, h, None, str(i % 5) if i % 9 else "9", None)
        for i, h in enumerate(pdqs)]
    # Quoted fields and a quality column take the csv path; same entries.
    rich = tmp_path / "rich.pdq"
    rich.write_text("pdq,quality,category\n" + "".join(
        f'{h},{50 + i % 40},"{i % 5}"\n' for i, h in enumerate(pdqs)))
    do_import(workspace, rich, "rich")
    assert stored(workspace, "rich") == [
        (None, None, None, h, 50 + i % 40, str(i % 5), None) for i, h in enumerate(pdqs)]
    bad = tmp_path / "bad.pdq"
    bad.write_text("pdq,category\n" + "".join(f"{h},1\n" for h in pdqs[:90]) + "abc,1\n")
    with pytest.raises(entries.ListFormatError, match="line 92: PDQ 'abc' is not 64 hex"):
        do_import(workspace, bad, "bad")


def test_nsrl_batches_with_gaps_and_bad_rows(tmp_path, workspace):
    db = tmp_path / "RDS.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE FILE(sha256 TEXT, sha1 TEXT, md5 TEXT, crc32 TEXT,"
                 " file_name TEXT, file_size INTEGER, package_id INTEGER)")
    rows = []
    for i in range(30):
        s = str(i).encode()
        rows.append((hashlib.sha256(s).hexdigest().upper(), hashlib.sha1(s).hexdigest().upper(),
                     None if i == 17 else md5(i).upper(), "0", f"f{i}.dll", 1, 1))
    conn.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
    conn.commit()
    do_import(workspace, db, "nsrl", kind="known-good")
    assert stored(workspace, "nsrl") == [
        (r[2].lower() if r[2] else None, r[1].lower(), r[0].lower(), None, None, None, r[4])
        for r in rows]
    conn.execute("UPDATE FILE SET sha1='XYZ' WHERE rowid=23")
    conn.commit()
    conn.close()
    with pytest.raises(entries.ListFormatError, match="FILE row 23: a digest is not hex"):
        do_import(workspace, db, "nsrl2", kind="known-good")


def test_entry_blocks_mixed_columns_round_trip(tmp_path, workspace):
    """Rows whose digest columns have gaps, varying text and ints, all stored as given (a PDQ
    with its quality on some entries only: stored in the list's entry signals)."""
    rows = [(bytes.fromhex(md5(i)), None if i % 2 else bytes(range(20)), None,
             bytes([i]) * 32 if i % 3 else None, i if i % 3 else None,
             "A" if i < 5 else f"c{i}", f'n"{i}\\é',
             json.dumps({"k": i}) if i % 4 else None) for i in range(10)]
    rows += [(bytes.fromhex(md5(99)), None, None, None, None, "A", "same", None)] * 3
    store = workspace.open_store()
    try:
        store.write_hashset("mixed", "alert", "csv", None, "x", "0" * 64, iter(rows))
        got = list(store.iter_list_entries("mixed"))
    finally:
        store.close()
    assert [(bytes.fromhex(e["md5"]), bytes.fromhex(e["sha1"]) if e["sha1"] else None,
             e["sha256"], bytes.fromhex(e["pdq"]) if e["pdq"] else None, e["pdq_quality"],
             e["category_raw"], e["name"],
             json.dumps(e["record"]) if e["record"] else None) for e in got] == rows
    block = EntryBlock.from_rows(rows[-3:])
    assert block.constants == {"md5": bytes.fromhex(md5(99)), "category_raw": "A",
                               "name": "same"} and not block.values


def test_prefetched_passes_items_and_errors_through():
    def gen():
        yield 1
        yield 2
        raise ValueError("bad line 3")
    out = []
    with pytest.raises(ValueError, match="bad line 3"):
        for x in prefetched(gen()):
            out.append(x)
    assert out == [1, 2]
    closed = []

    def endless():
        try:
            i = 0
            while True:
                i += 1
                yield i
        finally:
            closed.append(True)
    for x in prefetched(endless()):
        if x == 5:
            break
    assert closed == [True]  # the producer stops and closes its generator


def test_import_and_match_show_a_progress_bar_only_when_asked(tmp_path, triage):
    path = tmp_path / "l.md5"
    path.write_text("".join(f"{md5(i)}  {i}\n" for i in range(50)))
    shown = triage("hashsets", "import", str(path), "--name", "L", "--progress").output
    assert "import L" in shown and "B/s" in shown and "imported L: 50 entries" in shown
    quiet = triage("hashsets", "import", str(path), "--name", "L").output
    assert "import L" not in quiet and "replaced L: 50 entries" in quiet  # not a TTY
    ev = tmp_path / "ev"
    ev.mkdir()
    (ev / "a.txt").write_text("x")
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0",
           "--no-classify")
    shown = triage("match", "--device", "D", "--progress").output
    assert "match exact" in shown and "lookup/s" in shown and "matched 1 contents" in shown
    assert "match exact" not in triage("match", "--device", "D").output


def index_identity(workspace) -> list[tuple[str, int, int]]:
    """Each persisted index file's name, inode and mtime: a rebuild replaces them all."""
    folder = workspace.root / "hashlib" / "pdq-index"
    return [(f.name, f.stat().st_ino, f.stat().st_mtime_ns) for f in sorted(folder.iterdir())]


def near(triage, path: str) -> list[tuple[str, int]]:
    rows = {r["path"]: r for r in map(json.loads, triage(
        "files", "--device", "D1", "--json").output.splitlines())}
    return sorted((m["hashset"], m["distance"]) for m in rows[path]["matches"]
                  if m["method"] == "pdq")


def test_pdq_index_is_rebuilt_only_when_alert_pdq_hashes_change(tmp_path, triage, workspace):
    from tests.conftest import write
    from triage.demo.synthetic import encode, photo_like
    ev = tmp_path / "ev"
    for i in range(3):
        write(ev, f"p{i}.jpg", encode(photo_like(100 + i, (640, 480)), "JPEG", 90))
    triage("ingest", str(ev), "--case", "C", "--device", "D1", "--workers", "0",
           "--no-classify")
    rows = {r["path"]: r for r in map(json.loads, triage(
        "files", "--device", "D1", "--json").output.splitlines())}
    pdq_a = tmp_path / "a.pdq"
    pdq_a.write_text(f"{flip_bits(rows['p0.jpg']['pdq'], 5)},1\n{'0' * 63}1,2\n")
    triage("hashsets", "import", str(pdq_a), "--name", "A", "--format", "pdq",
           "--scheme", "vic-us")
    first = index_identity(workspace)
    assert near(triage, "p0.jpg") == [("A", 5)]
    md5s = tmp_path / "m.md5"
    md5s.write_text(f"{rows['p2.jpg']['md5']}  p2.jpg\n{md5(1)}  other\n")
    # md5-only lists: imported, re-imported with another kind, removed: the index stays.
    triage("hashsets", "import", str(md5s), "--name", "M", "--category", "1",
           "--scheme", "vic-us")
    assert index_identity(workspace) == first
    triage("hashsets", "import", str(md5s), "--name", "M", "--kind", "known-good")
    triage("hashsets", "remove", "M")
    triage("hashsets", "import", str(md5s), "--name", "M", "--category", "1",
           "--scheme", "vic-us")
    assert index_identity(workspace) == first
    triage("match", "--device", "D1")  # near matching through the untouched index
    assert near(triage, "p0.jpg") == [("A", 5)]
    assert json.loads(triage("files", "--device", "D1", "--json").output.splitlines()[2])[
        "known"] is True  # p2, by MD5
    listed = {h["name"]: h for h in map(json.loads, triage(
        "hashsets", "list", "--json").output.splitlines())}
    assert (listed["A"]["pdq_count"], listed["M"]["pdq_count"]) == (2, 0)
    # A workspace whose lists predate the PDQ count: counted from the list files once.
    conn = sqlite3.connect(workspace.db_path)
    conn.execute("UPDATE hashsets SET pdq_count=NULL")
    conn.commit()
    conn.close()
    triage("hashsets", "remove", "M")
    assert index_identity(workspace) == first
    listed = {h["name"]: h for h in map(json.loads, triage(
        "hashsets", "list", "--json").output.splitlines())}
    assert listed["A"]["pdq_count"] == 2
    # A PDQ list imported: rebuilt, and both lists match near.
    pdq_b = tmp_path / "b.pdq"
    pdq_b.write_text(f"{flip_bits(rows['p1.jpg']['pdq'], 7)},2\n")
    triage("hashsets", "import", str(pdq_b), "--name", "B", "--format", "pdq",
           "--scheme", "vic-us")
    second = index_identity(workspace)
    assert {n for n, _, _ in second} == {n for n, _, _ in first}
    assert all(a[1:] != b[1:] for a, b in zip(first, second))
    triage("match", "--device", "D1")
    assert near(triage, "p0.jpg") == [("A", 5)] and near(triage, "p1.jpg") == [("B", 7)]
    # The same PDQ list as a reference list: its hashes leave the alert index.
    triage("hashsets", "import", str(pdq_b), "--name", "B", "--format", "pdq", "--kind",
           "reference")
    third = index_identity(workspace)
    assert all(a[1:] != b[1:] for a, b in zip(second, third))
    triage("match", "--device", "D1")
    assert near(triage, "p1.jpg") == [] and near(triage, "p0.jpg") == [("A", 5)]
    triage("hashsets", "remove", "A")
    assert all(a[1:] != b[1:] for a, b in zip(third, index_identity(workspace)))
    assert near(triage, "p0.jpg") == []
