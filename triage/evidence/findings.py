"""What the evidence layer concludes about an item once its bytes are read, beyond what the media
handlers decode: does a source hold it (an archive to open), is data hidden after a picture, do
bytes of no known type hide under a picture's name. One call from the worker, for every item."""

from __future__ import annotations

from triage.evidence.base import Probe
from triage.evidence.filetypes import HEAD_BYTES, identify, promises_media
from triage.evidence.picture_end import appended_offset
from triage.evidence.registry import container_kind
from triage.records import FileResult


def note_findings(result: FileResult, data: bytes) -> None:
    """Set `container`, `appended_offset` and the status/reason they call for on `result`."""
    if result.sha256 is None or not data:
        return
    if result.detected_type == "unknown" and promises_media(result.extension):
        flag(result, "unrecognised", f"named .{result.extension} but the bytes are no known"
              " file type (encrypted, wiped or damaged?); not decoded")
        return
    result.container = container_kind(Probe(data[:HEAD_BYTES], result.detected_type or "unknown"))
    if result.container is not None or result.media_kind != "image":
        return
    found = appended_offset(data, result.detected_type or "")
    if found is None:
        return
    end, start = found
    head = data[start : start + HEAD_BYTES]
    after = identify(head)
    result.appended_offset = start
    result.container = container_kind(Probe(head, after.name))
    opened = "; opened as an archive" if result.container else ""
    flag(result, "hidden_data", f"{result.detected_type} picture ends at byte {end};"
          f" {len(data) - start} more bytes follow from byte {start} ({after.name}){opened}")


def flag(result: FileResult, status: str, reason: str) -> None:
    if result.status == "ok":
        result.status, result.reason = status, reason
    else:
        result.reason = f"{result.reason}; {reason}" if result.reason else reason
