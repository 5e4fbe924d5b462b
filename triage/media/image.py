"""Decode a picture once, safely, and derive everything later stages need from that decode.

One decode yields (through `triage.signals`): PDQ (256-bit + quality), pHash and dHash (64-bit),
size, the EXIF fields that mark first-generation material, and a small derivative (JPEG,
<= DERIVATIVE_SIZE px) that the classifier and the review pages read instead of decoding the
evidence again.

Multi-frame pictures (animated GIF/WebP/PNG, multi-page TIFF, the second picture of an MPO, a
HEIF holding several images): the frame count is recorded, and every frame up to `[limits]
max_frames` is decoded in turn and gets its own PDQ (a `frame` signal, with its index) and
derivative, so a known picture hidden as a later frame is matched and every frame can be
reviewed. Frame 0 is the picture: it alone gets the `picture` signals (pHash/dHash) and is the
representative derivative. Beyond the limit the file is `partial`, never `ok`.

JPEGs are decoded at reduced size with Pillow's `draft` (DCT scaling: 1/2, 1/4 or 1/8 while
decoding; both sides stay >= DRAFT_SIZE). DRAFT_SIZE = 1024 was chosen by measurement on 42
real photos of quality >= 80 (Debian wallpapers, 1-20 MP; `scripts/bench_ingest.py --photos DIR`
repeats it): against the same pipeline on a full decode, PDQ moved at most 6 bits (mean 0.5;
the conformance bound is 10) and pHash at most 2 bits. At 768 px PDQ moved up to 10 bits (at
the bound, no margin); at 512 px pHash held but PDQ did not. Resizing with a smoothing filter
instead moved PDQ by up to 40 bits: the reference's nearest-neighbour step is what the hash
expects, so do not "improve" it.

The phone-size set is harder (scripts/bench_ingest.py accuracy part, 1 December 2026: each of
69 distinct photos re-encoded at 12, 4, 1.9 and 0.4 Mpx). Only the 12 Mpx copies (4000x3000)
are drafted at all at 1024 (to 1/2; 4 Mpx is 1732 px high and 1/2 would go under 1024), and
on 6 of their 256 quality >= 80 pictures PDQ moved more than 10 bits from the reference's
full decode (max 50, mean 0.91 over the 256; 5 of the 6 where the reference itself moves <= 10
bits under a one-pixel crop): the 10-bit rule is kept on 97.7 % of phone-size pictures, not on
all; Meta's conformance pictures (tests/test_pdq_conformance.py) all keep it. The floor's 512
draft does worse (20 of 256 over 10, max 62). Decoding 12 Mpx in full would close the gap, at
2.7x their decode time (82 against 30 CPU ms each, measured on 20 of them): ~13 ms more per
file on the phone set, which alone would take ingest from 1.2x to about 1.9x the floor (the
1.5x target). So it is the lab's choice: `[pictures] draft_px` in config/ingest.toml (1024 by
default, the speed target; 0 decodes every JPEG in full, the reference's own pixels).

Decode memory is bounded by bytes, checked from the header before any pixel is decoded
(`decode_bytes`): the pixel count alone let a 30 KB one-bit PNG of 248 Mpx take 1.72 GB (peak
RSS of one decode, measured), since every pixel is held as a byte, then as four in the RGB copy,
then twice more in greyscale for pHash/dHash.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image

from triage.evidence.base import Limits
from triage.evidence.filetypes import FileType
from triage.media.base import DerivativeImage, MediaInput, MediaOutcome
from triage.records import MediaInfo, SignalValue
from triage.signals import signals_for
from triage.signals.base import SMALL_SIZE, Picture

DRAFT_SIZE = Limits.draft_px  # the default of [pictures] draft_px
DERIVATIVE_SIZE = SMALL_SIZE

_PIL_FORMATS = {
    "jpeg": ["JPEG", "MPO"], "png": ["PNG"], "gif": ["GIF"], "bmp": ["BMP", "DIB"],
    "tiff": ["TIFF"], "webp": ["WEBP"], "heic": ["HEIF"], "heif": ["HEIF"], "avif": ["AVIF", "HEIF"],
}

T = Image.Transpose
# EXIF orientation -> the transpose that makes the picture upright (EXIF 2.3, tag 0x0112).
_ORIENTATION = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
                6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}
_EXIF_MAKE, _EXIF_MODEL, _EXIF_IFD, _GPS_IFD, _DT_ORIGINAL = 0x010F, 0x0110, 0x8769, 0x8825, 0x9003

# Bytes per pixel of Pillow's in-memory storage by mode: 8-bit modes one byte, 16-bit two, every
# multi-band mode four (RGB is stored as RGBX). Unknown modes count as four.
_STORAGE_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# What the hashing adds per pixel besides the decode: the greyscale copy pHash/dHash share, and
# the copy imagehash's own convert("L") makes of it. RGB conversion (4) comes on top when the
# decode is not RGB already. On the 248 Mpx one-bit PNG: (1 + 4 + 2) x 248 M = 1.74 GB
# estimated, 1.68 GB measured above the process's baseline.
_HASHING_BYTES = 2


class ImageHandler:
    """Pictures (JPEG, PNG, GIF, BMP, TIFF, WebP, HEIF/AVIF), every frame or page of each."""

    name = "image"
    kinds = frozenset({"image"})
    streams = False  # Pillow decodes from a buffer held in memory
    description = "pictures: PDQ/pHash/dHash, EXIF, frames/pages, small derivatives"

    def setup(self) -> None:
        setup_decoders()

    def examine(self, media: MediaInput, limits: Limits,
                want_derivatives: bool) -> MediaOutcome:
        data = media.data if media.data is not None else media.open().read()
        return analyse(data, media.ftype, limits, want_derivatives)


IMAGE = ImageHandler()


def setup_decoders() -> None:
    """Register HEIF/AVIF support and take over Pillow's bomb check (we report our own)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    try:
        pillow_heif.register_avif_opener()
    except AttributeError:  # newer pillow-heif leaves AVIF to Pillow itself
        pass
    Image.MAX_IMAGE_PIXELS = None


