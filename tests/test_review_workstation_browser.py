"""The review workstation in Chromium (Playwright, Debian's browser) on a generated case of
~3,000 pictures: reveal before categorise, the near-duplicate question on screen after scrolling,
paging to the last entry, a filter, the peer check, the context panel's text, and the
accessibility points (keyboard and pointer, visible focus, AA contrast, 1366x768).

The case is generated and ingested once for the module (tests/review_case.py). Every wait is for
a state, never for a time.
"""

from __future__ import annotations


import pytest

from tests.review_case import build_case
from tests.browser_kit import serving, sign_in
from triage.store.browse import Browse
from triage.web import create_app

VIEW = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    case = build_case(tmp_path_factory.mktemp("workstation"))
    with serving(create_app(case.ws)) as base:
        yield case, base


def _page(browser, base: str, name: str = "rev1"):
    """A fresh browser context (its own cookies) signed in as `name`, at 1366x768."""
    ctx = browser.new_context(viewport=VIEW)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, base, name)
    return page, errors


def _decisions(case, **where):
    store = case.ws.open_store()
    try:
        rows = store.decisions_for(case.device)
    finally:
        store.close()
    return [d for d in rows if all(d[k] == v for k, v in where.items())]


def _reveal(page, tile) -> None:
    img = tile.locator("img.media")
    tile.click()
    page.wait_for_function("el => !el.classList.contains('veiled') && el.complete",
                           arg=img.element_handle(), timeout=10000)
    page.keyboard.press(" ")
    page.wait_for_function("el => el.classList.contains('veiled')", arg=img.element_handle())


def _in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """sel => { const r = document.querySelector(sel).getBoundingClientRect();
                    return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight
                           && r.left >= 0 && r.right <= innerWidth; }""", selector)


def test_a_category_needs_the_picture_revealed_first(browser, served):
    case, base = served
    page, errors = _page(browser, base)
    page.goto(f"{base}/review/EXH-1")
    cid = page.locator('.tile[data-cluster="1"]').first.get_attribute("data-cid")
    tile = page.locator(f'.tile[data-cid="{cid}"]')
    tile.focus()
    page.keyboard.press("c")
    page.wait_for_function("() => document.getElementById('status').textContent"
                           ".includes('Reveal the picture first')")
    assert tile.is_visible() and not _decisions(case, content_id=int(cid))
    # The server refuses it too, whatever the page does.
    answer = page.evaluate(
        """async cid => { const r = await fetch('/api/decide', {method: 'POST',
             headers: {'Content-Type': 'application/json',
                       'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
             body: JSON.stringify({device_id: Number(document.getElementById('review')
                                   .dataset.deviceId), content_id: Number(cid),
                                   category: 'C'})});
             return [r.status, await r.json()]; }""", cid)
    assert answer[0] == 409 and answer[1]["reveal_required"], answer
    errors[:] = [e for e in errors if "status of 409" not in e]  # that refusal, logged
    # "uncertain" needs no look: the reviewer says they cannot tell.
    # Revealed (then hidden again): the category is taken.
    _reveal(page, tile)
    page.keyboard.press("c")
    tile.wait_for(state="detached", timeout=10000)
    assert [d["category"] for d in _decisions(case, content_id=int(cid))] == ["C"]
    assert "Press Z to undo" in page.locator("#status").inner_text()
    assert _in_viewport(page, "#status")
    assert not errors, errors
    page.context.close()


