"""Exposure intervals reported by the review pages, and the welfare gate.

The page reports `start` when a picture is revealed (or a grid of blurred thumbnails comes on
screen), a `beat` every few seconds while it stays so, and `stop` when it is hidden, the reviewer
moves on, the tab is hidden or loses focus. Each report moves the stored interval's end to the
server's clock, so an interval is always as long as the last report proves: a tab closed while
revealed stops counting at its last heartbeat, without any clean-up job.

The page's reports can only lengthen an interval. When the server sends an unblurred picture it
charges that delivery until the next unblurred picture goes to the same reviewer or the
reviewer's re-blur time (`reveal_seconds`) has passed, whichever comes first
(`ReviewStore.charge_delivery`): a client that keeps the picture and reports `stop` at once is
charged what it was sent, and the welfare gate reads that figure.

Known material (an exact list match) is revealed only from the known view of its device, which
the reviewer opens on purpose; known-good pictures never are.

Videos (mode `video`, issue 13): each frame of a video's timeline is revealed on its own (an
interval with its `frame`), and playing its small clip is one more (`frame` = CLIP_FRAME). Both
are direct viewing: the welfare gate is asked before either starts, the severity of the video's
category weights them as it weights a picture's, and the server charges each delivery (a frame
as a picture, a clip by its length) whatever the page reports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, jsonify, request, session

import triage.welfare as welfare
from triage.web.auth import current_user, login_required
from triage.web.context import now, now_text, policy, store

bp = Blueprint("exposure", __name__)

MODES = ("revealed", "blurred", "video")
DIRECT = ("revealed", "video")  # one of these at a time per reviewer


@dataclass(frozen=True)
class Interval:
    user_id: int
    mode: str
    content_id: int | None
    device_id: int
    frame: int | None = None  # mode 'video': the frame revealed, or CLIP_FRAME while playing


class OpenIntervals:
    """Intervals still being extended, by id. Forgotten at stop; after a restart every interval
    simply ends at its last report (or its delivery charge)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[int, Interval] = {}

    def add(self, exposure_id: int, interval: Interval) -> None:
        with self._lock:
            self._open[exposure_id] = interval

    def owned(self, exposure_id: int, user_id: int) -> bool:
        with self._lock:
            entry = self._open.get(exposure_id)
            return entry is not None and entry.user_id == user_id

    def pop(self, exposure_id: int) -> None:
        with self._lock:
            self._open.pop(exposure_id, None)

    def of_user(self, user_id: int, mode: str) -> list[int]:
        with self._lock:
            return [k for k, v in self._open.items() if v.user_id == user_id and v.mode == mode]

    def revealed_video(self, user_id: int, content_id: int, frame: int
                       ) -> tuple[int, Interval] | None:
        """The open 'video' interval of this user for this frame (or the clip), if any."""
        with self._lock:
            for k, v in self._open.items():
                if (v.user_id, v.mode, v.content_id, v.frame) == (user_id, "video", content_id,
                                                                  frame):
                    return k, v
            return None

    def revealed(self, user_id: int, content_id: int) -> tuple[int, Interval] | None:
        """The open revealed interval of this user for this picture (id, interval), if any."""
        with self._lock:
            for k, v in self._open.items():
                if (v.user_id, v.mode, v.content_id) == (user_id, "revealed", content_id):
                    return k, v
            return None


# -- the known view -------------------------------------------------------------------------
KNOWN_VIEW = "known_view"


def remember_known_view(device_id: int, shown: bool) -> None:
    """Called by the grid page: the reviewer has opened (or closed) the known material of this
    device. Only then may those pictures be revealed."""
    opened = [d for d in session.get(KNOWN_VIEW, []) if d != device_id]
    if shown:
        opened.append(device_id)
    session[KNOWN_VIEW] = opened


def known_refusal(device_id: int, content_id: int) -> str | None:
    """Why this picture may not be shown unblurred now, or None if it may."""
    kind = store().known_kind(content_id)
    if kind == "known-good":
        return "known-good material is never revealed"
    if kind == "known" and device_id not in session.get(KNOWN_VIEW, []):
        return "known material is revealed only from the device's known view"
    return None


