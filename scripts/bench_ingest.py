#!/usr/bin/env python3
"""Benchmark `triage ingest` against baselines, and measure the accuracy of reduced JPEG decoding.

What it measures
----------------
On one set of files (a generated, cached set of photo-like JPEGs of 1-12 Mpx plus some small
PNGs; and, with `--photos DIR`, a folder of real photos too), the same run times:

  (a) ingest    the real ingest (Python API): fresh workspace, `ingest(...)` with `--workers`
                processes; includes identification, three digests, reduced decode, PDQ, pHash,
                dHash, EXIF, the derivative JPEG and the SQLite writes.
  (b) naive     one process, per file: read, md5+sha1+sha256, full Pillow decode to RGB,
                imagehash pHash + dHash. What a straightforward script does.
  (c) hashdeep  `hashdeep -r -c md5,sha256 DIR`: the crypto-only reference forensic tools use
                (multi-threaded by default; it decodes nothing).
  (d) floor     read + SHA-256 + reduced decode only (JPEG `draft` at DRAFT_SIZE, then load),
                with the same number of worker processes as (a): the least work any ingest that
                hashes and decodes must do, so "ingest / floor" is ingest's own overhead.

and prints files/s, MB/s and the ratios against the targets of the issue (ingest >= 5x naive
with 2 workers; ingest time within 1.5x of the floor). A missed target is reported, never an
error: this is a measurement, not a test. Peak RSS of the ingest run (coordinator and workers)
and the CPU count are printed too.

Why the draft-accuracy part
---------------------------
Ingest decodes JPEGs at reduced size (`triage.media.image.DRAFT_SIZE`, DCT scaling) because a full
decode dominates the cost. That is only acceptable if perceptual hashes barely move. For every
JPEG (real photos; a sample of the generated set, see `--accuracy-sample`) this compares PDQ
(Hamming bits of 256, only pictures whose full-decode PDQ quality >= 80, as PDQ's conformance
bound assumes) and pHash (bits of 64) of a full decode against drafts at 512, 768 and 1024 px,
with the decode+hash time of each. The chosen size must keep PDQ max <= 10 and pHash max <= 4
on real photos.

Usage
-----
    .venv/bin/python scripts/bench_ingest.py --quick
    .venv/bin/python scripts/bench_ingest.py                      # ~1,000 generated files
    .venv/bin/python scripts/bench_ingest.py --photos /work/photos --count 200

Every measurement reads files from the page cache (all files are read once before timing), so
the figures are CPU cost, not disk speed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imagehash
from PIL import Image

from triage.media.image import DRAFT_SIZE
from triage.signals.pdq import pdq_hex
from triage.signals.phash import perceptual_hashes
from triage.demo.synthetic import camera_exif, encode, photo_like

SET_VERSION = 1  # bump when the generated set's recipe changes (invalidates the cache)
PNG_EVERY = 12  # one file in PNG_EVERY is a small PNG (icon, screenshot crop)
DRAFT_SIZES = tuple(sorted({512, 768, 1024, DRAFT_SIZE}))
PDQ_MIN_QUALITY = 80
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"}

TARGET_NAIVE_SPEEDUP = 5.0
TARGET_FLOOR_RATIO = 1.5
TARGET_PDQ_MAX = 10
TARGET_PHASH_MAX = 4


# --------------------------------------------------------------------------------------------
# The generated set
# --------------------------------------------------------------------------------------------

def _spec(index: int) -> tuple[str, tuple[int, int], int]:
    """(file name, pixel size, JPEG quality) of generated file `index`; deterministic."""
    rng = random.Random(1_000_003 * SET_VERSION + index)
    if index % PNG_EVERY == PNG_EVERY - 1:
        w, h = rng.randint(64, 640), rng.randint(64, 480)
        return f"img_{index:05d}.png", (w, h), 0
    mpx = rng.uniform(1.0, 12.0)
    aspect = rng.choice((4 / 3, 3 / 2, 16 / 9, 3 / 4, 2 / 3, 9 / 16))
    w = int(math.sqrt(mpx * 1e6 * aspect))
    h = int(mpx * 1e6 / w)
    return f"img_{index:05d}.jpg", (w, h), rng.randint(70, 95)


def _generate_one(args: tuple[int, str]) -> str:
    index, pool_dir = args
    name, size, quality = _spec(index)
    target = Path(pool_dir) / name
    if target.exists():
        return name
    img = photo_like(index, size)
    if name.endswith(".png"):
        data = encode(img, "PNG")
    else:
        data = encode(img, "JPEG", quality, exif=camera_exif(index))
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return name


def generated_set(cache: Path, count: int, workers: int) -> Path:
    """The folder holding exactly the first `count` generated files (made once, then cached).

    Files are generated into CACHE/pool-vN (file i is the same whatever --count says), and
    CACHE/set-vN-COUNT holds hard links to the first COUNT of them, so ingest sees only those.
    """
    pool_dir = cache / f"pool-v{SET_VERSION}"
    set_dir = cache / f"set-v{SET_VERSION}-{count}"
    names = [_spec(i)[0] for i in range(count)]
    if set_dir.is_dir() and sorted(p.name for p in set_dir.iterdir()) == sorted(names):
        return set_dir
    pool_dir.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(count) if not (pool_dir / names[i]).exists()]
    if missing:
        print(f"generating {len(missing)} files into {pool_dir} ({workers} processes) ...",
              flush=True)
        started = time.perf_counter()
        # Largest first so the pool does not end on one 12 Mpx straggler.
        missing.sort(key=lambda i: -_spec(i)[1][0] * _spec(i)[1][1])
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for done, _ in enumerate(pool.imap_unordered(
                    _generate_one, [(i, str(pool_dir)) for i in missing]), 1):
                if done % 100 == 0:
                    print(f"  {done}/{len(missing)}", flush=True)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    tmp_dir = cache / f".set-v{SET_VERSION}-{count}.tmp"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir()
    for name in names:
        try:
            os.link(pool_dir / name, tmp_dir / name)
        except OSError:
            shutil.copyfile(pool_dir / name, tmp_dir / name)
    shutil.rmtree(set_dir, ignore_errors=True)
    os.replace(tmp_dir, set_dir)
    return set_dir


def list_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def warm_cache(files: list[Path]) -> int:
    """Read every file once so each measurement starts from the page cache; total bytes."""
    total = 0
    for p in files:
        with open(p, "rb", buffering=0) as f:
            total += len(f.read())
    return total


# --------------------------------------------------------------------------------------------
# (a) ingest: run in a child process so its peak RSS is its own
# --------------------------------------------------------------------------------------------

def _proc_tree_peaks(root: int) -> dict[int, int]:
    """VmHWM (peak RSS, KiB) of every live descendant of `root`, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    descendants, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - descendants
        descendants |= frontier
    peaks = {}
    for pid in descendants:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1])
        except OSError:
            continue
    return peaks


