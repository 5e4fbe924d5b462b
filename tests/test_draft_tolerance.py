"""Reduced-size JPEG decoding keeps PDQ within the conformance bound and pHash within 4 bits.

Meta's PDQ conformance rule: hashes of quality >= 80 within 10 bits of the reference (here: the
same reference pipeline on a full decode). Measured on real photos by scripts/bench_ingest.py;
checked here on generated photo-like pictures of camera sizes, so the shortcut cannot drift.
"""

from __future__ import annotations

import io

import imagehash
import pytest
from PIL import Image

from triage.media.image import DRAFT_SIZE, analyse, setup_decoders
from triage.signals.pdq import pdq_hex
from triage.evidence.filetypes import identify
from triage.demo.synthetic import camera_exif, encode, photo_like

SIZES = [(4000, 3000), (3264, 2448), (2592, 1944), (1920, 1080), (3000, 4000)]


def test_pdq_reference_downsample_is_corner_aligned_nearest():
    """pdqio.cpp: larger than 512 on a side -> 512x512, output x takes input floor(x*w/512)."""
    import numpy as np

    from triage.signals.pdq import pdq_pixels

    a = np.arange(1000 * 700 * 3, dtype=np.uint32).reshape(700, 1000, 3)
    out = pdq_pixels(a)
    assert out.shape == (512, 512, 3)
    assert (out[1, 1] == a[(1 * 700) // 512, (1 * 1000) // 512]).all()
    assert (out[511, 511] == a[(511 * 700) // 512, (511 * 1000) // 512]).all()
    small = np.zeros((300, 512, 3), np.uint8)
    assert pdq_pixels(small).shape == (300, 512, 3)  # not resampled when it fits


@pytest.mark.parametrize("size", [(1000, 700), (4000, 3000), (513, 2049), (777, 512)])
def test_pdq_pixels_of_a_pillow_image_equal_the_reference_indexing(size):
    """The fast path (Pillow affine NEAREST) picks exactly the pixels of the numpy reference."""
    import numpy as np

    from triage.signals.pdq import pdq_pixels

    rgb = photo_like(7, size)
    assert np.array_equal(pdq_pixels(rgb), pdq_pixels(np.asarray(rgb)))


def bits(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


@pytest.mark.parametrize("seed,size", list(enumerate(SIZES)))
def test_draft_decode_stays_within_pdq_and_phash_tolerance(seed, size):
    setup_decoders()
    data = encode(photo_like(4242 + seed, size), "JPEG", 90, camera_exif(seed))
    full = Image.open(io.BytesIO(data)).convert("RGB")
    full_pdq, full_quality = pdq_hex(full)
    outcome = analyse(data, identify(data[:64]), want_derivatives=False)
    assert outcome.status == "ok" and outcome.info is not None
    assert (outcome.info.width, outcome.info.height) == size  # stored size, not decoded size
    value = {s.signal: s.value for s in outcome.signals if s.frame == 0}
    assert bits(value["phash"], str(imagehash.phash(full))) <= 4
    if full_quality >= 80:
        assert bits(value["pdq"], full_pdq) <= 10
    assert DRAFT_SIZE == 1024  # changing it needs a new measurement (see triage/media/image.py)
