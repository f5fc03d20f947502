// The console's entry: routes (each view has its own URL in the hash),
// the live stream, keyboard shortcuts. Pages only read the public API.
import { ensureSignedIn, api, ApiError } from "./api.js";
import { h, debounce } from "./dom.js";
import { startLive } from "./live.js";
import { renderPipeline } from "./pipeline.js";
import { renderTable } from "./table.js";
import { renderSql, forgetSchema } from "./sql.js";
import { renderJobs, renderJob } from "./jobs.js";
import { renderIngest } from "./ingest.js";
import { sampleAndDraw } from "./strip.js";

const main = document.getElementById("main");
const strip = document.getElementById("strip");
const live = document.getElementById("live");

const ROUTES = [
  [/^#?\/?$/, "pipeline", (m, p) => renderPipeline(main, p, nav)],
  [/^#\/t\/([^/?]+)\/(bronze|silver|gold)\/([^/?]+)$/, "pipeline", (m, p) => renderTable(main, [m[1], m[2], m[3]], p, nav)],
  [/^#\/sql$/, "sql", (m, p) => renderSql(main, p, nav)],
  [/^#\/jobs$/, "jobs", (m, p) => renderJobs(main, p, nav)],
  [/^#\/jobs\/([^/?]+)\/([^/?]+)$/, "jobs", (m, p) => renderJob(main, [m[1], m[2]], p, nav)],
  [/^#\/ingest$/, "ingest", () => renderIngest(main)],
];

function parseHash() {
  const hash = location.hash || "#/";
  const q = hash.indexOf("?");
  return { path: q < 0 ? hash : hash.slice(0, q), params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
}

let rendering = Promise.resolve();
let current = "";

function route(keepFocus) {
  const { path, params } = parseHash();
  const hit = ROUTES.map(([re, section, fn]) => [re.exec(path), section, fn]).find(([m]) => m);
  document.querySelectorAll("[data-nav]").forEach((a) => {
    if (hit && a.dataset.nav === hit[1]) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  const focus = keepFocus ? document.activeElement && document.activeElement.closest("[data-node]")?.dataset.node : null;
  const same = current === location.hash;
  current = location.hash;
  rendering = rendering.then(async () => {
    try {
      if (!hit) { main.replaceChildren(h("h1", null, "Not found"), h("p", null, "No console page at " + path)); return; }
      await hit[2](hit[0], params);
      document.title = `${main.querySelector("h1")?.textContent || "lakehouse"} · lakehouse console`;
      if (focus) document.querySelector(`[data-node="${CSS.escape(focus)}"]`)?.focus();
      else if (!keepFocus && !same) main.focus({ preventScroll: true });
    } catch (e) {
      main.replaceChildren(h("h1", null, "Error"), h("p", { class: "error", role: "alert" },
        e instanceof ApiError ? `${e.status}: ${e.detail}` : String(e)));
    }
  });
  return rendering;
}

function nav(hash, force) {
  if (location.hash === hash && force) route(false);
  else location.hash = hash;
}

async function fillSearch() {
  const tables = await api("/consumption/tables").catch(() => []);
  document.getElementById("table-names").replaceChildren(
    ...tables.map((t) => h("option", { value: `${t.domain}.${t.layer}.${t.table}` })));
}

// What an event touches decides what is fetched again (debounced): the
// SQL page keeps its editor and result; other pages re-render in place.
const refresh = debounce(() => {
  const { path } = parseHash();
  if (path === "#/sql") return;
  route(true);
}, 250);

// Whether an event touches what the current page shows: a table page
// follows its own table (and the tables a gold lineage reads), the other
// pages follow everything.
function touches(ev) {
  const m = /^#\/t\/([^/?]+)\/(bronze|silver|gold)\/([^/?]+)/.exec(location.hash);
  if (!m || !ev.data || !ev.data.table) return true;
  if (m[2] === "gold" && new URLSearchParams(location.hash.split("?")[1] || "").get("tab") === "lineage") return true;
  return ev.data.domain === m[1] && ev.data.table === m[3];
}

function onEvent(ev) {
  if (ev.topic === "schema.changed" || ev.topic === "job.changed") { forgetSchema(); fillSearch(); }
  if (ev.topic.startsWith("process.")) sampleAndDraw(strip);
  if (touches(ev)) refresh();
}

function setLive(state) {
  live.dataset.live = state;
  live.textContent = state === "live" ? "live" : "polling every 5 s";
}

document.addEventListener("keydown", (ev) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName) || ev.target.isContentEditable;
  if (ev.key === "/" && !typing) { ev.preventDefault(); document.getElementById("search").focus(); }
  if (ev.key === "Escape" && ev.target.id === "search") ev.target.blur();
});
document.getElementById("search").addEventListener("change", (ev) => {
  const parts = ev.target.value.trim().split(".");
  if (parts.length === 3) { ev.target.value = ""; nav(`#/t/${parts[0]}/${parts[1]}/${parts[2]}`); }
});

window.addEventListener("hashchange", () => route(false));

(async () => {
  await ensureSignedIn();
  await fillSearch();
  await sampleAndDraw(strip);
  setInterval(() => { if (document.visibilityState === "visible") sampleAndDraw(strip); }, 5000);
  await route(false);
  startLive(onEvent, setLive);
})();
