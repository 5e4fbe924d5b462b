"""The backlog page of the web app: the same performance framework as `triage backlog report`,
for backlog managers, team leads and admins. Read-only: a GET never writes a snapshot (the trend
is fed by `triage backlog snapshot` and by report runs)."""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Blueprint, Response, render_template_string
from markupsafe import Markup

from triage.backlog import rank as backlog
from triage.reports.device import render_backlog_body
from triage.web.auth import login_required
from triage.web.context import now, store, workspace

bp = Blueprint("backlog", __name__, url_prefix="/backlog")
ROLES = ("backlog", "lead", "admin")

# Extends the app's base.html; the report's stylesheet is served from here because the app's
# Content-Security-Policy forbids inline styles.
PAGE = """{% extends "base.html" %}
{% block title %}Device backlog{% endblock %}
{% block body %}
<link rel="stylesheet" href="{{ url_for('backlog.stylesheet') }}">
<main class="backlog-page">{{ body }}</main>
{% endblock %}"""


@bp.route("/")
@login_required(role=ROLES)
def page() -> Any:
    fw = backlog.build(store(), workspace().config, now().date())
    return render_template_string(PAGE, body=Markup(render_backlog_body(fw)))


@bp.route("/report.css")
@login_required(role=ROLES)
def stylesheet() -> Response:
    css = resources.files("triage.reports").joinpath("templates", "report.css").read_text(
        encoding="utf-8")
    return Response(css, mimetype="text/css")
