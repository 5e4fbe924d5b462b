// triage review pages: reveal one picture at a time, re-blur, categorise with keys, and report
// exposure (reveal / heartbeat / hide, and blurred time) to the server. Ships with the package.
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
  const isItem = cfg.view === "item";
  root.style.setProperty("--blur", `${Number(cfg.blur)}px`);
  root.style.setProperty("--thumb", `${Number(cfg.thumb)}px`);
  root.style.setProperty("--item", `${Number(cfg.item)}px`);
  if (cfg.greyscale !== "1") root.classList.add("colour");

  const statusEl = document.getElementById("status");
  const say = (text) => { if (statusEl) statusEl.textContent = text; };

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

  async function reveal(tile) {
    // A video's contact sheet is never revealed whole: its frames are, one by one, in its view.
    if (tile.dataset.kind === "video") { await hide(); window.location.assign(tile.dataset.itemUrl); return; }
    if (revealed && revealed.tile === tile) { await hide(); return; }
    await hide();
    const cid = Number(tile.dataset.cid);
    // Revealing claims the entry for this reviewer (renews it in the item view).
    const c = await post("/api/claim", { device_id: deviceId, content_id: cid });
    if (c.status === 409) {
      markTaken(tile, c.data.claimed_by || "another reviewer");
      say(c.data.error || "another reviewer has this picture open");
      return;
    }
    const r = await post("/api/exposure/start",
      { mode: "revealed", device_id: deviceId, content_id: cid });
    if (!r.ok) { say(r.data.error || "cannot reveal"); return; }
    if (r.data.notice) say(`Welfare: ${r.data.notice}`);
    const state = { tile, id: r.data.id, timer: null, beat: null };
    revealed = state;
    const img = tile.querySelector("img.media");
    img.onload = () => { if (revealed === state) img.classList.remove("veiled"); };
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
    const body = { mode: "blurred", device_id: deviceId,
                   content_id: isItem ? Number(tiles[0].dataset.cid) : null };
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

  function focusTile(i) {
    if (!tiles.length) return;
    current = Math.max(0, Math.min(i, tiles.length - 1));
    tiles.forEach((t, j) => t.classList.toggle("current", j === current));
    if (revealed && revealed.tile !== tiles[current]) hide();
    tiles[current].focus({ preventScroll: false });
  }

  function updateProgress(p) {
    if (!p) return;
    const set = (id, v) => { const el = document.getElementById(id); if (el) el.textContent = v; };
    set("p-decided", p.decided); set("p-remaining", p.remaining);
    set("p-hours", Number(p.hours_left).toFixed(1));
  }

  // Confirmation for near-duplicate clusters: resolves true (cluster), false (only this), null.
  let pendingConfirm = null;
  function askCluster(n) {
    const box = document.getElementById("confirm");
    document.getElementById("confirm-n").textContent = String(n);
    box.hidden = false;
    return new Promise((resolve) => {
      pendingConfirm = (answer) => { box.hidden = true; pendingConfirm = null; resolve(answer); };
    });
  }

  async function categorise(tile, k) {
    const extra = Number(tile.dataset.cluster) - 1;
    let cluster = false;
    if (extra > 0) {
      cluster = await askCluster(extra);
      if (cluster === null) { say("Not categorised."); return; }
    }
    if (revealed && revealed.tile === tile) await hide();
    const r = await post("/api/decide", { device_id: deviceId, content_id: Number(tile.dataset.cid),
                                          category: k.category, cluster });
    if (!r.ok) {
      if (r.status === 409 && r.data.claimed_by) markTaken(tile, r.data.claimed_by);
      say(r.data.error || "not saved");
      return;
    }
    say(`${k.label}: applied to ${r.data.rows} record(s). Press Z to undo.`);
    updateProgress(r.data.progress);
    if (isItem) {
      await stopBlurred();
      window.location.assign(root.dataset.nextUrl || cfg.gridUrl);
      return;
    }
    const gone = new Set(r.data.content_ids.map(String));
    const idx = tiles.indexOf(tile);
    for (const t of tiles) if (gone.has(t.dataset.cid)) t.remove();
    tiles = tiles.filter((t) => !gone.has(t.dataset.cid));
    if (!tiles.length) { await stopBlurred(); say("Nothing left on this page."); return; }
    focusTile(Math.min(idx, tiles.length - 1));
  }

  async function undo() {
    await hide();
    const r = await post("/api/undo", { device_id: deviceId });
    if (!r.ok) { say(r.data.error || "nothing to undo"); return; }
    await stopBlurred();
    window.location.reload();
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key.toLowerCase();
    if (pendingConfirm) {
      if (key === "y") pendingConfirm(true);
      else if (key === "n") pendingConfirm(false);
      else if (key === "escape") pendingConfirm(null);
      ev.preventDefault();
      return;
    }
    const focused = tiles.indexOf(document.activeElement);
    if (focused >= 0 && focused !== current) focusTile(focused);
    const tile = tiles[current];
    if (key === " " || key === "spacebar") { if (tile) reveal(tile); ev.preventDefault(); }
    else if (key === "arrowright") {
      if (isItem) { if (root.dataset.nextUrl) { hide(); window.location.assign(root.dataset.nextUrl); } }
      else focusTile(current + 1);
      ev.preventDefault();
    } else if (key === "arrowleft") {
      if (isItem) { if (root.dataset.prevUrl) { hide(); window.location.assign(root.dataset.prevUrl); } }
      else focusTile(current - 1);
      ev.preventDefault();
    } else if (key === "enter" && !isItem && tile) { hide(); window.location.assign(tile.dataset.itemUrl); }
    else if (key === "escape") {
      if (revealed) hide(); else if (isItem) window.location.assign(cfg.gridUrl);
    } else if (key === "z") { undo(); }
    else if (keys.has(key) && tile) { ev.preventDefault(); categorise(tile, keys.get(key)); }
  });

  tiles.forEach((t, i) => t.addEventListener("click", () => { focusTile(i); reveal(t); }));
  // The known view (opened on purpose): its pictures reveal on click, never by the queue keys.
  for (const t of root.querySelectorAll(".tile.known[data-cid]")) {
    t.addEventListener("click", () => reveal(t));
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { hide(true); stopBlurred(true); }
    else startBlurred();
  });
  window.addEventListener("blur", () => hide(true));
  window.addEventListener("pagehide", () => { hide(true); stopBlurred(true); });
  focusTile(0);
  startBlurred();
})();
