"""Alert delivery through real local servers: SMTP (aiosmtpd) and a webhook (http.server).
A notification carries the rule and figures only — never a picture, path, hash or case detail."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import jpeg, write
from triage.pipeline import Pipeline
from triage.welfare import check
from triage.demo.welfare import record_work
from triage.welfare.notify import NOTIFIERS, notifier, safe_message
from triage.welfare.policy import load_policy

CASE, DEVICE = "OP-NIGHTJAR-7731", "EXH-NIGHTJAR-PHONE"
START = datetime(2026, 1, 12, 8, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


class Hook:
    def __init__(self, port: int) -> None:
        self.bodies: list[bytes] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                hook.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def configure(workspace, smtp_port: int | None, hook_port: int) -> None:
    parts = []
    if smtp_port:
        parts.append(f'[[notify]]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {smtp_port}\n'
                     'sender = "triage@lab.test"\nto = ["welfare@lab.test"]\n')
    parts.append(f'[[notify]]\ntype = "webhook"\nurl = "http://127.0.0.1:{hook_port}/welfare"\n'
                 "timeout_seconds = 2\n")
    (workspace.config_dir / "welfare.toml").write_text("\n".join(parts))


@pytest.fixture
def lab(workspace, tmp_path):
    """A reviewer who viewed pictures of a real ingested case for 5 hours of category A."""
    ev = tmp_path / "ev"
    write(ev, "DCIM/IMG_0001.jpg", jpeg(1))
    store = workspace.open_store()
    Pipeline(workspace, store, progress=False).ingest(ev, CASE, DEVICE, 0)
    device = store.device(DEVICE)
    content = store.conn.execute("SELECT id, sha256 FROM contents").fetchone()
    uid = store.add_user("alice", "reviewer", "x", "2026-01-05T08:00:00+00:00")
    end = record_work(store, uid, START, 4 * 3600, "A")
    store.conn.execute("UPDATE exposure SET content_id=?, device_id=?",
                       (content["id"], device["id"]))
    yield store, end, {CASE, DEVICE, content["sha256"], "IMG_0001", "DCIM"}
    store.close()


def test_alerts_reach_smtp_and_webhook_without_case_detail(workspace, lab, smtp):
    store, end, secrets = lab
    controller, inbox = smtp
    hook = Hook(free_port())
    try:
        configure(workspace, controller.port, hook.server.server_port)
        result = check(store, load_policy(workspace), end)
    finally:
        hook.close()
    rules = {a["rule"] for a in result.raised}
    assert {"day-hours-warn", "day-units-stop", "care-counselling-overdue"} <= rules
    assert len(inbox.messages) == len(hook.bodies) == len(result.raised)
    mails = [message_from_bytes(m) for m in inbox.messages]
    assert all(m["To"] == "welfare@lab.test" for m in mails)
    warn = next(m for m in mails if "day-hours-warn" in m["Subject"])
    assert "revealed_hours 4.0" in warn.get_payload() and "alice" in warn["Subject"]
    posted = [json.loads(b) for b in hook.bodies]
    stop = next(p for p in posted if p["rule"] == "day-units-stop")
    assert stop["reviewer"] == "alice" and stop["figures"]["weighted_units"] == 720.0
    assert set(stop) == {"source", "alert_id", "reviewer", "rule", "level", "period", "figures",
                         "raised_at", "state"}
    everything = b"".join(inbox.messages + hook.bodies).decode()
    for secret in secrets:
        assert secret not in everything
    assert all(a["notified_at"] and not a["notify_error"] for a in store.welfare_alerts())


def test_failed_delivery_is_recorded_and_retried(workspace, lab):
    store, end, _ = lab
    port = free_port()
    configure(workspace, None, port)                       # nothing listening yet
    policy = load_policy(workspace)
    result = check(store, policy, end)
    assert result.raised and not any(d["sent"] for d in result.deliveries)
    failed = store.welfare_alerts()
    assert all(a["notified_at"] is None and "webhook" in a["notify_error"] for a in failed)
    hook = Hook(port)
    try:
        again = check(store, policy, end + timedelta(minutes=5))
    finally:
        hook.close()
    assert not again.raised and len(hook.bodies) == len(failed)
    assert all(a["notified_at"] for a in store.welfare_alerts())


def test_the_gate_notifies_new_alerts_as_the_reviewer_works(workspace, lab):
    from triage.welfare import gate

    store, end, _ = lab
    hook = Hook(free_port())
    try:
        configure(workspace, None, hook.server.server_port)
        uid = store.welfare_person("alice")["id"]
        assert gate(store, uid, end + timedelta(minutes=11)).allowed is False  # 720 units
        assert {json.loads(b)["rule"] for b in hook.bodies} >= {"day-units-stop"}
    finally:
        hook.close()


def test_registry_accepts_a_new_notifier_type_and_refuses_case_text(workspace, lab):
    store, end, _ = lab
    seen = []

    @notifier("test-list")
    class ListNotifier:
        def __init__(self, config):
            self.prefix = config["prefix"]

        def send(self, message):
            seen.append((self.prefix, message["rule"]))

    try:
        (workspace.config_dir / "welfare.toml").write_text(
            '[[notify]]\ntype = "test-list"\nprefix = "x"\n')
        check(store, load_policy(workspace), end)
        assert ("x", "day-hours-warn") in seen
    finally:
        NOTIFIERS.unregister("test-list")
    alert = {**store.welfare_alerts()[0], "figures": {"path": "DCIM/IMG_0001.jpg"}}
    with pytest.raises(ValueError, match="refusing"):
        safe_message(alert)
