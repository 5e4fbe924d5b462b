"""The review pages in a real browser (Debian's Chromium driven by Playwright).

Skips on a developer machine without Chromium; fails instead under CI (TRIAGE_CI=1), where
`.ci/run` installs it. Never downloads a browser.
"""

from __future__ import annotations

import time

import pytest

from tests.browser_kit import serving, sign_in
from tests.web_support import build_lab, content_id_of
from triage.web import create_app


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    lab = build_lab(tmp_path_factory.mktemp("browser"), reveal_first=True)
    with serving(create_app(lab.ws)) as base:
        yield lab, base


def _revealed_seconds(lab, cid: int) -> float:
    store = lab.ws.open_store()
    try:
        rows = store.exposure_intervals(store.user_by_name("rev1")["id"])
    finally:
        store.close()
    return sum(r["seconds"] for r in rows if r["content_id"] == cid and r["mode"] == "revealed")


def test_review_in_the_browser(browser, served):
    lab, base = served
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base)
    page.goto(f"{base}/review/D1")

    # Safe by default: the first thumbnail is blurred and greyscale, and small.
    first = page.locator(".tile img.media").first
    first.wait_for()
    style = first.evaluate("el => getComputedStyle(el).filter")
    assert "blur(" in style and "grayscale(" in style, style
    assert first.evaluate("el => el.getBoundingClientRect().width") <= 224

    # Reveal the duplicated picture for a measured time, then hide it with the key.
    cid = content_id_of(lab.ws, "D1", "DCIM/a.jpg")
    tile = page.locator(f'.tile[data-cid="{cid}"]')
    img = tile.locator("img.media")
    t0 = time.monotonic()
    tile.click()
    page.wait_for_function("el => !el.classList.contains('veiled') && el.complete",
                           arg=img.element_handle(), timeout=5000)
    assert "blur(" not in img.evaluate("el => getComputedStyle(el).filter")
    time.sleep(2.5)  # heartbeats arrive meanwhile
    page.keyboard.press(" ")
    page.wait_for_function("el => el.classList.contains('veiled')", arg=img.element_handle())
    page.wait_for_function("() => true")
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 3
    while (recorded := _revealed_seconds(lab, cid)) < 2.0 and time.monotonic() < deadline:
        time.sleep(0.1)
    print(f"revealed for {elapsed:.2f} s measured in the test, {recorded:.2f} s recorded")
    # Never less than the reviewer saw it; and the server charges the delivered picture its
    # re-blur time (8 s) even though it was hidden sooner (a stop cannot shorten that).
    assert recorded >= elapsed - 0.8, (recorded, elapsed)
    assert 8.0 <= recorded <= 8.0 + elapsed, (recorded, elapsed)

    # Categorise it with a key: every copy on the device gets the category.
    page.keyboard.press("c")
    tile.wait_for(state="detached", timeout=5000)
    store = lab.ws.open_store()
    try:
        cats = store.file_categories(lab.d1)
    finally:
        store.close()
    assert cats[lab.dup_paths[0]] == cats[lab.dup_paths[1]] == "C"
    assert page.locator("#p-decided").inner_text() == "1"

    # A near-duplicate cluster asks first; Y applies the category to the whole cluster.
    cluster_tile = page.locator('.tile[data-cluster="2"]')
    members = int(cluster_tile.get_attribute("data-cid"))
    cluster_img = cluster_tile.locator("img.media")
    cluster_tile.click()  # a category needs the picture revealed first
    page.wait_for_function("el => !el.classList.contains('veiled') && el.complete",
                           arg=cluster_img.element_handle(), timeout=5000)
    page.keyboard.press("b")
    page.locator("#confirm").wait_for(state="visible")
    page.keyboard.press("y")
    cluster_tile.wait_for(state="detached", timeout=5000)
    store = lab.ws.open_store()
    try:
        vias = sorted(d["via"] for d in store.decisions_for(lab.d1) if d["category"] == "B")
    finally:
        store.close()
    assert vias == ["cluster", "direct"] and members

    # Undo brings the cluster back.
    page.keyboard.press("z")
    page.locator(f'.tile[data-cid="{members}"]').wait_for(timeout=5000)

    # Re-blur after the configured time (lowered by the reviewer to 1 s).
    page.goto(f"{base}/settings")
    page.fill("input[name=reveal_seconds]", "1")
    page.click("main button[type=submit]")
    page.goto(f"{base}/review/D1")
    tile = page.locator(".tile").first
    img = tile.locator("img.media")
    tile.click()
    page.wait_for_function("el => !el.classList.contains('veiled')", arg=img.element_handle())
    page.wait_for_function("el => el.classList.contains('veiled')", arg=img.element_handle(),
                           timeout=4000)
    assert not errors, errors
    page.close()


def test_known_material_reveals_only_in_the_known_view(browser, served, tmp_path):

    from click.testing import CliRunner

    from triage.cli.main import cli

    lab, base = served
    cid = content_id_of(lab.ws, "D1", "DCIM/p104.jpg")
    store = lab.ws.open_store()
    try:
        md5 = store.conn.execute("SELECT md5 FROM contents WHERE id=?", (cid,)).fetchone()[0]
    finally:
        store.close()
    (tmp_path / "alerts.md5").write_text(f"{md5}  p104.jpg\n")
    r = CliRunner().invoke(cli, ["-w", str(lab.ws.root), "hashsets", "import",
                                 str(tmp_path / "alerts.md5"), "--name", "browser-alerts",
                                 "--kind", "alert"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base)
    page.goto(f"{base}/review/D1")
    assert page.locator(f'.tile[data-cid="{cid}"]').count() == 0  # known: not in the queue
    page.goto(f"{base}/review/D1?known=1")
    tile = page.locator(f'.tile.known[data-cid="{cid}"]')
    img = tile.locator("img.media")
    tile.click()
    page.wait_for_function("el => !el.classList.contains('veiled') && el.complete",
                           arg=img.element_handle(), timeout=5000)
    page.keyboard.press("Escape")
    page.wait_for_function("el => el.classList.contains('veiled')", arg=img.element_handle())
    deadline = time.monotonic() + 5
    while _revealed_seconds(lab, cid) < 1.0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _revealed_seconds(lab, cid) >= 1.0  # charged like any reveal
    assert not errors, errors
    page.close()
