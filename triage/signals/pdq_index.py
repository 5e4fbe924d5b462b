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
read a 1 GB index into memory. The numba kernels (`triage.signals.pdq_kernels`) are imported on
first use: importing numba costs ~0.3 s of CPU, which every `triage` command and every ingest
worker would pay otherwise.
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

import numpy as np

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
    r: int           # bit flips probed per chunk (the most; `rs` gives each chunk's)
    radius: int      # largest distance the index answers exactly
    starts: tuple[int, ...]
    widths: tuple[int, ...]
    rs: tuple[int, ...] = ()  # bit flips probed in each chunk (empty: `r` in every chunk)

    @property
    def chunk_r(self) -> tuple[int, ...]:
        return self.rs or (self.r,) * self.m

    @classmethod
    def choose(cls, n: int, radius: int) -> "Layout":
        """The chunk count (and bit flips per chunk) with the least expected work (probes +
        codes checked) per query."""
        best: tuple[float, int, tuple[int, ...], tuple[int, ...]] | None = None
        for m in range(max(1, -(-256 // MAX_CHUNK_BITS)), 65):
            widths = tuple(256 // m + (1 if i < 256 % m else 0) for i in range(m))
            rs = _flips_per_chunk(widths, radius, n)
            cost = sum(_chunk_cost(w, r, n) for w, r in zip(widths, rs))
            if best is None or cost < best[0]:
                best = (cost, m, widths, rs)
        assert best is not None
        _, m, widths, rs = best
        starts = tuple(sum(widths[:i]) for i in range(m))
        return cls(m, max(rs), radius, starts, widths, rs)


def _chunk_cost(width: int, r: int, n: int) -> float:
    probes = sum(comb(width, k) for k in range(r + 1))
    return probes * (1.0 + n / float(2 ** width))


def _flips_per_chunk(widths: tuple[int, ...], radius: int, n: int) -> tuple[int, ...]:
    """Bit flips r_c probed in each chunk so that sum(r_c + 1) > radius: then a code within
    `radius` has some chunk within r_c (the generalised pigeonhole rule), so the search stays
    exact with fewer probes than radius // m everywhere (11 chunks at 31: ten probe 2 flips and
    one probes 1, instead of all 2: 8 % fewer probes)."""
    m = len(widths)
    rs = [0] * m
    for _ in range(max(0, radius + 1 - m)):  # each step: one more flip where it costs least
        c = min(range(m), key=lambda i: _chunk_cost(widths[i], rs[i] + 1, n)
                - _chunk_cost(widths[i], rs[i], n))
        rs[c] += 1
    return tuple(rs)


def _flip_masks(width: int, r: int) -> np.ndarray:
    masks = [0]
    for k in range(1, r + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(width), k))
    return np.array(sorted(masks), dtype=np.int64)


def _chunk_masks(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(m, most) flip masks of each chunk (its width, its r_c) and how many each has."""
    per = [_flip_masks(w, r) for w, r in zip(layout.widths, layout.chunk_r)]
    most = max(len(p) for p in per)
    masks = np.zeros((layout.m, most), dtype=np.int64)
    for c, p in enumerate(per):
        masks[c, :len(p)] = p
    return masks, np.array([len(p) for p in per], dtype=np.int64)


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
        self._masks, self._nmasks = _chunk_masks(layout)
        self._rs = np.array(layout.chunk_r, dtype=np.int64)

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
            from triage.signals.pdq_kernels import _build

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
        from triage.signals.pdq_kernels import _search

        _search(queries, self.codes, self._starts, self._widths, self._off_base,
                np.asarray(self.order), np.asarray(self.offsets), self._masks, self._nmasks,
                self._rs, np.int64(radius), np.int64(cap), ids, dist, count)
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
        from triage.signals.pdq_kernels import _nearest

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
                      "rs": self.layout.chunk_r, "info": self.info}
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
                     tuple(layout["widths"]), tuple(layout.get("rs") or ()))
        return cls(lay, arrays["codes"], arrays["order"], arrays["offsets"], arrays["meta"],
                   layout.get("info"))


def threads() -> int:
    import numba

    return int(numba.get_num_threads())


def __getattr__(name: str) -> Any:
    if name == "brute_range":  # the full-scan reference the tests compare with
        from triage.signals import pdq_kernels

        return pdq_kernels.brute_range
    raise AttributeError(name)
