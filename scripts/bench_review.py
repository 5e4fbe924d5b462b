#!/usr/bin/env python3
"""Benchmark the review pages and the backlog page: the queue built per request vs recorded.

Generates a workspace through the store's own API (no real pictures: random PDQ/pHash, bursts
of near-identical hashes, a few low-quality PDQs clustered by pHash, classifier scores, tiny
shared derivatives): one device with 50,000 unseen pictures and 39 more (`--others` pictures
each) on a register of 40 devices, an alert PDQ list (`--alerts` hashes, some 35-60 bits from
the device's pictures) and an md5 list. Matching and the queue step run through the pipeline.

Then, with Flask's test client (in-process, no network), measures p50/p95 of
  - POST /api/decide (each on the next entry, revealed first as the review rule requires; the
    reveal itself is not timed), GET /review/<device> (the grid page) and GET /backlog/
    (40 devices),
  - the review workstation's pages (issue 15): the item view with its context panel
    (`item`), grid pages deep in the queue (`grid-page`: random pages up to the last), filtered
    and sorted grid pages (`grid-filter`: folder, camera, date range, search by name, sorted by
    date or size, random pages), only on the recorded queue,
  - before: the per-request path (`TRIAGE_QUEUE = "per-request"`: `build_queue` per call with
    the similarity search per call, and the backlog forecast building every device's queue),
  - after: the recorded queue,
and prints both and the ratio. Targets (issues 12 and 15): decide p95 < 50 ms, grid, grid pages,
filtered grid pages, item view and backlog < 300 ms.

    .venv/bin/python scripts/bench_review.py [--pictures 50000] [--devices 40] [--dir DIR]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from triage.accounts import hash_password  # noqa: E402
from triage.categories import CategoryMap  # noqa: E402
from triage.match.lists.library import import_list  # noqa: E402
from triage.pipeline import Pipeline  # noqa: E402
from triage.queue.workload import hours_for  # noqa: E402
from triage.records import FileResult, ImageInfo  # noqa: E402
from triage.store import Store  # noqa: E402
from triage.workspace import Workspace, init_workspace  # noqa: E402

TARGETS_MS = {"decide": 50.0, "grid": 300.0, "backlog": 300.0, "item": 300.0,
              "grid-page": 300.0, "grid-filter": 300.0}
FILTERS = ("folder=DCIM/Camera", "camera=Canon+EOS+80D&sort=date",
           "from=2025-03-01&to=2025-09-30&sort=size&order=asc", "q=_0123",
           "folder=WhatsApp&sort=path", "match=similar", "scope=decided")
PASSWORD = "bench password long enough"
BIG = "BENCH-BIG"


def hex_codes(rng: np.random.Generator, n: int, words: int) -> np.ndarray:
    """Random codes as rows of uint64 words (PDQ: 4, pHash: 1)."""
    return rng.integers(0, 256, (n, words * 8), dtype=np.uint8).view("<u8").copy()


def flip(code: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = code.copy()
    for b in rng.choice(code.size * 64, bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def as_hex(code: np.ndarray) -> str:
    return code.astype("<u8").tobytes().hex()


def picture_hashes(rng: np.random.Generator, n: int) -> tuple[list[str], list[int], list[str]]:
    """PDQ (with ~15% in bursts of 2-8 near-identical), qualities (2% too low), pHash."""
    pdq = hex_codes(rng, n, 4)
    i = 0
    while i < n:
        if rng.random() < 0.05:
            size = int(rng.integers(2, 9))
            for j in range(i + 1, min(n, i + size)):
                pdq[j] = flip(pdq[i], int(rng.integers(2, 20)), rng)
            i += size
        else:
            i += 1
    quality = [int(q) for q in np.where(rng.random(n) < 0.02, 30, 100)]
    phash = hex_codes(rng, n, 1)
    return [as_hex(c) for c in pdq], quality, [as_hex(c) for c in phash]


def make_device(store: Store, ws: Workspace, case: str, label: str, n: int,
                rng: np.random.Generator, derivatives: list[str]) -> list[str]:
    """`n` unseen pictures of a device, through the store's ingest API. Returns their PDQs."""
    dev = store.ensure_device(case, label)
    source = store.ensure_source(dev, f"/evidence/{label}", "folder", label)
    run = store.start_run(dev, source)
    pdqs, quality, phash = picture_hashes(rng, n)
    batch: list[FileResult] = []
    for i in range(n):
        digest = rng.integers(0, 256, 68, dtype=np.uint8).tobytes().hex()
        folder = ("DCIM/Camera", "WhatsApp/Media/Images", "Pictures", "app/cache")[i % 4]
        camera = i % 4 == 0
        batch.append(FileResult(
            path=f"{folder}/{label}_{i:06d}.jpg", extension="jpg", size=100_000 + i,
            mtime=1_735_689_600 + (i * 7919) % (365 * 86_400),
            status="ok", detected_type="jpeg", media_kind="image", ext_mismatch=False,
            md5=digest[:32], sha1=digest[32:72], sha256=digest[72:136],
            image=ImageInfo(width=4000 if camera else 1280, height=3000 if camera else 960,
                            pdq=pdqs[i], pdq_quality=quality[i], phash=phash[i],
                            dhash=phash[i], exif_make="Canon" if camera else None,
                            exif_model="Canon EOS 80D" if camera else None,
                            exif_datetime_original="2025:06:01 10:00:00" if camera else None),
            derivative=derivatives[i % len(derivatives)]))
        if len(batch) == 5000:
            store.record_files(dev, source, run, batch)
            batch = []
    store.record_files(dev, source, run, batch)
    store.finish_run(run, "completed", {"files": n})
    return pdqs


