"""Decode a picture once, safely, and derive everything later stages need from that decode.

One decode yields: PDQ (256-bit + quality), pHash and dHash (64-bit), size, the EXIF fields that
mark first-generation material, and a small derivative (JPEG, <= DERIVATIVE_SIZE px) that the
classifier and the review pages read instead of decoding the evidence again.

PDQ follows Meta's reference implementation (ThreatExchange pdq/cpp/io/pdqio.cpp): a picture with
a side over 512 px is first resampled to 512x512 (nearest neighbour, corner-aligned, aspect not
kept) and the Jarosz/DCT stages run on that. The `pdqhash` package skips that step when given
pixels directly; on 42 real photos its full-resolution hashes differed from the reference
pipeline's by up to 28 bits (mean 9), beyond the 10-bit conformance bound, and cost 5-50x more
time (the Jarosz filter scales with pixel count). So `pdq_pixels` reproduces the reference step.

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

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from triage.filetypes import FileType
from triage.records import ImageInfo

DRAFT_SIZE = 1024
PDQ_REFERENCE_SIZE = 512  # pdqio.cpp DOWNSAMPLE_DIMS
DERIVATIVE_SIZE = 512
REDUCING_GAP = 12.0  # see perceptual_hashes
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
    gray = rgb.convert("L")  # imagehash converts to L itself; do it once for both hashes
    if drafted:
        lanczos = Image.Resampling.LANCZOS
        return (str(imagehash.phash(gray.resize((32, 32), lanczos, reducing_gap=REDUCING_GAP))),
                str(imagehash.dhash(gray.resize((9, 8), lanczos, reducing_gap=REDUCING_GAP))))
    return str(imagehash.phash(gray)), str(imagehash.dhash(gray))


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
