// rekam kiosk: the live channel, number pads, in-place enrollment screens, live preview and pen strokes.
// Our own code, no library. Frames and strokes stay in this page's memory.
(() => {
  "use strict";
  const stats = (window.kioskStats = { frames: 0, latencies: [], screens: 0 });
  const $ = (sel, root = document) => root.querySelector(sel);

  // -- number pads ----------------------------------------------------------
  document.addEventListener("click", (ev) => {
    const key = ev.target.closest("[data-key]");
    if (!key) return;
    const input = document.getElementById(key.dataset.target);
    if (!input) return;
    const k = key.dataset.key;
    if (k === "back") input.value = input.value.slice(0, -1);
    else if (k === "clear") input.value = "";
    else if (!input.maxLength || input.maxLength < 0 || input.value.length < input.maxLength) input.value += k;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // -- account buttons fill an id field (touch, no keyboard) -----------------
  document.addEventListener("click", (ev) => {
    const pick = ev.target.closest("[data-fill]");
    if (!pick) return;
    const input = document.getElementById(pick.dataset.fill);
    if (!input) return;
    input.value = pick.dataset.value;
    for (const b of pick.parentElement.querySelectorAll("[data-fill]")) b.setAttribute("aria-pressed", String(b === pick));
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // -- enrollment screens swap in place --------------------------------------
  let busy = false;
  async function swapFrom(response) {
    const html = await response.text();
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fresh = doc.getElementById("screen");
    const screen = $("#screen");
    if (!fresh || !screen || new URL(response.url).pathname !== location.pathname) {
      location.href = response.url;
      return;
    }
    screen.innerHTML = fresh.innerHTML;
    screen.dataset.version = fresh.dataset.version;
    stats.screens += 1;
    setupScreen();
  }
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const r = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
      await swapFrom(r);
    } finally {
      busy = false;
    }
  }
  document.addEventListener("submit", async (ev) => {
    const form = ev.target;
    if (!form.matches("[data-swap]") || !$("#screen")) return;
    ev.preventDefault();
    const data = new FormData(form, ev.submitter);
    form.querySelectorAll("button").forEach((b) => (b.disabled = true));
    const r = await fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" });
    busy = false;
    await swapFrom(r);
  });

  // -- the pad's strokes --------------------------------------------------------
  let last = null;
  function drawPoints(points) {
    const c = $("#pad");
    if (!c) return;
    const [w, h] = c.dataset.extent.split(",").map(Number);
    const g = c.getContext("2d");
    g.lineWidth = 2.5;
    g.lineCap = "round";
    g.strokeStyle = "#0b2545";
    for (const [x, y, down] of points) {
      const px = (x / w) * c.width, py = (y / h) * c.height;
      if (down && last) {
        g.beginPath();
        g.moveTo(last[0], last[1]);
        g.lineTo(px, py);
        g.stroke();
      }
      last = down ? [px, py] : null;
    }
  }

  // -- preview frames: 8 bytes of capture time, then the JPEG -------------------
  let shownUrl = null;
  function frame(buf) {
    const img = $("#preview");
    if (!img) return;
    const t = new DataView(buf).getFloat64(0, true);
    const url = URL.createObjectURL(new Blob([new Uint8Array(buf, 8)], { type: "image/jpeg" }));
    img.src = url;
    img.decode().then(() => requestAnimationFrame(() => {
      stats.frames += 1;
      stats.latencies.push(Date.now() - t);
      if (stats.latencies.length > 500) stats.latencies.shift();
      if (shownUrl) URL.revokeObjectURL(shownUrl);
      shownUrl = url;
    })).catch(() => URL.revokeObjectURL(url));
  }

  // -- the live channel ------------------------------------------------------------
  function status(s) {
    document.body.classList.toggle("offline", !s.online);
    document.body.classList.toggle("online", s.online);
    const banner = $("#offline-banner"), pill = $("#online-pill");
    if (banner) { banner.hidden = s.online; banner.textContent = s.text; }
    if (pill) pill.hidden = !s.online;
    const home = $("#home-connection");
    if (home) home.textContent = s.text;
    const count = $("#outbox-count");
    if (count) count.textContent = s.outbox;
  }
  function connect() {
    const ws = new WebSocket(`ws://${location.host}/live`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return frame(ev.data);
      const m = JSON.parse(ev.data);
      if (m.kind === "status") status(m);
      else if (m.kind === "stroke") drawPoints(m.points);
      else if (m.kind === "logout") location.href = "/login";
      else if (m.kind === "screen") {
        const screen = $("#screen");
        if (screen && location.pathname === "/enroll" && String(m.version) !== screen.dataset.version) refresh();
      }
    };
    ws.onclose = () => setTimeout(connect, 1000);
    window.kioskSocket = ws;
  }

  function setupScreen() {
    const c = $("#pad");
    if (c) {
      last = null;
      c.getContext("2d").clearRect(0, 0, c.width, c.height);
      drawPoints(JSON.parse(c.dataset.points || "[]"));
    }
    const first = $("[data-focus-target]");
    if (first && !first.value) first.focus();
  }
  setupScreen();
  connect();
})();
