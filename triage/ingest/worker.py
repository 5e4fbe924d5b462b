"""What a worker does with one file: read it once, hash it, identify it, and hand it to the
media handler for its kind (`triage.media`: pictures today) if there is one.

Runs in worker processes (or in-process with `workers=0`), so it holds no database handle: it
returns a FileResult and writes the handler's derivatives into the workspace's derivative folder
(content-addressed by SHA-256 and frame, written atomically so a kill leaves no half file).
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from triage.evidence.filetypes import HEAD_BYTES, extension_mismatch, identify
from triage.signals.crypto import digest_bytes
from triage.media import MediaInput, MediaOutcome, handler_for, setup_handlers
from triage.records import CLIP_FRAME, SHEET_FRAME, Derivative, FileResult
from triage.evidence.base import (DamagedData, Entry, LimitExceeded, Limits, NotRegularFile,
                                  oversize_result)
from triage.evidence.findings import note_findings
from triage.evidence.registry import open_ref
from triage.evidence.streams import read_upto


@dataclass(frozen=True)
class WorkerConfig:
    limits: Limits
    derivative_dir: str | None  # None: do not keep derivatives (benchmarks of hashing alone)
    # Fault injection for the crash-isolation test: a worker handed a path ending with this
    # dies as a segfaulting native decoder would. Set only from TRIAGE_FAULT_CRASH_ON.
    crash_on: str | None = None


_config: WorkerConfig | None = None
# What this worker's handlers made of contents it already examined (derivatives as saved
# names): a duplicate is not decoded again.
_decoded: "OrderedDict[str, tuple[MediaOutcome, list[Derivative]]]" = OrderedDict()
_DECODED_MAX = 20_000


def init_worker(config: WorkerConfig, ignore_sigint: bool = True) -> None:
    global _config
    _config = config
    _decoded.clear()
    setup_handlers()
    if ignore_sigint:
        # Ctrl-C is the coordinator's to handle: it records what finished, then stops us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_entry(entry: Entry) -> FileResult:
    assert _config is not None, "init_worker() first"
    limits = _config.limits
    if _config.crash_on and entry.path.endswith(_config.crash_on):
        os._exit(70)
    if entry.data is not None:
        data = entry.data
    else:
        data_or_result = _read_entry(entry, limits)
        if isinstance(data_or_result, FileResult):
            return data_or_result
        data = data_or_result
    result = describe_bytes(entry, data)
    if entry.override and result.status == "ok":
        result.status, result.reason = entry.override
    note_findings(result, data)
    return result


def describe_bytes(entry: Entry, data: bytes) -> FileResult:
    assert _config is not None
    ftype = identify(data[:HEAD_BYTES])
    digests = digest_bytes(data)
    result = FileResult(
        path=entry.path, extension=entry.extension, size=len(data), status="ok",
        mtime=entry.mtime, atime=entry.atime, ctime=entry.ctime,
        detected_type=ftype.name, media_kind=ftype.kind,
        ext_mismatch=extension_mismatch(ftype, entry.extension),
        md5=digests.md5, sha1=digests.sha1, sha256=digests.sha256,
        signals=digests.signal_values(),
    )
    if not data:
        result.status, result.reason = "empty", "zero-byte file"
        return result
    return examine_media(entry, result, MediaInput(ftype, len(data), data))


def examine_media(entry: Entry, result: FileResult, media: MediaInput) -> FileResult:
    """Hand the content to the media handler for its kind (if any) and add what it found to
    `result` (hashed already); a content this worker examined before is not decoded again."""
    assert _config is not None and result.sha256 is not None
    handler = handler_for(media.ftype.kind)
    if handler is None:
        return result
    cached = _decoded.get(result.sha256)
    if cached is None:
        outcome = handler[1].examine(media, _config.limits,
                                     want_derivatives=_config.derivative_dir is not None)
        saved = [Derivative(d.frame, _save_derivative(result.sha256, d.frame, d.jpeg),
                            d.seconds) for d in outcome.derivatives]
        outcome.derivatives = []  # keep only the names in the cache
        cached = _decoded[result.sha256] = (outcome, saved)
        if len(_decoded) > _DECODED_MAX:
            _decoded.popitem(last=False)
    outcome, saved = cached
    result.status, result.reason, result.media = outcome.status, outcome.reason, outcome.info
    result.signals += outcome.signals
    result.derivatives = list(saved)
    return result


def derivative_name(sha256: str, frame: int = 0) -> str:
    """Frame 0 (the representative) keeps the name review pages and reports always used; a
    video's contact sheet and playback clip are named for what they are."""
    if frame == SHEET_FRAME:
        return f"{sha256[:2]}/{sha256}-sheet.jpg"
    if frame == CLIP_FRAME:
        return f"{sha256[:2]}/{sha256}-clip.webm"
    suffix = "" if frame == 0 else f"-f{frame}"
    return f"{sha256[:2]}/{sha256}{suffix}.jpg"


def _save_derivative(sha256: str, frame: int, jpeg: bytes) -> str:
    assert _config is not None and _config.derivative_dir is not None
    name = derivative_name(sha256, frame)
    target = Path(_config.derivative_dir) / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(jpeg)
            os.replace(tmp, target)
        except BaseException:  # a full disk: no half file is left behind
            os.unlink(tmp)
            raise
    return name


def _read_entry(entry: Entry, limits: Limits) -> bytes | FileResult:
    """The entry's bytes, opened from its ref (in this process), or a final result: too large
    to hold (hashed as a stream), gone, not a regular file any more, over a limit."""
    assert entry.ref is not None, f"{entry.path}: an entry needs data or a ref"

    def final(status: str, reason: str) -> FileResult:
        return FileResult(path=entry.path, extension=entry.extension, size=entry.size,
                          status=status, reason=reason, mtime=entry.mtime, atime=entry.atime,
                          ctime=entry.ctime)

    try:
        with open_ref(entry.ref, limits) as stream:
            data = read_upto(stream, limits.in_memory_bytes, entry.size)
            if len(data) <= limits.in_memory_bytes:
                return data
            result = oversize_result(entry.path, stream, limits, read=data,
                                     streamed=_streams(identify(data[:HEAD_BYTES]).kind))
            ftype = identify(data[:HEAD_BYTES])
            del data
        result.mtime, result.atime, result.ctime = entry.mtime, entry.atime, entry.ctime
        if result.status == "ok" and result.sha256 is not None and _streams(ftype.kind):
            # Too large to hold, but its handler reads a stream: examined from the ref.
            ref = entry.ref
            result = examine_media(entry, result, MediaInput(
                ftype, int(result.size or 0), opener=lambda: open_ref(ref, limits)))
        return result
    except NotRegularFile as exc:
        return final("special", exc.strerror or str(exc))
    except DamagedData as exc:
        return final("corrupt", str(exc))
    except LimitExceeded as exc:
        return final(exc.status, str(exc))
    except OSError as exc:
        return final("unreadable", f"cannot read: {exc.strerror or exc}")


def _streams(kind: str) -> bool:
    """Whether the media handler for file kind `kind` examines content through a stream."""
    handler = handler_for(kind)
    return handler is not None and bool(handler[1].streams)


__all__ = ["WorkerConfig", "init_worker", "process_entry", "derivative_name", "examine_media"]
