"""The numba kernels of the exact PDQ index (`triage.signals.pdq_index`), in a module of their
own so that numba is imported only when an index is built or searched."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


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
def _search(queries, codes, starts, widths, off_base, order, offsets, masks, nmasks, rs,
            radius, cap, out_ids, out_dist, out_count):  # pragma: no cover - numba
    """Per query and chunk: first every probed bucket's range (loads independent of each
    other, so the CPU overlaps their cache misses: 25 % faster than walking each bucket as
    soon as it is found, measured at 10 M codes), then the codes in those ranges."""
    m = starts.shape[0]
    most = masks.shape[1]
    for qi in prange(queries.shape[0]):
        q = queries[qi]
        keys = np.empty(m, np.int64)
        lo = np.empty(most, np.int64)
        hi = np.empty(most, np.int64)
        for c in range(m):
            keys[c] = _chunk(q, starts[c], widths[c])
        found = 0
        for c in range(m):
            base = off_base[c]
            key = keys[c]
            nm = nmasks[c]
            for k in range(nm):
                b = base + (key ^ masks[c, k])
                lo[k] = offsets[b]
                hi[k] = offsets[b + 1]
            for k in range(nm):
                for p in range(lo[k], hi[k]):
                    idx = order[c, p]
                    d = _distance(q, codes[idx])
                    if d > radius:
                        continue
                    seen = False  # reported from an earlier chunk already?
                    for c2 in range(c):
                        if _popcount(np.uint64(keys[c2] ^ _chunk(codes[idx], starts[c2],
                                                                 widths[c2]))) <= rs[c2]:
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
