"""Peer check pages: the second reviewer's blind check, and the lead's list of disagreements.

The check page shows the picture as every review page does (blurred, revealed one at a time,
exposure charged) with its context panel, but nothing of the first decision: not its category,
not the decision history. The reviewer gives a category (the same keys, the same reveal rule);
only the answer to that request carries the first category. The server refuses a check by the
reviewer who made the decision, a second check of one decision, and a check of an undone one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from triage import __version__
from triage.categories import REVIEW_SCHEMES as SCHEMES
from triage.store import StoreError
from triage.web.auth import current_user, login_required
from triage.web.context import now_text, policy, store
from triage.web.gates import reveal_refusal, revealed
from triage.web.panel import category_label, context_for

bp = Blueprint("peer", __name__)


def _categories() -> tuple[str, ...]:
    return policy().peer_categories


@bp.route("/peer/")
@login_required(("reviewer", "lead"))
def pending() -> Any:
    user = current_user()
    assert user is not None
    rows = store().peer_pending(user["id"], _categories())
    open_disagreements = (len(store().peer_disagreements(lead_cases(user)))
                          if user["role"] in ("lead", "admin") else 0)
    return render_template("peer_list.html", rows=rows, categories=_categories(),
                           disagreements=open_disagreements)


def lead_cases(user: dict[str, Any]) -> list[int] | None:
    """The cases whose disagreements this lead settles: those assigned to them (an admin: all)."""
    if user["role"] == "admin":
        return None
    return sorted({int(d["case_id"]) for d in store().assigned_devices(user["id"])})


def _action_for(user: dict[str, Any], action_id: int) -> dict[str, Any]:
    first = store().peer_action(action_id)
    if first is None or not store().may_view_device(user["id"], first["device_id"]):
        abort(404)
    return first


@bp.route("/peer/<int:action_id>")
@login_required(("reviewer", "lead"))
def check(action_id: int) -> Any:
    from triage.web.review import decision_context

    user = current_user()
    assert user is not None
    first = _action_for(user, action_id)
    s = store()
    done = s.peer_check_of(action_id)
    if first["user_id"] == user["id"]:
        flash("You made this decision; a peer check is made by another reviewer.", "info")
        return redirect(url_for("peer.pending"))
    if first["category"] not in _categories() or first["undone_at"] is not None:
        flash("That decision does not need a peer check (any more).", "info")
        return redirect(url_for("peer.pending"))
    device = s.device(first["device"])
    cid = int(first["content_id"])
    pictures = sum(1 for d in s.decisions_for(device["id"]) if d["action_id"] == action_id)
    copies = s.content_files(device["id"], cid)
    item = {"content_id": cid, "cluster_size": 1, "category": None, "reasons": [],
            "decision": None, "path": copies[0]["path"] if copies else ""}
    nxt = [r for r in s.peer_pending(user["id"], _categories()) if r["action_id"] != action_id]
    return render_template(
        "peer_check.html", device=device, item=item, action_id=action_id, pictures=pictures,
        done=done, first=first if done else None,
        first_label=category_label(first["category"]) if done else None,
        mine_label=category_label(done["checker_category"]) if done else None,
        revealed=revealed([cid]), next_id=nxt[0]["action_id"] if nxt else None,
        ctx=context_for(device, cid, None, user_id=user["id"], hide_decisions=True),
        progress=None, nav_args={}, **decision_context())


@bp.route("/api/peer/check", methods=["POST"])
@login_required(("reviewer", "lead"))
def check_api() -> Any:
    user = current_user()
    assert user is not None
    body = request.get_json(silent=True) or {}
    try:
        action_id = int(body["action_id"])
    except (KeyError, TypeError, ValueError):
        return jsonify(error="action_id must be an integer"), 400
    first = _action_for(user, action_id)
    allowed = {c for _, c, _ in SCHEMES[policy().scheme]}
    category = body.get("category")
    if category not in allowed:
        return jsonify(error=f"category must be one of {sorted(allowed)}"), 400
    if first["category"] not in _categories():
        return jsonify(error="that decision does not need a peer check"), 409
    refusal = reveal_refusal(str(category), int(first["content_id"]))
    if refusal:
        return jsonify(error=refusal, reveal_required=True), 409
    try:
        done = store().record_peer_check(action_id, user["id"], str(category), now_text())
    except StoreError as exc:
        return jsonify(error=str(exc)), 409
    store().audit_event("web:peer-check", {"user": user["name"], "action_id": action_id,
                                           "agreed": bool(done["agreed"])},
                        __version__, now_text())
    return jsonify(ok=True, agreed=bool(done["agreed"]), first_category=done["first_category"],
                   first_label=category_label(done["first_category"]),
                   first_user=done["first_user"], checker_category=done["checker_category"],
                   checker_label=category_label(done["checker_category"]))


@bp.route("/peer/disagreements")
@login_required("lead")
def disagreements() -> Any:
    user = current_user()
    assert user is not None
    scheme = policy().scheme
    return render_template("peer_disagreements.html",
                           rows=store().peer_disagreements(lead_cases(user)),
                           resolved=store().peer_disagreements(lead_cases(user),
                                                               open_only=False),
                           keys=[{"category": c, "label": label} for _, c, label in SCHEMES[scheme]],
                           label=category_label)


@bp.route("/peer/resolve/<int:check_id>", methods=["POST"])
@login_required("lead")
def resolve(check_id: int) -> Any:
    user = current_user()
    assert user is not None
    allowed = {c for _, c, _ in SCHEMES[policy().scheme]}
    category = request.form.get("category", "")
    note = (request.form.get("note") or "").strip()[:2000] or None
    if category not in allowed:
        flash("Choose the category that stands.", "error")
        return redirect(url_for("peer.disagreements"))
    cases = lead_cases(user)
    if cases is not None and not any(
            r["id"] == check_id for r in store().peer_disagreements(cases, open_only=False)):
        abort(404)
    try:
        store().resolve_peer_check(check_id, user["id"], category, note, now_text())
    except StoreError as exc:
        flash(str(exc), "error")
        return redirect(url_for("peer.disagreements"))
    store().audit_event("web:peer-resolve", {"user": user["name"], "check_id": check_id,
                                             "category": category}, __version__, now_text())
    flash(f"Resolved: {category_label(category)} stands.", "info")
    return redirect(url_for("peer.disagreements"))
