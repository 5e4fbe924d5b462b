"""Review pages: a device's queue as a grid and one item at a time, categorising, undo, and
the picture bytes themselves.

Safety by default: the grid receives only a small, server-blurred (and greyscale) copy; the
unblurred picture is served only while the reviewer has it revealed, i.e. while an exposure
interval is open for that user and picture, after the welfare gate allowed it (known material
only from the known view). Every picture served is written to the audit table and sent with
`Cache-Control: no-store`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from flask import (Blueprint, Response, abort, current_app, flash, g, jsonify, redirect,
                   render_template, request, session, url_for)

from triage import __version__
from triage.pipeline import Pipeline
from triage.queue.build import QueueItem
from triage.queue.recorded import QueueView
from triage.queue.workload import hours_for
from triage.store import StoreError
from triage.store.browse import Browse, with_hash_ids
from triage.web.auth import current_user, login_required
from triage.media.safe import safe_thumbnail
from triage.web.context import SCHEMES, now, now_text, policy, store, workspace
from triage.web.exposure import (known_refusal, open_intervals, refused_by_welfare,
                                 remember_known_view)
from triage.web.gates import allowed_blind_text, record_reveal, reveal_refusal, revealed
from triage.web.navigation import (browse_args, browse_from_request, describe, nav_state,
                                   page_from_request, page_of)
from triage.web.panel import category_label, context_for
from triage.web.redirects import redirect_target

bp = Blueprint("review", __name__)

REVIEW_ROLES = ("reviewer", "lead")


# -- the queue ----------------------------------------------------------------------------
def pipeline() -> Pipeline:
    """The pipeline over this request's store (the queue and its config come from it)."""
    if "triage_pipeline" not in g:
        g.triage_pipeline = Pipeline(workspace(), store(), progress=False)
    return g.triage_pipeline


def device_queue(device_id: int) -> QueueView:
    """The device's recorded queue (pending decisions applied). `TRIAGE_QUEUE = "per-request"`
    in the app config builds it per request instead: the path before it was recorded, kept for
    scripts/bench_review.py only."""
    per_request = current_app.config.get("TRIAGE_QUEUE") == "per-request"
    return pipeline().open_queue(device_id, per_request=per_request)


def hours_left(remaining: int, video_seconds: Any = ()) -> float:
    """Remaining review time: queue entries x seconds per entry, a video entry by its minutes
    (`triage.queue.workload`)."""
    return hours_for(remaining, pipeline().priority, video_seconds)


def progress(device_id: int, queue: QueueView | None = None) -> dict[str, Any]:
    queue = device_queue(device_id) if queue is None else queue
    counts = store().decision_counts(device_id)
    remaining = queue.count()
    return {"decided": sum(counts.values()), "by_category": counts, "remaining": remaining,
            "hours_left": round(hours_left(remaining, store().queue_video_seconds(device_id)), 2)}


# -- claims -------------------------------------------------------------------------------
def claim_expiry() -> str:
    """When a claim taken now lapses (config/review.toml [claims] expiry_seconds)."""
    seconds = float(policy().section("claims").get("expiry_seconds", 600))
    return (now() + timedelta(seconds=seconds)).astimezone(timezone.utc).isoformat(
        timespec="milliseconds")


def claim(device_id: int, content_id: int, user_id: int) -> dict[str, Any]:
    """Claim (or renew) the entry for this reviewer; returns the live holder afterwards."""
    return store().claim_entry(device_id, content_id, user_id, now_text(), claim_expiry())


def taken_message(holder: dict[str, Any]) -> str:
    until = holder["expires_at"][11:19]
    return (f"{holder['user']} has this picture open (claimed until {until} UTC), so it was not"
            " categorised here; another entry is free.")


