"""Bad videos: each ends with one status and a reason within the per-file time limit, and the
run goes on (one ingest of all of them beside a good video and a picture, through the CLI).

Made here: a truncated MP4 (its index at the end cut off), a faststart MP4 cut halfway (frames
up to the cut are hashed, the file is flagged), garbage after an MP4 header, an MP4 with no
stream (zero duration), an AVI whose headers declare 20000x20000 frames, an AVI of an unknown
codec, a 10-hour video (sampled sparsely to stay within the frame cap, flagged), a worker that
hangs on a file (fault injection: `timeout`, the run goes on), a video whose input never comes
(the child's own limit), and a video larger than the in-memory limit (examined from its
reference, not skipped).
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import time
from fractions import Fraction
from pathlib import Path

import pytest

from tests.conftest import jpeg
from tests.video_kit import Cli, encode, files
from triage.demo.video import frames
from triage.evidence.base import Limits
from triage.evidence.filetypes import identify
from triage.media.base import MediaInput
from triage.media.video import VIDEO, VideoSettings


class Stalled(io.RawIOBase):
    """A stream whose every read blocks (a stuck share, a hung decoder's input)."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return 0

    def readinto(self, b: object) -> int:
        while True:
            time.sleep(3600)


def _faststart(seconds: float) -> bytes:
    """An MP4 with its index first (as phones and web uploads write them)."""
    import tempfile

    import av

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.mp4"
        _encode_to(av, str(path), seconds)
        return path.read_bytes()


def _encode_to(av: object, path: str, seconds: float) -> None:
    with av.open(path, "w", format="mp4", options={"movflags": "faststart"}) as out:  # type: ignore[attr-defined]
        s = out.add_stream("libx264", rate=15)
        s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
        s.codec_context.options = {"g": "15", "preset": "veryfast"}
        for img in frames(11, seconds, 15, 160, 120):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):  # type: ignore[attr-defined]
                out.mux(p)
        for p in s.encode():
            out.mux(p)