def test_the_group_question_is_on_screen_after_scrolling_and_keys_work_when_it_is_gone(
        browser, served):
    case, base = served
    store = case.ws.open_store()
    try:
        entry = next(e for e in store.queue_entries(case.device) if e["cluster_size"] > 1)
        position = store.browse_position(case.device, Browse(), entry["content_id"])
    finally:
        store.close()
    page, errors = _page(browser, base)
    page.goto(f"{base}/review/EXH-1?page={(position - 1) // 60 + 1}")
    tile = page.locator(f'.tile[data-cid="{entry["content_id"]}"]')
    _reveal(page, tile)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("() => scrollY > 200")
    assert page.evaluate("document.querySelector('h1').getBoundingClientRect().bottom") < 0
    page.keyboard.press("b")
    page.locator("#confirm").wait_for(state="visible")
    assert _in_viewport(page, "#confirm"), "the question must be where the reviewer looks"
    assert page.locator("#confirm-n").inner_text() == str(entry["cluster_size"])
    page.keyboard.press("Escape")
    page.locator("#confirm").wait_for(state="hidden")
    assert "Not categorised" in page.locator("#status").inner_text()
    # With the question gone no key is held back: the arrows move again.
    before = page.evaluate("document.querySelector('.tile.current').dataset.cid")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("c => document.querySelector('.tile.current').dataset.cid !== c",
                           arg=before)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("c => document.querySelector('.tile.current').dataset.cid === c",
                           arg=before)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.keyboard.press("b")
    page.locator("#confirm").wait_for(state="visible")
    assert _in_viewport(page, "#confirm")
    page.click("#confirm-yes")  # by pointer this time
    tile.wait_for(state="detached", timeout=10000)
    vias = sorted(d["via"] for d in _decisions(case, category="B"))
    assert vias.count("direct") == 1 and vias.count("cluster") == entry["cluster_size"] - 1
    assert _in_viewport(page, "#status")
    assert f"applied to {entry['cluster_size']} picture(s)" in page.locator("#status").inner_text()
    assert not errors, errors
    page.context.close()


def test_pages_reach_the_last_entry(browser, served):
    case, base = served
    page, errors = _page(browser, base)
    page.goto(f"{base}/review/EXH-1")
    pages = int(page.locator("#page-count").first.inner_text())
    page.locator("#page-last").first.click()
    page.wait_for_url(f"**page={pages}")
    store = case.ws.open_store()
    try:
        last = store.queue_entries(case.device)[-1]["content_id"]
        total = store.queue_counts(case.device)[0]
    finally:
        store.close()
    assert pages == (total + 59) // 60 and total > 2900
    assert int(page.locator(".grid .tile").last.get_attribute("data-cid")) == last
    assert page.locator("#page-number").first.inner_text() == str(pages)
    page.keyboard.press("[")
    page.wait_for_url(f"**page={pages - 1}")
    page.keyboard.press("]")
    page.wait_for_url(f"**page={pages}")
    # Blurred by default on every page.
    style = page.locator(".tile img.media").first.evaluate("el => getComputedStyle(el).filter")
    assert "blur(" in style and "grayscale(" in style
    assert not errors, errors
    page.context.close()


def test_a_filter_shows_only_what_it_names_blurred(browser, served):
    case, base = served
    page, errors = _page(browser, base)
    page.goto(f"{base}/review/EXH-1")
    camera = page.locator("select[name=camera] option").nth(1).get_attribute("value")
    page.select_option("select[name=camera]", camera)
    page.fill("input[name=folder]", "DCIM")
    page.select_option("select[name=sort]", "date")
    page.click("#apply-filters")
    page.wait_for_url("**camera=*")
    assert camera in page.locator("#filters-shown").inner_text()
    ids = [int(t.get_attribute("data-cid")) for t in page.locator(".grid .tile").all()]
    assert ids
    store = case.ws.open_store()
    try:
        for cid in ids:
            facts = store.content_facts(cid)
            assert f"{facts['exif_make']} {facts['exif_model']}" == camera
            assert any(f["path"].startswith("DCIM/") for f in
                       store.content_files(case.device, cid))
        dates = [store.conn.execute("SELECT taken_at FROM review_facts WHERE device_id=? AND"
                                    " content_id=?", (case.device, cid)).fetchone()[0]
                 for cid in ids]
    finally:
        store.close()
    assert dates == sorted(dates, reverse=True)
    for img in page.locator(".grid .tile img.media").all()[:5]:
        assert "blur(" in img.evaluate("el => getComputedStyle(el).filter")
    # Search by file name.
    page.goto(f"{base}/review/EXH-1")
    page.keyboard.press("/")
    page.keyboard.type("img_02345")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=img_02345*")
    assert page.locator(".grid .tile").count() == 1
    assert not errors, errors
    page.context.close()


