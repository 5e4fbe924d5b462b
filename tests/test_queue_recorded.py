"""The recorded queue: built once by the pipeline, kept current by each decision, read by every
page; similarities recorded at match time; claims so that two reviewers never get the same item.

"The same as today" is checked the strict way: the recorded queue equals `build_queue` run on
the same store (pictures, clusters, representatives, scores, reasons, categories, order) after
ingest, after decisions, after undo, after a list import and a removal.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import files_json, flip_bits, jpeg, write
from tests.onnx_kit import install
from tests.web_support import FakeClock, add_second_exhibit, build_lab, content_id_of, signed_in
from triage.accounts import hash_password
from triage.demo.synthetic import encode, photo_like
from triage.match.matcher import MatchConfig
from triage.match.similar import record_similar
from triage.queue.build import build_queue
from triage.queue.priority import priority_config
from triage.queue.recorded import recorded_items
from triage.queue.workload import seconds_per_item
from triage.web import create_app
from triage.workspace import Workspace

FIXTURE = Path(__file__).parent / "fixtures" / "workspace-0.1.0.tar.gz"


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """The default model switched off (no model file in tests); the redness test model is
    installed by the tests that need a classifier."""
    cfg = workspace.config_dir / "priority.toml"
    cfg.write_text(cfg.read_text().replace("skip = []", 'skip = ["open_nsfw"]', 1))
    return workspace


def dump(root: Path) -> Path:
    """A burst of five near-identical frames, a resized copy, camera pictures, a cache copy,
    flat pictures (too flat for PDQ: clustered by pHash) and plain ones."""
    base = photo_like(71, (800, 600))
    for i, quality in enumerate((95, 90, 85, 80, 75)):
        shifted = Image.eval(base, lambda v, i=i: min(255, v + i))
        write(root, f"DCIM/Camera/burst_{i}.jpg", encode(shifted, "JPEG", quality))
    big = jpeg(72, (800, 600))
    write(root, "Pictures/big.jpg", big)
    (root / "WhatsApp/Media").mkdir(parents=True)
    with Image.open(root / "Pictures/big.jpg") as im:
        im.resize((400, 300)).save(root / "WhatsApp/Media/big-small.jpg", "JPEG", quality=80)
    for seed in range(80, 86):
        write(root, f"misc/p{seed}.jpg", jpeg(seed, exif=seed % 2 == 0))
    write(root, "app/cache/c.jpg", jpeg(90))
    for i, shade in enumerate((120, 121)):
        flat = np.full((64, 64, 3), shade, np.uint8)
        write(root, f"misc/flat_{i}.png", encode(Image.fromarray(flat), "PNG"))
    return root


def state(ws: Workspace, device: str = "D") -> tuple[list[dict], list[dict], dict[str, Any]]:
    """(recorded queue, queue built now, the build record), read through the Python API."""
    store = ws.open_store()
    try:
        dev = store.device(device)["id"]
        cfg = priority_config(ws)
        recorded = [q.as_dict() for q in recorded_items(store, dev, cfg)]
        built = [q.as_dict() for q in build_queue(store, dev, cfg)]
        build = store.queue_build(dev)
        assert build is not None
        return recorded, built, build
    finally:
        store.close()


def cli_queue(triage: Callable[..., Any], device: str = "D") -> list[dict]:
    out = triage("queue", "--device", device, "--json").output
    return [json.loads(line) for line in out.splitlines()]


def test_recorded_queue_equals_built_after_ingest_decisions_undo_and_lists(
        tmp_path: Path, ws: Workspace, triage) -> None:
    src = dump(tmp_path / "dump")
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    recorded, built, build = state(ws)
    assert recorded == built and len(recorded) >= 8
    assert build["reason"] == "ingest" and build["updated_at"] is None
    assert build["built_from"]["unseen_pictures"] == sum(q["cluster_size"] for q in built)
    assert cli_queue(triage) == [{"rank": i, **q} for i, q in enumerate(built, start=1)]
    burst = next(q for q in built if q["cluster_size"] == 5)

    # Decisions through the Python API: the representative alone, then a whole cluster.
    store = ws.open_store()
    try:
        dev = store.device("D")["id"]
        uid = store.add_user("rev", "reviewer", "x", "2026-01-01T00:00:00+00:00")
        store.decide(dev, burst["content_id"], uid, "uk", "B", "2026-01-01T00:00:01+00:00")
    finally:
        store.close()
    recorded, built, build = state(ws)
    assert recorded == built
    rest = next(q for q in built if set(q["member_content_ids"]) <= set(
        burst["member_content_ids"]))
    assert rest["cluster_size"] == 4 and burst["content_id"] not in rest["member_content_ids"]
    assert build["reason"] == "ingest" and build["updated_at"] is not None  # updated, not rebuilt
    pair = next(q for q in built if q["cluster_size"] == 2)
    store = ws.open_store()
    try:
        store.decide(dev, pair["content_id"], uid, "uk", "C", "2026-01-01T00:00:02+00:00",
                     pair["member_content_ids"])
        assert state(ws)[0] == state(ws)[1]
        store.undo_last_decision(dev, uid, "2026-01-01T00:00:03+00:00")  # the pair comes back
        recorded, built, build = state(ws)
        assert recorded == built and any(q["content_id"] == pair["content_id"] for q in built)
        store.undo_last_decision(dev, uid, "2026-01-01T00:00:04+00:00")  # and the burst's rep
        recorded, built, build = state(ws)
        assert recorded == built and any(q["cluster_size"] == 5 for q in built)
    finally:
        store.close()
    assert build["reason"] == "ingest"

    # A list import: an exact md5 (leaves the queue) and a PDQ 45 bits away (looks like known).
    rows = {r["path"]: r for r in files_json(triage, "D")}
    md5 = hashlib.md5((src / "misc/p80.jpg").read_bytes()).hexdigest()
    (tmp_path / "a.md5").write_text(f"{md5}  p80.jpg\n")
    (tmp_path / "a.pdq").write_text(flip_bits(rows["misc/p81.jpg"]["pdq"], 45) + "\n")
    triage("hashsets", "import", str(tmp_path / "a.md5"), "--name", "md5s", "--kind", "alert")
    triage("hashsets", "import", str(tmp_path / "a.pdq"), "--name", "pdqs", "--kind", "alert",
           "--format", "pdq")
    recorded, built, build = state(ws)
    assert recorded == built
    assert rows["misc/p80.jpg"]["content_id"] not in {q["content_id"] for q in built}
    p81 = next(q for q in built if q["path"] == "misc/p81.jpg")
    assert any(r.startswith("looks like known material (PDQ 45, list pdqs") for r in p81["reasons"])
    assert build["reason"] == "ingest"  # updated in place: only what the lists changed
    triage("hashsets", "remove", "md5s")
    recorded, built, build = state(ws)
    assert recorded == built
    assert rows["misc/p80.jpg"]["content_id"] in {q["content_id"] for q in built}
    assert cli_queue(triage) == [{"rank": i, **q} for i, q in enumerate(built, start=1)]


def test_a_list_touching_one_device_leaves_the_others_queue_alone(
        tmp_path: Path, ws: Workspace, triage) -> None:
    for device, seeds in (("D1", (1, 2, 3)), ("D2", (4, 5, 6))):
        for s in seeds:
            write(tmp_path / device, f"DCIM/{s}.jpg", jpeg(s))
        triage("ingest", str(tmp_path / device), "--case", "C", "--device", device,
               "--workers", "0")
    before = state(ws, "D2")[2]
    md5 = hashlib.md5((tmp_path / "D1" / "DCIM/1.jpg").read_bytes()).hexdigest()
    (tmp_path / "l.md5").write_text(f"{md5}  x\n")
    triage("hashsets", "import", str(tmp_path / "l.md5"), "--name", "l", "--kind", "known-good")
    rec1, built1, b1 = state(ws, "D1")
    rec2, built2, b2 = state(ws, "D2")
    assert rec1 == built1 and len(built1) == 2 and b1["updated_at"] is not None
    assert rec2 == built2 and len(built2) == 3
    untouched = ("built_at", "reason", "updated_at", "built_from")
    assert {k: b2[k] for k in untouched} == {k: before[k] for k in untouched}


def test_a_decision_leaves_the_queue_of_the_case_s_other_exhibit(tmp_path: Path) -> None:
    lab = build_lab(tmp_path)
    add_second_exhibit(lab, tmp_path)
    client, post = signed_in(create_app(lab.ws, clock=FakeClock(), testing=True), "rev1")
    client.get("/review/D1")
    state(lab.ws, "D1-B")  # recorded before the decision
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    assert post("/api/decide", device_id=lab.d1, content_id=cid, category="C").status_code == 200
    for device in ("D1", "D1-B"):
        recorded, built, build = state(lab.ws, device)
        assert recorded == built and cid not in {q["content_id"] for q in recorded}
        assert build["reason"] == "first read"  # updated in place, never rebuilt
    assert post("/api/undo", device_id=lab.d1).status_code == 200
    for device in ("D1", "D1-B"):
        recorded, built, _ = state(lab.ws, device)
        assert recorded == built and cid in {q["content_id"] for q in recorded}


def test_similarities_are_recorded_at_match_time_not_searched_per_request(
        tmp_path: Path, ws: Workspace, triage, monkeypatch) -> None:
    src = tmp_path / "dump"
    write(src, "misc/a.jpg", jpeg(101))
    write(src, "misc/b.jpg", jpeg(102))
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    b = next(r for r in files_json(triage, "D") if r["path"] == "misc/b.jpg")
    (tmp_path / "alert.pdq").write_text(flip_bits(b["pdq"], 50) + "\n")
    triage("hashsets", "import", str(tmp_path / "alert.pdq"), "--name", "alerts", "--format",
           "pdq")
    store = ws.open_store()
    try:
        assert store.similarities([b["content_id"]]) == {
            b["content_id"]: {"distance": 50, "hashset": "alerts", "category": "uncategorised"}}
        basis = store.similarity_basis()
        # The Python API: nothing new to search, so nothing is searched.
        report = record_similar(store, MatchConfig.from_workspace(ws), max_distance=70,
                                device_id=store.device("D")["id"])
        assert (report.checked, report.all_contents) == (0, False)
        assert store.similarity_basis() == basis
    finally:
        store.close()

    def no_search(*_a: Any, **_k: Any) -> None:
        raise AssertionError("a reader searched the alert lists")

    monkeypatch.setattr("triage.match.similar.nearest_alert", no_search)
    monkeypatch.setattr("triage.match.matcher.nearest_alert", no_search)
    queue = cli_queue(triage)
    assert queue[0]["path"] == "misc/b.jpg"
    assert "looks like known material (PDQ 50, list alerts, category uncategorised)" in \
        queue[0]["reasons"]
    assert triage("summary", "--device", "D", "--json").exit_code == 0


def test_a_workspace_of_release_0_1_0_reads_the_same_queue(tmp_path: Path, triage) -> None:
    """Made before queues and similarities were recorded: the first read builds and records
    them, and `queue --json` prints what release 0.1.0 printed."""
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp_path, filter="data")
    from click.testing import CliRunner

    from triage.cli.main import cli

    out = CliRunner().invoke(cli, ["-w", str(tmp_path / "workspace"), "queue", "--device",
                                   "DEMO-PHONE-01", "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    got = [json.loads(x) for x in out.output.splitlines()]
    want = [json.loads(x) for x in (tmp_path / "expected" / "queue.jsonl").read_text()
            .splitlines()]
    # Issue 13 appends `kind` (image or video): 0.1.0 queued pictures only.
    assert all(g.pop("kind") == "image" for g in got)
    assert got == want
    store = Workspace(tmp_path / "workspace").open_store()
    try:
        build = store.queue_build(store.device("DEMO-PHONE-01")["id"])
        assert build is not None and build["built_from"]["similarities_unchecked"] == 0
    finally:
        store.close()


def test_rebuild_on_demand_and_after_a_config_change(tmp_path: Path, ws: Workspace,
                                                     triage) -> None:
    src = dump(tmp_path / "dump")
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    before = cli_queue(triage)
    out = triage("queue", "--device", "D", "--rebuild", "--json").output
    assert [json.loads(x) for x in out.splitlines()] == before
    assert state(ws)[2]["reason"] == "rebuild (triage queue --rebuild)"
    # The lab changes a weight: the next reader rebuilds it under the new config.
    cfg = ws.config_dir / "priority.toml"
    cfg.write_text(cfg.read_text().replace("camera_exif = 0.15", "camera_exif = 0.55", 1))
    recorded, built, build = state(ws)
    assert recorded == built != [{k: v for k, v in q.items() if k != "rank"} for q in before]
    assert build["reason"] == "config/priority.toml changed"


def test_a_model_change_records_the_queue_again(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    for name, keep in (("blue", 2), ("red", 0)):
        arr = np.asarray(photo_like(11 if keep else 12, (320, 240)), np.float32) * 0.25
        arr[..., keep] += 190
        write(src, f"misc/{name}.png", encode(Image.fromarray(arr.astype(np.uint8)), "PNG"))
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    assert not any(r.startswith("classifier") for q in cli_queue(triage) for r in q["reasons"])
    install(ws.root / "models")  # a model is added: `triage classify` scores and records
    triage("classify", "--device", "D")
    recorded, built, build = state(ws)
    assert recorded == built and build["reason"] == "classify"
    assert recorded[0]["path"] == "misc/red.png"
    assert recorded[0]["reasons"][0].startswith("classifier 0.")
    assert [m["model"] for m in build["built_from"]["models"]] == ["redness"]


def test_one_seconds_per_item_for_summary_review_pages_and_backlog(tmp_path: Path) -> None:
    lab = build_lab(tmp_path)
    cfg = lab.ws.config_dir / "priority.toml"
    cfg.write_text(cfg.read_text().replace("seconds_per_item = 4.0", "seconds_per_item = 90", 1))
    assert seconds_per_item(lab.ws.config("priority")) == 90
    assert "seconds_per_item" not in lab.ws.config("review").get("forecast", {})
    assert "seconds_per_item" not in lab.ws.config("backlog").get("forecast", {})
    app = create_app(lab.ws, clock=FakeClock(), testing=True)
    client, post = signed_in(app, "rev1")
    cid = content_id_of(lab.ws, "D1", "DCIM/p103.jpg")
    p = post("/api/decide", device_id=lab.d1, content_id=cid, category="C").get_json()["progress"]
    assert p["hours_left"] == round(p["remaining"] * 90 / 3600, 2)
    from click.testing import CliRunner

    from triage.cli.main import cli

    out = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "summary", "--device", "D1",
                                   "--json"], catch_exceptions=False)
    work = json.loads(out.output)["review_workload"]
    assert work["seconds_per_item"] == 90 and work["queue_entries"] == p["remaining"]
    boss, _ = signed_in(app, "boss")
    page = boss.get("/backlog/").get_data(as_text=True)
    assert page and boss.get("/backlog/").status_code == 200
    store = lab.ws.open_store()
    try:
        from triage.backlog.register import register_view

        view = {r["label"]: r for r in register_view(store, lab.ws.config("priority"),
                                                    lab.ws.config("backlog"))}
    finally:
        store.close()
    assert view["D1"]["forecast_basis"] == "queue forecast"
    assert view["D1"]["forecast_hours"] == round(p["remaining"] * 90 / 3600, 2)


# -- claims: two reviewers on one device ----------------------------------------------------
@pytest.fixture
def two(tmp_path: Path):
    lab = build_lab(tmp_path)
    store = lab.ws.open_store()
    try:
        uid = store.add_user("rev3", "reviewer", hash_password("correct horse battery"),
                             "2026-05-01T00:00:00+00:00")
        store.assign_case(store.case_by_reference("C1")["id"], uid)
    finally:
        store.close()
    clock = FakeClock()
    app = create_app(lab.ws, clock=clock, testing=True)
    return lab, clock, signed_in(app, "rev1"), signed_in(app, "rev3")


def _tiles(html: str) -> list[tuple[int, str | None]]:
    return [(int(m.group(1)), m.group(3)) for m in re.finditer(
        r'data-cid="(\d+)"\s+data-cluster="\d+"( data-taken="([^"]+)")?', html)]


def _item_id(response) -> int:
    return int(re.search(r"/item/(\d+)", response.headers["Location"]).group(1))


def test_two_reviewers_get_disjoint_items(two) -> None:
    lab, clock, (c1, post1), (c3, post3) = two
    ids = [cid for cid, _ in _tiles(c1.get("/review/D1").get_data(as_text=True))]
    first, second = ids[0], ids[1]
    # rev1 opens the first entry: it is theirs; rev3's grid shows it taken.
    assert c1.get(f"/review/D1/item/{first}").status_code == 200
    assert dict(_tiles(c3.get("/review/D1").get_data(as_text=True)))[first] == "rev1"
    assert dict(_tiles(c1.get("/review/D1").get_data(as_text=True)))[first] is None
    # rev3 opening it is moved on to the next entry nobody has open.
    r = c3.get(f"/review/D1/item/{first}")
    assert r.status_code == 302 and _item_id(r) == second
    page = c3.get(f"/review/D1/item/{second}").get_data(as_text=True)
    assert "item 2 of" in page
    # rev1's next link skips the entry rev3 now has open.
    page1 = c1.get(f"/review/D1/item/{first}").get_data(as_text=True)
    nxt = re.search(r'data-next-url="[^"]*/item/(\d+)"', page1)
    assert nxt and int(nxt.group(1)) not in (first, second)
    # A decision by the reviewer who does not hold the claim is refused, clearly.
    r = post3("/api/decide", device_id=lab.d1, content_id=first, category="C")
    assert r.status_code == 409
    assert r.get_json()["claimed_by"] == "rev1" and "rev1 has this picture open" in \
        r.get_json()["error"]
    assert post3("/api/claim", device_id=lab.d1, content_id=first).status_code == 409
    # The holder decides it; the claim goes with the entry.
    assert post1("/api/decide", device_id=lab.d1, content_id=first, category="C"
                 ).status_code == 200
    assert first not in dict(_tiles(c3.get("/review/D1").get_data(as_text=True)))


def test_a_claim_lapses_and_is_released_by_opening_another(two) -> None:
    lab, clock, (c1, post1), (c3, post3) = two
    ids = [cid for cid, _ in _tiles(c1.get("/review/D1").get_data(as_text=True))]
    assert post1("/api/claim", device_id=lab.d1, content_id=ids[0]).get_json()["claimed"]
    assert post3("/api/decide", device_id=lab.d1, content_id=ids[0], category="C"
                 ).status_code == 409
    clock.advance(lab.ws.config("review")["claims"]["expiry_seconds"] + 1)
    assert dict(_tiles(c3.get("/review/D1").get_data(as_text=True)))[ids[0]] is None
    assert c3.get(f"/review/D1/item/{ids[0]}").status_code == 200  # lapsed: rev3 takes it
    assert c1.get(f"/review/D1/item/{ids[0]}").status_code == 302
    # Opening another entry releases the one rev3 held.
    assert c3.get(f"/review/D1/item/{ids[1]}").status_code == 200
    assert c1.get(f"/review/D1/item/{ids[0]}").status_code == 200
    assert post1("/api/decide", device_id=lab.d1, content_id=ids[0], category="C"
                 ).status_code == 200
    # An unclaimed entry can be decided by anyone.
    assert post1("/api/decide", device_id=lab.d1, content_id=ids[2], category="C"
                 ).status_code == 200


def test_claims_in_the_store_api(two) -> None:
    lab, clock, *_ = two
    store = lab.ws.open_store()
    try:
        r1, r3 = store.require_user("rev1")["id"], store.require_user("rev3")["id"]
        held = store.claim_entry(lab.d1, 5, r1, "2026-05-04T09:00:00.000+00:00",
                                 "2026-05-04T09:10:00.000+00:00")
        assert held["user"] == "rev1"
        refused = store.claim_entry(lab.d1, 5, r3, "2026-05-04T09:01:00.000+00:00",
                                    "2026-05-04T09:11:00.000+00:00")
        assert refused["user"] == "rev1"
        taken = store.claim_entry(lab.d1, 5, r3, "2026-05-04T09:10:00.000+00:00",
                                  "2026-05-04T09:20:00.000+00:00")
        assert taken["user"] == "rev3"  # lapsed at 09:10
    finally:
        store.close()


def test_recorded_tiles_read_like_built_ones_in_the_web_pages(two) -> None:
    """The grid and item pages show the recorded queue: same order as `build_queue`."""
    lab, clock, (c1, post1), _ = two
    tiles = [cid for cid, _ in _tiles(c1.get("/review/D1").get_data(as_text=True))]
    store = lab.ws.open_store()
    try:
        built = build_queue(store, lab.d1, priority_config(lab.ws))
    finally:
        store.close()
    assert tiles == [q.content_id for q in built]


def test_pictures_coming_back_find_their_cluster_after_a_rebuild(tmp_path: Path,
                                                                 ws: Workspace, triage) -> None:
    """A picture decided before a rebuild and given back after it is not in the build's hashes:
    pictures coming back later must still find it (and it them)."""
    src = dump(tmp_path / "dump")
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    burst = next(q for q in state(ws)[1] if q["cluster_size"] == 5)
    store = ws.open_store()
    try:
        dev = store.device("D")["id"]
        uid = store.add_user("rev", "reviewer", "x", "2026-01-01T00:00:00+00:00")
        store.decide(dev, burst["content_id"], uid, "uk", "B", "2026-01-01T00:00:01+00:00")
        triage("queue", "--device", "D", "--rebuild")
        store.undo_last_decision(dev, uid, "2026-01-01T00:00:02+00:00")
        recorded, built, _ = state(ws)
        assert recorded == built
        again = next(q for q in built if burst["content_id"] in q["member_content_ids"])
        assert again["cluster_size"] == 5
        # Everything but the one that came back is decided, then given back: they must merge
        # with it again (it is known only from the pictures that joined since the rebuild).
        others = [c for c in again["member_content_ids"] if c != burst["content_id"]]
        rep = others[0] if again["content_id"] == burst["content_id"] else again["content_id"]
        store.decide(dev, rep, uid, "uk", "B", "2026-01-01T00:00:03+00:00", others)
        recorded, built, _ = state(ws)
        assert recorded == built
        assert next(q for q in built if q["content_id"] == burst["content_id"])[
            "cluster_size"] == 1
        store.undo_last_decision(dev, uid, "2026-01-01T00:00:04+00:00")
        recorded, built, _ = state(ws)
        assert recorded == built
        assert next(q for q in built if burst["content_id"] in q["member_content_ids"])[
            "cluster_size"] == 5
    finally:
        store.close()


@pytest.mark.parametrize("applied_meanwhile", [False, True])
def test_a_decision_made_while_the_queue_is_built_is_not_lost(
        tmp_path: Path, ws: Workspace, triage, monkeypatch, applied_meanwhile: bool) -> None:
    """A build reads for seconds without the store's write lock; a reviewer deciding meanwhile
    (and another page applying that decision to the old queue) must still see it gone."""
    import triage.queue.recorded as recorded

    src = dump(tmp_path / "dump")
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    target = state(ws)[1][0]["content_id"]
    other = ws.open_store()
    uid = other.add_user("rev", "reviewer", "x", "2026-01-01T00:00:00+00:00")
    dev = other.device("D")["id"]
    real_entries = recorded.entries
    done: list[bool] = []

    def entries_then_decide(pics: Any, cfg: Any) -> Any:
        out = real_entries(pics, cfg)
        if not done:  # once, in the middle of the rebuild below
            done.append(True)
            other.decide(dev, target, uid, "uk", "C", "2026-01-01T00:00:01+00:00")
            if applied_meanwhile:
                recorded.apply_pending(other, dev, priority_config(ws))
        return out

    monkeypatch.setattr(recorded, "entries", entries_then_decide)
    try:
        triage("queue", "--device", "D", "--rebuild")
    finally:
        other.close()
    monkeypatch.setattr(recorded, "entries", real_entries)
    recorded_queue, built, build = state(ws)
    assert recorded_queue == built
    assert target not in {c for q in recorded_queue for c in q["member_content_ids"]}