# -- display settings ---------------------------------------------------------------------
def display_settings() -> dict[str, Any]:
    """The lab defaults, relaxed by the reviewer's choices this session within the lab's limits."""
    p = policy()
    chosen = session.get("display", {})
    blur_default = int(p.display("blur_px", 14))
    blur_min = min(blur_default, int(p.display("min_blur_px", blur_default)))
    thumb_default = int(p.display("thumb_px", 128))
    thumb_max = max(thumb_default, int(p.display("max_thumb_px", thumb_default)))
    reveal_default = float(p.display("reveal_seconds", 8))
    reveal_max = max(reveal_default, float(p.display("max_reveal_seconds", reveal_default)))
    allow_colour = bool(p.display("allow_colour", False))
    greyscale_default = bool(p.display("greyscale", True))
    return {
        "blur_px": _clamp(chosen.get("blur_px", blur_default), blur_min, max(blur_default, 40)),
        "blur_min": blur_min, "blur_default": blur_default,
        "thumb_px": _clamp(chosen.get("thumb_px", thumb_default), 48, thumb_max),
        "thumb_max": thumb_max, "thumb_default": thumb_default,
        "reveal_seconds": _clamp(chosen.get("reveal_seconds", reveal_default), 1, reveal_max),
        "reveal_max": reveal_max, "reveal_default": reveal_default,
        "greyscale": bool(chosen.get("greyscale", greyscale_default)) if allow_colour else True,
        "allow_colour": allow_colour,
        "item_px": int(p.display("item_px", 384)),
        "heartbeat_seconds": float(p.exposure("heartbeat_seconds", 2)),
    }


def _clamp(value: Any, low: float, high: float) -> Any:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = low
    v = min(max(v, low), high)
    return int(v) if float(v).is_integer() else v


@bp.route("/settings", methods=["GET", "POST"])
@login_required(REVIEW_ROLES)
def settings() -> Any:
    if request.method == "POST":
        chosen = {k: request.form.get(k) for k in ("blur_px", "thumb_px", "reveal_seconds")}
        chosen["greyscale"] = request.form.get("greyscale") == "on"
        session["display"] = {k: v for k, v in chosen.items() if v is not None}
        shown = display_settings()
        session["display"] = {k: shown[k] for k in ("blur_px", "thumb_px", "reveal_seconds",
                                                     "greyscale")}
        flash("Settings saved for this session (within the lab's limits).", "info")
        return redirect(redirect_target(request.form.get("back"), url_for("review.index")))
    return render_template("settings.html", d=display_settings(),
                           back=redirect_target(request.args.get("back"), ""))


# -- pages --------------------------------------------------------------------------------
@bp.route("/")
@login_required()
def index() -> Any:
    user = current_user()
    assert user is not None
    devices = store().assigned_devices(user["id"])
    can_review = user["role"] in REVIEW_ROLES + ("admin",)
    rows = [dict(d, progress=progress(d["id"]) if can_review else None) for d in devices]
    return render_template("index.html", devices=rows, can_review=can_review)


def _device_for(label: str) -> dict[str, Any]:
    user = current_user()
    assert user is not None
    try:
        device = store().device(label)
    except StoreError:
        abort(404)
    if not store().may_view_device(user["id"], device["id"]):
        abort(404)  # the same answer as a device that does not exist
    return device


def page_keys() -> list[dict[str, str]]:
    return [{"key": k, "category": c, "label": label} for k, c, label in SCHEMES[policy().scheme]]


def decision_context() -> dict[str, Any]:
    """What every reviewing page needs to know of the lab's decision rules."""
    p = policy()
    return {"d": display_settings(), "keys": page_keys(), "scheme": p.scheme,
            "reveal_first": p.reveal_before_category, "without_reveal": list(p.without_reveal),
            "peer_categories": list(p.peer_categories), "blind_text": allowed_blind_text()}


def _page_context(device: dict[str, Any]) -> dict[str, Any]:
    return {"device": device, **decision_context()}


def _category_labels() -> dict[str, str]:
    """Every category a filter may name (both grading schemes: list candidates can carry
    either), with its label."""
    return {c: label for scheme in SCHEMES.values() for _, c, label in scheme}


def _browse(device_id: int) -> Browse:
    return with_hash_ids(store(), device_id, browse_from_request(set(_category_labels())))


