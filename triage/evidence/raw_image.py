"""Raw disk images (`dd`, `.img`, `.raw`, split `.001`, `.002`, ...) as evidence: a partition
table (MBR, GPT, ...) or a file system found by its own signature, read through The Sleuth Kit
(triage.evidence.disk_image).

Recognised by content: a partition table whose entries make sense, or a file system's boot
sector or superblock (NTFS, exFAT, FAT, ext2/3/4, HFS+, ISO 9660), or an encrypted volume's
header (BitLocker, LUKS). A split image is read from its first segment (`disk.001`: the later
segments are found beside it by name, as the imaging tool named them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from triage.evidence import disk_image
from triage.evidence.base import Container, Entry, Limits, Probe, Ref, Sample, open_evidence
from triage.evidence.volumes import encryption_of

NAME = "raw"
DESCRIPTION = ("raw disk image (dd, .img, split .001/.002/...): a partition table or a file"
               " system, recognised by content")
PRIORITY = 70  # after every archive: the signatures here sit at fixed offsets inside a sector


def _mbr(head: bytes) -> bool:
    if len(head) < 512 or head[510:512] != b"\x55\xaa":
        return False
    used = 0
    for i in range(4):
        entry = head[446 + 16 * i: 462 + 16 * i]
        status, kind = entry[0], entry[4]
        start = int.from_bytes(entry[8:12], "little")
        count = int.from_bytes(entry[12:16], "little")
        if status not in (0x00, 0x80):
            return False
        if kind == 0:
            continue
        if start == 0 or count == 0:
            return False
        used += 1
    return used > 0


def _fat(head: bytes) -> bool:
    if len(head) < 512 or head[510:512] != b"\x55\xaa" or head[0] not in (0xEB, 0xE9):
        return False
    per_sector = int.from_bytes(head[11:13], "little")
    return per_sector in (512, 1024, 2048, 4096) and (
        head[54:59] in (b"FAT12", b"FAT16", b"FAT  ") or head[82:87] == b"FAT32")


def _ext(head: bytes) -> bool:
    if len(head) < 1084 or head[1080:1082] != b"\x53\xef":
        return False
    sb = head[1024:]
    inodes = int.from_bytes(sb[0:4], "little")
    blocks = int.from_bytes(sb[4:8], "little")
    log_block = int.from_bytes(sb[24:28], "little")
    return inodes > 0 and blocks > 0 and log_block <= 6


def signature(head: bytes, path: str | None = None) -> str | None:
    """Which disk structure `head` starts with, or None."""
    if len(head) >= 520 and head[512:520] == b"EFI PART":
        return "gpt"
    if head[3:11] == b"NTFS    ":
        return "ntfs"
    if head[3:11] == b"EXFAT   ":
        return "exfat"
    if encryption_of(head) in ("bitlocker", "luks"):
        return encryption_of(head)
    if _fat(head):
        return "fat"
    if _mbr(head):
        return "mbr"
    if _ext(head):
        return "ext"
    if len(head) >= 1028 and head[1024:1026] in (b"H+", b"HX") \
            and head[1026:1028] in (b"\x00\x04", b"\x00\x05"):
        return "hfs+"
    if path is not None and _iso9660(path):
        return "iso9660"
    return None


def _iso9660(path: str) -> bool:
    try:
        fd = open_evidence(path)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        f.seek(32769)
        return f.read(5) == b"CD001"


def sniff(probe: Probe) -> bool:
    if probe.is_folder or probe.detected_type not in ("unknown", "iso"):
        return False
    return signature(probe.head, probe.path) is not None


def entries(container: Container, limits: Limits) -> Iterator[Entry]:
    return disk_image.list_entries(NAME, NAME, container, limits)


def root_entries(path: Path, limits: Limits) -> Iterator[Entry]:
    return disk_image.root_entries(NAME, NAME, path, limits)


def open_entry(ref: Ref, limits: Limits) -> BinaryIO:
    return disk_image.open_entry(NAME, ref, limits)


def release() -> None:
    disk_image.release()


def sample(folder: Path) -> Sample:
    """An ext4 file system without a partition table, with a deleted file, split in two."""
    from triage.demo.synthetic import encode, photo_like
    from triage.evidence import disk_samples as build

    folder.mkdir(parents=True, exist_ok=True)
    work = folder / "build.img"
    build.ext4_image(work, {"Users/alice/a.jpg": encode(photo_like(5, (64, 48)), "JPEG", 90,
                                                        None),
                            "Users/alice/gone.txt": b"deleted text\n" * 50},
                     deleted=["Users/alice/gone.txt"])
    data = work.read_bytes()
    work.unlink()
    half = len(data) // 2
    (folder / "card.001").write_bytes(data[:half])
    (folder / "card.002").write_bytes(data[half:])
    return Sample(folder / "card.001", {"card.001!/", "card.001!/Users/alice/a.jpg",
                                        "card.001!/Users/alice/gone.txt"})
