"""The store contract: what every caller of `triage.store.Store` may rely on, domain by domain.

A second backend (PostgreSQL) must pass this file unchanged: it is one more entry in
`tests/store_contract_support.py`'s BACKENDS, selected with TRIAGE_STORE_BACKEND. Every test
runs on a *fresh* workspace (generated pictures really ingested, lists imported) and on a
*migrated* one (release 0.1.0's workspace opened by this code), each built once per module and
cloned per test. Tests speak the store's domain words only: the store they get refuses its SQL
connection, and each test names (@covers) the methods whose contract it asserts, which the
fixture checks were really called. `test_every_public_method_is_covered_or_excused` keeps the
list honest as the store grows.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.store_contract_support import (BACKENDS, NOT_COVERED, PUBLIC, Backend, Recording,
                                          Scene, at, build_fresh, build_migrated, covers,
                                          exhibit_holding, file_result, moment, record_exhibit,
                                          selected_backends, team)
from triage.categories import UNCATEGORISED, severity_rank
from triage.match.lists.entries import ListFormatError
from triage.pipeline import Pipeline
from triage.records import CLIP_FRAME, SHEET_FRAME, Derivative, MediaInfo, SignalValue
from triage.store import StoreError
from triage.store.browse import Browse, with_hash_ids
from triage.store.hashsets import EntryBlock
from triage.store.ingest import FILE_FIELDS
from triage.workspace import Workspace


# -- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=selected_backends())
def store_backend(request: pytest.FixtureRequest) -> Backend:
    """The factory that opens a Store for a workspace folder (one backend per parameter)."""
    return BACKENDS[request.param]


@pytest.fixture(scope="module", params=("fresh", "migrated"))
def built(request: pytest.FixtureRequest, store_backend: Backend,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Scene]:
    root = tmp_path_factory.mktemp(f"contract-{store_backend.name}-{request.param}")
    build = build_fresh if request.param == "fresh" else build_migrated
    return build(root, store_backend)


@dataclass
class Ctx:
    backend: Backend
    root: Path
    scene: Scene
    store: Any  # a Recording of the Store
    used: set[str]

    def reopen(self) -> None:
        self.store.close()
        self.store = Recording(self.backend(self.root))
        object.__setattr__(self.store, "used", self.used)  # one record across openings

    def pipeline(self) -> Pipeline:
        return Pipeline(Workspace(self.root), self.store, progress=False)


@pytest.fixture
def ws(request: pytest.FixtureRequest, built: tuple[Path, Scene], store_backend: Backend,
       tmp_path: Path) -> Iterator[Ctx]:
    """A private clone of the module's workspace, its store opened through the backend."""
    src, scene = built
    root = tmp_path / "ws"
    store_backend.clone(src, root)
    store = Recording(store_backend(root))
    ctx = Ctx(store_backend, root, copy.deepcopy(scene), store, store.used)
    failed = request.session.testsfailed
    try:
        yield ctx
    finally:
        ctx.store.close()
    if request.session.testsfailed != failed:
        return  # the test's own failure says what went wrong
    claimed = getattr(request.function, "store_covers", frozenset())
    missing = sorted(claimed - ctx.used)
    if missing:
        pytest.fail(f"{request.function.__name__} claims to cover {missing} but never called"
                    " them through the store", pytrace=False)


class Boom(Exception):
    pass


def first(rows: Any) -> Any:
    return next(iter(rows))


# -- core: opening, cases and devices, transactions, audit -----------------------------------
@covers("devices", "hashsets", "audit_entries", "migrate", "register_rows")
def test_opening_again_and_migrating_again_change_nothing(ws: Ctx):
    s = ws.store
    before = (s.devices(), s.hashsets(), s.audit_entries(10_000), s.register_rows())
    s.migrate()  # every step is applied once: a second run applies none
    assert (s.devices(), s.hashsets(), s.audit_entries(10_000), s.register_rows()) == before
    ws.reopen()
    assert (ws.store.devices(), ws.store.hashsets(), ws.store.audit_entries(10_000),
            ws.store.register_rows()) == before


@covers("ensure_case", "ensure_device", "device", "devices", "set_device_status",
        "case_by_reference")
def test_ensure_case_and_ensure_device_are_idempotent(ws: Ctx):
    s, scene = ws.store, ws.scene
    case_id = s.ensure_case("CONTRACT-CASE")
    assert s.ensure_case("CONTRACT-CASE") == case_id
    assert s.ensure_case(scene.case) == scene.case_id
    device_id = s.ensure_device("CONTRACT-CASE", "CONTRACT-DEV")
    assert s.ensure_device("CONTRACT-CASE", "CONTRACT-DEV") == device_id
    assert s.ensure_device(scene.case, scene.device) == scene.device_id
    row = s.device("CONTRACT-DEV")
    assert (row["id"], row["case_id"], row["case_reference"], row["status"]) == (
        device_id, case_id, "CONTRACT-CASE", "awaiting")
    assert s.case_by_reference("CONTRACT-CASE")["id"] == case_id
    # A label belongs to one case: asking for it under another names the case it is in.
    with pytest.raises(StoreError, match="CONTRACT-CASE"):
        s.ensure_device(scene.case, "CONTRACT-DEV")
    labels = [d["label"] for d in s.devices()]
    assert labels == sorted(labels) and labels.count("CONTRACT-DEV") == 1
    status = s.device(scene.device)["status"]
    s.set_device_status(device_id, "reviewed")
    assert s.device("CONTRACT-DEV")["status"] == "reviewed"
    assert s.device(scene.device)["status"] == status  # that device's only


@covers("device", "hashset", "remove_hashset", "iter_list_entries", "require_user",
        "case_by_reference", "welfare_person", "welfare_alert", "device_case_id")
def test_unknown_names_raise_store_error_naming_known_ones(ws: Ctx):
    s, scene = ws.store, ws.scene
    team(s, scene)
    with pytest.raises(StoreError, match=re.escape(scene.device)):
        s.device("NO-SUCH-DEVICE")
    with pytest.raises(StoreError, match=re.escape(sorted(scene.lists)[0])):
        s.hashset("no-such-list")
    with pytest.raises(StoreError, match=re.escape(sorted(scene.lists)[0])):
        s.remove_hashset("no-such-list")
    with pytest.raises(StoreError, match=re.escape(sorted(scene.lists)[0])):
        list(s.iter_list_entries("no-such-list"))
    with pytest.raises(StoreError, match="contract-lead"):
        s.require_user("nobody")
    with pytest.raises(StoreError, match="contract-lead"):
        s.welfare_person("nobody")
    with pytest.raises(StoreError, match=re.escape(scene.case)):
        s.case_by_reference("NO-SUCH-CASE")
    with pytest.raises(StoreError):
        s.welfare_alert(10**9)
    with pytest.raises(StoreError):
        s.device_case_id(10**9)
    assert s.device_case_id(scene.device_id) == scene.case_id


@covers("transaction", "ensure_case", "ensure_device", "device", "case_by_reference",
        "audit_start", "audit_entries", "abandon_transaction")
def test_a_transaction_that_raises_leaves_nothing_and_nested_ones_join_it(ws: Ctx):
    s = ws.store
    audit = s.audit_entries(10_000)
    with pytest.raises(Boom):
        with s.transaction():
            s.ensure_device("TX-CASE", "TX-DEV")
            s.audit_start("contract", {"device": "TX-DEV"}, "0")
            raise Boom
    with pytest.raises(StoreError):
        s.device("TX-DEV")
    with pytest.raises(StoreError):
        s.case_by_reference("TX-CASE")
    assert s.audit_entries(10_000) == audit
    # A store method refusing inside a transaction takes the whole transaction with it.
    with pytest.raises(StoreError):
        with s.transaction():
            s.ensure_device("TX-CASE", "TX-DEV")
            s.ensure_device("TX-OTHER-CASE", "TX-DEV")
    with pytest.raises(StoreError):
        s.device("TX-DEV")
    # Nested transactions join the outer one: what the inner one did goes with the outer.
    with pytest.raises(Boom):
        with s.transaction():
            with s.transaction():
                s.ensure_case("TX-INNER")
            assert s.case_by_reference("TX-INNER")["reference"] == "TX-INNER"
            raise Boom
    with pytest.raises(StoreError):
        s.case_by_reference("TX-INNER")
    with s.transaction():
        with s.transaction():
            s.ensure_case("TX-KEPT")
        s.ensure_device("TX-KEPT", "TX-KEPT-DEV")
    assert s.device("TX-KEPT-DEV")["case_reference"] == "TX-KEPT"
    s.abandon_transaction()  # none open: nothing happens, nothing is lost
    assert s.device("TX-KEPT-DEV")["case_reference"] == "TX-KEPT"
    s.ensure_case("TX-AFTER")  # and the store still writes
    assert s.case_by_reference("TX-AFTER")["reference"] == "TX-AFTER"


@covers("audit_start", "audit_finish", "audit_entries", "audit_event", "audit_for_device",
        "device_audit")
def test_audit_rows_round_trip(ws: Ctx):
    s, label = ws.store, ws.scene.device
    aid = s.audit_start("contract-check", {"device": label, "n": 3, "where": Path("/x")}, "9.9")
    row = s.audit_entries(1)[0]
    assert row["id"] == aid and row["command"] == "contract-check"
    assert row["arguments"] == {"device": label, "n": 3, "where": "/x"}
    assert row["tool_version"] == "9.9" and row["os_user"] and row["started_at"]
    assert (row["finished_at"], row["outcome"], row["counts"]) == (None, None, None)
    s.audit_finish(aid, "ok", {"files": 2})
    row = next(r for r in s.audit_entries(10_000) if r["id"] == aid)
    assert (row["outcome"], row["counts"]) == ("ok", {"files": 2})
    assert row["finished_at"] >= row["started_at"]
    eid = s.audit_event("web:image", {"params": {"device": label}, "content_id": 1}, "9.9",
                        at(0), "refused")
    newest = s.audit_entries(2)
    assert [r["id"] for r in newest] == [eid, aid]  # newest first
    assert (newest[0]["started_at"], newest[0]["finished_at"], newest[0]["outcome"]) == (
        at(0), at(0), "refused")
    other = s.audit_start("contract-check", {"device": label + "-2"}, "9.9")
    ids = [r["id"] for r in s.audit_for_device(label)]
    assert aid in ids and eid in ids and other not in ids and ids == sorted(ids)
    trail = {r["id"]: r for r in s.device_audit(label)}
    assert set(trail) == set(ids)
    assert trail[aid]["params"] == {"device": label, "n": 3, "where": "/x"}
    assert trail[eid]["params"] == {"device": label}


