// foreman's dashboard. Everything comes from the API with the bearer token
// (docs/api.md); changes arrive on GET /events, followed with fetch so the
// token goes in a header, never in a URL. Job data (prompts, outputs,
// errors, model names) is only ever inserted as text: el() makes text
// nodes, and nothing here parses a string as HTML.
"use strict";

const TOKEN_KEY = "foreman.token";
const PAGE = 25;
const NEXT = 8; // jobs shown under "Next up"
const SLOW_TICK = 10000; // loaded models, estimates, numbers: no event says when they change
const HEALTH_TICK = 5000; // /healthz, cheap and tokenless: a lost Ollama shows within 5 s
const $ = (id) => document.getElementById(id);

// The API is the page's parent: "/" when the page is /ui/, "/foreman/"
// behind a proxy that serves it as /foreman/ui/. Paths below are written
// from the API's root and resolved against it.
const ROOT = new URL("..", location.href);
const at = (path) => new URL(path.replace(/^\//, ""), ROOT);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  filter: { state: "", model: "" },
  cursors: [""], // cursors[i] is the cursor of page i
  page: 0,
  detail: "", // the job shown in the detail panel
  running: "", // the job whose output is streaming
  runningAbort: null,
  eventsAbort: null,
  refreshing: false,
  refreshAgain: false,
};

class AuthError extends Error {}

// el builds an element; string children become text nodes, so whatever a
// job carries is shown as text.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function fill(parent, ...children) {
  parent.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null));
}

function headers(extra) {
  const h = new Headers(extra || {});
  if (state.token) h.set("Authorization", "Bearer " + state.token);
  return h;
}

// api calls the daemon with the token; a 401 sends the user back to the
// token form.
async function api(path, opts) {
  const o = Object.assign({}, opts);
  o.headers = headers(o.headers);
  o.cache = "no-store";
  const res = await fetch(at(path), o);
  if (res.status === 401) {
    throw new AuthError(await errorText(res));
  }
  return res;
}

async function apiJSON(path, opts) {
  const res = await api(path, opts);
  if (!res.ok) throw new Error(path + ": " + res.status + " " + (await errorText(res)));
  return res.json();
}

async function errorText(res) {
  const body = await res.text();
  try {
    const j = JSON.parse(body);
    if (typeof j.error === "string") return j.error;
    if (j.error && typeof j.error.message === "string") return j.error.message;
  } catch (_) { /* not JSON */ }
  return body.trim() || res.statusText;
}

// ---------- formatting

function ago(iso) {
  if (!iso) return "";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 0 ? "just now" : duration(s) + " ago";
}

function duration(s) {
  if (s === undefined || s === null || isNaN(s)) return "–";
  s = Math.max(0, Math.round(s));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60 ? (s % 60) + " s" : "");
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + " MiB";
  return (n / (1 << 30)).toFixed(1) + " GiB";
}

function clip(s, n) {
  s = String(s || "");
  return s.length > n ? s.slice(0, n) + "…" : s;
}

function toast(msg) {
  const t = $("toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

// ---------- start and the token

async function start() {
  try {
    const q = await apiJSON("/queue");
    $("login").hidden = true;
    $("app").hidden = false;
    renderQueue(q);
    follow(q.offset + 1);
    await refresh();
    if (!state.ticking) { // once per page: a new token after a 401 comes back here
      state.ticking = true;
      slowTick();
    }
  } catch (e) {
    if (e instanceof AuthError) return askToken(state.token ? "That token was refused: " + e.message : "");
    toast("Cannot reach foreman (" + e.message + "); trying again in 5 s");
    setTimeout(start, 5000);
  }
}

function askToken(msg) {
  stopStreams();
  state.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = msg || "";
  $("login").elements.token.focus();
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = ev.target.elements.token;
  state.token = input.value.trim();
  input.value = "";
  sessionStorage.setItem(TOKEN_KEY, state.token);
  start();
});

function stopStreams() {
  if (state.eventsAbort) state.eventsAbort.abort();
  if (state.runningAbort) state.runningAbort.abort();
  state.eventsAbort = state.runningAbort = null;
  state.running = "";
}

function handleError(e) {
  if (e instanceof AuthError) askToken("The token was refused: " + e.message);
  else if (e.name !== "AbortError") toast(e.message);
}

// ---------- live: GET /events

// readLines calls fn with each NDJSON line of a streamed response, parsed
// by parse (JSON.parse by default).
async function readLines(res, fn, parse = JSON.parse) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line) continue;
      const v = parse(line);
      if (v !== null) fn(v);
    }
  }
}

