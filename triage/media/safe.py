"""The one safe thumbnail: small, blurred and (by default) greyscale, made on the server.

Everything that shows a picture without a deliberate reveal uses this: the review grid's
thumbnails (`/media/<id>/blurred`) and the device report's optional thumbnails. One function,
so a change to what "safe by default" means (more blur, no colour) reaches every view at once.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

# Below this Gaussian radius a 128 px thumbnail starts to show detail; no caller may go lower,
# whatever a setting says (the review page's least blur, min_blur_px = 6, gives radius 3).
MIN_RADIUS = 2.0


def safe_thumbnail(path: Path, edge: int, radius: float, greyscale: bool = True,
                   quality: int = 70) -> bytes:
    """JPEG bytes of the picture at `path` fitted in `edge` x `edge` px, Gaussian-blurred with
    `radius` (at least `MIN_RADIUS`), greyscale unless `greyscale` is False."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        im.thumbnail((edge, edge))
        if greyscale:
            im = ImageOps.grayscale(im)
        im = im.filter(ImageFilter.GaussianBlur(max(MIN_RADIUS, radius)))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        return buf.getvalue()
