// rekam dashboard: the live channel (server-sent events) and small page helpers.
// Events: "station" (rendered fleet rows), "alarms" ({open, critical}), "commands",
// "schedule", "packets" (something changed: refresh the regions that show it).
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  var lang = document.documentElement.lang || "id";
  var words = lang === "en" ? {live: "live", lost: "reconnecting…"} : {live: "langsung", lost: "menyambung ulang…"};

  function refresh(eventName) {
    document.querySelectorAll("[data-refresh]").forEach(function (el) {
      if (el.dataset.refresh.split(" ").indexOf(eventName) < 0) return;
      if (el.dataset.busy) { el.dataset.again = "1"; return; }
      el.dataset.busy = "1";
      fetch(el.dataset.src, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { el.innerHTML = html; watchAges(el); document.dispatchEvent(new CustomEvent("rekam:refreshed", {detail: el})); })
        .catch(function () {})
        .finally(function () { delete el.dataset.busy; if (el.dataset.again) { delete el.dataset.again; refresh(eventName); } });
    });
  }

  // Regions whose content is slow to work out (data-load) are fetched once the page is up.
  function loadOnce() {
    document.querySelectorAll("[data-load]").forEach(function (el) {
      el.dataset.refresh = (el.dataset.refresh ? el.dataset.refresh + " " : "") + "load";
    });
    refresh("load");
  }

  // Relative ages ("5 s") tick every second, but only where a person can see them: a
  // thousand rows rewritten each second would cost the browser a layout pass each time.
  var shown = new Set();
  var io = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) { if (e.isIntersecting) shown.add(e.target); else shown.delete(e.target); });
  }) : null;
  function watchAges(root) {
    root.querySelectorAll("time[data-ts]").forEach(function (t) { if (io) io.observe(t); else shown.add(t); });
  }

  function replaceRows(html) {
    var body = document.getElementById("fleet-body");
    var tmp = document.createElement("tbody");
    tmp.innerHTML = html;
    Array.prototype.slice.call(tmp.children).forEach(function (tr) {
      if (body) {
        var old = document.getElementById(tr.id);
        if (old) {
          old.querySelectorAll("time[data-ts]").forEach(function (t) { if (io) io.unobserve(t); shown.delete(t); });
          old.replaceWith(tr);
          watchAges(tr);
        }
      }
      var sid = tr.dataset.station;
      document.querySelectorAll("[data-station-summary='" + sid + "']").forEach(function () { refresh("station:" + sid); });
    });
  }

  function ages() {
    var now = Date.now() / 1000;
    shown.forEach(function (t) {
      if (!t.isConnected) { shown.delete(t); return; }
      var s = Math.max(0, now - parseFloat(t.dataset.ts));
      var u = lang === "en" ? ["s", "min", "h", "d"] : ["dtk", "mnt", "jam", "hr"];
      var txt = s < 90 ? Math.round(s) + " " + u[0] : s < 5400 ? Math.round(s / 60) + " " + u[1]
              : s < 172800 ? Math.round(s / 3600) + " " + u[2] : Math.round(s / 86400) + " " + u[3];
      if (t.textContent !== txt) t.textContent = txt;
    });
  }

  function connect() {
    if (!window.EventSource) return;
    var es = new EventSource("/live");
    es.addEventListener("open", function () {
      if (status) { status.textContent = "● " + words.live; status.className = "pill ok"; }
      // Back after a gap (or dropped for falling behind): what changed meanwhile was missed, so refresh.
      if (document.body.dataset.live === "lost") ["fleet", "alarms", "commands", "schedule", "packets"].forEach(refresh);
      document.body.dataset.live = "open";
    });
    es.addEventListener("error", function () {
      if (status) { status.textContent = "○ " + words.lost; status.className = "pill warn"; }
      document.body.dataset.live = "lost";
    });
    es.addEventListener("station", function (e) { replaceRows(e.data); });
    es.addEventListener("alarms", function (e) {
      try {
        var d = JSON.parse(e.data), b = document.getElementById("alarm-badge");
        if (b) { b.textContent = d.open; b.className = "badge " + (d.critical ? "crit" : d.open ? "warn" : "ok"); }
      } catch (err) {}
      refresh("alarms");
    });
    ["commands", "schedule", "packets"].forEach(function (name) {
      es.addEventListener(name, function () { refresh(name); });
    });
  }

  document.addEventListener("change", function (e) {
    var f = e.target.form;
    if (f && f.hasAttribute("data-autosubmit")) f.requestSubmit();
  });
  document.addEventListener("submit", function (e) {
    var b = e.submitter, msg = (b && b.dataset.confirm) || e.target.dataset.confirm;
    if (msg && !window.confirm(msg)) e.preventDefault();
  });
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-check-all]");
    if (!t) return;
    document.querySelectorAll("input[name='" + t.dataset.checkAll + "']").forEach(function (c) { c.checked = t.checked; });
  });
  watchAges(document);
  setInterval(ages, 1000);
  connect();
  loadOnce();
})();
