"""Video hashing speed: triage's video ingest against a naive loop and the `vpdq` package.

    .venv/bin/python scripts/bench_video.py [--seconds 20] [--clips 2] [--gop 30]
        [--naive-seconds 8] [--videos DIR] [--workers 2]

In one run, on the same clips:
- triage: `triage ingest` of a folder of the clips (a fresh workspace, --no-classify, the
  configured workers), whole command wall time — probe, GOP-aware sampling (keyframes + about one
  frame a second), full-size vPDQ frame hashes, frame copies, contact sheet, playback clip, the
  digests and the store;
- naive: one process, OpenCV reading every frame, `pdqhash.compute` on each (full-size RGB, as
  vPDQ's reference hashes frames), on the first --naive-seconds of each clip (a rate: it does
  not depend on the length);
- vpdq: Meta's package (`vpdq.computeHash`, every frame, its own FFmpeg decode) where it is
  installed (`pip install vpdq` builds from source: cmake and FFmpeg's development libraries).

Printed per resolution: video seconds hashed per wall second (x real time), frames hashed per
second, and the ratios. Clips are generated (H.264 via PyAV's libx264: moving shapes over
gradients, a keyframe every --gop frames; phones record with a keyframe about every second), or
every video in --videos DIR. Targets (issue 13): >= 30x real time for 1080p H.264 at the default
sampling on 2 cores, and >= 5x the naive loop.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}


def make_clip(path: Path, width: int, height: int, seconds: float, fps: int, gop: int,
              seed: int) -> None:
    """Moving circles over a gradient that changes every 2 s, drawn with OpenCV (fast)."""
    import av
    import cv2

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.codec_context.options = {"g": str(gop), "preset": "veryfast", "crf": "23"}
        base = None
        for i in range(int(seconds * fps)):
            if i % (2 * fps) == 0:
                f1, f2, f3 = rng.uniform(2, 9, 3)
                base = np.stack([127 + 110 * np.sin(f1 * x / width * 6.28),
                                 127 + 110 * np.cos(f2 * y / height * 6.28),
                                 127 + 110 * np.sin(f3 * (x + y) / width * 3.14)],
                                axis=-1).clip(0, 255).astype(np.uint8)
                balls = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-9, 9),
                          rng.uniform(-9, 9), int(rng.uniform(30, 160)),
                          tuple(int(c) for c in rng.integers(0, 255, 3))) for _ in range(5)]
            img = base.copy()
            t = i % (2 * fps)
            for bx, by, vx, vy, r, colour in balls:
                cv2.circle(img, (int(bx + vx * t) % width, int(by + vy * t) % height), r,
                           colour, -1)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


def duration_of(path: Path) -> tuple[float, int]:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        dur = float(s.duration * s.time_base) if s.duration else c.duration / 1e6
        return dur, int(s.frames or round(dur * float(s.average_rate)))


def run_triage(folder: Path, workers: int) -> tuple[float, int]:
    """Wall seconds of `triage ingest` over `folder`, and the frames it hashed."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        exe = [sys.executable, "-m", "triage.cli"]
        subprocess.run(exe + ["init", str(ws)], check=True, capture_output=True)
        t = time.perf_counter()
        subprocess.run(exe + ["-w", str(ws), "ingest", str(folder), "--case", "BENCH",
                              "--device", "B", "--no-classify", "--no-progress",
                              "--workers", str(workers)], check=True, capture_output=True)
        wall = time.perf_counter() - t
        out = subprocess.run(exe + ["-w", str(ws), "files", "--device", "B", "--json"],
                             check=True, capture_output=True, text=True).stdout
        rows = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
        bad = [(r["path"], r["status"], r["reason"]) for r in rows if r["status"] != "ok"]
        if bad:
            raise SystemExit(f"triage did not examine every clip fully: {bad}")
        return wall, sum(int(r["frames_hashed"] or 0) for r in rows)


