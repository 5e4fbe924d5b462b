"""Take the README's screenshot of the review grid on the demo workspace (blurred, generated
pictures only), with Playwright driving Debian's Chromium.

    .venv/bin/triage demo --dir demo --fresh
    .venv/bin/python scripts/review_screenshot.py --workspace demo/workspace --out docs/review-grid.png
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from triage.cli.demo_cmd import DEMO_DEVICE
from triage.cli.users_cmd import DEMO_PASSWORD, DEMO_REVIEWER
from triage.web import create_app
from triage.workspace import find_workspace

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", default="demo/workspace")
    ap.add_argument("--out", default="docs/review-grid.png")
    args = ap.parse_args()
    server = make_server("127.0.0.1", 0, create_app(find_workspace(args.workspace)),
                         threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.goto(f"{base}/login")
            page.fill("input[name=name]", DEMO_REVIEWER)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/review/{DEMO_DEVICE}")
            page.wait_for_load_state("networkidle")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
    finally:
        server.shutdown()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
