"""PDQ of a whole picture computed from its luma plane, as Meta's reference computes it, for
video frames.

Why a second route to the same hash: Meta's vPDQ hashes every frame at its full size
(vpdq/cpp/hashing/pdqbufferhasher.cpp: RGB -> float luma -> `pdqHash256FromFloatLuma` on the
whole frame; no 512 px step, unlike `pdq-photo-hasher`'s file reader). Measured on the shared
vPDQ set (`../shared/conformance/vpdq/`, 741 frames of quality >= 80): full-size PDQ is within
6 bits of Meta's (mean 1.1); the picture pipeline's 512 px nearest-neighbour step is up to 32
bits off (a 10-bit conformance bound), and an area resize to 512 px up to 38. So a frame must be
hashed at full size, and `pdqhash.compute` on a 1080p frame costs ~90 ms (loaded 2-core
machine): 3x the video's own decode.

The reference's pipeline is linear up to the 64x64 buffer: two passes of a normalised box filter
(the "Jarosz" filter) along rows and along columns, then decimation to 64x64 samples. So the 64x64
buffer is `Wr @ L @ Wc.T`, where each row of Wr/Wc holds the weights one sample gets from the
rows/columns around it (at most 2 x window - 1 of them). Only those are read: ~1.2 M
multiply-adds at 1080p instead of the filter's passes over all 2 M pixels, about 3 ms. Then the
reference's own steps: the quality metric on the 64x64 buffer, DCT to 16x16, bits above the
median. The result equals `pdqhash.compute` (tested bit for bit on generated frames; float
rounding in the running sums can move a coefficient lying on the median: 0-2 bits).

The luma is taken from the decoded frame's Y plane when the frame is YUV: the reference's luma
(0.299 R + 0.587 G + 0.114 B of the RGB that swscale makes with the BT.601 matrix) is exactly
(Y - 16) x 255 / 219 for limited range, Y for full range, before RGB's clipping.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SIZE = 64  # the reference's downsampled buffer
_DCT = np.sqrt(2.0 / 64.0) * np.cos(
    (np.pi / 2 / 64.0) * np.outer(np.arange(1, 17), 2 * np.arange(64) + 1))
_DCT32 = _DCT.astype(np.float32)
_MIN_SIDE = 5  # vpdq refuses frames smaller than this (MIN_HASHABLE_DIM): quality 0


def window_size(n: int) -> int:
    """The reference's Jarosz window for a dimension of n pixels (computeJaroszFilterWindowSize)."""
    return (n + 2 * SIZE - 1) // (2 * SIZE)


def _box(n: int, window: int) -> list[tuple[int, int]]:
    """Each output's input range [lo, hi) of the reference's box1DFloat over n values."""
    half = (window + 2) // 2
    left, right = window - half, half - 1
    return [(max(0, o - left), min(n - 1, o + right) + 1) for o in range(n)]


@lru_cache(maxsize=32)
def sample_weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(indexes, weights), each SIZE x K: sample i of the 64 is sum(weights[i] * x[indexes[i]])
    for a line x of n values, after the reference's two box passes and its decimation."""
    window = window_size(n)
    box = _box(n, window)
    rows = []
    for i in range(SIZE):
        src = int(((i + 0.5) * n) / SIZE)  # decimateFloat
        w: dict[int, float] = {}
        lo, hi = box[src]
        for k in range(lo, hi):  # second pass reads first-pass outputs lo..hi-1
            klo, khi = box[k]
            share = 1.0 / ((hi - lo) * (khi - klo))
            for j in range(klo, khi):
                w[j] = w.get(j, 0.0) + share
        rows.append(w)
    width = max(len(w) for w in rows)
    idx = np.zeros((SIZE, width), dtype=np.intp)
    wts = np.zeros((SIZE, width), dtype=np.float32)
    for i, w in enumerate(rows):
        keys = sorted(w)
        idx[i, :len(keys)] = keys
        wts[i, :len(keys)] = [w[k] for k in keys]
    return idx, wts


def downsample(luma: np.ndarray, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """The reference's 64x64 buffer of a luma plane (H x W, any numeric type), with the affine
    `scale * (v + offset)` applied (it commutes with the filter: its weights sum to 1)."""
    h, w = luma.shape
    ridx, rw = sample_weights(h)
    cidx, cw = sample_weights(w)
    # Rows first: gather the few rows each sample reads (64 x K x W, about the frame once),
    # weight and sum them; then the same for the columns of that 64 x W strip. 2.9 ms at
    # 1080p (columns first: 9.4 ms; a dense matrix product: 37 ms).
    strip = luma[ridx.ravel()].reshape(SIZE, ridx.shape[1], w).astype(np.float32)
    rows = np.einsum("skw,sk->sw", strip, rw)
    out = np.einsum("ask,sk->as", rows[:, cidx], cw)
    if offset or scale != 1.0:
        out = (out + np.float32(offset)) * np.float32(scale)
    return out


def quality(buf: np.ndarray) -> int:
    """pdqImageDomainQualityMetric: summed truncated gradients of the 64x64 buffer / 90."""
    b = buf.astype(np.float32)
    dv = np.trunc(np.abs((b[:-1, :] - b[1:, :]) * 100 / 255))
    dh = np.trunc(np.abs((b[:, :-1] - b[:, 1:]) * 100 / 255))
    return min(100, int(dv.sum() + dh.sum()) // 90)


def hash_buffer(buf: np.ndarray) -> tuple[str, int]:
    """PDQ hex and quality of a 64x64 buffer (dct64To16, median, bits as Hash256::format)."""
    b = buf.astype(np.float32)
    dct = _DCT32 @ b @ _DCT32.T
    flat = dct.ravel()
    median = np.partition(flat, 127)[127]  # torben over 256 values: the 128th smallest
    bits = (dct > median)  # bit i*16+j; word i holds row i, bit j = column j
    words = (bits.astype(np.uint32) << np.arange(16, dtype=np.uint32)).sum(axis=1)
    return "".join(f"{int(w):04x}" for w in words[::-1]), quality(b)


def pdq_from_luma(luma: np.ndarray, scale: float = 1.0, offset: float = 0.0
                  ) -> tuple[str, int]:
    """PDQ (64 hex) and quality of a full-size luma plane, as Meta's reference hashes it."""
    h, w = luma.shape
    if h < _MIN_SIDE or w < _MIN_SIDE:
        return "0" * 64, 0
    return hash_buffer(downsample(luma, scale, offset))


def rgb_luma(rgb: np.ndarray) -> np.ndarray:
    """fillFloatLumaFromRGB: 0.299 R + 0.587 G + 0.114 B, as float32."""
    f = rgb.astype(np.float32)
    return f[..., 0] * np.float32(0.299) + f[..., 1] * np.float32(0.587) + \
        f[..., 2] * np.float32(0.114)


def pdq_from_rgb(rgb: np.ndarray) -> tuple[str, int]:
    """PDQ and quality of a full-size RGB frame (H x W x 3 uint8)."""
    return pdq_from_luma(rgb_luma(rgb))
