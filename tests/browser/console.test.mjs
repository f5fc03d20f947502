// Browser tests of the web console: Debian's chromium driven by
// puppeteer-core against a real process group with a token. What the page
// shows is compared with what the API answers. Prints "PASS name" /
// "FAIL name: why" lines (tests/lib.sh's convention).
//   env: BASE (http://127.0.0.1:port), TOKEN, LAKEHOUSE (the CLI), DATA (data dir),
//        SEND_FILE (NDJSON for live updates), SHOTS (screenshot dir), CHROMIUM
import puppeteer from "puppeteer-core";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { BASE, TOKEN, LAKEHOUSE, DATA, SEND_FILE, SHOTS } = process.env;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let failures = 0;
const pass = (n) => console.log(`PASS ${n}`);
const fail = (n, why) => { failures++; console.log(`FAIL ${n}: ${String(why).replace(/\s+/g, " ").slice(0, 600)}`); };
const check = (n, ok, why) => (ok ? pass(n) : fail(n, why));
const eq = (n, expected, actual) => {
  const a = JSON.stringify(expected), b = JSON.stringify(actual);
  check(n, a === b, `expected ${a.slice(0, 300)}, got ${b.slice(0, 300)}`);
};

async function api(path, opts = {}) {
  const r = await fetch(BASE + path, { ...opts, headers: { Authorization: `Bearer ${TOKEN}`, ...(opts.headers || {}) } });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}
const sql = async (q) => (await api("/consumption/query", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sql: q }) })).json;

const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 800 });

// Everything the page complains about; the deliberate bad SQL and endless
// query add their own expected resource errors, counted apart.
const problems = [];
let expectedStatus = new Set();
page.on("console", (m) => {
  if (m.type() !== "error") return;
  const t = m.text();
  const st = /status of (\d{3})/.exec(t);
  if (st && expectedStatus.has(st[1])) return;
  problems.push(`console: ${t} (${(m.location() && m.location().url) || "?"})`);
});
page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
page.on("requestfailed", (r) => {
  const u = r.url();
  // The event stream is cut when the page navigates away or closes.
  if (u.endsWith("/events") || (r.failure() && r.failure().errorText === "net::ERR_ABORTED")) return;
  problems.push(`requestfailed: ${u} ${r.failure() && r.failure().errorText}`);
});