def video_frame_exists(content_id: int, frame: int) -> bool:
    """Whether the video has this frame's small copy (or, for CLIP_FRAME, its clip)."""
    from triage.records import CLIP_FRAME

    if frame < 0 and frame != CLIP_FRAME:
        return False
    return store().video_derivative(content_id, frame) is not None


def open_intervals() -> OpenIntervals:
    return current_app.extensions["triage_open"]


def welfare_gate(user_id: int) -> welfare.Gate:
    """The welfare stage's answer for this reviewer now (`welfare.gate`, looked up at call time)."""
    return welfare.gate(store(), user_id, now())


def refused_by_welfare(user_id: int) -> str | None:
    result = welfare_gate(user_id)
    if result.allowed:
        return None
    return str(result.reason or "A welfare break is due.")


@bp.route("/api/exposure/start", methods=["POST"])
@login_required(("reviewer", "lead"))
def start() -> Any:
    user = current_user()
    assert user is not None
    body = request.get_json(silent=True) or {}
    mode = body.get("mode")
    if mode not in MODES:
        return jsonify(error="mode must be 'revealed', 'blurred' or 'video'"), 400
    s = store()
    try:
        device_id = int(body["device_id"])
        content_id = int(body["content_id"]) if body.get("content_id") is not None else None
    except (KeyError, TypeError, ValueError):
        return jsonify(error="device_id (and content_id) must be integers"), 400
    if not s.may_view_device(user["id"], device_id):
        return jsonify(error="not found"), 404
    if content_id is not None and (s.viewable_content(user["id"], content_id) is None
                                   or not s.content_on_device(device_id, content_id)):
        return jsonify(error="not found"), 404
    notice = None
    frame = None
    if mode == "video":
        if content_id is None:
            return jsonify(error="a video interval needs content_id and frame"), 400
        try:
            frame = int(body["frame"])
        except (KeyError, TypeError, ValueError):
            return jsonify(error="a video interval needs frame (an integer)"), 400
        if not video_frame_exists(content_id, frame):
            return jsonify(error="no such frame of this video"), 404
    if mode in DIRECT:
        if content_id is None:
            return jsonify(error="a revealed interval needs content_id"), 400
        refusal = known_refusal(device_id, content_id)
        if refusal:
            return jsonify(error=refusal), 403
        gate = welfare_gate(user["id"])
        if not gate.allowed:
            return jsonify(error=str(gate.reason or "A welfare break is due."), welfare=True), 403
        if gate.break_due or gate.reason not in ("", "ok"):
            notice = str(gate.reason)  # allowed, but the reviewer should see the warning
    opened = open_intervals()
    same = DIRECT if mode in DIRECT else (mode,)
    for previous in [i for m in same for i in opened.of_user(user["id"], m)]:
        # One picture (or frame, or clip) revealed at a time: a new reveal ends the previous.
        s.extend_exposure(previous, user["id"], now_text())
        opened.pop(previous)
    exposure_id = s.start_exposure(user["id"], content_id, device_id, mode, now_text())
    if frame is not None:
        s.record_exposure_frame(exposure_id, frame)
    opened.add(exposure_id, Interval(user["id"], mode, content_id, device_id, frame))
    return jsonify(id=exposure_id, notice=notice,
                   heartbeat_seconds=float(policy().exposure("heartbeat_seconds", 2)))


def _extend(closing: bool) -> Any:
    user = current_user()
    assert user is not None
    body = request.get_json(silent=True) or {}
    try:
        exposure_id = int(body["id"])
    except (KeyError, TypeError, ValueError):
        return jsonify(error="id must be an integer"), 400
    opened = open_intervals()
    if not opened.owned(exposure_id, user["id"]):
        # Already stopped (or never this user's): say so, so the page stops reporting.
        return jsonify(error="interval is closed", closed=True), 409
    seconds = store().extend_exposure(exposure_id, user["id"], now_text())
    if closing:
        opened.pop(exposure_id)
    return jsonify(id=exposure_id, seconds=seconds, closed=closing)


@bp.route("/api/exposure/beat", methods=["POST"])
@login_required(("reviewer", "lead"))
def beat() -> Any:
    return _extend(closing=False)


@bp.route("/api/exposure/stop", methods=["POST"])
@login_required(("reviewer", "lead"))
def stop() -> Any:
    return _extend(closing=True)