# -- ingest: sources, runs, files ------------------------------------------------------------
def _digest(seed: str) -> dict[str, str]:
    data = seed.encode()
    return {"md5": hashlib.md5(data).hexdigest(), "sha1": hashlib.sha1(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest()}


def _picture_result(path: str, seed: str, **kw: Any) -> Any:
    media = MediaInfo("image", 64, 48, frames=2, exif_make="Contract", exif_model="Cam 1",
                      exif_datetime_original="2030:01:02 03:04:05", exif_gps=True)
    signals = [SignalValue("pdq", "AB" * 32, 90, 0), SignalValue("pdq", "cd" * 32, 70, 1, 0.5),
               SignalValue("phash", "F0" * 8), SignalValue("dhash", "0f" * 8)]
    derivatives = [Derivative(1, f"{seed}/1.jpg", 0.5), Derivative(0, f"{seed}/0.jpg")]
    return file_result(path, None, size=1234, detected_type="jpeg", media_kind="image",
                       ext_mismatch=False, media=media, signals=signals,
                       derivatives=derivatives, mtime=1_900_000_000.5, **_digest(seed), **kw)


@covers("ensure_source", "start_run", "record_files", "finish_run", "runs_for", "iter_files",
        "done_paths", "device_summary", "source_id", "source_kinds", "source_continuity",
        "forget_unfinished_archives")
def test_recorded_files_read_back_and_agree(ws: Ctx):
    s, scene = ws.store, ws.scene
    dev = s.ensure_device(scene.case, "CONTRACT-REC")
    src = s.ensure_source(dev, "/evidence/rec", "folder", "rec")
    assert s.ensure_source(dev, "/evidence/rec", "folder", "rec") == src
    assert s.source_id(dev, "/evidence/rec") == src and s.source_id(dev, "/elsewhere") is None
    run = s.start_run(dev, src)
    a = _picture_result("DCIM/a.jpg", "a")
    results = [
        a, replace(a, path="Saved/b.jpg"),
        file_result("DCIM/c.jpg", None, status="corrupt", reason="jpeg does not decode",
                    detected_type="jpeg", media_kind="image", **_digest("c")),
        file_result("box.zip", None, detected_type="zip", media_kind="archive",
                    archive_state="pending", **_digest("box")),
        file_result("box.zip!/m.jpg", None, **_digest("m")),
        file_result("later.zip", None, detected_type="zip", media_kind="archive",
                    archive_state="pending", **_digest("later")),
        file_result("empty.txt", None, size=0, status="empty", reason="0 bytes"),
    ]
    s.record_files(dev, src, run, results,
                   archive_updates=[("box.zip", "damaged", "zip is truncated", "corrupt")])
    rows = list(s.iter_files(dev))
    by_path = {r["path"]: r for r in rows}
    assert [r["path"] for r in rows] == sorted(by_path)
    assert set(FILE_FIELDS) <= set(rows[0])
    assert set(by_path) == s.done_paths(dev, src) == {r.path for r in results}
    assert (by_path["box.zip"]["status"], by_path["box.zip"]["reason"]) == (
        "corrupt", "zip is truncated")
    got = by_path["DCIM/a.jpg"]
    assert (got["md5"], got["sha256"], got["size"], got["width"], got["height"]) == (
        a.md5, a.sha256, 1234, 64, 48)
    assert (got["pdq"], got["pdq_quality"], got["phash"], got["dhash"]) == (
        "ab" * 32, 90, "f0" * 8, "0f" * 8)
    assert (got["exif_make"], got["exif_gps"], got["ext_mismatch"], got["frames"]) == (
        "Contract", True, False, 2)
    assert got["mtime"] == 1_900_000_000.5
    assert got["content_id"] == by_path["Saved/b.jpg"]["content_id"]
    assert got["duplicate_count"] == 1 and got["copies_in_case"] >= 2
    assert by_path["empty.txt"]["content_id"] is None
    summary = s.device_summary(dev)
    hashed = [r for r in rows if r["content_id"] is not None]
    assert (summary["files"], summary["hashed"]) == (len(rows), len(hashed))
    assert summary["unique_contents"] == len({r["content_id"] for r in hashed})
    assert summary["duplicate_files"] == 1
    assert summary["by_status"] == dict(Counter(r["status"] for r in rows))
    assert (summary["image_files"], summary["unique_images"]) == (2, 1)
    assert summary["bytes"] == sum(r["size"] or 0 for r in rows)
    # Recording a path again replaces its row; a resumed run forgets unfinished archives.
    s.record_files(dev, src, run, [replace(results[2], status="ok", reason=None)])
    assert len(list(s.iter_files(dev))) == len(rows)
    assert {r["path"]: r["status"] for r in s.iter_files(dev)}["DCIM/c.jpg"] == "ok"
    assert s.forget_unfinished_archives(dev, src) == 1
    assert s.done_paths(dev, src) == set(by_path) - {"later.zip"}
    s.finish_run(run, "completed", {"files": len(results)})
    second = s.start_run(dev, src)
    s.start_run(dev, src)  # the second was never finished: it was interrupted
    runs = s.runs_for(dev)
    assert [(r["id"] == second, r["state"]) for r in runs] == [
        (False, "completed"), (True, "interrupted"), (False, "running")]
    assert all(r["location"] == "/evidence/rec" and r["started_at"] for r in runs)
    assert runs[0]["finished_at"] is not None and runs[2]["finished_at"] is None
    assert s.source_kinds(dev) == {"rec": {"folder"}}
    (cont,) = s.source_continuity(dev)
    assert (cont["source_id"], cont["location"], cont["name"], cont["kind"]) == (
        src, "/evidence/rec", "rec", "folder")
    assert [r["state"] for r in cont["runs"]] == ["completed", "interrupted", "running"]


@covers("iter_files", "device_summary", "done_paths", "source_continuity", "runs_for")
def test_an_ingested_device_reads_the_same_every_way(ws: Ctx):
    s, scene = ws.store, ws.scene
    rows = list(s.iter_files(scene.device_id))
    summary = s.device_summary(scene.device_id)
    assert summary["files"] == len(rows) > 0
    assert summary["by_status"] == dict(Counter(r["status"] for r in rows))
    assert summary["by_kind"] == dict(Counter(r["media_kind"] or "unknown" for r in rows))
    assert summary["hashed"] == sum(r["content_id"] is not None for r in rows)
    assert summary["ext_mismatches"] == sum(bool(r["ext_mismatch"]) for r in rows)
    per_content = Counter(r["content_id"] for r in rows if r["content_id"] is not None)
    for r in rows:
        assert r["status"] and (r["status"] == "ok" or r["reason"]), r["path"]
        if r["content_id"] is not None:
            assert r["duplicate_count"] == per_content[r["content_id"]] - 1, r["path"]
            assert r["copies_in_case"] >= per_content[r["content_id"]], r["path"]
    assert per_content[scene.copied] >= 2
    assert summary["known_files"] == sum(r["known"] for r in rows)
    by_category = Counter(r["category"] for r in rows
                          if r["known"] and r["match_kind"] != "known-good" and r["category"])
    assert summary["by_category"] == dict(sorted(by_category.items()))
    sources = s.source_continuity(scene.device_id)
    assert sources and set().union(*(s.done_paths(scene.device_id, src["source_id"])
                                     for src in sources)) == {r["path"] for r in rows}
    assert [r["state"] for r in s.runs_for(scene.device_id)][-1] == "completed"


# -- signals and derivatives -----------------------------------------------------------------
@covers("signal_values", "content_signals", "derivatives_of", "record_files", "content_facts",
        "iter_files")
def test_signal_values_and_derivatives_round_trip(ws: Ctx):
    s, scene = ws.store, ws.scene
    dev, _ = record_exhibit(s, scene.case, "CONTRACT-SIG", [_picture_result("x.jpg", "sig")])
    cid = first(s.iter_files(dev))["content_id"]
    assert s.signal_values([cid], "pdq") == {cid: [SignalValue("pdq", "ab" * 32, 90, 0),
                                                   SignalValue("pdq", "cd" * 32, 70, 1, 0.5)]}
    assert s.signal_values([cid], "no-such-signal") == {}
    got = s.content_signals(cid)
    assert [v.signal for v in got[:3]] == ["md5", "sha1", "sha256"]
    assert got[2].value == _digest("sig")["sha256"]
    assert [(v.signal, v.frame) for v in got[3:]] == [("dhash", 0), ("pdq", 0), ("pdq", 1),
                                                      ("phash", 0)]
    assert s.derivatives_of([cid]) == {cid: [Derivative(0, "sig/0.jpg"),
                                             Derivative(1, "sig/1.jpg", 0.5)]}
    # The same bytes seen again keep their first examination.
    again = replace(_picture_result("y.jpg", "sig"), signals=[SignalValue("pdq", "00" * 32, 10)],
                    derivatives=[Derivative(0, "other.jpg")])
    record_exhibit(s, scene.case, "CONTRACT-SIG-2", [again])
    assert s.signal_values([cid], "pdq")[cid][0].value == "ab" * 32
    assert s.derivatives_of([cid])[cid][0].name == "sig/0.jpg"
    assert s.content_signals(10**9) == [] and s.content_facts(10**9) is None
    # An ingested device: every picture's frame-0 values read the same from every method.
    rows = {r["content_id"]: r for r in s.iter_files(scene.device_id)}
    pdq = s.signal_values(scene.pictures, "pdq")
    derivatives = s.derivatives_of(scene.pictures)
    for picture in scene.pictures:
        facts = s.content_facts(picture)
        assert pdq[picture][0].frame == 0
        assert pdq[picture][0].value == rows[picture]["pdq"] == facts["pdq"]
        assert facts["sha256"] == rows[picture]["sha256"]
        assert derivatives[picture][0].frame == 0


# -- hash lists and matches ------------------------------------------------------------------
def _entry(seed: str, category: str | None, name: str | None = None, *, pdq: bytes | None = None,
           record: str | None = None) -> tuple[Any, ...]:
    d = _digest(seed)
    return (bytes.fromhex(d["md5"]), bytes.fromhex(d["sha1"]), bytes.fromhex(d["sha256"]), pdq,
            90 if pdq else None, category, name, record)


@covers("write_hashset", "hashset", "hashsets", "iter_list_entries", "list_entries_by_id",
        "lookup_digests", "remove_hashset", "stale_imports", "clean_stale_imports",
        "replace_matches", "matches_for_device")
def test_write_hashset_swaps_whole_lists_and_remove_hashset_removes(ws: Ctx):
    s, scene = ws.store, ws.scene
    names = [h["name"] for h in s.hashsets()]
    v1 = [_entry("one", "A", "one.jpg", record='{"Series": "S"}'), _entry("two", "B")]
    new, old = s.write_hashset("contract-list", "alert", "csv", "uk", "/lists/v1.csv", "s1", v1)
    assert old is None and (new["name"], new["kind"], new["entry_count"]) == (
        "contract-list", "alert", 2)
    assert s.hashset("contract-list") == new
    entries = list(s.iter_list_entries("contract-list"))
    assert [(e["md5"], e["category_raw"], e["name"], e["record"]) for e in entries] == [
        (_digest("one")["md5"], "A", "one.jpg", {"Series": "S"}),
        (_digest("two")["md5"], "B", None, None)]
    assert s.list_entries_by_id(new["id"], [e["id"] for e in entries]) == {
        e["id"]: e for e in entries}
    cid = scene.pictures[0]
    s.replace_matches([cid], [new["id"]], [(cid, new["id"], "md5", None, 0, "A", "A", None)])
    assert "contract-list" in {m["hashset"] for m in s.matches_for_device(scene.device_id)[cid]}
    # Importing the name again swaps the whole list: the old entries and matches go with it.
    v2 = [_entry("three", "C")]
    newer, replaced = s.write_hashset("contract-list", "alert", "csv", "uk", "/lists/v2.csv",
                                      "s2", v2)
    assert replaced is not None and replaced["id"] == new["id"] != newer["id"]
    assert [e["md5"] for e in s.iter_list_entries("contract-list")] == [_digest("three")["md5"]]
    three, one = bytes.fromhex(_digest("three")["md5"]), bytes.fromhex(_digest("one")["md5"])
    assert list(s.lookup_digests(newer["id"], "md5", [one, three])) == [(three, "C")]
    assert "contract-list" not in {m["hashset"] for m in
                                   s.matches_for_device(scene.device_id).get(cid, [])}

    # A list that fails half-way through changes nothing.
    def broken() -> Iterator[tuple[Any, ...]]:
        yield _entry("four", "A")
        raise ListFormatError("line 2: not a hash")

    with pytest.raises(ListFormatError):
        s.write_hashset("contract-list", "alert", "csv", "uk", "/lists/v3.csv", "s3", broken())
    assert s.hashset("contract-list") == newer
    assert [e["md5"] for e in s.iter_list_entries("contract-list")] == [_digest("three")["md5"]]
    assert sorted(h["name"] for h in s.hashsets()) == sorted(names + ["contract-list"])
    assert s.stale_imports() == [] and s.clean_stale_imports() == []
    assert s.remove_hashset("contract-list")["id"] == newer["id"]
    with pytest.raises(StoreError):
        s.hashset("contract-list")
    assert [h["name"] for h in s.hashsets()] == sorted(names)


@covers("write_hashset", "lookup_digests", "list_signal_batches", "alert_pdq_lists")
def test_lookups_find_exactly_the_digests_a_list_holds(ws: Ctx):
    s = ws.store
    # More entries than one bound batch holds, so lookups cross chunk boundaries.
    pdq = bytes(range(32))
    rows = [_entry(f"e{i}", "A" if i % 2 else "B") for i in range(1200)]
    rows.append(_entry("with-pdq", "A", pdq=pdq))
    hs, _ = s.write_hashset("contract-big", "alert", "csv", "uk", "/big.csv", "s", rows)
    for algo in ("md5", "sha1", "sha256"):
        present = [bytes.fromhex(_digest(f"e{i}")[algo]) for i in range(1200)]
        absent = [bytes.fromhex(_digest(f"absent{i}")[algo]) for i in range(50)]
        found = dict(s.lookup_digests(hs["id"], algo, absent + present))
        assert set(found) == set(present), algo
        assert found[present[1]] == "A" and found[present[2]] == "B"
        assert list(s.lookup_digests(hs["id"], algo, [])) == []
    with pytest.raises(ValueError):
        list(s.lookup_digests(hs["id"], "crc32", [b"1234"]))
    batches = list(s.list_signal_batches(hs["id"], "pdq"))
    assert [row for batch in batches for row in batch] == [(1201, pdq, 90, 0, None)]
    assert hs["id"] in [h["id"] for h in s.alert_pdq_lists()]
    good, _ = s.write_hashset("contract-good", "known-good", "csv", "none", "/g.csv", "s",
                              [_entry("g", None, pdq=pdq)])
    assert good["id"] not in [h["id"] for h in s.alert_pdq_lists()]


@covers("replace_matches", "matches_for_device", "content_matches", "known_categories",
        "write_hashset")
def test_replace_matches_replaces_only_the_given_contents_and_lists(ws: Ctx):
    s, scene = ws.store, ws.scene
    l1, _ = s.write_hashset("contract-l1", "alert", "csv", "uk", "/l1", "s", [_entry("x", "B")])
    l2, _ = s.write_hashset("contract-l2", "alert", "csv", "uk", "/l2", "s", [_entry("y", "A")])
    c1, c2 = scene.pictures[:2]
    before = s.matches_for_device(scene.device_id)

    def ours() -> dict[int, list[tuple[Any, ...]]]:
        got = s.matches_for_device(scene.device_id)
        for cid in set(got) | set(before):  # every other list's matches stay as they were
            assert [m for m in got.get(cid, []) if not m["hashset"].startswith("contract-")] \
                == before.get(cid, []), cid
        return {cid: [(m["hashset"], m["method"], m["near"], m["category"], m["frame"])
                      for m in ms if m["hashset"].startswith("contract-")]
                for cid, ms in got.items() if cid in (c1, c2)}

    s.replace_matches([c1, c2], [l1["id"]], [(c1, l1["id"], "md5", None, 0, "B", "B", None),
                                             (c2, l1["id"], "pdq", 12, 1, "1", "A", 0)])
    s.replace_matches([c1], [l2["id"]], [(c1, l2["id"], "sha1", None, 0, "A", "A", None)])
    assert ours() == {c1: [("contract-l1", "md5", False, "B", None),
                           ("contract-l2", "sha1", False, "A", None)],
                      c2: [("contract-l1", "pdq", True, "A", 0)]}
    known = s.known_categories([c1, c2])
    assert set(known) == {c1}  # a near match never categorises
    assert (known[c1].category, known[c1].hashset, known[c1].others) == ("A", "contract-l2",
                                                                         ("B",))
    s.replace_matches([c1], [l1["id"]], [])
    assert ours() == {c1: [("contract-l2", "sha1", False, "A", None)],
                      c2: [("contract-l1", "pdq", True, "A", 0)]}
    s.replace_matches([c1, c2], [], [])  # no lists named: nothing forgotten
    assert len(ours()) == 2
    assert [(m["hashset"], m["near"]) for m in s.content_matches(c2)
            if m["hashset"].startswith("contract-")] == [("contract-l1", True)]


@covers("known_categories", "matches_for_device", "known_kind", "known_matched_images",
        "content_category", "near_match_categories", "list_hits", "near_candidates",
        "hashsets_used", "iter_files")
def test_known_material_is_read_the_same_way_everywhere(ws: Ctx):
    s, scene = ws.store, ws.scene
    matches = s.matches_for_device(scene.device_id)
    known = s.known_categories(device_id=scene.device_id)
    assert {cid: k.category for cid, k in known.items()} == scene.known and known
    for cid, ms in matches.items():
        exact_alert = [m for m in ms if not m["near"] and m["kind"] == "alert"]
        if not exact_alert:
            assert cid not in known
            continue
        cats = sorted((m["category"] or UNCATEGORISED for m in exact_alert), key=severity_rank)
        assert known[cid].category == cats[0]  # the most severe stands
        assert set(known[cid].others) == set(cats) - {cats[0]}
        assert s.known_categories([cid])[cid] == known[cid]
        assert s.content_category(cid) == cats[0] or any(
            d["content_id"] == cid for d in s.decisions_for(scene.device_id))
    rows = list(s.iter_files(scene.device_id))
    for r in rows:
        if r["content_id"] in known:
            assert r["known"] and r["category"] == known[r["content_id"]].category, r["path"]
    kinds = {cid: {m["kind"] for m in ms if not m["near"]} for cid, ms in matches.items()}
    for cid, k in kinds.items():
        assert s.known_kind(cid) == ("known-good" if "known-good" in k else
                                     "known" if k else None)
    assert s.known_kind(scene.pictures[0]) is None
    images = {r["content_id"]: r for r in s.known_matched_images(scene.device_id)}
    assert set(images) == {cid for cid, k in kinds.items() if k and "known-good" not in k
                           and any(r["content_id"] == cid and r["media_kind"] == "image"
                                   for r in rows)}
    for cid, img in images.items():
        assert img["category"] == (known[cid].category if cid in known else None)
    near = s.near_match_categories(list(matches))
    for cid, ms in matches.items():
        alert_near = [m["distance"] for m in ms if m["near"] and m["kind"] == "alert"]
        assert (near[cid]["distance"] if cid in near else None) == (
            min(alert_near) if alert_near else None)
    hits = s.list_hits(scene.device_id)
    per_list: dict[str, dict[str, set[int]]] = {}
    for cid, ms in matches.items():
        for m in ms:
            per_list.setdefault(m["hashset"], {"exact": set(), "near": set()})[
                "near" if m["near"] else "exact"].add(cid)
    assert hits == {name: {"exact": len(v["exact"]), "near": len(v["near"] - v["exact"])}
                    for name, v in per_list.items()}
    candidates = {(c["content_id"], c["hashset"]) for c in s.near_candidates(scene.device_id)}
    assert candidates == {(cid, name) for name, v in per_list.items()
                          for cid in v["near"] - v["exact"]}
    used = {h["name"]: h["hits"] for h in s.hashsets_used(scene.device_id)}
    assert set(used) == set(scene.lists)
    assert used == {name: len(per_list.get(name, {"exact": ()})["exact"]) for name in used}


@covers("contents_to_match", "pdq_variants", "save_pdq_variants", "iter_files")
def test_contents_to_match_and_pdq_variants_round_trip(ws: Ctx):
    s, scene = ws.store, ws.scene
    rows = list(s.iter_files(scene.device_id))
    todo = {c["id"]: c for c in s.contents_to_match(scene.device_id)}
    assert set(todo) == {r["content_id"] for r in rows if r["content_id"] is not None}
    for r in rows:
        if r["content_id"] is not None:
            c = todo[r["content_id"]]
            assert (c["md5"], c["sha256"], c["pdq"]) == (r["md5"], r["sha256"], r["pdq"])
    assert set(todo) <= {c["id"] for c in s.contents_to_match()}
    cid = scene.pictures[0]
    variants = [(cid, 0, v, f"{v:02x}" * 32, 50 + v) for v in range(8)]
    s.save_pdq_variants(variants)
    assert s.pdq_variants([cid]) == {(cid, 0): [(p, q) for _, _, _, p, q in variants]}
    s.save_pdq_variants([(cid, 0, 3, "ee" * 32, 99)])  # saving again replaces
    assert s.pdq_variants([cid])[(cid, 0)][3] == ("ee" * 32, 99)
    assert s.pdq_variants([]) == {}


# -- users and access ------------------------------------------------------------------------
@covers("add_user", "user_by_name", "user", "users", "require_user", "set_active",
        "set_password", "end_sessions", "reserve_login_attempt", "login_failed",
        "login_succeeded", "unlock_user", "active_reviewer_count", "assign_case")
def test_users_and_sign_in_attempts(ws: Ctx):
    s, scene = ws.store, ws.scene
    reviewers = s.active_reviewer_count()
    uid = s.add_user("contract-user", "reviewer", "h1", at(0))
    assert s.active_reviewer_count() == reviewers + 1
    with pytest.raises(StoreError):
        s.add_user("contract-user", "lead", "h2", at(0))
    with pytest.raises(StoreError, match="reviewer"):
        s.add_user("contract-other", "superuser", "h2", at(0))
    u = s.user_by_name("contract-user")
    assert s.user(uid) == u == s.require_user("contract-user")
    assert (u["role"], bool(u["active"]), u["failed_logins"], u["locked_until"]) == (
        "reviewer", True, 0, None)
    assert s.user_by_name("nobody") is None and s.user(10**9) is None
    assert s.assign_case(scene.case_id, uid) is True
    listed = {x["name"]: x for x in s.users()}
    assert listed["contract-user"]["cases"] == [scene.case] and listed["contract-user"]["active"]
    names = [x["name"] for x in s.users()]
    assert names == sorted(names)
    # Every change that should end sessions moves the session generation on.
    gen = u["session_generation"]
    s.end_sessions(uid)
    s.set_password(uid, "h3")
    assert s.user(uid)["password_hash"] == "h3"
    s.set_active(uid, False)
    assert s.user(uid)["session_generation"] == gen + 3
    assert {x["name"]: x["active"] for x in s.users()}["contract-user"] is False
    assert s.active_reviewer_count() == reviewers
    s.set_active(uid, True)
    # Sign-in attempts are reserved before the check; the lock holds until its time.
    for _ in range(3):
        assert s.reserve_login_attempt("contract-user", 3, at(1)) == (
            s.user(uid) | {"failed_logins": s.user(uid)["failed_logins"] - 1}, True)
    assert s.reserve_login_attempt("contract-user", 3, at(1))[1] is False
    assert s.login_failed(uid, 3, at(100)) is True
    assert s.user(uid)["locked_until"] == at(100)
    assert s.reserve_login_attempt("contract-user", 3, at(50))[1] is False
    s.login_succeeded(uid)  # a right password never lifts a lock
    assert s.user(uid)["locked_until"] == at(100)
    user, allowed = s.reserve_login_attempt("contract-user", 3, at(101))  # the lock expired
    assert allowed and user["locked_until"] is None
    s.login_succeeded(uid)
    assert s.user(uid)["failed_logins"] == 0
    assert s.login_failed(uid, 3, at(200)) is False
    s.reserve_login_attempt("contract-user", 1, at(102))
    s.login_failed(uid, 1, at(300))
    s.unlock_user(uid)
    assert (s.user(uid)["locked_until"], s.user(uid)["failed_logins"]) == (None, 0)
    assert s.reserve_login_attempt("nobody", 3, at(1)) == (None, False)


@covers("assign_case", "assigned_devices", "may_view_device", "viewable_content",
        "content_on_device", "case_devices", "device_summary")
def test_case_assignment_decides_what_a_reviewer_may_see(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    assert s.assign_case(scene.case_id, t.reviewer["id"]) is False  # already assigned
    other = s.device(scene.other_case_device)
    mine = {d["label"] for d in s.assigned_devices(t.reviewer["id"])}
    assert scene.device in mine and scene.other_case_device not in mine
    assert mine == {d["label"] for d in s.devices() if d["case_id"] == scene.case_id}
    assert s.may_view_device(t.reviewer["id"], scene.device_id)
    assert not s.may_view_device(t.reviewer["id"], other["id"])
    assert not s.may_view_device(t.outsider["id"], scene.device_id)
    assert s.may_view_device(t.outsider["id"], other["id"])
    only_here = next(c for c in scene.pictures if not s.content_on_device(other["id"], c))
    assert s.content_on_device(scene.device_id, only_here)
    seen = s.viewable_content(t.reviewer["id"], only_here)
    assert seen is not None and seen["id"] == only_here and seen["sha256"]
    # Another case's reviewer, a missing picture: the same answer.
    assert s.viewable_content(t.outsider["id"], only_here) is None
    assert s.viewable_content(t.reviewer["id"], 10**9) is None
    exhibits = {d["label"]: d for d in s.case_devices(scene.case_id)}
    assert exhibits[scene.device]["files"] == s.device_summary(scene.device_id)["files"]
    assert set(exhibits) == mine


# -- decisions -------------------------------------------------------------------------------
def _decision_state(s: Any, device_id: int, content_id: int) -> tuple[Any, ...]:
    return (s.decisions_for(device_id), s.current_decisions(device_id),
            s.decision_counts(device_id), s.file_categories(device_id),
            s.content_category(content_id), s.device_counts(device_id),
            sorted(p["content_id"] for p in s.unseen_pictures(device_id)))


@covers("decide", "undo_last_decision", "decisions_for", "current_decisions", "decision_counts",
        "file_categories", "content_category", "device_counts", "unseen_pictures",
        "transaction", "queue_pending", "decisions_by_reviewer")
def test_decide_then_undo_restores_exactly(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, target = scene.device_id, scene.pictures[0]
    before = _decision_state(s, dev, target)
    pending = s.queue_pending(dev)
    with pytest.raises(Boom):  # a decision in a transaction that fails is not made
        with s.transaction():
            s.decide(dev, target, t.reviewer["id"], "uk", "B", at(5))
            raise Boom
    assert _decision_state(s, dev, target) == before and s.queue_pending(dev) == pending
    made = s.decide(dev, target, t.reviewer["id"], "uk", "B", at(10))
    assert target in made["content_ids"] and made["rows"] >= 1
    now = s.current_decisions(dev)[target]
    assert (now["category"], now["scheme"], now["via"], now["user"], now["decided_at"]) == (
        "B", "uk", "direct", "contract-rev-a", at(10))
    counts = s.decision_counts(dev)
    assert counts["B"] == before[2].get("B", 0) + 1
    paths = {r["path"] for r in s.iter_files(dev) if r["content_id"] == target}
    cats = s.file_categories(dev)
    assert {p: cats[p] for p in paths} == {p: "B" for p in paths}
    assert {p: c for p, c in cats.items() if p not in paths} == {
        p: c for p, c in before[3].items() if p not in paths}
    assert s.content_category(target) == "B"
    assert target not in {p["content_id"] for p in s.unseen_pictures(dev)}
    assert s.device_counts(dev)["decided"] == before[5]["decided"] + 1
    assert s.device_counts(dev)["unseen"] == before[5]["unseen"] - 1
    assert s.decisions_by_reviewer(dev)["contract-rev-a"] == 1
    ids, _ = s.queue_pending(dev)
    assert ids is None or target in ids
    for user in (t.reviewer, t.second):  # never silently over another decision
        with pytest.raises(StoreError):
            s.decide(dev, target, user["id"], "uk", "A", at(11))
    undone = s.undo_last_decision(dev, t.reviewer["id"], at(20))
    assert (undone["action_id"], undone["content_ids"]) == (made["action_id"],
                                                            made["content_ids"])
    assert _decision_state(s, dev, target) == before
    history = [d for d in s.decisions_for(dev, active_only=False) if d["content_id"] == target
               and d["action_id"] == made["action_id"]]
    assert [d["undone_at"] for d in history] == [at(20)]
    assert s.undo_last_decision(dev, t.reviewer["id"], at(21)) is None


@covers("decide", "decisions_for", "content_decisions", "content_in_case",
        "undo_last_decision")
def test_a_decision_spreads_to_the_picture_on_the_cases_other_exhibits_only(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev = scene.device_id
    target = scene.same_case_copy[1] if scene.same_case_copy else scene.pictures[0]
    sibling = exhibit_holding(s, scene, target)
    other = s.device(scene.other_case_device)
    if not s.content_on_device(other["id"], target):  # the picture in another case too
        row = next(r for r in s.iter_files(dev) if r["content_id"] == target)
        s.record_files(*_source_of(s, other), [file_result("elsewhere.jpg", row)])
    assert scene.device not in {c["device"] for c in s.content_in_case(dev, target)}
    assert s.device(scene.other_case_device)["label"] not in {
        c["device"] for c in s.content_in_case(dev, target)}
    assert s.device_case_id(sibling) == scene.case_id
    decided, fresh = [c for c in scene.pictures if c != target][:2]
    s.decide(dev, decided, t.second["id"], "uk", "C", at(1))
    made = s.decide(dev, target, t.reviewer["id"], "uk", "B", at(2), cluster_ids=[decided, fresh])

    def rows(device_id: int) -> dict[int, tuple[str, str, int]]:
        return {d["content_id"]: (d["category"], d["via"], d["user_id"])
                for d in s.decisions_for(device_id) if d["content_id"] in (target, decided, fresh)}

    rev, second = t.reviewer["id"], t.second["id"]
    assert rows(dev) == {target: ("B", "direct", rev), fresh: ("B", "cluster", rev),
                         decided: ("C", "direct", second)}
    assert rows(sibling)[target] == ("B", "duplicate", rev)
    assert target not in rows(other["id"])
    assert {d["action_id"] for d in s.decisions_for(sibling) if d["content_id"] == target} == {
        made["action_id"]}
    history = s.content_decisions(dev, target)
    assert {(h["device"], h["category"]) for h in history} >= {(scene.device, "B"),
                                                               (_label(s, sibling), "B")}
    assert all(h["device"] != scene.other_case_device for h in history)
    s.undo_last_decision(dev, rev, at(3))
    assert rows(dev) == {decided: ("C", "direct", second)}
    assert target not in rows(sibling)


def _label(s: Any, device_id: int) -> str:
    return next(d["label"] for d in s.devices() if d["id"] == device_id)


def _source_of(s: Any, device: dict[str, Any]) -> tuple[int, int, int]:
    src = s.ensure_source(device["id"], "/evidence/elsewhere", "folder", "elsewhere")
    return device["id"], src, s.start_run(device["id"], src)


@covers("decide", "decide_uncertain", "uncertain_images", "undo_last_decision",
        "current_decisions")
def test_a_second_look_replaces_an_uncertain_mark_and_undo_brings_it_back(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, x, y = scene.device_id, scene.pictures[0], scene.pictures[1]
    s.decide(dev, x, t.reviewer["id"], "uk", "uncertain", at(1))
    waiting = {u["content_id"]: u for u in s.uncertain_images(dev)}
    assert waiting[x]["decided_by"] == "contract-rev-a" and waiting[x]["decided_at"] == at(1)
    with pytest.raises(StoreError):
        s.decide_uncertain(dev, x, t.second["id"], "uk", "uncertain", at(2))
    with pytest.raises(StoreError):
        s.decide_uncertain(dev, y, t.second["id"], "uk", "A", at(2))  # not marked uncertain
    s.decide_uncertain(dev, x, t.second["id"], "uk", "C", at(3))
    assert s.current_decisions(dev)[x]["category"] == "C"
    assert x not in {u["content_id"] for u in s.uncertain_images(dev)}
    back = s.undo_last_decision(dev, t.second["id"], at(4))
    assert back["restored_uncertain"] >= 1
    assert s.current_decisions(dev)[x]["category"] == "uncertain"
    assert x in {u["content_id"] for u in s.uncertain_images(dev)}


# -- exposure --------------------------------------------------------------------------------
@covers("start_exposure", "extend_exposure", "charge_delivery", "exposure_intervals",
        "exposure_totals", "exposure_for_device", "device_web_users", "welfare_exposure",
        "decide", "undo_last_decision")
def test_exposure_start_extend_charge_and_totals(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    u, dev = t.reviewer["id"], scene.device_id
    c1, c2 = scene.pictures[:2]
    e1 = s.start_exposure(u, c1, dev, "revealed", at(0))
    (row,) = s.exposure_intervals(u)
    assert (row["id"], row["seconds"], row["severity"], row["mode"]) == (
        e1, 0, UNCATEGORISED, "revealed")
    assert s.extend_exposure(e1, u, at(5)) == 5.0
    assert s.extend_exposure(e1, u, at(3)) == 5.0  # a late report never shortens it
    assert s.extend_exposure(e1, t.second["id"], at(9)) is None  # not theirs
    assert s.charge_delivery(e1, u, moment(6), 10) == 16.0
    e2 = s.start_exposure(u, c2, dev, "revealed", at(8))
    assert s.charge_delivery(e2, u, moment(8), 10) == 10.0
    e3 = s.start_exposure(u, None, dev, "blurred", at(30))
    assert s.extend_exposure(e3, u, at(90)) == 60.0
    seconds = {r["id"]: r["seconds"] for r in s.exposure_intervals(u)}
    assert seconds == {e1: 8.0, e2: 10.0, e3: 60.0}  # the next delivery ended the first charge
    weights = {"A": 3.0, UNCATEGORISED: 1.0}
    (day,) = s.exposure_totals(u, at(-1), "day", weights, 0.5)
    assert (day["period"], day["revealed_seconds"], day["items_revealed"],
            day["blurred_seconds"], day["weighted_units"], day["revealed_by_severity"]) == (
        "2031-03-03", 18.0, 2, 60.0, 0.8, {UNCATEGORISED: 18.0})
    (week,) = s.exposure_totals(u, at(-1), "week", weights, 0.5)
    assert week["period"] == "2031-03-03" and week["revealed_seconds"] == 18.0
    with pytest.raises(StoreError):
        s.exposure_totals(u, None, "month", weights, 0.5)
    # What was seen takes the category it turns out to have, and gives it back on undo.
    s.decide(dev, c1, t.second["id"], "uk", "A", at(100))
    assert {r["id"]: r["severity"] for r in s.exposure_intervals(u)}[e1] == "A"
    assert s.exposure_totals(u, at(-1), "day", weights, 0.5)[0]["weighted_units"] == round(
        8 / 60 * 3 + 10 / 60 + 0.5, 2)
    s.undo_last_decision(dev, t.second["id"], at(101))
    assert {r["id"]: r["severity"] for r in s.exposure_intervals(u)}[e1] == UNCATEGORISED
    mine = {r["reviewer"]: r for r in s.exposure_for_device(dev)}["contract-rev-a"]
    assert (mine["views"], mine["revealed"], mine["seconds"], mine["first"]) == (
        3, 2, 78.0, at(0))
    web = {r["name"]: r for r in s.device_web_users(dev)}
    assert web["contract-rev-a"]["views"] == 3 and web["contract-rev-b"]["decisions"] >= 1
    window = s.welfare_exposure(u, moment(-1), moment(3600))
    assert [w["id"] for w in window] == [e1, e2, e3]
    assert window[0]["start"] == moment(0) and window[2]["end"] == moment(90)
    assert s.exposure_intervals(u, since=at(20)) == [
        r for r in s.exposure_intervals(u) if r["id"] == e3]


# -- the recorded queue ----------------------------------------------------------------------
def _queue_key(s: Any, dev: int) -> list[tuple[int, float, int]]:
    return [(e["content_id"], e["score"], e["cluster_size"]) for e in s.queue_entries(dev)]


@covers("queue_build", "recorded_queue_devices", "queue_entries", "queue_counts", "queue_entry",
        "queue_position", "queue_members", "queue_member_rows", "queue_pending", "decide",
        "undo_last_decision", "save_queue", "update_queue", "queue_pending_mark",
        "clear_queue_pending", "mark_queue_all_pending", "mark_queue_shared_pending",
        "forget_queue", "queue_hashes", "unseen_pictures", "mark_queue_pending")
def test_the_recorded_queue_follows_decisions(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev = scene.device_id
    sibling = exhibit_holding(s, scene, scene.pictures[0])
    p = ws.pipeline()
    queue = p.open_queue(dev)
    p.record_queue(dev, "contract")
    build = s.queue_build(dev)
    assert build is not None and build["reason"] == "contract" and dev in \
        s.recorded_queue_devices()
    # Other exhibits holding its pictures compare theirs at their next read.
    ids, _ = s.queue_pending(sibling)
    assert ids is None or scene.pictures[0] in ids
    entries = s.queue_entries(dev)
    assert s.queue_counts(dev) == (len(entries), sum(e["cluster_size"] for e in entries))
    assert [(-e["score"], e["content_id"]) for e in entries] == sorted(
        (-e["score"], e["content_id"]) for e in entries)
    assert s.queue_entries(dev, 1, 2) == entries[1:3]
    for i, e in enumerate(entries):
        assert s.queue_entry(dev, e["content_id"]) == e
        assert s.queue_position(dev, e) == i + 1
    members = s.queue_members(dev, [e["content_id"] for e in entries])
    for e in entries:
        assert e["content_id"] in members[e["content_id"]]
        assert len(members[e["content_id"]]) == e["cluster_size"]
    unseen = {p["content_id"] for p in s.unseen_pictures(dev)}
    assert sorted(c for ms in members.values() for c in ms) == sorted(unseen)
    assert {m["content_id"] for m in s.queue_member_rows(dev)} == unseen
    blob, joined = s.queue_hashes(dev)
    assert isinstance(blob, bytes) and joined == []
    # A change to a picture is pending for every device holding it until read.
    s.mark_queue_pending([scene.pictures[0]])
    for device_id in (dev, sibling):
        ids, _ = s.queue_pending(device_id)
        assert ids is None or scene.pictures[0] in ids
    # Nothing changed: the pending marks are cleared and the queue stays as it was.
    original = _queue_key(s, dev)
    s.mark_queue_all_pending([dev])
    assert s.queue_pending(dev)[0] is None
    queue.refresh()
    assert s.queue_pending(dev) == ([], 0) and _queue_key(s, dev) == original
    # A decision leaves the queue at the next read; its undo brings it back as it was.
    top = entries[0]
    s.decide(dev, top["content_id"], t.reviewer["id"], "uk", "C", at(1))
    ids, _ = s.queue_pending(dev)
    assert ids is None or top["content_id"] in ids
    queue.refresh()
    assert s.queue_pending(dev) == ([], 0)
    assert top["content_id"] not in {c for ms in s.queue_members(
        dev, [e["content_id"] for e in s.queue_entries(dev)]).values() for c in ms}
    assert s.queue_counts(dev)[1] == len(unseen) - 1
    s.undo_last_decision(dev, t.reviewer["id"], at(2))
    queue.refresh()
    assert _queue_key(s, dev) == original
    # A forgotten queue is built again, the same, at its next read.
    s.forget_queue(dev)
    assert s.queue_build(dev) is None
    p.open_queue(dev)
    assert _queue_key(s, dev) == original


@covers("claim_entry", "claim_holder", "live_claims", "release_claims", "queue_next_free",
        "queue_entries", "decide")
def test_claims_give_reviewers_disjoint_entries_until_they_expire(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, a, b = scene.device_id, t.reviewer["id"], t.second["id"]
    ws.pipeline().open_queue(dev)
    entries = s.queue_entries(dev)
    assert len(entries) >= 4
    e0, e1, e2, e3 = (e["content_id"] for e in entries[:4])
    assert s.queue_next_free(dev, a, at(0)) == e0
    held = s.claim_entry(dev, e0, a, at(0), at(30))
    assert (held["user_id"], held["user"], held["expires_at"]) == (a, "contract-rev-a", at(30))
    assert s.queue_next_free(dev, b, at(0)) == e1  # b is offered the next entry
    assert s.claim_entry(dev, e0, b, at(1), at(31))["user_id"] == a  # refused: a holds it
    assert s.claim_entry(dev, e1, b, at(1), at(31))["user_id"] == b
    assert {k: v["user_id"] for k, v in s.live_claims(dev, at(2)).items()} == {e0: a, e1: b}
    assert s.queue_next_free(dev, b, at(2), after=entries[0]) == e1  # its own claim is free
    assert s.queue_next_free(dev, a, at(2), after=entries[0]) == e2
    assert s.queue_next_free(dev, a, at(2), after=entries[2], backwards=True) == e0
    # One open entry per reviewer: a's next claim releases the first.
    s.claim_entry(dev, e2, a, at(3), at(33))
    assert s.claim_holder(dev, e0, at(3)) is None
    for step in range(4):  # each takes the next free entry in turn: never the same one
        got = {}
        for user in (a, b):
            got[user] = s.queue_next_free(dev, user, at(4 + step))
            assert s.claim_entry(dev, got[user], user, at(4 + step), at(34))["user_id"] == user
        assert got[a] != got[b]
        live = s.live_claims(dev, at(4 + step))
        assert {k: v["user_id"] for k, v in live.items()} == {got[a]: a, got[b]: b}
    # A claim ends at its time: then another reviewer may take the entry.
    assert s.claim_holder(dev, e1, at(40)) is None
    assert s.claim_entry(dev, e1, a, at(40), at(70))["user_id"] == a
    s.release_claims(dev, a)
    assert a not in {v["user_id"] for v in s.live_claims(dev, at(41)).values()}
    s.claim_entry(dev, e3, b, at(42), at(72))
    s.decide(dev, e3, b, "uk", "C", at(43))  # a decided entry holds no claim
    assert s.claim_holder(dev, e3, at(44)) is None


# -- classifier scores -----------------------------------------------------------------------
@covers("classify_pending", "record_classifications", "classified_count",
        "classification_scores", "forget_classifications", "queue_models", "content_scores")
def test_classifications_are_kept_per_model_and_weights(ws: Ctx):
    s, scene = ws.store, ws.scene
    dev, model = scene.device_id, "contract-model"
    pending = dict(s.classify_pending(dev, model))
    assert set(pending) <= set(scene.pictures) and len(pending) >= 3
    c1, c2, c3 = sorted(pending)[:3]
    s.record_classifications(model, [(c1, 0.9), (c2, 0.1)], [(c3, "decoder refused")], "w1")
    assert not {c1, c2, c3} & {c for c, _ in s.classify_pending(dev, model)}
    assert not {c1, c2, c3} & {c for c, _ in s.classify_pending(dev, model, "w1")}
    assert {c1, c2, c3} <= {c for c, _ in s.classify_pending(dev, model, "w2")}
    assert (s.classified_count(dev, model), s.classified_count(dev, model, "w1"),
            s.classified_count(dev, model, "w2")) == (2, 2, 0)
    scores = s.classification_scores([c1, c2, c3])
    assert scores[c1][model] == 0.9 and scores[c2][model] == 0.1
    assert model not in scores.get(c3, {})
    # One row per picture and model: a score replaces a failure and a failure a score.
    s.record_classifications(model, [(c3, 0.5)], [(c1, "timed out")], "w1")
    scores = s.classification_scores([c1, c2, c3])
    assert model not in scores.get(c1, {}) and scores[c3][model] == 0.5
    assert s.classified_count(dev, model) == 2
    (row,) = [r for r in s.content_scores(c2) if r["model"] == model]
    assert (row["score"], row["weights_sha256"]) == (0.1, "w1") and row["created_at"]
    assert {"model": model, "weights_sha256": "w1", "scored": 2} in s.queue_models(dev)
    assert s.forget_classifications(dev, model) == 2
    assert s.classified_count(dev, model) == 0
    assert {c1, c2, c3} <= {c for c, _ in s.classify_pending(dev, model)}


@covers("unseen_pictures", "decide", "derivatives_of", "matches_for_device",
        "current_decisions", "classify_pending")
def test_unseen_pictures_are_neither_known_nor_decided(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev = scene.device_id
    unseen = {p["content_id"]: p for p in s.unseen_pictures(dev)}
    rows = list(s.iter_files(dev))
    images = {r["content_id"] for r in rows if r["media_kind"] == "image" and r["content_id"]}
    decoded = set(s.derivatives_of(sorted(images)))
    exact = {cid for cid, ms in s.matches_for_device(dev).items() if any(not m["near"]
                                                                         for m in ms)}
    assert set(unseen) == decoded - exact - set(s.current_decisions(dev))
    assert sorted(unseen) == scene.pictures
    paths = {r["path"] for r in rows if r["content_id"] == scene.copied}
    if scene.copied in unseen:
        assert set(unseen[scene.copied]["paths"]) == paths
    some = scene.pictures[:2]
    assert [p["content_id"] for p in s.unseen_pictures(dev, some)] == some
    s.decide(dev, some[0], t.reviewer["id"], "uk", "C", at(1))
    assert [p["content_id"] for p in s.unseen_pictures(dev, some)] == some[1:]
    assert some[0] not in dict(s.classify_pending(dev, "contract-model"))


@covers("unseen_pictures", "decide", "device_counts", "record_files")
def test_a_decision_in_another_case_leaves_the_picture_unseen_here(ws: Ctx):
    """Decisions spread within a case only: the same picture in another investigation is
    decided there, and stays to be reviewed here (nor does its absence tell this case's
    reviewers that another case categorised it)."""
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, target = scene.device_id, scene.pictures[0]
    other = s.device(scene.other_case_device)
    if not s.content_on_device(other["id"], target):
        row = next(r for r in s.iter_files(dev) if r["content_id"] == target)
        s.record_files(*_source_of(s, other), [file_result("elsewhere.jpg", row)])
    counts = s.device_counts(dev)
    s.decide(other["id"], target, t.outsider["id"], "uk", "A", at(1))
    assert target in {p["content_id"] for p in s.unseen_pictures(dev)}
    assert target not in {p["content_id"] for p in s.unseen_pictures(other["id"])}
    assert s.device_counts(dev) == counts


# -- welfare ---------------------------------------------------------------------------------
@covers("raise_welfare_alert", "welfare_alert_keys", "welfare_alert", "welfare_alerts",
        "acknowledge_welfare_alert", "resolve_welfare_alert", "undelivered_welfare_alerts",
        "mark_welfare_alert_notified", "welfare_lead")
def test_welfare_alerts_are_raised_once_per_rule_and_period(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    u = t.reviewer["id"]
    a1 = s.raise_welfare_alert(u, "contract.daily", "2031-03-03", "amber", {"minutes": 61},
                               at(0))
    assert a1 is not None
    assert s.raise_welfare_alert(u, "contract.daily", "2031-03-03", "red", {"minutes": 90},
                                 at(5)) is None
    a2 = s.raise_welfare_alert(u, "contract.daily", "2031-03-04", "amber", {}, at(6))
    a3 = s.raise_welfare_alert(u, "contract.weekly", "2031-W10", "amber", {}, at(7))
    assert len({a1, a2, a3}) == 3
    assert {("contract.daily", "2031-03-03"), ("contract.daily", "2031-03-04"),
            ("contract.weekly", "2031-W10")} <= s.welfare_alert_keys(u)
    alert = s.welfare_alert(a1)
    assert (alert["state"], alert["level"], alert["figures"], alert["reviewer"]) == (
        "open", "amber", {"minutes": 61}, "contract-rev-a")
    assert [x["id"] for x in s.welfare_alerts("open", u, "contract.")] == [a1, a2, a3]
    assert [x["id"] for x in s.welfare_alerts(user_id=u, rule_prefix="contract.weekly")] == [a3]
    with pytest.raises(StoreError):
        s.acknowledge_welfare_alert(a1, "contract-rev-b", "talked", at(8))  # not a lead
    with pytest.raises(StoreError):
        s.acknowledge_welfare_alert(a1, "contract-lead", "   ", at(8))  # says nothing
    assert s.welfare_lead("contract-lead")["id"] == t.lead["id"]
    s.acknowledge_welfare_alert(a1, "contract-lead", " spoke to them ", at(9))
    alert = s.welfare_alert(a1)
    assert (alert["state"], alert["ack_by"], alert["ack_note"], alert["ack_at"]) == (
        "acknowledged", "contract-lead", "spoke to them", at(9))
    with pytest.raises(StoreError):
        s.acknowledge_welfare_alert(a1, "contract-lead", "again", at(10))
    s.resolve_welfare_alert(a1, "contract-lead", "rest day taken", at(11))
    assert (s.welfare_alert(a1)["state"], s.welfare_alert(a1)["resolved_note"]) == (
        "resolved", "rest day taken")
    with pytest.raises(StoreError):
        s.resolve_welfare_alert(a1, "contract-lead", "again", at(12))
    assert [x["id"] for x in s.welfare_alerts("resolved", u)] == [a1]
    with pytest.raises(StoreError):
        s.welfare_alerts("forgotten")
    undelivered = {x["id"] for x in s.undelivered_welfare_alerts()}
    assert {a1, a2, a3} <= undelivered
    s.mark_welfare_alert_notified(a1, at(13), None)
    s.mark_welfare_alert_notified(a2, None, "mail server refused")
    undelivered = {x["id"] for x in s.undelivered_welfare_alerts()}
    assert a1 not in undelivered and a2 in undelivered
    assert s.welfare_alert(a2)["notify_error"] == "mail server refused"


@covers("care_schedule", "set_care_schedule", "add_lock_override", "lock_overrides",
        "welfare_record_exposure", "welfare_exposure", "welfare_reviewers", "welfare_person",
        "welfare_person_by_id", "exposure_intervals", "set_active")
def test_care_dates_lock_overrides_and_recorded_exposure(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    u = t.reviewer["id"]
    empty = s.care_schedule(u)
    assert empty["counselling_on"] is None and empty["updated_at"] is None
    s.set_care_schedule(u, {"counselling_on": "2031-04-01"}, "contract-lead", at(0))
    s.set_care_schedule(u, {"assessment_on": "2031-05-01"}, "contract-lead", at(1))
    care = s.care_schedule(u)
    assert (care["counselling_on"], care["assessment_on"], care["updated_by"],
            care["updated_at"]) == ("2031-04-01", "2031-05-01", "contract-lead", at(1))
    with pytest.raises(StoreError):
        s.set_care_schedule(u, {"holiday_on": "2031-06-01"}, "contract-lead", at(2))
    oid = s.add_lock_override(u, "2031-03-03", 30, "contract-lead", " court deadline ", at(3))
    with pytest.raises(StoreError):
        s.add_lock_override(u, "2031-03-03", 30, "contract-rev-b", "please", at(4))
    with pytest.raises(StoreError):
        s.add_lock_override(u, "2031-03-03", 30, "contract-lead", "", at(4))
    (over,) = s.lock_overrides(u)
    assert (over["id"], over["minutes"], over["lead"], over["reason"]) == (
        oid, 30, "contract-lead", "court deadline")
    assert s.lock_overrides(u, "2031-03-03") == [over] and s.lock_overrides(u, "2031-03-04") == []
    eid = s.welfare_record_exposure(u, "revealed", "A", at(0), at(90), scene.pictures[0],
                                    scene.device_id)
    assert [(r["id"], r["seconds"], r["severity"]) for r in s.exposure_intervals(u)] == [
        (eid, 90.0, "A")]
    with pytest.raises(StoreError):
        s.welfare_record_exposure(u, "glanced", "A", at(0), at(9))
    with pytest.raises(StoreError):
        s.welfare_record_exposure(u, "revealed", "A", at(9), at(0))
    (seen,) = s.welfare_exposure(u, moment(-60), moment(60))
    assert (seen["id"], seen["start"], seen["end"]) == (eid, moment(0), moment(90))
    assert s.welfare_exposure(u, moment(100), moment(200)) == []
    names = {p["name"] for p in s.welfare_reviewers()}
    assert {"contract-rev-a", "contract-rev-b"} <= names
    s.set_active(t.second["id"], False)
    assert "contract-rev-b" not in {p["name"] for p in s.welfare_reviewers()}
    assert s.welfare_person("contract-rev-a")["id"] == u
    assert s.welfare_person_by_id(u)["name"] == "contract-rev-a"
    assert s.welfare_person_by_id(10**9) is None


# -- backlog: register, snapshots, counts ----------------------------------------------------
@covers("save_register_entries", "register_rows", "save_backlog_snapshot", "backlog_snapshots",
        "device")
def test_register_entries_and_backlog_snapshots(ws: Ctx):
    s, scene = ws.store, ws.scene
    assert s.save_register_entries([
        (scene.case, scene.device, {"risk_band": "H", "child_at_risk": 1}),
        ("CONTRACT-NEW", "CONTRACT-NEW-1", {}),
    ]) == 2
    assert s.device("CONTRACT-NEW-1")["case_reference"] == "CONTRACT-NEW"
    s.save_register_entries([(scene.case, scene.device, {"notes": "bail 4 May"})])
    rows = {r["label"]: r for r in s.register_rows()}
    mine = rows[scene.device]
    assert (bool(mine["registered"]), mine["risk_band"], bool(mine["child_at_risk"]),
            mine["notes"], mine["case_reference"]) == (True, "H", True, "bail 4 May", scene.case)
    assert bool(rows["CONTRACT-NEW-1"]["registered"]) and rows["CONTRACT-NEW-1"]["risk_band"] \
        is None
    # An import lands whole or not at all.
    with pytest.raises(ValueError):
        s.save_register_entries([(scene.case, "CONTRACT-NEW-2", {"risk_band": "M"}),
                                 (scene.case, scene.device, {"colour": "red"})])
    with pytest.raises(StoreError):
        s.device("CONTRACT-NEW-2")
    assert {r["label"]: r for r in s.register_rows()}[scene.device] == mine
    assert list(rows) == sorted(rows)
    s.save_backlog_snapshot("2031-03-03", {"devices": 3, "hours": 1.5})
    s.save_backlog_snapshot("2031-03-03", {"devices": 4, "hours": 2.0})  # same day: replaced
    s.save_backlog_snapshot("2031-03-04", {"devices": 5, "hours": 2.5})
    snaps = s.backlog_snapshots()
    assert [x["taken_on"] for x in snaps] == sorted(x["taken_on"] for x in snaps)
    assert [(x["taken_on"], x["devices"], x["hours"]) for x in snaps[-2:]] == [
        ("2031-03-03", 4, 2.0), ("2031-03-04", 5, 2.5)]


@covers("device_counts", "report_images", "device_summary", "known_categories",
        "unseen_pictures", "decide", "decisions_by_reviewer")
def test_device_counts_and_the_device_report_agree_with_the_rest(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev = scene.device_id
    s.decide(dev, scene.pictures[0], t.reviewer["id"], "uk", "C", at(1))
    counts = s.device_counts(dev)
    summary = s.device_summary(dev)
    images = {r["content_id"]: r for r in s.report_images(dev)}
    assert (counts["files"], counts["unique_images"]) == (summary["files"],
                                                          summary["unique_images"])
    assert len(images) == summary["unique_images"]
    assert sum(r["copies"] for r in images.values()) == summary["image_files"]
    known = {cid: k.category for cid, k in s.known_categories(device_id=dev).items()
             if cid in images}
    assert counts["known_alert_total"] == len(known)
    assert counts["known_alert"] == dict(Counter(known.values()))
    assert counts["unseen"] == len(s.unseen_pictures(dev))
    for cid, img in images.items():
        assert img["known_category"] == known.get(cid)
    assert images[scene.pictures[0]]["decided_category"] == "C"
    assert images[scene.pictures[0]]["decided_by"] == "contract-rev-a"
    assert s.decisions_by_reviewer(dev)["contract-rev-a"] == 1


# -- export ----------------------------------------------------------------------------------
@covers("vics_case_id", "record_output", "written_output", "ensure_case")
def test_the_export_case_id_is_made_once_and_kept(ws: Ctx):
    s, scene = ws.store, ws.scene
    guid = s.vics_case_id(scene.case_id)
    uuid.UUID(guid)
    assert s.vics_case_id(scene.case_id) == guid
    other = s.vics_case_id(s.ensure_case("CONTRACT-OTHER"))
    assert other != guid
    ws.reopen()
    assert ws.store.vics_case_id(scene.case_id) == guid
    s = ws.store
    assert s.written_output("/reports/none.html") is None
    s.record_output("/reports/dev.html", "a" * 64, "device-report")
    s.record_output("/reports/dev.html", "b" * 64, "device-report")
    out = s.written_output("/reports/dev.html")
    assert (out["path"], out["sha256"], out["kind"]) == ("/reports/dev.html", "b" * 64,
                                                         "device-report")
    assert out["written_at"]


# -- "looks like known material" ------------------------------------------------------------
@covers("save_similarities", "similarity_basis", "similarities", "similarity_rows",
        "content_similarity")
def test_similarities_round_trip_against_their_basis(ws: Ctx):
    s, scene = ws.store, ws.scene
    c1, c2, c3 = scene.pictures[:3]
    basis = {"lists": {"contract": "s"}, "radius": 70}
    s.save_similarities(basis, [(c1, 12, "contract-l", "A"), (c2, None, None, None)],
                        replace_all=True)
    assert s.similarity_basis() == basis
    assert s.similarities([c1, c2, c3]) == {c1: {"distance": 12, "hashset": "contract-l",
                                                 "category": "A"}}
    assert s.similarity_rows() == {c1: (12, "contract-l", "A"), c2: (None, None, None)}
    s.save_similarities(basis, [(c1, 20, "contract-l", "B"), (c3, 30, "contract-l", "C")],
                        replace_all=False)
    assert s.similarity_rows([c1, c2, c3]) == {c1: (20, "contract-l", "B"),
                                               c2: (None, None, None),
                                               c3: (30, "contract-l", "C")}
    assert s.content_similarity(c3) == {"distance": 30, "hashset": "contract-l", "category": "C"}
    assert s.content_similarity(c2) is None


# -- peer checks -----------------------------------------------------------------------------
@covers("peer_pending", "peer_hidden_actions", "peer_action", "peer_state", "record_peer_check",
        "peer_check_of", "peer_disagreements", "resolve_peer_check", "decide",
        "undo_last_decision", "current_decisions")
def test_peer_checks_confirm_or_wait_for_a_lead(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, cats = scene.device_id, ["A"]
    a, b, lead = t.reviewer["id"], t.second["id"], t.lead["id"]
    x, y, z = scene.pictures[:3]
    act = s.decide(dev, x, a, "uk", "A", at(1))["action_id"]
    offered = {p["action_id"]: p for p in s.peer_pending(b, cats)}
    assert act in offered and "category" not in offered[act]  # theirs first, then the first
    assert act not in {p["action_id"] for p in s.peer_pending(a, cats)}
    assert act not in {p["action_id"] for p in s.peer_pending(t.outsider["id"], cats)}
    assert s.peer_pending(b, []) == []
    assert act in s.peer_hidden_actions(dev, b, cats)
    assert act not in s.peer_hidden_actions(dev, a, cats)
    assert (s.peer_action(act)["category"], s.peer_action(act)["user"]) == ("A", "contract-rev-a")
    assert act in s.peer_state(dev, cats)["unchecked_actions"]
    with pytest.raises(StoreError):
        s.record_peer_check(act, a, "A", at(2))  # not their own decision
    check = s.record_peer_check(act, b, "B", at(2))
    assert (bool(check["agreed"]), check["first_category"], check["checker_category"],
            check["checker"], check["first_user"]) == (False, "A", "B", "contract-rev-b",
                                                       "contract-rev-a")
    assert s.peer_check_of(act)["id"] == check["id"]
    with pytest.raises(StoreError):
        s.record_peer_check(act, lead, "A", at(3))  # checked once
    assert check["id"] in {d["id"] for d in s.peer_disagreements([scene.case_id])}
    assert act in s.peer_state(dev, cats)["disagreement_actions"]
    with pytest.raises(StoreError):
        s.resolve_peer_check(check["id"], a, "C", None, at(4))  # a reviewer of the two
    resolved = s.resolve_peer_check(check["id"], lead, "C", "grading guide 4.2", at(5))
    assert (resolved["resolved_category"], resolved["note"]) == ("C", "grading guide 4.2")
    now = s.current_decisions(dev)[x]
    assert (now["category"], now["via"], now["user"]) == ("C", "resolution", "contract-lead")
    assert check["id"] not in {d["id"] for d in s.peer_disagreements([scene.case_id])}
    closed = {d["id"]: d for d in s.peer_disagreements(None, open_only=False)}
    assert closed[check["id"]]["resolver"] == "contract-lead"
    with pytest.raises(StoreError):
        s.resolve_peer_check(check["id"], lead, "B", None, at(6))
    # Agreement confirms; an agreed check has nothing to resolve.
    act_y = s.decide(dev, y, b, "uk", "A", at(7))["action_id"]
    agreed = s.record_peer_check(act_y, a, "A", at(8))
    assert bool(agreed["agreed"])
    state = s.peer_state(dev, cats)
    assert act_y not in state["unchecked_actions"] + state["disagreement_actions"]
    assert state["confirmed"] >= 1
    with pytest.raises(StoreError):
        s.resolve_peer_check(agreed["id"], lead, "B", None, at(9))
    # An undone decision has nothing to check.
    act_z = s.decide(dev, z, a, "uk", "A", at(10))["action_id"]
    s.undo_last_decision(dev, a, at(11))
    with pytest.raises(StoreError):
        s.record_peer_check(act_z, b, "A", at(12))


# -- annotations and reveals -----------------------------------------------------------------
@covers("annotate", "annotation", "annotations_for_case", "case_tags", "record_reveal",
        "revealed_in_session", "forget_reveals")
def test_annotations_and_reveals_round_trip(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    case, rev = scene.case_id, t.reviewer["id"]
    c1, c2 = scene.pictures[:2]
    s.annotate(case, c1, rev, at(1), tags=[" school ", "school", "bedroom"],
               note="seen\r\nagain ", series="S-1", victim_identified="yes",
               offender_identified=False, distributed=None)
    got = s.annotation(case, c1)
    assert (got["tags"], got["note"], got["series"], got["victim_identified"],
            got["offender_identified"], got["distributed"], got["updated_by_name"],
            got["updated_at"]) == (["school", "bedroom"], "seen\nagain", "S-1", True, False,
                                   None, "contract-rev-a", at(1))
    assert s.annotations_for_case(case)[c1]["tags"] == ["school", "bedroom"]
    s.annotate(case, c2, rev, at(2), tags=["school"])
    assert s.case_tags(case)[:2] == [("school", 2), ("bedroom", 1)]
    with pytest.raises(StoreError):
        s.annotate(case, c1, rev, at(3), tags=["bell\x07"])
    with pytest.raises(StoreError):
        s.annotate(case, c1, rev, at(3), victim_identified="perhaps")
    assert s.annotation(case, c1) == got  # a refused change changes nothing
    s.annotate(case, c2, rev, at(4))  # nothing left in it: removed
    assert s.annotation(case, c2) is None and c2 not in s.annotations_for_case(case)
    s.record_reveal("session-1", rev, c1, at(5))
    s.record_reveal("session-1", rev, c1, at(6))  # once is what counts
    assert s.revealed_in_session("session-1", [c1, c2]) == {c1}
    assert s.revealed_in_session("session-2", [c1, c2]) == set()
    s.forget_reveals(rev)
    assert s.revealed_in_session("session-1", [c1, c2]) == set()


# -- browsing the recorded queue -------------------------------------------------------------
@covers("ensure_facts", "facets", "browse_count", "browse_entries", "browse_position",
        "browse_next_free", "contents_by_digest", "where_is", "content_files", "decided_count",
        "decided_page", "entry_member_rows", "case_entry_count", "case_entries", "decide",
        "annotate", "queue_entries")
def test_browsing_reads_the_recorded_queue(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, rev = scene.device_id, t.reviewer["id"]
    ws.pipeline().open_queue(dev)
    s.ensure_facts(dev)
    entries = s.queue_entries(dev)
    whole = Browse()
    assert s.browse_count(dev, whole) == len(entries)
    assert s.browse_entries(dev, whole, 0, 10_000) == entries
    assert [s.browse_position(dev, whole, e["content_id"]) for e in entries] == list(
        range(1, len(entries) + 1))
    assert s.browse_next_free(dev, whole, rev, at(0)) == entries[0]["content_id"]
    assert s.browse_next_free(dev, whole, rev, at(0), entries[0]["content_id"]) == \
        entries[1]["content_id"]
    by_path = Browse(sort="path", desc=False)
    assert [e["path"] for e in s.browse_entries(dev, by_path, 0, 10_000)] == sorted(
        e["path"] for e in entries)
    # A filter shows an entry when one of its members matches.
    rows = list(s.iter_files(dev))
    members = {m["content_id"]: m["entry_id"] for m in s.queue_member_rows(dev)}
    folders = s.facets(dev)["folder"]
    assert folders
    folder, pictures = folders[0]
    holding = {r["content_id"] for r in rows if r["path"].startswith(folder + "/")
               and r["content_id"] is not None and r["media_kind"] in ("image", "video")}
    assert pictures == len(holding)  # every picture there, in the queue or not
    want = {members[c] for c in holding if c in members}
    assert {e["content_id"] for e in s.browse_entries(dev, Browse(folder=folder), 0, 10_000)} \
        == want
    assert s.browse_count(dev, Browse(folder=folder)) == len(want)
    # Search by digest: md5, sha256.
    target = entries[0]["content_id"]
    row = next(r for r in rows if r["content_id"] == target)
    for digest in (row["md5"], row["sha256"]):
        assert target in s.contents_by_digest(digest)
        assert s.contents_by_digest(digest, dev) == [target]
        found = with_hash_ids(s, dev, Browse(q=digest))
        assert [e["content_id"] for e in s.browse_entries(dev, found, 0, 10)] == [target]
    assert s.contents_by_digest(row["pdq"]) and target in s.contents_by_digest(row["pdq"])
    assert s.contents_by_digest("0" * 31) == []
    assert {r["path"] for r in s.content_files(dev, target)} == {
        r["path"] for r in rows if r["content_id"] == target}
    assert s.entry_member_rows(dev, target)[0]["content_id"] == target
    # Tags filter.
    s.annotate(scene.case_id, target, rev, at(1), tags=["contract-tag"])
    assert [e["content_id"] for e in s.browse_entries(dev, Browse(tag="contract-tag"), 0, 10)] \
        == [target]
    # Decided pictures are browsed apart.
    decided = Browse(scope="decided")
    before = s.decided_count(dev, decided)
    s.decide(dev, target, rev, "uk", "C", at(2))
    assert s.decided_count(dev, decided) == before + 1
    page = {d["content_id"]: d for d in s.decided_page(dev, decided, 0, 10_000)}
    assert (page[target]["category"], page[target]["decided_by"]) == ("C", "contract-rev-a")
    assert s.decided_count(dev, Browse(scope="decided", category="C")) >= 1
    where = {w["id"]: w for w in s.where_is(dev, [target, *scene.known])}
    assert where[target]["action_id"] is not None
    assert all(where[k]["known"] for k in scene.known)
    assert s.case_entry_count(scene.case_id) >= len(entries) - 1
    case_view = s.case_entries(scene.case_id, 0, 10_000)
    assert len(case_view) == s.case_entry_count(scene.case_id)
    assert all(scene.device in c["exhibits"] for c in case_view
               if c["content_id"] in {e["content_id"] for e in s.queue_entries(dev)})


@covers("content_facts", "content_files", "content_in_case", "content_matches",
        "content_similarity", "content_scores", "content_decisions", "device_case_id",
        "case_devices", "matches_for_device")
def test_the_context_panel_facts_of_a_known_picture(ws: Ctx):
    s, scene = ws.store, ws.scene
    dev = scene.device_id
    cid = min(scene.known)
    facts = s.content_facts(cid)
    assert facts["id"] == cid and facts["sha256"]
    files = s.content_files(dev, cid)
    assert files and all(f["content_id"] == cid and f["source"] for f in files)
    assert [(m["hashset"], m["method"], m["near"]) for m in s.content_matches(cid)] == [
        (m["hashset"], m["method"], m["near"]) for m in s.matches_for_device(dev)[cid]]
    assert s.content_in_case(dev, cid) == [] or all(
        c["device"] != scene.device for c in s.content_in_case(dev, cid))
    assert s.content_similarity(10**9) is None and s.content_scores(10**9) == []
    assert s.content_decisions(dev, 10**9) == []
    assert s.device_case_id(dev) == scene.case_id
    assert scene.device in {d["label"] for d in s.case_devices(scene.case_id)}


# -- disk images -----------------------------------------------------------------------------
@covers("record_files", "disk_images", "deleted_counts", "record_verification", "iter_files",
        "device_summary")
def test_a_disk_image_and_its_deleted_files_read_back(ws: Ctx):
    s, scene = ws.store, ws.scene
    image = {"format": "ewf", "media_size": 1 << 20, "segments": ["disk.E01", "disk.E02"],
             "volume_system": "mbr", "stored_md5": "aa" * 16, "stored_sha1": None, "ref": None,
             "examiner_name": "Contract Examiner"}
    results = [
        file_result("disk.E01", None, detected_type="ewf", media_kind="disk-image",
                    **_digest("disk")),
        file_result("disk.E01!/", None, origin={"image": image, "file_system": "fat"}),
        file_result("disk.E01!/p1/DCIM/gone.jpg", None,
                    origin={"partition": "p1", "file_system": "fat", "inode": 12,
                            "deleted": True, "unallocated": False, "created": 1.5e9},
                    **_digest("gone")),
        file_result("disk.E01!/p1/DCIM/lost.jpg", None, status="unrecoverable",
                    reason="clusters reused", origin={"partition": "p1", "deleted": True}),
    ]
    dev, src = record_exhibit(s, scene.case, "CONTRACT-DISK", results, "/evidence/disk")
    (img,) = s.disk_images(dev)
    assert (img["label"], img["format"], img["segments"], img["file_system"],
            img["metadata"], img["stored_md5"], img["location"]) == (
        "disk.E01", "ewf", ["disk.E01", "disk.E02"], "fat",
        {"examiner_name": "Contract Examiner"}, "aa" * 16, "/evidence/disk")
    assert s.disk_images(dev, src) == [img] and s.disk_images(dev, src + 1000) == []
    assert s.deleted_counts(dev) == {(src, "disk.E01"): {"recovered": 1, "unrecoverable": 1}}
    rows = {r["path"]: r for r in s.iter_files(dev)}
    gone = rows["disk.E01!/p1/DCIM/gone.jpg"]
    assert (gone["partition"], gone["file_system"], gone["inode"], gone["deleted"],
            gone["unallocated"], gone["created"]) == ("p1", "fat", 12, True, False, 1.5e9)
    s.record_verification(img["id"], "mismatch", "bb" * 16, None, "stored MD5 differs")
    (img,) = s.disk_images(dev)
    assert (img["verify_state"], img["verified_md5"], img["verify_reason"]) == (
        "mismatch", "bb" * 16, "stored MD5 differs")
    root = {r["path"]: r for r in s.iter_files(dev)}["disk.E01!/"]
    assert (root["status"], root["reason"]) == ("corrupt", "stored MD5 differs")
    assert s.device_summary(dev)["by_status"]["corrupt"] == 1


# -- the suite's own bookkeeping -------------------------------------------------------------
def test_every_public_method_is_covered_or_excused():
    covered: set[str] = set()
    for value in globals().values():
        covered |= getattr(value, "store_covers", frozenset())
    assert not set(NOT_COVERED) - PUBLIC, "NOT_COVERED names methods the store no longer has"
    assert not set(NOT_COVERED) & covered, "a covered method is still excused in NOT_COVERED"
    missing = sorted(PUBLIC - covered - set(NOT_COVERED))
    assert not missing, (
        f"store methods without a contract test: {missing}. Add a test to"
        " tests/test_store_contract.py (@covers) or say why not in NOT_COVERED"
        " (tests/store_contract_support.py)")


def test_backends_are_chosen_by_name():
    assert selected_backends({}) == ["sqlite"]
    assert selected_backends({"TRIAGE_STORE_BACKEND": " sqlite , "}) == ["sqlite"]
    with pytest.raises(ValueError, match="known: sqlite"):
        selected_backends({"TRIAGE_STORE_BACKEND": "sqlite,oracle"})


# -- videos ----------------------------------------------------------------------------------
def _video_result(path: str, seed: str, duration: float = 10.0, **kw: Any) -> Any:
    """A video as the video handler records one: its probe, three kept frames (one of low
    quality), their small copies, the contact sheet and the playback clip."""
    extra = {"container": "mov,mp4,m4a,3gp,3g2,mj2", "audio": True, "duration": duration,
             "codec": "h264", "fps": 30.0, "rotation": 90, "frames_hashed": 3,
             "sample_seconds": 1.0}
    media = MediaInfo("video", 1280, 720, frames=int(duration * 30), extra=extra)
    signals = [SignalValue("pdq", "11" * 32, 90, 0, 0.0),
               SignalValue("pdq", "22" * 32, 40, 30, 1.0),
               SignalValue("pdq", "33" * 32, 80, 60, 2.0)]
    derivatives = [Derivative(SHEET_FRAME, f"{seed}/sheet.jpg"),
                   Derivative(CLIP_FRAME, f"{seed}/clip.webm"),
                   Derivative(0, f"{seed}/0.jpg", 0.0), Derivative(30, f"{seed}/30.jpg", 1.0),
                   Derivative(60, f"{seed}/60.jpg", 2.0)]
    return file_result(path, None, size=5000, detected_type="mp4", media_kind="video",
                       ext_mismatch=False, media=media, signals=signals,
                       derivatives=derivatives, **_digest(seed), **kw)


@covers("record_files", "video_info", "video_sample_seconds", "video_frames", "video_derivative",
        "content_paths", "frames_to_classify", "iter_files", "report_videos", "video_counts",
        "device_summary")
def test_a_video_reads_back_as_recorded(ws: Ctx):
    s, scene = ws.store, ws.scene
    v = _video_result("DCIM/v.mp4", "vid")
    dev, _ = record_exhibit(s, scene.case, "CONTRACT-VID", [
        v, replace(v, path="Sent/v.mp4"), _video_result("DCIM/long.mp4", "long", 600.0),
        _picture_result("DCIM/p.jpg", "vid-pic")])
    rows = {r["path"]: r for r in s.iter_files(dev)}
    cid, long_id, pic = (rows[p]["content_id"] for p in ("DCIM/v.mp4", "DCIM/long.mp4",
                                                         "DCIM/p.jpg"))
    info = s.video_info([cid, long_id, pic, 10**9])
    assert set(info) == {cid, long_id}  # a picture is no video
    assert (info[cid]["duration"], info[cid]["codec"], info[cid]["fps"], info[cid]["rotation"],
            info[cid]["audio"], info[cid]["width"], info[cid]["height"],
            info[cid]["frames"]) == (10.0, "h264", 30.0, 90, True, 1280, 720, 300)
    assert s.video_sample_seconds([cid, pic]) == {cid: 1.0}
    frames = s.video_frames(cid)
    assert [(f["frame"], f["seconds"], f["quality"], f["derivative"]) for f in frames] == [
        (0, 0.0, 90, "vid/0.jpg"), (30, 1.0, 40, "vid/30.jpg"), (60, 2.0, 80, "vid/60.jpg")]
    assert s.video_frames(pic)[0]["frame"] == 0 and s.video_frames(10**9) == []
    assert s.video_derivative(cid, 30) == "vid/30.jpg"
    assert s.video_derivative(cid, SHEET_FRAME) == "vid/sheet.jpg"
    assert s.video_derivative(cid, CLIP_FRAME) == "vid/clip.webm"
    assert s.video_derivative(cid, 7) is None
    assert s.content_paths(dev, cid) == ["DCIM/v.mp4", "Sent/v.mp4"]
    assert s.content_paths(scene.device_id, cid) == []
    assert s.frames_to_classify([cid, pic]) == {cid: [(0, 0.0, "vid/0.jpg"),
                                                      (30, 1.0, "vid/30.jpg"),
                                                      (60, 2.0, "vid/60.jpg")]}
    got = rows["DCIM/v.mp4"]
    assert (got["duration"], got["codec"], got["fps"], got["rotation"], got["audio"],
            got["frames_hashed"], got["media_kind"]) == (10.0, "h264", 30.0, 90, True, 3, "video")
    assert rows["DCIM/p.jpg"]["duration"] is None and rows["DCIM/p.jpg"]["frames_hashed"] is None
    assert [(r["path"], r["copies"], r["duration"], r["codec"], r["frames_hashed"], r["status"])
            for r in s.report_videos(dev)] == [("DCIM/long.mp4", 1, 600.0, "h264", 3, "ok"),
                                               ("DCIM/v.mp4", 2, 10.0, "h264", 3, "ok")]
    counts = {"video_files": 3, "unique_videos": 2, "video_seconds": 610.0}
    assert s.video_counts(dev) == counts
    summary = s.device_summary(dev)
    assert {k: summary[k] for k in counts} == counts
    assert (summary["image_files"], summary["unique_images"]) == (1, 1)
    assert s.video_counts(scene.device_id)["video_files"] == 0
    assert s.report_videos(scene.device_id) == []


@covers("unseen_videos", "decide", "undo_last_decision", "write_hashset", "entry_signal_values",
        "replace_matches", "video_matches", "queue_video_seconds", "record_frame_scores",
        "frame_scores", "start_exposure", "extend_exposure", "record_exposure_frame",
        "exposure_totals")
def test_videos_in_the_queue_with_their_matches_scores_and_exposure(ws: Ctx):
    s, scene = ws.store, ws.scene
    t = team(s, scene)
    dev, _ = record_exhibit(s, scene.case, "CONTRACT-VQ", [
        _video_result("a.mp4", "va"), _video_result("b.mp4", "vb", 30.0),
        _video_result("copy/b.mp4", "vb", 30.0)])
    rows = {r["path"]: r["content_id"] for r in s.iter_files(dev)}
    a, b = rows["a.mp4"], rows["b.mp4"]
    unseen = {v["content_id"]: v for v in s.unseen_videos(dev)}
    assert set(unseen) == {a, b}
    assert (unseen[b]["kind"], unseen[b]["duration"], unseen[b]["paths"]) == (
        "video", 30.0, ["b.mp4", "copy/b.mp4"])
    assert unseen[a]["frames"] == ("11" * 32, "33" * 32)  # frames of quality >= 50 only
    assert [v["content_id"] for v in s.unseen_videos(dev, [b, 10**9])] == [b]
    # A known video's frames, as a vPDQ list holds them.
    block = EntryBlock(1, values={"name": ["known.mp4"], "category_raw": ["A"]})
    block.signals = [(0, "pdq", 0, bytes.fromhex("11" * 32), 100, 0.0),
                     (0, "pdq", 1, bytes.fromhex("44" * 32), 90, 1.0)]
    hs, _ = s.write_hashset("contract-vpdq", "alert", "vpdq", "uk", "/known.txt", "s", [block])
    (entry,) = s.iter_list_entries("contract-vpdq")
    assert s.entry_signal_values(hs["id"], [entry["id"], 10**9]) == {
        entry["id"]: [(0, "11" * 32, 100, 0.0), (1, "44" * 32, 90, 1.0)]}
    assert s.entry_signal_values(hs["id"], [entry["id"]], "phash") == {}
    s.replace_matches([a], [hs["id"]], [(a, hs["id"], "vpdq", 3, 1, "A", "A", 60)])
    got = s.video_matches([a, b])
    assert set(got) == {a}
    (m,) = got[a]
    assert (m["method"], m["distance"], m["frame"], m["seconds"], m["hashset"], m["category"]) == (
        "vpdq", 3, 60, 2.0, "contract-vpdq", "A")
    # A near match leaves a video in the queue; a decision takes it (and its copy) out.
    s.decide(dev, b, t.reviewer["id"], "uk", "C", at(1))
    assert [v["content_id"] for v in s.unseen_videos(dev)] == [a]
    ws.pipeline().record_queue(dev, "contract")
    assert s.queue_video_seconds(dev) == [10.0]
    s.undo_last_decision(dev, t.reviewer["id"], at(2))
    assert {v["content_id"] for v in s.unseen_videos(dev)} == {a, b}
    assert s.queue_video_seconds(scene.device_id) == []
    # Frame scores: one row per model and frame, the latest kept, highest first.
    s.record_frame_scores("m1", [(a, 0, 0.0, 0.2), (a, 60, 2.0, 0.9)], "w1")
    s.record_frame_scores("m1", [(a, 0, 0.0, 0.95)], "w2")
    s.record_frame_scores("m2", [(a, 30, 1.0, 0.1)])
    assert s.frame_scores([a, b]) == {a: {"m1": [(0, 0.0, 0.95), (60, 2.0, 0.9)],
                                          "m2": [(30, 1.0, 0.1)]}}
    # Exposure in video mode: a revealed frame and seconds of playback, apart.
    u = t.reviewer["id"]
    e1 = s.start_exposure(u, a, dev, "video", at(10))
    s.record_exposure_frame(e1, 30)
    assert s.extend_exposure(e1, u, at(14)) == 4.0
    e2 = s.start_exposure(u, a, dev, "video", at(20))
    s.record_exposure_frame(e2, CLIP_FRAME)
    assert s.extend_exposure(e2, u, at(26)) == 6.0
    (day,) = s.exposure_totals(u, at(-1), "day", {"A": 3.0, UNCATEGORISED: 1.0}, 0.5)
    assert (day["video_frames_revealed"], day["video_playback_seconds"]) == (1, 6.0)
    assert day["revealed_seconds"] == 10.0
