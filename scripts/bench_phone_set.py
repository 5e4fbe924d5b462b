#!/usr/bin/env python3
"""The phone-size photo set the ingest benchmarks run on (real benign photos, re-encoded).

Phones and messengers store pictures at a few sizes: camera originals of 12 Mpx (4000x3000)
and 4 Mpx (binned or front camera), and the 1.9 Mpx and 0.4 Mpx copies messaging apps keep.
This takes the distinct photos of a folder fetched by `../shared/tools/fetch-benign-photos`
(Debian wallpapers; REFERENCE.md: some are the same wallpaper at several resolutions and some
flat abstract ones have PDQ quality < 50, so photos within 80 PDQ bits of one already kept, or of
quality < 70, are left out) and writes each at those four sizes (aspect kept) as baseline JPEGs:
quality 92 with camera EXIF for the camera sizes, 85 and 80 without EXIF for the messenger
copies.

`--count N` above one pass (4 x distinct photos) adds variants: the same photo cropped by a few
pixels and saved at another quality, so every file has its own bytes and its own decode (ingest
skips a second decode of identical bytes, which would flatter it).

Never commit the output; it is cached under `--cache` and rebuilt when the recipe changes.

    .venv/bin/python scripts/bench_phone_set.py PHOTOS --count 2000

(PHOTOS: a folder fetched by ../shared/tools/fetch-benign-photos.)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from triage.demo.synthetic import camera_exif
from triage.signals.pdq import pdq_hex

RECIPE = 1  # bump when the recipe changes (invalidates the cache)
# (label, megapixels, JPEG quality, camera EXIF)
SIZES = (("12mp", 12.0, 92, True), ("4mp", 4.0, 92, True), ("1.9mp", 1.92, 85, False),
         ("0.4mp", 0.4, 80, False))
DISTINCT_BITS = 80
MIN_QUALITY = 70
SOURCE_EXTS = {".jpg", ".jpeg", ".png", ".webp"}


def distinct_photos(photos: Path, cache: Path | None = None) -> list[Path]:
    """The photos of `photos` that are not near-copies of one kept before (sorted by name);
    remembered in `cache` for the same folder listing."""
    listing = sorted([p.name, p.stat().st_size] for p in photos.iterdir()
                     if p.suffix.lower() in SOURCE_EXTS)  # lists: as JSON reads them back
    memo = cache / f"distinct-r{RECIPE}.json" if cache else None
    if memo and memo.exists():
        saved = json.loads(memo.read_text())
        if saved["folder"] == str(photos.resolve()) and saved["listing"] == listing:
            return [photos / n for n in saved["kept"]]
    kept: list[tuple[Path, int]] = []
    for path in [photos / name for name, _ in listing]:
        try:
            with Image.open(path) as im:
                value, quality = pdq_hex(im.convert("RGB"))
        except Exception:  # noqa: BLE001 - a damaged download is simply not used
            continue
        code = int(value, 16)
        if quality < MIN_QUALITY:
            continue
        if all((code ^ other).bit_count() > DISTINCT_BITS for _, other in kept):
            kept.append((path, code))
    if memo:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps({"folder": str(photos.resolve()), "listing": listing,
                                    "kept": [p.name for p, _ in kept]}))
    return [p for p, _ in kept]


def _size_for(src: tuple[int, int], mpx: float) -> tuple[int, int]:
    w, h = src
    scale = (mpx * 1e6 / (w * h)) ** 0.5
    return max(16, round(w * scale)), max(16, round(h * scale))


def _make_one(job: tuple[str, str, int, int]) -> list[str]:
    """All sizes (and variants) of one source photo; returns the names written."""
    src, out_dir, index, variants = job
    names = [f"p{index:03d}_{label}_v{v:02d}.jpg" for label, *_ in SIZES for v in range(variants)]
    if all((Path(out_dir) / n).exists() for n in names):
        return names  # made before: no decode
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(src) as im:
        rgb = im.convert("RGB")
    written = []
    for label, mpx, quality, exif in SIZES:
        base = rgb.resize(_size_for(rgb.size, mpx), Image.Resampling.LANCZOS)
        for v in range(variants):
            name = f"p{index:03d}_{label}_v{v:02d}.jpg"
            target = Path(out_dir) / name
            written.append(name)
            if target.exists():
                continue
            img = base
            if v:
                # A few pixels off each edge and another quality: new bytes, same photo.
                d = 2 * v
                img = base.crop((d, v, base.width - v, base.height - d))
            q = max(60, quality - 3 * v) if v else quality
            tmp = target.with_suffix(".part")
            kwargs = {"exif": camera_exif(index * 100 + v).tobytes()} if exif else {}
            img.save(tmp, "JPEG", quality=q, **kwargs)
            os.replace(tmp, target)
    return written


def phone_set(photos: Path, cache: Path, count: int, workers: int | None = None) -> Path:
    """A folder of about `count` phone-size JPEGs made from `photos` (cached; see above)."""
    sources = distinct_photos(photos, cache)
    if not sources:
        raise SystemExit(f"no usable photos in {photos} (run ../shared/tools/"
                         "fetch-benign-photos first)")
    per_pass = len(sources) * len(SIZES)
    variants = max(1, -(-count // per_pass))
    pool_dir = cache / f"phone-pool-r{RECIPE}"
    pool_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(str(p), str(pool_dir), i, variants) for i, p in enumerate(sources)]
    workers = workers or len(os.sched_getaffinity(0))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        names = sorted(n for names in pool.imap_unordered(_make_one, jobs) for n in names)
    # Spread the first `count` over every size and photo: variants in order, then photos.
    names.sort(key=lambda n: (n.rsplit("_v", 1)[1], n))
    names = names[:count]
    set_dir = cache / f"phone-r{RECIPE}-{count}"
    if set_dir.is_dir() and sorted(p.name for p in set_dir.iterdir()) == sorted(names):
        return set_dir
    tmp_dir = cache / f".phone-r{RECIPE}-{count}.tmp"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    for name in names:
        os.link(pool_dir / name, tmp_dir / name)
    shutil.rmtree(set_dir, ignore_errors=True)
    os.replace(tmp_dir, set_dir)
    return set_dir


def one_pass(photos: Path, cache: Path) -> Path:
    """The set holding each distinct photo once at each size (no variants)."""
    return phone_set(photos, cache, len(distinct_photos(photos, cache)) * len(SIZES))


def describe(folder: Path) -> str:
    files = sorted(folder.iterdir())
    total = sum(p.stat().st_size for p in files)
    by = {label: sum(1 for p in files if f"_{label}_" in p.name) for label, *_ in SIZES}
    return (f"{len(files)} files, {total / 1e6:.0f} MB ("
            + ", ".join(f"{n} at {label}" for label, n in by.items()) + ")")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", type=Path, help="folder from fetch-benign-photos")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/triage-bench-set"))
    args = parser.parse_args(argv)
    folder = phone_set(args.photos, args.cache, args.count)
    print(f"{folder}: {describe(folder)}")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
