"""Small real disk images built with Debian's tools, without mounting anything: the disk sources'
samples for the contract test, the tests' images, and the benchmark's.

- FAT: `mkfs.fat`, then `mcopy` (mtools) puts files in and `mdel` deletes one (its directory
  entry stays, marked deleted, the first character of its name lost).
- ext4: `mkfs.ext4 -d DIR` copies a folder in; `debugfs -w -R 'rm PATH'` deletes a file and
  leaves its extents, so the content stays recoverable.
- NTFS: `mkntfs` + `ntfscp`. No Debian tool deletes a file from an NTFS image without mounting
  it, so `ntfs_delete` does what NTFS does on deletion, by a documented raw edit: it clears the
  MFT record's in-use flag and removes the file's entry from its folder's index (an INDX block;
  update-sequence fix-ups undone and redone around the edit). The Sleuth Kit then lists the
  file as deleted, its data runs intact, as it lists one deleted by Windows.
- Partition tables: `sfdisk` on a plain file (MBR or GPT), each partition image copied in at its
  offset.
- E01: `ewfacquire` (ewf-tools), split into E01, E02, ... by `-S` (bytes, 1 MiB minimum).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

TOOLS = ("mkfs.fat", "mcopy", "mdel", "mmd", "mkfs.ext4", "debugfs", "mkntfs", "ntfscp",
         "ntfsinfo", "sfdisk", "ewfacquire")
SECTOR = 512


def missing_tools(tools: Sequence[str] = TOOLS) -> list[str]:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [t for t in tools if shutil.which(t, path=search) is None]


def _run(*args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    full = {**os.environ, "PATH": search, "MTOOLS_SKIP_CHECK": "1", **(env or {})}
    done = subprocess.run(list(args), input=stdin, capture_output=True, env=full, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode(errors="replace")


def _blank(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.truncate(size)


def fat_image(path: Path, files: Mapping[str, bytes], size: int = 8 << 20,
              deleted: Sequence[str] = (), fat: int | None = None,
              mtime: float | None = None) -> Path:
    """A FAT file system holding `files` (relative paths), then `deleted` removed with mdel.
    `mtime`: the modification time given to every file (mcopy -m keeps the source's)."""
    _blank(path, size)
    _run("mkfs.fat", *(["-F", str(fat)] if fat else []), "-n", "TRIAGE", str(path))
    staging = path.with_name(path.name + ".files")
    made: set[str] = set()
    for rel, data in files.items():
        parts = rel.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder not in made:
                _run("mmd", "-i", str(path), f"::/{folder}")
                made.add(folder)
        staging.mkdir(exist_ok=True)
        src = staging / "f"
        src.write_bytes(data)
        if mtime is not None:
            os.utime(src, (mtime, mtime))
        _run("mcopy", "-m", "-i", str(path), str(src), f"::/{rel}")
    for rel in deleted:
        _run("mdel", "-i", str(path), f"::/{rel}")
    shutil.rmtree(staging, ignore_errors=True)
    return path


def ext4_image(path: Path, files: Mapping[str, bytes], size: int = 8 << 20,
               deleted: Sequence[str] = (), mtime: float | None = None,
               debugfs: Sequence[str] = ()) -> Path:
    """An ext4 file system made from a folder of `files` (`mkfs.ext4 -d`), then `deleted`
    removed with debugfs; `debugfs`: further debugfs requests (e.g. 'ln /a /a/loop')."""
    staging = path.with_name(path.name + ".files")
    shutil.rmtree(staging, ignore_errors=True)
    for rel, data in files.items():
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
    staging.mkdir(exist_ok=True)
    _blank(path, size)
    env = {"E2FSPROGS_FAKE_TIME": str(int(mtime))} if mtime is not None else {}
    _run("mkfs.ext4", "-q", "-F", "-d", str(staging), "-E", "root_owner=0:0", str(path), env=env)
    for rel in deleted:
        _run("debugfs", "-w", "-R", f'rm "/{rel}"', str(path), env=env)
    for request in debugfs:
        _run("debugfs", "-w", "-R", request, str(path), env=env)
    shutil.rmtree(staging, ignore_errors=True)
    return path


def ntfs_image(path: Path, files: Mapping[str, bytes], size: int = 8 << 20,
               deleted: Sequence[str] = ()) -> Path:
    """An NTFS file system with `files` at its root (ntfscp writes only into folders that
    exist, and no tool makes one without mounting), then `deleted` removed (`ntfs_delete`)."""
    _blank(path, size)
    _run("mkntfs", "-F", "-Q", "-q", str(path))
    staging = path.with_name(path.name + ".f")
    for rel, data in files.items():
        staging.write_bytes(data)
        _run("ntfscp", "-f", str(path), str(staging), rel)
    staging.unlink(missing_ok=True)
    for rel in deleted:
        inode = int(_run("ntfsinfo", "-F", rel, str(path)).split("Dumping Inode", 1)[1]
                    .split()[0])
        ntfs_delete(path, inode)
    return path


def _unfix(buf: bytearray, usa_offset: int, usa_count: int) -> None:
    usn = bytes(buf[usa_offset:usa_offset + 2])
    for i in range(1, usa_count):
        end = i * SECTOR
        if bytes(buf[end - 2:end]) != usn:
            raise ValueError("torn multi-sector record (fix-up mismatch)")
        buf[end - 2:end] = buf[usa_offset + 2 * i:usa_offset + 2 * i + 2]


def _fix(buf: bytearray, usa_offset: int, usa_count: int) -> None:
    usn = bytes(buf[usa_offset:usa_offset + 2])
    for i in range(1, usa_count):
        end = i * SECTOR
        buf[usa_offset + 2 * i:usa_offset + 2 * i + 2] = buf[end - 2:end]
        buf[end - 2:end] = usn


def ntfs_delete(path: Path, inode: int) -> None:
    """Delete MFT entry `inode` as NTFS does: in-use flag cleared, index entry removed."""
    with open(path, "r+b") as f:
        boot = f.read(SECTOR)
        bytes_per_sector = struct.unpack_from("<H", boot, 11)[0]
        cluster = bytes_per_sector * boot[13]
        mft = struct.unpack_from("<Q", boot, 0x30)[0] * cluster
        f.seek(mft + inode * 1024)
        record = bytearray(f.read(1024))
        seq = struct.unpack_from("<H", record, 0x10)[0]
        flags = struct.unpack_from("<H", record, 0x16)[0]
        struct.pack_into("<H", record, 0x16, flags & ~1)  # the in-use flag (not in a fix-up)
        f.seek(mft + inode * 1024)
        f.write(record)
        reference = struct.pack("<Q", inode | (seq << 48))
        end_of_image = f.seek(0, os.SEEK_END)
        pos = 0
        while pos < end_of_image:
            f.seek(pos)
            if f.read(4) == b"INDX":
                f.seek(pos)
                block = bytearray(f.read(4096))
                usa_offset, usa_count = struct.unpack_from("<HH", block, 4)
                _unfix(block, usa_offset, usa_count)
                node = 0x18
                first, used = struct.unpack_from("<II", block, node)
                at = node + first
                while at < node + used:
                    length = struct.unpack_from("<H", block, at + 8)[0]
                    if block[at:at + 8] == reference:
                        end = node + used
                        block[at:end - length] = block[at + length:end]
                        block[end - length:end] = bytes(length)
                        struct.pack_into("<I", block, node + 4, used - length)
                        _fix(block, usa_offset, usa_count)
                        f.seek(pos)
                        f.write(block)
                        return
                    if length == 0:
                        break
                    at += length
            pos += cluster
    raise ValueError(f"no index entry names MFT entry {inode}")


def partitioned_disk(path: Path, partitions: Sequence[tuple[Path, str]], label: str = "dos",
                     start: int = 2048, tail: int = 2048) -> list[int]:
    """A disk with `label` ("dos" for MBR, "gpt") holding each (partition image, type), the
    types in sfdisk's spelling ("7" NTFS, "c" FAT32 LBA, "83" Linux; for GPT a type GUID or
    sfdisk's alias "L", "uefi", ...). Returns each partition's byte offset."""
    sizes = [((p.stat().st_size + SECTOR - 1) // SECTOR) for p, _ in partitions]
    offsets, at = [], start
    for n in sizes:
        offsets.append(at)
        at += (n + 2047) // 2048 * 2048
    _blank(path, (at + tail) * SECTOR)
    script = f"label: {label}\n" + "".join(
        f"start={o}, size={n}, type={t}\n" for o, n, (_p, t) in zip(offsets, sizes, partitions))
    _run("sfdisk", "--no-reread", "--no-tell-kernel", "-q", str(path), stdin=script.encode())
    with open(path, "r+b") as disk:
        for o, (part, _t) in zip(offsets, partitions):
            disk.seek(o * SECTOR)
            with open(part, "rb") as src:
                shutil.copyfileobj(src, disk, 1 << 20)
    return [o * SECTOR for o in offsets]


def ewf_image(raw: Path, target: Path, segment_bytes: int | None = None,
              case_number: str = "CASE-1", examiner: str = "Examiner",
              evidence_number: str = "EXH-1", description: str = "test disk",
              notes: str = "built by triage.evidence.disk_samples") -> list[Path]:
    """E01 (E02, ... when `segment_bytes` is given) of `raw`; `target` without extension."""
    args = ["ewfacquire", "-u", "-q", "-t", str(target), "-c", "deflate:fast", "-f", "encase6",
            "-m", "fixed", "-M", "physical", "-d", "sha1", "-C", case_number, "-e", examiner,
            "-E", evidence_number, "-D", description, "-N", notes]
    if segment_bytes:
        args += ["-S", str(segment_bytes)]
    _run(*args, str(raw))
    return sorted(target.parent.glob(target.name + ".E[0-9A-Z][0-9A-Z]"))
