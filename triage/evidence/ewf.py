"""EnCase E01 images (EWF-E01 / EWF2-Ex01) as evidence, through libewf (`pyewf`): the disk
inside, its partitions and file systems (triage.evidence.disk_image).

Recognised by the segment header's signature, never by the name: only the first segment (its
header says segment 1) is a container; E02, E03, ... found in a folder are ordinary files there
(hashed), and are read as part of the image from the first. The acquisition metadata libewf
reads (case number, evidence number, examiner, acquisition date, stored MD5 and SHA-1) is
recorded with the image's row; `triage ingest --verify-image` recomputes the media's hashes and
reports a mismatch. libewf does not report a chunk whose checksum fails when it is read (its data
comes back as stored), so a damaged E01 is found by that verification, or where a read fails.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from triage.evidence import disk_image
from triage.evidence.base import Container, Entry, Limits, Probe, Ref, Sample
from triage.evidence.image_io import ewf_segment_number

NAME = "ewf"
DESCRIPTION = "EnCase E01 disk image (E01, split E01/E02/...; by content, whatever the name)"
PRIORITY = 15


def sniff(probe: Probe) -> bool:
    return ewf_segment_number(probe.head) == 1


def entries(container: Container, limits: Limits) -> Iterator[Entry]:
    return disk_image.list_entries(NAME, NAME, container, limits)


def root_entries(path: Path, limits: Limits) -> Iterator[Entry]:
    return disk_image.root_entries(NAME, NAME, path, limits)


def open_entry(ref: Ref, limits: Limits) -> BinaryIO:
    return disk_image.open_entry(NAME, ref, limits)


def release() -> None:
    disk_image.release()


def sample(folder: Path) -> Sample:
    """A split E01 of an MBR disk with a FAT partition holding a picture and a deleted one."""
    from triage.demo.synthetic import encode, photo_like
    from triage.evidence import disk_samples as build

    folder.mkdir(parents=True, exist_ok=True)
    work = folder.parent / (folder.name + "-build")
    work.mkdir(exist_ok=True)
    noise = random.Random(1).randbytes(1_500_000)  # incompressible: the E01 splits
    part = build.fat_image(work / "fat.img", {
        "DCIM/a.jpg": encode(photo_like(3, (64, 48)), "JPEG", 90, None),
        "DCIM/gone.jpg": encode(photo_like(4, (64, 48)), "JPEG", 90, None),
        "noise.bin": noise}, deleted=["DCIM/gone.jpg"])
    disk = work / "disk.raw"
    build.partitioned_disk(disk, [(part, "c")])
    build.ewf_image(disk, folder / "sample", segment_bytes=1 << 20)
    for p in work.iterdir():
        p.unlink()
    work.rmdir()
    return Sample(folder / "sample.E01", {"sample.E01!/", "sample.E01!/p1",
                                          "sample.E01!/p1/DCIM/a.jpg",
                                          "sample.E01!/p1/DCIM/_one.jpg",
                                          "sample.E01!/p1/noise.bin"})
