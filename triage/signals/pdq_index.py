"""Exact PDQ range search at national-list scale: multi-index hashing (MIH) in numba.

Why not FAISS here: `IndexBinaryFlat` is exact but scans every code (measured 24 ms per query at
10 M codes: 100 k queries would take 40 minutes), and `IndexBinaryMultiHash` is exact but its
hash-map buckets made 10 k queries against only 1 M codes take 15 s here, with a multi-GB build
at 10 M. scripts/bench_match.py measures all three in one run.

How it stays exact (recall 1.0 against brute force, a test): the 256 bits are cut into `m`
contiguous chunks. If two codes differ in at most `radius` bits, then by the pigeonhole
principle at least one chunk differs in at most `r = radius // m` bits. For every chunk the
index holds the codes sorted by that chunk's value (a counting sort with direct-address bucket
offsets), so a query probes, per chunk, every value within `r` bit flips of its own and checks
each code found with a full 256-bit Hamming distance. A code reached through several chunks is
reported once (only from the first chunk where it is within `r`). `m` is chosen from the list
size so that buckets stay about one code deep (11 chunks of 23-24 bits at 10 M codes).

The arrays are plain .npy files, memory-mapped on load, so matching one small device does not
read a 1 GB index into memory.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba import njit, prange

WORDS = 4  # 256 bits as four uint64
MAX_CHUNK_BITS = 24  # bucket offset tables stay <= 64 MiB per chunk
_ARRAYS = ("codes", "order", "offsets", "meta")  # what a persisted index holds, one .npy each


def codes_from_hex(hexes: Sequence[str]) -> np.ndarray:
    """(N, 4) uint64 from 64-hex PDQ strings (the byte order only has to agree with the list)."""
    if not hexes:
        return np.zeros((0, WORDS), dtype=np.uint64)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint64).reshape(-1, WORDS)


def codes_from_bytes(blobs: Sequence[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, WORDS), dtype=np.uint64)
    return np.frombuffer(b"".join(blobs), dtype=np.uint64).reshape(-1, WORDS).copy()


@dataclass(frozen=True)
class Layout:
    m: int           # chunks
    r: int           # bit flips probed per chunk
    radius: int      # largest distance the index answers exactly
    starts: tuple[int, ...]
    widths: tuple[int, ...]

    @classmethod
    def choose(cls, n: int, radius: int) -> "Layout":
        """The chunk count with the least expected work (probes + codes checked) per query."""
        best: tuple[float, int] | None = None
        for m in range(max(1, -(-256 // MAX_CHUNK_BITS)), 65):
            r = radius // m
            w = 256 // m
            probes = sum(comb(w + 1, k) for k in range(r + 1))
            cost = m * probes * (1.0 + n / float(2 ** w))
            if best is None or cost < best[0]:
                best = (cost, m)
        assert best is not None
        m = best[1]
        widths = [256 // m + (1 if i < 256 % m else 0) for i in range(m)]
        starts = [sum(widths[:i]) for i in range(m)]
        return cls(m, radius // m, radius, tuple(starts), tuple(widths))


# -- numba kernels ------------------------------------------------------------------------
@njit(inline="always", cache=True)
def _popcount(x: np.uint64) -> np.int64:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(inline="always", cache=True)
def _distance(a: np.ndarray, b: np.ndarray) -> np.int64:
    return (_popcount(a[0] ^ b[0]) + _popcount(a[1] ^ b[1]) + _popcount(a[2] ^ b[2])
            + _popcount(a[3] ^ b[3]))


@njit(inline="always", cache=True)
def _chunk(code: np.ndarray, start: np.int64, width: np.int64) -> np.int64:
    w = start >> 6
    off = start & 63
    key = code[w] >> np.uint64(off)
    if off + width > 64:
        key |= code[w + 1] << np.uint64(64 - off)
    return np.int64(key & ((np.uint64(1) << np.uint64(width)) - np.uint64(1)))


@njit(cache=True)
def _build(codes, starts, widths, off_base, order, offsets):  # pragma: no cover - numba
    n = codes.shape[0]
    for c in range(starts.shape[0]):
        base = off_base[c]
        for i in range(n):
            offsets[base + _chunk(codes[i], starts[c], widths[c]) + 1] += 1
        size = np.int64(1) << widths[c]
        for k in range(size):
            offsets[base + k + 1] += offsets[base + k]
        fill = offsets[base:base + size].copy()
        for i in range(n):
            key = _chunk(codes[i], starts[c], widths[c])
            order[c, fill[key]] = i
            fill[key] += 1


@njit(parallel=True, cache=True)
def _search(queries, codes, starts, widths, off_base, order, offsets, masks, nmasks,
            radius, r, cap, out_ids, out_dist, out_count):  # pragma: no cover - numba
    m = starts.shape[0]
    for qi in prange(queries.shape[0]):
        q = queries[qi]
        found = 0
        for c in range(m):
            key = _chunk(q, starts[c], widths[c])
            base = off_base[c]
            for k in range(nmasks[c]):
                b = base + (key ^ masks[k])
                for p in range(offsets[b], offsets[b + 1]):
                    idx = order[c, p]
                    d = _distance(q, codes[idx])
                    if d > radius:
                        continue
                    seen = False
                    for c2 in range(c):
                        if _popcount(np.uint64(_chunk(q, starts[c2], widths[c2])
                                               ^ _chunk(codes[idx], starts[c2], widths[c2]))) <= r:
                            seen = True
                            break
                    if seen:
                        continue
                    if found < cap:
                        out_ids[qi, found] = idx
                        out_dist[qi, found] = d
                    found += 1
        out_count[qi] = found


@njit(parallel=True, cache=True)
def _nearest(queries, codes, max_distance, out_ids, out_dist):  # pragma: no cover - numba
    for qi in prange(queries.shape[0]):
        best = max_distance + 1
        best_i = -1
        q = queries[qi]
        for i in range(codes.shape[0]):
            d = _distance(q, codes[i])
            if d < best:
                best = d
                best_i = i
        out_ids[qi] = best_i
        out_dist[qi] = best


@njit(parallel=True, cache=True)
def brute_range(queries, codes, radius, cap, out_ids, out_dist, out_count):  # pragma: no cover
    """Every code within `radius` of each query by a full scan (the reference for tests)."""
    for qi in prange(queries.shape[0]):
        found = 0
        for i in range(codes.shape[0]):
            d = _distance(queries[qi], codes[i])
            if d <= radius:
                if found < cap:
                    out_ids[qi, found] = i
                    out_dist[qi, found] = d
                found += 1
        out_count[qi] = found


def _flip_masks(width: int, r: int) -> np.ndarray:
    masks = [0]
    for k in range(1, r + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(width), k))
    return np.array(sorted(masks), dtype=np.int64)


# -- the index ------------------------------------------------------------------------------
class PdqIndex:
    """Codes with, per code, which list and which entry it came from (`meta` int64 columns)."""

    def __init__(self, layout: Layout, codes: np.ndarray, order: np.ndarray,
                 offsets: np.ndarray, meta: np.ndarray, info: dict[str, Any] | None = None):
        self.layout = layout
        # np.asarray: memory-mapped arrays become plain views numba accepts, with no copy.
        self.codes = np.asarray(codes)
        self.order = np.asarray(order)
        self.offsets = np.asarray(offsets)
        self.meta = np.asarray(meta)
        self.info = info or {}
        widths = np.array(layout.widths, dtype=np.int64)
        self._starts = np.array(layout.starts, dtype=np.int64)
        self._widths = widths
        sizes = (np.int64(1) << widths) + 1
        self._off_base = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._masks = _flip_masks(int(widths.max()), layout.r)
        self._nmasks = np.array([int(np.searchsorted(self._masks, 1 << int(w)))
                                 for w in widths], dtype=np.int64)

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @classmethod
    def build(cls, codes: np.ndarray, meta: np.ndarray, radius: int = 31,
              info: dict[str, Any] | None = None) -> "PdqIndex":
        codes = np.ascontiguousarray(codes, dtype=np.uint64)
        layout = Layout.choose(len(codes), radius)
        widths = np.array(layout.widths, dtype=np.int64)
        total = int(((np.int64(1) << widths) + 1).sum())
        dtype = np.int32 if len(codes) < 2**31 - 1 else np.int64
        offsets = np.zeros(total, dtype=np.int64)
        order = np.zeros((layout.m, len(codes)), dtype=dtype)
        index = cls(layout, codes, order, offsets, meta, info)
        if len(codes):
            _build(codes, index._starts, index._widths, index._off_base, order, offsets)
        index.offsets = offsets.astype(dtype)
        return index

    def range_search(self, queries: np.ndarray, radius: int | None = None
                     ) -> list[list[tuple[int, int]]]:
        """For each query, every (code position, distance) with distance <= radius."""
        radius = self.layout.radius if radius is None else radius
        if radius > self.layout.radius:
            raise ValueError(f"index built for distances <= {self.layout.radius}, asked {radius}")
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        nq = len(queries)
        if nq == 0 or len(self) == 0:
            return [[] for _ in range(nq)]
        cap = 8
        ids, dist, count = self._run(queries, radius, cap)
        over = np.nonzero(count > cap)[0]
        if len(over):  # rare: a query near many list entries; rerun just those with room
            big = int(count[over].max())
            ids2, dist2, _ = self._run(queries[over], radius, big)
        out: list[list[tuple[int, int]]] = []
        extra = {int(q): i for i, q in enumerate(over)}
        for qi in range(nq):
            n = int(count[qi])
            if qi in extra:
                j = extra[qi]
                out.append(list(zip(ids2[j, :n].tolist(), dist2[j, :n].tolist())))
            else:
                out.append(list(zip(ids[qi, :n].tolist(), dist[qi, :n].tolist())))
        return out

    def _run(self, queries: np.ndarray, radius: int, cap: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nq = len(queries)
        ids = np.empty((nq, cap), dtype=np.int64)
        dist = np.empty((nq, cap), dtype=np.int64)
        count = np.zeros(nq, dtype=np.int64)
        _search(queries, self.codes, self._starts, self._widths, self._off_base,
                np.asarray(self.order), np.asarray(self.offsets), self._masks, self._nmasks,
                np.int64(radius), np.int64(self.layout.r), np.int64(cap), ids, dist, count)
        return ids, dist, count

    def nearest(self, queries: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
        """Closest code per query (position, distance); position -1 when none <= max_distance.

        Within the index radius this uses the MIH search; beyond it a parallel full scan
        (exact either way).
        """
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        ids = np.full(len(queries), -1, dtype=np.int64)
        dist = np.full(len(queries), max_distance + 1, dtype=np.int64)
        if len(queries) == 0 or len(self) == 0:
            return ids, dist
        if max_distance <= self.layout.radius:
            for qi, hits in enumerate(self.range_search(queries, max_distance)):
                if hits:
                    i, d = min(hits, key=lambda h: (h[1], h[0]))
                    ids[qi], dist[qi] = i, d
            return ids, dist
        _nearest(queries, np.asarray(self.codes), np.int64(max_distance), ids, dist)
        return ids, dist

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write to a scratch folder, then swap it in: a reader never sees half an index."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = directory.with_name(f".{directory.name}-{uuid.uuid4().hex}")
        tmp.mkdir()
        try:
            for name in _ARRAYS:
                np.save(tmp / f"{name}.npy", np.asarray(getattr(self, name)))
            layout = {"m": self.layout.m, "r": self.layout.r, "radius": self.layout.radius,
                      "starts": self.layout.starts, "widths": self.layout.widths,
                      "info": self.info}
            (tmp / "layout.json").write_text(json.dumps(layout, sort_keys=True))
        except BaseException:  # a full disk: leave no half-written scratch folder
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = directory.with_name(f".{directory.name}-old-{uuid.uuid4().hex}")
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def stored_info(directory: Path) -> dict[str, Any] | None:
        """The `info` a persisted index was saved with (what it was built from), read without
        mapping its arrays; None when there is no readable index."""
        try:
            layout = json.loads((directory / "layout.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if not all((directory / f"{name}.npy").is_file()
                   for name in _ARRAYS):
            return None
        return layout.get("info") or {}

    @classmethod
    def load(cls, directory: Path) -> "PdqIndex | None":
        try:
            layout = json.loads((directory / "layout.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r")
                  for name in _ARRAYS}
        lay = Layout(layout["m"], layout["r"], layout["radius"], tuple(layout["starts"]),
                     tuple(layout["widths"]))
        return cls(lay, arrays["codes"], arrays["order"], arrays["offsets"], arrays["meta"],
                   layout.get("info"))


def threads() -> int:
    return int(numba.get_num_threads())
