// The table page (#/t/<domain>/<layer>/<table>?tab=...): data with sort,
// filters, facets and export; schema versions with their diff; history with
// rollback; time travel over snapshots; the change feed; expectations;
// rejected records and quarantined files; lineage of gold tables.
import { api, enc, query, ApiError } from "./api.js";
import { h, grid, qid, qlit, fmtInt, download, toCsv } from "./dom.js";
import { confirmCall } from "./confirm.js";

const TABS = [
  ["data", "Data"], ["schema", "Schema"], ["history", "History"], ["travel", "Time travel"],
  ["changes", "Changes"], ["quality", "Quality"], ["rejected", "Rejected"], ["lineage", "Lineage"],
];

export async function renderTable(main, [domain, layer, table], params, nav) {
  const tab = TABS.some(([k]) => k === params.get("tab")) ? params.get("tab") : "data";
  const name = `${domain}.${layer}.${table}`;
  const base = `#/t/${domain}/${layer}/${table}`;
  const tabs = TABS.filter(([k]) => tabApplies(k, layer)).map(([k, label]) =>
    h("a", { href: `${base}?tab=${k}`, role: "tab", "aria-selected": k === tab ? "true" : "false", id: `tab-${k}` }, label));
  const panel = h("div", { role: "tabpanel", "aria-labelledby": `tab-${tab}`, "data-tab": tab });
  main.replaceChildren(h("h1", null, name), h("div", { class: "tabs", role: "tablist", "aria-label": "Table views" }, tabs), panel);
  const ctx = { domain, layer, table, name, base, params, nav, panel };
  await TAB_RENDER[tab](ctx);
}

function tabApplies(tab, layer) {
  if (layer === "bronze") return ["data", "schema", "rejected"].includes(tab);
  if (tab === "quality" || tab === "rejected") return layer === "silver";
  if (tab === "lineage") return layer === "gold";
  return true;
}

function errorBox(e) {
  return h("p", { class: "error", role: "alert" }, e instanceof ApiError ? `${e.status}: ${e.detail}` : String(e));
}

// ---- Data ----
function parseFilters(text) {
  const out = [];
  for (const part of (text || "").split(/\s+and\s+|;/i)) {
    const m = /^\s*([A-Za-z_][\w]*)\s*(=|!=|<>|<=|>=|<|>)\s*(.+?)\s*$/.exec(part);
    if (!m) continue;
    let v = m[3];
    if (/^'.*'$/.test(v) || /^".*"$/.test(v)) v = v.slice(1, -1);
    out.push(`${qid(m[1])} ${m[2]} ${v.toLowerCase() === "null" ? "NULL" : qlit(v)}`);
  }
  return out;
}

async function renderData(ctx) {
  const { params, panel, name, base, nav } = ctx;
  const where = parseFilters(params.get("f"));
  const sort = params.get("sort");
  const order = sort ? ` ORDER BY ${qid(sort.replace(/^-/, ""))}${sort.startsWith("-") ? " DESC" : ""}` : "";
  const whereSql = where.length ? " WHERE " + where.join(" AND ") : "";
  const sql = `SELECT * FROM ${name}${whereSql}${order} LIMIT 100`;
  const filter = h("input", { type: "text", id: "data-filter", value: params.get("f") || "", placeholder: "column = value and ...", size: "40" });
  const go = (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams(params);
    q.set("tab", "data");
    if (filter.value.trim()) q.set("f", filter.value.trim()); else q.delete("f");
    nav(`${base}?${q}`);
  };
  panel.append(h("form", { class: "toolbar", onsubmit: go },
    h("label", { for: "data-filter" }, "Filter"), filter, h("button", { type: "submit" }, "Apply")));
  let res;
  try {
    const [r, c] = await Promise.all([query(sql), query(`SELECT count(*) AS n FROM ${name}${whereSql}`)]);
    res = r;
    panel.append(h("p", { class: "muted" }, `${fmtInt(c.data[0].n)} rows${where.length ? " match" : ""}; showing ${r.row_count}.`));
  } catch (e) {
    panel.append(errorBox(e));
    return;
  }
  const cols = res.columns;
  panel.append(h("div", { class: "toolbar" },
    h("button", { onclick: () => download(`${name}.csv`, "text/csv", toCsv(cols, res.data)) }, "Export CSV"),
    h("button", { onclick: () => download(`${name}.json`, "application/json", JSON.stringify(res.data, null, 1)) }, "Export JSON"),
    h("label", { for: "facet-col" }, "Top values of"),
    h("select", { id: "facet-col", onchange: (ev) => showFacet(ctx, ev.target.value, whereSql, facetBox) },
      h("option", { value: "" }, "(choose a column)"), cols.map((c) => h("option", { value: c }, c)))));
  const facetBox = h("div", { class: "facets" });
  panel.append(facetBox);
  const table = grid(cols, res.data, { label: `${name} rows`, table: { "data-table": name } });
  const heads = table.querySelectorAll("th");
  heads.forEach((th, i) => {
    const c = cols[i];
    const on = sort === c || sort === "-" + c;
    th.setAttribute("aria-sort", on ? (sort.startsWith("-") ? "descending" : "ascending") : "none");
    th.replaceChildren(h("button", { class: "sort", onclick: () => {
      const q = new URLSearchParams(params);
      q.set("tab", "data");
      q.set("sort", sort === c ? "-" + c : c);
      nav(`${base}?${q}`);
    } }, c));
  });
  panel.append(table);
}

