#!/usr/bin/env python3
"""Benchmark `triage ingest` as whole commands against its floors, and measure the accuracy of
its shortcuts (reduced JPEG decode, pHash/dHash from the small copy, PDQ in numpy).

Pictures (`--photos DIR`, from ../shared/tools/fetch-benign-photos)
------------------------------------------------------------------
On the phone-size set made from DIR (scripts/bench_phone_set.py: 12, 4, 1.9 and 0.4 Mpx JPEGs),
at each `--counts` (default ~200 and ~2,000 files), the same run times these whole commands,
start-up included, `--runs` times each, interleaved, from the page cache:

  ingest       `triage ingest SET --workers W --no-classify` in a fresh workspace: everything
               ingest does (identification, md5+sha1+sha256, reduced decode, PDQ, pHash, dHash,
               EXIF, the derivative JPEG, SQLite, the match and queue stages of the command).
  floor        read + SHA-256 + reduced decode (JPEG draft to >= 512 px) + PDQ by the `pdqhash`
               package on the reference 512 px pixels, W processes: the least a conformant
               ingest must do. Target: ingest <= 1.5x.
  floor-nopdq  the same without PDQ. Stretch target: ingest <= 2x.
  hashdeep     `hashdeep -r -c md5,sha1,sha256 SET` (crypto only, for scale).
  naive        one process: read, three digests, full decode, imagehash pHash + dHash, pdqhash
               on full-resolution pixels (what a straightforward script does; --naive).

Each command's CPU seconds are those of its whole process tree (this script is the subreaper of
the ingest's forkserver and workers). Then an in-process breakdown: CPU ms per file of each
stage of ingest and of the floor, so a target missed says where the time goes.

Accuracy (`--photos`)
---------------------
For every photo of DIR and the first pass of the phone-size set (each photo at each size once):
PDQ through ingest's own path (`triage.media.image.analyse`) against the reference pipeline on
a full decode (`pdqhash` on the 512 px nearest-neighbour pixels), for quality >= 80 (PDQ's
conformance rule: <= 10 bits), with the reference's own instability (its distance to itself
after a one-pixel crop) beside it; pHash and dHash against imagehash on the full decode (target
<= 8 bits); and triage's numpy PDQ against `pdqhash` on identical pixels.

Non-picture bytes (`--bytes 100,1000`, MB)
------------------------------------------
One file of random bytes per size, read cold (evicted from the page cache before each run with
posix_fadvise, as a file larger than memory always is) and warm: `triage ingest` of its folder
against `hashdeep -c md5,sha1,sha256`. Target: >= 1.0x hashdeep's MB/s. `--bytes-huge GB` adds
one file of that size (make it larger than memory: `free -g`).

    .venv/bin/python scripts/bench_ingest.py --photos PHOTOS
    .venv/bin/python scripts/bench_ingest.py --photos PHOTOS --counts 200 --runs 3 --quick
    .venv/bin/python scripts/bench_ingest.py --bytes 100,1000 --skip-pictures

A missed target is reported, never an error: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import io
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(SCRIPTS.parent))

from bench_phone_set import SOURCE_EXTS, describe, one_pass, phone_set  # noqa: E402

from triage.evidence.base import Limits  # noqa: E402
from triage.media.image import DRAFT_SIZE  # noqa: E402

FLOOR_DRAFT = 512
TARGET_FLOOR = 1.5
TARGET_FLOOR_NOPDQ = 2.0
TARGET_PDQ_BITS = 10
TARGET_PHASH_BITS = 8
TARGET_BYTES_RATIO = 1.0
PDQ_MIN_QUALITY = 80
TRIAGE = str(Path(sys.executable).with_name("triage"))


# -- whole commands, their process trees' CPU -------------------------------------------------
def become_subreaper() -> None:
    """Orphaned descendants (the ingest's forkserver outlives its parent for a moment) are
    re-parented to this process, so their CPU reaches RUSAGE_CHILDREN when reaped here."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans() -> int:
    """Wait for the orphans handed to this subreaper; the largest peak RSS among them (KiB)."""
    peak = 0
    while True:
        try:
            _, _, use = os.wait4(-1, 0)
        except ChildProcessError:
            return peak
        peak = max(peak, use.ru_maxrss)


def child_env() -> dict[str, str]:
    """The commands' environment: bytecode may be written (a normal install has it compiled)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass
class Command:
    name: str
    argv: list[str]
    prepare: Any = None  # called (untimed) before each run
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss_kib: int = 0

    def run(self) -> None:
        if self.prepare:
            self.prepare()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=err,
                                    env=child_env(), text=True)
            # wait4: this command's own peak RSS (the largest of its process and the children
            # it waited for); RUSAGE_CHILDREN's ru_maxrss is the largest child of the whole run
            _, status, use = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            peak = max(use.ru_maxrss, _reap_orphans())
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                err.seek(0)
                raise SystemExit(f"{self.name} failed ({code}): {err.read()[-2000:]}")
        proc.returncode = code  # reaped above
        self.walls.append(wall)
        self.cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        self.rss_kib = max(self.rss_kib, peak)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def time_commands(commands: list[Command], runs: int, warm_up: bool = True) -> None:
    """One untimed warm-up of each (page cache, bytecode; skipped for a file larger than memory,
    which the cache cannot hold), then `runs` rounds, interleaved so a change in the machine's
    load touches every command alike."""
    for c in commands if warm_up else ():
        c.run()
        c.walls.clear()
        c.cpus.clear()
    for r in range(runs):
        for c in commands:
            c.run()
        print(f"  round {r + 1}/{runs}: " + ", ".join(f"{c.name} {c.walls[-1]:.2f} s"
                                                      for c in commands), flush=True)


def fresh_workspace(root: Path) -> Any:
    def prepare() -> None:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([TRIAGE, "init", str(root)], check=True, stdout=subprocess.DEVNULL,
                       env=child_env())
    return prepare


def ingest_argv(ws: Path, source: Path, workers: int) -> list[str]:
    return [TRIAGE, "-w", str(ws), "ingest", str(source), "--case", "BENCH", "--device", "D1",
            "--workers", str(workers), "--no-classify", "--no-progress"]


def report(commands: list[Command], files: int, total_bytes: int) -> dict[str, Command]:
    mb = total_bytes / 1e6
    print(f"\n{'command':<13}{'median s':>9}{'min s':>8}{'files/s':>9}{'MB/s':>8}{'CPU s':>8}"
          f"{'CPU ms/file':>12}{'peak RSS':>10}")
    for c in commands:
        print(f"{c.name:<13}{c.wall:9.2f}{min(c.walls):8.2f}{files / c.wall:9.1f}"
              f"{mb / c.wall:8.1f}{c.cpu:8.2f}{c.cpu / max(1, files) * 1000:12.1f}"
              f"{c.rss_kib / 1024:8.0f} MB")
    floor_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(peak RSS: the largest process of the command; Linux counts a child's pages from"
          f" before its exec, so nothing reads below this script's own {floor_mb:.0f} MB)")
    return {c.name: c for c in commands}


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -- the floor (a child process: `--_floor SET`) ---------------------------------------------
def _floor_one(job: tuple[str, bool]) -> int:
    import pdqhash

    from triage.signals.pdq import pdq_pixels

    path, with_pdq = job
    with open(path, "rb", buffering=0) as f:
        data = f.readall()
    hashlib.sha256(data).digest()
    with Image.open(io.BytesIO(data)) as im:
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", (FLOOR_DRAFT, FLOOR_DRAFT))
        rgb = im.convert("RGB")
    if with_pdq:
        pdqhash.compute(pdq_pixels(rgb))
    return len(data)


def floor_main(folder: str, workers: int, with_pdq: bool) -> None:
    if with_pdq:
        __import__("pdqhash")  # imported once before the fork, as a script would
    files = [os.path.join(folder, n) for n in sorted(os.listdir(folder))]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _ in pool.imap_unordered(_floor_one, [(p, with_pdq) for p in files], chunksize=4):
            pass


def naive_main(folder: str) -> None:
    import imagehash
    import pdqhash

    Image.MAX_IMAGE_PIXELS = None
    for name in sorted(os.listdir(folder)):
        data = Path(folder, name).read_bytes()
        for algo in ("md5", "sha1", "sha256"):
            hashlib.new(algo, data).hexdigest()
        with Image.open(io.BytesIO(data)) as im:
            rgb = im.convert("RGB")
        imagehash.phash(rgb), imagehash.dhash(rgb)
        pdqhash.compute(np.asarray(rgb))


# -- pictures ---------------------------------------------------------------------------------
def pictures(args: argparse.Namespace, hashdeep: str | None) -> None:
    for count in args.counts:
        folder = phone_set(args.photos, args.cache, count)
        files = sorted(folder.iterdir())
        total = sum(p.stat().st_size for p in files)
        print(f"\n== pictures: {folder}: {describe(folder)} ==")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        ws = args.cache / "bench-ws"
        me = [sys.executable, str(Path(__file__).resolve())]
        commands = [
            Command("ingest", ingest_argv(ws, folder, args.workers), fresh_workspace(ws)),
            Command("floor", me + ["--_floor", str(folder), "--workers", str(args.workers)]),
            Command("floor-nopdq", me + ["--_floor", str(folder), "--workers",
                                         str(args.workers), "--_no-pdq"]),
        ]
        if hashdeep:
            commands.append(Command("hashdeep", [hashdeep, "-r", "-c", "md5,sha1,sha256",
                                                 str(folder)]))
        if args.naive and count <= 500:
            commands.append(Command("naive", me + ["--_naive", str(folder)]))
        time_commands(commands, args.runs)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        got = report(commands, len(files), total)
        ing, fl, fn = got["ingest"], got["floor"], got["floor-nopdq"]
        r1, r2 = ing.wall / fl.wall, ing.wall / fn.wall
        print(f"\ningest / floor:        {r1:5.2f}x wall ({ing.cpu / fl.cpu:4.2f}x CPU)"
              f"   target <= {TARGET_FLOOR}x: {verdict(r1 <= TARGET_FLOOR)}")
        print(f"ingest / floor-nopdq:  {r2:5.2f}x wall ({ing.cpu / fn.cpu:4.2f}x CPU)"
              f"   stretch <= {TARGET_FLOOR_NOPDQ}x: {verdict(r2 <= TARGET_FLOOR_NOPDQ)}")
        if "naive" in got:
            print(f"ingest vs naive:       {got['naive'].wall / ing.wall:5.2f}x faster")
        if "hashdeep" in got:
            print(f"ingest / hashdeep:     {ing.wall / got['hashdeep'].wall:5.2f}x "
                  "(hashdeep decodes nothing)")
        shutil.rmtree(ws, ignore_errors=True)
        breakdown(files, ing.cpu, args.workers)


def _stage_times(data: bytes) -> dict[str, float]:
    """CPU seconds of each stage of ingest's path for one picture, and of the floor's."""
    import pdqhash

    from triage.evidence.filetypes import identify
    from triage.media import image
    from triage.signals import pdq, phash
    from triage.signals.base import Picture

    out: dict[str, float] = {}

    def t(name: str, fn: Any) -> Any:
        start = time.process_time()
        value = fn()
        out[name] = out.get(name, 0.0) + time.process_time() - start
        return value

    t("identify", lambda: identify(data[:64]))
    for algo in ("md5", "sha1", "sha256"):
        t(algo, lambda: hashlib.new(algo, data).digest())

    def decode(size: int) -> Image.Image:
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", (size, size))
        im.load()
        return im if im.mode == "RGB" else im.convert("RGB")

    rgb = t(f"decode (draft {DRAFT_SIZE})", lambda: decode(DRAFT_SIZE))
    picture = Picture(rgb, drafted=True)
    t("EXIF", lambda: image._exif_fields(rgb))
    t("PDQ (numpy)", lambda: pdq.PDQ.compute(picture))
    t("small copy", lambda: picture.small)
    t("pHash + dHash", lambda: (phash.PHASH.compute(picture), phash.DHASH.compute(picture)))
    t("derivative JPEG", lambda: image._derivative(picture, 1))
    floor = t(f"floor: decode (draft {FLOOR_DRAFT})", lambda: decode(FLOOR_DRAFT))
    t("floor: pdqhash", lambda: pdqhash.compute(pdq.pdq_pixels(floor)))
    return out


def breakdown(files: list[Path], ingest_cpu: float, workers: int) -> None:
    from triage.media.image import setup_decoders

    setup_decoders()
    totals: dict[str, float] = {}
    for p in files:
        for k, v in _stage_times(p.read_bytes()).items():
            totals[k] = totals.get(k, 0.0) + v
    n = len(files)
    ingest_stages = {k: v for k, v in totals.items() if not k.startswith("floor")}
    staged = sum(ingest_stages.values())
    print(f"\nwhere the CPU goes, per file (in-process, {n} files):")
    for k, v in totals.items():
        print(f"  {k:<26}{v / n * 1000:7.2f} ms")
    print(f"  {'ingest stages above':<26}{staged / n * 1000:7.2f} ms")
    print(f"  {'ingest, whole command':<26}{ingest_cpu / n * 1000:7.2f} ms   (the rest: start-up"
          f" of {workers + 2} processes, reading, IPC, SQLite, match and queue stages:"
          f" {(ingest_cpu - staged) / n * 1000:.2f} ms)")


# -- accuracy -------------------------------------------------------------------------------------
def _hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _reference_pdq(rgb: Image.Image) -> tuple[str, int]:
    import pdqhash

    from triage.signals.pdq import pdq_pixels

    bits, quality = pdqhash.compute(pdq_pixels(rgb))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def _accuracy_one(path: str) -> dict[str, Any] | None:
    import imagehash

    from triage.evidence.filetypes import identify
    from triage.media import image
    from triage.signals.pdq import pdq_hex

    image.setup_decoders()
    data = Path(path).read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as im:
            full = im.convert("RGB")
    except Exception:  # noqa: BLE001 - not a picture Pillow reads
        return None
    ref, quality = _reference_pdq(full)
    w, h = full.size
    shifted = min(_hamming(ref, _reference_pdq(full.crop(box))[0])
                  for box in ((1, 0, w, h), (0, 1, w, h)))
    out: dict[str, Any] = {"name": Path(path).name, "quality": quality, "shift": shifted,
                           "impl": _hamming(pdq_hex(full)[0], ref)}
    for size in sorted({DRAFT_SIZE, FLOOR_DRAFT}):
        got = image.analyse(data, identify(data[:64]), Limits(draft_px=size),
                            want_derivatives=False)
        value = {s.signal: s.value for s in got.signals if s.frame == 0}
        out[size] = {"pdq": _hamming(value["pdq"], ref),
                     "phash": _hamming(value["phash"], str(imagehash.phash(full))),
                     "dhash": _hamming(value["dhash"], str(imagehash.dhash(full)))}
    return out


def _summary(values: list[int], bound: int) -> str:
    if not values:
        return "n/a"
    return (f"max {max(values):3d}  mean {statistics.fmean(values):5.2f}  over {bound}:"
            f" {sum(v > bound for v in values):3d} of {len(values)}")


def accuracy(label: str, paths: list[Path], workers: int) -> None:
    print(f"\n== accuracy: {label} ({len(paths)} files) ==", flush=True)
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        rows = [r for r in pool.map(_accuracy_one, [str(p) for p in paths], chunksize=1) if r]
    good = [r for r in rows if r["quality"] >= PDQ_MIN_QUALITY]
    stable = [r for r in good if r["shift"] <= TARGET_PDQ_BITS]
    print(f"{len(rows)} pictures; {len(good)} of PDQ quality >= {PDQ_MIN_QUALITY}; of those, "
          f"{len(stable)} where the reference moves <= {TARGET_PDQ_BITS} bits under a 1-px crop"
          f" (on the others no reduced decode can follow it: {_summary([r['shift'] for r in good], TARGET_PDQ_BITS)})")
    print(f"numpy PDQ vs pdqhash, same pixels (full decode): "
          f"{_summary([r['impl'] for r in rows], 0)}")
    for size in sorted({DRAFT_SIZE, FLOOR_DRAFT}):
        mark = "  (ingest's DRAFT_SIZE)" if size == DRAFT_SIZE else "  (the floor's draft)"
        print(f"draft {size}{mark}:")
        print(f"  PDQ vs reference, quality >= {PDQ_MIN_QUALITY}:   "
              f"{_summary([r[size]['pdq'] for r in good], TARGET_PDQ_BITS)}")
        print(f"  PDQ vs reference, stable reference: "
              f"{_summary([r[size]['pdq'] for r in stable], TARGET_PDQ_BITS)}")
        print(f"  pHash vs imagehash (full decode):   "
              f"{_summary([r[size]['phash'] for r in rows], TARGET_PHASH_BITS)}")
        print(f"  dHash vs imagehash (full decode):   "
              f"{_summary([r[size]['dhash'] for r in rows], TARGET_PHASH_BITS)}")
    worst = sorted(good, key=lambda r: -r[DRAFT_SIZE]["pdq"])[:5]
    print("largest PDQ moves at DRAFT_SIZE (bits; reference's own 1-px move): "
          + ", ".join(f"{r['name']} {r[DRAFT_SIZE]['pdq']} ({r['shift']})" for r in worst))


# -- non-picture bytes ----------------------------------------------------------------------------
def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _random_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    rng = np.random.default_rng(size)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        left = size
        while left:
            n = min(left, 64 << 20)
            f.write(rng.bytes(n))
            left -= n
    os.replace(tmp, path)


def bytes_bench(args: argparse.Namespace, hashdeep: str | None) -> None:
    if not hashdeep:
        print("\n== non-picture bytes: hashdeep not available, nothing to compare with ==")
        return
    sizes = [int(mb * 1e6) for mb in args.bytes] + (
        [int(args.bytes_huge * 1e9)] if args.bytes_huge else [])
    for size in sizes:
        folder = args.cache / f"bytes-{size}"
        folder.mkdir(parents=True, exist_ok=True)
        data = folder / "data.bin"
        print(f"\n== non-picture bytes: one file of {size / 1e6:,.0f} MB ==", flush=True)
        _random_file(data, size)
        ws = args.cache / "bench-ws-bytes"
        # a file larger than memory is never in the page cache: its one run is the cold one
        for cold in (True,) if size > 5e9 else (True, False):
            evict = (lambda: _evict(data)) if cold else None

            def prepare_ingest(evict: Any = evict) -> None:
                fresh_workspace(ws)()
                if evict:
                    evict()
            commands = [Command("ingest", ingest_argv(ws, folder, args.workers), prepare_ingest),
                        Command("hashdeep", [hashdeep, "-r", "-c", "md5,sha1,sha256",
                                             str(folder)], evict)]
            runs = 1 if size > 5e9 else args.runs
            print(f"{'cold (evicted before each run)' if cold else 'warm (page cache)'}:")
            time_commands(commands, runs, warm_up=size <= 5e9)
            got = report(commands, 1, size)
            ratio = got["hashdeep"].wall / got["ingest"].wall
            print(f"ingest MB/s / hashdeep MB/s: {ratio:.2f}x   target >= {TARGET_BYTES_RATIO}x:"
                  f" {verdict(ratio >= TARGET_BYTES_RATIO)}")
        shutil.rmtree(ws, ignore_errors=True)
        if size > 5e9:
            data.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, help="folder from fetch-benign-photos")
    parser.add_argument("--counts", type=lambda s: [int(x) for x in s.split(",")],
                        default=[200, 2000], help="phone-size set sizes (default 200,2000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/triage-bench-set"))
    parser.add_argument("--naive", action=argparse.BooleanOptionalAction, default=True,
                        help="time the naive one-process loop too (sets <= 500 files)")
    parser.add_argument("--skip-pictures", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--bytes", type=lambda s: [float(x) for x in s.split(",")], default=[],
                        help="non-picture file sizes in MB, e.g. 100,1000")
    parser.add_argument("--bytes-huge", type=float, default=0.0,
                        help="one more file of this many GB (larger than memory)")
    parser.add_argument("--quick", action="store_true", help="accuracy on the first 60 files")
    parser.add_argument("--_floor", dest="floor", help=argparse.SUPPRESS)
    parser.add_argument("--_no-pdq", dest="no_pdq", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_naive", dest="naive_dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        floor_main(args.floor, args.workers, not args.no_pdq)
        return 0
    if args.naive_dir:
        naive_main(args.naive_dir)
        return 0

    become_subreaper()
    print("command:", " ".join([os.path.basename(sys.executable)] + sys.argv))
    print(f"cpu count: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}); workers "
          f"{args.workers}; DRAFT_SIZE {DRAFT_SIZE}; floor draft {FLOOR_DRAFT}; Python "
          f"{sys.version.split()[0]}; Pillow {Image.__version__}")
    hashdeep = shutil.which("hashdeep")
    print(f"hashdeep: {hashdeep or 'not available (Debian package hashdeep)'}")
    if not args.skip_pictures or not args.skip_accuracy:
        if not args.photos:
            parser.error("--photos DIR is needed (../shared/tools/fetch-benign-photos DIR)")
    if not args.skip_pictures:
        pictures(args, hashdeep)
    if not args.skip_accuracy:
        originals = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in SOURCE_EXTS)
        resized = sorted(one_pass(args.photos, args.cache).iterdir())
        if args.quick:
            originals, resized = originals[:60], resized[:60]
        workers = len(os.sched_getaffinity(0))
        accuracy(f"real photos {args.photos}", originals, workers)
        accuracy("phone-size re-encodes (each photo once at each size)", resized, workers)
    if args.bytes or args.bytes_huge:
        bytes_bench(args, hashdeep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
