"""Two different items never share a row: labels are unique and lead back to one item; archives
nested past the depth limit are flagged, never silently `ok`."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile

import pytest

from tests.conftest import by_path, files_json, jpeg, write
from tests.test_archives import make_zip


def labels_of(rows: list[dict]) -> list[str]:
    return [r["path"] for r in rows]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_name_stored_twice_and_a_name_that_looks_like_a_duplicate_get_three_rows(tmp_path,
                                                                                    triage):
    buf = io.BytesIO()
    first, second, third = jpeg(1), jpeg(2), jpeg(3)
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.jpg", first)
        zf.writestr("a.jpg", second)  # zip allows one name twice
        zf.writestr("a.jpg#2", third)
    src = write(tmp_path / "in", "z.zip", buf.getvalue())
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = files_json(triage, "D1")
    assert len(rows) == 4 and len(set(labels_of(rows))) == 4  # the zip and its three members
    got = {r["path"]: r["sha256"] for r in rows}
    assert got["z.zip!/a.jpg"] == hashlib.sha256(first).hexdigest()
    assert got["z.zip!/a.jpg#2"] == hashlib.sha256(second).hexdigest()
    assert got["z.zip!/a.jpg\\x232"] == hashlib.sha256(third).hexdigest()


def test_a_folder_named_like_an_archive_is_not_mixed_with_the_archive(tmp_path, triage):
    src = tmp_path / "dump"
    write(src, "x.zip", make_zip({"inner.jpg": jpeg(4)}))
    write(src, "x.zip!/inner.jpg", jpeg(5))  # a folder literally named "x.zip!"
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "2")
    rows = by_path(files_json(triage, "D1"))
    assert set(rows) == {"x.zip", "x.zip!/inner.jpg", "x.zip\\x21/inner.jpg"}
    assert rows["x.zip!/inner.jpg"]["sha256"] == hashlib.sha256(jpeg(4)).hexdigest()
    assert rows["x.zip\\x21/inner.jpg"]["sha256"] == hashlib.sha256(jpeg(5)).hexdigest()


def test_undecodable_names_and_backslashes_cannot_collide(tmp_path, triage):
    src = tmp_path / "dump"
    src.mkdir()
    raw, literal = jpeg(6), jpeg(7)
    with open(os.path.join(os.fsencode(src), b"\xff.jpg"), "wb") as f:  # byte 0xFF, then .jpg
        f.write(raw)
    write(src, "\\xff.jpg", literal)  # a backslash, 'x', 'f', 'f'
    write(src, "Holiday 2019 – café.jpg", jpeg(8))  # ordinary names stay readable
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert set(rows) == {"\\xff.jpg", "\\\\xff.jpg", "Holiday 2019 – café.jpg"}
    assert rows["\\xff.jpg"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert rows["\\\\xff.jpg"]["sha256"] == hashlib.sha256(literal).hexdigest()


def test_labels_map_back_to_exactly_one_stored_name():
    from triage.evidence.labels import Labeller, escape_component, parse

    names = ["a.jpg", "a.jpg", "a.jpg#2", "x.zip!", "\udcff.jpg", "\\xff.jpg", "tab\there",
             "\u202egpj.exe", "Album #2", "wow!!", "100%.jpg", "\\\\", "日本語 写真.png"]
    label = Labeller("dump.zip")
    labels = [label(n) for n in names]
    assert len(set(labels)) == len(labels)
    seen: dict[bytes, int] = {}
    for name, text in zip(names, labels):
        raw = name.encode("utf-8", "surrogateescape")
        seen[raw] = seen.get(raw, 0) + 1
        assert parse(text) == [(b"dump.zip", 1), (raw, seen[raw])], text
    assert escape_component("日本語 写真.png") == "日本語 写真.png"
    # Exact for JSON; made inert where shown to people (printable), not in the label.
    assert escape_component("\u202egpj.exe") == "\u202egpj.exe"


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_zip_directory_entry_carrying_data_is_recorded(tmp_path, triage):
    buf = io.BytesIO()
    hidden = jpeg(9)
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("DCIM/", b"")  # an ordinary folder entry: not an item
        zf.writestr(zipfile.ZipInfo("DCIM/"), hidden)  # a "folder" with a picture inside it
        zf.writestr("DCIM/a.jpg", jpeg(10))
    src = write(tmp_path / "in", "d.zip", buf.getvalue())
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    assert set(rows) == {"d.zip", "d.zip!/DCIM/", "d.zip!/DCIM/a.jpg"}
    d = rows["d.zip!/DCIM/"]
    assert d["status"] == "hidden_data" and "directory entry" in d["reason"]
    assert d["sha256"] == hashlib.sha256(hidden).hexdigest() and d["pdq"]


def nested_zip(levels: int, payload: bytes) -> bytes:
    """l1.zip's bytes: l1.zip holds l2.zip and note1.txt, ..., l{levels}.zip holds pic.jpg."""
    data = make_zip({"pic.jpg": payload})
    for level in range(levels - 1, 0, -1):
        data = make_zip({f"l{level + 1}.zip": data, f"note{level}.txt": b"level"})
    return data


def test_archives_nested_past_the_depth_limit_are_flagged(tmp_path, triage):
    src = tmp_path / "dump"
    write(src, "l1.zip", nested_zip(5, jpeg(11)))  # five zips deep; the limit is 4
    triage("ingest", str(src), "--case", "C1", "--device", "D1", "--workers", "0")
    rows = by_path(files_json(triage, "D1"))
    fourth = "l1.zip!/l2.zip!/l3.zip!/l4.zip"
    fifth = fourth + "!/l5.zip"
    assert rows[fourth]["status"] == "ok"  # four levels are opened
    assert rows[fourth + "!/note4.txt"]["status"] == "ok"  # its members are read
    deep = rows[fifth]
    assert deep["status"] == "too_deep"
    assert "5 deep" in deep["reason"] and "max_archive_depth" in deep["reason"]
    assert deep["sha256"]  # hashed all the same: a known archive still matches
    assert not any(p.startswith(fifth + "!/") for p in rows)
    summary = triage("summary", "--device", "D1").output
    assert "too_deep: 1" in summary