async function showFacet(ctx, col, whereSql, box) {
  box.replaceChildren();
  if (!col) return;
  try {
    const r = await query(`SELECT ${qid(col)} AS value, count(*) AS n FROM ${ctx.name}${whereSql} GROUP BY 1 ORDER BY 2 DESC LIMIT 10`);
    box.append(h("div", null, h("h2", null, `Top values of ${col}`), grid(["value", "n"], r.data, { label: `top values of ${col}` })));
  } catch (e) {
    box.append(errorBox(e));
  }
}

// ---- Schema ----
function diffColumns(prev, cur) {
  const out = [];
  const pm = new Map((prev || []).map((c) => [c.name, c]));
  const cm = new Map(cur.map((c) => [c.name, c]));
  for (const c of cur) {
    const p = pm.get(c.name);
    if (!p && c.renamed_from && pm.has(c.renamed_from)) out.push(["renamed", `${c.renamed_from} → ${c.name}`]);
    else if (!p) out.push(["added", `${c.name} ${c.type}`]);
    else if (p.type !== c.type) out.push(["widened", `${c.name}: ${p.type} → ${c.type}`]);
  }
  for (const p of prev || []) {
    const renamedTo = cur.find((c) => c.renamed_from === p.name);
    if (!cm.has(p.name) && !renamedTo) out.push(["dropped", `${p.name} ${p.type}`]);
  }
  return out;
}

async function renderSchema(ctx) {
  const { panel, domain, layer, table, name } = ctx;
  try {
    if (layer === "gold") {
      const r = await query(`SELECT * FROM ${name} LIMIT 0`);
      panel.append(h("p", null, "A gold table's columns are those of its job's query:"),
        h("ul", null, r.columns.map((c) => h("li", null, c))));
      return;
    }
    const versions = await api(`/endpoints/${enc(domain)}/${enc(table)}/versions`);
    versions.sort((a, b) => b.version - a.version);
    for (let i = 0; i < versions.length; i++) {
      const v = versions[i];
      const prev = versions[i + 1];
      const changes = prev ? diffColumns(prev.columns, v.columns) : [];
      panel.append(h("section", { class: "card", "data-schema-version": String(v.version) },
        h("h2", null, `Version ${v.version}`),
        prev ? (changes.length ? h("ul", null, changes.map(([k, t]) => h("li", { class: k }, `${k}: ${t}`))) : h("p", { class: "muted" }, "no column changes"))
             : h("p", { class: "muted" }, "first version"),
        grid(["name", "type", "primary_key", "required"], v.columns, { label: `columns of version ${v.version}` })));
    }
  } catch (e) {
    panel.append(errorBox(e));
  }
}

// ---- History ----
async function history(ctx) {
  const r = await api(`/tables/${enc(ctx.domain)}/${ctx.layer}/${enc(ctx.table)}/history?limit=1000`);
  return r.history || [];
}