def startup_seconds(workers: int) -> float:
    """Wall seconds of the same command on a folder holding one small text file: the fixed
    cost (interpreter, imports, worker start, match and queue steps) every ingest pays once."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "one"
        folder.mkdir()
        (folder / "a.txt").write_text("x\n")
        return run_triage(folder, workers)[0]


def run_naive(path: Path, max_seconds: float) -> tuple[float, float, int]:
    """(wall, video seconds covered, frames) of OpenCV reading every frame + PDQ on each."""
    import cv2
    import pdqhash

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    limit = int(max_seconds * fps)
    n = 0
    t = time.perf_counter()
    while n < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        pdqhash.compute(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        n += 1
    wall = time.perf_counter() - t
    cap.release()
    return wall, n / fps, n


def run_vpdq(path: Path) -> tuple[float, int] | None:
    try:
        import vpdq  # type: ignore[import-not-found]
    except ImportError:
        return None
    t = time.perf_counter()
    # One hash a second, as triage samples (the package still decodes every frame to pick them).
    features = vpdq.computeHash(str(path), seconds_per_hash=1)
    return time.perf_counter() - t, len(features)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each generated clip")
    ap.add_argument("--clips", type=int, default=2, help="generated clips per resolution")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--gop", type=int, default=30, help="keyframe interval in frames")
    ap.add_argument("--naive-seconds", type=float, default=8.0,
                    help="video seconds of each clip the naive loop hashes (a rate)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--videos", type=Path, help="use these videos instead of generated clips")
    ap.add_argument("--resolutions", default="720p,1080p")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        sets: dict[str, list[Path]] = {}
        if args.videos:
            sets["given"] = sorted(p for p in args.videos.iterdir() if p.is_file())
        else:
            for name in args.resolutions.split(","):
                w, h = RESOLUTIONS[name]
                folder = Path(tmp) / name
                folder.mkdir()
                t = time.perf_counter()
                for i in range(args.clips):
                    make_clip(folder / f"clip{i}.mp4", w, h, args.seconds, args.fps, args.gop,
                              seed=100 + i)
                sets[name] = sorted(folder.iterdir())
                print(f"generated {args.clips} x {args.seconds:g} s {name} H.264 clips (gop"
                      f" {args.gop}) in {time.perf_counter() - t:.1f} s", flush=True)
        print(f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}")
        fixed = startup_seconds(args.workers)
        print(f"triage ingest of one text file (fixed cost of the command): {fixed:.2f} s")
        for name, clips in sets.items():
            folder = clips[0].parent
            video_s = sum(duration_of(p)[0] for p in clips)
            total_frames = sum(duration_of(p)[1] for p in clips)
            wall, hashed = run_triage(folder, args.workers)
            n_wall = n_secs = n_frames = 0.0
            for p in clips:
                a, b, c = run_naive(p, args.naive_seconds)
                n_wall, n_secs, n_frames = n_wall + a, n_secs + b, n_frames + c
            v = [r for r in (run_vpdq(p) for p in clips) if r is not None]
            triage_x = video_s / wall
            naive_x = n_secs / n_wall
            print(f"\n{name}: {len(clips)} clips, {video_s:.0f} s of video, {total_frames} frames")
            print(f"  triage ingest ({args.workers} workers): {wall:.2f} s wall ="
                  f" {triage_x:.1f}x real time, {hashed} frames hashed"
                  f" ({hashed / wall:.1f} frames/s; {total_frames / wall:.0f} video frames/s)")
            if wall > fixed:
                print(f"  triage without the command's fixed cost: {video_s / (wall - fixed):.1f}x"
                      " real time")
            print(f"  naive OpenCV + PDQ every frame (1 process): {naive_x:.2f}x real time,"
                  f" {n_frames / n_wall:.1f} frames/s")
            print(f"  ratio triage / naive: {triage_x / naive_x:.1f}x")
            if v:
                v_wall = sum(a for a, _ in v)
                v_frames = sum(b for _, b in v)
                print(f"  vpdq package (1 hash/s, decodes every frame; 1 process):"
                      f" {video_s / v_wall:.2f}x real time,"
                      f" {v_frames / v_wall:.1f} frames/s; ratio triage / vpdq:"
                      f" {triage_x / (video_s / v_wall):.1f}x")
            else:
                print("  vpdq package: not installed here (`pip install vpdq` builds from"
                      " source: cmake and FFmpeg development libraries)")


if __name__ == "__main__":
    main()
