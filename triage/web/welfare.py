"""Welfare pages: the team-lead dashboard, a reviewer's own page, the acknowledgement form, and
the status endpoint the review pages poll to show the break prompt and the day lock.

The page only *shows* the break and the lock: the server enforces them, because the review
blueprint asks `triage.welfare.gate` before every reveal and every unblurred picture. base.html
loads the prompt script and style on the review blueprint's pages.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import (Blueprint, Response, abort, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from triage.store import StoreError
from triage.web.auth import current_user, login_required
from triage.web.context import now, store, workspace
from triage.welfare import status as welfare_status
from triage.welfare.alerts import acknowledge, check
from triage.welfare.policy import load_policy
from triage.welfare.report import build_report, reviewer_section

bp = Blueprint("welfare", __name__, url_prefix="/welfare")

LEADS = ("lead", "admin")


def _asset(name: str) -> str:
    return resources.files("triage.web").joinpath("templates", "welfare", name).read_text(
        encoding="utf-8")


def _ack_form(alert: dict[str, Any]) -> str:
    action = url_for("welfare.ack", alert_id=alert["id"])
    return (f'<form method="post" action="{action}" class="ack">'
            f'<input type="hidden" name="csrf_token" value="{generate_csrf()}">'
            f'<input name="note" required placeholder="what you did" '
            f'aria-label="note for alert {alert["id"]}">'
            f'<button type="submit">Acknowledge</button></form>')


def _page(reviewer: str | None, title: str) -> Any:
    policy = load_policy(workspace())
    # Showing the page evaluates the rules, so a lead never reads a stale picture when no
    # scheduled `triage welfare check` has run yet.
    check(store(), policy, now(), retry_undelivered=False)
    report = build_report(store(), policy, now(), reviewer=reviewer)
    user = current_user()
    lead = user is not None and user["role"] in LEADS
    sections = [Markup(reviewer_section(r, policy, _ack_form if lead else None))
                for r in report["reviewers"]]
    return render_template("welfare/dashboard.html", title=title, sections=sections,
                           report=report, lead=lead)


@bp.route("/")
@login_required()
def dashboard() -> Any:
    """Leads see every reviewer; anyone else is taken to their own page."""
    user = current_user()
    assert user is not None
    if user["role"] not in LEADS:
        return redirect(url_for("welfare.reviewer", name=user["name"]))
    return _page(None, "Reviewer welfare")


@bp.route("/reviewer/<name>")
@login_required()
def reviewer(name: str) -> Any:
    user = current_user()
    assert user is not None
    if user["role"] not in LEADS and user["name"] != name:
        abort(404)  # another reviewer's welfare record is not theirs to see, nor to probe for
    try:
        store().welfare_person(name)
    except StoreError:
        abort(404)
    return _page(name, f"Welfare: {name}")


@bp.route("/alerts/<int:alert_id>/ack", methods=["POST"])
@login_required(LEADS)
def ack(alert_id: int) -> Any:
    user = current_user()
    assert user is not None
    try:
        alert = acknowledge(store(), alert_id, user["name"], request.form.get("note", ""), now())
        flash(f"Alert {alert_id} acknowledged.", "info")
        target = url_for("welfare.dashboard") + f"#reviewer-{alert['user_id']}"
    except StoreError as exc:
        flash(str(exc), "error")
        target = url_for("welfare.dashboard")
    return redirect(target)


@bp.route("/status.json")
@login_required()
def status_json() -> Any:
    """The signed-in user's break and lock state, polled by the review pages."""
    user = current_user()
    assert user is not None
    return jsonify(welfare_status(store(), user["id"], now(), load_policy(workspace())))


@bp.route("/prompt.js")
def prompt_js() -> Response:
    return Response(_asset("prompt.js"), mimetype="text/javascript")


@bp.route("/welfare.css")
def welfare_css() -> Response:
    return Response(_asset("welfare.css"), mimetype="text/css")


__all__ = ["bp", "escape"]
