"""Identify a file by its first bytes, never by its name, and flag names that lie.

A picture renamed to `.dat` or `.dll` is itself an investigative finding, so the detected type
and the extension are both recorded and compared. Detection is delegated to the `filetype`
package (magic-number tables for ~80 formats); ISO-BMFF brands are checked here first because
phones write HEIF variants (`heix`, `mif1` without `heic`) that the package does not all know.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

HEAD_BYTES = 8192  # enough for every signature filetype checks (tar's is at offset 257)

# Pillow can decode these (HEIC/HEIF/AVIF through pillow-heif).
DECODABLE_IMAGES = frozenset({"jpeg", "png", "gif", "bmp", "tiff", "webp", "heic", "heif", "avif"})

# Detected type -> extensions that honestly name it.
_EXTENSIONS: dict[str, frozenset[str]] = {
    "jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif", "jfi", "jif"}),
    "png": frozenset({"png", "apng"}),
    "gif": frozenset({"gif"}),
    "bmp": frozenset({"bmp", "dib"}),
    "tiff": frozenset({"tif", "tiff", "dng", "nef", "arw", "cr2"}),
    "webp": frozenset({"webp"}),
    "heic": frozenset({"heic", "heif", "hif"}),
    "heif": frozenset({"heic", "heif", "hif"}),
    "avif": frozenset({"avif"}),
    "mp4": frozenset({"mp4", "m4v", "m4a", "3gp", "mov"}),
    "mov": frozenset({"mov", "qt", "mp4"}),
    "3gp": frozenset({"3gp", "3g2", "mp4"}),
    "zip": frozenset({"zip", "jar", "apk", "docx", "xlsx", "pptx", "odt", "ods", "epub", "ipa"}),
    "gzip": frozenset({"gz", "tgz"}),
    "tar": frozenset({"tar"}),
    "xz": frozenset({"xz", "txz"}),
}

# filetype's extension name -> our canonical type name (where they differ).
_CANONICAL = {"jpg": "jpeg", "tif": "tiff", "gz": "gzip", "cr2": "tiff", "m4v": "mp4",
              "apng": "png"}  # an animated PNG is a PNG (Pillow decodes both)

_KIND_BY_MIME_PREFIX = (("image/", "image"), ("video/", "video"), ("audio/", "audio"))
_ARCHIVES = frozenset({"zip", "tar", "gzip", "rar", "7z", "bz2", "xz", "zstd", "lz", "br", "ar", "cab"})
_HEIF_BRANDS = {"heic": "heic", "heix": "heic", "heim": "heic", "heis": "heic", "hevc": "heic",
                "hevx": "heic", "mif1": "heif", "msf1": "heif", "avif": "avif", "avis": "avif"}
_VIDEO_BRANDS = {"qt  ": "mov"}


@dataclass(frozen=True)
class FileType:
    name: str  # canonical short name: jpeg, png, heic, mp4, zip, ... or "unknown"
    mime: str
    kind: str  # image | video | audio | archive | document | executable | other | unknown

    @property
    def decodable_image(self) -> bool:
        return self.name in DECODABLE_IMAGES


UNKNOWN = FileType("unknown", "application/octet-stream", "unknown")
EMPTY = FileType("empty", "application/x-empty", "empty")


def identify(head: bytes) -> FileType:
    if not head:
        return EMPTY
    iso = _iso_bmff(head)
    if iso is not None:
        return iso
    guess = filetype.guess(head)
    if guess is None:
        return UNKNOWN
    name = _CANONICAL.get(guess.extension, guess.extension)
    return FileType(name, guess.mime, _kind(name, guess.mime))


def _media_extensions() -> frozenset[str]:
    named = {ext for name, exts in _EXTENSIONS.items()
             if name in DECODABLE_IMAGES or name in ("mp4", "mov", "3gp") for ext in exts}
    named |= {m.extension for m in filetype.image_matchers + filetype.video_matchers}
    return frozenset(named - {"dwg", "xcf", "dcm", "psd", "m4a"})  # not pictures or videos


# Extensions that promise a picture or a video: bytes of no known type under such a name are
# encrypted, wiped or damaged, which is itself a finding.
MEDIA_EXTENSIONS = _media_extensions()


def promises_media(extension: str) -> bool:
    return extension.lower() in MEDIA_EXTENSIONS


def extension_mismatch(detected: FileType, extension: str) -> bool | None:
    """True when the name hides what the bytes are (a renamed picture; or a name that promises a
    picture or video over bytes of no known type); None when we cannot say (unknown type under a
    name that promises nothing in particular)."""
    if detected.kind == "empty":
        return None
    if detected.kind == "unknown":
        return True if promises_media(extension) else None
    allowed = _EXTENSIONS.get(detected.name, frozenset({detected.name}))
    return extension.lower() not in allowed


def _kind(name: str, mime: str) -> str:
    if name in _ARCHIVES:
        return "archive"
    for prefix, kind in _KIND_BY_MIME_PREFIX:
        if mime.startswith(prefix):
            return kind
    if name in ("pdf", "doc", "docx", "rtf", "xls", "xlsx", "ppt", "pptx", "odt", "epub"):
        return "document"
    if name in ("exe", "elf", "dex", "class", "dll", "so"):
        return "executable"
    return "other"


def _iso_bmff(head: bytes) -> FileType | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    brands = [head[8:12]]
    end = min(max(size, 16), len(head))
    brands += [head[i : i + 4] for i in range(16, end - 3, 4)]
    names = [b.decode("latin-1") for b in brands]
    major = names[0]
    found = {_HEIF_BRANDS[b] for b in names if b in _HEIF_BRANDS}
    for n in ("avif", "heic", "heif"):  # most specific first: mif1 alone only says "HEIF"
        if n in found:
            return FileType(n, f"image/{n}", "image")
    if major in _VIDEO_BRANDS:
        return FileType("mov", "video/quicktime", "video")
    if major.startswith("3g"):
        return FileType("3gp", "video/3gpp", "video")
    if major in ("M4A ", "M4B "):
        return FileType("m4a", "audio/mp4", "audio")
    return FileType("mp4", "video/mp4", "video")