async function renderHistory(ctx) {
  const { panel, layer, domain, table } = ctx;
  let hist;
  try { hist = await history(ctx); } catch (e) { panel.append(errorBox(e)); return; }
  const cols = ["snapshot_id", "committed_at", "operation", "source", "rows_inserted", "rows_updated", "rows_deleted"];
  const g = grid(cols, hist, { label: "snapshots", table: { "data-history": ctx.name } });
  if (layer === "silver") {
    const rows = g.querySelectorAll("tbody tr");
    g.querySelector("thead tr").append(h("th", { scope: "col" }, "Rollback"));
    rows.forEach((tr, i) => {
      const s = hist[i].snapshot_id;
      tr.append(h("td", null, i === 0 ? h("span", { class: "muted" }, "current") : h("button", {
        onclick: async () => {
          const ok = await confirmCall(`Roll ${ctx.name} back to snapshot ${s}? Its rows become those of snapshot ${s}, as a new snapshot.`,
            `POST /tables/${domain}/silver/${table}/rollback {"snapshot_id": ${s}}`);
          if (!ok) return;
          try {
            await api(`/tables/${enc(domain)}/silver/${enc(table)}/rollback`, { method: "POST", body: { snapshot_id: s } });
            ctx.nav(ctx.base + "?tab=history", true);
          } catch (e) { panel.append(errorBox(e)); }
        } }, `Roll back to ${s}`)));
    });
  }
  panel.append(h("p", { class: "muted" }, `${hist.length} snapshots, newest first.`), g);
}

// ---- Time travel ----
async function renderTravel(ctx) {
  const { panel, params, name, base, nav } = ctx;
  let hist;
  try { hist = await history(ctx); } catch (e) { panel.append(errorBox(e)); return; }
  if (!hist.length) { panel.append(h("p", null, "No snapshots yet.")); return; }
  const ids = hist.map((x) => x.snapshot_id).sort((a, b) => a - b);
  const latest = ids[ids.length - 1];
  let s = Number(params.get("s") || latest);
  if (!ids.includes(s)) s = latest;
  const slider = h("input", { type: "range", class: "slider", id: "travel-slider", min: "0", max: String(ids.length - 1),
    value: String(ids.indexOf(s)), "aria-valuetext": `snapshot ${s}`,
    onchange: (ev) => nav(`${base}?tab=travel&s=${ids[Number(ev.target.value)]}`) });
  panel.append(h("div", { class: "toolbar" }, h("label", { for: "travel-slider" }, `Snapshot ${s} of ${ids[0]}–${latest}`), slider));
  try {
    const [rows, count, changed] = await Promise.all([
      query(`SELECT * FROM ${name}@${s} LIMIT 100`),
      query(`SELECT count(*) AS n FROM ${name}@${s}`),
      s < latest ? query(`SELECT _change_type AS change, count(*) AS n FROM ${name}@changes(${s + 1},${latest}) GROUP BY 1 ORDER BY 1`) : null,
    ]);
    panel.append(h("p", { "data-travel-snapshot": String(s), "data-travel-rows": String(count.data[0].n) },
      `${name}@${s}: ${fmtInt(count.data[0].n)} rows.`));
    if (changed) panel.append(h("h2", null, `What changed since snapshot ${s}`), grid(["change", "n"], changed.data, { label: "changes since" }));
    panel.append(h("h2", null, "Rows as of this snapshot"), grid(rows.columns, rows.data, { label: `${name}@${s}`, table: { "data-travel": String(s) } }));
  } catch (e) {
    panel.append(errorBox(e));
  }
}

// ---- Changes ----
async function renderChanges(ctx) {
  const { panel, params, name, base, nav } = ctx;
  let hist;
  try { hist = await history(ctx); } catch (e) { panel.append(errorBox(e)); return; }
  if (!hist.length) { panel.append(h("p", null, "No snapshots yet.")); return; }
  const latest = Math.max(...hist.map((x) => x.snapshot_id));
  const a = Number(params.get("a") || Math.max(1, latest - 1)), b = Number(params.get("b") || latest);
  const type = params.get("type") || "";
  const fa = h("input", { type: "number", id: "chg-a", value: String(a), min: "1", max: String(latest) });
  const fb = h("input", { type: "number", id: "chg-b", value: String(b), min: "1", max: String(latest) });
  const ft = h("select", { id: "chg-type" }, ["", "insert", "update_before", "update_after", "delete"].map((t) =>
    h("option", { value: t, selected: t === type }, t || "(all)")));
  panel.append(h("form", { class: "toolbar", onsubmit: (ev) => { ev.preventDefault(); nav(`${base}?tab=changes&a=${fa.value}&b=${fb.value}${ft.value ? "&type=" + ft.value : ""}`); } },
    h("label", { for: "chg-a" }, "From snapshot"), fa, h("label", { for: "chg-b" }, "to"), fb,
    h("label", { for: "chg-type" }, "Change"), ft, h("button", { type: "submit" }, "Show")));
  try {
    const r = await query(`SELECT * FROM ${name}@changes(${a},${b}) AS c${type ? ` WHERE c._change_type = ${qlit(type)}` : ""} LIMIT 500`);
    if (r.truncated) panel.append(h("p", { class: "banner" }, "Truncated: more rows changed than shown."));
    panel.append(grid(r.columns, r.data, { label: "changes" }));
  } catch (e) {
    panel.append(errorBox(e));
  }
}

