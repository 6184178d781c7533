/* siting offline map viewer: inline SVG, pan/zoom by viewBox, layer toggles, click a building for its details.
   No network, no library. Reads the JSON in <script type="application/json" id="siting-map-data">.
   The container records data-state="ready" and data-errors for the headless-browser test. */
(function () {
  "use strict";
  var root = document.getElementById("siting-map");
  if (!root) { return; }
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || e));
    root.setAttribute("data-errors", errors.join(" | "));
  });
  var D = JSON.parse(document.getElementById("siting-map-data").textContent);
  // the page's language: Python passes the translations (English text -> text) and the number locale
  function T(s) { return (D.text && D.text[s]) || s; }
  var W = D.size[0], H = D.size[1];
  var holder = document.createElement("div");
  holder.innerHTML = "<svg></svg>";  // the HTML parser gives the SVG namespace (no URL written in the page)
  var svg = holder.firstChild, NS = svg.namespaceURI;
  svg.setAttribute("class", "smap-svg");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", T("interactive map"));
  var box = {x: 0, y: 0, w: W, h: H};
  function setBox() { svg.setAttribute("viewBox", box.x + " " + box.y + " " + box.w + " " + box.h); drawScale(); }
  function el(tag, attrs, parent) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { n.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(n); }
    return n;
  }
  var layers = {};
  function layer(key) { var g = el("g", {"data-layer": key}, svg); layers[key] = g; return g; }
  // draw order: bottom to top
  var gBack = layer("background"), gStreets = layer("streets"), gAreaBefore = layer("area_before");
  var gArea = layer("area"), gDemandOut = layer("uncovered"), gDemandIn = layer("covered");
  var gCand = layer("candidates"), gExist = layer("existing"), gNew = layer("converted"), gLabels = layer("labels");
  D.background.forEach(function (d) { el("path", {d: d, fill: "#9ecae1", "fill-opacity": "0.6", stroke: "none"}, gBack); });
  if (D.streets) {
    el("path", {d: D.streets, fill: "none", stroke: "#9a9a9a", "stroke-width": "0.7",
                "vector-effect": "non-scaling-stroke"}, gStreets);
  }
  var service = 0;
  function areas() {
    while (gArea.firstChild) { gArea.removeChild(gArea.firstChild); }
    while (gAreaBefore.firstChild) { gAreaBefore.removeChild(gAreaBefore.firstChild); }
    var a = D.areas[D.services[service].key];
    if (!a) { return; }
    var bw = String(2 * D.area_buffer);
    if (a.after) {
      el("path", {d: a.after, fill: "none", stroke: "#9467bd", "stroke-opacity": "0.3", "stroke-width": bw,
                  "stroke-linecap": "round", "stroke-linejoin": "round"}, gArea);
    }
    if (a.before) {
      el("path", {d: a.before, fill: "none", stroke: "#8c6d31", "stroke-opacity": "0.25", "stroke-width": bw,
                  "stroke-linecap": "round", "stroke-linejoin": "round"}, gAreaBefore);
    }
  }
  function demand() {
    while (gDemandIn.firstChild) { gDemandIn.removeChild(gDemandIn.firstChild); }
    while (gDemandOut.firstChild) { gDemandOut.removeChild(gDemandOut.firstChild); }
    var bit = 1 << service, x = D.demand.x, y = D.demand.y, sz = D.demand.size, flags = D.demand.after;
    var paths = {};
    for (var i = 0; i < x.length; i++) {
      var key = ((flags[i] & bit) ? "in" : "out") + sz[i];
      (paths[key] = paths[key] || []).push("M" + x[i] + " " + y[i] + "h0");
    }
    Object.keys(paths).forEach(function (key) {
      var cov = key.slice(0, 2) === "in";
      el("path", {d: paths[key].join(""), fill: "none", stroke: cov ? "#2ca02c" : "#d62728", "stroke-opacity": "0.6",
                  "stroke-width": String(2 + 2 * Number(key.slice(cov ? 2 : 3))), "stroke-linecap": "round",
                  "vector-effect": "non-scaling-stroke"}, cov ? gDemandIn : gDemandOut);
    });
  }
  var popup = document.createElement("div");
  popup.className = "smap-popup";
  popup.hidden = true;
  function fmt(v, digits) {
    return typeof v === "number" ? v.toLocaleString(D.locale || "en-US", {maximumFractionDigits: digits || 0}) : String(v);
  }
  function show(site, evt) {
    var rows = [[T("building"), site.id + (site.name ? " — " + site.name : "")],
                [T("status"), T(site.kind === "new" ? "converted in the plan" : site.kind === "existing" ?
                 "existing facility" : "idle building (not in the plan)")]];
    if (site.services) { rows.push([T("services in the plan"), site.services]); }
    if (site.existing_services) { rows.push([T("services already here"), site.existing_services]); }
    if (site.cost !== null && site.cost !== undefined) {
      var zh = (D.locale || "").indexOf("zh") === 0;  // full-width brackets in Chinese text
      rows.push([T("cost") + (zh ? "（" : " (") + (D.money_unit || D.currency) + (zh ? "）" : ")"),
                 fmt(site.cost / (D.money_scale || 1), D.money_scale > 1 ? 2 : 0)]);
    }
    if (site.floor_area) { rows.push([T("floor area (m²)"), fmt(site.floor_area)]); }
    if (site.year) { rows.push([T("opens"), String(site.year)]); }
    if (site.covered_only_here) { rows.push([T("covered only here"), fmt(site.covered_only_here)]); }
    if (site.rank) { rows.push([T("rank"), String(site.rank)]); }
    if (site.reasons) { rows.push([T("reasons"), site.reasons]); }
    popup.textContent = "";
    var close = document.createElement("button");
    close.type = "button"; close.className = "smap-close"; close.textContent = "×";
    close.addEventListener("click", function () { popup.hidden = true; });
    popup.appendChild(close);
    var table = document.createElement("table");
    rows.forEach(function (r) {
      var tr = document.createElement("tr"), th = document.createElement("th"), td = document.createElement("td");
      th.textContent = r[0]; td.textContent = r[1]; tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
    });
    popup.appendChild(table);
    popup.setAttribute("data-site", site.id);
    var rect = frame.getBoundingClientRect();
    var px = evt && evt.clientX !== undefined ? evt.clientX - rect.left : rect.width / 2;
    var py = evt && evt.clientY !== undefined ? evt.clientY - rect.top : rect.height / 2;
    popup.style.left = Math.max(0, Math.min(px + 12, rect.width - 340)) + "px";
    popup.style.top = Math.max(0, Math.min(py + 12, rect.height - 200)) + "px";
    popup.hidden = false;
  }
  var markerSize = {"new": 6, existing: 7, candidate: 6};
  D.sites.forEach(function (s) {
    var g = s.kind === "new" ? gNew : s.kind === "existing" ? gExist : gCand;
    var m;
    if (s.kind === "new") {
      m = el("circle", {cx: s.x, cy: s.y, r: String(markerSize["new"] * D.px), fill: "#ff7f0e", stroke: "#000",
                        "stroke-width": "1", "vector-effect": "non-scaling-stroke"}, g);
    } else {
      var h = markerSize[s.kind] * D.px;
      m = el("rect", {x: s.x - h / 2, y: s.y - h / 2, width: h, height: h, stroke: "#fff", "stroke-width": "0.8",
                      "vector-effect": "non-scaling-stroke",
                      fill: s.kind === "existing" ? "#1f77b4" : "#bdbdbd"}, g);
    }
    m.setAttribute("class", "smap-site");
    m.setAttribute("data-site", s.id);
    var title = el("title", {}, m);
    title.textContent = s.id + (s.name ? " " + s.name : "");
    m.addEventListener("click", function (evt) { evt.stopPropagation(); show(s, evt); });
    if (s.kind === "new" && (s.name || D.label_ids)) {
      var t = el("text", {x: s.x + 8 * D.px, y: s.y - 5 * D.px, "font-size": String(12 * D.px)}, gLabels);
      t.textContent = s.name || s.id;
    }
  });
  // controls
  var bar = document.createElement("div");
  bar.className = "smap-bar";
  var sel = document.createElement("select");
  sel.setAttribute("aria-label", T("service"));
  D.services.forEach(function (s, i) {
    var o = document.createElement("option"); o.value = String(i); o.textContent = s.title; sel.appendChild(o);
  });
  sel.addEventListener("change", function () { service = Number(sel.value); demand(); areas(); });
  bar.appendChild(sel);
  var names = {streets: "streets", area_before: "service area before", area: "service area after",
               covered: "covered", uncovered: "not covered", existing: "existing facilities",
               converted: "converted buildings", candidates: "other idle buildings", labels: "names"};
  Object.keys(names).forEach(function (key) {
    var lab = document.createElement("label"), cb = document.createElement("input");
    cb.type = "checkbox"; cb.checked = D.hidden.indexOf(key) < 0; cb.setAttribute("data-layer", key);
    layers[key].style.display = cb.checked ? "" : "none";
    cb.addEventListener("change", function () { layers[key].style.display = cb.checked ? "" : "none"; });
    lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + T(names[key]))); bar.appendChild(lab);
  });
  function button(text, title, fn) {
    var b = document.createElement("button"); b.type = "button"; b.textContent = text; b.title = title;
    b.addEventListener("click", fn); bar.appendChild(b);
  }
  function zoom(f, cx, cy) {
    var nx = cx - (cx - box.x) * f, ny = cy - (cy - box.y) * f;
    box = {x: nx, y: ny, w: box.w * f, h: box.h * f}; setBox();
  }
  button("+", T("zoom in"), function () { zoom(0.66, box.x + box.w / 2, box.y + box.h / 2); });
  button("−", T("zoom out"), function () { zoom(1.5, box.x + box.w / 2, box.y + box.h / 2); });
  button(T("reset"), T("whole area"), function () { box = {x: 0, y: 0, w: W, h: H}; setBox(); });
  var frame = document.createElement("div");
  frame.className = "smap-frame";
  frame.appendChild(svg);
  var scale = document.createElement("div");
  scale.className = "smap-scale";
  frame.appendChild(scale);
  var north = document.createElement("div");
  north.className = "smap-north"; north.textContent = T("▲ N");
  frame.appendChild(north);
  frame.appendChild(popup);
  root.appendChild(bar);
  root.appendChild(frame);
  function toMap(evt) {
    var r = svg.getBoundingClientRect();
    var s = Math.max(box.w / r.width, box.h / r.height);  // preserveAspectRatio meet
    var ox = (r.width * s - box.w) / 2, oy = (r.height * s - box.h) / 2;
    return {x: box.x - ox + (evt.clientX - r.left) * s, y: box.y - oy + (evt.clientY - r.top) * s, s: s};
  }
  function drawScale() {
    if (!D.metric) { scale.textContent = ""; return; }
    var r = svg.getBoundingClientRect();
    if (!r.width) { return; }
    var unitsPerPx = Math.max(box.w / r.width, box.h / r.height), metresPerPx = unitsPerPx * D.metres_per_unit;
    var target = metresPerPx * 120, k = Math.pow(10, Math.floor(Math.log10(target))), len = k;
    [1, 2, 5].forEach(function (m) { if (m * k <= target) { len = m * k; } });
    scale.style.width = Math.round(len / metresPerPx) + "px";
    scale.textContent = len >= 1000 ? (len / 1000) + " km" : len + " m";
  }
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    var p = toMap(evt); zoom(evt.deltaY < 0 ? 0.8 : 1.25, p.x, p.y);
  }, {passive: false});
  var drag = null;
  svg.addEventListener("pointerdown", function (evt) {
    if (evt.target.classList && evt.target.classList.contains("smap-site")) { return; }
    drag = {x: evt.clientX, y: evt.clientY, box: {x: box.x, y: box.y, w: box.w, h: box.h}};
    svg.setPointerCapture(evt.pointerId);
  });
  svg.addEventListener("pointermove", function (evt) {
    if (!drag) { return; }
    var p = toMap(evt);
    box = {x: drag.box.x - (evt.clientX - drag.x) * p.s, y: drag.box.y - (evt.clientY - drag.y) * p.s,
           w: drag.box.w, h: drag.box.h};
    setBox();
  });
  svg.addEventListener("pointerup", function () { drag = null; });
  svg.addEventListener("click", function () { popup.hidden = true; });
  window.addEventListener("resize", drawScale);
  demand(); areas(); setBox();
  var counts = Object.keys(layers).map(function (k) { return k + ":" + layers[k].childNodes.length; });
  root.setAttribute("data-layers", counts.join(","));
  if (window.location.hash === "#selftest") {  // the test clicks the first converted building
    var first = gNew.querySelector(".smap-site") || gExist.querySelector(".smap-site");
    if (first) { first.dispatchEvent(new MouseEvent("click", {bubbles: true, clientX: 10, clientY: 10})); }
    zoom(0.5, W / 2, H / 2);
  }
  root.setAttribute("data-state", "ready");
})();
