// Break prompt and day lock for the review pages. It polls /welfare/status.json (the server's
// view: the server also refuses reveals while a break is due or the day is locked) and covers
// the page while either holds. Ships with the package; no external asset.
"use strict";
(() => {
  const POLL_MS = 15000;
  let overlay = null, warning = null, countdown = null, timer = null;

  function build() {
    overlay = document.createElement("div");
    overlay.id = "welfare-prompt";
    overlay.hidden = true;
    overlay.setAttribute("role", "alertdialog");
    overlay.setAttribute("aria-live", "assertive");
    overlay.innerHTML = '<div class="box"><h2 id="welfare-title"></h2>' +
      '<p id="welfare-text"></p><p id="welfare-countdown"></p></div>';
    document.body.appendChild(overlay);
    warning = document.createElement("p");
    warning.id = "welfare-warning";
    warning.hidden = true;
    warning.setAttribute("role", "status");
    const main = document.querySelector("main") || document.body;
    main.parentNode.insertBefore(warning, main);
  }

  function fmt(s) {
    s = Math.max(0, Math.round(s));
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  }

  function show(title, text) {
    document.getElementById("welfare-title").textContent = title;
    document.getElementById("welfare-text").textContent = text;
    overlay.hidden = false;
    document.body.classList.add("welfare-blocked");
  }

  function hide() {
    overlay.hidden = true;
    document.body.classList.remove("welfare-blocked");
  }

  function render(st) {
    clearInterval(countdown);
    const cd = document.getElementById("welfare-countdown");
    cd.textContent = "";
    if (st.locked) {
      show("Review locked for today",
        `${st.lock_reason}. Reviewing reopens tomorrow, or with a team lead's recorded override.`);
    } else if (st.break_due) {
      show(`Time for a ${st.break_minutes}-minute break`,
        `You have viewed revealed pictures for ${Math.round(st.continuous_minutes)} minutes` +
        " without a break. Step away from the screen; pictures stay hidden until the break ends.");
      let left = st.break_remaining_seconds;
      cd.textContent = `${fmt(left)} left`;
      countdown = setInterval(() => {
        left -= 1;
        cd.textContent = `${fmt(left)} left`;
        if (left <= 0) { clearInterval(countdown); poll(); }
      }, 1000);
    } else {
      hide();
    }
    warning.textContent = st.warnings && st.warnings.length
      ? `Welfare: ${st.warnings.join("; ")}.` : "";
    warning.hidden = !warning.textContent;
  }

  async function poll() {
    try {
      const r = await fetch("/welfare/status.json", { credentials: "same-origin" });
      if (r.ok) render(await r.json());
    } catch (e) { /* server unreachable: the server still enforces; try again later */ }
  }

  function start() {
    build();
    poll();
    timer = setInterval(poll, POLL_MS);
    // A refused reveal (HTTP 403 from the gate) is news: ask again at once.
    document.addEventListener("welfare:refresh", poll);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