def decode_bytes(mode: str, size: tuple[int, int]) -> int:
    """Bytes a decode of `size` pixels in `mode` and its hashing hold at once (see above)."""
    pixels = size[0] * size[1]
    rgb = 0 if mode == "RGB" else 4
    return pixels * (_STORAGE_BYTES.get(mode, 4) + rgb + _HASHING_BYTES)


def analyse(data: bytes, ftype: FileType, limits: Limits | None = None,
            want_derivatives: bool = True) -> MediaOutcome:
    """Decode `data` (already identified as `ftype`) and hash every frame up to the limit;
    never raises for bad input."""
    limits = limits or Limits()
    formats = _PIL_FORMATS.get(ftype.name)
    if formats is None:
        return MediaOutcome("unsupported", f"{ftype.name} pictures are not decoded by triage")
    try:
        im = Image.open(io.BytesIO(data), formats=formats)
    except Exception as exc:  # noqa: BLE001 - any parser failure means the header is damaged
        return MediaOutcome("corrupt", f"cannot read {ftype.name} header: {_short(exc)}")
    with im:
        w, h = im.size
        if w <= 0 or h <= 0:
            return MediaOutcome("corrupt", f"{ftype.name} header declares {w}x{h} pixels")
        if w * h > limits.max_pixels:
            return MediaOutcome(
                "too_large",
                f"header declares {w}x{h} = {w * h / 1e6:.0f} Mpx, over the"
                f" {limits.max_pixels / 1e6:.0f} Mpx limit (possible decompression bomb);"
                " not decoded",
            )
        try:
            count = int(getattr(im, "n_frames", 1))
        except Exception as exc:  # noqa: BLE001 - a damaged frame table
            return MediaOutcome("corrupt", f"cannot count {ftype.name} frames: {_short(exc)}")
        exif = _exif_fields(im)
        outcome = MediaOutcome("ok", None)
        info = MediaInfo("image", w, h, count, exif_make=exif.get("make"),
                         exif_model=exif.get("model"),
                         exif_datetime_original=exif.get("datetime_original"),
                         exif_gps=bool(exif.get("gps")))
        todo = min(count, limits.max_frames)
        hashed = 0
        for i, frame in _frames(im, data, formats, todo):
            problem = _examine_frame(frame, i, ftype, limits, want_derivatives, outcome,
                                     exif.get("_orientation", 1) if i == 0 else None)
            if problem is not None:
                if i == 0:
                    return MediaOutcome(*problem)
                outcome.status = problem[0]
                outcome.reason = (f"{problem[1]} (frame {i} of {count}); frames 0-{i - 1}"
                                  " were hashed, the rest not examined")
                break
            hashed += 1
        else:
            if hashed < todo:  # the frames ran out before their count: a damaged file
                outcome.status = "corrupt"
                outcome.reason = (f"{ftype.name} declares {count} frames but only {hashed}"
                                  " could be read")
            elif count > todo:
                outcome.status = "partial"
                outcome.reason = (f"{count} frames/pages: the first {todo} were hashed"
                                  " ([limits] max_frames); the rest were not examined")
        outcome.info = info
        return outcome


