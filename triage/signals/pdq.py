"""PDQ (Meta's 256-bit perceptual hash), computed as Meta's reference hasher does, in numpy.

The pipeline is the reference one (ThreatExchange pdq/cpp/io/pdqio.cpp): a picture with a side
over 512 px is first resampled to 512x512 (nearest neighbour, corner-aligned, aspect not kept);
then luma, two passes of Jarosz box filters along rows and columns, decimation to 64x64, the
quality metric on that, a 16x16 DCT (frequencies 1-16) and one bit per coefficient above the
median. The `pdqhash` package (the C++ hashing code) skips the 512 step when given pixels
directly; on 42 real photos its full-resolution hashes differed from the reference pipeline's by
up to 28 bits (mean 9), beyond the 10-bit conformance bound, and cost 5-50x more time (the
Jarosz filter scales with pixel count). So `pdq_pixels` reproduces the reference step.

Why not call `pdqhash` on those pixels: its box filters walk all 512x512 pixels four times in
running sums, and its binding builds the bit vector in a Python loop; 5.6 ms per picture
(measured on phone-size photos, scripts/bench_ingest.py), as much as the reduced decode.
Every stage before the DCT is linear and separable, and only 64 rows and 64 columns of the
filtered picture are ever read (the decimation), so here the two box passes and the decimation
along each axis are one precomputed (64 x n) band of weights (2w - 1 taps per output row, w the
reference's window), applied to the luma by a gather and a weighted sum: ~0.3 ms. Float
rounding differs from the running sums, so a coefficient within ~1e-6 of the median can fall
the other side: tests/test_pdq_fast.py compares this with `pdqhash` on Meta's conformance
pictures and generated ones (0-2 bits apart on identical pixels, quality within 1), and with
Meta's published C++ hashes. numpy only: no BLAS call whose threads would compete with the
ingest workers for the cores.

The 64x64 buffer is kept on the `Picture` (`pdq_buffer`), so the hash and its dihedral variants
filter one picture's luma once. pHash and dHash do not use it (its decimation aliases: pHash up
to 30 bits off imagehash); they take the picture's small copy (`triage.signals.phash`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from triage.signals.base import HammingSignal, Picture

PDQ_REFERENCE_SIZE = 512  # pdqio.cpp DOWNSAMPLE_DIMS
MIN_HASHABLE_DIM = 5  # pdqhashing.cpp: smaller pictures hash to zeros with quality 0
LUMA = (0.299, 0.587, 0.114)  # pdqhash's (and the C++ tool's) RGB -> luma weights


def pdq_pixels(rgb: Image.Image | np.ndarray) -> np.ndarray:
    """The pixels Meta's reference hasher feeds to PDQ: 512x512 nearest-neighbour if larger.

    Corner-aligned like CImg's `resize(512, 512)` (interpolation 1): output x reads input
    floor(x * width / 512). Pillow's NEAREST is centre-aligned and picks other pixels.
    """
    n = PDQ_REFERENCE_SIZE
    if isinstance(rgb, Image.Image):
        w, h = rgb.size
        if w > n or h > n:
            # Pillow samples output pixel x at input (x + 0.5) * a + c; with a = w/512 and
            # c = -a/2 that is exactly x * w / 512 (dyadic, so no rounding), floored by NEAREST.
            # 1 ms instead of 15 for numpy fancy indexing of a full copy.
            a, b = w / n, h / n
            rgb = rgb.transform((n, n), Image.Transform.AFFINE, (a, 0, -a / 2, 0, b, -b / 2),
                                Image.Resampling.NEAREST)
        return np.asarray(rgb)
    arr = np.asarray(rgb)
    h, w = arr.shape[:2]
    if h <= n and w <= n:
        return np.ascontiguousarray(arr)
    rows = (np.arange(n) * h) // n
    cols = (np.arange(n) * w) // n
    return np.ascontiguousarray(arr[rows][:, cols])


# -- the hash ---------------------------------------------------------------------------------
def _box_rows(n: int, w: int) -> list[tuple[int, int]]:
    """pdqhashing.cpp box1DFloat: output i averages input [i - w + half, i + half), clipped."""
    half = (w + 2) // 2
    return [(max(0, i - w + half), min(n, i + half)) for i in range(n)]


@lru_cache(maxsize=256)
def _axis_taps(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Along an axis of `n` pixels: decimate(64) . box . box as (64, L) input indices and
    float32 weights (L = 2w - 1 taps; a tap past the edge has weight 0 and a valid index)."""
    w = (n + 2 * 64 - 1) // (2 * 64)  # downscaling.cpp computeJaroszFilterWindowSize(n, 64)
    spans = _box_rows(n, w)
    taps = 2 * w - 1
    idx = np.zeros((64, taps), np.int64)
    weights = np.zeros((64, taps), np.float64)
    for k in range(64):
        out = int(((k + 0.5) * n) / 64)  # pdqhashing.cpp decimateFloat
        row = np.zeros(n, np.float64)
        lo, hi = spans[out]
        for m in range(lo, hi):  # second pass reads the first pass's outputs lo..hi-1
            a, b = spans[m]
            row[a:b] += 1.0 / ((b - a) * (hi - lo))
        nz = np.nonzero(row)[0]
        start = int(nz[0]) if len(nz) else 0
        span = np.arange(start, start + taps)
        valid = span < n
        idx[k] = np.where(valid, span, n - 1)
        weights[k, valid] = row[span[valid]]
    return idx, weights.astype(np.float32)


@lru_cache(maxsize=1)
def _dct16() -> np.ndarray:
    """pdqhashing.cpp's 16x64 DCT matrix (frequencies 1..16; the DC term is left out)."""
    i = np.arange(1, 17)[:, None]
    j = np.arange(64)[None, :]
    return np.sqrt(2.0 / 64.0) * np.cos((np.pi / 2 / 64.0) * i * (2 * j + 1))


