"""The disk images the disk tests share: built once per module with Debian's tools
(triage.evidence.disk_samples), a few MB each so the suite stays fast."""

from __future__ import annotations

import hashlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import jpeg
from triage.evidence import disk_samples as build

# Even seconds: FAT keeps modification times to 2 s.
FAT_MTIME = 1_600_000_000
EXT_MTIME = 1_650_000_000


def need_tools() -> None:
    missing = build.missing_tools()
    if missing:
        if os.environ.get("TRIAGE_CI"):
            pytest.fail(f"disk-image tools missing under CI: {', '.join(missing)}"
                        " (.ci/run installs ewf-tools mtools dosfstools e2fsprogs ntfs-3g fdisk)")
        pytest.skip(f"disk-image tools missing: {', '.join(missing)} (apt-get install ewf-tools"
                    " mtools dosfstools e2fsprogs ntfs-3g fdisk)")


@dataclass
class Disk:
    """A three-partition MBR disk (p1 NTFS, p2 FAT, p3 ext4) with deleted pictures."""

    raw: Path
    files: dict[str, bytes]  # label below the image (p2/DCIM/a.jpg) -> content, allocated
    deleted: dict[str, bytes]  # the deleted files' original paths -> content
    built: tuple[float, float] = (0.0, 0.0)
    e01: list[Path] = field(default_factory=list)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def build_disk(folder: Path, pictures: int = 0) -> Disk:
    need_tools()
    folder.mkdir(parents=True, exist_ok=True)
    noise = random.Random(7).randbytes(1_200_000)  # incompressible: the E01 splits in segments
    ntfs_files = {"e.jpg": jpeg(41, (320, 240), exif=True), "f.jpg": jpeg(42, (320, 240)),
                  "readme.txt": b"plain text on NTFS\n"}
    fat_files = {"DCIM/a.jpg": jpeg(43, (320, 240), exif=True), "DCIM/b.jpg": jpeg(44, (320, 240)),
                 "notes.txt": b"notes on FAT\n"}
    fat_files.update({f"DCIM/many/m{i:03d}.jpg": jpeg(900 + i, (1200, 900)) for i in range(pictures)})
    ext_files = {"Users/alice/Pictures/c.jpg": jpeg(45, (320, 240)),
                 "Users/alice/Pictures/d.jpg": jpeg(46, (320, 240)),
                 "Users/alice/noise.bin": noise}
    started = time.time()
    ntfs = build.ntfs_image(folder / "ntfs.img", ntfs_files, deleted=["f.jpg"])
    built = time.time()
    fat = build.fat_image(folder / "fat.img", fat_files, deleted=["DCIM/b.jpg"], mtime=FAT_MTIME,
                          size=(32 << 20) if pictures else (8 << 20))
    ext = build.ext4_image(folder / "ext.img", ext_files,
                           deleted=["Users/alice/Pictures/d.jpg"], mtime=EXT_MTIME)
    raw = folder / "disk.raw"
    build.partitioned_disk(raw, [(ntfs, "7"), (fat, "c"), (ext, "83")])
    for p in (ntfs, fat, ext):
        p.unlink()
    files = {f"p1/{k}": v for k, v in ntfs_files.items() if k != "f.jpg"}
    files |= {f"p2/{k}": v for k, v in fat_files.items() if k != "DCIM/b.jpg"}
    files |= {f"p3/{k}": v for k, v in ext_files.items() if not k.endswith("d.jpg")}
    deleted = {"p1/f.jpg": ntfs_files["f.jpg"], "p2/DCIM/b.jpg": fat_files["DCIM/b.jpg"],
               "p3/Users/alice/Pictures/d.jpg": ext_files["Users/alice/Pictures/d.jpg"]}
    return Disk(raw, files, deleted, (started, built))


def e01_of(disk: Disk, folder: Path, name: str = "laptop") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return build.ewf_image(disk.raw, folder / name, segment_bytes=1 << 20,
                           case_number="OP-ALPHA-7", examiner="J. Examiner",
                           evidence_number="EXH-001")
