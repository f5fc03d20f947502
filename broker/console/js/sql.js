// The SQL page (#/sql?q=<SQL> runs the query when opened): CodeMirror with
// completion of domain.layer.table names and their columns, Ctrl/Cmd+Enter
// to run, a results grid, a quick chart (Observable Plot), templates for
// the time-travel forms and this browser's query history.
import { api, query, ApiError } from "./api.js";
import { h, grid, download, toCsv } from "./dom.js";

const HISTORY_KEY = "lakehouse.sqlHistory";
let schemaCache = null;

async function completionSchema() {
  if (schemaCache) return schemaCache;
  const tables = await api("/consumption/tables");
  const schema = {};
  await Promise.all(tables.map(async (t) => {
    const name = `${t.domain}.${t.layer}.${t.table}`;
    try { schema[name] = (await query(`SELECT * FROM ${name} LIMIT 0`)).columns; } catch { schema[name] = []; }
  }));
  schemaCache = schema;
  return schema;
}
export function forgetSchema() { schemaCache = null; }

function pastQueries() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch { return []; }
}
function remember(sql) {
  const list = [sql, ...pastQueries().filter((x) => x !== sql)].slice(0, 30);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(list));
}

function templates(tables) {
  const silver = tables.find((t) => t.layer === "silver");
  const gold = tables.find((t) => t.layer === "gold");
  const s = silver ? `${silver.domain}.silver.${silver.table}` : "domain.silver.table";
  const g = gold ? `${gold.domain}.gold.${gold.table}` : "domain.gold.table";
  const snap = silver && silver.snapshot_id ? silver.snapshot_id : 1;
  return [
    ["As of a snapshot (@S)", `SELECT count(*) FROM ${s}@${snap}`],
    ["Change feed (@changes)", `SELECT _change_type, count(*) FROM ${s}@changes(1,${snap}) GROUP BY 1`],
    ["Versions (@scd2)", `SELECT * FROM ${s}@scd2 LIMIT 100`],
    ["Expectations (@expectations)", `SELECT rule, action, sum(failed) FROM ${s}@expectations GROUP BY rule, action`],
    ["A gold table", `SELECT * FROM ${g} LIMIT 100`],
  ];
}

export async function renderSql(main, params, nav) {
  const initial = params.get("q") || "";
  const tables = await api("/consumption/tables");
  const editorBox = h("div", { class: "editor", id: "sql-editor" });
  const out = h("div", { id: "sql-out", "aria-live": "polite" });
  const run = () => {
    const sql = view.state.doc.toString().trim();
    if (!sql) return;
    // The URL names the query, so a result can be shared and reloaded.
    const url = `#/sql?q=${encodeURIComponent(sql)}`;
    if (location.hash !== url) window.history.replaceState(null, "", url);
    runQuery(sql, out);
  };
  main.replaceChildren(
    h("h1", null, "SQL"),
    h("p", { class: "muted", id: "sql-help" }, "Read-only SQL over every layer: domain.layer.table, and the forms t@S, t@changes(a,b), t@scd2, t@expectations. Ctrl/Cmd+Enter runs."),
    editorBox,
    h("div", { class: "toolbar" },
      h("button", { class: "primary", id: "sql-run", onclick: run }, "Run"),
      h("label", { for: "sql-template" }, "Template"),
      h("select", { id: "sql-template", onchange: (ev) => { if (ev.target.value) setDoc(ev.target.value); } },
        h("option", { value: "" }, "(insert a template)"), templates(tables).map(([l, q]) => h("option", { value: q }, l))),
      h("label", { for: "sql-history" }, "History"),
      h("select", { id: "sql-history", onchange: (ev) => { if (ev.target.value) setDoc(ev.target.value); } },
        h("option", { value: "" }, "(earlier queries)"), pastQueries().map((q) => h("option", { value: q }, q.slice(0, 80))))),
    out);
  const schema = await completionSchema().catch(() => ({}));
  const view = new CM.EditorView({
    doc: initial,
    parent: editorBox,
    extensions: [
      CM.Prec.highest(CM.keymap.of([{ key: "Mod-Enter", run: () => { run(); return true; } }])),
      CM.basicSetup,
      CM.sql({ dialect: CM.SQLite, schema, upperCaseKeywords: true }),
      CM.EditorView.contentAttributes.of({ "aria-label": "SQL query", "aria-describedby": "sql-help" }),
    ],
  });
  const setDoc = (text) => { view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }); view.focus(); };
  if (initial) await runQuery(initial, out);
  else view.focus();
  void nav;
}