def buffer64(pixels: np.ndarray) -> np.ndarray:
    """The reference's 64x64 buffer of (H, W, 3) uint8 RGB: luma, two Jarosz passes along rows
    and columns, decimation. Along each axis the three steps are the band weights of
    `_axis_taps`; the rows are filtered first, straight from the 8-bit pixels, so luma is
    computed on 64 rows instead of all of them (pdqhash computes luma in float64 and rounds it
    to float32; the order of the sums differs, so the values agree to ~1e-5, not bit for bit).
    """
    pixels = pixels[..., :3]  # RGBA arrays: the alpha channel is not part of luma
    h, w = pixels.shape[:2]
    ri, rw = _axis_taps(h)
    ci, cw = _axis_taps(w)
    rows = np.einsum("kl,klcx->kcx", rw, pixels[ri])          # (64, w, 3) float32
    y = np.einsum("kcx,x->kc", rows, _LUMA32)                  # (64, w)
    return np.einsum("cl,kcl->kc", cw, y[:, ci])               # (64, 64)


_LUMA32 = np.array(LUMA, np.float32)


def _buffer(rgb: Image.Image | np.ndarray) -> np.ndarray | None:
    px = pdq_pixels(rgb)
    if min(px.shape[:2]) < MIN_HASHABLE_DIM:
        return None
    return buffer64(px)


def pdq_buffer(picture: Picture) -> np.ndarray | None:
    """The 64x64 buffer of a picture (None when a side is under MIN_HASHABLE_DIM), computed
    once per picture and kept on it for the signals that read it (PDQ, pHash, dHash)."""
    return picture.derived("pdq-buffer64", lambda: _buffer(picture.rgb))


def quality_of(buf: np.ndarray) -> int:
    """pdqhashing.cpp pdqImageDomainQualityMetric: summed truncated gradients / 90, <= 100."""
    down = ((buf[:-1, :] - buf[1:, :]) * np.float32(100) / np.float32(255)).astype(np.int32)
    across = ((buf[:, :-1] - buf[:, 1:]) * np.float32(100) / np.float32(255)).astype(np.int32)
    total = int(np.abs(down).sum()) + int(np.abs(across).sum())
    return min(100, total // 90)


def dct16(buf: np.ndarray) -> np.ndarray:
    """The 16x16 DCT coefficients the bits are taken from (float64)."""
    d = _dct16()
    return d @ buf.astype(np.float64) @ d.T


def bits_hex(coeffs: np.ndarray) -> str:
    """One bit per coefficient above the median (torben: the 128th smallest of 256), bit
    i*16+j of the 256-bit number for coefficient [i][j]; 64 hex digits as Meta prints them."""
    flat = coeffs.ravel()
    median = np.partition(flat, 127)[127]
    return np.packbits((flat > median)[::-1]).tobytes().hex()


ZERO_HEX = "0" * 64


def _hash(buf: np.ndarray | None) -> tuple[str, int]:
    if buf is None:
        return ZERO_HEX, 0
    return bits_hex(dct16(buf)), quality_of(buf)


def pdq_hex(rgb: Image.Image | np.ndarray) -> tuple[str, int]:
    """PDQ hash (64 hex) and quality, computed as the reference implementation does."""
    return _hash(_buffer(rgb))


# The 8 rotations/flips act on the DCT coefficients exactly (pdqhashing.cpp dct16OriginalTo*):
# mirroring along an axis negates the coefficients of even index there (frequencies 1, 3, ...),
# a quarter turn transposes. Order as pdqhash's compute_dihedral returns them.
_I, _J = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
_EVEN_I = np.where(_I % 2 == 0, -1.0, 1.0)
_EVEN_J = np.where(_J % 2 == 0, -1.0, 1.0)


def _dihedral_coeffs(a: np.ndarray) -> list[np.ndarray]:
    return [
        a,                          # original
        (a * _EVEN_J).T,            # rotate 90
        a * _EVEN_I * _EVEN_J,      # rotate 180
        (a * _EVEN_I).T,            # rotate 270
        a * _EVEN_I,                # flip x
        a * _EVEN_J,                # flip y
        a.T,                        # flip +1 (transpose)
        (a * _EVEN_I * _EVEN_J).T,  # flip -1 (anti-transpose)
    ]


def pdq_dihedral_hex(rgb: Image.Image | np.ndarray) -> tuple[list[str], int]:
    """The 8 rotations/flips' PDQ hashes (pdqhash order: original, rot90, rot180, rot270,
    flip x, flip y, flip +1, flip -1) from the same reference pixels as `pdq_hex`."""
    buf = _buffer(rgb)
    if buf is None:
        return [ZERO_HEX] * 8, 0
    return [bits_hex(c) for c in _dihedral_coeffs(dct16(buf))], quality_of(buf)


class PdqSignal(HammingSignal):
    """PDQ: what picture hash lists (NCMEC, Meta ThreatExchange) carry; matched near, and per
    frame (every frame of an animated picture, a video's sampled frames)."""

    name = "pdq"
    bits = 256
    kinds = frozenset({"picture", "frame"})
    description = "PDQ 256-bit perceptual hash with quality (Meta reference pipeline)"

    @property
    def index(self) -> Any:
        """The exact multi-index search (`PdqIndex`), imported on use (it compiles with numba)."""
        from triage.signals.pdq_index import PdqIndex

        return PdqIndex

    def compute(self, content: Picture) -> tuple[str, int | None]:
        return _hash(pdq_buffer(content))


PDQ = PdqSignal()