def ingest_child(set_dir: str, workers: int) -> None:
    """Entry point of the child process: one ingest in a fresh workspace; prints JSON."""
    from triage.ingest.coordinator import IngestOptions, ingest
    from triage.workspace import init_workspace

    peaks: dict[int, int] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid, kib in _proc_tree_peaks(os.getpid()).items():
                peaks[pid] = max(peaks.get(pid, 0), kib)
            stop.wait(0.2)

    with tempfile.TemporaryDirectory(prefix="triage-bench-ws-") as tmp:
        ws = init_workspace(Path(tmp))
        store = ws.open_store()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        report = ingest(store, Path(set_dir), "BENCH", "DEV-1",
                        IngestOptions(workers=workers, progress=False,
                                      derivative_dir=str(ws.derivative_dir)))
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        store.close()
    _stop_forkserver()
    print(json.dumps({
        "seconds": seconds,
        "cpu": _cpu_seconds(),
        "state": report.state,
        "by_status": report.counts.by_status,
        "files": report.counts.files,
        "rss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "rss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "worker_peaks_kib": sorted(peaks.values(), reverse=True),
    }))


def _stop_forkserver() -> None:
    """Workers are children of the forkserver, which reaps them; stop it (and wait for it) so
    their rusage (CPU time, peak RSS) reaches RUSAGE_CHILDREN of this process."""
    try:
        from multiprocessing import forkserver

        forkserver._forkserver._stop()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - private API; the /proc sample still stands
        pass


def _cpu_seconds(who: int | None = None) -> float:
    """User + system CPU seconds of this process and its reaped children (or of `who`)."""
    whos = [who] if who is not None else [resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN]
    usages = [resource.getrusage(w) for w in whos]
    return sum(u.ru_utime + u.ru_stime for u in usages)


def _run_child(flag: str, set_dir: Path, workers: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), flag,
                          str(set_dir), "--workers", str(workers)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_ingest(set_dir: Path, workers: int) -> dict[str, Any]:
    return _run_child("--_ingest-child", set_dir, workers)


# --------------------------------------------------------------------------------------------
# (b) naive, (c) hashdeep, (d) floor
# --------------------------------------------------------------------------------------------

