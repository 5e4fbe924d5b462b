"""Videos: probe, sample, hash (vPDQ), small copies, all within a time and memory limit.

What one examination yields (`triage.media.base.MediaOutcome`):
- the probe: duration, codec, frame size, rotation, frame rate, audio present (MediaInfo.extra);
- the vPDQ records of the kept frames as `pdq` signal values (frame number, quality, time):
  keyframes and about one frame a second (`[video] sample_seconds`), a frame within
  `prune_distance` bits of the last kept one dropped (vPDQ's pruning), at most `max_kept_frames`
  kept (a longer video is sampled more sparsely so the whole of it is covered, and says so);
- a small upright JPEG of each kept frame (the classifier and the timeline read them), a contact
  sheet of them (the representative the grid shows, blurred) and a small clip of the sampled
  frames at their own times (WebM, no audio track: what "play" shows, never the evidence).

Why frames are hashed at full size from the Y plane: see `triage.signals.pdq_luma` (Meta's vPDQ
hashes whole frames; a resize first moves the hash past the conformance bound).

Why not every frame is decoded: decoding is most of the cost (1080p H.264 ~100 frames/s on a
loaded 2-core machine). Packets are read a GOP (keyframe to keyframe) at a time without
decoding; a GOP is decoded only as far as the last frame it must give, and not at all when the
next keyframe comes first. Phone recordings have a keyframe about every second, so their
sampling costs one keyframe decode per second of video.

Why in a child process: a hostile or damaged file can make a native decoder hang or take all
memory. The examination runs in a forked child with an address-space limit; it streams what it
finds (probe, each frame, the sheet) back through a pipe, so when the per-file time limit
(`Limits.media_seconds`: 80 % of `[limits] file_seconds`, before the worker's own limit would
record the file as `timeout`) kills it, what it had found is kept and the file says where it
stopped. A crash is an outcome too, never a lost file.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import re
import resource
import select
import signal
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from triage.evidence.base import Limits
from triage.media.base import DerivativeImage, MediaInput, MediaOutcome
from triage.records import CLIP_FRAME, SHEET_FRAME, MediaInfo, SignalValue
from triage.signals.pdq_luma import pdq_from_luma, pdq_from_rgb
from triage.signals.vpdq import Feature, hamming, timestamp

FRAME_SIZE = 320  # max side of each kept frame's small copy (the classifier reads 224-256)
SHEET_TILE = 160  # max side of a contact-sheet tile
SHEET_COLUMNS = 4
SHEET_TILES = 16  # at most this many frames on the sheet, evenly chosen
CLIP_SIZE = 240  # max side of the playback clip
MAX_GOP_PACKETS = 1500  # read ahead at most this many packets before decoding anyway
_YUV8 = ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv411p",
         "yuv440p", "yuvj440p", "nv12", "nv21", "nv16", "gray")


@dataclass(frozen=True)
class VideoSettings:
    """How a video is sampled (`config/ingest.toml [video]`, carried in `Limits.video`)."""

    sample_seconds: float = 1.0
    max_kept_frames: int = 600
    prune_distance: int = 4
    clip: bool = True
    # A sampled frame below this PDQ quality (dark, flat) is useless for matching: the next
    # frames are sampled too (a fifth of the interval apart) until one reaches it, within the
    # same interval (PDQ's quality floor, config/matching.toml [pdq] min_quality).
    min_quality: int = 50

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "VideoSettings":
        d = cls()
        return cls(float(cfg.get("sample_seconds", d.sample_seconds)),
                   int(cfg.get("max_kept_frames", d.max_kept_frames)),
                   int(cfg.get("prune_distance", d.prune_distance)),
                   bool(cfg.get("clip", d.clip)), int(cfg.get("min_quality", d.min_quality)))


class VideoHandler:
    """Videos (MP4/MOV/3GP/M4V, MKV/WebM, AVI, and what FFmpeg opens): probe, vPDQ, copies."""

    name = "video"
    kinds = frozenset({"video"})
    streams = True  # reads through MediaInput.open(): content beyond memory is fine
    description = ("videos: probe, keyframes + ~1 frame/s PDQ (vPDQ records), contact sheet,"
                   " per-frame copies, playback clip")

    def setup(self) -> None:
        import av

        av.logging.set_level(av.logging.PANIC)  # damaged input is an outcome, not console noise

    def examine(self, media: MediaInput, limits: Limits,
                want_derivatives: bool) -> MediaOutcome:
        settings = limits.video if isinstance(limits.video, VideoSettings) else VideoSettings()
        return run_limited(lambda emit: examine_video(media, limits, settings,
                                                      want_derivatives, emit),
                           limits.media_seconds, limits.max_decode_bytes)


VIDEO = VideoHandler()


# -- the isolated run -----------------------------------------------------------------------
Emit = Callable[[tuple[Any, ...]], None]


@dataclass
class _Collected:
    """What the child reported so far (rebuilt into a MediaOutcome by the parent)."""

    info: MediaInfo | None = None
    signals: list[SignalValue] = field(default_factory=list)
    derivatives: list[DerivativeImage] = field(default_factory=list)
    done: tuple[str, str | None] | None = None
    last_seconds: float | None = None

    def take(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "info":
            self.info = msg[1]
        elif kind == "frame":
            feature: Feature = msg[1]
            self.signals.append(SignalValue("pdq", feature.pdq, feature.quality, feature.frame,
                                             feature.seconds))
            self.last_seconds = feature.seconds
            if msg[2] is not None:
                self.derivatives.append(DerivativeImage(feature.frame, msg[2], feature.seconds))
        elif kind == "derivative":
            self.derivatives.append(msg[1])
        elif kind == "extra" and self.info is not None:
            self.info.extra.update(msg[1])
        elif kind == "done":
            self.done = (msg[1], msg[2])

    def outcome(self, status: str, reason: str | None) -> MediaOutcome:
        if self.info is not None:
            self.info.extra["frames_hashed"] = len(self.signals)
        return MediaOutcome(status, reason, self.info, self.signals, self.derivatives)


def run_limited(work: Callable[[Emit], None], seconds: float, memory_bytes: int
                ) -> MediaOutcome:
    """Run `work(emit)` in a forked child, at most `seconds`, its address space capped at what
    it has plus `memory_bytes` (and a margin for the decoder's threads); what it emitted before
    a timeout or crash is kept. Without fork (not POSIX), it runs here, unlimited."""
    got = _Collected()
    if not hasattr(os, "fork"):
        try:
            work(got.take)
        except Exception as exc:  # noqa: BLE001 - a handler never raises for bad input
            return got.outcome("corrupt", f"video does not decode: {_short(exc)}")
        status, reason = got.done or ("corrupt", "the decoder stopped without a result")
        return got.outcome(status, reason)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _limit_memory(memory_bytes)
            out = os.fdopen(write_fd, "wb", buffering=0)

            def emit(msg: tuple[Any, ...]) -> None:
                blob = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
                out.write(struct.pack("<I", len(blob)) + blob)

            try:
                work(emit)
            except MemoryError:
                emit(("done", "too_large", "decoding needed more memory than the"
                      f" {memory_bytes >> 20} MiB decode limit; stopped"))
            except Exception as exc:  # noqa: BLE001
                emit(("done", "corrupt", f"video does not decode: {_short(exc)}"))
            out.flush()
        except BaseException:  # noqa: BLE001 - the child must never run the parent's code
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    deadline = time.monotonic() + seconds
    buf = b""
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 4:
                n = struct.unpack("<I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                got.take(pickle.loads(buf[4:4 + n]))
                buf = buf[4 + n:]
    finally:
        os.close(read_fd)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, wstatus = os.waitpid(pid, 0)
    where = (f"; frames up to {timestamp(got.last_seconds)} were hashed"
             if got.signals else "; no frame was hashed")
    if timed_out:
        status = "partial" if got.signals else "corrupt"
        return got.outcome(status, f"the decoder did not finish within {seconds:g} s (80 % of the"
                           f" per-file time limit, [limits] file_seconds){where}")
    if got.done is None:
        sig = os.WTERMSIG(wstatus) if os.WIFSIGNALED(wstatus) else None
        status = "partial" if got.signals else "corrupt"
        how = f"signal {sig}" if sig else f"exit {os.WEXITSTATUS(wstatus)}"
        return got.outcome(status, f"the decoder crashed ({how}){where}")
    return got.outcome(*got.done)


def _limit_memory(extra: int) -> None:
    """Cap the child's address space at its current size + `extra` + 512 MiB (decoder threads'
    stacks and arenas), so a decode that would take all memory fails with MemoryError."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        now = pages * os.sysconf("SC_PAGE_SIZE")
        limit = now + extra + (512 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass  # no /proc (not Linux): the time limit still holds


# -- the examination (in the child) -----------------------------------------------------------
def examine_video(media: MediaInput, limits: Limits, settings: VideoSettings,
                  want_derivatives: bool, emit: Emit) -> None:
    """Probe, sample and hash one video, reporting through `emit`; ends with ("done", ...)."""
    import av

    # FFmpeg's own messages while probing name what it refused (a frame size it will not
    # allocate), which its API then only reports as 0x0.
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logs:
            container = av.open(media.open(), mode="r", metadata_errors="ignore")
    except Exception as exc:  # noqa: BLE001 - truncated, damaged, not a container after all
        emit(("done", "corrupt", f"cannot open the {media.ftype.name} container:"
              f" {_short(exc)}"))
        return
    finally:
        av.logging.set_level(av.logging.PANIC)
    with container:
        if not container.streams.video:
            info = MediaInfo("video", 0, 0, 0, extra=_probe_extra(container, None, 0.0))
            emit(("info", info))
            if not container.streams:
                emit(("done", "corrupt", "the container holds no stream at all (zero"
                      " duration): nothing to examine"))
                return
            kinds = ", ".join(sorted({s.type for s in container.streams}))
            emit(("done", "ok", f"no video stream (streams: {kinds}); nothing to hash"))
            return
        stream = container.streams.video[0]
        cc = stream.codec_context
        if cc is None:
            emit(("info", MediaInfo("video", 0, 0, 0, extra=_probe_extra(container, None,
                                                                          0.0))))
            emit(("done", "unsupported", "the video stream's codec is not known to this FFmpeg"
                  " build (no decoder); hashed, not decoded"))
            return
        width = int(getattr(stream, "width", 0) or cc.width or 0)
        height = int(getattr(stream, "height", 0) or cc.height or 0)
        duration = _duration(container, stream)
        extra = _probe_extra(container, stream, duration)
        info = MediaInfo("video", width, height, _frame_count(stream, duration), extra=extra)
        emit(("info", info))
        if width <= 0 or height <= 0:
            refused = next((m for _, _, m in logs if "Picture size" in m), None)
            size = re.search(r"(\d+)x(\d+)", refused or "")
            if size:
                w, h = int(size.group(1)), int(size.group(2))
                emit(("done", "too_large",
                      f"header declares {w}x{h} = {w * h / 1e6:.0f} Mpx frames, beyond what the"
                      " decoder allocates (possible decompression bomb); not decoded"))
            else:
                emit(("done", "corrupt", f"the video stream declares {width}x{height} pixels"))
            return
        if width * height > limits.max_pixels:
            emit(("done", "too_large",
                  f"header declares {width}x{height} = {width * height / 1e6:.0f} Mpx frames,"
                  f" over the {limits.max_pixels / 1e6:.0f} Mpx limit (possible decompression"
                  " bomb); not decoded"))
            return
        if stream.codec_context.codec is None or not _has_decoder(stream):
            emit(("done", "unsupported", f"no decoder for the video codec"
                  f" {extra.get('codec') or 'unknown'} in this FFmpeg build; hashed, not"
                  " decoded"))
            return
        _Sampler(container, stream, limits, settings, want_derivatives, duration, emit).run()


def _has_decoder(stream: Any) -> bool:
    try:
        return bool(stream.codec_context.codec.is_decoder)
    except Exception:  # noqa: BLE001
        return False


def _duration(container: Any, stream: Any) -> float:
    """Seconds, from the stream's own duration, else the container's (0 if neither says)."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration) / 1e6
    return 0.0


def _frame_count(stream: Any, duration: float) -> int:
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    return int(round(duration * float(rate))) if rate and duration else 0


def _probe_extra(container: Any, stream: Any, duration: float) -> dict[str, Any]:
    extra: dict[str, Any] = {"container": container.format.name,
                             "audio": bool(container.streams.audio), "duration": round(duration, 3)}
    if stream is None:
        return extra
    cc = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate
    codec = cc.codec.name if cc.codec is not None else None
    if codec is None:
        tag = cc.codec_tag if isinstance(cc.codec_tag, str) else None
        codec = tag.strip() or None if tag else None
    extra |= {"codec": codec, "fps": round(float(rate), 3) if rate else None,
              "rotation": _rotation(stream), "pixel_format": cc.format.name if cc.format else None}
    return extra


def _rotation(stream: Any) -> int:
    """Clockwise degrees to turn a stored frame to show it upright (display matrix / `rotate`)."""
    rotate = (stream.metadata or {}).get("rotate")
    if rotate:
        try:
            return int(rotate) % 360
        except ValueError:
            return 0
    return 0


class _Sampler:
    """Walks the packets GOP by GOP, decodes what the sampling needs, hashes, emits."""

    def __init__(self, container: Any, stream: Any, limits: Limits, settings: VideoSettings,
                 want_derivatives: bool, duration: float, emit: Emit) -> None:
        self.container, self.stream, self.limits, self.emit = container, stream, limits, emit
        self.settings, self.want_derivatives, self.duration = settings, want_derivatives, duration
        self.tb = stream.time_base or Fraction(1, 1000)
        self.start = stream.start_time if stream.start_time is not None else None
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else 0.0
        interval = max(0.05, settings.sample_seconds)
        self.widened = bool(duration and settings.max_kept_frames > 0
                            and duration / interval > settings.max_kept_frames)
        self.interval = duration / settings.max_kept_frames if self.widened else interval
        self.last_sample: float | None = None  # time of the last sampled (hashed) frame
        self.last_kept: str | None = None
        self.retry_from: float | None = None  # a low-quality sample: look again until then
        self.last_any = -math.inf  # time of the last sample, regular or a retry
        self.kept: list[tuple[Feature, Image.Image]] = []
        self.frames_seen: set[int] = set()
        self.decode_errors = 0
        self.packets = 0
        self.capped_at: float | None = None
        self.rotation = _rotation(stream)  # the header's tag; a display matrix wins
        self.rotation_seen = False
        self.key_priority = True
        cc = stream.codec_context
        # One decoding thread: the walk decodes a keyframe or a short run of frames per GOP and
        # drains the decoder after each, where frame threads only add latency (measured at
        # 1080p: 30 ms a keyframe with two threads, ~15 with one); the ingest runs one worker
        # per core anyway.
        cc.thread_type = "SLICE"
        cc.thread_count = 1

    # -- time ---------------------------------------------------------------------------------
    def _t(self, pts: int | None) -> float | None:
        if pts is None:
            return None
        base = self.start or 0
        return float((pts - base) * self.tb)

    # -- the walk -----------------------------------------------------------------------------
    def run(self) -> None:
        self.emit(("extra", {"sample_seconds": round(self.interval, 3)}))
        gop: list[Any] = []
        status, reason = "ok", None
        try:
            for packet in self.container.demux(self.stream):
                if packet.size == 0:
                    continue
                self.packets += 1
                if self.start is None and packet.pts is not None:
                    self.start = packet.pts
                if packet.is_keyframe and gop:
                    self._gop(gop, self._t(_pts(packet)))
                    gop = []
                    if self.capped_at is not None:
                        break
                gop.append(packet)
                if len(gop) >= MAX_GOP_PACKETS:
                    self._gop(gop, None, more=True)
                    gop = []
                    if self.capped_at is not None:
                        break
            else:
                if gop:
                    self._gop(gop, None)
        except _Stop as stop:
            status, reason = stop.status, stop.reason
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - a container damaged mid-way
            status, reason = "corrupt", f"the container is damaged: {_short(exc)}"
        self._finish(status, reason)

    def _gop(self, packets: list[Any], next_key: float | None, more: bool = False) -> None:
        """Decode as much of this GOP as the sampling needs (nothing, if the next keyframe
        comes before a sample is due). `next_key` None: the GOP runs to the end (or `more`:
        it continues past this buffer, so every due frame in it is needed)."""
        key_t = self._t(_pts(packets[0]))
        times = [t for t in (self._t(_pts(p)) for p in packets) if t is not None]
        end = next_key if next_key is not None else (max(times) + (1 / self.fps if self.fps
                                                                      else 0) if times else None)
        # Keyframes are sampled for themselves (scene cuts) only where they are rare: in an
        # all-intra stream (MJPEG, every frame a keyframe) they are ordinary frames.
        self.key_priority = bool(key_t is not None and end is not None
                                 and end - key_t >= self.interval / 2)
        need = self._need_until(key_t, end, last=next_key is None and not more, more=more)
        if need is None:
            return
        cc = self.stream.codec_context
        done = False
        for p in packets:
            try:
                frames = cc.decode(p)
            except Exception:  # noqa: BLE001 - one damaged packet: the next keyframe recovers
                self.decode_errors += 1
                continue
            for frame in frames:
                done = self._offer(frame, key_t, end) or done
                if self.capped_at is not None:
                    return
            if done and not more and self.retry_from is None:
                break
        if more:
            return
        try:
            for frame in cc.decode(None):
                self._offer(frame, key_t, end)
        except Exception:  # noqa: BLE001
            self.decode_errors += 1
        cc.flush_buffers()

    def _need_until(self, key_t: float | None, end: float | None, last: bool, more: bool
                    ) -> float | None:
        """The latest frame time this GOP must be decoded to, or None to skip it."""
        if more:
            return math.inf
        half = self.interval / 2
        key_wanted = key_t is not None and (self.last_sample is None or (
            key_t - self.last_sample >= (half if self.key_priority else self.interval - 1e-6)))
        base = key_t if key_wanted else self.last_sample
        if base is None:
            return math.inf  # no time known yet: decode and see
        if end is None:
            return math.inf
        limit = end if last else end - half
        n = math.floor((limit - base) / self.interval) if limit > base else 0
        if n >= 1:
            return base + n * self.interval
        return key_t if key_wanted else None

    def _offer(self, frame: Any, key_t: float | None, end: float | None) -> bool:
        """Sample `frame` if it is due; True once this GOP has given all it must."""
        t = self._t(frame.pts)
        if t is None or t < 0:
            return False
        if key_t is not None and t < key_t - 1e-6:
            return False  # an open GOP's leading frame, decoded without its reference
        half = self.interval / 2
        is_key = bool(frame.key_frame) and self.key_priority
        last = self.last_sample
        due = (last is None or (is_key and t - last >= half)
               or t - last >= self.interval - 1e-6)
        retry = False
        if not due and self.retry_from is not None:
            if t >= self.retry_from + self.interval - 1e-6:
                self.retry_from = None  # give up: the regular schedule goes on
            elif t - self.last_any >= self.interval / 5 - 1e-6:
                retry = True
        if due or retry:
            self._sample(frame, t, regular=due)
        if end is None or self.last_sample is None:
            return False
        return self.last_sample + self.interval > end - half

    def _sample(self, frame: Any, t: float, regular: bool = True) -> None:
        if self.settings.max_kept_frames and len(self.kept) >= self.settings.max_kept_frames:
            self.capped_at = t  # one more frame is due: the cap stops the walk here
            return
        if regular:
            self.last_sample = t
        self.last_any = t
        number = int(round(t * self.fps)) if self.fps else int(frame.pts or 0)
        if number in self.frames_seen:
            return
        self.frames_seen.add(number)
        if frame.width * frame.height > self.limits.max_pixels:
            raise _Stop("too_large", f"a frame at {timestamp(t)} is {frame.width}x"
                        f"{frame.height}, over the {self.limits.max_pixels / 1e6:.0f} Mpx limit")
        if not self.rotation_seen:
            self.rotation_seen = True
            turned = (-int(getattr(frame, "rotation", 0) or 0)) % 360  # FFmpeg: anticlockwise
            if turned and turned != self.rotation:
                self.rotation = turned
                self.emit(("extra", {"rotation": turned}))
        pdq, quality = frame_pdq(frame)
        if quality < self.settings.min_quality:
            if regular:
                self.retry_from = t
        else:
            self.retry_from = None
        if self.last_kept is not None and hamming(pdq, self.last_kept) <= \
                self.settings.prune_distance:
            return
        self.last_kept = pdq
        feature = Feature(number, quality, pdq, round(t, 3))
        small = _small_rgb(frame, FRAME_SIZE, self.rotation)
        jpeg = _jpeg(small) if self.want_derivatives else None
        self.kept.append((feature, small))
        self.emit(("frame", feature, jpeg))

    def _finish(self, status: str, reason: str | None) -> None:
        n = len(self.kept)
        if self.want_derivatives and self.kept:
            self.emit(("derivative", DerivativeImage(SHEET_FRAME, contact_sheet(self.kept))))
            if self.settings.clip:
                clip = playback_clip([(f.seconds, im) for f, im in self.kept])
                if clip:
                    self.emit(("derivative", DerivativeImage(CLIP_FRAME, clip)))
        covered = self.last_sample
        if status == "ok" and not n:
            status = "corrupt"
            reason = ("the video stream holds no frame (zero duration): nothing to hash"
                      if not self.packets else "no frame of the video stream could be decoded")
        elif status == "corrupt" and n:
            reason = f"{reason}; frames up to {timestamp(covered)} were hashed"
        elif self.capped_at is not None:
            status = "partial"
            reason = (f"{n} frames kept ([video] max_kept_frames); the video after"
                      f" {timestamp(self.capped_at)} of {timestamp(self.duration)} was not"
                      " examined")
        elif status == "ok" and self.duration and covered is not None and \
                covered < self.duration - max(2 * self.interval, 2.0):
            status = "corrupt"
            reason = (f"the stream ends at {timestamp(covered)} but declares"
                      f" {timestamp(self.duration)} (truncated or damaged); frames up to"
                      f" {timestamp(covered)} were hashed")
        elif status == "ok" and self.widened:
            status = "partial"
            reason = (f"{timestamp(self.duration)} long: sampled every {self.interval:.1f} s"
                      f" (not {self.settings.sample_seconds:g} s) to stay within [video]"
                      f" max_kept_frames = {self.settings.max_kept_frames}")
        elif status == "ok" and self.decode_errors:
            reason = f"{self.decode_errors} damaged packets skipped"
        self.emit(("done", status, reason))


class _Stop(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _pts(packet: Any) -> int | None:
    return packet.pts if packet.pts is not None else packet.dts


def frame_pdq(frame: Any) -> tuple[str, int]:
    """PDQ and quality of a decoded frame at full size, as Meta's vPDQ hashes it (from the Y
    plane for 8-bit YUV; through RGB for anything else)."""
    fmt = frame.format.name
    if fmt in _YUV8:
        plane = frame.planes[0]
        y = np.frombuffer(plane, dtype=np.uint8).reshape(frame.height, plane.line_size)
        y = y[:, :frame.width]
        full = fmt.startswith("yuvj") or fmt == "gray" or int(frame.color_range or 0) == 2
        if full:
            return pdq_from_luma(y)
        return pdq_from_luma(y, 255.0 / 219.0, -16.0)
    return pdq_from_rgb(frame.to_ndarray(format="rgb24"))


def _small_rgb(frame: Any, size: int, rotation: int) -> Image.Image:
    scale = min(1.0, size / max(frame.width, frame.height))
    w, h = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    im = frame.reformat(w, h, "rgb24", interpolation="AREA").to_image()
    if rotation in (90, 180, 270):
        im = im.rotate(-rotation, expand=True)
    return im


def _jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def contact_sheet(kept: list[tuple[Feature, Image.Image]]) -> bytes:
    """A grid of up to SHEET_TILES kept frames, evenly chosen, each with its time under it."""
    n = len(kept)
    picks = [kept[round(i * (n - 1) / max(1, SHEET_TILES - 1))] for i in range(SHEET_TILES)] \
        if n > SHEET_TILES else kept
    picks = [p for i, p in enumerate(picks) if i == 0 or p is not picks[i - 1]]
    cols = min(SHEET_COLUMNS, len(picks))
    rows = -(-len(picks) // cols)
    label = 14
    sheet = Image.new("RGB", (cols * SHEET_TILE, rows * (SHEET_TILE + label)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for i, (feature, im) in enumerate(picks):
        tile = im.copy()
        tile.thumbnail((SHEET_TILE, SHEET_TILE))
        x, y = (i % cols) * SHEET_TILE, (i // cols) * (SHEET_TILE + label)
        sheet.paste(tile, (x + (SHEET_TILE - tile.width) // 2, y + (SHEET_TILE - tile.height) // 2))
        draw.text((x + 4, y + SHEET_TILE + 1), timestamp(feature.seconds), fill=(220, 220, 220))
    return _jpeg(sheet, 80)


def playback_clip(frames: list[tuple[float, Image.Image]]) -> bytes | None:
    """The kept frames as a small WebM (VP8, no audio track), each shown from its own time:
    what the review page plays. A clip of every frame would need every frame decoded."""
    import av

    if not frames:
        return None
    scale = min(1.0, CLIP_SIZE / max(frames[0][1].size))
    w = max(2, int(frames[0][1].width * scale) // 2 * 2)
    h = max(2, int(frames[0][1].height * scale) // 2 * 2)
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format="webm") as out:
            # Times in tenths of a second (samples are >= 0.2 s apart). libvpx in real-time
            # mode at its fastest: 7 ms a 320x180 frame here; its default ("good") took 50.
            s = out.add_stream("libvpx", rate=10, options={
                "deadline": "realtime", "cpu-used": "16", "threads": "1"})
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.codec_context.bit_rate = 200_000
            last = -1
            for t, im in frames:
                pts = max(last + 1, int(round(t * 10)))
                vf = av.VideoFrame.from_image(im.resize((w, h)).convert("RGB"))
                vf.pts = last = pts
                for pkt in s.encode(vf):
                    out.mux(pkt)
            # hold the last frame for a second, so it is seen
            vf = av.VideoFrame.from_image(frames[-1][1].resize((w, h)).convert("RGB"))
            vf.pts = last + 10
            for pkt in s.encode(vf):
                out.mux(pkt)
            for pkt in s.encode():
                out.mux(pkt)
    except Exception:  # noqa: BLE001 - no clip is a lesser review, never a lost file
        return None
    return buf.getvalue()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def iter_features(outcome: MediaOutcome) -> Iterator[Feature]:
    """The vPDQ records of an examined video, in frame order."""
    for v in sorted((v for v in outcome.signals if v.signal == "pdq"), key=lambda v: v.frame):
        yield Feature(v.frame, int(v.quality or 0), v.value, float(v.seconds or 0.0))