async function runQuery(sql, out) {
  out.replaceChildren(h("p", { class: "muted" }, "running…"));
  const started = performance.now();
  let r;
  try {
    r = await query(sql);
  } catch (e) {
    out.replaceChildren(h("p", { class: "error", role: "alert", "data-error-status": e instanceof ApiError ? String(e.status) : "" },
      e instanceof ApiError ? e.detail : String(e)));
    return;
  }
  remember(sql);
  const ms = Math.round(performance.now() - started);
  const table = grid(r.columns, r.data, { label: "query result", table: { "data-result": "", "data-row-count": String(r.row_count) } });
  out.replaceChildren(...[
    h("p", { class: "muted" }, `${r.row_count} rows in ${ms} ms.`),
    r.truncated ? h("p", { class: "banner", "data-truncated": "" }, "Truncated: the query returned more rows than the API sends; refine it or add LIMIT.") : null,
    h("div", { class: "toolbar" },
      h("button", { onclick: () => download("result.csv", "text/csv", toCsv(r.columns, r.data)) }, "Export CSV"),
      h("button", { onclick: () => download("result.json", "application/json", JSON.stringify(r.data, null, 1)) }, "Export JSON")),
    table,
    chartControls(r)].filter(Boolean));
}

function chartControls(r) {
  if (!r.data.length || r.columns.length < 2) return null;
  const numeric = r.columns.filter((c) => r.data.some((x) => typeof x[c] === "number"));
  if (!numeric.length) return null;
  const pick = (id, label, cols, def, blank) => h("label", { for: id }, label + " ",
    h("select", { id }, blank ? h("option", { value: "" }, "(none)") : null, cols.map((c) => h("option", { value: c, selected: c === def }, c))));
  const box = h("div", { class: "chart", id: "sql-chart" });
  const form = h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); draw(); } },
    h("span", null, "Chart"),
    pick("chart-type", "type", ["bar", "line", "dot"], "bar"),
    pick("chart-x", "x", r.columns, r.columns.find((c) => !numeric.includes(c)) || r.columns[0]),
    pick("chart-y", "y", numeric, numeric.find((c) => c !== r.columns[0]) || numeric[0]),
    pick("chart-color", "colour", r.columns, "", true),
    h("button", { type: "submit" }, "Draw"));
  const draw = () => {
    const v = (id) => form.querySelector("#" + id).value;
    const type = v("chart-type"), x = v("chart-x"), y = v("chart-y"), color = v("chart-color") || undefined;
    const opts = { x, y, ...(color ? { stroke: color, fill: color } : {}), tip: true };
    const mark = type === "line" ? Plot.lineY(r.data, { x, y, ...(color ? { stroke: color } : {}) })
      : type === "dot" ? Plot.dot(r.data, opts)
      : Plot.barY(r.data, { x, y, ...(color ? { fill: color } : {}) });
    const chart = Plot.plot({ width: Math.min(1100, box.clientWidth || 900), height: 360, marginBottom: 60,
      x: { tickRotate: type === "bar" ? -45 : 0 }, color: color ? { legend: true } : undefined, marks: [mark, Plot.ruleY([0])] });
    // Plot labels its mark groups, which is not allowed on a plain <g>;
    // the chart as a whole carries one label instead.
    chart.querySelectorAll("g[aria-label]").forEach((g) => g.removeAttribute("aria-label"));
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-label", `${type} chart of ${y} by ${x}${color ? " coloured by " + color : ""}`);
    box.replaceChildren(chart);
  };
  return h("div", null, form, box);
}
