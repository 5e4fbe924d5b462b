"""Sign-in, sign-out, lockout and the `login_required` decorator.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Strict, Secure off loopback; see
`create_app`). The session holds only the user id: role, lock and `active` are re-read from the
store on every request, so disabling a user takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import (Blueprint, abort, flash, g, redirect, render_template, request, session,
                   url_for)

from triage import __version__
from triage.web.context import now, now_text, policy, store
from triage.accounts import verify_password

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> dict[str, Any] | None:
    if "user" in g:
        return g.user
    user = None
    uid = session.get("user_id")
    if uid is not None:
        row = store().user(int(uid))
        if row and row["active"]:
            user = row
        else:
            session.clear()
    g.user = user
    return user


def login_required(role: str | tuple[str, ...] | None = None) -> Callable[[F], F]:
    """Require a signed-in user, optionally with one of `role` (admin always passes)."""
    roles = (role,) if isinstance(role, str) else role

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.path.startswith(("/api/", "/media/")):
                    abort(401)
                return redirect(url_for("auth.login", next=request.path))
            if roles and user["role"] not in roles and user["role"] != "admin":
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html")
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    s = store()
    user = s.user_by_name(name)
    when = now()
    message = "Wrong name or password."
    ok = False
    if user and user["locked_until"] and user["locked_until"] > now_text():
        verify_password(None, password)  # same cost as a real attempt
        message = ("This account is locked after repeated failed sign-ins. Try again later or"
                   " ask an administrator (`triage users unlock NAME`).")
    elif verify_password(user["password_hash"] if user else None, password) and user["active"]:
        ok = True
    elif user:
        lock_until = (when + timedelta(minutes=float(policy().security("lockout_minutes", 15))))
        if s.record_login_failure(user["id"], int(policy().security("max_failed_logins", 5)),
                                  lock_until.isoformat(timespec="milliseconds")):
            message = ("Too many failed sign-ins: this account is locked for"
                       f" {policy().security('lockout_minutes', 15)} minutes.")
    s.audit_event("web:login", {"user": name, "remote": request.remote_addr}, __version__,
                  now_text(), "ok" if ok else "refused")
    if not ok:
        flash(message, "error")
        return render_template("login.html", name=name), 401
    s.record_login_success(user["id"])
    session.clear()  # a fresh session at sign-in: no fixation, display settings back to defaults
    session.permanent = True
    session["user_id"] = user["id"]
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("review.index")
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    user = current_user()
    if user:
        store().audit_event("web:logout", {"user": user["name"]}, __version__, now_text())
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