def _decided_tiles(device: dict[str, Any], rows: list[dict[str, Any]], user_id: int
                   ) -> list[dict[str, Any]]:
    hidden = store().peer_hidden_actions(device["id"], user_id, policy().peer_categories)
    out = []
    for r in rows:
        masked = r["action_id"] in hidden
        out.append({"content_id": r["content_id"], "cluster_size": 1, "category": None,
                    "path": r["path"], "reasons": [],
                    "decision": "awaiting peer check" if masked
                    else category_label(r["category"]),
                    "decided_by": r["decided_by"], "decided_at": r["decided_at"]})
    return out


@bp.route("/review/<label>")
@login_required(REVIEW_ROLES)
def grid(label: str) -> Any:
    """The device's queue a page at a time, filtered, sorted and searched as the reviewer
    chose; also the decided pictures (scope=decided), the second look and the known view."""
    device = _device_for(label)
    user = current_user()
    assert user is not None
    s = store()
    queue = device_queue(device["id"])
    s.ensure_facts(device["id"])
    size = max(1, int(policy().display("page_size", 60)))
    show_known = request.args.get("known") == "1"
    remember_known_view(device["id"], show_known)
    all_known = s.known_matched_images(device["id"])
    show_uncertain = request.args.get("uncertain") == "1"
    uncertain = second_look(device["id"])
    b = _browse(device["id"])
    found_elsewhere: list[dict[str, Any]] = []
    if show_uncertain:
        page = page_from_request(len(uncertain), size)
        items: list[Any] = uncertain[page.offset: page.offset + size]
    elif b.scope == "decided":
        page = page_from_request(s.decided_count(device["id"], b), size)
        items = _decided_tiles(device, s.decided_page(device["id"], b, page.offset, size),
                               user["id"])
    else:
        page = page_from_request(s.browse_count(device["id"], b), size)
        items = s.browse_entries(device["id"], b, page.offset, size)
        if b.hash_search() and not items:
            found_elsewhere = _where_is(device, b.hash_ids, user["id"])
    taken = {cid: k["user"] for cid, k in s.live_claims(device["id"], now_text()).items()
             if k["user_id"] != user["id"]}
    shown = [it["content_id"] if isinstance(it, dict) else it.content_id for it in items]
    return render_template(
        "grid.html", items=items, taken=taken, page=page,
        revealed=revealed(shown), facets=s.facets(device["id"]),
        tags=[t for t, _ in s.case_tags(int(device["case_id"]))],
        filters=describe(b, _category_labels()), categories=_category_labels(),
        known=all_known if show_known else [], found_elsewhere=found_elsewhere,
        show_known=show_known, known_count=len(all_known),
        show_uncertain=show_uncertain, uncertain_count=len(uncertain),
        progress=progress(device["id"], queue), **nav_state(b), **_page_context(device))


def _where_is(device: dict[str, Any], content_ids: Sequence[int], user_id: int
              ) -> list[dict[str, Any]]:
    """A hash search found these on the device but not in the queue: say why."""
    hidden = store().peer_hidden_actions(device["id"], user_id, policy().peer_categories)
    decided = store().current_decisions(device["id"])
    out = []
    for r in store().where_is(device["id"], list(content_ids)):
        d = decided.get(r["id"])
        if d is not None:
            what = ("categorised (awaiting peer check)" if r["action_id"] in hidden
                    else f"categorised {category_label(d['category'])} by {d['user']}")
        elif r["known"]:
            what = "known: matched exactly by a hash list (see the known view)"
        elif r["media_kind"] not in ("image", "video"):
            what = f"not a picture ({r['media_kind']})"
        else:
            what = "not in the queue"
        out.append({"path": r["path"], "sha256": r["sha256"], "state": what})
    return out


def second_look(device_id: int) -> list[QueueItem]:
    """Pictures marked 'uncertain' on this device, as tiles like the queue's (same blur, reveal
    and keys), so that another look can give them a real category."""
    return [QueueItem(content_id=r["content_id"], sha256=r["sha256"], path=r["path"],
                      derivative=r["derivative"], score=0.0,
                      reasons=[f"marked uncertain by {r['decided_by']}"], cluster_size=1,
                      member_content_ids=[r["content_id"]], category=None)
            for r in store().uncertain_images(device_id)]


