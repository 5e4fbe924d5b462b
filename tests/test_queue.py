"""The review queue: each signal moves a picture up, bursts collapse, known/decided leave.

Every test builds real files (JPEG/PNG bytes with or without camera EXIF, in real folder
layouts), ingests them with `triage ingest`, and reads `triage queue --json`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from PIL import Image

from tests.conftest import jpeg, write
from tests.onnx_kit import install
from triage.demo.synthetic import encode, photo_like
from triage.workspace import Workspace


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """A workspace where the default model is switched off, so only the tested signal moves."""
    cfg = workspace.config_dir / "priority.toml"
    cfg.write_text(cfg.read_text().replace("skip = []", 'skip = ["open_nsfw"]', 1))
    return workspace


def ingest_and_queue(triage: Callable[..., Result], src: Path, *extra: str) -> list[dict]:
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    out = triage("queue", "--device", "D", "--json", *extra).output
    return [json.loads(line) for line in out.splitlines()]


def paths(queue: list[dict]) -> list[str]:
    return [q["path"] for q in queue]


def reasons(queue: list[dict], path: str) -> list[str]:
    return next(q["reasons"] for q in queue if q["path"] == path)


def test_classifier_score_ranks_first(tmp_path: Path, ws: Workspace, triage) -> None:
    install(ws.root / "models")  # scores redness
    src = tmp_path / "dump"
    for name, keep in (("blue", 2), ("red", 0)):
        arr = np.asarray(photo_like(11 if keep else 12, (320, 240)), np.float32) * 0.25
        arr[..., keep] += 190
        write(src, f"misc/{name}.png", encode(Image.fromarray(arr.astype(np.uint8)), "PNG"))
    queue = ingest_and_queue(triage, src)
    assert paths(queue) == ["misc/red.png", "misc/blue.png"]
    top = reasons(queue, "misc/red.png")[0]
    assert top.startswith("classifier 0.") and float(top.split()[1]) > 0.7


def test_camera_exif_ranks_first(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "misc/plain.jpg", jpeg(21))
    write(src, "misc/camera.jpg", jpeg(22, exif=True))
    queue = ingest_and_queue(triage, src)
    assert paths(queue) == ["misc/camera.jpg", "misc/plain.jpg"]
    assert any(r.startswith("camera EXIF ") for r in reasons(queue, "misc/camera.jpg"))
    assert any(r.startswith("taken 20") for r in reasons(queue, "misc/camera.jpg"))
    assert reasons(queue, "misc/plain.jpg") == []


def test_camera_folder_ranks_first(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "misc/a.jpg", jpeg(31))
    write(src, "DCIM/Camera/b.jpg", jpeg(32))
    queue = ingest_and_queue(triage, src)
    assert paths(queue) == ["DCIM/Camera/b.jpg", "misc/a.jpg"]
    assert "DCIM/Camera" in reasons(queue, "DCIM/Camera/b.jpg")


def test_original_resolution_ranks_first(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "misc/small.jpg", jpeg(41, (640, 480)))
    write(src, "misc/big.jpg", jpeg(42, (2000, 1500)))
    queue = ingest_and_queue(triage, src)
    assert paths(queue) == ["misc/big.jpg", "misc/small.jpg"]
    assert "original size 2000x1500" in reasons(queue, "misc/big.jpg")


def test_user_folder_above_plain_above_cache(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "app/cache/c.jpg", jpeg(51))
    write(src, "misc/b.jpg", jpeg(52))
    write(src, "Pictures/a.jpg", jpeg(53))
    queue = ingest_and_queue(triage, src)
    assert paths(queue) == ["Pictures/a.jpg", "misc/b.jpg", "app/cache/c.jpg"]
    assert "user folder" in reasons(queue, "Pictures/a.jpg")
    assert reasons(queue, "app/cache/c.jpg") == ["only in caches/thumbnails"]


def test_many_copies_rank_above_one(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "misc/once.jpg", jpeg(61))
    kept = jpeg(62)
    for p in ("misc/kept.jpg", "misc/old/kept.jpg", "misc/backup/kept (1).jpg"):
        write(src, p, kept)
    queue = ingest_and_queue(triage, src)
    assert len(queue) == 2 and queue[1]["path"] == "misc/once.jpg"
    assert queue[0]["path"] == "misc/kept.jpg" and "3 copies on device" in queue[0]["reasons"]


def test_burst_of_near_identical_pictures_collapses(tmp_path: Path, ws: Workspace,
                                                    triage) -> None:
    src = tmp_path / "dump"
    base = photo_like(71, (800, 600))
    for i, quality in enumerate((95, 90, 85, 80, 75)):
        shifted = Image.eval(base, lambda v, i=i: min(255, v + i))  # small exposure changes
        write(src, f"misc/burst_{i}.jpg", encode(shifted, "JPEG", quality))
    write(src, "misc/other.jpg", jpeg(72, (800, 600)))
    queue = ingest_and_queue(triage, src)
    assert len(queue) == 2
    burst, other = queue
    assert burst["cluster_size"] == 5 and len(burst["member_content_ids"]) == 5
    assert burst["content_id"] in burst["member_content_ids"]
    assert burst["path"].startswith("misc/burst_") and "cluster of 5" in burst["reasons"]
    assert (other["path"], other["cluster_size"]) == ("misc/other.jpg", 1)
    summary = json.loads(triage("summary", "--device", "D", "--json").output)
    work = summary["review_workload"]
    assert (work["queue_entries"], work["unseen_pictures"]) == (2, 6)
    assert work["hours_left"] == round(2 * work["seconds_per_item"] / 3600, 2)


def test_decided_pictures_leave_the_queue(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "misc/a.jpg", jpeg(81))
    write(src, "misc/b.jpg", jpeg(82))
    queue = ingest_and_queue(triage, src)
    store = ws.open_store()
    try:
        dev = store.device("D")["id"]
        uid = store.add_user("rev", "reviewer", "x", "2026-01-01T00:00:00+00:00")
        store.decide(dev, queue[0]["content_id"], uid, "uk", "not_indecent",
                     "2026-01-01T00:00:00+00:00")
    finally:
        store.close()
    out = triage("queue", "--device", "D", "--json").output.splitlines()
    assert [json.loads(x)["path"] for x in out] == [queue[1]["path"]]


def test_queue_json_fields_and_limit(tmp_path: Path, ws: Workspace, triage) -> None:
    src = tmp_path / "dump"
    for i in range(4):
        write(src, f"misc/{i}.jpg", jpeg(90 + i))
    write(src, "misc/readme.txt", b"text")
    queue = ingest_and_queue(triage, src, "--limit", "3")
    assert [q["rank"] for q in queue] == [1, 2, 3]
    assert set(queue[0]) == {"rank", "content_id", "sha256", "path", "derivative", "score",
                             "reasons", "cluster_size", "member_content_ids", "category",
                             "kind"}
    assert {q["kind"] for q in queue} == {"image"}
    assert all((ws.derivative_dir / q["derivative"]).is_file() for q in queue)
    text = triage("queue", "--device", "D", "--limit", "1").output
    assert "misc/" in text and "... 3 more entries" in text


def test_similarity_to_alert_material_ranks_first(tmp_path: Path, ws: Workspace,
                                                  triage) -> None:
    pass
    src = tmp_path / "dump"
    write(src, "misc/a.jpg", jpeg(101))
    write(src, "misc/b.jpg", jpeg(102))
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0")
    rows = [json.loads(x) for x in triage("files", "--device", "D", "--json").output.splitlines()]
    b_pdq = next(r["pdq"] for r in rows if r["path"] == "misc/b.jpg")
    # An alert-list hash 45 bits away from b's PDQ: "looks like known material".
    bits = bytearray(bytes.fromhex(b_pdq))
    for i in range(45):
        bits[i // 8] ^= 1 << (i % 8)
    alert = tmp_path / "alert.pdq"
    alert.write_text(bits.hex() + "\n")
    triage("hashsets", "import", str(alert), "--name", "alerts", "--kind", "alert",
           "--format", "pdq")
    out = triage("queue", "--device", "D", "--json").output.splitlines()
    queue = [json.loads(x) for x in out]
    assert queue[0]["path"] == "misc/b.jpg"
    assert any(r.startswith("looks like known material (PDQ 45") for r in queue[0]["reasons"])


def test_known_material_leaves_the_queue_and_is_not_classified(tmp_path: Path, ws: Workspace,
                                                               triage) -> None:
    pass
    install(ws.root / "models")
    src = tmp_path / "dump"
    write(src, "misc/a.jpg", jpeg(111))
    write(src, "misc/b.jpg", jpeg(112))
    listed = tmp_path / "known.md5"
    listed.write_text(hashlib.md5((src / "misc/a.jpg").read_bytes()).hexdigest() + "  a.jpg\n")
    triage("hashsets", "import", str(listed), "--name", "good", "--kind", "known-good")
    queue = ingest_and_queue(triage, src)
    assert paths(queue) == ["misc/b.jpg"]
    out = json.loads(triage("classify", "--device", "D", "--model", "redness", "--json").output)
    assert out["models"][0]["already_done"] == 1  # only b was scored at ingest


@pytest.mark.parametrize("flips,close", [(0, True), (31, True), (32, False), (80, False)])
def test_pdq_pairs_within_the_cluster_threshold_and_no_others(flips: int, close: bool) -> None:
    from triage.queue.build import pdq_close_pairs

    rng = np.random.default_rng(flips)
    bits = rng.integers(0, 2, size=(300, 256), dtype=np.uint8)
    bits[299] = bits[7]
    bits[299, rng.choice(256, flips, replace=False)] ^= 1  # picture 299: picture 7, edited
    hexes = [np.packbits(row).tobytes().hex() for row in bits]
    expected = [(7, 299)] if close else []
    assert pdq_close_pairs(hexes, 31) == expected
