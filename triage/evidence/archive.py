"""What the archive sources (zip, tar) share: member names that try to escape, reading a member
within the limits, archive timestamps.

Archives are read as streams, never extracted: a member's path is only ever a label
(`dump.zip!/DCIM/a.jpg`), so "zip-slip" names cannot write anywhere; they are flagged.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import BinaryIO

from triage.evidence.base import Entry, LimitExceeded, Limits, Ref, _final, oversize_result


def unsafe_member_name(name: str) -> str | None:
    """Why an archive member's name would escape the extraction root, or None if it is safe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "'..' climbs out of the archive root"
    return None


def unsafe_override(name: str) -> tuple[str, str] | None:
    """The status a member with an escaping name ends with (it is still read and hashed)."""
    unsafe = unsafe_member_name(name)
    return ("unsafe_path", f"archive member name escapes the archive root ({unsafe});"
            " recorded, never extracted") if unsafe else None


def claimed_size_reason(size: int, limits: Limits) -> str | None:
    """A member whose header alone claims more than the member limit is not read at all."""
    if size > limits.max_member_bytes:
        return f"member claims {size} bytes, over the {limits.max_member_bytes} byte limit; not read"
    return None


def read_member(path: str, member: BinaryIO, size: int, mtime: float | None, ref: Ref | None,
                override: tuple[str, str] | None, depth: int, limits: Limits) -> Entry:
    """A member read now, by the source (its bytes are only reachable in stream order): held in
    memory up to the in-memory limit, hashed as a stream beyond it. Limits raised while reading
    (a bomb) end the member with that status."""
    try:
        if size > limits.in_memory_bytes:
            result = oversize_result(path, member, limits)
            result.mtime = mtime
            if override and result.status == "ok":
                result.status, result.reason = override
            e = Entry(path=path, final=result, ref=ref, depth=depth)
            return e
        data = member.read(size + 1)
    except LimitExceeded as exc:
        return _final(path, exc.status, str(exc), mtime=mtime, size=size)
    return Entry(path=path, size=len(data), mtime=mtime, data=data, override=override,
                 depth=depth, ref=ref)


def dos_time(date_time: tuple[int, int, int, int, int, int]) -> float | None:
    import datetime as dt

    try:
        return dt.datetime(*date_time).timestamp()
    except (ValueError, OverflowError):
        return None