@bp.route("/review/<label>/item/<int:content_id>")
@login_required(REVIEW_ROLES)
def item(label: str, content_id: int) -> Any:
    """One entry with its context panel. Opening it claims it for this reviewer; an entry
    another reviewer has open sends them on to the next one nobody has open. Next and previous
    follow the grid's filters and order (carried in the query string)."""
    device = _device_for(label)
    user = current_user()
    assert user is not None
    s = store()
    queue = device_queue(device["id"])
    s.ensure_facts(device["id"])
    b = _browse(device["id"])
    args = browse_args(b)
    entry = queue.entry(content_id)
    if entry is None:
        if s.viewable_content(user["id"], content_id) is None:
            abort(404)
        if any(u["content_id"] == content_id for u in s.uncertain_images(device["id"])):
            flash("That picture is marked uncertain; it is decided on the second-look grid.",
                  "info")
            return redirect(url_for("review.grid", label=label, uncertain=1))
        flash("That picture has been categorised; showing the next in the queue.", "info")
        first = s.browse_next_free(device["id"], b, user["id"], now_text())
        if first is None:
            return redirect(url_for("review.grid", label=label, **args))
        return redirect(url_for("review.item", label=label, content_id=first, **args))
    if entry.kind == "video":  # a video entry has its own view (triage.web.video)
        return redirect(url_for("video.item", label=label, content_id=content_id))
    holder = claim(device["id"], content_id, user["id"])
    if holder["user_id"] != user["id"]:
        following = (s.browse_next_free(device["id"], b, user["id"], now_text(), content_id)
                     or s.browse_next_free(device["id"], b, user["id"], now_text()))
        if following is None:
            flash(f"{holder['user']} has that picture open, and every other entry left is open"
                  " with another reviewer.", "info")
            return redirect(url_for("review.grid", label=label, **args))
        flash(f"{holder['user']} has that picture open; showing the next one nobody has open.",
              "info")
        return redirect(url_for("review.item", label=label, content_id=following, **args))
    position = s.browse_position(device["id"], b, content_id)
    if position is None:  # not among the filtered entries: place it in the whole queue
        b, args = Browse(), {}
        position = s.browse_position(device["id"], b, content_id) or queue.position(entry)
    size = max(1, int(policy().display("page_size", 60)))
    return render_template(
        "item.html", item=entry, position=position, total=s.browse_count(device["id"], b),
        grid_page=page_of(position, size),
        prev_id=s.browse_next_free(device["id"], b, user["id"], now_text(), content_id,
                                   backwards=True),
        next_id=s.browse_next_free(device["id"], b, user["id"], now_text(), content_id),
        revealed=revealed([content_id]),
        ctx=context_for(device, content_id, entry, user_id=user["id"]),
        filters=describe(b, _category_labels()),
        progress=progress(device["id"], queue), **nav_state(b), **_page_context(device))


@bp.route("/review/<label>/context/<int:content_id>")
@login_required(REVIEW_ROLES)
def context_panel(label: str, content_id: int) -> Any:
    """The context panel alone (the grid opens it on demand): text, no picture."""
    device = _device_for(label)
    user = current_user()
    assert user is not None
    if not store().content_on_device(device["id"], content_id):
        abort(404)
    entry = device_queue(device["id"]).entry(content_id)
    return render_template("_context.html", ctx=context_for(device, content_id, entry,
                                                            user_id=user["id"]),
                           device=device, revealed=revealed([content_id]), drawer=True)


