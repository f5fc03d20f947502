// The strip under the header: each process (up/down, memory, restarts),
// ingest accepted/refused per second as sparklines, the merge queue, from
// /status and /metrics sampled every 5 s while the tab is visible.
import { api, metrics } from "./api.js";
import { h, fmtBytes } from "./dom.js";

const KEEP = 60;
const history = [];
export const samples = () => history;

const total = (m, name) => ((m && m[name]) || []).reduce((s, x) => s + x.value, 0);

// Per-second rates of a counter between consecutive samples.
function rates(name) {
  const ys = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i];
    ys.push(Math.max(0, (total(b.m, name) - total(a.m, name)) / ((b.t - a.t) / 1000)));
  }
  return ys;
}

function spark(label, name) {
  const ys = rates(name);
  const last = ys.length ? ys[ys.length - 1] : 0;
  const fig = h("figure", { "aria-label": `${label}: ${last.toFixed(0)} per second` },
    h("figcaption", null, `${label} ${last.toFixed(0)}/s`));
  if (ys.length > 1) {
    // A sparkline is a polyline: no axes, no legend, just the shape.
    const max = Math.max(1, ...ys), w = 100, ht = 22;
    const pts = ys.map((y, i) => `${((i / (ys.length - 1)) * w).toFixed(1)},${(ht - (y / max) * (ht - 2) - 1).toFixed(1)}`).join(" ");
    fig.append(h("svg:svg", { width: String(w), height: String(ht), class: "spark", "aria-hidden": "true" },
      h("svg:polyline", { points: pts, fill: "none", stroke: "currentColor", "stroke-width": "1.5" })));
  }
  return fig;
}

export async function sampleAndDraw(strip) {
  let status, m;
  try {
    [status, m] = await Promise.all([api("/status"), metrics()]);
  } catch {
    return;
  }
  history.push({ t: Date.now(), m });
  while (history.length > KEEP) history.shift();
  const restarts = (p) => {
    const x = (m.lakehouse_process_restarts_total || []).find((r) => r.labels.process === p);
    return x ? x.value : 0;
  };
  strip.replaceChildren(
    ...(status.processes || []).map((p) => h("span", { class: "proc", "data-process": p.process, "data-state": p.state },
      `${p.process} ${p.state}`, p.rss_bytes ? ` · ${fmtBytes(p.rss_bytes)}` : "", ` · ${restarts(p.process)} restarts`,
      p.lagging ? " · lagging" : "")),
    spark("accepted", "lakehouse_ingest_records_accepted_total"),
    spark("refused", "lakehouse_ingest_records_refused_total"),
    h("span", { class: "proc" }, `merge queue ${total(m, "lakehouse_processor_pending_files")} files`));
}