// follow reads the log from offset `from` on, and schedules a refresh of
// what an event changes. It reconnects after a cut, from the next offset.
async function follow(from) {
  const ctl = new AbortController();
  state.eventsAbort = ctl;
  let backoff = 500;
  let reconnected = false;
  while (!ctl.signal.aborted) {
    try {
      const res = await api("/events?from=" + from, { signal: ctl.signal });
      if (res.status === 410) { // retention passed us: start from now, and re-read
        from = (await apiJSON("/queue")).offset + 1;
        scheduleRefresh();
        continue;
      }
      if (!res.ok) throw new Error("/events: " + res.status + " " + (await errorText(res)));
      setLive(true);
      if (reconnected) scheduleRefresh(); // what changed while cut off
      reconnected = true;
      backoff = 500;
      await readLines(res, (ev) => {
        if (ev.error) throw new Error(ev.error);
        from = ev.offset + 1;
        onEvent(ev);
      });
    } catch (e) {
      if (ctl.signal.aborted) return;
      if (e instanceof AuthError) return handleError(e);
    }
    setLive(false);
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 10000);
  }
}

function setLive(on) {
  const b = $("live");
  b.textContent = on ? "live" : "reconnecting";
  b.className = "badge " + (on ? "ok" : "warn");
}

function onEvent(ev) {
  if (!ev.type) return;
  if (ev.type.startsWith("batch.")) state.batchesChanged = true;
  if (ev.type === "job.started") state.modelsChanged = true; // maybe another model loaded
  if (ev.type.startsWith("job.") || ev.type.startsWith("batch.")) scheduleRefresh();
  if (state.detail && ev.job === state.detail) scheduleDetail();
}

// scheduleRefresh coalesces a burst of events into one refresh at a time,
// at most every MIN_REFRESH, so a busy queue (hundreds of events a second)
// costs a few requests a second, not some per event; a lone event shows
// within about 100 ms.
const MIN_REFRESH = 500;
let lastRefresh = 0;
function scheduleRefresh() {
  if (state.refreshing) { state.refreshAgain = true; return; }
  state.refreshing = true;
  setTimeout(async () => {
    lastRefresh = Date.now();
    try { await refresh(); } catch (e) { handleError(e); }
    state.refreshing = false;
    if (state.refreshAgain) { state.refreshAgain = false; scheduleRefresh(); }
  }, Math.max(100, MIN_REFRESH - (Date.now() - lastRefresh)));
}

let detailTimer = 0;
function scheduleDetail() {
  clearTimeout(detailTimer);
  detailTimer = setTimeout(() => showDetail(state.detail, false).catch(handleError), 150);
}

// refresh re-reads what events change.
async function refresh() {
  // A batch's progress moves with its lines' jobs: re-read the batches
  // with the rest while any is shown or a batch event came.
  const batches = !state.noBatches && (state.batchesChanged || state.batchesActive);
  const models = state.modelsChanged;
  state.batchesChanged = state.modelsChanged = false;
  const [q] = await Promise.all([loadQueue(), loadJobs(), loadStats(),
    batches ? loadBatches() : null, models ? loadModels() : null]);
  return q;
}

// loadQueue reads the queue with the next jobs. Their positions and ETAs
// come from a forecast the daemon redoes in the background after a change
// (at most every second); while it says they predate the latest change, the
// page asks again a second later, and again until they have settled.
let settleTimer = 0;
async function loadQueue() {
  clearTimeout(settleTimer);
  const q = await apiJSON("/queue?upcoming=" + NEXT);
  renderQueue(q);
  if (q.estimates_pending) {
    settleTimer = setTimeout(() => {
      Promise.all([loadQueue(), loadJobs()]).catch(handleError);
    }, 1100);
  }
  return q;
}

async function healthTick() {
  await loadHealth();
  setTimeout(healthTick, HEALTH_TICK);
}