def build_workspace(root: Path, pictures: int, devices: int, others: int, alerts: int,
                    seed: int) -> tuple[Workspace, dict[str, float]]:
    rng = np.random.default_rng(seed)
    ws = init_workspace(root / "ws")
    # Dihedral PDQs are hashed from each derivative at match time (cached per content); these
    # tiny shared stand-ins would only make the set-up slower, not the pages.
    matching = ws.config_dir / "matching.toml"
    matching.write_text(matching.read_text().replace("dihedral = true", "dihedral = false", 1))
    ws.derivative_dir.mkdir(parents=True, exist_ok=True)
    derivatives = []
    for k in range(16):
        name = f"bench/{k:02d}.jpg"
        (ws.derivative_dir / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (k * 15, 90, 200 - k * 10)).save(ws.derivative_dir / name)
        derivatives.append(name)
    store = ws.open_store()
    times: dict[str, float] = {}
    try:
        t = time.perf_counter()
        big_pdqs = make_device(store, ws, "OP-BENCH-1", BIG, pictures, rng, derivatives)
        labels = [BIG]
        for d in range(1, devices):
            label = f"BENCH-{d:02d}"
            make_device(store, ws, f"OP-BENCH-{d % 7 + 1}", label, others, rng, derivatives)
            labels.append(label)
        times["generate rows"] = time.perf_counter() - t
        ids = [r[0] for r in store.conn.execute("SELECT id FROM contents ORDER BY id")]
        store.record_classifications("bench-model", [(cid, float(rng.random()))
                                                     for cid in ids[::3]])
        # Alert lists: random PDQs plus some 35-60 bits from the big device's pictures (looks
        # like known material), and an md5 list of nothing on the devices.
        codes = [hex_codes(rng, 1, 4)[0] for _ in range(alerts)]
        for k in range(min(500, len(big_pdqs))):
            src = np.frombuffer(bytes.fromhex(big_pdqs[k * 37 % len(big_pdqs)]), dtype="<u8")
            codes.append(flip(src.astype(np.uint64), int(rng.integers(35, 60)), rng))
        pdq_list = root / "alerts.pdq"
        pdq_list.write_text("pdq,category\n" + "".join(f"{as_hex(c)},1\n" for c in codes))
        md5_list = root / "alerts.md5"
        md5_list.write_text("".join(f"{rng.integers(0, 256, 16, dtype=np.uint8).tobytes().hex()}"
                                    f"  x{i}.jpg\n" for i in range(1000)))
        cats = CategoryMap(ws.config("categories"))
        t = time.perf_counter()
        import_list(store, pdq_list, "bench-pdq", kind="alert", scheme="vic-us", categories=cats)
        import_list(store, md5_list, "bench-md5", kind="alert", scheme="vic-us", categories=cats,
                    options=None)
        pipeline = Pipeline(ws, store, progress=False)
        pipeline.lists_changed(None)
        times["import lists"] = time.perf_counter() - t
        t = time.perf_counter()
        for label in labels:
            pipeline.match(label, record=False)
        times["match + record similarities (all devices)"] = time.perf_counter() - t
        t = time.perf_counter()
        pipeline.record_queue(BIG, "bench")
        times[f"record the queue of {BIG}"] = time.perf_counter() - t
        for label in labels[1:]:
            pipeline.record_queue(label, "bench")
        store.save_register_entries([(store.device(lb)["case_reference"], lb,
                                      {"risk_band": ("VH", "H", "M", "L")[i % 4],
                                       "seized_on": f"2026-0{1 + i % 5}-1{i % 9}"})
                                     for i, lb in enumerate(labels)])
        now = "2026-05-01T00:00:00+00:00"
        uid = store.add_user("bench-reviewer", "reviewer", hash_password(PASSWORD), now)
        store.add_user("bench-boss", "backlog", hash_password(PASSWORD), now)
        store.assign_case(store.case_by_reference("OP-BENCH-1")["id"], uid)
    finally:
        store.close()
    return ws, times


