"""Sign-in, sign-out, lockout and the `login_required` decorator.

Sessions are Flask's signed cookies (HttpOnly, SameSite=Strict, Secure off loopback; see
`create_app`). The session holds the user id and the user's session generation when it was
issued: role, lock, `active` and the generation are re-read from the store on every request, so
signing out, changing the password or disabling the user ends every copy of the cookie at once
(a signed cookie alone would stay valid for `session_hours`).

A refused sign-in looks the same whatever the reason (unknown name, wrong password, locked or
disabled account): one message, one status, one password-hash computation, so the page does not
tell an attacker which names exist or which accounts they have locked.
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
from triage.web.gates import start_session
from triage.accounts import verify_password
from triage.store.review import iso_ms
from triage.web.redirects import redirect_target

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> dict[str, Any] | None:
    if "user" in g:
        return g.user
    user = None
    uid = session.get("user_id")
    if uid is not None:
        row = store().user(int(uid))
        if row and row["active"] and session.get("generation") == row["session_generation"]:
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


REFUSED = ("Sign-in refused: wrong name or password, or the account is locked after repeated"
           " failed sign-ins. After {minutes} minutes you can try again, or an administrator can"
           " unlock it (`triage users unlock NAME`).")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    # Anything but POST only shows the form: HEAD (which Flask routes with GET, and which
    # CSRF protection does not check) must never sign anyone in.
    if request.method != "POST":
        return render_template("login.html")
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    s = store()
    max_attempts = int(policy().security("max_failed_logins", 5))
    minutes = float(policy().security("lockout_minutes", 15))
    user, may_check = s.reserve_login_attempt(name, max_attempts, now_text())
    # Always exactly one Argon2 verification: against a placeholder when no check is allowed.
    right = verify_password(user["password_hash"] if user and may_check else None, password)
    ok = bool(user and may_check and right and user["active"])
    reason = "ok"
    if not ok:
        reason = ("unknown name" if user is None else "locked" if not may_check
                  else "disabled" if right else "wrong password")
        if user is not None and may_check:
            lock_until = iso_ms(now() + timedelta(minutes=minutes))  # compared with now_text()
            if s.login_failed(user["id"], max_attempts, lock_until):
                reason += "; account now locked"
    s.audit_event("web:login", {"user": name, "remote": request.remote_addr, "reason": reason},
                  __version__, now_text(), "ok" if ok else "refused")
    if not ok:
        flash(REFUSED.format(minutes=f"{minutes:g}"), "error")
        return render_template("login.html", name=name), 401
    assert user is not None
    s.login_succeeded(user["id"])
    session.clear()  # a fresh session at sign-in: no fixation, display settings back to defaults
    session.permanent = True
    session["user_id"] = user["id"]
    session["generation"] = user["session_generation"]
    start_session()  # pictures revealed in an earlier session do not count in this one
    return redirect(redirect_target(request.args.get("next"), url_for("review.index")))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    user = current_user()
    if user:
        store().end_sessions(user["id"])  # every copy of this session cookie stops working
        store().forget_reveals(user["id"])
        store().audit_event("web:logout", {"user": user["name"]}, __version__, now_text())
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