// slowTick re-reads, every SLOW_TICK, what no event announces: health,
// loaded models, and the estimates, which move with the clock.
async function slowTick() {
  if (!$("app").hidden) { // not while the token form is up
    tickTimes(document);
    await refreshSlow();
    if (!state.refreshing) await refresh().catch(handleError);
  }
  setTimeout(slowTick, SLOW_TICK);
}

async function refreshSlow() {
  try {
    await Promise.all([loadModels(), loadStats(), loadBatches()]);
  } catch (e) {
    handleError(e);
  }
}

// ---------- health, models, numbers

// loadHealth shows /healthz (no token needed): the badge, and the reasons
// in a banner while the daemon is degraded or failed, so a phone shows
// them too.
async function loadHealth() {
  const b = $("health");
  const banner = $("health-reasons");
  let reasons = [];
  try {
    const res = await fetch(at("/healthz"), { cache: "no-store" });
    const h = await res.json();
    b.textContent = h.status === "ok" ? (h.degraded ? "degraded" : "healthy") : h.status;
    b.className = "badge " + (h.status !== "ok" ? "bad" : h.degraded ? "warn" : "ok");
    reasons = h.reasons || [];
    b.title = reasons.join("; ") || "Ollama reachable, log healthy";
  } catch (e) {
    b.textContent = "unreachable";
    b.className = "badge bad";
    reasons = ["foreman does not answer: " + e.message];
  }
  banner.textContent = reasons.join("; ");
  banner.hidden = reasons.length === 0;
}

async function loadModels() {
  const res = await api("/api/ps");
  const list = $("models");
  if (!res.ok) {
    fill(list, el("li", { class: "error" }, "Ollama: " + (await errorText(res))));
    return;
  }
  const ps = await res.json();
  const models = ps.models || [];
  if (!models.length) return fill(list, el("li", { class: "muted" }, "None loaded."));
  fill(list, models.map((m) => el("li", {},
    el("strong", {}, m.name), " ",
    el("span", { class: "muted" }, [m.size_vram ? bytes(m.size_vram) + " VRAM" : "", m.expires_at ? "until " + new Date(m.expires_at).toLocaleTimeString() : ""].filter(Boolean).join(", ")))));
}

async function loadStats() {
  const res = await api("/stats");
  if (!res.ok) return; // an older daemon: the numbers stay blank
  const s = await res.json();
  $("stat-jpm").textContent = s.jobs_per_minute.toFixed(1);
  $("stat-swaps").textContent = String(s.swaps);
  $("stat-wait").textContent = s.waits ? duration(s.mean_wait_seconds) : "–";
  $("stats").title = "since " + new Date(s.since).toLocaleString();
}

async function loadBatches() {
  if (state.noBatches) return;
  const res = await api("/v1/batches?limit=20");
  if (!res.ok) { // no Batch API on this daemon: do not ask again
    state.noBatches = res.status === 404 || res.status === 501;
    $("batches-panel").hidden = true;
    return;
  }
  const b = await res.json();
  const list = $("batches");
  $("batches-panel").hidden = false;
  const data = b.data || [];
  state.batchesActive = data.some((x) => !["completed", "failed", "expired", "cancelled"].includes(x.status));
  if (!data.length) return fill(list, el("li", { class: "muted" }, "No batches."));
  fill(list, data.map((x) => {
    const c = x.request_counts || {};
    const total = c.total || 0, done = (c.completed || 0) + (c.failed || 0);
    return el("li", { "data-batch-id": x.id, "data-status": x.status, class: "batch" },
      el("div", {}, el("code", {}, x.id), " ", el("span", { class: "badge s-" + x.status }, x.status), " ",
        el("span", { class: "muted" }, (x.endpoint || "") + ", " + done + " / " + total + (c.failed ? " (" + c.failed + " failed)" : ""))),
      el("progress", { max: Math.max(total, 1), value: done, "aria-label": "batch " + x.id + " progress" }));
  }));
}

// ---------- queue and the running job

function renderQueue(q) {
  $("stat-queued").textContent = String(q.waiting);
  const loaded = new Set((q.loaded || []).map(norm));
  const rows = (q.depth || []).map((d) => el("tr", {},
    el("td", {}, d.model), el("td", { class: "num" }, String(d.priority)),
    el("td", { class: "num" }, String(d.queued)), el("td", {}, loaded.has(norm(d.model)) ? "yes" : "")));
  fill($("depth"), rows.length ? rows : el("tr", {}, el("td", { colspan: 4, class: "muted" }, "Empty.")));
  const names = new Set([...(q.depth || []).map((d) => d.model), ...(q.loaded || [])]);
  fill($("model-names"), [...names].map((m) => el("option", { value: m })));
  renderRunning(q.running);
  renderNext(q.upcoming || []);
}

