"""What a signal is: something computed from a content to recognise it again.

A signal has a name (what the store and the lists call it), the kinds of content it applies to,
`compute`, `distance` and, where one exists, a search `index`:

- `bytes` signals (md5, sha1, sha256) are computed from the raw bytes through `hasher()`, an
  object with `update(chunk)` and `hexdigest()`, so that every registered bytes signal is fed
  from the same buffer and a file is read once (`triage.signals.crypto.MultiHasher`);
- `picture` signals (pdq, phash, dhash) are computed from the decoded picture (a `Picture`: its
  first frame for a multi-frame file);
- `frame` signals (pdq) are also computed from every further frame or page, and from a video's
  sampled frames, each recorded with its frame index (and time).

`compute` returns (value as lower-case hex, quality or None); `distance` compares two values
(a metric: 0 only for equal values, symmetric, triangle inequality; the contract test checks it
on `examples()`, the inputs the signal offers for tests). A lab's signal is one object with these
attributes, declared under the `triage.signals` entry point group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
from PIL import Image, ImageFilter

KINDS = ("bytes", "picture", "frame")
T = TypeVar("T")


SMALL_SIZE = 512  # the longest side of `Picture.small`


@dataclass
class Picture:
    """A decoded picture (or one frame of it) as picture and frame signals read it.

    `drafted`: decoded at reduced size by JPEG DCT scaling (see `triage.media.image`), which
    some signals take into account. What several consumers derive from the pixels is made once
    (`derived`): PDQ's 64x64 buffer, and the small copy (`small`) that pHash, dHash and the
    review derivative all read.
    """

    rgb: Image.Image
    drafted: bool = False
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def derived(self, key: str, make: Callable[[], T]) -> T:
        """`make()`, computed once per picture."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    @property
    def gray(self) -> Image.Image:
        """The picture in greyscale (Pillow "L"), for a lab's signal that reads it."""
        return self.derived("gray", lambda: self.rgb.convert("L"))

    @property
    def small(self) -> Image.Image:
        """The picture with its longest side <= SMALL_SIZE (itself if it fits), area-resampled.

        reducing_gap=1: box-average by the largest whole factor first (an area resample, no
        aliasing), then a short bilinear step: half the time of gap 2 on a 2000 px draft.
        """
        def make() -> Image.Image:
            rgb = self.rgb
            scale = SMALL_SIZE / max(rgb.size)
            if scale >= 1:
                return rgb
            size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
            return rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
        return self.derived("small", make)


@runtime_checkable
class Hasher(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...
    def hexdigest(self) -> str: ...


@runtime_checkable
class Signal(Protocol):
    name: str
    kinds: frozenset[str]
    bits: int  # width of a value (hex digits = bits / 4)
    description: str
    index: Any  # a search index class with build/range_search (PdqIndex), or None

    def compute(self, content: Any) -> tuple[str, int | None]: ...
    def distance(self, a: str, b: str) -> int: ...
    def examples(self) -> list[Any]: ...


class BytesSignal:
    """A digest of the raw bytes: exact identity, so the distance is 0 (equal) or 1."""

    kinds = frozenset({"bytes"})
    index = None  # exact lookups use each list file's SQLite index
    name = ""
    bits = 0
    description = ""

    def hasher(self) -> Hasher:
        raise NotImplementedError

    def compute(self, content: bytes) -> tuple[str, int | None]:
        h = self.hasher()
        h.update(content)
        return h.hexdigest(), None

    def distance(self, a: str, b: str) -> int:
        return 0 if a.lower() == b.lower() else 1

    def examples(self) -> list[bytes]:
        return [b"", b"a", b"abc", b"abd", bytes(range(256)) * 16]


class HammingSignal:
    """A perceptual hash compared bit by bit: the distance is the Hamming distance."""

    kinds: frozenset[str] = frozenset({"picture"})
    index: Any = None
    name = ""
    bits = 0
    description = ""

    def compute(self, content: Picture) -> tuple[str, int | None]:
        raise NotImplementedError

    def distance(self, a: str, b: str) -> int:
        return hamming(a, b)

    def examples(self) -> list[Picture]:
        return example_pictures()


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def example_pictures() -> list[Picture]:
    """Generated pictures with near and far relatives (blurred, brightened, cropped, mirrored,
    unrelated), so a perceptual signal's distances on them are small and large, not all equal."""
    rng = np.random.default_rng(20240611)
    y, x = np.mgrid[0:240, 0:320].astype(np.float32)
    out: list[Picture] = []
    for seed in range(2):
        cx, cy = rng.uniform(60, 260), rng.uniform(40, 200)
        base = np.stack([
            128 + 100 * np.sin(x / (17 + 9 * seed) + seed),
            128 + 100 * np.cos(y / (23 - 5 * seed)),
            255 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 4000.0),
        ], axis=-1)
        base += rng.normal(0, 12, base.shape)
        im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
        out += [Picture(im), Picture(im.filter(ImageFilter.GaussianBlur(1.5))),
                Picture(im.point(lambda v: min(255, v + 25))),
                Picture(im.crop((8, 6, 312, 234)).resize((320, 240))),
                Picture(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT))]
    return out
