"""PDQ (Meta's 256-bit perceptual hash), computed as Meta's reference hasher does.

PDQ follows Meta's reference implementation (ThreatExchange pdq/cpp/io/pdqio.cpp): a picture with
a side over 512 px is first resampled to 512x512 (nearest neighbour, corner-aligned, aspect not
kept) and the Jarosz/DCT stages run on that. The `pdqhash` package skips that step when given
pixels directly; on 42 real photos its full-resolution hashes differed from the reference
pipeline's by up to 28 bits (mean 9), beyond the 10-bit conformance bound, and cost 5-50x more
time (the Jarosz filter scales with pixel count). So `pdq_pixels` reproduces the reference step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pdqhash
from PIL import Image

from triage.signals.base import HammingSignal, Picture

PDQ_REFERENCE_SIZE = 512  # pdqio.cpp DOWNSAMPLE_DIMS


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


def pdq_hex(rgb: Image.Image | np.ndarray) -> tuple[str, int]:
    """PDQ hash (64 hex) and quality, computed as the reference implementation does."""
    bits, quality = pdqhash.compute(pdq_pixels(rgb))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def pdq_dihedral_hex(rgb: Image.Image | np.ndarray) -> tuple[list[str], int]:
    """The 8 rotations/flips' PDQ hashes (pdqhash order: original, rot90, rot180, rot270,
    flip x, flip y, flip +1, flip -1) from the same reference pixels as `pdq_hex`."""
    vectors, quality = pdqhash.compute_dihedral(pdq_pixels(rgb))
    return [np.packbits(np.asarray(v, dtype=np.uint8)).tobytes().hex() for v in vectors], int(quality)


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
        return pdq_hex(content.rgb)


PDQ = PdqSignal()
