"""Sending alerts to team leads: a registry of notifier types configured in config/welfare.toml.

A notification leaves the evidence system, so it carries only what a lead needs to act: the
reviewer's name, the rule, its figures (numbers and dates) and the time. `safe_message` builds it
from an allow-list — never a picture, a path, a hash, a case or device reference — and refuses
figures that are not plain numbers or dates, so a future rule cannot leak case detail by accident.

A lab adds a channel as a class with `__init__(self, config: dict)` and
`send(self, message: dict) -> None` (raising on failure), declared as an entry point in the
`triage.notifiers` group (see `triage.plugins`), or registered in-process with
`@notifier("teams")`.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Protocol

from triage.plugins import Registry
from triage.welfare.policy import Policy


class Notifier(Protocol):
    def send(self, message: dict[str, Any]) -> None: ...


class NotifyError(Exception):
    """A notifier's configuration is unusable."""


NOTIFIERS: Registry[Callable[[dict[str, Any]], Notifier]] = Registry(
    "triage.notifiers", "notifier", required=("send",))


def notifier(kind: str) -> Callable[[type], type]:
    """Register a notifier class in this process (a package declares an entry point instead)."""
    def register(cls: type) -> type:
        NOTIFIERS.register(kind, cls)
        return cls
    return register


_SAFE_TEXT = re.compile(r"^[0-9A-Za-z_ :.+\-]{0,40}$")  # dates, weeks, "hours", "not recorded"


def _safe_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str) and _SAFE_TEXT.match(value):
        return value
    if isinstance(value, list):
        return [_safe_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _safe_value(v) for k, v in value.items() if _SAFE_TEXT.match(str(k))}
    raise ValueError(f"figure {value!r} is not a number or date; refusing to send it")


def safe_message(alert: dict[str, Any]) -> dict[str, Any]:
    """The whole content of a notification: allow-listed fields only."""
    return {
        "source": "triage welfare",
        "alert_id": int(alert["id"]),
        "reviewer": str(alert["reviewer"]),
        "rule": str(alert["rule"]),
        "level": str(alert["level"]),
        "period": _safe_value(alert["period"]),
        "figures": _safe_value(alert["figures"]),
        "raised_at": _safe_value(alert["raised_at"]),
        "state": str(alert["state"]),
    }


def message_text(message: dict[str, Any]) -> str:
    figures = ", ".join(f"{k} {v}" for k, v in message["figures"].items())
    return (f"Welfare alert {message['alert_id']} ({message['level']}): {message['reviewer']},"
            f" rule {message['rule']}, period {message['period']}.\n"
            f"Figures: {figures}.\nRaised {message['raised_at']}.\n"
            "Acknowledge with `triage welfare ack ID --lead NAME --note ...` or on the"
            " welfare dashboard.\n")


class SmtpNotifier:
    def __init__(self, config: dict[str, Any]) -> None:
        self.host = str(config.get("host", "localhost"))
        self.port = int(config.get("port", 25))
        self.sender = str(config.get("sender", "triage@lab.invalid"))
        to = config.get("to", [])
        self.to = [to] if isinstance(to, str) else list(to)
        if not self.to:
            raise NotifyError("smtp notifier needs `to` (a lab address)")
        self.starttls = bool(config.get("starttls", False))
        self.credentials_env = str(config.get("credentials_env") or "")
        self.timeout = float(config.get("timeout_seconds", 10))

    def send(self, message: dict[str, Any]) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Subject"] = (f"[triage welfare] {message['level']}: {message['reviewer']}"
                           f" {message['rule']}")
        mail.set_content(message_text(message))
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.credentials_env:
                user, _, password = os.environ.get(self.credentials_env, "").partition(":")
                smtp.login(user, password)
            smtp.send_message(mail)


class WebhookNotifier:
    def __init__(self, config: dict[str, Any]) -> None:
        self.url = str(config.get("url", ""))
        if not self.url.startswith(("http://", "https://")):
            raise NotifyError(f"webhook notifier needs an http(s) url, not {self.url!r}")
        self.timeout = float(config.get("timeout_seconds", 5))

    def send(self, message: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url, data=json.dumps(message).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if response.status >= 300:
                raise OSError(f"webhook answered HTTP {response.status}")


def build_notifiers(policy: Policy) -> list[tuple[str, Notifier]]:
    out = []
    for conf in policy.notifiers:
        if not conf.get("enabled", True):
            continue
        kind = str(conf.get("type", ""))
        if kind not in NOTIFIERS:
            raise NotifyError(f"unknown notifier type {kind!r} in welfare.toml"
                              f" (known: {', '.join(NOTIFIERS.names())})")
        out.append((kind, NOTIFIERS.get(kind)(conf)))
    return out


def deliver(store: Any, policy: Policy, alerts: list[dict[str, Any]], now: str) -> list[dict[str, Any]]:
    """Send each alert through every enabled notifier and record the outcome on the alert.

    An alert no channel accepted stays undelivered and is retried by the next check; with no
    channel enabled it is marked so, rather than queued forever for a channel that may never come.
    """
    channels = build_notifiers(policy)
    results = []
    for alert in alerts:
        message = safe_message(alert)
        sent, errors = [], []
        for kind, channel in channels:
            try:
                channel.send(message)
                sent.append(kind)
            except Exception as exc:  # any channel failure is recorded, never fatal to review
                errors.append(f"{kind}: {exc.__class__.__name__}: {exc}")
        if not channels:
            store.mark_welfare_alert_notified(alert["id"], now, "no notifier enabled")
        elif sent:
            store.mark_welfare_alert_notified(alert["id"], now, "; ".join(errors) or None)
        else:
            store.mark_welfare_alert_notified(alert["id"], None, "; ".join(errors))
        results.append({"alert_id": alert["id"], "sent": sent, "errors": errors})
    return results
