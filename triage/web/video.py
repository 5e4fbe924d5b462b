"""Video review: one video entry along a timeline of its kept frames, each revealed on its own,
and its small clip played on request (muted, faster if asked); the category covers the video
and its re-encoded copies (the entry's members).

Safe by default, as pictures are: the grid shows a video's contact sheet only blurred and
greyscale (it is never sent unblurred: it holds many frames at once); here each frame arrives
as a server-blurred thumbnail, and its unblurred copy is sent only while this reviewer has that
frame revealed (an open exposure interval, mode `video`, after the welfare gate). The clip is
sent only while a playback interval is open, never the evidence, with `Cache-Control: no-store`,
and each delivery is audited and charged (`triage.web.exposure`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from triage import __version__
from triage.records import CLIP_FRAME
from triage.signals.vpdq import timestamp
from triage.web.auth import current_user, login_required
from triage.web.context import now, now_text, store
from triage.web.exposure import known_refusal, open_intervals, refused_by_welfare
from triage.web.gates import record_reveal
from triage.web.review import (REVIEW_ROLES, _device_for, _page_context, claim, derivative_bytes,
                               device_queue, display_settings, progress, uncached)

bp = Blueprint("video", __name__)


@bp.app_template_filter("timestamp")
def _timestamp(seconds: float | None) -> str:
    return timestamp(seconds)


@bp.route("/review/<label>/video/<int:content_id>")
@login_required(REVIEW_ROLES)
def item(label: str, content_id: int) -> Any:
    """A video entry: its frames along a timeline, its clip, its copies. Opening it claims it."""
    device = _device_for(label)
    user = current_user()
    assert user is not None
    queue = device_queue(device["id"])
    entry = queue.entry(content_id)
    if entry is None or entry.kind != "video":
        return redirect(url_for("review.item", label=label, content_id=content_id))
    holder = claim(device["id"], content_id, user["id"])
    if holder["user_id"] != user["id"]:
        flash(f"{holder['user']} has that video open; showing the queue.", "info")
        return redirect(url_for("review.grid", label=label))
    s = store()
    info = s.video_info(entry.member_content_ids)
    frames = s.video_frames(content_id)
    copies = [{"content_id": cid, "paths": s.content_paths(device["id"], cid),
               "info": info.get(cid, {})} for cid in entry.member_content_ids]
    clip = s.video_derivative(content_id, CLIP_FRAME) is not None
    return render_template(
        "video_item.html", item=entry, info=info.get(content_id, {}), frames=frames,
        copies=copies, clip=clip, position=queue.position(entry),
        next_id=queue.next_free(user["id"], now_text(), after=entry),
        progress=progress(device["id"], queue), **_page_context(device))


@bp.route("/video/<int:content_id>/frame/<int:frame>/<variant>")
@login_required(REVIEW_ROLES)
def frame_image(content_id: int, frame: int, variant: str) -> Any:
    """One frame's small copy: blurred always; unblurred only while it is revealed."""
    if variant not in ("blurred", "revealed"):
        abort(404)
    return _send(content_id, frame, variant, "image/jpeg")


@bp.route("/video/<int:content_id>/clip")
@login_required(REVIEW_ROLES)
def clip(content_id: int) -> Any:
    """The small playback clip (WebM, no audio track), only while playback is open."""
    return _send(content_id, CLIP_FRAME, "revealed", "video/webm")


def _send(content_id: int, frame: int, variant: str, mimetype: str) -> Any:
    if request.method != "GET":
        abort(405)
    user = current_user()
    assert user is not None
    s = store()
    content = s.viewable_content(user["id"], content_id)
    name = s.video_derivative(content_id, frame) if content is not None else None
    if name is None:
        abort(404)
    interval = None
    if variant == "revealed":
        interval = open_intervals().revealed_video(user["id"], content_id, frame)
        refused = (refused_by_welfare(user["id"]) or interval is None
                   or known_refusal(interval[1].device_id, content_id))
        if refused:
            s.audit_event("web:video", {"user": user["name"], "content_id": content_id,
                                        "frame": frame, "variant": variant}, __version__,
                          now_text(), "refused")
            abort(403)
    data = derivative_bytes(name, variant)
    d = display_settings()
    s.audit_event("web:video", {"user": user["name"], "content_id": content_id,
                                "sha256": content["sha256"], "frame": frame,
                                "variant": variant}, __version__, now_text())
    if interval is not None:
        # Seen in this session: a category may now be given (the reveal-before-category rule,
        # config/review.toml), as for a picture whose unblurred copy was sent.
        record_reveal(user["id"], content_id)
        # A frame is charged as a picture (until its re-blur time); a clip by its length: the
        # whole of it was sent, so it can all be watched.
        seconds = float(d["reveal_seconds"])
        if frame == CLIP_FRAME:
            seconds = float((s.video_info([content_id]).get(content_id) or {}).get("duration")
                            or seconds)
        s.charge_delivery(interval[0], user["id"], now(), seconds)
    return uncached(data, mimetype)
