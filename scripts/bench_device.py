#!/usr/bin/env python3
"""Benchmark a whole device: a generated phone-like dump through ingest, match, classify, queue.

The dump (made once, cached under --cache) looks like an Android extraction: camera pictures at
12 and 4 Mpx with EXIF (DCIM/Camera), messenger copies at 1.9 and 0.4 Mpx (WhatsApp), a few
exact forwards, a thumbnail cache, PNG screenshots, some H.264 videos (ffmpeg's test pattern),
app files (SQLite databases, JSON, binaries) and a zip archive of pictures. Pictures are the
real photos of `--photos` re-encoded at phone sizes (scripts/bench_phone_set.py); without
--photos they are generated (`triage.demo.synthetic.photo_like`).

A 1 M-entry alert list (CSV: md5, PDQ, category; random entries plus the md5 of some of the
dump's files and near copies of some of its pictures' PDQs) is imported first (timed, not part
of the device). Then, in one process with `--workers` ingest workers, the pipeline's stages run
one by one as `triage ingest` chains them (triage.pipeline.Pipeline): ingest, match (exact
lookups, the PDQ index, dihedral variants, similarities), classify (the packaged model cards),
record the queue. Each stage's wall time, share, files/s and MB/s are printed, then what that
means for a phone of 175,000 pictures on 2 and on 16 cores (an estimate from the measured
per-item costs, with the assumption for each stage stated).

    .venv/bin/python scripts/bench_device.py --photos PHOTOS            # 2,000 + extras
    .venv/bin/python scripts/bench_device.py --photos PHOTOS --quick    # 200, 100 k list
    .venv/bin/python scripts/bench_device.py --photos PHOTOS --pictures 4000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(SCRIPTS.parent))

from bench_phone_set import phone_set  # noqa: E402

from triage.demo.synthetic import camera_exif, encode, photo_like  # noqa: E402

RECIPE = 1
PHONE_PICTURES = 175_000
LIST_ENTRIES = 1_000_000


# -- the dump -------------------------------------------------------------------------------------
def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _videos(root: Path, count: int) -> int:
    ffmpeg = shutil.which("ffmpeg")
    made = 0
    for i in range(count):
        target = root / "DCIM/Camera" / f"VID_2026031{i % 10}_12{i:04d}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        if ffmpeg:
            size = "1920x1080" if i % 3 == 0 else "1280x720"
            subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            f"testsrc2=size={size}:rate=30:duration={8 + i % 5}",
                            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                            str(target)], check=True)
        else:
            from triage.demo.synthetic import fake_video
            target.write_bytes(fake_video(i, 3_000_000))
        made += 1
    return made


def _app_files(root: Path, count: int, rng: random.Random) -> int:
    for i in range(count):
        app = f"Android/data/com.example.app{i % 40}"
        kind = i % 4
        if kind == 0:
            path = root / app / f"databases/cache{i}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path)
            conn.execute("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)")
            conn.executemany("INSERT INTO t(v) VALUES (?)",
                             [(rng.randbytes(40).hex(),) for _ in range(rng.randint(10, 400))])
            conn.commit()
            conn.close()
        elif kind == 1:
            path = root / app / f"files/state{i}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('{"items": [' + ",".join(f'"{rng.randbytes(16).hex()}"'
                                                      for _ in range(rng.randint(5, 500))) + "]}")
        else:
            path = root / app / f"lib/lib{i}.so"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\x7fELF" + rng.randbytes(rng.randint(2_000, 400_000)))
    return count


def build_dump(root: Path, photos: Path | None, cache: Path, pictures: int) -> Path:
    stamp = root / ".complete"
    if stamp.exists() and stamp.read_text() == f"{RECIPE} {photos} {pictures}":
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rng = random.Random(RECIPE)
    print(f"building the dump in {root} ...", flush=True)
    started = time.perf_counter()
    if photos:
        pics = sorted(phone_set(photos, cache, pictures).iterdir())
    else:
        gen = root.parent / f"{root.name}-generated"
        gen.mkdir(exist_ok=True)
        pics = []
        for i in range(pictures):
            size = [(4000, 3000), (2304, 1728), (1600, 1200), (800, 600)][i % 4]
            p = gen / f"g{i:05d}_{size[0]}.jpg"
            if not p.exists():
                p.write_bytes(encode(photo_like(i, size), "JPEG", 90,
                                     camera_exif(i) if size[0] > 2000 else None))
            pics.append(p)
    camera = [p for p in pics if "12mp" in p.name or "4mp" in p.name or "_4000" in p.name
              or "_2304" in p.name]
    messenger = [p for p in pics if p not in set(camera)]
    for i, p in enumerate(camera):
        _link(p, root / "DCIM/Camera" / f"IMG_2026{(i % 12) + 1:02d}{(i % 28) + 1:02d}_{i:06d}.jpg")
    for i, p in enumerate(messenger):
        _link(p, root / "WhatsApp/Media/WhatsApp Images" / f"IMG-2026{(i % 12) + 1:02d}01-WA{i:04d}.jpg")
    for i, p in enumerate(camera[: len(camera) // 50]):  # exact forwards
        _link(p, root / "WhatsApp/Media/WhatsApp Images/Sent" / f"IMG-20260801-WA{9000 + i}.jpg")
    thumbs = root / "Android/data/com.android.gallery3d/cache/.thumbnails"
    thumbs.mkdir(parents=True)
    for i, p in enumerate(pics[: len(pics) // 5]):
        with Image.open(p) as im:
            im.draft("RGB", (256, 256))
            small = im.convert("RGB")
            small.thumbnail((256, 256))
        (thumbs / f"{1_700_000_000 + i}").write_bytes(encode(small, "JPEG", 80))
    shots = root / "Pictures/Screenshots"
    shots.mkdir(parents=True)
    for i in range(max(10, pictures // 50)):
        (shots / f"Screenshot_20260{i % 9 + 1}01-1010{i:02d}.png").write_bytes(
            encode(photo_like(90_000 + i, (540, 1170)), "PNG"))
    videos = _videos(root, max(4, pictures // 250))
    apps = _app_files(root, max(200, pictures // 2), rng)
    (root / "Download").mkdir()
    with zipfile.ZipFile(root / "Download/backup_photos.zip", "w") as z:
        for i, p in enumerate(messenger[:100]):
            z.write(p, f"backup/{i:04d}.jpg")
        z.writestr("backup/notes.txt", "benign test archive\n" * 100)
    stamp.write_text(f"{RECIPE} {photos} {pictures}")
    print(f"  built in {time.perf_counter() - started:.0f} s ({len(pics)} pictures, {videos}"
          f" videos, {apps} app files, thumbnails, screenshots, one zip)", flush=True)
    return root


def dump_figures(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file() and p.name != ".complete"]
    return len(files), sum(p.stat().st_size for p in files)


# -- the list -------------------------------------------------------------------------------------
def build_list(path: Path, root: Path, entries: int) -> None:
    """md5,pdq,category: random entries plus the md5 of every 97th file of the dump and near
    copies (8 bits off) of every 89th picture's PDQ, so both matchers find something."""
    if path.exists():
        return
    from triage.signals.crypto import digest_bytes
    from triage.signals.pdq import pdq_hex

    rng = np.random.default_rng(LIST_ENTRIES)
    files = sorted(p for p in root.rglob("*.jpg"))
    planted: list[tuple[str, str]] = []
    for i, p in enumerate(files):
        if i % 97 == 0:
            planted.append((digest_bytes(p.read_bytes()).md5, ""))
        if i % 89 == 0:
            with Image.open(p) as im:
                value = int(pdq_hex(im.convert("RGB"))[0], 16) ^ 0xFF
            planted.append(("", f"{value:064x}"))
    tmp = path.with_suffix(".part")
    with open(tmp, "w") as f:
        f.write("md5,pdq,category\n")
        for start in range(0, entries, 100_000):
            k = min(100_000, entries - start)
            md5 = rng.integers(0, 256, (k, 16), dtype=np.uint8).tobytes().hex()
            pdq = rng.integers(0, 256, (k, 32), dtype=np.uint8).tobytes().hex()
            f.write("".join(f"{md5[i * 32:(i + 1) * 32]},{pdq[i * 64:(i + 1) * 64]},"
                            f"{1 + i % 3}\n" for i in range(k)))
        f.write("".join(f"{m},{p},1\n" for m, p in planted))
    os.replace(tmp, path)


