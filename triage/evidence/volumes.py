"""The volumes of a disk image: its partitions (MBR, GPT, and the other volume systems The
Sleuth Kit reads), the encrypted ones among them, and unlocking those a library can open.

A partition is labelled `p1`, `p2`, ... in the order of the partition table (allocated entries
only: TSK's "unallocated" and table-metadata slots are not volumes). An image with no partition
table is one volume covering the whole image, labelled "" so its files sit directly under the
image (`card.img!/DCIM/a.jpg`).

Encryption is recognised by the volume's own signature, whatever the partition type says:
BitLocker (`-FVE-FS-` at byte 3), LUKS (`LUKS\\xba\\xbe` at 0), FileVault 2 / Core Storage (`CS`
at byte 88 of the volume header), an APFS container (`NXSB` at 32: APFS volumes may be encrypted,
and this TSK build does not read APFS through pytsk3). BitLocker, LUKS and FileVault are opened
with libyal's libbde / libluksde / libfvde when the investigator gives a key on the command line
(`--unlock p3=KEY`: a recovery password or a password; it travels in memory to the workers and is
never written to the workspace).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytsk3

from triage.evidence.image_io import OffsetReader, Reader, SliceFile

SECTOR = 512


@dataclass(frozen=True)
class Volume:
    label: str  # "p1", "p2", ... or "" for an image without a partition table
    offset: int  # bytes from the start of the image
    length: int
    description: str  # the partition type as the table names it
    scheme: str | None  # "dos" (MBR), "gpt", ... or None
    problem: str | None = None  # why the volume cannot be read as the table says


def volume_system(img: pytsk3.Img_Info, size: int, table: str | None = None
                  ) -> tuple[str | None, list[Volume], str | None]:
    """(scheme, volumes, problem). No partition table: one volume over the whole image.

    `table`: the partition table the image's first sectors show by signature ("mbr", "gpt");
    when TSK cannot read it, the table is damaged, which is said, and the image is then read as
    one volume (a file system at its start is still found)."""
    try:
        vs = pytsk3.Volume_Info(img)
    except (OSError, IOError, RuntimeError) as exc:
        whole = [Volume("", 0, size, "whole image", None)]
        if table in ("mbr", "gpt"):
            return None, whole, (f"{table.upper()} partition table damaged, not readable by The"
                                 f" Sleuth Kit ({' '.join(str(exc).split())[:200]}); the image"
                                 " was searched for a file system at its start instead")
        return None, whole, None
    scheme = _scheme_name(vs)
    block = int(vs.info.block_size) or SECTOR
    volumes: list[Volume] = []
    for part in vs:
        if int(part.flags) & (pytsk3.TSK_VS_PART_FLAG_META | pytsk3.TSK_VS_PART_FLAG_UNALLOC):
            continue
        offset = int(part.start) * block
        length = int(part.len) * block
        label = f"p{len(volumes) + 1}"
        desc = part.desc.decode("utf-8", "replace") if isinstance(part.desc, bytes) \
            else str(part.desc)
        problem = None
        if offset >= size:
            problem = (f"partition starts at byte {offset}, beyond the end of the image"
                       f" ({size} bytes): truncated image or damaged partition table")
        elif offset + length > size:
            problem = (f"partition runs to byte {offset + length}, past the end of the image"
                       f" ({size} bytes): truncated image or damaged partition table; read as far"
                       " as the image goes")
            length = size - offset
        volumes.append(Volume(label, offset, length, desc, scheme, problem))
    if not volumes:
        return scheme, [], f"{scheme} partition table lists no partitions"
    return scheme, volumes, None


def _scheme_name(vs: pytsk3.Volume_Info) -> str:
    names = {pytsk3.TSK_VS_TYPE_DOS: "dos", pytsk3.TSK_VS_TYPE_GPT: "gpt",
             pytsk3.TSK_VS_TYPE_MAC: "mac", pytsk3.TSK_VS_TYPE_BSD: "bsd",
             pytsk3.TSK_VS_TYPE_SUN: "sun"}
    return names.get(vs.info.vstype, str(vs.info.vstype))


# -- encryption ------------------------------------------------------------------------------

ENCRYPTIONS = {
    "bitlocker": "BitLocker",
    "luks": "LUKS",
    "filevault": "FileVault 2 (Core Storage)",
    "apfs": "APFS container",
}


def encryption_of(head: bytes) -> str | None:
    """Which encrypted (or not-readable-here) volume kind `head` (the volume's first 4 KiB)
    shows, by signature."""
    if head[3:11] == b"-FVE-FS-":
        return "bitlocker"
    if head[:6] == b"LUKS\xba\xbe":
        return "luks"
    if head[88:90] == b"CS" and head[90:92] in (b"\x01\x00",):
        return "filevault"
    if head[32:36] == b"NXSB":
        return "apfs"
    return None


class Locked(Exception):
    """The volume is encrypted and was not (or could not be) unlocked: the reason says which."""


class _VolumeReader(Reader):
    """An unlocked volume (libbde / libluksde / libfvde object) as a reader."""

    def __init__(self, volume: object, kind: str, segments: list[str]) -> None:
        self.volume = volume
        self.kind = kind
        self.size = int(volume.get_size())  # type: ignore[attr-defined]
        self.segments = segments

    def read(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        if not n:
            return b""
        return bytes(self.volume.read_buffer_at_offset(n, offset))  # type: ignore[attr-defined]

    def close(self) -> None:
        try:
            self.volume.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001
            pass


def unlock(reader: Reader, vol: Volume, kind: str, key: str | None) -> Reader:
    """A reader of the decrypted volume, or Locked with the reason."""
    name = ENCRYPTIONS[kind]
    where = f"partition {vol.label}" if vol.label else "the image"
    if kind == "apfs":
        raise Locked(f"{name}: this triage build reads no APFS (The Sleuth Kit's pytsk3 binding"
                     " has no APFS pool support); export the volume's files with an APFS-capable"
                     " tool")
    if key is None:
        raise Locked(f"{name} encrypted volume; not read. Give the recovery key or password with"
                     f" --unlock {vol.label or 'image'}=KEY to read it")
    module_name = {"bitlocker": "pybde", "luks": "pyluksde", "filevault": "pyfvde"}[kind]
    try:
        module = __import__(module_name)
    except ImportError as exc:
        raise Locked(f"{name} encrypted volume; the library to unlock it ({module_name}) is not"
                     " installed") from exc
    volume = module.volume()
    if kind == "bitlocker" and _looks_like_recovery_password(key):
        volume.set_recovery_password(key)
    elif kind == "filevault" and _looks_like_recovery_password(key, groups=6, width=4):
        volume.set_recovery_password(key)
    else:
        volume.set_password(key)
    try:
        volume.open_file_object(SliceFile(reader, vol.offset, vol.length))
    except (OSError, IOError) as exc:
        raise Locked(f"{name} encrypted volume on {where}: cannot be opened with the key given"
                     f" ({str(exc).split('. ')[-1]})") from exc
    try:
        locked = bool(volume.is_locked())
    except AttributeError:
        locked = False
    if locked:
        volume.close()
        raise Locked(f"{name} encrypted volume on {where}: the key given does not unlock it")
    return _VolumeReader(volume, kind, reader.segments)


def _looks_like_recovery_password(key: str, groups: int = 8, width: int = 6) -> bool:
    parts = key.strip().split("-")
    return len(parts) == groups and all(len(p) == width and p.isalnum() for p in parts)


def plain(reader: Reader, vol: Volume) -> Reader:
    return OffsetReader(reader, vol.offset, vol.length)
