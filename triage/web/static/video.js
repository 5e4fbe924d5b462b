// triage video review: reveal one frame at a time, play the small clip on request (muted,
// faster if chosen), categorise the video and its copies with the keys, and report exposure
// (mode 'video': each frame revealed, each playback) to the server. Ships with the package.
"use strict";
(() => {
  const root = document.getElementById("video-review");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const cfg = root.dataset;
  const deviceId = Number(cfg.deviceId);
  const cid = Number(cfg.cid);
  const revealMs = Number(cfg.revealSeconds) * 1000;
  const beatMs = Math.max(500, Number(cfg.heartbeat) * 1000);
  const keys = new Map(JSON.parse(cfg.keys).map((k) => [k.key, k]));
  const CLIP = -2;
  root.style.setProperty("--blur", `${Number(cfg.blur)}px`);
  if (cfg.greyscale !== "1") root.classList.add("colour");
  const statusEl = document.getElementById("status");
  const say = (t) => { if (statusEl) statusEl.textContent = t; };

  async function post(url, body, keepalive = false) {
    try {
      const r = await fetch(url, { method: "POST", credentials: "same-origin", keepalive,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body) });
      let data = {};
      try { data = await r.json(); } catch (e) { /* not JSON */ }
      return { ok: r.ok, status: r.status, data };
    } catch (e) { return { ok: false, status: 0, data: { error: "server unreachable" } }; }
  }

  const frames = Array.from(root.querySelectorAll(".frame"));
  const video = document.getElementById("clip");
  const playBtn = document.getElementById("play");
  const rateSel = document.getElementById("rate");
  if (video) { video.muted = true; video.autoplay = false; }
  let current = 0;
  let open = null; // {kind: "frame"|"clip", el, id, timer, beat}

  async function close(keepalive = false) {
    if (!open) return;
    const o = open; open = null;
    clearTimeout(o.timer); clearInterval(o.beat);
    if (o.kind === "frame") {
      const img = o.el.querySelector("img");
      img.classList.add("veiled"); img.src = img.dataset.blurredSrc;
      o.el.classList.remove("revealed");
    } else if (video) {
      video.pause(); video.removeAttribute("src"); video.load(); video.hidden = true;
      if (playBtn) playBtn.textContent = "Play clip (muted)";
    }
    await post("/api/exposure/stop", { id: o.id }, keepalive);
  }

  async function start(frame) {
    // The welfare gate is asked by the server before anything unblurred is sent.
    const r = await post("/api/exposure/start",
      { mode: "video", device_id: deviceId, content_id: cid, frame });
    if (!r.ok) { say(r.data.error || "cannot reveal"); return null; }
    if (r.data.notice) say(`Welfare: ${r.data.notice}`);
    return r.data.id;
  }

  function beating(state) {
    state.beat = setInterval(async () => {
      if (open !== state) return;
      const b = await post("/api/exposure/beat", { id: state.id });
      if (b.status === 409 && open === state) close();
    }, beatMs);
  }

  async function reveal(i) {
    const el = frames[i];
    if (!el) return;
    if (open && open.el === el) { await close(); return; }
    await close();
    const id = await start(Number(el.dataset.frame));
    if (id === null) return;
    const state = { kind: "frame", el, id, timer: null, beat: null };
    open = state;
    const img = el.querySelector("img");
    img.onload = () => { if (open === state) img.classList.remove("veiled"); };
    img.src = `${img.dataset.revealedSrc}?e=${id}`;
    el.classList.add("revealed");
    state.timer = setTimeout(() => { if (open === state) close(); }, revealMs);
    beating(state);
  }

  async function play() {
    if (!video || !cfg.clipUrl) { say("No playback clip for this video."); return; }
    if (open && open.kind === "clip") { await close(); return; }
    await close();
    const id = await start(CLIP);
    if (id === null) return;
    const state = { kind: "clip", el: video, id, timer: null, beat: null };
    open = state;
    video.muted = true;
    video.src = `${cfg.clipUrl}?e=${id}`;
    video.hidden = false;
    video.playbackRate = Number(rateSel ? rateSel.value : 1);
    if (playBtn) playBtn.textContent = "Stop clip";
    video.onended = () => { if (open === state) close(); };
    video.onratechange = () => { if (rateSel) rateSel.value = String(video.playbackRate); };
    try { await video.play(); say(`Playing (muted) at ${video.playbackRate}x.`); }
    catch (e) { say("The clip cannot be played here."); await close(); return; }
    beating(state);
  }

  function faster() {
    if (!rateSel) return;
    const opts = Array.from(rateSel.options).map((o) => o.value);
    rateSel.value = opts[(opts.indexOf(rateSel.value) + 1) % opts.length];
    if (video) video.playbackRate = Number(rateSel.value);
    say(`Speed ${rateSel.value}x.`);
  }

  function focus(i) {
    if (!frames.length) return;
    current = Math.max(0, Math.min(i, frames.length - 1));
    frames.forEach((f, j) => f.classList.toggle("current", j === current));
    if (open && open.kind === "frame" && open.el !== frames[current]) close();
    frames[current].focus({ preventScroll: false });
  }

  async function categorise(k) {
    await close();
    // The decision covers the video and its re-encoded copies (the entry's members).
    const r = await post("/api/decide", { device_id: deviceId, content_id: cid,
                                          category: k.category, cluster: true });
    if (!r.ok) { say(r.data.error || "not saved"); return; }
    say(`${k.label}: applied to ${r.data.rows} record(s).`);
    window.location.assign(cfg.nextUrl || cfg.gridUrl);
  }

  async function undo() {
    await close();
    const r = await post("/api/undo", { device_id: deviceId });
    if (!r.ok) { say(r.data.error || "nothing to undo"); return; }
    say("Undone.");
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target && ev.target.tagName === "SELECT") return;
    const key = ev.key.toLowerCase();
    const at = frames.indexOf(document.activeElement);
    if (at >= 0 && at !== current) focus(at);
    if (key === " " || key === "spacebar") { reveal(current); ev.preventDefault(); }
    else if (key === "arrowright") { focus(current + 1); ev.preventDefault(); }
    else if (key === "arrowleft") { focus(current - 1); ev.preventDefault(); }
    else if (key === "p") { play(); ev.preventDefault(); }
    else if (key === "f") { faster(); ev.preventDefault(); }
    else if (key === "escape") { if (open) close(); else window.location.assign(cfg.gridUrl); }
    else if (key === "z") { undo(); }
    else if (keys.has(key)) { ev.preventDefault(); categorise(keys.get(key)); }
  });
  frames.forEach((f, i) => f.addEventListener("click", () => { focus(i); reveal(i); }));
  if (playBtn) playBtn.addEventListener("click", () => play());
  if (rateSel) rateSel.addEventListener("change", () => {
    if (video) video.playbackRate = Number(rateSel.value);
  });
  // Blurred frames on screen are exposure too (mode 'blurred'), as in the grid.
  let blurred = null;
  async function startBlurred() {
    if (blurred || document.visibilityState !== "visible") return;
    blurred = { id: null, beat: null };
    const r = await post("/api/exposure/start", { mode: "blurred", device_id: deviceId,
                                                  content_id: cid });
    if (!r.ok) { blurred = null; return; }
    blurred.id = r.data.id;
    blurred.beat = setInterval(() => post("/api/exposure/beat", { id: r.data.id }), beatMs);
  }
  async function stopBlurred(keepalive = false) {
    if (!blurred || blurred.id === null) return;
    const b = blurred; blurred = null; clearInterval(b.beat);
    await post("/api/exposure/stop", { id: b.id }, keepalive);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { close(true); stopBlurred(true); }
    else startBlurred();
  });
  window.addEventListener("blur", () => close(true));
  window.addEventListener("pagehide", () => { close(true); stopBlurred(true); });
  focus(0);
  startBlurred();
})();