# -- timing ---------------------------------------------------------------------------------------
@dataclass
class Stage:
    name: str
    seconds: float
    own_cpu: float  # this process: the coordinator, SQLite, numba and ONNX threads
    child_cpu: float  # the ingest workers (children of the forkserver, counted when it stops)
    items: int

    @property
    def cpu(self) -> float:
        return self.own_cpu + self.child_cpu


def _cpu() -> tuple[float, float]:
    u = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime, c.ru_utime + c.ru_stime


def _stop_forkserver() -> None:
    """The ingest workers are children of the forkserver: stop it so their CPU is counted."""
    try:
        from multiprocessing import forkserver

        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - private API; the figure is then a lower bound
        pass


def timed(name: str, fn: Any, items: int) -> tuple[Stage, Any]:
    print(f"  {name} ...", flush=True)
    (own, child), started = _cpu(), time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    if name == "ingest":
        _stop_forkserver()
    own2, child2 = _cpu()
    return Stage(name, seconds, own2 - own, child2 - child, items), out


def on_cores(s: Stage, scale: float, cores: int) -> tuple[float, str]:
    """Seconds of stage `s` for `scale` times its items on `cores` otherwise idle cores, from its
    CPU seconds (the machine this runs on is shared, so its wall time carries others' load), and
    the rule used. Ingest's workers spread their CPU over the cores while the coordinator (this
    process: walking, SQLite writes) is one thread: max(workers' CPU / cores, coordinator CPU).
    Classify's ONNX Runtime threads use every core: CPU / cores. Match and queue are mostly one
    thread (SQLite lookups, the queue build; only the PDQ search runs in numba threads): the
    lesser of their CPU and their wall time here, taken to get no faster on more cores."""
    if s.name == "ingest":
        return max(s.child_cpu / cores, s.own_cpu) * scale, "workers' CPU / cores"
    if s.name == "classify":
        return s.cpu * scale / cores, "CPU / cores"
    return min(s.cpu, s.seconds) * scale, "no faster on more cores"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, help="folder from fetch-benign-photos")
    ap.add_argument("--pictures", type=int, default=2000, help="phone-size pictures (2000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/triage-bench-set"))
    ap.add_argument("--list-entries", type=int, default=LIST_ENTRIES)
    ap.add_argument("--quick", action="store_true",
                    help="200 pictures and a 100,000-entry list (a few minutes)")
    ap.add_argument("--build-only", action="store_true",
                    help="make the dump and the list (cached), time nothing")
    args = ap.parse_args(argv)
    if args.quick:
        args.pictures, args.list_entries = 200, 100_000

    from triage.pipeline import Pipeline
    from triage.match.lists.library import import_list
    from triage.categories import CategoryMap
    from triage.workspace import init_workspace

    print("command:", " ".join([os.path.basename(sys.executable)] + sys.argv))
    print(f"cpu count {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}); workers"
          f" {args.workers}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    root = build_dump(args.cache / f"device-r{RECIPE}-{args.pictures}", args.photos,
                      args.cache, args.pictures)
    files, total = dump_figures(root)
    pictures = sum(1 for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".png")
                   or p.parent.name == ".thumbnails")
    print(f"dump: {files} files, {total / 1e6:.0f} MB, {pictures} pictures outside the zip")
    listing = args.cache / f"alert-list-{args.list_entries}.csv"
    build_list(listing, root, args.list_entries)
    if args.build_only:
        return 0

    ws_root = args.cache / "bench-device-ws"
    shutil.rmtree(ws_root, ignore_errors=True)
    ws = init_workspace(ws_root)
    store = ws.open_store()
    pipe = Pipeline(ws, store, progress=False)
    started = time.perf_counter()
    imported = import_list(store, listing, "national", kind="alert",
                           categories=CategoryMap(ws.config("categories")))
    pipe.lists_changed(imported.hashset["id"])
    list_s = time.perf_counter() - started
    print(f"list import + PDQ index: {imported.hashset['entry_count']:,} entries in"
          f" {list_s:.1f} s (setup, not part of the device)")

    stages: list[Stage] = []
    st, report = timed("ingest", lambda: pipe.ingest(root, "BENCH", "PHONE", args.workers),
                       files)
    stages.append(st)
    unique = store.conn.execute("SELECT COUNT(DISTINCT content_id) FROM files").fetchone()[0]
    st, matched = timed("match", lambda: pipe.match("PHONE", record=False), unique)
    stages.append(st)
    st, classified = timed("classify", lambda: pipe.classify("PHONE", record=False), pictures)
    stages.append(st)
    st, _ = timed("queue", lambda: pipe.record_queue("PHONE", "ingest"), pictures)
    stages.append(st)
    store.close()

    total_s = sum(s.seconds for s in stages)
    print(f"\ningest statuses: {report.counts.by_status}; match: {matched.as_dict()}")
    print(f"classify: {classified.as_dict() if hasattr(classified, 'as_dict') else classified}")
    print(f"\n{'stage':<10}{'seconds':>9}{'share':>8}{'CPU s':>8}{'(own':>7}{'workers)':>9}"
          f"{'items':>8}{'items/s':>9}{'MB/s':>8}")
    for s in stages:
        print(f"{s.name:<10}{s.seconds:9.1f}{s.seconds / total_s:8.0%}{s.cpu:8.1f}{s.own_cpu:7.1f}"
              f"{s.child_cpu:9.1f}{s.items:8d}{s.items / s.seconds:9.1f}"
              f"{total / 1e6 / s.seconds:8.1f}")
    print(f"{'device':<10}{total_s:9.1f}{1:8.0%}{sum(s.cpu for s in stages):8.1f}{'':16}{files:8d}"
          f"{files / total_s:9.1f}{total / 1e6 / total_s:8.1f}")

    # A 175,000-picture phone: each stage's measured cost per picture, scaled.
    scale = PHONE_PICTURES / pictures
    print(f"\nwhat that means for a phone of {PHONE_PICTURES:,} pictures (x{scale:.0f} this"
          " dump, with its mix of videos, app files and archives):")
    print(f"  this machine's wall time, scaled: ~{total_s * scale / 3600:.1f} h (load average now"
          f" {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    for target in (2, 16):
        parts, est = [], 0.0
        for s in stages:
            secs, rule = on_cores(s, scale, target)
            est += secs
            parts.append(f"{s.name} {secs / 60:.0f} min ({rule})")
        print(f"  {target:2d} idle cores: ~{est / 3600:.1f} h: {', '.join(parts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
