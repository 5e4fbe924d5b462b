"""Decode a picture once, safely, and derive everything later stages need from that decode.

One decode yields (through `triage.signals`): PDQ (256-bit + quality), pHash and dHash (64-bit), size, the EXIF fields that
mark first-generation material, and a small derivative (JPEG, <= DERIVATIVE_SIZE px) that the
classifier and the review pages read instead of decoding the evidence again.

JPEGs are decoded at reduced size with Pillow's `draft` (DCT scaling: 1/2, 1/4 or 1/8 while
decoding; both sides stay >= DRAFT_SIZE). DRAFT_SIZE = 1024 was chosen by measurement on 42
real photos of quality >= 80 (Debian wallpapers, 1-20 MP; `scripts/bench_ingest.py --photos DIR`
repeats it): against the same pipeline on a full decode, PDQ moved at most 6 bits (mean 0.5;
the conformance bound is 10) and pHash at most 2 bits. At 768 px PDQ moved up to 10 bits (at
the bound, no margin); at 512 px pHash held but PDQ did not. Resizing with a smoothing filter
instead moved PDQ by up to 40 bits: the reference's nearest-neighbour step is what the hash
expects, so do not "improve" it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from triage.evidence.filetypes import FileType
from triage.records import ImageInfo
from triage.signals.pdq import pdq_hex
from triage.signals.phash import perceptual_hashes

DRAFT_SIZE = 1024
DERIVATIVE_SIZE = 512
DEFAULT_MAX_PIXELS = 250_000_000  # a 250 Mpx limit admits phone panoramas (~100 Mpx), not bombs

_PIL_FORMATS = {
    "jpeg": ["JPEG", "MPO"], "png": ["PNG"], "gif": ["GIF"], "bmp": ["BMP", "DIB"],
    "tiff": ["TIFF"], "webp": ["WEBP"], "heic": ["HEIF"], "heif": ["HEIF"], "avif": ["AVIF", "HEIF"],
}

T = Image.Transpose
# EXIF orientation -> the transpose that makes the picture upright (EXIF 2.3, tag 0x0112).
_ORIENTATION = {2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM, 5: T.TRANSPOSE,
                6: T.ROTATE_270, 7: T.TRANSVERSE, 8: T.ROTATE_90}
_EXIF_MAKE, _EXIF_MODEL, _EXIF_IFD, _GPS_IFD, _DT_ORIGINAL = 0x010F, 0x0110, 0x8769, 0x8825, 0x9003


def setup_decoders() -> None:
    """Register HEIF/AVIF support and take over Pillow's bomb check (we report our own)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    try:
        pillow_heif.register_avif_opener()
    except AttributeError:  # newer pillow-heif leaves AVIF to Pillow itself
        pass
    Image.MAX_IMAGE_PIXELS = None


@dataclass
class DecodeOutcome:
    status: str  # ok | corrupt | too_large | unsupported
    reason: str | None
    info: ImageInfo | None = None
    derivative: bytes | None = None


def analyse(data: bytes, ftype: FileType, max_pixels: int = DEFAULT_MAX_PIXELS,
            want_derivative: bool = True) -> DecodeOutcome:
    """Decode `data` (already identified as `ftype`) and hash it; never raises for bad input."""
    formats = _PIL_FORMATS.get(ftype.name)
    if formats is None:
        return DecodeOutcome("unsupported", f"{ftype.name} pictures are not decoded by triage")
    try:
        im = Image.open(io.BytesIO(data), formats=formats)
    except Exception as exc:  # noqa: BLE001 - any parser failure means the header is damaged
        return DecodeOutcome("corrupt", f"cannot read {ftype.name} header: {_short(exc)}")
    with im:
        w, h = im.size
        if w <= 0 or h <= 0:
            return DecodeOutcome("corrupt", f"{ftype.name} header declares {w}x{h} pixels")
        if w * h > max_pixels:
            return DecodeOutcome(
                "too_large",
                f"header declares {w}x{h} = {w * h / 1e6:.0f} Mpx, over the {max_pixels / 1e6:.0f}"
                " Mpx limit (possible decompression bomb); not decoded",
            )
        try:
            exif = _exif_fields(im)
            if ftype.name == "jpeg":
                im.draft("RGB", (DRAFT_SIZE, DRAFT_SIZE))
            im.load()
            # An RGB decode is used as it is: convert() would copy every pixel once more.
            rgb = im if im.mode == "RGB" else im.convert("RGB")
        except Exception as exc:  # noqa: BLE001 - truncated, damaged or hostile data
            return DecodeOutcome("corrupt", f"{ftype.name} does not decode: {_short(exc)}")
        drafted = im.size != (w, h)
        return DecodeOutcome("ok", None, _hashes(rgb, w, h, exif, drafted),
                             _derivative(rgb, exif.pop("_orientation", 1))
                             if want_derivative else None)


def _hashes(rgb: Image.Image, width: int, height: int, exif: dict, drafted: bool) -> ImageInfo:
    pdq, quality = pdq_hex(rgb)
    phash, dhash = perceptual_hashes(rgb, drafted)
    return ImageInfo(
        width=width,
        height=height,
        pdq=pdq,
        pdq_quality=quality,
        phash=phash,
        dhash=dhash,
        exif_make=exif.get("make"),
        exif_model=exif.get("model"),
        exif_datetime_original=exif.get("datetime_original"),
        exif_gps=bool(exif.get("gps")),
    )


def _derivative(rgb: Image.Image, orientation: int) -> bytes:
    """A small upright copy for the classifier and the review pages (never the evidence)."""
    scale = DERIVATIVE_SIZE / max(rgb.size)
    small = rgb
    if scale < 1:  # resize straight from the decode: thumbnail() would copy it whole first
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        # reducing_gap=1: box-average by the largest whole factor first (an area resample, no
        # aliasing), then a short bilinear step: half the time of gap 2 on a 2000 px draft.
        small = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
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
