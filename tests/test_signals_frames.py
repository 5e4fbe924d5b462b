"""Multi-frame pictures (issue 11): every frame/page is counted, hashed, matched and given its
own derivative, up to `[limits] max_frames`; beyond it the file is flagged `partial`.

Fails on the code before this change: `frames` did not exist, only the first frame was hashed,
so a known picture hidden as frame 7 of an animated GIF was never found, and a GIF of 1000
frames was `ok`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import by_path, files_json, write
from triage.demo.synthetic import encode, photo_like
from triage.signals.pdq import pdq_hex
from triage.workspace import Workspace

KNOWN_SEED = 7007
SIZE = (320, 240)


def frames(n: int, known_at: int | None = None) -> list[Image.Image]:
    return [photo_like(KNOWN_SEED if i == known_at else 500 + i, SIZE) for i in range(n)]


def animated(fmt: str, pictures: list[Image.Image], **options) -> bytes:
    buf = io.BytesIO()
    pictures[0].save(buf, fmt, save_all=True, append_images=pictures[1:], **options)
    return buf.getvalue()


def set_limit(workspace: Workspace, key: str, value: int) -> None:
    cfg = workspace.root / "config" / "ingest.toml"
    text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", cfg.read_text())
    assert n == 1
    cfg.write_text(text)


def store_of(workspace: Workspace):
    return workspace.open_store()


def test_a_known_picture_hidden_as_frame_7_of_a_gif_is_matched_with_its_frame(
        tmp_path: Path, triage, workspace):
    ev = tmp_path / "ev"
    write(ev, "reaction.gif", animated("GIF", frames(10, known_at=7), duration=80, loop=0))
    write(ev, "still.jpg", encode(photo_like(900, SIZE), "JPEG", 90))
    known = pdq_hex(photo_like(KNOWN_SEED, SIZE).convert("RGB"))[0]
    lst = tmp_path / "known.pdq"
    lst.write_text(f"pdq,category\n{known},A\n")
    triage("hashsets", "import", str(lst), "--name", "national-pdq", "--format", "pdq",
           "--scheme", "uk")
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0")
    rows = by_path(files_json(triage, "D"))
    gif, still = rows["reaction.gif"], rows["still.jpg"]
    assert gif["status"] == "ok" and gif["reason"] is None
    assert gif["frames"] == 10 and still["frames"] == 1
    near = [m for m in gif["matches"] if m["method"] == "pdq"]
    assert len(near) == 1 and near[0]["frame"] == 7 and near[0]["near"] is True
    assert near[0]["distance"] <= 10 and near[0]["hashset"] == "national-pdq"
    assert gif["known"] is False and gif["category"] is None  # a candidate, as for stills
    assert still["matches"] == []

    store = store_of(workspace)
    try:
        cid = gif["content_id"]
        pdqs = store.signal_values([cid], "pdq")[cid]
        assert [v.frame for v in pdqs] == list(range(10))
        assert pdqs[0].value == gif["pdq"] and pdqs[0].quality == gif["pdq_quality"]
        # pHash/dHash describe the picture (its first frame) only.
        assert [v.frame for v in store.signal_values([cid], "phash")[cid]] == [0]
        # Every frame has its own small derivative; the representative stays frame 0's.
        derivs = store.derivatives_of([cid])[cid]
        assert [d.frame for d in derivs] == list(range(10))
        representative = store.conn.execute("SELECT derivative FROM contents WHERE id=?",
                                            (cid,)).fetchone()[0]
        assert derivs[0].name == representative
        for d in derivs:
            with Image.open(workspace.derivative_dir / d.name) as im:
                assert im.format == "JPEG" and im.size == SIZE
        with Image.open(workspace.derivative_dir / derivs[7].name) as im:
            assert pdq_hex(im.convert("RGB"))[0] != pdqs[0].value
    finally:
        store.close()


@pytest.mark.parametrize("name,fmt,options", [
    ("anim.png", "PNG", {"duration": 100}),
    ("anim.webp", "WEBP", {"quality": 90, "duration": 100}),
    ("pages.tiff", "TIFF", {}),
    ("stereo.mpo", "MPO", {}),
    ("burst.heic", "HEIF", {}),
])
def test_every_multi_frame_format_counts_hashes_and_derives_each_frame(
        tmp_path: Path, triage, workspace, name, fmt, options):
    ev = tmp_path / "ev"
    write(ev, name, animated(fmt, frames(3), **options))
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0")
    (row,) = files_json(triage, "D")
    assert row["status"] == "ok", row["reason"]
    assert row["frames"] == 3
    if fmt == "PNG":  # an animated PNG is a PNG (it was `apng`, undecoded, before)
        assert row["detected_type"] == "png" and row["ext_mismatch"] is False
    store = store_of(workspace)
    try:
        cid = row["content_id"]
        values = [v.value for v in store.signal_values([cid], "pdq")[cid]]
        assert len(values) == 3 and len(set(values)) == 3  # three different pictures
        assert [d.frame for d in store.derivatives_of([cid])[cid]] == [0, 1, 2]
    finally:
        store.close()


def test_frames_beyond_the_limit_flag_the_file_and_are_not_claimed_examined(
        tmp_path: Path, triage, workspace):
    set_limit(workspace, "max_frames", 4)
    ev = tmp_path / "ev"
    write(ev, "long.gif", animated("GIF", frames(10, known_at=7), duration=80))
    write(ev, "short.gif", animated("GIF", frames(4), duration=80))
    known = pdq_hex(photo_like(KNOWN_SEED, SIZE).convert("RGB"))[0]
    lst = tmp_path / "known.pdq"
    lst.write_text(f"pdq,category\n{known},A\n")
    triage("hashsets", "import", str(lst), "--name", "national-pdq", "--format", "pdq")
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0")
    rows = by_path(files_json(triage, "D"))
    long, short = rows["long.gif"], rows["short.gif"]
    assert long["status"] == "partial" and long["frames"] == 10
    assert "first 4" in long["reason"] and "max_frames" in long["reason"]
    assert long["matches"] == []  # frame 7 was never examined: flagged, not silently clean
    assert short["status"] == "ok" and short["frames"] == 4
    summary = triage("summary", "--device", "D", "--json").output
    assert '"partial": 1' in summary
    store = store_of(workspace)
    try:
        cid = long["content_id"]
        assert [v.frame for v in store.signal_values([cid], "pdq")[cid]] == [0, 1, 2, 3]
        assert len(store.derivatives_of([cid])[cid]) == 4
    finally:
        store.close()


def test_a_damaged_later_frame_keeps_the_frames_before_it_and_is_flagged(
        tmp_path: Path, triage, workspace):
    data = animated("GIF", frames(6), duration=80)
    ev = tmp_path / "ev"
    write(ev, "cut.gif", data[: int(len(data) * 0.7)])  # the last frames are cut off
    triage("ingest", str(ev), "--case", "C", "--device", "D", "--workers", "0")
    (row,) = files_json(triage, "D")
    assert row["status"] == "corrupt" and row["reason"]
    assert row["pdq"] is not None  # the frames that could be read were hashed
