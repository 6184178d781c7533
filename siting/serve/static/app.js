/* siting serve: the what-if page. Plain JS, no library, no network but this server (works offline).
 *
 * State: the scenario (GET /api/scenario), this tab's plans (GET /api/plans, /api/plans/N), the locks and the
 * service settings the user changed. Re-plan POSTs /api/jobs and polls /api/jobs/ID until the plan arrives.
 * The tab's session id lives in sessionStorage and goes in the X-Siting-Session header, so two tabs of one
 * browser (which share cookies) keep their own plans.
 */
"use strict";
(function () {
  const SESSION_KEY = "siting_session";
  const NS = "http://www.w3.org/2000/svg";
  const params = new URLSearchParams(location.search);
  const state = {
    scenario: null, S: {}, plans: [], current: null, compare: null,
    required: new Set(), excluded: new Set(), services: {}, job: null, view: null, mapService: null,
  };

  function sessionId() {
    let sid = sessionStorage.getItem(SESSION_KEY);
    if (!sid) {
      sid = (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "")
        : Math.random().toString(16).slice(2) + Date.now().toString(16);
      sessionStorage.setItem(SESSION_KEY, sid);
    }
    return sid;
  }

  async function api(method, path, body) {
    const init = {method, headers: {"X-Siting-Session": sessionId()}};
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const data = await res.json().catch(() => ({detail: res.statusText}));
    if (!res.ok && res.status !== 202) {
      const err = new Error(data.detail || res.statusText);
      err.data = data;
      throw err;
    }
    return data;
  }

  const $ = (id) => document.getElementById(id);
  const fmtMoney = (v) => v == null ? "—" : Number(v).toLocaleString(undefined, {maximumFractionDigits: 0});
  const pct = (v) => v == null ? "—" : (100 * v).toFixed(1) + "%";
  const pts = (v) => v == null ? "—" : (v >= 0 ? "+" : "") + (100 * v).toFixed(1) + " pt";
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  // ---- page texts ----------------------------------------------------------------------------------------
  function applyStrings() {
    const S = state.S;
    document.querySelectorAll("[data-s]").forEach((node) => {
      const key = node.getAttribute("data-s");
      if (S[key] != null) node.textContent = S[key];
    });
    document.documentElement.lang = state.scenario.lang;
    $("title").textContent = S.title + " — " + state.scenario.name;
    document.title = S.title + " — " + state.scenario.name;
    $("legend-prev").textContent = S.share_previous;
    const other = state.scenario.lang === "zh" ? "en" : "zh";
    $("lang-switch").href = "?lang=" + other;
  }

  // ---- map -----------------------------------------------------------------------------------------------
  function drawMap() {
    const sc = state.scenario, m = sc.map, map = $("map");
    map.innerHTML = "";
    state.view = [0, 0, m.width, m.height];
    setView();
    const r = Math.max(m.width, m.height) / 600;   // a dot is ~1/600 of the map
    if (m.zones && m.zones.length) {
      map.appendChild(svg("path", {d: m.zones.join(""), fill: "#eef3e8", stroke: "#9bb08a", "stroke-width": r / 2,
        id: "layer-zones"}));
    }
    if (m.streets) {
      map.appendChild(svg("path", {d: m.streets, fill: "none", stroke: "#c9c9c2", "stroke-width": r / 2.5,
        id: "layer-streets"}));
    }
    const covered = svg("path", {id: "demand-covered", stroke: "#2e9e4f", "stroke-width": r * 1.9,
      "stroke-linecap": "round", fill: "none"});
    const uncovered = svg("path", {id: "demand-uncovered", stroke: "#d7453a", "stroke-width": r * 1.9,
      "stroke-linecap": "round", fill: "none"});
    map.appendChild(uncovered);
    map.appendChild(covered);
    const sites = svg("g", {id: "layer-sites"});
    map.appendChild(sites);
    for (const s of sc.sites) {
      let node;
      if (s.status === "existing") {
        node = svg("rect", {x: s.u - 2 * r, y: s.v - 2 * r, width: 4 * r, height: 4 * r, fill: "#1f5fae"});
      } else {
        node = svg("circle", {cx: s.u, cy: s.v, r: 2 * r, fill: "#9a9a9a", stroke: "#fff", "stroke-width": r / 3});
      }
      node.setAttribute("class", "site");
      node.setAttribute("data-id", s.id);
      node.addEventListener("click", (ev) => { ev.stopPropagation(); openPopup(s, ev); });
      sites.appendChild(node);
    }
    map.appendChild(svg("g", {id: "layer-marks"}));
    state.dot = r;
    paintPlan();
  }

  function paintPlan() {
    const sc = state.scenario, m = sc.map, r = state.dot;
    const plan = state.current, key = state.mapService;
    const bits = plan && plan.covered ? plan.covered[key] : null;
    let on = "", off = "";
    for (let i = 0; i < m.demand_u.length; i++) {
      const seg = "M" + m.demand_u[i] + " " + m.demand_v[i] + "h0";
      if (bits && bits[i] === "1") on += seg; else off += seg;
    }
    $("demand-covered").setAttribute("d", on);
    $("demand-uncovered").setAttribute("d", off);
    // before the first plan nothing is known about coverage: grey, not "not covered"
    $("demand-uncovered").setAttribute("stroke", bits ? "#d7453a" : "#b5b5b5");
    const converted = new Set(plan && plan.has_solution ? plan.selected : []);
    const before = new Set(state.compare && state.compare.has_solution ? state.compare.selected : []);
    const marks = $("layer-marks");
    marks.innerHTML = "";
    for (const node of $("layer-sites").children) {
      const id = node.getAttribute("data-id");
      const site = sc.sites.find((s) => s.id === id);
      if (site.status === "existing") continue;
      const conv = converted.has(id);
      node.setAttribute("fill", conv ? "#f08c00" : "#9a9a9a");
      node.setAttribute("r", (conv ? 3.2 : 2) * r);
      if (before.has(id)) {
        marks.appendChild(svg("circle", {cx: site.u, cy: site.v, r: 4.6 * r, fill: "none", stroke: "#7b2cbf",
          "stroke-width": r * 0.8, "pointer-events": "none"}));
      }
      if (state.required.has(id) || state.excluded.has(id)) {
        const need = state.required.has(id);
        marks.appendChild(svg("rect", {x: site.u - 4 * r, y: site.v - 4 * r, width: 8 * r, height: 8 * r,
          fill: "none", stroke: need ? "#1b7a36" : "#b00020", "stroke-width": r * 0.9,
          "stroke-dasharray": need ? "none" : r * 1.5, "pointer-events": "none"}));
      }
    }
  }

  function setView() {
    $("map").setAttribute("viewBox", state.view.join(" "));
  }

  function zoom(factor, cx, cy) {
    const [x, y, w, h] = state.view;
    const px = cx == null ? x + w / 2 : cx, py = cy == null ? y + h / 2 : cy;
    state.view = [px - (px - x) * factor, py - (py - y) * factor, w * factor, h * factor];
    setView();
  }

  function svgPoint(ev) {
    const map = $("map"), pt = map.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    return pt.matrixTransform(map.getScreenCTM().inverse());
  }

  function wireMap() {
    const map = $("map");
    map.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const p = svgPoint(ev);
      zoom(ev.deltaY > 0 ? 1.25 : 0.8, p.x, p.y);
    }, {passive: false});
    let drag = null;
    map.addEventListener("pointerdown", (ev) => {
      if (ev.target.classList && ev.target.classList.contains("site")) return;
      drag = {start: svgPoint(ev), view: state.view.slice()};
      map.setPointerCapture(ev.pointerId);
    });
    map.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const p = svgPoint(ev);
      state.view[0] -= p.x - drag.start.x;
      state.view[1] -= p.y - drag.start.y;
      setView();
    });
    map.addEventListener("pointerup", () => { drag = null; });
    map.addEventListener("click", () => { $("popup").hidden = true; });
    $("zoom-in").onclick = () => zoom(0.7);
    $("zoom-out").onclick = () => zoom(1.4);
    $("zoom-fit").onclick = () => { const m = state.scenario.map; state.view = [0, 0, m.width, m.height]; setView(); };
  }

  function openPopup(site, ev) {
    const S = state.S, pop = $("popup"), frame = $("map-frame").getBoundingClientRect();
    pop.innerHTML = "";
    pop.appendChild(el("strong", {}, site.id + (site.name ? " · " + site.name : "")));
    const status = state.required.has(site.id) ? S.required : state.excluded.has(site.id) ? S.excluded
      : site.status === "existing" ? S.existing : S[site.status] || site.status;
    pop.appendChild(el("div", {}, status + (site.status === "existing" ? "" : " · " + S.cost + " " +
      fmtMoney(site.cost))));
    const placed = state.current && state.current.placements ? state.current.placements[site.id] : null;
    const services = placed && placed.length ? placed.join(", ") : site.services;
    if (services) pop.appendChild(el("div", {}, S.services_here + ": " + services));
    if (site.status !== "existing") {
      const act = (label, fn) => { const b = el("button", {}, label); b.onclick = () => { fn(); done(); }; pop.appendChild(b); };
      const done = () => { pop.hidden = true; paintPlan(); renderLocks(); };
      act(S.lock_in, () => { state.excluded.delete(site.id); state.required.add(site.id); });
      act(S.lock_out, () => { state.required.delete(site.id); state.excluded.add(site.id); });
      if (state.required.has(site.id) || state.excluded.has(site.id)) {
        act(S.unlock, () => { state.required.delete(site.id); state.excluded.delete(site.id); });
      }
    }
    pop.style.left = Math.min(ev.clientX - frame.left + 8, frame.width - 240) + "px";
    pop.style.top = Math.min(ev.clientY - frame.top + 8, frame.height - 120) + "px";
    pop.hidden = false;
  }

  // ---- side panel ----------------------------------------------------------------------------------------
  function serviceRows() {
    const S = state.S, tbody = document.querySelector("#services tbody");
    tbody.innerHTML = "";
    const select = $("map-service");
    select.innerHTML = "";
    // the enabled services first (the ones a plan covers), then the rest of the catalog to switch on
    const ordered = state.scenario.services.filter((s) => s.enabled !== false)
      .concat(state.scenario.services.filter((s) => s.enabled === false));
    for (const s of ordered) {
      const tr = el("tr", {"data-key": s.key, class: s.enabled === false ? "off" : ""});
      tr.appendChild(el("td", {title: s.name, class: "name"}, s.title));
      const cell = (field, input) => { const td = el("td"); if (input) td.appendChild(input); tr.appendChild(td); return td; };
      if (s.editable) {
        const on = el("input", {type: "checkbox"}); on.checked = s.enabled;
        on.onchange = () => { setField(s, "enabled", on.checked); tr.className = on.checked ? "" : "off"; };
        cell("enabled", on);
        const num = (field, step, min, max) => {
          const inp = el("input", {type: "number", step, min});
          if (max != null) inp.max = max;
          inp.value = s[field] == null ? "" : s[field];
          inp.onchange = () => setField(s, field, inp.value === "" ? null : Number(inp.value));
          inp.setAttribute("data-field", field);
          return inp;
        };
        cell("weight", num("weight", "0.1", "0"));
        cell("min_share", num("min_share", "0.05", "0", "1"));
        cell("priority", num("priority", "1", "1"));
      } else {
        cell("enabled"); cell("weight"); cell("min_share"); cell("priority");
      }
      tr.appendChild(el("td", {class: "now"}, "—"));
      tr.appendChild(el("td", {class: "prev"}, "—"));
      tr.appendChild(el("td", {class: "change"}, "—"));
      tbody.appendChild(tr);
      if (s.enabled !== false) select.appendChild(el("option", {value: s.key}, s.title));
    }
    state.mapService = select.value;
    select.onchange = () => { state.mapService = select.value; paintPlan(); };
  }

  function setField(service, field, value) {
    const change = state.services[service.key] || (state.services[service.key] = {});
    change[field] = value;
    if (field === "enabled" && value === false) {
      // a disabled service may carry no priority or floor (the scenario loader says so); drop them with it
      change.priority = null; change.min_share = null;
    }
  }

  function renderPlan() {
    const S = state.S, plan = state.current, cmp = state.compare;
    const box = $("summary");
    box.innerHTML = "";
    if (!plan) { box.appendChild(el("p", {}, S.no_plan_yet)); return; }
    const head = el("p");
    head.appendChild(el("strong", {}, S.plan + " " + plan.plan + ": "));
    head.appendChild(el("span", {class: "status-" + plan.status, id: "plan-status"}, plan.status));
    head.appendChild(document.createTextNode(" · " + S.gap + " " + (plan.gap == null ? "—" : pct(plan.gap)) +
      " · " + plan.seconds.toFixed(1) + " " + S.seconds + " · " + S.warm_start + ": " + plan.warm_start));
    box.appendChild(head);
    box.appendChild(el("p", {id: "spent"}, S.spent + " " + fmtMoney(plan.total_cost) + " " + S.of_budget + " " +
      fmtMoney(plan.budget) + " · " + S.buildings + ": " + plan.selected.length));
    if (!plan.has_solution) box.appendChild(el("p", {class: "status-error"}, plan.message));
    for (const tr of document.querySelectorAll("#services tbody tr")) {
      const key = tr.getAttribute("data-key");
      const now = plan.shares ? plan.shares[key] : null;
      const before = cmp && cmp.shares ? cmp.shares[key] : null;
      tr.querySelector(".now").textContent = now ? pct(now.share) : "—";
      tr.querySelector(".prev").textContent = before ? pct(before.share) : "—";
      const ch = tr.querySelector(".change");
      const delta = now && before ? now.share - before.share : null;
      ch.textContent = pts(delta);
      ch.className = "change" + (delta > 1e-9 ? " up" : delta < -1e-9 ? " down" : "");
    }
    $("prev-head").textContent = cmp ? S.plan + " " + cmp.plan : S.share_previous;
    $("legend-prev").textContent = cmp ? S.plan + " " + cmp.plan : S.share_previous;
    const diff = $("diff");
    diff.innerHTML = "";
    if (cmp && plan.has_solution && cmp.has_solution) {
      const now = new Set(plan.selected), was = new Set(cmp.selected);
      const opened = plan.selected.filter((s) => !was.has(s)), closed = cmp.selected.filter((s) => !now.has(s));
      diff.appendChild(el("div", {}, S.diff_title + " " + cmp.plan + " (" + S.cost + " " +
        (plan.total_cost - cmp.total_cost >= 0 ? "+" : "") + fmtMoney(plan.total_cost - cmp.total_cost) + "):"));
      const line = (label, ids, cls) => {
        const d = el("div", {}, label + ": ");
        if (!ids.length) d.appendChild(document.createTextNode(S.none));
        ids.forEach((id) => d.appendChild(el("span", {class: "tag " + cls}, id)));
        diff.appendChild(d);
      };
      if (!opened.length && !closed.length) diff.appendChild(el("div", {}, S.no_change));
      else { line(S.opened, opened, "open"); line(S.closed, closed, "close"); }
    }
    const q = "?session=" + encodeURIComponent(sessionId()) + "&plan=" + plan.plan;
    $("export-toml").href = "/api/export" + q + "&format=toml";
    $("export-csv").href = "/api/export" + q + "&format=csv";
    $("export-gpkg").href = "/api/export" + q + "&format=gpkg";
    paintPlan();
  }

  function renderLocks() {
    const S = state.S, box = $("locks");
    box.innerHTML = "";
    box.appendChild(el("span", {}, S.locks + ": "));
    if (!state.required.size && !state.excluded.size) box.appendChild(document.createTextNode(S.none));
    for (const id of state.required) box.appendChild(el("span", {class: "tag open", title: S.required}, "+" + id));
    for (const id of state.excluded) box.appendChild(el("span", {class: "tag close", title: S.excluded}, "−" + id));
  }

  async function refreshPlans() {
    state.plans = await api("GET", "/api/plans");
    const select = $("compare");
    select.innerHTML = "";
    const others = state.plans.filter((p) => !state.current || p.plan !== state.current.plan);
    for (const p of others.slice().reverse()) {
      select.appendChild(el("option", {value: p.plan}, state.S.plan + " " + p.plan + " · " + p.status + " · " +
        fmtMoney(p.total_cost)));
    }
    $("compare-row").hidden = !others.length;
    if (others.length) {
      const want = state.compare && others.some((p) => p.plan === state.compare.plan) ? state.compare.plan
        : others[others.length - 1].plan;
      select.value = String(want);
      if (!state.compare || state.compare.plan !== want) state.compare = await api("GET", "/api/plans/" + want);
    } else {
      state.compare = null;
    }
    select.onchange = async () => { state.compare = await api("GET", "/api/plans/" + select.value); renderPlan(); };
  }

  // ---- re-plan -------------------------------------------------------------------------------------------
  function request() {
    const body = {budget: Number($("budget").value), required: [...state.required], excluded: [...state.excluded],
      time_limit: Number($("time-limit").value)};
    const services = {};
    for (const [k, v] of Object.entries(state.services)) if (Object.keys(v).length) services[k] = v;
    if (Object.keys(services).length) body.services = services;
    return body;
  }

  function busy(on) {
    $("replan").disabled = on;
    $("cancel").hidden = !on;
    $("progress").hidden = !on;
  }

  function jobText(text, error) {
    const t = $("job-text");
    t.textContent = text || "";
    t.className = error ? "error" : "";
  }

  async function replan() {
    const S = state.S;
    jobText("");
    busy(true);
    try {
      const job = await api("POST", "/api/jobs", request());
      state.job = job.job_id;
      let status = job;
      while (status.state === "queued" || status.state === "running") {
        $("progress-fill").style.width = (100 * status.progress) + "%";
        jobText(status.state === "queued" ? S.queued : S.running + " " + status.seconds.toFixed(0) + " " + S.seconds);
        await new Promise((r) => setTimeout(r, 400));
        if (state.job !== job.job_id) return;
        try { status = await api("GET", "/api/jobs/" + job.job_id); }
        catch (err) { status = err.data && err.data.state ? err.data : {state: "failed", detail: err.message}; }
      }
      if (status.state === "done") {
        const previous = state.current;
        state.current = status.plan;
        state.compare = previous;
        await refreshPlans();
        renderPlan();
        jobText("");
      } else if (status.state === "cancelled") {
        jobText(S.cancelled);
      } else {
        jobText(S.failed + ": " + (status.detail || status.error), true);
      }
    } catch (err) {
      jobText(S.failed + ": " + err.message, true);
    } finally {
      if (state.job) state.job = null;
      busy(false);
      if (state.current && Number($("time-limit").value) > state.scenario.replan_time_limit) {
        // later re-plans start from this plan: a few seconds are enough to improve it or prove its gap
        $("time-limit").value = state.scenario.replan_time_limit;
      }
    }
  }

  async function cancel() {
    const id = state.job;
    if (!id) return;
    state.job = null;
    try { await api("DELETE", "/api/jobs/" + id); } catch (err) { /* already finished */ }
    busy(false);
    jobText(state.S.cancelled);
  }

  // ---- start ---------------------------------------------------------------------------------------------
  async function start() {
    const lang = params.get("lang");
    state.scenario = await api("GET", "/api/scenario" + (lang ? "?lang=" + encodeURIComponent(lang) : ""));
    state.S = state.scenario.strings;
    applyStrings();
    $("budget").value = state.scenario.budget == null ? "" : state.scenario.budget;
    $("time-limit").value = state.scenario.time_limit == null ? 60 : state.scenario.time_limit;
    serviceRows();
    drawMap();
    wireMap();
    renderLocks();
    $("notes").textContent = (state.scenario.notes || []).join(" ");
    $("replan").onclick = replan;
    $("cancel").onclick = cancel;
    await refreshPlans();
    if (state.plans.length) {
      state.current = await api("GET", "/api/plans/" + state.plans[state.plans.length - 1].plan);
      await refreshPlans();
      $("time-limit").value = Math.min(Number($("time-limit").value), state.scenario.replan_time_limit);
    }
    renderPlan();
    document.body.setAttribute("data-ready", "1");
  }

  start().catch((err) => jobText(err.message, true));
})();