// ---- Quality ----
async function renderQuality(ctx) {
  const { panel, name } = ctx;
  try {
    const r = await query(`SELECT snapshot_id, rule, action, failed FROM ${name}@expectations ORDER BY snapshot_id DESC, rule`);
    if (!r.data.length) { panel.append(h("p", { "data-quality-empty": "" }, "No expectation failed in any snapshot (or the endpoint has none).")); return; }
    const rules = [...new Set(r.data.map((x) => `${x.rule} (${x.action})`))].sort();
    const snaps = [...new Set(r.data.map((x) => x.snapshot_id))].sort((a, b) => b - a);
    const cell = new Map(r.data.map((x) => [`${x.snapshot_id}|${x.rule} (${x.action})`, x.failed]));
    panel.append(h("div", { class: "gridwrap", tabindex: "0", role: "region", "aria-label": "expectation failures" },
      h("table", { class: "grid", "data-quality": name },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "snapshot"), rules.map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", null, snaps.map((s) => h("tr", null, h("th", { scope: "row" }, String(s)),
          rules.map((x) => h("td", { class: "num", "data-snapshot": String(s), "data-rule": x }, String(cell.get(`${s}|${x}`) ?? 0)))))))));
  } catch (e) {
    panel.append(errorBox(e));
  }
}

// ---- Rejected and quarantine ----
const listOf = (r, ...keys) => (Array.isArray(r) ? r : keys.map((k) => r && r[k]).find(Array.isArray) || []);

async function renderRejected(ctx) {
  const { panel, domain, table, layer, params, base, nav } = ctx;
  const offset = Number(params.get("offset") || 0);
  try {
    const r = await api(`/tables/${enc(domain)}/${enc(table)}/rejected?offset=${offset}&limit=50`);
    const recs = listOf(r, "records", "rejected", "items");
    panel.append(h("h2", null, "Rejected records"));
    if (!recs.length) panel.append(h("p", null, "No refused records."));
    else {
      const cols = [...new Set(recs.flatMap((x) => Object.keys(x)))];
      panel.append(grid(cols, recs, { label: "rejected records", table: { "data-rejected": `${domain}/${table}` } }));
      panel.append(h("div", { class: "toolbar" },
        offset > 0 ? h("a", { href: `${base}?tab=rejected&offset=${Math.max(0, offset - 50)}` }, "Newer") : null,
        recs.length === 50 ? h("a", { href: `${base}?tab=rejected&offset=${offset + 50}` }, "Older") : null));
    }
    if (layer === "silver") {
      const q = await api(`/tables/${enc(domain)}/silver/${enc(table)}/quarantine`);
      const files = listOf(q, "files", "quarantine", "items");
      panel.append(h("h2", null, "Quarantined bronze files"));
      panel.append(files.length ? grid([...new Set(files.flatMap((x) => Object.keys(x)))], files, { label: "quarantined files" })
        : h("p", null, "No quarantined files."));
    }
  } catch (e) {
    panel.append(errorBox(e));
  }
  void nav;
}

// ---- Lineage ----
function tree(value, label) {
  if (value === null || typeof value !== "object") return h("li", null, label ? `${label}: ` : "", String(value));
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  return h("li", null, label || "", h("ul", null, entries.map(([k, v]) => tree(v, Array.isArray(value) ? "" : k))));
}

async function renderLineage(ctx) {
  const { panel, domain, table, params } = ctx;
  try {
    const q = params.get("snapshot") ? `?snapshot=${enc(params.get("snapshot"))}` : "";
    const r = await api(`/tables/${enc(domain)}/gold/${enc(table)}/lineage${q}`);
    panel.append(h("p", null, "The inputs this table's snapshots read, down to the bronze files:"),
      h("ul", { class: "lineage", "data-lineage": ctx.name }, tree(r, ctx.name)));
  } catch (e) {
    panel.append(errorBox(e));
  }
}

const TAB_RENDER = {
  data: renderData, schema: renderSchema, history: renderHistory, travel: renderTravel,
  changes: renderChanges, quality: renderQuality, rejected: renderRejected, lineage: renderLineage,
};