function norm(m) { return m.includes(":") ? m : m + ":latest"; }

function renderRunning(job) {
  const box = $("running");
  if (!job) {
    update(box, "", () => el("p", { class: "muted" }, "Nothing runs."));
    if (state.runningAbort) state.runningAbort.abort();
    state.running = "";
    return;
  }
  update(box, job.job_id + "/" + job.attempts + "/" + job.eta, () => el("p", { "data-job-id": job.job_id },
    jobLink(job.job_id), " ", el("strong", {}, job.model), " ",
    el("span", { class: "muted" }, "attempt " + job.attempts), " ",
    job.eta ? el("span", { class: "muted", "data-eta": job.eta, "data-suffix": " left" }) : null, " ",
    el("span", { id: "tokens", class: "muted" }, state.running === job.job_id ? state.tokens : "")));
  if (state.running !== job.job_id) streamOutput(job.job_id);
}

// update rebuilds parent's children only when key changed (the rest of a
// refresh keeps the nodes, the focus and the pointer's target), then
// re-renders its clock-relative texts.
function update(parent, key, build) {
  if (parent.dataset.key !== key) {
    parent.dataset.key = key;
    fill(parent, build());
  }
  tickTimes(parent);
}

// streamOutput shows the running job's tokens as Ollama produces them
// (GET /jobs/{id}/stream).
async function streamOutput(id) {
  if (state.runningAbort) state.runningAbort.abort();
  const ctl = new AbortController();
  state.runningAbort = ctl;
  state.running = id;
  const out = $("output");
  out.textContent = "";
  state.tokens = "";
  let n = 0;
  try {
    const res = await api("/jobs/" + id + "/stream", { signal: ctl.signal });
    if (!res.ok) return;
    await readLines(res, (line) => {
      if (line.restart) { out.textContent = ""; n = 0; return; }
      if (line.error) { out.append(document.createTextNode("\n[error] " + line.error)); return; }
      if (line.done && n > 0) return; // the final result repeats what streamed
      const t = chunkText(line);
      if (t) {
        out.append(document.createTextNode(t));
        n++;
        state.tokens = n + " tokens";
        const tk = $("tokens");
        if (tk) tk.textContent = state.tokens;
        out.scrollTop = out.scrollHeight;
      }
    }, outputLine);
  } catch (e) {
    if (e.name !== "AbortError") handleError(e);
  }
}

// outputLine parses a line of a job's output (GET /jobs/{id}/stream gives
// NDJSON, an OpenAI job's SSE frames as their data); a line that is not
// JSON, such as OpenAI's "[DONE]", carries no chunk.
function outputLine(line) {
  try {
    return JSON.parse(line);
  } catch (_) {
    return null;
  }
}

// chunkText is the text of one streamed line or result, whatever the kind.
function chunkText(x) {
  if (!x || typeof x !== "object") return "";
  if (x.message && typeof x.message.content === "string") return x.message.content;
  if (typeof x.response === "string") return x.response;
  if (Array.isArray(x.choices) && x.choices.length) {
    const c = x.choices[0];
    if (c.delta && typeof c.delta.content === "string") return c.delta.content;
    if (c.message && typeof c.message.content === "string") return c.message.content;
    if (typeof c.text === "string") return c.text;
  }
  if (typeof x.type === "string" && x.type.endsWith("output_text.delta") && typeof x.delta === "string") return x.delta;
  if (typeof x.output_text === "string") return x.output_text;
  return "";
}

// renderNext lists the next jobs in the order they should start
// (GET /queue?upcoming=N, from the daemon's forecast).
function renderNext(next) {
  const key = next.map((j) => j.job_id + ":" + j.position + ":" + j.eta).join(",");
  update($("next"), key, () => next.length ? next.map((j) => el("li", { "data-job-id": j.job_id },
    el("span", { class: "pos" }, "#" + j.position), " ", jobLink(j.job_id), " ", el("span", {}, j.model), " ",
    el("span", { class: "muted" }, "ends in ", el("span", { "data-eta": j.eta })))) : el("li", { class: "muted" }, "Nothing waits."));
}

