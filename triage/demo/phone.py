"""Build a realistic synthetic phone dump (benign generated pictures only) and run the pipeline.

The layout mirrors what examiners see on an Android extraction: camera originals with EXIF,
messaging-app copies that were resized and recompressed, thumbnail caches, app icons, pictures
renamed to hide them, an archive, and the damaged and empty files every real dump has.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from triage.demo import video
from triage.demo.synthetic import camera_exif, encode, fake_video, photo_like

# The demo accounts' shared password (`triage demo`'s reviewer, lead and welfare reviewers).
# Documented in the README; only ever used on the generated demo workspace.
DEMO_PASSWORD = "demo-reviewer-2026"
# The demo recording a demo vPDQ list knows (triage.demo.lists).
KNOWN_VIDEO = "DCIM/Camera/VID_20260614_121212.mp4"


@dataclass
class DemoLayout:
    root: Path
    camera: list[Path]
    files: int


def build_phone_dump(root: Path, seed: int = 7, camera_count: int = 24) -> DemoLayout:
    """Write the dump under `root` (which must not exist yet) and return what was made."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    written: list[Path] = []

    def put(rel: str, data: bytes) -> Path:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        written.append(p)
        return p

    camera: list[Path] = []
    originals: list[Image.Image] = []
    for i in range(camera_count):
        size = rng.choice([(1600, 1200), (2048, 1536), (1200, 1600), (2400, 1800)])
        img = photo_like(seed * 1000 + i, size)
        originals.append(img)
        name = f"DCIM/Camera/IMG_20260{3 + i % 6}{10 + i:02d}_1{i % 10}2233.jpg"
        camera.append(put(name, encode(img, "JPEG", 92, camera_exif(seed + i))))
    # A HEIC straight off an iPhone, and PNG screenshots.
    put("DCIM/Camera/IMG_4031.HEIC", encode(photo_like(seed * 1000 + 500, (1280, 960)), "HEIF",
                                           80, camera_exif(seed + 500)))
    for i in range(4):
        put(f"Pictures/Screenshots/Screenshot_2026061{i}-101010.png",
            encode(photo_like(seed * 1000 + 600 + i, (540, 1170)), "PNG"))
    # Messaging copies: resized + recompressed (near-duplicates), and exact forwards.
    for i, img in enumerate(originals[:12]):
        small = img.copy()
        small.thumbnail((1280, 1280))
        put(f"WhatsApp/Media/WhatsApp Images/IMG-2026070{i % 9 + 1}-WA{i:04d}.jpg",
            encode(small, "JPEG", 70))
    for i, src in enumerate(camera[:5]):
        put(f"WhatsApp/Media/WhatsApp Images/Sent/IMG-20260801-WA{100 + i:04d}.jpg",
            src.read_bytes())
    # Thumbnail cache: small copies, no EXIF, no extension.
    for i, img in enumerate(originals[:10]):
        thumb = img.copy()
        thumb.thumbnail((256, 256))
        put(f"Android/data/com.android.gallery3d/cache/.thumbnails/{1700000000 + i}",
            encode(thumb, "JPEG", 80))
    # App icons (small PNGs), GIF and BMP and TIFF and WebP from apps.
    for i in range(8):
        put(f"Android/data/com.example.app{i}/files/icon.png",
            encode(photo_like(seed * 1000 + 700 + i, (96, 96)), "PNG"))
    put("Download/reaction.gif", encode(photo_like(seed * 1000 + 800, (320, 240)), "GIF"))
    put("Download/scan_0001.bmp", encode(photo_like(seed * 1000 + 801, (400, 300)), "BMP"))
    put("Documents/scan_0002.tiff", encode(photo_like(seed * 1000 + 802, (800, 600)), "TIFF"))
    put("Download/sticker.webp", encode(photo_like(seed * 1000 + 803, (512, 512)), "WEBP", 80))
    # Pictures renamed to look like something else (a finding in itself).
    for i in range(3):
        put(f"Android/data/com.vault.calculator/files/.store/cache_{i:04d}.dat",
            encode(photo_like(seed * 1000 + 900 + i, (1024, 768)), "JPEG", 88,
                   camera_exif(seed + 900 + i)))
    # An archive holding pictures (one of them also loose on the device).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(4):
            zf.writestr(f"holiday/day{i + 1}.jpg",
                        encode(photo_like(seed * 1000 + 950 + i, (1024, 768)), "JPEG", 85))
        zf.writestr("holiday/again.jpg", camera[0].read_bytes())
    put("Download/holiday_photos.zip", buf.getvalue())
    # Videos (generated moving shapes): a camera recording and its messaging copy (re-encoded
    # smaller: one queue entry), another recording that a demo vPDQ list knows, a WebM download,
    # and a damaged one. Documents, damaged and empty files.
    recording = video.encode(seed * 10 + 1, 8.0, width=640, height=360)
    put("DCIM/Camera/VID_20260612_101010.mp4", recording)
    put("WhatsApp/Media/WhatsApp Video/VID-20260613-WA0001.mp4",
        video.reencode(recording, width=320, height=180, bitrate=250_000))
    put(KNOWN_VIDEO, video.encode(seed * 10 + 2, 6.0, width=480, height=270))
    put("Download/clip.webm", video.encode(seed * 10 + 3, 4.0, container="webm",
                                           codec="libvpx"))
    put("Movies/broken.mp4", fake_video(seed))
    put("Documents/notes.txt", b"shopping: bread, milk\n")
    good = camera[1].read_bytes()
    put("DCIM/Camera/IMG_20260615_000000.jpg", good[: len(good) // 3])  # truncated transfer
    put("Pictures/broken.png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(2000))
    put("DCIM/.nomedia", b"")
    put("Pictures/.nomedia", b"")
    return DemoLayout(root, camera, len(written))
