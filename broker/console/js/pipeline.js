// The pipeline page: endpoint/bronze -> silver -> gold as a left-to-right
// graph (dagre layout, SVG, each node focusable and labelled in words) or
// as a sortable list of the same figures.
import { h, fmtInt, fmtAge, fmtBytes, fmtSeconds, stateWord } from "./dom.js";
import { loadPipeline, spokenLabel } from "./model.js";

const NODE_W = 230, NODE_H = 96;

export async function renderPipeline(main, params, nav) {
  const p = await loadPipeline();
  const view = params.get("view") === "list" ? "list" : "graph";
  main.replaceChildren(
    h("h1", null, "Pipeline"),
    h("div", { class: "toolbar", role: "group", "aria-label": "View" },
      h("a", { href: "#/", "aria-current": view === "graph" ? "page" : null }, "Graph"),
      h("a", { href: "#/?view=list", "aria-current": view === "list" ? "page" : null }, "List"),
      h("span", { class: "muted" }, `${p.nodes.length} tables, ${p.edges.length} edges`)),
    view === "graph" ? graphView(p, nav) : listView(p, params, nav));
}

function openNode(n, nav) {
  nav(`#/t/${n.domain}/${n.layer}/${n.table}`);
}

function graphView(p, nav) {
  if (!p.nodes.length)
    return h("p", null, "No endpoints yet. Create one (POST /endpoints or lakehouse endpoint create) and send records.");
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 70, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of p.nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of p.edges) if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const { width, height } = g.graph();
  const svg = h("svg:svg", { width: Math.ceil(width), height: Math.ceil(height), role: "group",
    "aria-label": "Pipeline graph: bronze, silver and gold tables" });
  svg.append(h("svg:defs", null, h("svg:marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
    markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
    h("svg:path", { d: "M 0 0 L 10 5 L 0 10 z", class: "edge-head", fill: "currentColor" }))));
  for (const e of p.edges) {
    const ge = g.edge(e.from, e.to);
    if (!ge) continue;
    const d = ge.points.map((pt, i) => (i ? "L" : "M") + pt.x.toFixed(1) + " " + pt.y.toFixed(1)).join(" ");
    svg.append(h("svg:path", { d, class: "edge", "data-edge": `${e.from}->${e.to}`, "marker-end": "url(#arrow)" }));
  }
  for (const n of p.nodes) {
    const gn = g.node(n.id);
    const x = gn.x - NODE_W / 2, y = gn.y - NODE_H / 2;
    const lines = nodeLines(n);
    const node = h("svg:g", {
      class: "node", transform: `translate(${x.toFixed(1)},${y.toFixed(1)})`, tabindex: "0", role: "link",
      "data-node": n.id, "data-rows": String(n.rows), "data-snapshot": String(n.snapshot), "data-state": n.state,
      "aria-label": spokenLabel(n),
      onclick: () => openNode(n, nav),
      onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); openNode(n, nav); } },
    },
    h("svg:rect", { width: NODE_W, height: NODE_H, rx: "6" }),
    h("svg:text", { x: "10", y: "18", class: "title" }, `${n.domain}.${n.layer}.${n.table}`),
    lines.map((t, i) => h("svg:text", { x: "10", y: String(36 + i * 15), class: i === 0 ? "state" : null }, t)));
    if (n.layer === "gold") {
      n.runs.slice(0, 5).reverse().forEach((r, i) => {
        node.append(h("svg:circle", { cx: String(NODE_W - 58 + i * 11), cy: String(NODE_H - 12), r: "4", class: "dot-" + r.status },
          h("svg:title", null, `run ${r.execution_id}: ${r.status}`)));
      });
    }
    svg.append(node);
  }
  return h("div", { class: "graph" }, svg);
}

function nodeLines(n) {
  const lines = [n.state];
  lines.push(`${fmtInt(n.rows)} rows · snapshot ${n.snapshot}`);
  if (n.layer === "bronze") lines.push(`${fmtInt(n.files ?? 0)} files · ${n.backlog} to merge`);
  else lines.push(`last commit ${fmtAge(n.lastCommit)}`);
  if (n.layer === "silver") lines.push(`fresh ${fmtSeconds(n.freshness)} · backlog ${n.backlog} · spool ${fmtBytes(n.spool)}`);
  if (n.layer === "gold" && n.job) lines.push(`job ${n.job}`);
  return lines;
}

const LIST_COLS = [
  ["id", "Table"], ["layer", "Layer"], ["state", "State"], ["rows", "Rows"], ["snapshot", "Snapshot"],
  ["lastCommit", "Last commit"], ["freshness", "Freshness"], ["backlog", "Backlog"], ["spool", "Spool"],
];

function listView(p, params, nav) {
  const sort = params.get("sort") || "id";
  const desc = sort.startsWith("-");
  const key = desc ? sort.slice(1) : sort;
  const rows = [...p.nodes].sort((a, b) => {
    const x = a[key] ?? "", y = b[key] ?? "";
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
  const head = h("tr", null, LIST_COLS.map(([k, label]) => {
    const on = key === k;
    return h("th", { scope: "col", "aria-sort": on ? (desc ? "descending" : "ascending") : "none" },
      h("button", { class: "sort", onclick: () => nav(`#/?view=list&sort=${on && !desc ? "-" : ""}${k}`) }, label));
  }));
  const body = rows.map((n) => h("tr", { "data-row-node": n.id },
    h("td", null, h("a", { href: `#/t/${n.domain}/${n.layer}/${n.table}` }, n.id)),
    h("td", null, n.layer), h("td", null, stateWord(n.state)),
    h("td", { class: "num" }, fmtInt(n.rows)), h("td", { class: "num" }, String(n.snapshot)),
    h("td", null, fmtAge(n.lastCommit)), h("td", null, fmtSeconds(n.freshness)),
    h("td", { class: "num" }, String(n.backlog)), h("td", { class: "num" }, fmtBytes(n.spool))));
  return h("div", { class: "gridwrap", tabindex: "0", role: "region", "aria-label": "Tables" },
    h("table", { class: "grid" }, h("thead", null, head), h("tbody", null, body)));
}
