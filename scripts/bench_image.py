"""Benchmark: ingest of a disk image (raw and E01) against the same files as a folder, and
against reading the image alone (`dd` for the raw image, `ewfexport` for the E01), in one run.

    .venv/bin/python scripts/bench_image.py [--size MiB] [--workers N] [--keep DIR]

Builds an ext4 file system of `--size` MiB (generated pictures, 1-4 MB each, and other files:
text, incompressible binaries), an MBR disk around it, and an E01 of the disk (ewfacquire,
deflate:fast, 1.4 GiB segments). Times, each on a fresh workspace, hashing and decoding as a real
ingest does (`--no-classify`, derivatives kept):
  folder   the files as a folder (the reference)
  raw      the raw image
  e01      the E01
  dd       `dd` reading the raw image to /dev/null (the floor for reading it)
  ewfexport  `ewfexport` decompressing the E01 to a raw stream (the floor for reading the E01)
and prints the figures and the ratios image/folder. Target: e01 within 1.3x of folder. It says
which inflater pyewf uses: the PyPI wheel's own costs about 9x zlib's CPU (scripts/pyewf_zlib.py,
which `make` runs, installs a build linked to zlib).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from triage.demo.synthetic import camera_exif, encode, photo_like  # noqa: E402
from triage.evidence import disk_samples as build  # noqa: E402
from triage.evidence.image_io import ewf_inflater  # noqa: E402


def make_files(folder: Path, size: int) -> int:
    """Pictures (70% of the bytes) and other files until `size` bytes; returns the count."""
    rng = random.Random(14)
    total, n = 0, 0
    while total < size:
        n += 1
        if n % 10 < 7:
            w = rng.choice((2000, 2400, 3000))
            data = encode(photo_like(n, (w, w * 3 // 4)), "JPEG", 92,
                          camera_exif(n) if n % 3 == 0 else None)
            rel = f"Users/alice/Pictures/{n // 100:03d}/IMG_{n:05d}.jpg"
        elif n % 10 == 7:
            data = ("line of text %d\n" % n).encode() * rng.randint(200, 20000)
            rel = f"Users/alice/Documents/note_{n:05d}.txt"
        else:
            data = rng.randbytes(rng.randint(100_000, 3_000_000))
            rel = f"Users/alice/AppData/blob_{n:05d}.bin"
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        total += len(data)
    return n


def build_images(work: Path, files: Path, size: int) -> tuple[int, Path, Path]:
    """The files, an ext4 file system of them in an MBR disk (raw) and its E01."""
    count = make_files(files, size << 20)
    data_bytes = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
    part = work / "ext4.img"
    with open(part, "wb") as f:
        f.truncate(int(data_bytes * 1.15) + (64 << 20))
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(files), "-E", "root_owner=0:0",
                    str(part)], check=True, env={**os.environ, "PATH": os.environ["PATH"]
                                                 + ":/usr/sbin:/sbin"})
    raw = work / "disk.raw"
    build.partitioned_disk(raw, [(part, "83")])
    part.unlink()
    e01 = build.ewf_image(raw, work / "disk", segment_bytes=1_500_000_000)[0]
    return count, raw, e01


def timed(args: list[str]) -> float:
    start = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def ingest(source: Path, work: Path, name: str, workers: int) -> float:
    ws = work / f"ws-{name}"
    subprocess.run([sys.executable, "-m", "triage.cli", "init", str(ws)], check=True,
                   stdout=subprocess.DEVNULL)
    return timed([sys.executable, "-m", "triage.cli", "-w", str(ws), "ingest", str(source),
                  "--case", "BENCH", "--device", name, "--workers", str(workers),
                  "--no-classify", "--no-progress"])


def drop_caches() -> None:
    """Every run reads from the page cache (the image is built just before): say so, and try
    to drop caches where permitted so the first run is not favoured."""
    try:
        subprocess.run(["sync"], check=False)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=600, help="MiB of files (default 600)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", type=Path, help="build in DIR and keep it (a later run with the"
                    " same --size reuses the images built there)")
    args = ap.parse_args()
    missing = build.missing_tools(("mkfs.ext4", "sfdisk", "ewfacquire", "ewfexport", "dd"))
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)} (apt-get install e2fsprogs fdisk"
                 " ewf-tools)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-image-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        files = work / "files"
        t0 = time.monotonic()
        built = work / "built.txt"  # what a kept DIR holds, so a second run reuses the images
        if built.exists() and built.read_text().split()[0] == str(args.size):
            count = int(built.read_text().split()[1])
            raw, e01 = work / "disk.raw", work / "disk.E01"
            for ws in work.glob("ws-*"):
                shutil.rmtree(ws)
        else:
            count, raw, e01 = build_images(work, files, args.size)
            built.write_text(f"{args.size} {count}\n")
        data_bytes = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
        print(f"built {count} files, {data_bytes / 2**20:.0f} MiB; raw image"
              f" {raw.stat().st_size / 2**20:.0f} MiB, E01"
              f" {sum(p.stat().st_size for p in work.glob('disk.E*')) / 2**20:.0f} MiB"
              f" (in {time.monotonic() - t0:.0f} s); workers {args.workers}; pyewf inflater:"
              f" {ewf_inflater()}; load {os.getloadavg()[0]:.1f}", flush=True)
        figures = {}
        for name, source in (("folder", files), ("raw", raw), ("e01", e01)):
            drop_caches()
            figures[name] = ingest(source, work, name, args.workers)
            print(f"  ingest {name:9s} {figures[name]:7.1f} s", flush=True)
        drop_caches()
        figures["dd"] = timed(["dd", f"if={raw}", "of=/dev/null", "bs=4M"])
        print(f"  dd        {figures['dd']:7.1f} s", flush=True)
        drop_caches()
        figures["ewfexport"] = timed(["ewfexport", "-q", "-u", "-f", "raw", "-t", "-",
                                      str(e01)])
        print(f"  ewfexport {figures['ewfexport']:7.1f} s", flush=True)
        mib = data_bytes / 2**20
        print(f"throughput: folder {mib / figures['folder']:.0f} MiB/s, raw"
              f" {mib / figures['raw']:.0f} MiB/s, e01 {mib / figures['e01']:.0f} MiB/s")
        print(f"ratios: raw/folder {figures['raw'] / figures['folder']:.2f}x, e01/folder"
              f" {figures['e01'] / figures['folder']:.2f}x (target <= 1.3x); e01 ingest /"
              f" ewfexport {figures['e01'] / figures['ewfexport']:.2f}x, raw ingest / dd"
              f" {figures['raw'] / figures['dd']:.2f}x; load {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
