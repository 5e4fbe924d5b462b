"""A generated case for the review workstation tests: ~3,000 small generated JPEGs on one
exhibit (folders, cameras, dates, exact duplicates, bursts of near-identical copies), really
ingested (`--no-classify`), plus a second exhibit of the same case holding some of the same
pictures, reviewers, a lead and a peer-check policy. Built once per test module."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.web_support import PASSWORD, set_review_config
from triage.accounts import hash_password
from triage.demo.synthetic import camera_exif, encode, photo_like
from triage.pipeline import Pipeline
from triage.workspace import Workspace, init_workspace

FOLDERS = ("DCIM/Camera", "WhatsApp/Media/Images", "Pictures/Saved", "Download")
DAY = 86_400
START = 1_735_689_600  # 2025-01-01T00:00:00Z


@dataclass
class Case:
    ws: Workspace
    device: int
    other: int
    pictures: int
    burst_paths: list[str]   # the near-identical copies of one picture (a cluster)


def _small(seed: int, exif: bool) -> bytes:
    return encode(photo_like(seed, (96, 72)), "JPEG", 85, camera_exif(seed) if exif else None)


def build_case(root: Path, pictures: int = 3000) -> Case:
    ws = init_workspace(root / "ws")
    set_review_config(ws, "categories = []", 'categories = ["A", "1"]')
    ev = root / "exhibit"
    bursts: list[str] = []
    for i in range(pictures):
        folder = FOLDERS[i % len(FOLDERS)]
        path = ev / folder / f"img_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 500 == 7:
            # A burst: the same scene saved again slightly smaller (near-identical, a cluster).
            with Image.open(io.BytesIO(_small(i, False))) as im:
                base = im.convert("RGB")
            path.write_bytes(_small(i, False))
            for k, size in enumerate(((92, 69), (88, 66), (90, 68))):
                copy = ev / folder / f"img_{i:05d}_v{k}.jpg"
                buf = io.BytesIO()
                base.resize(size).save(buf, "JPEG", quality=80)
                copy.write_bytes(buf.getvalue())
                if i == 7:
                    bursts.append(str(copy.relative_to(ev)))
            if i == 7:
                bursts.append(str(path.relative_to(ev)))
        else:
            path.write_bytes(_small(i, i % 4 == 0))
        stamp = START + (i % 365) * DAY
        os.utime(path, (stamp, stamp))
    dup = ev / "Download" / "copy_of_img_00001.jpg"
    dup.write_bytes((ev / FOLDERS[1] / "img_00001.jpg").read_bytes())
    second = root / "exhibit2"
    (second / "Pictures").mkdir(parents=True)
    for i in (1, 2, 3):
        src = ev / FOLDERS[i % len(FOLDERS)] / f"img_{i:05d}.jpg"
        (second / "Pictures" / f"same_{i}.jpg").write_bytes(src.read_bytes())
    (second / "Pictures" / "own.jpg").write_bytes(_small(99_001, True))
    store = ws.open_store()
    try:
        p = Pipeline(ws, store, progress=False)
        opts = dict(workers=2, classify=False)
        p.process(ev, "OP-CASE", "EXH-1", **opts)
        p.process(second, "OP-CASE", "EXH-2", **opts)
        now = "2026-05-01T00:00:00+00:00"
        case_id = store.case_by_reference("OP-CASE")["id"]
        for name, role in (("rev1", "reviewer"), ("rev2", "reviewer"), ("lead1", "lead")):
            uid = store.add_user(name, role, hash_password(PASSWORD), now)
            store.assign_case(case_id, uid)
        device = int(store.device("EXH-1")["id"])
        other = int(store.device("EXH-2")["id"])
    finally:
        store.close()
    return Case(ws, device, other, pictures, bursts)
