// triage review pages: reveal one picture at a time, re-blur, categorise with keys or buttons,
// report exposure (reveal / heartbeat / hide, and blurred time) to the server, page through the
// queue, show the context panel and save tags and notes. Ships with the package.
//
// The near-duplicate question and the undo line live in #actionbar, fixed to the bottom of the
// window: wherever the page is scrolled they are on screen. Keys are only held back while that
// question is actually showing, and never while the reviewer types in a field.
"use strict";
(() => {
  // Videos: always muted, never autoplay.
  for (const v of document.querySelectorAll("video")) {
    v.muted = true; v.autoplay = false; v.removeAttribute("autoplay"); v.preload = "none";
  }
  const root = document.getElementById("review");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const cfg = root.dataset;
  const deviceId = Number(cfg.deviceId);
  const revealMs = Number(cfg.revealSeconds) * 1000;
  const beatMs = Math.max(500, Number(cfg.heartbeat) * 1000);
  const keys = new Map(JSON.parse(cfg.keys).map((k) => [k.key, k]));
  const view = cfg.view;
  const isItem = view === "item";
  const isPeer = view === "peer";
  const revealFirst = cfg.revealFirst === "1";
  const withoutReveal = new Set(JSON.parse(cfg.withoutReveal || "[]"));
  const peerCategories = new Set(JSON.parse(cfg.peerCategories || "[]"));
  const readOnly = !!root.querySelector(".grid[data-readonly]");
  root.style.setProperty("--blur", `${Number(cfg.blur)}px`);
  root.style.setProperty("--thumb", `${Number(cfg.thumb)}px`);
  root.style.setProperty("--item", `${Number(cfg.item)}px`);
  if (cfg.greyscale !== "1") root.classList.add("colour");

  const statusEl = document.getElementById("status");
  const say = (text) => { if (statusEl) statusEl.textContent = text; };
  const carried = sessionStorage.getItem("triage-status");
  if (carried) { sessionStorage.removeItem("triage-status"); say(carried); }

  async function post(url, body, keepalive = false) {
    try {
      const r = await fetch(url, {
        method: "POST", credentials: "same-origin", keepalive,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
      });
      let data = {};
      try { data = await r.json(); } catch (e) { /* not JSON */ }
      return { ok: r.ok, status: r.status, data };
    } catch (e) {
      return { ok: false, status: 0, data: { error: "server unreachable" } };
    }
  }

  let tiles = Array.from(root.querySelectorAll(".tile:not(.known)"));
  let current = 0;
  let revealed = null; // {tile, id, timer, beat}
  const deviceOf = (tile) => Number(tile.dataset.deviceId || deviceId);

  function veil(tile) {
    const img = tile.querySelector("img.media");
    img.classList.add("veiled");
    img.src = img.dataset.blurredSrc;
    tile.classList.remove("revealed");
  }

  async function hide(keepalive = false) {
    if (!revealed) return;
    const r = revealed;
    revealed = null;
    clearTimeout(r.timer); clearInterval(r.beat);
    veil(r.tile);
    await post("/api/exposure/stop", { id: r.id }, keepalive);
  }

  // Another reviewer has this entry open (a claim): shown as taken, never revealed here.
  function markTaken(tile, who) {
    tile.classList.add("taken");
    tile.dataset.taken = who;
  }

  // The context panel's group members: blurred thumbnails only once the entry was revealed.
  function showMembers(cid) {
    for (const panel of document.querySelectorAll(`.context[data-cid="${cid}"]`)) {
      for (const img of panel.querySelectorAll("img.member[data-src]")) {
        if (!img.getAttribute("src")) img.src = img.dataset.src;
      }
      const note = panel.querySelector(".members-note");
      if (note) note.textContent = "Members, blurred.";
    }
  }

  async function reveal(tile) {
    // A video's contact sheet is never revealed whole: its frames are, one by one, in its view.
    if (tile.dataset.kind === "video") { await hide(); window.location.assign(tile.dataset.itemUrl); return; }
    if (revealed && revealed.tile === tile) { await hide(); return; }
    await hide();
    const cid = Number(tile.dataset.cid);
    const dev = deviceOf(tile);
    if (!tile.dataset.known) {
      // Revealing claims the entry for this reviewer (renews it in the item view).
      const c = await post("/api/claim", { device_id: dev, content_id: cid });
      if (c.status === 409) {
        markTaken(tile, c.data.claimed_by || "another reviewer");
        say(c.data.error || "another reviewer has this picture open");
        return;
      }
    }
    const r = await post("/api/exposure/start",
      { mode: "revealed", device_id: dev, content_id: cid });
    if (!r.ok) { say(r.data.error || "cannot reveal"); return; }
    if (r.data.notice) say(`Welfare: ${r.data.notice}`);
    const state = { tile, id: r.data.id, timer: null, beat: null };
    revealed = state;
    const img = tile.querySelector("img.media");
    img.onload = () => {
      if (revealed !== state) return;
      img.classList.remove("veiled");
      tile.dataset.revealed = "1"; // the server recorded the delivery for this session
      showMembers(cid);
    };
    img.src = `${img.dataset.revealedSrc}?e=${state.id}`;
    tile.classList.add("revealed");
    state.timer = setTimeout(() => { if (revealed === state) hide(); }, revealMs);
    state.beat = setInterval(async () => {
      if (revealed !== state) return;
      const b = await post("/api/exposure/beat", { id: state.id });
      if (b.status === 409 && revealed === state) { revealed = null; clearTimeout(state.timer);
        clearInterval(state.beat); veil(tile); }
    }, beatMs);
  }

  // Blurred thumbnails on screen are exposure too, counted separately (mode 'blurred').
  let blurred = null; // {id, beat}
  async function startBlurred() {
    if (blurred || document.visibilityState !== "visible" || !tiles.length) return;
    const body = { mode: "blurred", device_id: deviceOf(tiles[0]),
                   content_id: isItem || isPeer ? Number(tiles[0].dataset.cid) : null };
    blurred = { id: null, beat: null };
    const r = await post("/api/exposure/start", body);
    if (!r.ok) { blurred = null; return; }
    blurred.id = r.data.id;
    blurred.beat = setInterval(() => post("/api/exposure/beat", { id: r.data.id }), beatMs);
  }
  async function stopBlurred(keepalive = false) {
    if (!blurred || blurred.id === null) return;
    const b = blurred; blurred = null; clearInterval(b.beat);
    await post("/api/exposure/stop", { id: b.id }, keepalive);
  }

  function focusTile(i, scroll = true) {
    if (!tiles.length) return;
    current = Math.max(0, Math.min(i, tiles.length - 1));
    tiles.forEach((t, j) => t.classList.toggle("current", j === current));
    if (revealed && revealed.tile !== tiles[current]) hide();
    tiles[current].focus({ preventScroll: !scroll });
    if (scroll) tiles[current].scrollIntoView({ block: "nearest" });
  }

  function updateProgress(p) {
    if (!p) return;
    const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
    set("p-decided", p.decided); set("p-remaining", p.remaining);
    set("p-hours", Number(p.hours_left).toFixed(1));
  }

  // The near-duplicate question: resolves true (the whole group), false (only this), null.
  const box = document.getElementById("confirm");
  let pendingConfirm = null;
  const confirmShowing = () => pendingConfirm !== null && box && !box.hidden;
  function askCluster(n, label) {
    const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
    set("confirm-n", String(n)); set("confirm-all", String(n)); set("confirm-all2", String(n));
    set("confirm-cat", label);
    box.hidden = false;
    const back = document.activeElement;
    document.getElementById("confirm-yes").focus({ preventScroll: true });
    return new Promise((resolve) => {
      pendingConfirm = (answer) => {
        box.hidden = true; pendingConfirm = null;
        if (back && back.focus) back.focus({ preventScroll: true });
        resolve(answer);
      };
    });
  }
  if (box) {
    document.getElementById("confirm-yes").addEventListener("click", () => pendingConfirm && pendingConfirm(true));
    document.getElementById("confirm-no").addEventListener("click", () => pendingConfirm && pendingConfirm(false));
    document.getElementById("confirm-cancel").addEventListener("click", () => pendingConfirm && pendingConfirm(null));
  }

  const needsReveal = (tile, k) =>
    revealFirst && !withoutReveal.has(k.category) && tile.dataset.revealed !== "1";

  async function categorise(tile, k) {
    if (readOnly || tile.dataset.decided) {
      say("These pictures are categorised already; a category is changed by undo or by a lead.");
      return;
    }
    if (needsReveal(tile, k)) {
      tile.classList.add("needs-reveal");
      say("Reveal the picture first (Space or click): a category other than uncertain needs"
          + " it seen in this session.");
      return;
    }
    if (isPeer) { await peerAnswer(tile, k); return; }
    const size = Number(tile.dataset.cluster);
    let cluster = false;
    if (size > 1) {
      cluster = await askCluster(size, k.label);
      if (cluster === null) { say("Not categorised."); return; }
    }
    if (revealed && revealed.tile === tile) await hide();
    const body = { device_id: deviceOf(tile), content_id: Number(tile.dataset.cid),
                   category: k.category, cluster };
    if (cluster) body.covers = size;
    const r = await post("/api/decide", body);
    if (!r.ok) {
      if (r.status === 409 && r.data.claimed_by) markTaken(tile, r.data.claimed_by);
      if (r.data.cluster_size) tile.dataset.cluster = String(r.data.cluster_size);
      if (r.data.reveal_required) tile.classList.add("needs-reveal");
      say(r.data.error || "not saved");
      return;
    }
    const peer = r.data.peer_check ? " A second reviewer will check it before export." : "";
    const line = `${k.label}: applied to ${r.data.pictures} picture(s) (${r.data.rows} record(s)).${peer} Press Z to undo.`;
    say(line);
    updateProgress(r.data.progress);
    if (isItem) {
      await stopBlurred();
      sessionStorage.setItem("triage-status", line);
      window.location.assign(root.dataset.nextUrl || cfg.gridUrl);
      return;
    }
    const gone = new Set(r.data.content_ids.map(String));
    const idx = tiles.indexOf(tile);
    for (const t of tiles) if (gone.has(t.dataset.cid)) t.remove();
    tiles = tiles.filter((t) => !gone.has(t.dataset.cid));
    if (!tiles.length) { await stopBlurred(); say(`${line} Nothing left on this page.`); return; }
    focusTile(Math.min(idx, tiles.length - 1));
  }

  // The peer check: the second reviewer's own category first, then the first one is shown.
  async function peerAnswer(tile, k) {
    if (revealed && revealed.tile === tile) await hide();
    const r = await post("/api/peer/check", { action_id: Number(root.dataset.actionId),
                                              category: k.category });
    if (!r.ok) { say(r.data.error || "not saved"); return; }
    const out = document.getElementById("peer-result");
    const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
    set("peer-mine", r.data.checker_label); set("peer-first", r.data.first_label);
    set("peer-first-by", r.data.first_user);
    set("peer-outcome", r.data.agreed ? "You agree: the decision is confirmed."
      : "You disagree: the decision is listed for a lead to resolve.");
    out.hidden = false;
    out.classList.toggle("disagree", !r.data.agreed);
    tile.dataset.decided = "1";
    const next = document.getElementById("peer-next");
    if (next) next.focus();
    say(r.data.agreed ? "Confirmed." : "Disagreement recorded for a lead.");
  }

  async function undo() {
    await hide();
    const tile = tiles[current];
    const r = await post("/api/undo", { device_id: tile ? deviceOf(tile) : deviceId });
    if (!r.ok) { say(r.data.error || "nothing to undo"); return; }
    await stopBlurred();
    sessionStorage.setItem("triage-status",
      `Undone: ${r.data.content_ids.length} picture(s) back in the queue.`);
    window.location.reload();
  }

  // -- the context panel on demand (grid) ---------------------------------------------------
  const drawer = document.getElementById("drawer");
  let drawerFor = null;
  async function toggleContext(tile) {
    if (isItem || isPeer) {
      const panel = document.getElementById("context");
      if (panel) { panel.setAttribute("tabindex", "-1"); panel.focus(); }
      return;
    }
    if (!drawer || !tile) return;
    if (!drawer.hidden && drawerFor === tile) { closeDrawer(); return; }
    let r;
    try { r = await fetch(tile.dataset.contextUrl, { credentials: "same-origin" }); }
    catch (e) { say("server unreachable"); return; }
    if (!r.ok) { say("cannot load the context panel"); return; }
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    drawer.replaceChildren(...doc.body.childNodes);
    drawer.hidden = false;
    drawerFor = tile;
    wireForms(drawer);
    const close = document.getElementById("drawer-close");
    if (close) close.addEventListener("click", closeDrawer);
    if (tile.dataset.revealed === "1") showMembers(tile.dataset.cid);
  }
  function closeDrawer() {
    if (!drawer || drawer.hidden) return false;
    drawer.hidden = true;
    const back = drawerFor; drawerFor = null;
    if (back) back.focus();
    return true;
  }

  // -- tags, notes and the VICS fields ------------------------------------------------------
  function wireForms(scope) {
    for (const form of scope.querySelectorAll("form.annotate")) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = new FormData(form);
        const body = { device_id: deviceId, content_id: Number(form.dataset.cid),
          tags: String(f.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean),
          note: f.get("note"), series: f.get("series"),
          victim_identified: f.get("victim_identified") || null,
          offender_identified: f.get("offender_identified") || null,
          distributed: f.get("distributed") || null };
        const r = await post("/api/annotate", body);
        const out = form.querySelector(".saved");
        if (out) out.textContent = r.ok ? "saved" : (r.data.error || "not saved");
      });
    }
  }
  wireForms(document);

  // -- the shortcut list --------------------------------------------------------------------
  const shortcuts = document.getElementById("shortcuts");
  const openShortcuts = () => { if (shortcuts && !shortcuts.open) shortcuts.showModal(); };
  const opener = document.getElementById("shortcuts-open");
  if (opener) opener.addEventListener("click", openShortcuts);

  function follow(id) {
    const a = document.getElementById(id);
    if (a && a.href) { hide(); window.location.assign(a.href); return true; }
    return false;
  }

  function act(name) {
    const tile = tiles[current];
    if (name === "reveal" && tile) reveal(tile);
    else if (name === "undo") undo();
    else if (name === "open" && tile) { hide(); window.location.assign(tile.dataset.itemUrl); }
    else if (name === "context") toggleContext(tile);
  }

  const typing = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key.toLowerCase();
    if (confirmShowing()) {
      if (key === "y") { pendingConfirm(true); ev.preventDefault(); }
      else if (key === "n") { pendingConfirm(false); ev.preventDefault(); }
      else if (key === "escape") { pendingConfirm(null); ev.preventDefault(); }
      else if (keys.has(key)) ev.preventDefault(); // no second decision while one is asked
      return;
    }
    if (shortcuts && shortcuts.open) return; // the dialog handles Esc itself
    if (typing(ev.target)) return;
    if (key === "?") { openShortcuts(); ev.preventDefault(); return; }
    if (key === "/") { const s = document.getElementById("search"); if (s) { s.focus(); ev.preventDefault(); } return; }
    const focused = tiles.indexOf(document.activeElement);
    if (focused >= 0 && focused !== current) focusTile(focused);
    const tile = tiles[current];
    if (key === " " || key === "spacebar") {
      if (ev.target.tagName === "BUTTON" || ev.target.tagName === "A") return; // press it
      if (tile) reveal(tile); ev.preventDefault();
    } else if (key === "arrowright") {
      if (isItem) { if (root.dataset.nextUrl) { hide(); window.location.assign(root.dataset.nextUrl); } }
      else focusTile(current + 1);
      ev.preventDefault();
    } else if (key === "arrowleft") {
      if (isItem) { if (root.dataset.prevUrl) { hide(); window.location.assign(root.dataset.prevUrl); } }
      else focusTile(current - 1);
      ev.preventDefault();
    } else if (key === "home" && !isItem) { focusTile(0); ev.preventDefault(); }
    else if (key === "end" && !isItem) { focusTile(tiles.length - 1); ev.preventDefault(); }
    else if (key === "[") { follow("page-prev"); }
    else if (key === "]") { follow("page-next"); }
    else if (key === "enter" && !isItem && !isPeer && tile && document.activeElement === tile) {
      hide(); window.location.assign(tile.dataset.itemUrl);
    } else if (key === "escape") {
      if (revealed) hide();
      else if (closeDrawer()) { /* closed */ }
      else if (isItem) window.location.assign(cfg.gridUrl);
    } else if (key === "i") { toggleContext(tile); }
    else if (key === "z" && !isPeer) { undo(); }
    else if (keys.has(key) && tile) { ev.preventDefault(); categorise(tile, keys.get(key)); }
  });

  // The index is looked up at click time: a decision removes tiles and shifts the rest.
  tiles.forEach((t) => {
    t.addEventListener("click", (ev) => {
      const i = tiles.indexOf(t);
      if (i < 0) return;
      if (ev.target.closest("button.info")) { focusTile(i, false); toggleContext(t); return; }
      focusTile(i, false); reveal(t);
    });
    t.addEventListener("dblclick", () => {
      if (!isItem && !isPeer) { hide(); window.location.assign(t.dataset.itemUrl); }
    });
  });
  for (const b of document.querySelectorAll(".catbar button.cat")) {
    b.addEventListener("click", () => { const t = tiles[current]; if (t) categorise(t, keys.get(b.dataset.key)); });
  }
  for (const b of document.querySelectorAll(".catbar button[data-act]")) {
    b.addEventListener("click", () => act(b.dataset.act));
  }
  // The known view (opened on purpose): its pictures reveal on click, never by the queue keys.
  for (const t of root.querySelectorAll(".tile.known[data-cid]")) {
    t.addEventListener("click", () => reveal(t));
    t.addEventListener("keydown", (ev) => { if (ev.key === "Enter") reveal(t); });
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { hide(true); stopBlurred(true); }
    else startBlurred();
  });
  window.addEventListener("blur", () => hide(true));
  window.addEventListener("pagehide", () => { hide(true); stopBlurred(true); });
  for (const t of tiles) if (t.dataset.revealed === "1") showMembers(t.dataset.cid);
  focusTile(0, false);
  startBlurred();
})();