def _frames(im: Image.Image, data: bytes, formats: list[str],
            todo: int) -> Iterator[tuple[int, Image.Image]]:
    """Frame 0, 1, ... in order. An MPO's further pictures are opened afresh: once the first
    is decoded at draft size, Pillow cannot seek it to the next (measured: "image file is
    truncated"); other formats seek sequentially (a GIF frame is drawn over the one before)."""
    yield 0, im
    for i in range(1, todo):
        try:
            if im.format == "MPO":
                frame = Image.open(io.BytesIO(data), formats=formats)
                frame.seek(i)
            else:
                im.seek(i)
                frame = im
        except Exception:  # noqa: BLE001 - EOF or a damaged frame: the caller says so
            return
        try:
            yield i, frame
        finally:
            if frame is not im:
                frame.close()


def _examine_frame(frame: Image.Image, index: int, ftype: FileType, limits: Limits,
                   want_derivatives: bool, outcome: MediaOutcome,
                   orientation: int | None) -> tuple[str, str] | None:
    """Decode one frame and add its signals and derivative to `outcome`; or (status, reason)."""
    try:
        declared = frame.size
        if ftype.name == "jpeg" and limits.draft_px > 0:
            frame.draft("RGB", (limits.draft_px, limits.draft_px))
        fw, fh = frame.size
        if fw * fh > limits.max_pixels:
            return ("too_large", f"declares {fw}x{fh} = {fw * fh / 1e6:.0f} Mpx, over the"
                    f" {limits.max_pixels / 1e6:.0f} Mpx limit; not decoded")
        need = decode_bytes(frame.mode, frame.size)
        if need > limits.max_decode_bytes:
            return ("too_large",
                    f"decoding {fw}x{fh} {frame.mode} pixels would take {need / 2**20:,.0f} MiB,"
                    f" over the {limits.max_decode_bytes / 2**20:,.0f} MiB decode limit"
                    " (possible decompression bomb); not decoded")
        frame.load()
        # An RGB decode is used as it is: convert() would copy every pixel once more.
        rgb = frame if frame.mode == "RGB" else frame.convert("RGB")
    except Exception as exc:  # noqa: BLE001 - truncated, damaged or hostile data
        return ("corrupt", f"{ftype.name} does not decode: {_short(exc)}")
    picture = Picture(rgb, drafted=frame.size != declared)
    kind = "picture" if index == 0 else "frame"
    for name, signal in signals_for(kind):
        value, quality = signal.compute(picture)
        outcome.signals.append(SignalValue(name, value, quality, index))
    if want_derivatives:
        if orientation is None:
            orientation = _exif_fields(frame).get("_orientation", 1)
        outcome.derivatives.append(DerivativeImage(index, _derivative(picture, orientation)))
    return None


def _derivative(picture: Picture, orientation: int) -> bytes:
    """A small upright copy for the classifier and the review pages (never the evidence): the
    picture's small copy (`Picture.small`, which pHash and dHash read too), turned upright."""
    small = picture.small
    if orientation in _ORIENTATION:
        small = small.transpose(_ORIENTATION[orientation])
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _exif_fields(im: Image.Image) -> dict:
    out: dict = {}
    try:
        exif = im.getexif()
    except Exception:  # noqa: BLE001 - damaged EXIF must not hide the picture itself
        return out
    if not exif:
        return out
    make, model = _clean(exif.get(_EXIF_MAKE)), _clean(exif.get(_EXIF_MODEL))
    if make:
        out["make"] = make
    if model:
        out["model"] = model
    try:
        dto = _clean(exif.get_ifd(_EXIF_IFD).get(_DT_ORIGINAL))
        if dto:
            out["datetime_original"] = dto
        out["gps"] = bool(exif.get_ifd(_GPS_IFD))
    except Exception:  # noqa: BLE001
        pass
    orientation = exif.get(0x0112)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        out["_orientation"] = orientation
    return out


def _clean(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip("\x00 ").strip()
    return text[:200] or None


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
