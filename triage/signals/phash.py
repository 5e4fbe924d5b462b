"""pHash and dHash (imagehash's 64-bit hashes): triage's own near-duplicate signals.

No hash list carries them; the queue clusters pictures by them when PDQ quality is too low. So
they need not be imagehash's exact values, only close to them: they are imagehash's algorithms
(greyscale, LANCZOS to 32x32 then the 8x8 lowest DCT frequencies against their median; LANCZOS
to 9x8 then each pixel against its left neighbour) applied to the picture's small copy
(`Picture.small`: <= 512 px, area-resampled from the decode, the pixels of the review
derivative) instead of the full-resolution picture.

Why: imagehash resizes the whole picture with LANCZOS, whose cost grows with the input's size;
on phone-size photos pHash + dHash cost 9.6 ms per picture, more than the reduced decode itself.
From the small copy (which the derivative needs anyway) both take ~0.3 ms. Measured with
`scripts/bench_ingest.py --photos` (the accuracy part) against imagehash on the full decode
(re-measured 1 December 2026 through ingest's own path, `analyse`, reduced decode included):
on the 100 real photos of `fetch-benign-photos` (JPEG, PNG, WebP, 0.1-23 Mpx) dHash within 4
bits (mean 0.27) and pHash within 6 on 97 (mean 1.27 over all 100); the other 3 (Silk.png,
Waves.png, MATE-Stripes-Light.png: smooth gradients, PDQ quality 0) are 31 bits off, because
nearly every DCT coefficient of such a picture sits on the median and imagehash's own value is
noise there (no near-duplicate can be told by it either way). On their 276 phone-size
re-encodes (12, 4, 1.9, 0.4 Mpx JPEGs) pHash within 8 (mean 0.28) and dHash within 3 (mean
0.19); the target is 8. imagehash itself moves 2 bits on these photos under a one-pixel crop. The
PDQ buffer (64x64, box-filtered) was measured too and rejected: its decimation aliases, pHash up
to 30 bits off.

The DCT is a precomputed matrix (scipy's unnormalised DCT-II up to a constant, which the median
comparison ignores), so the worker imports neither imagehash nor scipy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PIL import Image

from triage.signals.base import HammingSignal, Picture

PHASH_SIZE = 32  # imagehash: hash_size 8 x highfreq_factor 4
HASH_BITS = 8


@lru_cache(maxsize=1)
def _dct_low() -> np.ndarray:
    """(8, 32): the 8 lowest DCT-II frequencies of 32 samples."""
    k = np.arange(HASH_BITS)[:, None]
    n = np.arange(PHASH_SIZE)[None, :]
    return np.cos(np.pi * k * (2 * n + 1) / (2 * PHASH_SIZE))


def _hex(bits: np.ndarray) -> str:
    """imagehash's str(): the bits row by row, most significant first."""
    return np.packbits(bits.ravel()).tobytes().hex()


def _small_gray(picture: Picture) -> Image.Image:
    return picture.derived("small-gray", lambda: picture.small.convert("L"))


def phash_of_gray(gray: Image.Image) -> str:
    """imagehash.phash of a greyscale picture (same resize, same DCT up to rounding)."""
    pixels = np.asarray(gray.resize((PHASH_SIZE, PHASH_SIZE), Image.Resampling.LANCZOS),
                        dtype=np.float64)
    d = _dct_low()
    low = d @ pixels @ d.T
    return _hex(low > np.median(low))


def dhash_of_gray(gray: Image.Image) -> str:
    """imagehash.dhash of a greyscale picture."""
    pixels = np.asarray(gray.resize((HASH_BITS + 1, HASH_BITS), Image.Resampling.LANCZOS))
    return _hex(pixels[:, 1:] > pixels[:, :-1])


def phash_hex(picture: Picture) -> str:
    return phash_of_gray(_small_gray(picture))


def dhash_hex(picture: Picture) -> str:
    return dhash_of_gray(_small_gray(picture))


def perceptual_hashes(rgb: Image.Image, drafted: bool = False) -> tuple[str, str]:
    """pHash and dHash of a decoded picture, as ingest computes them."""
    picture = Picture(rgb, drafted)
    return phash_hex(picture), dhash_hex(picture)


class _ImageHash(HammingSignal):
    kinds = frozenset({"picture"})
    bits = 64

    def __init__(self, name: str, fn: Callable[[Picture], str], description: str) -> None:
        self.name, self._fn, self.description = name, fn, description

    def compute(self, content: Picture) -> tuple[str, int | None]:
        return self._fn(content), None


PHASH = _ImageHash("phash", phash_hex, "pHash (imagehash's algorithm), 64 bits (queue clustering)")
DHASH = _ImageHash("dhash", dhash_hex, "dHash (imagehash's algorithm), 64 bits (queue clustering)")