def _ten_hours() -> bytes:
    """A real 10-hour H.264 MKV: 600 small frames a minute apart."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        s = out.add_stream("libx264", rate=1)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.time_base = Fraction(1, 1000)
        s.codec_context.options = {"g": "10", "preset": "veryfast"}
        for i, img in enumerate(frames(9, 600, 1, 64, 48, scene_seconds=1)):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = i * 60_000, Fraction(1, 1000)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return buf.getvalue()


def _patch_avi(data: bytes, size: int | None = None, fourcc: bytes | None = None) -> bytes:
    """An MJPEG AVI with its headers (and every JPEG frame's SOF) declaring `size` x `size`
    frames, or its codec renamed `fourcc`."""
    b = bytearray(data)
    strf, avih = b.find(b"strf"), b.find(b"avih")
    if size:
        struct.pack_into("<ii", b, strf + 12, size, size)
        struct.pack_into("<II", b, avih + 40, size, size)
        i = b.find(b"\xff\xc0")
        while i >= 0:
            struct.pack_into(">HH", b, i + 5, size, size)
            i = b.find(b"\xff\xc0", i + 2)
    if fourcc:
        for at in (b.find(b"MJPG"), strf + 24):
            b[at:at + 4] = fourcc
    return bytes(b)


def _no_stream() -> bytes:
    out = None
    if shutil.which("ffmpeg"):  # Debian's ffmpeg where installed; PyAV's own encoder otherwise
        out = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                              "color=c=black:s=64x48:d=1", "-frames:v", "0", "-f", "mp4",
                              "-movflags", "frag_keyframe", "pipe:1"], capture_output=True)
    if out is None or out.returncode != 0 or not out.stdout:  # write the empty file ourselves
        import av

        buf = io.BytesIO()
        with av.open(buf, "w", format="mp4") as c:
            c.add_stream("libx264", rate=15)
        return buf.getvalue()
    return out.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = tmp_path_factory.mktemp("video-bad")
    dump = root / "dump"
    dump.mkdir()
    mjpeg = encode(5, 1.0, container="avi", codec="mjpeg", width=64, height=48)
    faststart = _faststart(4.0)
    big = encode(12, 6.0, container="avi", codec="mjpeg", width=800, height=600)
    assert len(big) > 1 << 20
    made = {
        "good.mp4": encode(1, 3.0),
        "photo.jpg": jpeg(3),
        "truncated.mp4": encode(2, 3.0)[:9000],
        "cut-halfway.mp4": faststart[:len(faststart) // 2],
        "garbage.mp4": encode(2, 2.0)[:64] + bytes(range(256)) * 40,
        "no-stream.mp4": _no_stream(),
        "bomb.avi": _patch_avi(mjpeg, size=20000),
        "unknown-codec.avi": _patch_avi(mjpeg, fourcc=b"ZZZZ"),
        "ten-hours.mkv": _ten_hours(),
        "hangs.mp4": encode(4, 2.0),
        "big.avi": big,
        "empty.mp4": b"",
    }
    for name, data in made.items():
        (dump / name).write_bytes(data)
    cli = Cli(root / "ws")
    cli.config("ingest", "")  # keep defaults, then tighten the two limits this test needs
    cfg = cli.workspace.root / "config" / "ingest.toml"
    text = cfg.read_text().replace("file_seconds = 300", "file_seconds = 20")
    cfg.write_text(text.replace("in_memory_mib = 256", "in_memory_mib = 1"))
    monkey = pytest.MonkeyPatch()
    monkey.setenv("TRIAGE_FAULT_HANG_ON", "hangs.mp4")
    try:
        cli("ingest", str(dump), "--case", "BAD", "--device", "D", "--no-classify")
    finally:
        monkey.undo()
    return cli


@pytest.fixture(scope="module")
def rows(run: Cli) -> dict[str, dict]:
    return files(run, "D")


def test_every_file_has_one_row_and_the_good_ones_are_ok(rows: dict[str, dict]) -> None:
    assert len(rows) == 12
    assert rows["good.mp4"]["status"] == "ok" and rows["good.mp4"]["frames_hashed"] == 3
    assert rows["photo.jpg"]["status"] == "ok"
    assert rows["empty.mp4"]["status"] == "empty"
    for r in rows.values():
        assert r["status"] == "ok" or r["reason"], r["path"]
        # hashed whatever happened, except where the worker itself was stopped (`timeout`)
        assert r["status"] in ("empty", "timeout") or r["sha256"], r["path"]


@pytest.mark.parametrize("path, status, words", [
    ("truncated.mp4", "corrupt", "moov atom not found"),
    ("garbage.mp4", "corrupt", "cannot open"),
    ("no-stream.mp4", "corrupt", "zero duration"),
    ("bomb.avi", "too_large", "20000x20000"),
    ("unknown-codec.avi", "unsupported", "no decoder"),
    ("hangs.mp4", "timeout", "not finished after 20 s"),
])
def test_bad_video_status_and_reason(rows: dict[str, dict], path: str, status: str,
                                     words: str) -> None:
    r = rows[path]
    assert r["media_kind"] == "video" or status == "timeout"
    assert (r["status"], words in (r["reason"] or "")) == (status, True), r["reason"]
    assert not r["frames_hashed"]


def test_a_video_cut_halfway_keeps_its_first_frames_and_is_flagged(rows: dict[str, dict]
                                                                   ) -> None:
    r = rows["cut-halfway.mp4"]
    assert r["status"] == "corrupt" and "frames up to" in r["reason"], r["reason"]
    assert 1 <= r["frames_hashed"] < 4 and r["duration"] == pytest.approx(4.0, abs=0.1)


def test_a_ten_hour_video_is_covered_whole_and_flagged(rows: dict[str, dict]) -> None:
    r = rows["ten-hours.mkv"]
    assert r["duration"] == pytest.approx(35941, abs=2)
    assert r["status"] == "partial" and "sampled every 59.9 s" in r["reason"], r["reason"]
    assert 550 <= r["frames_hashed"] <= 600  # [video] max_kept_frames


def test_a_video_over_the_memory_limit_is_examined_from_its_reference(rows: dict[str, dict]
                                                                      ) -> None:
    r = rows["big.avi"]
    assert r["size"] > 1 << 20 and r["status"] == "ok", r["reason"]
    assert r["frames_hashed"] == 6 and r["codec"] == "mjpeg"


def test_a_blocked_read_is_stopped_by_the_time_limit() -> None:
    """Through the handler itself: a stream whose reads never return (as a stuck network
    share or a hung decoder) ends as an outcome within the limit, and the test goes on."""
    data = encode(1, 1.0)
    outcome = VIDEO.examine(MediaInput(identify(data[:8192]), len(data), opener=Stalled),
                            Limits(media_seconds=2, video=VideoSettings()), True)
    assert outcome.status == "corrupt" and "did not finish within 2 s" in outcome.reason


def test_a_decode_beyond_the_memory_limit_fails_as_an_outcome() -> None:
    """The child's address space is capped: a 1920x1080 decode under a 1 MiB limit plus the
    margin still decodes (the margin holds the decoder), and the outcome says what it is."""
    data = encode(7, 1.0, width=640, height=480)
    outcome = VIDEO.examine(MediaInput(identify(data[:8192]), len(data), data),
                            Limits(max_decode_bytes=1 << 20, video=VideoSettings()), False)
    assert outcome.status in ("ok", "too_large"), outcome.reason
