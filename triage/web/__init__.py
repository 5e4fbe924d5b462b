"""The local review web app (Flask, server-rendered; every script and style ships in
`triage/web/static`, nothing is fetched from elsewhere).

Other stages add pages as blueprints listed in `BLUEPRINTS`; their templates extend `base.html`
and protect views with `triage.web.auth.login_required(role=...)`.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from triage.web import auth, case, exposure, peer, review
from triage.web import backlog as backlog_web
from triage.web import video as video_web
from triage.web import welfare
from triage.web.context import Clock, Policy, close_store, utc_now
from triage.workspace import Workspace

BLUEPRINTS = [auth.bp, review.bp, exposure.bp, welfare.bp, backlog_web.bp, peer.bp, case.bp,
              video_web.bp]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(workspace: Workspace, *, clock: Clock | None = None, testing: bool = False,
               host: str = "127.0.0.1") -> Flask:
    """`host` is where `triage serve` binds: off loopback the session cookie is Secure-only,
    so the app must then sit behind HTTPS."""
    app = Flask(__name__)
    review_cfg = Policy(workspace.config("review"))
    review_cfg.scheme  # fail at start-up, not on the first key press, if the scheme is wrong
    hours = float(review_cfg.security("session_hours", 8))
    app.config.update(
        TESTING=testing,
        # A new key per start: restarting the server signs everyone out, which is acceptable
        # for a local tool and means no secret is ever written to disk.
        SECRET_KEY=secrets.token_bytes(32),
        SESSION_COOKIE_NAME="triage_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=not is_loopback(host),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=hours),
        WTF_CSRF_TIME_LIMIT=int(hours * 3600),
        MAX_CONTENT_LENGTH=64 * 1024,
        TRIAGE_WORKSPACE=workspace,
        TRIAGE_CLOCK=clock or utc_now,
        TRIAGE_POLICY=review_cfg,
    )
    CSRFProtect(app)
    app.extensions["triage_open"] = exposure.OpenIntervals()
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    app.teardown_appcontext(close_store)

    @app.context_processor
    def inject_user() -> dict[str, Any]:
        return {"user": auth.current_user()}

    @app.after_request
    def security_headers(resp: Any) -> Any:
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self'; media-src 'self'; script-src 'self';"
            " style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none';"
            " form-action 'self'")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/media/", "/api/")) or resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        if request.is_json or request.path.startswith("/api/"):
            return jsonify(error=f"CSRF check failed: {exc.description}"), 400
        return render_template("error.html", code=400, message=exc.description), 400

    for code, message in ((401, "Please sign in."), (403, "Not allowed."),
                          (404, "Not found."), (409, "Conflict.")):
        app.register_error_handler(code, _error_page(code, message))
    return app


def _error_page(code: int, message: str) -> Any:
    def handler(_exc: Exception) -> Any:
        if request.path.startswith(("/api/", "/media/")):
            return jsonify(error=message), code
        return render_template("error.html", code=code, message=message), code

    return handler
