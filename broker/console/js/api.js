// The public HTTP API, the console's only source of data. The token (when
// the server wants one) is kept in sessionStorage for this tab and sent as
// a bearer token; a 401 asks for it again. No cookies.
const TOKEN_KEY = "lakehouse.token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

let signingIn = null;

function askToken(message) {
  if (signingIn) return signingIn;
  const dlg = document.getElementById("signin");
  const input = document.getElementById("signin-token");
  document.getElementById("signin-error").textContent = message || "";
  input.value = "";
  signingIn = new Promise((resolve) => {
    const form = document.getElementById("signin-form");
    const done = (ev) => {
      ev.preventDefault();
      const tok = input.value.trim();
      if (!tok) return;
      sessionStorage.setItem(TOKEN_KEY, tok);
      form.removeEventListener("submit", done);
      dlg.close();
      signingIn = null;
      resolve();
    };
    form.addEventListener("submit", done);
    dlg.addEventListener("cancel", (ev) => ev.preventDefault());
    dlg.showModal();
    input.focus();
  });
  return signingIn;
}

export function authHeaders() {
  const tok = sessionStorage.getItem(TOKEN_KEY);
  return tok ? { Authorization: "Bearer " + tok } : {};
}

// Before the first call: the health answer says whether a token is needed,
// so the page asks for it up front rather than after a refused call.
export async function ensureSignedIn() {
  const r = await fetch("/", { headers: { Accept: "application/json" } });
  const health = await r.json();
  if (health.auth === "bearer" && !sessionStorage.getItem(TOKEN_KEY)) await askToken();
}

export async function api(path, opts = {}) {
  const headers = { Accept: "application/json", ...authHeaders(), ...(opts.headers || {}) };
  let body = opts.body;
  if (body !== undefined && typeof body !== "string") {
    body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const r = await fetch(path, { method: opts.method || "GET", headers, body, signal: opts.signal });
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    await askToken("The token was refused; enter it again.");
    return api(path, opts);
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) {
    const err = new ApiError(r.status, (data && data.detail) || text || r.statusText);
    err.retryAfter = Number(r.headers.get("Retry-After")) || 0;
    throw err;
  }
  return opts.raw ? text : data;
}

export const enc = encodeURIComponent;

// The server runs a few queries at a time (query_max_concurrent) and answers
// 503 beyond that: the page keeps at most two of its own in flight, and
// waits out a 503's Retry-After before trying again.
const QUERY_SLOTS = 2;
let queriesRunning = 0;
const queryQueue = [];

async function querySlot(fn) {
  if (queriesRunning >= QUERY_SLOTS) await new Promise((resolve) => queryQueue.push(resolve));
  queriesRunning++;
  try {
    return await fn();
  } finally {
    queriesRunning--;
    const next = queryQueue.shift();
    if (next) next();
  }
}

export function query(sql, opts = {}) {
  const run = async (attempt) => {
    try {
      return await api("/consumption/query", { method: "POST", body: { sql, ...(opts.body || {}) }, signal: opts.signal });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 503 || attempt >= 5) throw e;
      await new Promise((resolve) => setTimeout(resolve, 1000 * (e.retryAfter || 1)));
      return run(attempt + 1);
    }
  };
  return querySlot(() => run(0));
}

// Prometheus text into {name: [{labels, value}]}.
export async function metrics() {
  const text = await api("/metrics", { raw: true, headers: { Accept: "text/plain" } });
  const out = {};
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const kv of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    (out[m[1]] ||= []).push({ labels, value: Number(m[4]) });
  }
  return out;
}
