"""pHash and dHash (imagehash's 64-bit hashes): triage's own near-duplicate signals.

No hash list carries them; the queue clusters pictures by them when PDQ quality is too low.
"""

from __future__ import annotations

from collections.abc import Callable

import imagehash
from PIL import Image

from triage.signals.base import HammingSignal, Picture

REDUCING_GAP = 12.0  # see perceptual_hashes


def perceptual_hashes(rgb: Image.Image, drafted: bool) -> tuple[str, str]:
    """pHash and dHash (imagehash's own algorithms) of a decoded picture.

    imagehash resizes the whole picture with LANCZOS, whose cost grows with the input's size
    (17 + 12 ms on a 2000x1500 draft). For a JPEG already decoded at reduced size (`drafted`),
    Pillow's `reducing_gap` first box-reduces with exact geometry to >= 12x the hash size, then
    applies LANCZOS: on 44 real photos pHash and dHash stayed within 2 bits of imagehash on the
    full decode (the same as the draft alone), for 8 ms instead of 29. Other formats keep the
    exact imagehash path: on near-flat 4096 px WebP wallpapers the box step moved pHash up to
    8 bits, and there no draft has already changed the pixels.
    """
    picture = Picture(rgb, drafted)  # imagehash converts to L itself; do it once for both
    return phash_hex(picture), dhash_hex(picture)


def phash_hex(picture: Picture) -> str:
    if picture.drafted:
        return str(imagehash.phash(picture.gray.resize((32, 32), Image.Resampling.LANCZOS,
                                                       reducing_gap=REDUCING_GAP)))
    return str(imagehash.phash(picture.gray))


def dhash_hex(picture: Picture) -> str:
    if picture.drafted:
        return str(imagehash.dhash(picture.gray.resize((9, 8), Image.Resampling.LANCZOS,
                                                       reducing_gap=REDUCING_GAP)))
    return str(imagehash.dhash(picture.gray))


class _ImageHash(HammingSignal):
    kinds = frozenset({"picture"})
    bits = 64

    def __init__(self, name: str, fn: Callable[[Picture], str], description: str) -> None:
        self.name, self._fn, self.description = name, fn, description

    def compute(self, content: Picture) -> tuple[str, int | None]:
        return self._fn(content), None


PHASH = _ImageHash("phash", phash_hex, "imagehash pHash, 64 bits (queue clustering)")
DHASH = _ImageHash("dhash", dhash_hex, "imagehash dHash, 64 bits (queue clustering)")
