"""What the browser tests share: Debian's Chromium driven by Playwright (never a downloaded
browser), the rule for a missing one (skip on a developer's machine, fail under TRIAGE_CI=1,
where `.ci/run` installs it), a workspace's review app served on a free local port, and signing
in through the login form."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.web_support import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def missing(reason: str) -> None:
    """Skip for `reason` on a developer's machine; fail under CI, which must have it."""
    if os.environ.get("TRIAGE_CI") == "1":
        pytest.fail(f"{reason} (TRIAGE_CI=1: .ci/run must install it)")
    pytest.skip(f"{reason}; install with `apt-get install chromium` and `pip install playwright`")


def chromium_path() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        missing(f"Chromium not found at {CHROMIUM}")
    return str(path)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's Browser), closed on exit."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by werkzeug on a free port of 127.0.0.1 in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def sign_in(page: Any, base: str, name: str = "rev1", password: str = PASSWORD) -> None:
    """Sign in through the login form, as a reviewer does, and wait for the front page."""
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