def run_naive(files: list[Path]) -> tuple[float, float]:
    started, cpu = time.perf_counter(), _cpu_seconds(resource.RUSAGE_SELF)
    for p in files:
        data = p.read_bytes()
        hashlib.md5(data).hexdigest()
        hashlib.sha1(data).hexdigest()
        hashlib.sha256(data).hexdigest()
        try:
            with Image.open(io.BytesIO(data)) as im:
                rgb = im.convert("RGB")
            imagehash.phash(rgb)
            imagehash.dhash(rgb)
        except Exception:  # noqa: BLE001 - a non-picture or a broken one: hashed only
            pass
    return time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_SELF) - cpu


def ensure_hashdeep() -> str | None:
    found = shutil.which("hashdeep")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt:
        print("hashdeep not on PATH; trying apt-get install -y hashdeep (once) ...", flush=True)
        try:
            subprocess.run([apt, "install", "-y", "hashdeep"], check=False, timeout=300,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            pass
    return shutil.which("hashdeep")


def run_hashdeep(hashdeep: str, folder: Path) -> tuple[float, float]:
    started, cpu = time.perf_counter(), _cpu_seconds(resource.RUSAGE_CHILDREN)
    subprocess.run([hashdeep, "-r", "-c", "md5,sha256", str(folder)], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


def _floor_one(path: str) -> int:
    with open(path, "rb", buffering=0) as f:
        data = f.readall()
    hashlib.sha256(data).digest()
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format in ("JPEG", "MPO"):
                im.draft("RGB", (DRAFT_SIZE, DRAFT_SIZE))
            im.load()
    except Exception:  # noqa: BLE001
        pass
    return len(data)


def floor_child(set_dir: str, workers: int) -> None:
    """Entry point of the child process timing the floor; prints JSON (seconds, CPU)."""
    files = list_files(Path(set_dir))
    # Pool start-up is inside the timing, as ingest's is.
    started = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(max(1, workers)) as pool:
        for _ in pool.imap_unordered(_floor_one, [str(p) for p in files], chunksize=4):
            pass
    seconds = time.perf_counter() - started
    _stop_forkserver()
    print(json.dumps({"seconds": seconds, "cpu": _cpu_seconds()}))


def run_floor(folder: Path, workers: int) -> dict[str, Any]:
    return _run_child("--_floor-child", folder, workers)


# --------------------------------------------------------------------------------------------
# Draft accuracy
# --------------------------------------------------------------------------------------------

def _hamming_hex(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _accuracy_one(path: str) -> dict[str, Any] | None:
    """Full decode vs drafts of one JPEG: PDQ/pHash distances and decode+hash seconds."""
    Image.MAX_IMAGE_PIXELS = None
    try:
        out: dict[str, Any] = {}
        t0 = time.perf_counter()
        with Image.open(path) as im:
            if im.format not in ("JPEG", "MPO"):
                return None
            full = im.convert("RGB")
        full_pdq, quality = pdq_hex(full)
        full_ph, full_dh = imagehash.phash(full), imagehash.dhash(full)
        out["full_s"] = time.perf_counter() - t0
        out["quality"] = quality
        for size in DRAFT_SIZES:
            t0 = time.perf_counter()
            with Image.open(path) as im:
                im.draft("RGB", (size, size))
                im.load()
                rgb = im.convert("RGB")
            pdq, _ = pdq_hex(rgb)
            # ingest's own pHash/dHash route (box pre-reduction on drafted pictures)
            ph, dh = perceptual_hashes(rgb, drafted=rgb.size != full.size)
            out[size] = {"s": time.perf_counter() - t0, "pdq": _hamming_hex(full_pdq, pdq),
                         "phash": _hamming_hex(str(full_ph), ph),
                         "dhash": _hamming_hex(str(full_dh), dh), "px": rgb.size}
        return out
    except Exception:  # noqa: BLE001
        return None


def _stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return f"max {max(ordered):>3}  mean {statistics.fmean(ordered):5.2f}  p95 {p95:>3}"


def draft_accuracy(label: str, files: list[Path], workers: int, sample: int,
                   check_targets: bool) -> None:
    jpegs = [p for p in files if p.suffix.lower() in (".jpg", ".jpeg")]
    if sample and len(jpegs) > sample:
        jpegs = sorted(random.Random(7).sample(jpegs, sample))
    print(f"\n== draft accuracy: {label} ({len(jpegs)} JPEGs) ==")
    if not jpegs:
        print("no JPEGs")
        return
    with multiprocessing.get_context("forkserver").Pool(max(1, workers)) as pool:
        results = [r for r in pool.map(_accuracy_one, [str(p) for p in jpegs], chunksize=1) if r]
    good = [r for r in results if r["quality"] >= PDQ_MIN_QUALITY]
    print(f"decoded {len(results)}; PDQ counted on {len(good)} with full-decode quality >= "
          f"{PDQ_MIN_QUALITY} (pHash on all {len(results)})")
    full_ms = statistics.fmean(r["full_s"] for r in results) * 1000
    print(f"{'full decode':>14}: decode+PDQ+pHash {full_ms:7.1f} ms/image")
    for size in DRAFT_SIZES:
        pdq = [r[size]["pdq"] for r in good]
        ph = [r[size]["phash"] for r in results]
        dh = [r[size]["dhash"] for r in results]
        ms = statistics.fmean(r[size]["s"] for r in results) * 1000
        mark = " (chosen)" if size == DRAFT_SIZE else ""
        print(f"{'draft ' + str(size):>14}: decode+PDQ+pHash {ms:7.1f} ms/image "
              f"({full_ms / ms:4.1f}x faster than full)  PDQ bits {_stats(pdq)} | "
              f"pHash bits {_stats(ph)} | dHash bits {_stats(dh)}{mark}")
    pdq_max = max((r[DRAFT_SIZE]["pdq"] for r in good), default=0)
    ph_max = max((r[DRAFT_SIZE]["phash"] for r in results), default=0)
    verdict = "met" if pdq_max <= TARGET_PDQ_MAX and ph_max <= TARGET_PHASH_MAX else "NOT met"
    scope = "target" if check_targets else "reference (target applies to real photos)"
    print(f"DRAFT_SIZE={DRAFT_SIZE}: PDQ max {pdq_max} (<= {TARGET_PDQ_MAX}), pHash max "
          f"{ph_max} (<= {TARGET_PHASH_MAX}): {scope} {verdict}")


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------

@dataclass
class Timing:
    name: str
    seconds: float | None
    cpu: float | None = None
    note: str = ""


def throughput(label: str, folder: Path, workers: int, hashdeep: str | None) -> None:
    files = list_files(folder)
    total = warm_cache(files)
    mb = total / 1e6
    print(f"\n== throughput: {label}: {folder} — {len(files)} files, {mb:.0f} MB ==", flush=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} (a shared machine inflates wall time; "
          "CPU seconds are the steadier figure)", flush=True)

    ing = run_ingest(folder, workers)
    timings = [Timing("(a) ingest", ing["seconds"], ing["cpu"],
                      f"{workers} workers; statuses {ing['by_status']}")]
    print(f"  (a) done in {ing['seconds']:.1f} s", flush=True)
    naive, naive_cpu = run_naive(files)
    timings.append(Timing("(b) naive", naive, naive_cpu, "1 process"))
    print(f"  (b) done in {naive:.1f} s", flush=True)
    hd: float | None = None
    if hashdeep:
        hd, hd_cpu = run_hashdeep(hashdeep, folder)
        timings.append(Timing("(c) hashdeep", hd, hd_cpu, "md5,sha256; its own threads"))
        print(f"  (c) done in {hd:.1f} s", flush=True)
    else:
        print("hashdeep: not available")
        timings.append(Timing("(c) hashdeep", None, None, "not available"))
    fl = run_floor(folder, workers)
    floor, floor_cpu = fl["seconds"], fl["cpu"]
    timings.append(Timing("(d) floor", floor, floor_cpu, f"{workers} processes"))
    print(f"  (d) done in {floor:.1f} s", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")

    print(f"\n{'baseline':<14}{'seconds':>9}{'files/s':>10}{'MB/s':>9}{'CPU s':>9}"
          f"{'CPU ms/file':>13}  notes")
    for t in timings:
        if t.seconds is None or t.cpu is None:
            print(f"{t.name:<14}{'-':>9}{'-':>10}{'-':>9}{'-':>9}{'-':>13}  {t.note}")
        else:
            print(f"{t.name:<14}{t.seconds:9.2f}{len(files) / t.seconds:10.1f}"
                  f"{mb / t.seconds:9.1f}{t.cpu:9.1f}{t.cpu / len(files) * 1000:13.1f}  {t.note}")

    a = ing["seconds"]
    speedup = naive / a
    print(f"\ningest vs naive:    {speedup:5.2f}x faster  (target >= {TARGET_NAIVE_SPEEDUP:g}x "
          f"with 2 workers; running {workers}): "
          f"{'met' if speedup >= TARGET_NAIVE_SPEEDUP else 'NOT met'}")
    ratio = a / floor
    print(f"ingest vs floor:    {ratio:5.2f}x the floor's time  (target <= "
          f"{TARGET_FLOOR_RATIO:g}x): {'met' if ratio <= TARGET_FLOOR_RATIO else 'NOT met'}")
    # CPU time is what a quiet machine would turn into wall time: with the cores to itself,
    # ingest's wall time is about its CPU seconds / workers (naive's: its CPU seconds).
    print(f"CPU seconds:        ingest {ing['cpu']:.1f} vs naive {naive_cpu:.1f} "
          f"({naive_cpu / ing['cpu']:.2f}x less work; x{workers} workers = "
          f"{naive_cpu / ing['cpu'] * workers:.2f}x on idle cores) and floor {floor_cpu:.1f} "
          f"({ing['cpu'] / floor_cpu:.2f}x the floor's work)")
    if hd:
        print(f"ingest vs hashdeep: {a / hd:5.2f}x hashdeep's time  (no target; hashdeep "
              "decodes nothing)")
    else:
        print("ingest vs hashdeep: n/a (hashdeep: not available)")
    peaks = ing["worker_peaks_kib"]
    print(f"peak RSS of the ingest run: coordinator (RUSAGE_SELF) "
          f"{ing['rss_self_kib'] / 1024:.0f} MiB; largest child (RUSAGE_CHILDREN) "
          f"{ing['rss_children_kib'] / 1024:.0f} MiB; sampled /proc VmHWM of its "
          f"{len(peaks)} descendants: max {max(peaks, default=0) / 1024:.0f} MiB, "
          f"sum {sum(peaks) / 1024:.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Targets: ingest >= 5x naive (2 workers); ingest <= 1.5x floor; "
               "DRAFT_SIZE PDQ max <= 10, pHash max <= 4 on real photos.")
    parser.add_argument("--count", type=int, default=1000, help="generated files (default 1000)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 60 generated files")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/triage-bench-set"),
                        help="where the generated set is kept between runs")
    parser.add_argument("--photos", type=Path, help="a folder of real photos to measure too")
    parser.add_argument("--workers", type=int, default=2,
                        help="ingest workers; the floor uses as many processes (default 2)")
    parser.add_argument("--accuracy-sample", type=int, default=200,
                        help="generated JPEGs in the draft-accuracy part (0 = all; real photos "
                             "are always all measured; default 200)")
    parser.add_argument("--skip-accuracy", action="store_true", help="throughput only")
    parser.add_argument("--skip-throughput", action="store_true", help="draft accuracy only")
    parser.add_argument("--_ingest-child", dest="ingest_child", help=argparse.SUPPRESS)
    parser.add_argument("--_floor-child", dest="floor_child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.ingest_child:
        ingest_child(args.ingest_child, args.workers)
        return 0
    if args.floor_child:
        floor_child(args.floor_child, args.workers)
        return 0

    count = 60 if args.quick else args.count
    print("command:", " ".join([os.path.basename(sys.executable)] + sys.argv))
    print(f"cpu count: {os.cpu_count()}  (usable: {len(os.sched_getaffinity(0))}); "
          f"workers: {args.workers}; DRAFT_SIZE: {DRAFT_SIZE}; Python "
          f"{sys.version.split()[0]}; Pillow {Image.__version__}")
    print("baselines:\n"
          "  (a) ingest   triage ingest via the Python API, fresh workspace, --workers processes\n"
          "  (b) naive    1 process: read, md5+sha1+sha256, full Pillow decode, pHash+dHash\n"
          "  (c) hashdeep hashdeep -r -c md5,sha256 DIR (crypto only)\n"
          f"  (d) floor    read + SHA-256 + draft decode at {DRAFT_SIZE} px, --workers processes")

    gen_workers = max(1, len(os.sched_getaffinity(0)))
    set_dir = generated_set(args.cache, count, gen_workers)
    hashdeep = ensure_hashdeep()
    print(f"hashdeep: {hashdeep}" if hashdeep else "hashdeep: not available")

    if not args.skip_throughput:
        throughput("generated set", set_dir, args.workers, hashdeep)
        if args.photos:
            throughput("real photos", args.photos, args.workers, hashdeep)

    if not args.skip_accuracy:
        if args.photos:
            draft_accuracy(f"real photos {args.photos}", list_files(args.photos), gen_workers,
                           0, check_targets=True)
        draft_accuracy("generated set", list_files(set_dir), gen_workers,
                       min(args.accuracy_sample, 60) if args.quick else args.accuracy_sample,
                       check_targets=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
