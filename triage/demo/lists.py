"""Demo hash lists made from the demo's own benign generated pictures and videos, so `triage demo`
shows exact matches (categorised), near PDQ candidates (resized messaging copies), a video known
to a vPDQ list (another encode of it, hashed every frame as Meta's tool does) and known-good."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from triage.demo.phone import KNOWN_VIDEO
from triage.demo.video import every_frame_vpdq, reencode
from triage.signals.crypto import digest_bytes
from triage.categories import CategoryMap
from triage.match.lists.entries import ParseOptions
from triage.match.lists.library import import_list
from triage.signals.pdq import pdq_hex
from triage.match.matcher import MatchReport
from triage.pipeline import Pipeline


def import_demo_lists(pipeline: Pipeline, evidence: Path, lists_dir: Path,
                      device: str) -> MatchReport:
    store = pipeline.store
    lists_dir.mkdir(parents=True, exist_ok=True)
    camera = sorted((evidence / "DCIM" / "Camera").glob("IMG_2026*.jpg"))[:6]
    alert = lists_dir / "demo-alert.md5"
    alert.write_text("".join(f"{digest_bytes(p.read_bytes()).md5}  {p.name}\n"
                             for p in camera[:3]))
    pdq = lists_dir / "demo-alert.pdq"
    rows = []
    for p in camera[3:6]:
        with Image.open(p) as im:
            rows.append(f"{pdq_hex(im.convert('RGB'))[0]},1")
    pdq.write_text("pdq,category\n" + "\n".join(rows) + "\n")
    known_video = lists_dir / "demo-known-videos.vpdq"  # Meta's layout: every frame hashed
    known_video.write_text(every_frame_vpdq(reencode((evidence / KNOWN_VIDEO).read_bytes(),
                                                     width=320, height=180)))
    good = lists_dir / "demo-known-good.md5"
    icons = sorted(evidence.glob("Android/data/*/files/icon.png")) + [evidence / "Documents" /
                                                                     "notes.txt"]
    good.write_text("".join(f"{digest_bytes(p.read_bytes()).md5}  {p.name}\n" for p in icons))
    cats = CategoryMap(pipeline.workspace.config("categories"))
    for path, name, kind in ((alert, "demo-alert", "alert"), (pdq, "demo-alert-pdq", "alert"),
                             (known_video, "demo-known-videos", "alert"),
                             (good, "demo-known-good", "known-good")):
        import_list(store, path, name, kind=kind, scheme="vic-us" if kind == "alert" else None,
                    categories=cats,
                    options=ParseOptions(category="1" if kind == "alert" else None))
    pipeline.lists_changed(None)
    return pipeline.match(device)
