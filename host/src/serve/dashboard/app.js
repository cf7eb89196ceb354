// apiary serve dashboard: reads the JSON API every few seconds and draws the page. No
// framework, no network access beyond this server. A token given as #token=... in the URL
// (servers with --token-file) is kept for the session and sent as a bearer header.
"use strict";

const REFRESH_MS = 5000;
const token = (() => {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    sessionStorage.setItem("apiary-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("apiary-token");
})();

async function api(path, method = "GET") {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(path, { method, headers });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${method} ${path}: HTTP ${response.status}`);
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function when(ms) {
  if (ms == null) return "-";
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

function num(n) {
  return (n ?? 0).toLocaleString("en-US");
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

async function act(name, what) {
  try {
    await api(`/api/pipelines/${encodeURIComponent(name)}/${what}`, "POST");
    await refresh();
  } catch (e) {
    showError(e);
  }
}

function showError(e) {
  const box = document.getElementById("error");
  box.hidden = !e;
  box.textContent = e ? String(e.message || e) : "";
}

function drawPipelines(view, openByPipeline) {
  const rows = view.pipelines.map((p) => {
    const last = p.last_run;
    return el("tr", { "data-pipeline": p.name },
      el("td", { text: p.name }),
      el("td", { text: p.schedule }),
      el("td", { class: `status status-${p.status}`, text: p.status.replace("_", " "), title: p.error || "" }),
      el("td", { text: last ? `#${last.id} ${last.kind} ${when(last.started_at_ms)}` : "-" }),
      el("td", { class: "num records", text: num(last?.counts.records) }),
      el("td", { class: "num letters", text: num(openByPipeline[p.name]) }),
      el("td", { text: when(p.next_run_ms) }),
      el("td", {},
        el("button", { class: "run-now", "data-pipeline": p.name, text: "run now", onclick: () => act(p.name, "run") }),
        el("button", { class: "replay", "data-pipeline": p.name, text: "replay dead letters", onclick: () => act(p.name, "replay") })));
  });
  replaceRows(document.querySelector("#pipelines tbody"), rows);
  const errors = view.file_errors.map((f) => el("li", { text: `${f.file}: ${f.error}` }));
  document.getElementById("file-errors").replaceChildren(...errors);
  const running = view.pipelines.filter((p) => p.status === "running").length;
  document.getElementById("summary").textContent =
    `${view.pipelines.length} pipelines, ${running} running (at most ${view.max_concurrent} at once), as of ${when(view.now_ms)}`;
}

function drawChart(runs) {
  const chart = document.getElementById("chart");
  const shown = runs.slice(0, 40).reverse();
  const [width, height, pad] = [720, 200, 24];
  const top = Math.max(1, ...shown.map((r) => Math.max(r.counts.records, r.counts.dead_letters)));
  const step = Math.min(36, (width - pad) / Math.max(shown.length, 1));
  const bar = Math.min(14, Math.max(2, step / 2 - 1));
  const scale = (v) => ((height - pad) * v) / top;
  const nodes = [svg("line", { class: "axis", x1: pad, y1: height - pad, x2: width, y2: height - pad })];
  const label = svg("text", { x: 0, y: 10 });
  label.textContent = num(top);
  nodes.push(label);
  shown.forEach((r, i) => {
    const x = pad + i * step;
    const id = svg("text", { x, y: height - 8 });
    id.textContent = `#${r.id}`;
    nodes.push(id);
    for (const [kind, value, dx] of [["records", r.counts.records, 0], ["letters", r.counts.dead_letters, bar + 1]]) {
      const h = scale(value);
      const rect = svg("rect", { class: kind, x: x + dx, y: height - pad - h, width: bar, height: h, "data-run": r.id });
      const title = svg("title");
      title.textContent = `run ${r.id} (${r.pipeline}): ${num(value)} ${kind === "records" ? "records" : "dead letters"}`;
      rect.append(title);
      nodes.push(rect);
    }
  });
  chart.replaceChildren(...nodes);
}

function drawLetters(letters) {
  document.getElementById("open-letters").textContent = String(letters.length);
  const rows = letters.map((l) => el("tr", { "data-letter": l.id },
    el("td", { text: l.id }),
    el("td", { text: l.pipeline }),
    el("td", { text: l.stream }),
    el("td", { text: l.stage }),
    el("td", { class: "error-text", text: l.error }),
    el("td", { text: when(l.last_seen_ms) }),
    el("td", {}, l.exchange == null ? "-" : el("a", { href: `/api/exchanges/${l.exchange}`, text: `exchange ${l.exchange}` }))));
  replaceRows(document.querySelector("#letters tbody"), rows);
}

function drawDeprecations(notices) {
  const items = notices.map((d) => {
    const parts = [d.notice.deprecated && `deprecated ${d.notice.deprecated}`, d.notice.sunset && `sunset ${d.notice.sunset}`];
    const text = `${d.connector} API ${d.api_version}, endpoint ${d.endpoint}: ${parts.filter(Boolean).join(", ")}`;
    return el("li", { text: `${text} (pipelines: ${d.pipelines.join(", ")})` });
  });
  if (items.length === 0) items.push(el("li", { class: "none", text: "no notices received" }));
  document.getElementById("deprecations").replaceChildren(...items);
}

function drawBuckets(limits) {
  const rows = [];
  for (const [pipeline, buckets] of Object.entries(limits)) {
    for (const b of buckets) {
      const used = Math.round((100 * (b.burst - b.tokens)) / Math.max(b.burst, 1));
      rows.push(el("tr", { "data-bucket": `${pipeline}/${b.bucket}` },
        el("td", { text: pipeline }),
        el("td", { text: b.bucket }),
        el("td", { class: "num", text: `${b.tokens} / ${b.burst}` }),
        el("td", {}, el("progress", { value: b.burst - b.tokens, max: b.burst }), ` ${used}%`)));
    }
  }
  replaceRows(document.querySelector("#buckets tbody"), rows);
}

async function refresh() {
  try {
    const [view, runs, letters, notices, limits] = await Promise.all([
      api("/api/pipelines"), api("/api/runs?limit=200"), api("/api/dead-letters"),
      api("/api/deprecations"), api("/api/rate-limits"),
    ]);
    const openByPipeline = {};
    for (const l of letters) openByPipeline[l.pipeline] = (openByPipeline[l.pipeline] || 0) + 1;
    drawPipelines(view, openByPipeline);
    drawChart(runs);
    drawLetters(letters);
    drawDeprecations(notices);
    drawBuckets(limits);
    document.body.dataset.loaded = "true";
    showError(null);
  } catch (e) {
    showError(e);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