const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
async function axe(name) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(() => axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } }));
  check(`axe: no WCAG 2 A/AA violation on ${name}`, res.violations.length === 0,
    res.violations.map((v) => `${v.id} (${v.nodes.length}): ${v.nodes[0] && v.nodes[0].target}`).join("; "));
}
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png` });
const go = async (hash) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
};
const waitFor = (fn, arg, timeout = 10000) => page.waitForFunction(fn, { timeout, polling: 100 }, arg);
// Live events re-render the page at any moment, so an element handle taken in
// one step may be detached by the next: find and click inside the page, in one
// step, retrying until a matching button exists.
const clickButton = (selector, { text = "", last = false } = {}) =>
  waitFor(({ selector, text, last }) => {
    const all = [...document.querySelectorAll(selector)].filter((b) => b.textContent.includes(text));
    const b = last ? all[all.length - 1] : all[0];
    if (!b) return false;
    b.click();
    return true;
  }, { selector, text, last });

try {
  // ---- sign-in ----
  await page.goto(`${BASE}/console/`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("dialog#signin[open]", { timeout: 10000 });
  pass("no token: the page asks for it");
  await shot("signin");
  await page.type("#signin-token", TOKEN);
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-node]", { timeout: 15000 });
  pass("with the token: the pipeline graph");

  // ---- pipeline = /lineage/graph + /consumption/tables ----
  const graph = (await api("/lineage/graph")).json;
  const tables = (await api("/consumption/tables")).json;
  const shown = await page.$$eval("[data-node]", (els) => els.map((e) => ({
    id: e.dataset.node, rows: Number(e.dataset.rows), snapshot: Number(e.dataset.snapshot), state: e.dataset.state })));
  eq("graph nodes = /lineage/graph nodes", graph.nodes.map((n) => n.id).sort(), shown.map((n) => n.id).sort());
  const edges = await page.$$eval("[data-edge]", (els) => els.map((e) => e.dataset.edge));
  eq("graph edges = /lineage/graph edges", graph.edges.map((e) => `${e.from}->${e.to}`).sort(), edges.sort());
  const want = Object.fromEntries(tables.map((t) => [`${t.domain}.${t.layer}.${t.table}`, { rows: t.rows, snapshot: t.snapshot_id ?? 0 }]));
  eq("node rows and snapshots = /consumption/tables", shown.map((n) => ({ id: n.id, ...want[n.id] })),
    shown.map((n) => ({ id: n.id, rows: n.rows, snapshot: n.snapshot })));
  const words = ["fresh", "lagging", "blocked", "run failed", "running", "never built"];
  check("every node states one of the six words", shown.every((n) => words.includes(n.state)), JSON.stringify(shown));
  const label = await page.$eval('[data-node="demo.silver.flights"]', (e) => e.getAttribute("aria-label"));
  check("a node has a spoken label", /^demo\.silver\.flights: (fresh|lagging)/.test(label), label);
  await axe("pipeline");
  await shot("pipeline");

  // ---- keyboard ----
  await page.keyboard.press("/");
  eq("'/' focuses the search", "search", await page.evaluate(() => document.activeElement.id));
  await page.keyboard.press("Escape");
  // Tab from the search box reaches the graph's nodes.
  let reached = null;
  for (let i = 0; i < 40 && reached !== "demo.silver.flights"; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute("data-node"));
  }
  eq("Tab reaches a graph node", "demo.silver.flights", reached);
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement.querySelector("rect")).strokeWidth);
  check("a focused node shows its focus", parseFloat(ring) >= 3, `stroke-width ${ring}`);
  await page.keyboard.press("Enter");
  await waitFor(() => location.hash === "#/t/demo/silver/flights");
  pass("Enter on a focused graph node opens its table");

  // ---- table page: Data tab shows the columns ----
  await page.waitForSelector('[data-tab="data"] table[data-table]');
  const cols = (await sql("SELECT * FROM demo.silver.flights LIMIT 0")).columns;
  eq("table page opens on Data with the column names", cols,
    await page.$$eval('[data-tab="data"] thead th', (ths) => ths.map((t) => t.textContent)));
  await axe("table data");
  await shot("table-data");

  // ---- list view ----
  await go("#/?view=list");
  await page.waitForSelector("[data-row-node]");
  eq("list view lists the graph's tables", graph.nodes.map((n) => n.id).sort(),
    (await page.$$eval("[data-row-node]", (els) => els.map((e) => e.dataset.rowNode))).sort());
  await axe("pipeline list");

  // ---- time travel: slider at S = t@S ----
  await go("#/t/demo/silver/flights?tab=travel&s=1");
  await page.waitForSelector("[data-travel-rows]");
  const travel = await page.$eval("[data-travel-rows]", (e) => ({ s: Number(e.dataset.travelSnapshot), rows: Number(e.dataset.travelRows) }));
  const at1 = await sql("SELECT count(*) AS n FROM demo.silver.flights@1");
  eq("time travel at snapshot 1 = t@1", { s: 1, rows: at1.data[0].n }, travel);
  const travelRows = await page.$$eval("table[data-travel] tbody tr", (r) => r.length);
  eq("time travel rows shown", Math.min(100, at1.data[0].n), travelRows);
  await axe("time travel");
  await shot("table-travel");

  // ---- quality = t@expectations ----
  await go("#/t/demo/silver/checks?tab=quality");
  await page.waitForSelector("table[data-quality]");
  const exp = await sql("SELECT snapshot_id, rule, action, failed FROM demo.silver.checks@expectations");
  const cells = await page.$$eval("table[data-quality] td[data-rule]", (tds) => tds.map((t) => [Number(t.dataset.snapshot), t.dataset.rule, Number(t.textContent)]));
  eq("quality = t@expectations", exp.data.map((x) => [x.snapshot_id, `${x.rule} (${x.action})`, x.failed]).sort(), cells.sort());
  await axe("quality");
  await shot("table-quality");

  // ---- rejected = the rejected records ----
  await go("#/t/demo/silver/checks?tab=rejected");
  await page.waitForSelector("table[data-rejected]");
  const rej = (await api("/tables/demo/checks/rejected?limit=50")).json;
  eq("rejected tab = /tables/demo/checks/rejected", rej.records.length,
    await page.$$eval("table[data-rejected] tbody tr", (r) => r.length));
  await axe("rejected");

  // ---- jobs: runs = /transform/executions ----
  await go("#/jobs/demo/flights_by_origin");
  await page.waitForSelector("table[data-runs]");
  const execs = (await api("/transform/executions?domain=demo&job_name=flights_by_origin&limit=100")).json;
  eq("job runs = /transform/executions", execs.map((e) => String(e.execution_id)),
    await page.$$eval("table[data-runs] tbody tr td:first-child", (tds) => tds.map((t) => t.textContent)));
  await axe("job");
  await shot("job");
  await go("#/jobs");
  await page.waitForSelector("[data-job]");
  await axe("jobs");
  await shot("jobs");

  // ---- ingest ----
  await go("#/ingest");
  await page.waitForSelector('[data-endpoint="demo/flights"]');
  pass("ingest page lists demo/flights");
  await axe("ingest");
  await shot("ingest");

  // ---- SQL: grid = /consumption/query cell by cell ----
  const q = "SELECT origin, count(*) AS n, avg(delay) AS d FROM demo.silver.flights GROUP BY origin ORDER BY n DESC, origin LIMIT 25";
  await go(`#/sql?q=${encodeURIComponent(q)}`);
  await page.waitForSelector("table[data-result]", { timeout: 15000 });
  const res = await sql(q);
  const grid = await page.$eval("table[data-result]", (t) => ({
    count: Number(t.dataset.rowCount),
    head: [...t.querySelectorAll("thead th")].map((x) => x.textContent),
    body: [...t.querySelectorAll("tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)) }));
  eq("SQL grid row count = API", res.row_count, grid.count);
  eq("SQL grid columns = API", res.columns, grid.head);
  eq("SQL grid cells = API", res.data.map((r) => res.columns.map((c) => (r[c] === null ? "null" : String(r[c])))), grid.body);
  const drew = await page.evaluate(() => {
    const f = document.querySelector("#chart-type")?.closest("form");
    if (!f) return false;
    f.requestSubmit();
    return true;
  });
  if (drew) await page.waitForSelector("#sql-chart svg", { timeout: 5000 });
  check("SQL page charts the result", drew && (await page.$("#sql-chart svg")) !== null, "no chart");
  await axe("sql");
  await shot("sql");

  // ---- SQL errors: 400 detail as is, 504 ----
  expectedStatus = new Set(["400"]);
  const bad = "SELECT nope FROM demo.silver.flights";
  const badApi = await api("/consumption/query", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sql: bad }) });
  await go(`#/sql?q=${encodeURIComponent(bad)}`);
  await page.waitForSelector("[data-error-status]");
  eq("bad SQL shows the API's 400 detail", { status: "400", detail: badApi.json.detail },
    await page.$eval("[data-error-status]", (e) => ({ status: e.dataset.errorStatus, detail: e.textContent })));
  expectedStatus = new Set(["400", "504"]);
  const endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  await go(`#/sql?q=${encodeURIComponent(endless)}`);
  await page.waitForSelector('[data-error-status="504"]', { timeout: 30000 });
  pass("an endless query shows the 504");
  expectedStatus = new Set();

  // ---- live: a new silver snapshot appears without a reload ----
  await go("#/");
  await page.waitForSelector('[data-node="demo.silver.flights"]');
  await page.evaluate(() => { window.__noReload = true; });
  const before = Number(await page.$eval('[data-node="demo.silver.flights"]', (e) => e.dataset.snapshot));
  await waitFor(() => document.getElementById("live").dataset.live === "live");
  execFileSync(LAKEHOUSE, ["--data", DATA, "send", "demo/flights", SEND_FILE], { stdio: "ignore" });
  // The records are acknowledged now; the merge and the event follow.
  const sentAt = Date.now();
  try {
    await waitFor((b) => Number(document.querySelector('[data-node="demo.silver.flights"]').dataset.snapshot) > b, before, 2000 + 1000);
    const took = Date.now() - sentAt;
    check("the silver node shows the new snapshot within 2 s, no reload", took <= 2000 && (await page.evaluate(() => window.__noReload === true)), `took ${took} ms`);
  } catch (e) {
    fail("the silver node shows the new snapshot within 2 s, no reload", e.message);
  }
  await go("#/t/demo/silver/flights?tab=history");
  await page.waitForSelector("table[data-history]");
  const top = async () => Number(await page.$eval("table[data-history] tbody tr td", (t) => t.textContent));
  const h0 = await top();
  execFileSync(LAKEHOUSE, ["--data", DATA, "send", "demo/flights", SEND_FILE], { stdio: "ignore" });
  const sent2 = Date.now();
  try {
    await waitFor((b) => Number(document.querySelector("table[data-history] tbody tr td")?.textContent) > b, h0, 3000);
    check("the History tab shows the new snapshot within 2 s", Date.now() - sent2 <= 2000, `took ${Date.now() - sent2} ms`);
  } catch (e) {
    fail("the History tab shows the new snapshot within 2 s", e.message);
  }
  await axe("history");
  await shot("table-history");

  // ---- rollback from the History tab, behind a confirmation naming the snapshot ----
  await go("#/t/demo/silver/checks?tab=history");
  await page.waitForSelector("table[data-history]");
  const hist = (await api("/tables/demo/silver/checks/history?limit=1000")).json.history;
  const oldest = Math.min(...hist.map((x) => x.snapshot_id));
  const newest = Math.max(...hist.map((x) => x.snapshot_id));
  await clickButton("table[data-history] tbody button", { last: true });
  await page.waitForSelector("dialog#confirm[open]");
  const text = await page.$eval("dialog#confirm", (d) => d.textContent);
  check("the rollback confirmation names the snapshot and the call",
    text.includes(`snapshot ${oldest}`) && text.includes(`POST /tables/demo/silver/checks/rollback {"snapshot_id": ${oldest}}`), text);
  await shot("rollback-confirm");
  await page.click("#confirm-ok");
  await waitFor((b) => Number(document.querySelector("table[data-history] tbody tr td")?.textContent) > b, newest, 10000);
  const rows = (await sql("SELECT count(*) AS n FROM demo.silver.checks")).data[0].n;
  const then = (await sql(`SELECT count(*) AS n FROM demo.silver.checks@${oldest}`)).data[0].n;
  eq("after the rollback the table holds the rows of that snapshot", then, rows);

  // ---- Run now, behind a confirmation naming the API call ----
  await go("#/jobs/demo/flights_by_origin");
  await page.waitForSelector("table[data-runs]");
  const runsBefore = (await api("/transform/executions?domain=demo&job_name=flights_by_origin&limit=100")).json.length;
  await clickButton("button", { text: "Run now" });
  await page.waitForSelector("dialog#confirm[open]");
  check("Run now names the API call", (await page.$eval("#confirm-call", (c) => c.textContent)) === "POST /transform/jobs/demo/flights_by_origin/run", "");
  // A busy transformer may answer 503 first: the page waits and asks again.
  expectedStatus = new Set(["503"]);
  await page.click("#confirm-ok");
  await page.waitForFunction(() => /Started|^\d{3}:/.test(document.getElementById("job-run-status").textContent), { timeout: 60000 });
  const runStatus = await page.$eval("#job-run-status", (e) => e.textContent);
  check("Run now starts the job", runStatus.startsWith("Started"), runStatus);
  expectedStatus = new Set();
  const runsAfter = (await api("/transform/executions?domain=demo&job_name=flights_by_origin&limit=100")).json.length;
  check("Run now started a run", runsAfter > runsBefore, `${runsBefore} -> ${runsAfter}`);

  check("no console errors, page errors, failed requests or CSP violations", problems.length === 0, problems.join(" | "));
} catch (e) {
  fail("browser run", e.stack || e);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
