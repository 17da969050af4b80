// rekam dashboard: charts with uPlot. Each <div class="chart" data-src="..."> gets the JSON
// {x: [unix seconds], series: [{label, values, color}], bars: bool, xkind: "time"|"index", xlabels: [...]}.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#b42318", "#1a7f37", "#9a6700", "#6e40c9", "#0e7490"];

  function draw(el) {
    fetch(el.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
      el.innerHTML = "";
      if (!d.x || d.x.length === 0) {
        el.innerHTML = "<p class='muted'>" + (el.dataset.empty || "-") + "</p>";
        el.dataset.drawn = "empty";
        return;
      }
      var n = d.series.length;
      var series = [d.xkind === "index"
        ? {label: el.dataset.xlabel || "", value: function (u, v) { return v == null ? "--" : (d.xlabels[v] || ""); }}
        : {}].concat(d.series.map(function (s, i) {
        var colour = s.color || palette[i % palette.length];
        return {label: s.label, stroke: colour, width: d.bars ? 1 : 2, fill: d.bars ? colour + "bb" : undefined,
                paths: d.bars ? uPlot.paths.bars({size: [n > 1 ? 0.4 : 0.7, 60], align: n > 1 ? (i === 0 ? -1 : 1) : 0}) : undefined,
                points: {show: !d.bars && d.x.length < 60}};
      }));
      var xaxis = d.xkind === "index"
        ? {values: function (u, ticks) { return ticks.map(function (t) { return d.xlabels[t] || ""; }); },
           splits: function () { return d.x; }}
        : {};
      var pad = d.xkind === "index" ? 0.5 : 1800;
      var opts = {width: el.clientWidth || 600, height: parseInt(el.dataset.height || "220", 10), series: series,
                  scales: {x: {time: d.xkind !== "index",
                               range: d.bars ? function (u, min, max) { return [min - pad, max + pad]; } : undefined},
                           y: {range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.1 : 1]; }}},
                  axes: [xaxis, {size: 60}],
                  tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Asia/Jakarta"); }};
      new uPlot(opts, [d.x].concat(d.series.map(function (s) { return s.values; })), el);
      el.dataset.drawn = "yes";
    }).catch(function () { el.dataset.drawn = "error"; });
  }

  function all() { document.querySelectorAll(".chart[data-src]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", all);
  document.addEventListener("rekam:refreshed", function (e) { e.detail.querySelectorAll(".chart[data-src]").forEach(draw); });
  window.rekamCharts = {draw: draw, all: all};
})();