def test_peer_check_in_the_browser(browser, served):
    case, base = served
    first, errors1 = _page(browser, base, "rev1")
    first.goto(f"{base}/review/EXH-1?folder=Pictures")
    cid = int(first.locator('.tile[data-cluster="1"]').first.get_attribute("data-cid"))
    tile = first.locator(f'.tile[data-cid="{cid}"]')
    _reveal(first, tile)
    first.keyboard.press("a")
    tile.wait_for(state="detached", timeout=10000)
    assert "second reviewer will check it" in first.locator("#status").inner_text()
    first.goto(f"{base}/peer/")
    assert first.locator("#peer-none").is_visible()  # never one's own decision
    second, errors2 = _page(browser, base, "rev2")
    second.goto(f"{base}/peer/")
    second.locator("a.peer-open").first.click()
    second.wait_for_url("**/peer/*")
    # Nothing of the first decision shows before the second reviewer gives theirs.
    assert second.locator("#peer-result").is_hidden()
    assert second.locator("#peer-first").inner_text() == ""
    assert second.locator("#ctx-decisions").count() == 0
    assert "rev1" not in second.locator("main").inner_text()
    ptile = second.locator(".tile").first
    assert int(ptile.get_attribute("data-cid")) == cid
    ptile.focus()
    second.keyboard.press("b")
    second.wait_for_function("() => document.getElementById('status').textContent"
                             ".includes('Reveal the picture first')")
    _reveal(second, ptile)
    second.keyboard.press("b")
    second.locator("#peer-result").wait_for(state="visible")
    assert second.locator("#peer-first").inner_text() == "Category A"
    assert second.locator("#peer-first-by").inner_text() == "rev1"
    assert "disagree" in second.locator("#peer-outcome").inner_text().lower()
    assert _in_viewport(second, "#status")
    lead, errors3 = _page(browser, base, "lead1")
    lead.goto(f"{base}/peer/disagreements")
    row = lead.locator("#disagreements tbody tr").first
    assert "Category A" in row.inner_text() and "Category B" in row.inner_text()
    row.locator("select[name=category]").select_option("B")
    row.locator("button[type=submit]").click()
    lead.locator("#resolved").wait_for()
    assert [d["category"] for d in _decisions(case, content_id=cid)] == ["B"]
    assert not (errors1 or errors2 or errors3), (errors1, errors2, errors3)
    for p in (first, second, lead):
        p.context.close()


def test_the_context_panel_is_text_until_revealed(browser, served):
    case, base = served
    store = case.ws.open_store()
    try:
        entry = [e for e in store.queue_entries(case.device) if e["cluster_size"] > 1][-1]
        facts = store.content_facts(entry["content_id"])
        paths = [f["path"] for f in store.content_files(case.device, entry["content_id"])]
    finally:
        store.close()
    page, errors = _page(browser, base)
    page.goto(f"{base}/review/EXH-1/item/{entry['content_id']}")
    panel = page.locator("#context")
    text = panel.inner_text()
    for expected in (*paths, facts["sha256"], facts["md5"], "detected jpeg", "named .jpg",
                     f"group of {entry['cluster_size']}", *entry["reasons"]):
        assert expected in text, expected
    assert panel.locator("img[src]").count() == 0  # no picture before a reveal
    members = panel.locator("img.member")
    assert members.count() == entry["cluster_size"] - 1
    _reveal(page, page.locator(".tile.big"))
    page.wait_for_function("() => document.querySelectorAll('#context img.member[src]')"
                           ".length > 0")
    for img in members.all():
        assert "blur(" in img.evaluate("el => getComputedStyle(el).filter")
    # Tags, note and VICS fields are typed without triggering a category key.
    panel.locator("input[name=tags]").fill("series-x, bedroom")
    panel.locator("textarea[name=note]").fill("a note: cab")
    panel.locator("input[name=series]").fill("Series X")
    panel.locator("select[name=victim_identified]").select_option("yes")
    panel.locator("form.annotate button[type=submit]").click()
    page.wait_for_function("() => document.querySelector('form.annotate .saved')"
                           ".textContent === 'saved'")
    assert not _decisions(case, content_id=entry["content_id"])
    store = case.ws.open_store()
    try:
        note = store.annotation(store.device_case_id(case.device), entry["content_id"])
    finally:
        store.close()
    assert note["tags"] == ["series-x", "bedroom"] and note["victim_identified"] is True
    # The grid opens the same panel on demand (I), text only.
    page.goto(f"{base}/review/EXH-1")
    page.locator(".tile").first.focus()
    page.keyboard.press("i")
    page.locator("#drawer .context").wait_for()
    assert "SHA-256" in page.locator("#drawer").inner_text()
    assert page.locator("#drawer img[src]").count() == 0
    page.keyboard.press("Escape")
    page.locator("#drawer").wait_for(state="hidden")
    assert not errors, errors
    page.context.close()


CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const bg = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); }
    return [255, 255, 255]; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement; const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('[hidden], dialog:not([open]), option')) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') continue;
    const fg = rgb(st.color).slice(0, 3), b = bg(el);
    const [l1, l2] = [lum(fg), lum(b)].sort((x, y) => y - x);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    if (ratio < 4.5) bad.push(`${ratio.toFixed(2)} ${el.tagName} ${n.textContent.trim().slice(0, 30)}`);
  }
  return bad; }"""


def test_keyboard_pointer_focus_contrast_at_1366x768(browser, served):
    case, base = served
    page, errors = _page(browser, base)
    for url in ("/review/EXH-1", "/review/EXH-1/item/{cid}", "/peer/", "/case/OP-CASE", "/"):
        if "{cid}" in url:
            cid = page.locator(".tile").first.get_attribute("data-cid") if "item" in url else 0
            url = url.format(cid=cid)
        page.goto(base + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEW["width"], url
        bad = page.evaluate(CONTRAST)
        assert not bad, (url, bad[:10])
    # Visible focus on a tile and on a button, reached by Tab.
    page.goto(f"{base}/review/EXH-1")
    page.locator(".tile").first.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).borderColor") != "rgba(0, 0, 0, 0)"
    page.locator("#apply-filters").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    # The shortcut list: ? opens it, Esc closes it; by pointer too.
    page.locator(".tile").first.focus()
    page.keyboard.press("?")
    page.locator("#shortcuts").wait_for(state="visible")
    assert "previous / next page" in page.locator("#shortcuts").inner_text()
    page.keyboard.press("Escape")
    page.locator("#shortcuts").wait_for(state="hidden")
    page.click("#shortcuts-open")
    page.locator("#shortcuts").wait_for(state="visible")
    page.click("#shortcuts-close")
    page.locator("#shortcuts").wait_for(state="hidden")
    # Every decision action has a button: reveal and categorise by pointer alone.
    cid = int(page.locator('.tile[data-cluster="1"]').nth(2).get_attribute("data-cid"))
    tile = page.locator(f'.tile[data-cid="{cid}"]')
    tile.click()  # focus + reveal
    page.wait_for_function("el => !el.classList.contains('veiled') && el.complete",
                           arg=tile.locator("img.media").element_handle(), timeout=10000)
    page.click(".catbar button[data-key=n]")
    tile.wait_for(state="detached", timeout=10000)
    assert [d["category"] for d in _decisions(case, content_id=cid)] == ["not_indecent"]
    page.click(".catbar button[data-act=undo]")
    page.wait_for_function("() => document.getElementById('status').textContent"
                           ".startsWith('Undone')", timeout=10000)
    assert not _decisions(case, content_id=cid)
    assert not errors, errors
    page.context.close()