def client_for(app: Any, name: str) -> tuple[Any, Callable[..., Any]]:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    token = re.search(r'name="csrf-token" content="([^"]+)"',  # type: ignore[union-attr]
                      client.get("/").get_data(as_text=True)).group(1)

    def post(url: str, **body: Any) -> Any:
        return client.post(url, json=body, headers={"X-CSRFToken": token})

    return client, post


def reveal(client: Any, post: Callable[..., Any], device_id: int, content_id: int) -> None:
    """As the page does before a category: reveal (the server records the delivery)."""
    r = post("/api/exposure/start", mode="revealed", device_id=device_id, content_id=content_id)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert client.get(f"/media/{content_id}/revealed").status_code == 200
    post("/api/exposure/stop", id=r.get_json()["id"])


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p95(ms: list[float]) -> float:
    return float(np.percentile(ms, 95)) if ms else float("nan")


def measure(ws: Workspace, mode: str, samples: dict[str, int]) -> dict[str, list[float]]:
    import triage.backlog.register as register
    from triage.web import create_app

    app = create_app(ws, testing=True)
    app.config["TRIAGE_QUEUE"] = mode
    restore = register.review_hours_left
    if mode == "per-request":  # the forecast built every device's queue per request
        def built_hours(store: Store, device_id: int, cfg: Any = None) -> float:
            p = Pipeline(ws, store, progress=False)
            return hours_for(p.open_queue(device_id, per_request=True).count(), p.priority)
        register.review_hours_left = built_hours  # type: ignore[assignment]
    try:
        reviewer, post = client_for(app, "bench-reviewer")
        boss, _ = client_for(app, "bench-boss")
        store = ws.open_store()
        try:
            dev = store.device(BIG)["id"]
        finally:
            store.close()
        out: dict[str, list[float]] = {}

        def grid() -> None:
            r = reviewer.get(f"/review/{BIG}")
            assert r.status_code == 200

        def backlog() -> None:
            r = boss.get("/backlog/")
            assert r.status_code == 200 and BIG in r.get_data(as_text=True)

        out["grid"] = timed(grid, samples["grid"])
        out["backlog"] = timed(backlog, samples["backlog"])
        html = reviewer.get(f"/review/{BIG}").get_data(as_text=True)
        todo = [int(x) for x in re.findall(r'data-cid="(\d+)"', html)]
        if mode == "recorded":
            rng = np.random.default_rng(5)
            pages = int(re.search(r'id="page-count">(\d+)<', html).group(1))  # type: ignore[union-attr]

            def deep_page() -> None:
                n = int(rng.integers(1, pages + 1))
                assert reviewer.get(f"/review/{BIG}?page={n}").status_code == 200

            def filtered_page() -> None:
                q = FILTERS[int(rng.integers(0, len(FILTERS)))]
                r = reviewer.get(f"/review/{BIG}?{q}&page={int(rng.integers(1, 4))}")
                assert r.status_code == 200

            deeper = [int(x) for n in (10, 11, 12) for x in re.findall(
                r'data-cid="(\d+)"', reviewer.get(f"/review/{BIG}?page={n}").get_data(
                    as_text=True))]
            items = iter(deeper * 10)

            def item() -> None:
                r = reviewer.get(f"/review/{BIG}/item/{next(items)}?sort=date")
                assert r.status_code == 200 and b'id="context"' in r.data

            out["grid-page"] = timed(deep_page, samples["grid"])
            out["grid-filter"] = timed(filtered_page, samples["grid"])
            out["item"] = timed(item, samples["grid"])
        decided: list[float] = []
        for cid in todo[: samples["decide"]]:
            reveal(reviewer, post, dev, cid)
            t = time.perf_counter()
            r = post("/api/decide", device_id=dev, content_id=cid, category="C")
            decided.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.get_data(as_text=True)
        out["decide"] = decided
        undone = []
        for _ in range(min(samples["decide"], 10)):
            t = time.perf_counter()
            assert post("/api/undo", device_id=dev).status_code == 200
            undone.append((time.perf_counter() - t) * 1000)
        out["undo"] = undone
        return out
    finally:
        register.review_hours_left = restore  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pictures", type=int, default=50_000, help="unseen pictures, big device")
    ap.add_argument("--devices", type=int, default=40, help="devices on the register")
    ap.add_argument("--others", type=int, default=500, help="pictures on each other device")
    ap.add_argument("--alerts", type=int, default=20_000, help="alert-list PDQ hashes")
    ap.add_argument("--samples", type=int, default=100, help="requests per figure (after)")
    ap.add_argument("--before-samples", type=int, default=5,
                    help="requests per figure for the per-request path (seconds each)")
    ap.add_argument("--after-only", action="store_true",
                    help="skip the per-request path (minutes on 50 k pictures)")
    ap.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp one)")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-review-"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    print(f"workspace: {args.pictures} unseen pictures on {BIG}, {args.devices} devices"
          f" ({args.others} pictures on each other), {args.alerts} alert PDQs; in {root}")
    ws, times = build_workspace(root, args.pictures, args.devices, args.others, args.alerts,
                                args.seed)
    for what, seconds in times.items():
        print(f"  {what}: {seconds:.1f} s")
    store = ws.open_store()
    try:
        entries, unseen = store.queue_counts(store.device(BIG)["id"])
    finally:
        store.close()
    print(f"  queue of {BIG}: {entries} entries for {unseen} unseen pictures")
    after = measure(ws, "recorded", {"grid": args.samples, "backlog": max(10, args.samples // 5),
                                     "decide": args.samples})
    skipped = {k: [float("nan")] for k in after}
    before = skipped if args.after_only else skipped | measure(
        ws, "per-request", {"grid": args.before_samples,
                            "backlog": max(2, args.before_samples // 2),
                            "decide": args.before_samples})
    print(f"\n{'request':<10} {'before p95':>12} {'after p95':>11} {'after p50':>11} {'ratio':>8}"
          f" {'target':>8}  samples before/after")
    ok = True
    for key in ("decide", "grid", "grid-page", "grid-filter", "item", "backlog", "undo"):
        b, a = p95(before[key]), p95(after[key])
        target = TARGETS_MS.get(key)
        met = "" if target is None else ("  met" if a < target else "  MISSED")
        ok &= target is None or a < target
        print(f"{key:<11} {b:>9.0f}ms {a:>9.1f}ms {statistics.median(after[key]):>9.1f}ms"
              f" {b / a:>7.0f}x {'' if target is None else f'<{target:.0f}ms':>8}{met}"
              f"  {len(before[key])}/{len(after[key])}")
    print("\nall targets met" if ok else "\nsome targets missed")


if __name__ == "__main__":
    main()