// ---------- the jobs table

async function loadJobs() {
  const p = new URLSearchParams({ limit: String(PAGE) });
  if (state.filter.state) p.set("state", state.filter.state);
  if (state.filter.model) p.set("model", state.filter.model);
  const cursor = state.cursors[state.page];
  if (cursor) p.set("cursor", cursor);
  const r = await apiJSON("/jobs?" + p);
  state.cursors[state.page + 1] = r.next_cursor || "";
  $("older").disabled = !r.next_cursor;
  $("newer").disabled = state.page === 0;
  $("empty").hidden = r.jobs.length > 0;
  renderRows(r.jobs);
}

// renderRows updates the table in place: a row is rebuilt only when its job
// changed, so a refresh neither moves the keyboard focus nor pulls a button
// from under the pointer. Times ("3 s ago", ETAs) are re-rendered from the
// clock each time, in place.
function renderRows(jobs) {
  const tbody = $("rows");
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.jobId, tr]));
  const rows = jobs.map((j) => {
    const { eta_seconds: _, ...stable } = j; // the ETA is shown from eta, ticking
    const sig = JSON.stringify([stable, j.job_id === state.detail]);
    const tr = old.get(j.job_id);
    if (tr && tr.dataset.sig === sig) return tr;
    const n = row(j);
    n.dataset.sig = sig;
    return n;
  });
  const kids = tbody.children;
  if (rows.length !== kids.length || rows.some((r, i) => kids[i] !== r)) {
    const focused = document.activeElement;
    tbody.replaceChildren(...rows);
    if (focused && focused !== document.activeElement && tbody.contains(focused)) focused.focus();
  }
  tickTimes(tbody);
}

// tickTimes re-renders the clock-relative texts under root.
function tickTimes(root) {
  for (const e of root.querySelectorAll("[data-ago]")) e.textContent = ago(e.dataset.ago);
  for (const e of root.querySelectorAll("[data-eta]")) {
    const left = (Date.parse(e.dataset.eta) - Date.now()) / 1000;
    const t = left > 0 ? "~" + duration(left) + (e.dataset.suffix || "") : "any moment";
    e.textContent = e.dataset.pos ? "#" + e.dataset.pos + ", " + t : t;
  }
}

function row(j) {
  const actions = [];
  if (j.state === "queued" || j.state === "working") {
    actions.push(el("button", { type: "button", "data-action": "cancel", "aria-label": "cancel job " + j.job_id, onclick: () => act("DELETE", j.job_id, "") }, "cancel"));
  }
  if (j.state === "failed" || j.state === "cancelled") {
    actions.push(el("button", { type: "button", "data-action": "retry", "aria-label": "retry job " + j.job_id, onclick: () => act("POST", j.job_id, "/retry") }, "retry"));
  }
  let when;
  if ((j.state === "queued" || j.state === "working") && j.eta) {
    when = j.state === "queued" ? el("td", { "data-eta": j.eta, "data-pos": j.position }) : el("td", { "data-eta": j.eta, "data-suffix": " left" });
  } else {
    when = el("td", { "data-ago": j.finished_at || undefined });
  }
  // A requeued job keeps its last error until it ends again: show it only
  // while it explains the state (ended, or waiting for another attempt).
  const err = j.state === "failed" || j.state === "cancelled" || (j.state === "queued" && j.attempts > 0) ? j.error : "";
  return el("tr", { "data-job-id": j.job_id, "data-state": j.state, class: j.job_id === state.detail ? "selected" : "" },
    el("td", {}, jobLink(j.job_id)),
    el("td", {}, el("span", { class: "badge s-" + j.state }, j.state)),
    el("td", {}, j.model),
    el("td", { title: j.created_at, "data-ago": j.created_at }),
    when,
    el("td", { class: "num" }, String(j.attempts)),
    el("td", { class: "err", title: err || "" }, clip(err, 80)),
    el("td", { class: "actions" }, actions));
}

function jobLink(id) {
  return el("button", { type: "button", class: "link", "data-action": "open", title: "show job " + id, onclick: () => openDetail(id) },
    el("code", {}, id.slice(-8)));
}

