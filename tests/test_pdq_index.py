"""The exact PDQ index with per-chunk bit flips (the generalised pigeonhole rule).

The index probes r_c flips in chunk c with sum(r_c + 1) > radius, so a code at distance <= radius
has some chunk within its r_c. The hardest codes put exactly r_c + 1 differing bits in every
chunk but one, and r_c in that one: they are reachable through one chunk only. Each chunk in
turn is made that one, at exactly the radius, and must be found; one bit more must not be.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from triage.signals.pdq_index import Layout, PdqIndex, brute_range


def flipped(code: np.ndarray, positions: list[int]) -> np.ndarray:
    out = code.copy()
    for b in positions:
        out[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
    return out


def hardest(code: np.ndarray, layout: Layout, only: int, extra: int = 0) -> np.ndarray:
    """`code` with r_c + 1 bits flipped in every chunk but `only`, r_only in that one (plus
    `extra` more there)."""
    positions = []
    for c, (start, width, r) in enumerate(zip(layout.starts, layout.widths, layout.chunk_r)):
        k = r + extra if c == only else r + 1
        positions += list(range(start, start + min(k, width)))
    return flipped(code, positions)


@pytest.mark.parametrize("n", [300, 20_000, 200_000])
def test_codes_reachable_through_one_chunk_only_are_found_at_exactly_the_radius(n):
    rng = np.random.default_rng(n)
    db = rng.integers(0, 2**63, (n, 4), dtype=np.uint64)
    layout = Layout.choose(n, 31)
    assert sum(r + 1 for r in layout.chunk_r) > 31
    index = PdqIndex.build(db, np.zeros((n, 2), dtype=np.int64), 31)
    assert index.layout == layout
    targets = rng.integers(0, n, layout.m)
    at_radius = np.stack([hardest(db[t], layout, c) for c, t in enumerate(targets)])
    beyond = np.stack([hardest(db[t], layout, c, extra=1) for c, t in enumerate(targets)])
    for c, t in enumerate(targets):
        assert sum(bin(int(w)).count("1") for w in at_radius[c] ^ db[t]) <= 31
    for c, hits in enumerate(index.range_search(at_radius)):
        assert int(targets[c]) in {i for i, _ in hits}, (layout, c)
    for c, hits in enumerate(index.range_search(beyond)):
        assert int(targets[c]) not in {i for i, _ in hits}
    # and the whole answer is brute force's
    queries = np.concatenate([at_radius, beyond])
    ids = np.zeros((len(queries), 16), dtype=np.int64)
    dist = np.zeros_like(ids)
    count = np.zeros(len(queries), dtype=np.int64)
    brute_range(queries, db, 31, 16, ids, dist, count)
    for q, hits in enumerate(index.range_search(queries)):
        assert sorted(hits) == sorted(zip(ids[q, :count[q]].tolist(),
                                          dist[q, :count[q]].tolist()))


def test_an_index_saved_before_per_chunk_flips_still_answers_exactly(tmp_path):
    """layout.json without "rs" (every chunk probed radius // m flips) loads and searches."""
    rng = np.random.default_rng(7)
    db = rng.integers(0, 2**63, (5_000, 4), dtype=np.uint64)
    index = PdqIndex.build(db, np.zeros((len(db), 2), dtype=np.int64), 31)
    index.save(tmp_path / "idx")
    saved = json.loads((tmp_path / "idx" / "layout.json").read_text())
    del saved["rs"]
    saved["r"] = 31 // saved["m"]
    (tmp_path / "idx" / "layout.json").write_text(json.dumps(saved))
    old = PdqIndex.load(tmp_path / "idx")
    assert old is not None and old.layout.chunk_r == (31 // old.layout.m,) * old.layout.m
    queries = np.stack([flipped(db[i], list(range(0, 256, 9))[: i % 32]) for i in range(64)])
    assert old.range_search(queries) == index.range_search(queries)
