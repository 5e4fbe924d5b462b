"""Benign, generated pictures that behave like photographs under perceptual hashing.

Used by the demo, the tests and the benchmarks. Never a real person: shapes, gradients, texture
and text. Flat colours or pure noise would not do: perceptual hashes of those behave unlike
photos (pure noise moved pHash by 14 bits under reduced decoding where photos moved 2), so a
picture here is drawn small and smooth, enlarged, then given fine grain, as camera pictures are.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CAMERAS = (("Canon", "Canon EOS 250D"), ("samsung", "SM-G991B"), ("Apple", "iPhone 14"),
           ("Google", "Pixel 8"), ("NIKON CORPORATION", "NIKON D3500"))


def photo_like(seed: int, size: tuple[int, int] = (1600, 1200)) -> Image.Image:
    rng = random.Random(seed)
    w, h = size
    sw, sh = max(16, w // 8), max(12, h // 8)
    # Background: a two-colour gradient at an angle, like sky or a wall under light.
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    t = (np.cos(angle) * xx / sw + np.sin(angle) * yy / sh)
    t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    c1 = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
    c2 = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
    base = (c1 * (1 - t[..., None]) + c2 * t[..., None]).astype(np.uint8)
    img = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(6, 14)):
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        x0, y0 = rng.uniform(-0.2, 1.0) * sw, rng.uniform(-0.2, 1.0) * sh
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * sw, y0 + rng.uniform(0.1, 0.6) * sh
        shape = rng.random()
        if shape < 0.4:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape < 0.7:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            pts = [(rng.uniform(0, sw), rng.uniform(0, sh)) for _ in range(rng.randint(3, 6))]
            draw.polygon(pts, fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    img = img.resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(12, h // 20))
    draw.text((rng.uniform(0.05, 0.6) * w, rng.uniform(0.05, 0.8) * h),
              rng.choice(["SALE", "Station", "Bakery", "No 12", "EXIT", "Garden"]),
              fill=tuple(rng.randint(0, 255) for _ in range(3)), font=font)
    # Fine sensor grain (small amplitude: texture, not a pattern).
    grain = np.random.default_rng(seed).normal(0, 4, (h, w, 1)).astype(np.float32)
    arr = np.clip(np.asarray(img, np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def camera_exif(seed: int, when: datetime | None = None, gps: bool = True) -> Image.Exif:
    rng = random.Random(seed)
    make, model = rng.choice(CAMERAS)
    when = when or datetime(2026, 3, 1) + timedelta(minutes=rng.randint(0, 200_000))
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif[0x0112] = 1
    exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    if gps:
        g = exif.get_ifd(0x8825)
        g[1], g[2] = "N", (51.0, 30.0, rng.uniform(0, 59))
        g[3], g[4] = "W", (0.0, 7.0, rng.uniform(0, 59))
    return exif


def encode(img: Image.Image, fmt: str, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    """Real bytes of `fmt` (JPEG, PNG, GIF, BMP, TIFF, WEBP, HEIF)."""
    buf = io.BytesIO()
    kwargs: dict = {}
    if fmt in ("JPEG", "WEBP", "HEIF"):
        kwargs["quality"] = quality
    if exif is not None:
        kwargs["exif"] = exif.tobytes()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    if fmt == "GIF":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE)
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def fake_video(seed: int, size: int = 200_000) -> bytes:
    """An MP4-typed file (ftyp box + payload): identified and hashed, not decoded."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + random.Random(seed).randbytes(size)
