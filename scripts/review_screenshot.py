"""Take the README's screenshots of the review pages and the device report on the demo workspace
(blurred, generated pictures only), with Playwright driving Debian's Chromium at 1366x768:

- docs/review-grid.png: the queue grid with its filters and pages,
- docs/review-item.png: one entry with its context panel (text),
- docs/review-confirm.png: the near-duplicate question in the fixed action bar, after scrolling,
- docs/device-report.png: the top of the court-ready device report.

    .venv/bin/triage demo --dir demo --fresh
    .venv/bin/python scripts/review_screenshot.py --workspace demo/workspace --out docs
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from triage.cli.demo_cmd import DEMO_DEVICE
from triage.cli.users_cmd import DEMO_PASSWORD, DEMO_REVIEWER
from triage.reports.device import device_report, render_device_html
from triage.web import create_app
from triage.workspace import find_workspace

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEW = {"width": 1366, "height": 768}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", default="demo/workspace")
    ap.add_argument("--out", default="docs", help="folder for the PNG files")
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    ws = find_workspace(args.workspace)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = make_server("127.0.0.1", 0, create_app(ws), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    store = ws.open_store()
    try:
        report = device_report(store, DEMO_DEVICE, ws.config("review"))
        html, _ = render_device_html(report)
    finally:
        store.close()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport=VIEW)
            page.goto(f"{base}/login")
            page.fill("input[name=name]", DEMO_REVIEWER)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/review/{DEMO_DEVICE}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / "review-grid.png"))
            group = page.locator('.tile:not([data-cluster="1"])').first
            if group.count():
                cid = group.get_attribute("data-cid")
                page.goto(f"{base}/review/{DEMO_DEVICE}/item/{cid}")
            else:
                page.goto(page.locator(".tile").first.get_attribute("data-item-url") or "/")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / "review-item.png"))
            page.goto(f"{base}/review/{DEMO_DEVICE}")
            page.wait_for_load_state("networkidle")
            if group.count():
                tile = page.locator('.tile:not([data-cluster="1"])').first
                img = tile.locator("img.media")
                tile.click()  # reveal (the rule: a category needs the picture seen)
                page.wait_for_function("el => !el.classList.contains('veiled')",
                                       arg=img.element_handle())
                page.keyboard.press(" ")
                page.wait_for_function("el => el.classList.contains('veiled')",
                                       arg=img.element_handle())
                page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                page.keyboard.press("c")
                page.locator("#confirm").wait_for(state="visible")
                page.screenshot(path=str(out / "review-confirm.png"))
                page.keyboard.press("Escape")
            with tempfile.TemporaryDirectory() as tmp:
                report_file = Path(tmp) / "report.html"
                report_file.write_text(html, encoding="utf-8")
                page.goto(report_file.as_uri())
                page.screenshot(path=str(out / "device-report.png"))
            browser.close()
    finally:
        server.shutdown()
    print(f"wrote review-grid.png, review-item.png, review-confirm.png, device-report.png"
          f" in {out}")


if __name__ == "__main__":
    main()