# -- picture bytes ------------------------------------------------------------------------
# The only route that sends picture bytes (the grid, item view, second look and known view all
# point here). `blurred` is always the server-made safe thumbnail; `revealed` is the derivative,
# only while this user has this picture revealed, the welfare gate allows it and, for known
# material, the known view of its device is open. Each unblurred delivery is charged as
# exposure by the server (see `triage.web.exposure`).
@bp.route("/media/<int:content_id>/<variant>")
@login_required()
def media(content_id: int, variant: str) -> Any:
    """Picture bytes by GET only (a HEAD would be charged and audited for bytes never sent).
    Never the evidence file."""
    if request.method != "GET":
        abort(405)
    if variant not in ("blurred", "revealed"):
        abort(404)
    user = current_user()
    assert user is not None
    s = store()
    content = s.viewable_content(user["id"], content_id)
    if content is None or not content["derivative"]:
        abort(404)
    interval = None
    if variant == "revealed" and s.video_info([content_id]):
        abort(404)  # a contact sheet holds many frames: they are revealed one by one only
    if variant == "revealed":
        interval = open_intervals().revealed(user["id"], content_id)
        refused = (refused_by_welfare(user["id"]) or interval is None
                   or known_refusal(interval[1].device_id, content_id))
        if refused:
            s.audit_event("web:image", {"user": user["name"], "content_id": content_id,
                                        "variant": variant}, __version__, now_text(), "refused")
            abort(403)
    data = derivative_bytes(content["derivative"], variant)
    d = display_settings()
    s.audit_event("web:image", {"user": user["name"], "content_id": content_id,
                                "sha256": content["sha256"], "variant": variant},
                  __version__, now_text())
    if interval is not None:
        s.charge_delivery(interval[0], user["id"], now(), float(d["reveal_seconds"]))
        record_reveal(user["id"], content_id)
    return uncached(data, "image/jpeg")


def derivative_bytes(relative: str, variant: str) -> bytes:
    """A small copy's bytes as the variant asks: 'blurred' is the safe thumbnail (blurred,
    greyscale, small, per the lab's display settings), anything else the copy itself. 404 for
    a name outside the derivative folder or a missing file."""
    path = _derivative_path(relative)
    if path is None:
        abort(404)
    if variant == "blurred":
        d = display_settings()
        return safe_thumbnail(path, int(d["thumb_max"]), float(d["blur_px"]) / 2,
                              bool(d["greyscale"]))
    return path.read_bytes()


def uncached(data: bytes, mimetype: str) -> Response:
    """A picture or clip response no browser or proxy keeps (it may be indecent material)."""
    resp = Response(data, mimetype=mimetype)
    resp.headers["Cache-Control"] = "no-store, max-age=0"
    resp.headers["Pragma"] = "no-cache"
    return resp


def _derivative_path(relative: str) -> Path | None:
    """Resolve inside the derivative folder only; anything else is refused."""
    root = workspace().derivative_dir.resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


# -- decisions ----------------------------------------------------------------------------
def _json_device() -> tuple[dict[str, Any], dict[str, Any], int]:
    """The signed-in user, the JSON body, and its `device_id` if the user may see that device."""
    user = current_user()
    assert user is not None
    body = request.get_json(silent=True) or {}
    try:
        device_id = int(body["device_id"])
    except (KeyError, TypeError, ValueError):
        abort(400)
    if not store().may_view_device(user["id"], device_id):
        abort(404)
    return user, body, device_id


@bp.route("/api/claim", methods=["POST"])
@login_required(REVIEW_ROLES)
def claim_api() -> Any:
    """Claim (or renew) an entry before revealing it in the grid. 409 with `claimed_by` when
    another reviewer has it open. A picture that is not a queue entry (second look) needs none."""
    user, body, device_id = _json_device()
    try:
        content_id = int(body["content_id"])
    except (KeyError, TypeError, ValueError):
        return jsonify(error="content_id must be an integer"), 400
    if device_queue(device_id).entry(content_id) is None:
        return jsonify(ok=True, claimed=False)
    holder = claim(device_id, content_id, user["id"])
    if holder["user_id"] != user["id"]:
        return jsonify(error=f"{holder['user']} has this picture open (claimed until"
                             f" {holder['expires_at'][11:19]} UTC).",
                       claimed_by=holder["user"]), 409
    return jsonify(ok=True, claimed=True, expires_at=holder["expires_at"])