async function act(method, id, suffix) {
  try {
    const res = await api("/jobs/" + id + suffix, { method });
    if (!res.ok) toast((method === "DELETE" ? "cancel" : "retry") + " " + id + ": " + (await errorText(res)));
  } catch (e) {
    handleError(e);
  }
  scheduleRefresh();
}

$("filters").addEventListener("change", (ev) => {
  const f = ev.currentTarget.elements;
  state.filter = { state: f.state.value, model: f.model.value.trim() };
  state.cursors = [""];
  state.page = 0;
  loadJobs().catch(handleError);
});
$("filters").addEventListener("submit", (ev) => ev.preventDefault());
$("older").addEventListener("click", () => { state.page++; loadJobs().catch(handleError); });
$("newer").addEventListener("click", () => { state.page = Math.max(0, state.page - 1); loadJobs().catch(handleError); });

// ---------- a job's detail

function openDetail(id) {
  showDetail(id, true).catch(handleError);
}

$("detail-close").addEventListener("click", () => {
  state.detail = "";
  $("detail").hidden = true;
  for (const tr of document.querySelectorAll("#rows tr.selected")) tr.classList.remove("selected");
});

async function showDetail(id, focus) {
  state.detail = id;
  const [j, evs] = await Promise.all([apiJSON("/jobs/" + id), apiJSON("/jobs/" + id + "/events")]);
  if (state.detail !== id) return;
  const panel = $("detail");
  $("detail-id").textContent = id;
  const f = [
    ["state", el("span", { class: "badge s-" + j.state }, j.state)],
    ["model", j.model], ["kind", j.kind], ["priority", String(j.priority)],
    ["submitter", j.submitter], ["attempts", j.attempts + " of " + j.max_attempts],
    ["created", new Date(j.created_at).toLocaleString()],
    ["started", j.started_at && new Date(j.started_at).toLocaleString()],
    ["finished", j.finished_at && new Date(j.finished_at).toLocaleString()],
    ["position", j.position && "#" + j.position],
    ["ETA", j.eta && new Date(j.eta).toLocaleTimeString() + " (" + duration(j.eta_seconds) + (j.eta_confidence === "low" ? ", a guess" : "") + ")"],
    ["tokens", j.tokens !== undefined && String(j.tokens)],
    ["error", j.error && (j.status ? j.status + ": " : "") + j.error],
  ].filter(([, v]) => v);
  fill($("detail-fields"), f.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", { "data-field": k }, v))));
  renderRequest(evs.events);
  $("detail-result").textContent = chunkText(j.result) || (j.result ? JSON.stringify(j.result, null, 2) : "");
  fill($("detail-artifacts"), j.artifacts.length ? j.artifacts.map((a) => el("li", {},
    el("button", { type: "button", class: "link", "data-action": "download", onclick: () => download(j, a) }, a.name), " ",
    el("span", { class: "muted" }, a.content_type + ", " + bytes(a.size)))) : el("li", { class: "muted" }, "None."));
  renderWebhooks(evs.events);
  fill($("timeline"), evs.events.map((e) => el("tr", { "data-type": e.type },
    el("td", { class: "num" }, String(e.offset)), el("td", { title: e.time }, new Date(e.time).toLocaleTimeString()),
    el("td", {}, e.type), el("td", {}, eventDetail(e)))));
  for (const tr of document.querySelectorAll("#rows tr")) tr.classList.toggle("selected", tr.dataset.jobId === id);
  panel.hidden = false;
  if (focus) panel.focus();
}

function renderRequest(events) {
  const box = $("detail-request");
  const sub = events.find((e) => e.type === "job.submitted");
  const p = sub && sub.payload;
  if (!p) return fill(box, el("p", { class: "muted" }, "Not retained."));
  const req = p.request_encoding === "json" ? p.request : null;
  const parts = [];
  if (req && Array.isArray(req.messages)) {
    for (const m of req.messages.slice(-6)) {
      parts.push(el("div", { class: "msg" }, el("span", { class: "role" }, m.role), el("pre", { class: "prompt" }, clip(m.content, 4000))));
    }
  } else if (req && Array.isArray(req.input)) {
    for (const m of req.input.slice(-6)) parts.push(el("pre", { class: "prompt" }, clip(typeof m === "string" ? m : m.content || JSON.stringify(m), 4000)));
  } else if (req) {
    if (req.system) parts.push(el("div", { class: "msg" }, el("span", { class: "role" }, "system"), el("pre", { class: "prompt" }, clip(req.system, 4000))));
    const prompt = req.prompt !== undefined ? req.prompt : req.input;
    if (prompt !== undefined) parts.push(el("div", { class: "msg" }, el("span", { class: "role" }, "prompt"), el("pre", { class: "prompt" }, clip(typeof prompt === "string" ? prompt : JSON.stringify(prompt), 4000))));
  }
  const opts = req && req.options ? Object.entries(req.options).map(([k, v]) => k + "=" + JSON.stringify(v)).join(" ") : "";
  parts.push(el("p", { class: "muted" }, bytes(p.request_size) + (p.sync ? ", synchronous" : "") + (opts ? ", options: " + opts : "") +
    (req ? "" : p.request_blob ? ", body stored as a blob" : "")));
  fill(box, parts);
}

function renderWebhooks(events) {
  const box = $("detail-webhooks");
  const sub = events.find((e) => e.type === "job.submitted");
  const url = sub && sub.payload && sub.payload.webhook_url;
  const byEvent = new Map();
  for (const e of events) {
    if (!e.type.startsWith("webhook.") || !e.payload || e.type === "webhook.replay_requested") continue;
    byEvent.set(e.payload.event, e); // the latest outcome per delivered event
  }
  if (!url && !byEvent.size) return fill(box, el("li", { class: "muted" }, "No webhook."));
  const names = new Map(events.map((e) => [e.offset, e.type]));
  const items = [el("li", { class: "muted" }, "to " + (url || "(redacted)"))];
  for (const [off, e] of byEvent) {
    const ok = e.type === "webhook.delivered";
    items.push(el("li", { "data-webhook": e.type },
      el("span", { class: "badge " + (ok ? "ok" : e.type === "webhook.gave_up" ? "bad" : "warn") }, e.type.slice(8)), " ",
      (names.get(off) || "event " + off) + ", attempt " + e.payload.attempt + (e.payload.status ? ", HTTP " + e.payload.status : "") +
      (e.payload.error ? ": " + e.payload.error : "")));
  }
  fill(box, items);
}

function eventDetail(e) {
  const p = e.payload || {};
  switch (e.type) {
    case "job.submitted": return p.model + (p.submitter ? " by " + p.submitter : "") + ", priority " + p.priority;
    case "job.started": return "attempt " + p.attempt;
    case "job.attempt_failed": return "attempt " + p.attempt + ": " + clip(p.error, 200) + (p.retryable ? " (will retry)" : "");
    case "job.failed": return "attempt " + p.attempt + ": " + clip(p.error, 200);
    case "job.succeeded": return "attempt " + p.attempt + ", result in " + p.result;
    case "job.cancel_requested": return (p.reason || "") + (p.by ? " by " + p.by : "");
    case "job.cancelled": case "job.expired": return p.reason || "";
    case "job.requeued": return (p.reason || "") + (p.by ? " by " + p.by : "");
    case "job.interrupted": return p.reason + (p.requeued ? ", requeued" : "");
    case "artifact.stored": return p.name + ", " + bytes(p.size);
    default:
      if (e.type.startsWith("webhook.")) return "attempt " + p.attempt + (p.status ? ", HTTP " + p.status : "") + (p.error ? ": " + clip(p.error, 200) : "");
      return e.payload_error || "";
  }
}

// download fetches an artifact with the token (a plain link could not send
// it) and saves it under its name.
async function download(j, a) {
  try {
    let blob;
    if (a.data !== undefined) {
      const raw = atob(a.data);
      const buf = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) buf[i] = raw.charCodeAt(i);
      blob = new Blob([buf], { type: a.content_type });
    } else {
      const res = await api("/jobs/" + j.job_id + "/artifacts/" + encodeURIComponent(a.name));
      if (!res.ok) throw new Error(a.name + ": " + (await errorText(res)));
      blob = await res.blob();
    }
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: j.job_id + "-" + a.name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    handleError(e);
  }
}

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && !$("detail").hidden) $("detail-close").click();
});

healthTick(); // tokenless: shown on the token form too
start();
