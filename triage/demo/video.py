"""Generated benign videos (moving shapes over gradients), encoded with PyAV's own encoders.

For the demo dump, the tests and the benchmark: never real material. Each `seed` is a different
scene (far apart in PDQ); the scene changes every `scene_seconds` so that sampled frames differ
(a video of one still picture prunes to one frame). `reencode` makes the copy a phone or a
messenger would: another size, bit rate and container, the same pictures.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np


def frames(seed: int, seconds: float, fps: int, width: int, height: int,
           scene_seconds: float = 2.0) -> Iterator[np.ndarray]:
    """RGB frames (H x W x 3 uint8): a gradient background and a few moving shapes; a new
    background and shape set every `scene_seconds`."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    xs, ys = x / width, y / height
    n = max(1, int(round(seconds * fps)))
    scene_of = -1
    for i in range(n):
        t = i / fps
        scene = int(t // scene_seconds)
        if scene != scene_of:
            scene_of = scene
            rng = np.random.default_rng(seed * 1000 + scene)
            f1, f2, f3 = rng.uniform(2, 9, 3)
            p1, p2 = rng.uniform(0, 6.28, 2)
            base = np.stack([
                127 + 110 * np.sin(f1 * xs * 6.28 + p1) * np.cos(f2 * ys * 3.14),
                127 + 110 * np.cos(f3 * (xs + ys) * 3.14 + p2),
                127 + 110 * np.sin((f2 * xs - f1 * ys) * 3.14),
            ], axis=-1)
            shapes = [(rng.uniform(0.1, 0.9, 2), rng.uniform(-0.15, 0.15, 2),
                       rng.uniform(0.05, 0.18), rng.integers(0, 255, 3)) for _ in range(4)]
        img = base.copy()
        for (cx, cy), (vx, vy), r, colour in shapes:
            px, py = (cx + vx * (t % scene_seconds)) % 1.0, (cy + vy * (t % scene_seconds)) % 1.0
            mask = ((xs - px) ** 2 * (width / height) ** 2 + (ys - py) ** 2) < r * r
            img[mask] = colour
        yield np.clip(img, 0, 255).astype(np.uint8)


def encode(seed: int, seconds: float = 6.0, *, fps: int = 15, width: int = 320,
           height: int = 240, container: str = "mp4", codec: str = "libx264",
           gop: int | None = None, bitrate: int | None = None, rotation: int = 0,
           audio: bool = False, scene_seconds: float = 2.0) -> bytes:
    """A real video file's bytes. `gop`: keyframe interval in frames (default one second, as
    phones record); `rotation`: display rotation stored in the header (the pictures are not
    turned); `audio`: add a quiet tone track."""
    import av

    buf = io.BytesIO()
    fmt = {"mkv": "matroska", "webm": "webm", "avi": "avi", "mov": "mov", "mp4": "mp4",
           "3gp": "3gp"}[container]
    with av.open(buf, "w", format=fmt) as out:
        s = out.add_stream(codec, rate=fps)
        s.width, s.height = width, height
        s.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        opts = {"g": str(gop or fps)}
        if codec == "libx264":
            opts |= {"preset": "veryfast", "tune": "zerolatency"} if gop == 0 else \
                {"preset": "veryfast"}
        if codec.startswith("libvpx"):
            opts |= {"deadline": "realtime", "cpu-used": "8"}
        s.codec_context.options = opts
        if bitrate:
            s.codec_context.bit_rate = bitrate
        a = None
        if audio:
            a = out.add_stream("aac" if container in ("mp4", "mov", "3gp", "mkv") else
                               "libvorbis" if container == "webm" else "mp3", rate=22050)
        for img in frames(seed, seconds, fps, width, height, scene_seconds):
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
        if a is not None:
            _tone(a, out, seconds)
    data = buf.getvalue()
    if rotation and container in ("mp4", "mov"):
        data = _set_rotation(data, rotation, fmt)
    return data


def _tone(stream: object, out: object, seconds: float) -> None:
    import av

    rate = 22050
    frame_size = getattr(stream.codec_context, "frame_size", 0) or 1024  # type: ignore[attr-defined]
    total = int(seconds * rate)
    pts = 0
    while pts < total:
        n = min(frame_size, total - pts)
        t = (np.arange(pts, pts + n) / rate).astype(np.float32)
        samples = (0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
        fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp",
                                        layout="mono")
        fr.sample_rate, fr.pts, fr.time_base = rate, pts, Fraction(1, rate)
        for pkt in stream.encode(fr):  # type: ignore[attr-defined]
            out.mux(pkt)  # type: ignore[attr-defined]
        pts += n
    for pkt in stream.encode():  # type: ignore[attr-defined]
        out.mux(pkt)  # type: ignore[attr-defined]


def _set_rotation(data: bytes, rotation: int, fmt: str = "mp4") -> bytes:
    """Rewrite an MP4/MOV's video track header matrix to a display rotation (what phones
    write), by remuxing with the stream's display rotation set."""
    import av

    src = av.open(io.BytesIO(data))
    buf = io.BytesIO()
    with src, av.open(buf, "w", format=fmt) as out:
        ins = src.streams.video[0]
        o = out.add_stream_from_template(ins)
        try:
            o.set_display_rotation(-rotation)
        except Exception:  # noqa: BLE001 - an older PyAV: keep the metadata tag
            pass
        extra = [(a, out.add_stream_from_template(a)) for a in src.streams.audio]
        for pkt in src.demux():
            if pkt.dts is None:
                continue
            if pkt.stream is ins:
                pkt.stream = o
            else:
                pkt.stream = next(t for a, t in extra if a is pkt.stream)
            out.mux(pkt)
    return buf.getvalue()


def reencode(data: bytes, *, width: int | None = None, height: int | None = None,
             container: str = "mp4", codec: str = "libx264", bitrate: int = 300_000,
             fps: int | None = None) -> bytes:
    """The same video encoded again (another size, bit rate, container): a copy."""
    import av

    src = av.open(io.BytesIO(data))
    buf = io.BytesIO()
    fmt = {"mkv": "matroska", "webm": "webm", "avi": "avi", "mp4": "mp4", "mov": "mov"}[container]
    with src, av.open(buf, "w", format=fmt) as out:
        ins = src.streams.video[0]
        rate = fps or int(round(float(ins.average_rate or 15)))
        s = out.add_stream(codec, rate=rate)
        s.width = width or ins.codec_context.width
        s.height = height or ins.codec_context.height
        s.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        s.codec_context.bit_rate = bitrate
        opts = {"g": str(rate)}
        if codec == "libx264":
            opts["preset"] = "veryfast"
        if codec.startswith("libvpx"):
            opts |= {"deadline": "realtime", "cpu-used": "8"}
        s.codec_context.options = opts
        for i, frame in enumerate(src.decode(ins)):
            img = frame.to_ndarray(format="rgb24")
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(s.width, s.height)
            f.pts = None
            for pkt in s.encode(f):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return buf.getvalue()


def every_frame_vpdq(data: bytes) -> str:
    """The video's vPDQ file as Meta's `vpdq-hash-video` writes it: every frame, full size
    (frame,quality,pdq,seconds)."""
    import av

    from triage.media.video import frame_pdq

    lines = []
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        rate = float(s.average_rate)
        for i, frame in enumerate(c.decode(s)):
            pdq, q = frame_pdq(frame)
            lines.append(f"{i},{q},{pdq},{i / rate:.3f}")
    return "\n".join(lines) + "\n"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