@bp.route("/api/decide", methods=["POST"])
@login_required(REVIEW_ROLES)
def decide() -> Any:
    user, body, device_id = _json_device()
    scheme = policy().scheme
    allowed = {c for _, c, _ in SCHEMES[scheme]}
    category = body.get("category")
    if category not in allowed:
        return jsonify(error=f"category must be one of {sorted(allowed)}"), 400
    try:
        content_id = int(body["content_id"])
    except (KeyError, TypeError, ValueError):
        return jsonify(error="content_id must be an integer"), 400
    queue = device_queue(device_id)
    entry = queue.entry(content_id)
    uncertain = entry is None and any(u["content_id"] == content_id
                                      for u in store().uncertain_images(device_id))
    if entry is None and not uncertain:
        return jsonify(error="not in this device's queue (already categorised?)"), 409
    if entry is not None:
        holder = store().claim_holder(device_id, content_id, now_text())
        if holder is not None and holder["user_id"] != user["id"]:
            return jsonify(error=taken_message(holder), claimed_by=holder["user"]), 409
    refusal = reveal_refusal(category, content_id)
    if refusal:
        return jsonify(error=refusal, reveal_required=True), 409
    if entry is not None and body.get("cluster"):
        # The page asked "apply to N pictures?": if the cluster changed since (another
        # reviewer's decision, an undo), the reviewer confirms the new number first.
        expected = body.get("covers")
        if expected is not None and int(expected) != len(entry.member_content_ids):
            return jsonify(error=f"this group now holds {len(entry.member_content_ids)}"
                                 f" pictures, not {expected}: confirm again",
                           cluster_size=len(entry.member_content_ids)), 409
    try:
        if uncertain:  # the second look: the category replaces the 'uncertain' mark
            result = store().decide_uncertain(device_id, content_id, user["id"], scheme,
                                              category, now_text())
        else:
            assert entry is not None
            cluster = list(entry.member_content_ids) if body.get("cluster") else []
            result = store().decide(device_id, content_id, user["id"], scheme, category,
                                    now_text(), cluster)
    except StoreError as exc:
        return jsonify(error=str(exc)), 409
    queue.refresh()  # the decision leaves the queue (a per-request queue is built again)
    return jsonify(ok=True, category=category, **result, progress=progress(device_id, queue),
                   pictures=len(result["content_ids"]),
                   peer_check=category in policy().peer_categories)


@bp.route("/api/annotate", methods=["POST"])
@login_required(REVIEW_ROLES)
def annotate() -> Any:
    """Tags, a note and the VICS reviewer fields of one picture (per case)."""
    user, body, device_id = _json_device()
    try:
        content_id = int(body["content_id"])
    except (KeyError, TypeError, ValueError):
        return jsonify(error="content_id must be an integer"), 400
    s = store()
    if not s.content_on_device(device_id, content_id):
        return jsonify(error="not found"), 404
    tags = body.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",")]
    if not isinstance(tags, list):
        return jsonify(error="tags must be a list or comma-separated text"), 400
    case_id = s.device_case_id(device_id)
    try:
        saved = s.annotate(case_id, content_id, user["id"], now_text(), tags=tags,
                           note=body.get("note"), series=body.get("series"),
                           victim_identified=body.get("victim_identified"),
                           offender_identified=body.get("offender_identified"),
                           distributed=body.get("distributed"))
    except StoreError as exc:
        return jsonify(error=str(exc)), 400
    s.audit_event("web:annotate", {"user": user["name"], "content_id": content_id,
                                   "fields": sorted(k for k, v in saved.items() if v)},
                  __version__, now_text())
    return jsonify(ok=True, **saved)


@bp.route("/api/undo", methods=["POST"])
@login_required(REVIEW_ROLES)
def undo() -> Any:
    user, _, device_id = _json_device()
    result = store().undo_last_decision(device_id, user["id"], now_text())
    if result is None:
        return jsonify(error="nothing to undo"), 409
    return jsonify(ok=True, **result, progress=progress(device_id))
